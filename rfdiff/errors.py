"""Named errors: a number rfdiff cannot deliver to its stated accuracy raises one of these.

Every failure of the numerics derives from :class:`NumericalError` (itself a ``RuntimeError``), so a
caller can catch one class; bad *input* raises ``ValueError``/``TypeError`` instead. Each error's
message says what failed and where (the parameters and the point).

* :class:`ResolventConvergenceError` — the Theorem 3.1 solver did not converge on the physical branch
  at some z (listed in ``.z``).
* :class:`SpectrumResolutionError` — float64 cannot resolve a feature of the spectrum (a component
  narrower than the resolution of lambda, an atom of weight below the solver's pole test, an edge that
  neither the fold solver nor the bisection can locate).
* :class:`QuadratureError` — a quadrature (contour integral, spectral measure) cannot reach its stated
  accuracy within its node budget, or its self-check (mass, error estimate) fails.
* :class:`UndefinedQuantityError` — the quantity asked for does not exist at these parameters in the
  searched range (e.g. n* when L_gen(inf) has no interior steepest descent, a crossing never reached).

Examples
--------
>>> import rfdiff
>>> issubclass(rfdiff.ResolventConvergenceError, rfdiff.NumericalError)
True
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "NumericalError",
    "QuadratureError",
    "ResolventConvergenceError",
    "SpectrumResolutionError",
    "UndefinedQuantityError",
]


class NumericalError(RuntimeError):
    """Base class: rfdiff cannot return this number to its stated accuracy."""


class ResolventConvergenceError(NumericalError):
    """The resolvent solver failed at some z (they are listed in ``.z``)."""

    def __init__(self, message: str, z: np.ndarray | None = None) -> None:
        super().__init__(message)
        self.z = np.empty(0, np.complex128) if z is None else z

    def __reduce__(self):  # picklable across process pools
        return (type(self), (str(self), self.z))


class SpectrumResolutionError(NumericalError):
    """float64 cannot resolve a feature of the spectrum (see the message for which and where)."""


class QuadratureError(NumericalError):
    """A quadrature cannot reach its stated accuracy (node budget, mass or error-estimate check)."""


class UndefinedQuantityError(NumericalError):
    """The requested quantity does not exist at these parameters in the searched range."""
