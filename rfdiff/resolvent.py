"""Self-consistent resolvent equations for U (paper Theorem 3.1; docs/theory.md §4).

Convention: q(z) = (1/p) Tr (U - z)^{-1}, Im q > 0 for Im z > 0, q ~ -1/z.
With rho_Sigma = sum_k pi_k delta(lambda - lambda_k), the unknowns are the two
complex numbers (q, r); s follows from them:

    s_hat = b_t^2 psi_p + 1/q
    D     = 1 + (a_t^2 e^{-2t} psi_p/psi_n) r + (psi_p v_t^2/psi_n) q
    r_hat = psi_p a_t^2 e^{-2t} / D
    s = sum_k pi_k / (s_hat + lambda_k r_hat),   r = sum_k pi_k lambda_k / (s_hat + lambda_k r_hat)
    psi_p (s_t^2 - z) + psi_p v_t^2/D + (1 - psi_p)/q - s/q^2 = 0

The solver works in zeta = z - s_t^2 and in an equivalent well-scaled form of these equations (no
term of order 1/psi_p left to cancel; ``rfdiff._numerics.resolvent`` and docs/theory.md §4.4), point by
point along a vertical path zeta_k = x + i y_k, y_0 large (where q ~ -1/z fixes the branch), y_k
decreasing geometrically to the target with an adaptive ratio: each step is a complex Newton solve,
accepted only if it converges in few iterations and satisfies the Herglotz conditions
sign Im q = sign Im r = sign Im((z - s_t^2) q) = sign Im z. A rejected step is retried with a smaller
ratio. For real z the last step goes to Im z = 0 exactly, giving the boundary value q(lambda + i0) of
the Sokhotski–Plemelj formula. ``solve(..., shifted=True)`` takes zeta itself, which resolves
structure closer to s_t^2 than the float64 resolution of lambda (t >= 3, where v_t^2 < 1e-9 s_t^2).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from ._numerics import resolvent as _kern
from ._numerics.arguments import complex_points
from .errors import ResolventConvergenceError, SpectrumResolutionError
from .io import Serializable

if TYPE_CHECKING:  # pragma: no cover
    from .constants import Constants
    from .model import RFModel

__all__ = ["Equations", "Resolvent", "ResolventConvergenceError", "solve"]

@dataclass(frozen=True)
class Equations(Serializable):
    """Coefficients of the Theorem 3.1 system.

    Parameters
    ----------
    psi_p, psi_n : float
        p/d and n/d.
    a2e : float
        a_t^2 e^{-2t}.
    b2, v2, s2 : float
        b_t^2, v_t^2, s_t^2.
    data_values, data_weights : tuple of float
        rho_Sigma as atoms (lambda_k, pi_k).

    Any non-negative coefficients are allowed, which makes closed-form
    special cases testable (a2e = v2 = 0 gives a Marchenko–Pastur law).

    Examples
    --------
    >>> eq = Equations(psi_p=2.0, psi_n=1.0, a2e=0.0, b2=1.0, v2=0.0, s2=0.0)
    >>> round(eq.mean_eigenvalue, 12)
    1.0
    """

    psi_p: float
    psi_n: float
    a2e: float
    b2: float
    v2: float
    s2: float
    data_values: tuple[float, ...] = (1.0,)
    data_weights: tuple[float, ...] = (1.0,)

    def __post_init__(self) -> None:
        for name in ("psi_p", "psi_n"):
            val = float(getattr(self, name))
            if not (math.isfinite(val) and val > 0):
                raise ValueError(f"{name} must be a finite number > 0, got {val!r}")
        for name in ("a2e", "b2", "v2", "s2"):
            val = float(getattr(self, name))
            if not (math.isfinite(val) and val >= 0):
                raise ValueError(f"{name} must be a finite number >= 0, got {val!r}")
        if len(self.data_values) != len(self.data_weights) or not self.data_values:
            raise ValueError("data_values and data_weights must be non-empty and of equal length")

    @classmethod
    def from_constants(
        cls, psi_p: float, psi_n: float, constants: Constants,
        data_values: Sequence[float] = (1.0,), data_weights: Sequence[float] = (1.0,),
    ) -> Equations:
        """Build the system from Gaussian-equivalence constants (docs/theory.md §3).

        Raises :class:`~rfdiff.errors.SpectrumResolutionError` when v_t^2 has underflowed to 0 while
        mu_*^2 > 0 (t >~ 100 for tanh: v_t^2 ~ e^{-6t}): the memorization components of the spectrum
        then sit below 1e-308 of s_t^2 and cannot be represented in float64.
        """
        if constants.v2 == 0.0 and constants.mustar2 > 0.0:
            raise SpectrumResolutionError(
                f"v_t^2 underflows float64 at t = {constants.t:g} (it decays like e^{{-4t}}, e^{{-6t}} for "
                "odd sigma): the memorization components of the spectrum cannot be represented")
        return cls(
            psi_p=float(psi_p), psi_n=float(psi_n), a2e=constants.a2e, b2=constants.b**2,
            v2=constants.v2, s2=constants.s2, data_values=tuple(map(float, data_values)),
            data_weights=tuple(map(float, data_weights)),
        )

    @classmethod
    def from_model(cls, model: RFModel) -> Equations:
        """Build the system of an :class:`~rfdiff.model.RFModel`."""
        return cls.from_constants(
            model.psi_p, model.psi_n, model.constants, model.data.values, model.data.weights
        )

    @property
    def lam(self) -> np.ndarray:
        return np.asarray(self.data_values, dtype=np.float64)

    @property
    def pi(self) -> np.ndarray:
        return np.asarray(self.data_weights, dtype=np.float64)

    @property
    def mean_eigenvalue(self) -> float:
        """(1/p) Tr U = s^2 + v^2 + b^2 + a^2 e^{-2t} sigma_x^2 (= ||sigma||^2 for a model)."""
        return self.s2 + self.v2 + self.b2 + self.a2e * float(self.lam @ self.pi)

    @property
    def upper_bound(self) -> float:
        """An upper bound on the spectrum of U in the limit, from operator norms.

        ||W||/sqrt(d) -> 1 + sqrt(psi_p), ||X||/sqrt(n) <= sqrt(lambda_max)(1 + psi_n^{-1/2}),
        ||Omega||/sqrt(n) -> 1 + sqrt(psi_p/psi_n) for the three terms of the
        Gaussian-equivalent U (docs/theory.md §3.3).
        """
        sp = math.sqrt(self.psi_p)
        g = (math.sqrt(self.a2e * max(self.data_values)) * (1 + sp) * (1 + 1 / math.sqrt(self.psi_n))
             + math.sqrt(self.v2) * (1 + math.sqrt(self.psi_p / self.psi_n)))
        return self.s2 + g * g + self.b2 * (1 + sp) ** 2

    def coefficients(self) -> _kern.Coefficients:
        """The system's coefficients as the numerics kernels read them (a named tuple)."""
        lam = self.lam
        return _kern.Coefficients(
            psi_p=float(self.psi_p), gamma=float(self.psi_p / self.psi_n), a2e=float(self.a2e),
            b2=float(self.b2), v2=float(self.v2), lam=lam, pi=self.pi, scale=float(self.upper_bound),
            mean_shift=float(self.v2 + self.b2 + self.a2e * float(lam @ self.pi)), m1=float(lam @ self.pi),
        )


@dataclass(frozen=True)
class Resolvent(Serializable):
    """Solution of Theorem 3.1 at an array of z, with diagnostics.

    Attributes
    ----------
    z : ndarray
        The points (complex; zeta = z - s_t^2 when solved with ``shifted=True``).
    q, r, s : ndarray
        q = (1/p) Tr (U - z)^{-1} and the auxiliaries r, s of docs/theory.md §4.
    residual : ndarray
        Max of the relative residuals of the two equations at the returned value.
    iterations : ndarray
        Newton iterations spent along the continuation path.
    converged : ndarray of bool
        Newton converged at the target, every path step was accepted and the value is finite.
    branch_ok : ndarray of bool
        Herglotz check: sign Im q = sign Im r = sign Im((z - s_t^2) q) = sign Im z (to roundoff).
    infinite : ndarray of bool
        Real z where the boundary value q(x + i0) is infinite: an atom of any weight (|q| ~ w/y as
        Im z = y -> 0) or a 1/sqrt hard edge. Such points are not converged (q holds the value at
        ``imag_used``).
    imag_used : ndarray
        Im z actually solved at: equals Im z except for real z at a square-root edge (within
        ~1e-28 |z - s_t^2|), where the exact-axis step is ill-posed and the value at that tiny Im z is
        returned instead, and at infinite boundary values.
    shifted : bool
        Whether ``z`` holds zeta = z - s_t^2.
    """

    z: np.ndarray
    q: np.ndarray
    r: np.ndarray
    s: np.ndarray
    residual: np.ndarray
    iterations: np.ndarray
    converged: np.ndarray
    branch_ok: np.ndarray
    infinite: np.ndarray
    imag_used: np.ndarray
    shifted: bool = False

    @property
    def ok(self) -> np.ndarray:
        """converged & branch_ok."""
        return self.converged & self.branch_ok


def solve(
    equations: Equations,
    z: complex | Sequence[complex] | np.ndarray,
    *,
    lower_half_plane: bool = False,
    on_failure: Literal["raise", "warn"] = "raise",
    rtol: float = 1e-14,
    shifted: bool = False,
) -> Resolvent:
    """Solve Theorem 3.1 at every z (any shape) on the physical branch.

    Parameters
    ----------
    equations : Equations
        The system (see :meth:`Equations.from_model`).
    z : complex or array_like
        Spectral parameters. Im z > 0, or real (boundary value q(x + i0)).
        Im z < 0 is accepted only with ``lower_half_plane=True``; the solver then
        continues from x - iY, independently of the upper half plane.
    lower_half_plane : bool
        Allow Im z < 0.
    on_failure : {"raise", "warn"}
        On non-convergence, an infinite boundary value (an atom) or a failed branch check, raise
        :class:`~rfdiff.errors.ResolventConvergenceError` listing the offending z (default), or
        emit a ``RuntimeWarning`` and return the result with NaN at those z.
    rtol : float
        Relative residual at which Newton stops.
    shifted : bool
        ``z`` holds zeta = z - s_t^2 (exact near s_t^2, where z itself cannot resolve the spectrum).

    Returns
    -------
    Resolvent
        q, r, s of the same shape as z, with diagnostics.

    Examples
    --------
    Marchenko–Pastur (only the b_t term): q solves psi q^2 z + (z + psi - 1) q + 1 = 0.

    >>> eq = Equations(psi_p=0.5, psi_n=1.0, a2e=0.0, b2=1.0, v2=0.0, s2=0.0)
    >>> res = solve(eq, 1.0 + 0.5j)
    >>> q = complex(res.q)
    >>> abs(0.5 * q * q * (1 + 0.5j) + (1 + 0.5j + 0.5 - 1) * q + 1) < 1e-13
    True
    """
    if on_failure not in ("raise", "warn"):
        raise ValueError(f"on_failure must be 'raise' or 'warn', got {on_failure!r}")
    zarr = complex_points("z", z)
    shape = zarr.shape
    flat = zarr.ravel()
    if not lower_half_plane and np.any(flat.imag < 0):
        bad = flat[flat.imag < 0][0]
        raise ValueError(
            f"z must have Im z >= 0 (got Im z = {bad.imag:.3g} at z = {bad}); the lower half plane "
            "needs lower_half_plane=True (q(conj z) = conj q(z))"
        )
    zeta = flat if shifted else flat - equations.s2
    sgn = np.where(zeta.imag < 0, -1.0, 1.0)  # the path runs in the half plane of z: |Im z| = sgn Im z
    q, r, s, res, its, status, yused = _kern.solve_many(
        np.ascontiguousarray(zeta.real), np.ascontiguousarray(sgn * zeta.imag), sgn,
        equations.coefficients(), float(rtol),
    )
    infinite = status == _kern.INFINITE
    conv = (status != _kern.NOT_CONVERGED) & ~infinite
    br = status != _kern.BRANCH
    bad = ~(conv & br)
    if np.any(bad):
        k = int(np.argmax(bad))
        why = ("the boundary value is infinite (an atom or a 1/sqrt hard edge)" if infinite[k]
               else "Newton did not converge" if status[k] == _kern.NOT_CONVERGED
               else "the solution left the physical (Herglotz) branch")
        where = f"zeta = z - s_t^2 = {zeta[k]}" if shifted else f"z = {flat[k]}"
        msg = (f"resolvent solver failed at {int(bad.sum())} of {flat.size} points (first: {where}: {why}; "
               f"psi_p={equations.psi_p:g}, psi_n={equations.psi_n:g})")
        if on_failure == "raise":
            raise ResolventConvergenceError(msg, flat[bad].reshape(-1))
        warnings.warn(msg, RuntimeWarning, stacklevel=2)
        q = np.where(bad, np.nan + 0j, q)
        r = np.where(bad, np.nan + 0j, r)
        s = np.where(bad, np.nan + 0j, s)
    return Resolvent(
        z=zarr, q=q.reshape(shape), r=r.reshape(shape), s=s.reshape(shape),
        residual=res.reshape(shape), iterations=its.reshape(shape), converged=conv.reshape(shape),
        branch_ok=br.reshape(shape), infinite=infinite.reshape(shape),
        imag_used=(sgn * yused).reshape(shape), shifted=bool(shifted),
    )
