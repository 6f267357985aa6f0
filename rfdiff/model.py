"""The random-features score model: parameters, data spectrum, validation (docs/theory.md §1).

:class:`RFModel` is a frozen description of one setting (psi_p, psi_n, t, activation, data, ridge) and
the facade of the library: it validates its parameters once, caches the constants and the spectrum,
and delegates to the core functions, which take value objects (:class:`~rfdiff.resolvent.Equations`,
:class:`~rfdiff.constants.Constants`, :class:`~rfdiff.spectrum.Spectrum`).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING, Literal

import numpy as np

from . import dynamics as _dynamics
from . import resolvent as _resolvent
from . import spectrum as _spectrum
from . import twopoint as _twopoint
from ._numerics.arguments import finite_nonnegative, finite_positive
from .activations import Activation, check_centred, get_activation
from .constants import Constants, compute_constants
from .io import Serializable

if TYPE_CHECKING:  # pragma: no cover
    from .phases import DynamicalTimescales, Timescales

__all__ = ["DataSpectrum", "RFModel"]


@lru_cache(maxsize=256)
def _constants(activation: Activation, t: float, sigma_x2: float, order: int | None) -> Constants:
    return compute_constants(activation, t, sigma_x2, order)


@dataclass(frozen=True)
class DataSpectrum(Serializable):
    """Spectral density of the data covariance Sigma as atoms: sum_k w_k delta(lambda - lambda_k).

    Parameters
    ----------
    values : sequence of float
        Eigenvalues lambda_k of Sigma, >= 0 and not all 0.
    weights : sequence of float
        Their fractions w_k > 0, summing to 1 (to 1e-12).

    Examples
    --------
    >>> DataSpectrum([0.5, 1.5], [0.5, 0.5]).sigma_x2
    1.0
    """

    values: tuple[float, ...]
    weights: tuple[float, ...]

    def __post_init__(self) -> None:
        vals = np.atleast_1d(np.asarray(self.values, dtype=np.float64))
        wts = np.atleast_1d(np.asarray(self.weights, dtype=np.float64))
        if vals.ndim != 1 or vals.size == 0:
            raise ValueError(f"data values must be a non-empty 1-d sequence, got {self.values!r}")
        if wts.shape != vals.shape:
            raise ValueError(
                f"data weights must have the same length as values ({vals.size}), got {wts.size}"
            )
        if not np.all(np.isfinite(vals)) or np.any(vals < 0):
            raise ValueError(f"data values must be finite and >= 0, got {vals.tolist()}")
        if not np.any(vals > 0):
            raise ValueError("data values must not all be 0 (Tr Sigma > 0)")
        if not np.all(np.isfinite(wts)) or np.any(wts <= 0):
            raise ValueError(f"data weights must be finite and > 0, got {wts.tolist()}")
        if abs(wts.sum() - 1.0) > 1e-12:
            raise ValueError(f"data weights must sum to 1, got sum {wts.sum()!r}")
        object.__setattr__(self, "values", tuple(vals.tolist()))
        object.__setattr__(self, "weights", tuple(wts.tolist()))

    @classmethod
    def isotropic(cls, variance: float = 1.0) -> DataSpectrum:
        """Sigma = variance * I."""
        return cls((finite_positive("variance", variance),), (1.0,))

    @property
    def sigma_x2(self) -> float:
        """sigma_x^2 = Tr Sigma / d = sum_k w_k lambda_k."""
        return float(np.dot(self.values, self.weights))

    @property
    def lam(self) -> np.ndarray:
        """Atom locations as a float64 array."""
        return np.asarray(self.values, dtype=np.float64)

    @property
    def w(self) -> np.ndarray:
        """Atom weights as a float64 array."""
        return np.asarray(self.weights, dtype=np.float64)


@dataclass(frozen=True)
class RFModel(Serializable):
    """Random-features score model in the proportional limit (docs/theory.md §1).

    Parameters
    ----------
    psi_p : float
        p/d, > 0.
    psi_n : float
        n/d, > 0.
    t : float
        Diffusion time, > 0. In float64 the memorization components of the spectrum exist only while
        v_t^2 ~ e^{-6t} is representable (t <~ 100 for tanh); beyond, spectral quantities raise
        :class:`~rfdiff.errors.SpectrumResolutionError`.
    activation : str, Activation or callable
        ``"tanh"`` (default), ``"erf"`` or a vectorised callable; it must be
        centred, E sigma(Gamma_t z) = 0 (see :func:`rfdiff.activations.centred`).
    data : DataSpectrum, optional
        Spectrum of the data covariance; default N(0, I).
    quad_order : int, optional
        Gauss–Hermite order for the constants (default: automatic; see
        :func:`rfdiff.constants.default_order`).
    ridge : float, default 0
        Weight decay lam >= 0: the penalty (Delta_t lam/(d p)) ||A||_F^2 added to L_train, so that the
        flow sees U + lam I (docs/theory.md §9.1). Reported train losses are the denoising part.
    noise_draws : int, optional
        m >= 1 fixed noise draws per training point (docs/theory.md §9.2, docs/noise_draws.md); None is
        the paper's exact noise average (m = infinity). With m set, ``resolvent``/``stieltjes``,
        ``density``, ``spectrum`` and ``learning_curves`` come from :mod:`rfdiff.noise_draws` (its own
        result types); the spectral and dynamical timescales are not available there.
    d : int, optional
        Dimension for the finite-d theory of the real features (docs/finite_d.md, :mod:`rfdiff.finite_d`);
        None (default) is Theorem 3.1, the d -> infinity limit. With d set, ``resolvent``/``stieltjes``
        (Im z > 0), ``density`` and ``spectrum`` (a :class:`~rfdiff.finite_d.SpectrumFeatures`: atom
        extent and rho_1 edges) come from :mod:`rfdiff.finite_d`; the learning curves, train loss and
        timescales raise NotImplementedError (:func:`rfdiff.finite_d.learning_curves` exists but misses
        the 5 % target, docs/finite_d.md §9), and
        ``equations``/``constants`` stay those of Theorem 3.1. Needs isotropic data, an odd activation
        and d >= 8.

    Examples
    --------
    >>> m = RFModel(psi_p=64, psi_n=8, t=0.01)
    >>> round(m.constants.s2, 6)
    0.001874
    >>> q = m.stieltjes(1.0 + 1.0j)
    >>> bool(q.imag > 0)
    True
    """

    psi_p: float
    psi_n: float
    t: float
    activation: str | Activation | Callable[[np.ndarray], np.ndarray] = "tanh"
    data: DataSpectrum = field(default_factory=DataSpectrum.isotropic)
    quad_order: int | None = None
    ridge: float = 0.0
    noise_draws: int | None = None
    d: int | None = None

    def __post_init__(self) -> None:
        for name in ("psi_p", "psi_n", "t"):
            object.__setattr__(self, name, finite_positive(name, getattr(self, name)))
        object.__setattr__(self, "ridge", finite_nonnegative("ridge", self.ridge))
        m = self.noise_draws
        if m is not None:
            if isinstance(m, (bool, np.bool_)) or not isinstance(m, numbers.Integral):
                raise TypeError(f"noise_draws must be an integer >= 1 or None, got {m!r}")
            if m < 1:
                raise ValueError(f"noise_draws must be an integer >= 1 or None, got {m!r}")
            object.__setattr__(self, "noise_draws", int(m))
        if not isinstance(self.data, DataSpectrum):
            raise TypeError(f"data must be a DataSpectrum, got {type(self.data).__name__}")
        if self.quad_order is not None and (isinstance(self.quad_order, bool)
                                            or not isinstance(self.quad_order, numbers.Integral)
                                            or self.quad_order < 8):
            raise ValueError(f"quad_order must be an integer >= 8, got {self.quad_order!r}")
        act = get_activation(self.activation)
        object.__setattr__(self, "activation", act)
        check_centred(act, math.sqrt(self.gamma2))
        if self.d is not None:
            dim = self.d
            if isinstance(dim, (bool, np.bool_)) or not isinstance(dim, numbers.Integral):
                raise TypeError(f"d must be an integer >= 8 or None, got {dim!r}")
            if dim < 8:
                raise ValueError(f"d must be an integer >= 8 or None, got {dim!r}")
            object.__setattr__(self, "d", int(dim))
            if self.noise_draws is not None:
                raise ValueError("d and noise_draws cannot be combined (the finite-d theory has the exact "
                                 "noise average)")
            from .finite_d import check_model

            check_model(self)  # isotropic data, odd activation (ValueError naming the reason)

    @property
    def gamma2(self) -> float:
        """Gamma_t^2 = e^{-2t} sigma_x^2 + Delta_t."""
        return math.exp(-2.0 * self.t) * self.data.sigma_x2 - math.expm1(-2.0 * self.t)

    @cached_property
    def constants(self) -> Constants:
        """Gaussian-equivalence constants (docs/theory.md §3), by the Hermite series of sigma."""
        return _constants(self.activation, self.t, self.data.sigma_x2, self.quad_order)

    @cached_property
    def equations(self) -> _resolvent.Equations:
        """Coefficients of the Theorem 3.1 system for this model.

        Raises :class:`~rfdiff.errors.SpectrumResolutionError` when v_t^2 underflows float64 (the
        memorization components then sit below 1e-308 of s_t^2 and cannot be represented).
        """
        c = self.constants
        return _resolvent.Equations.from_constants(self.psi_p, self.psi_n, c, self.data.values,
                                                   self.data.weights)

    def resolvent(
        self,
        z: complex | Sequence[complex] | np.ndarray,
        *,
        lower_half_plane: bool = False,
        on_failure: Literal["raise", "warn"] = "raise",
        shifted: bool = False,
    ) -> _resolvent.Resolvent:
        """Solve Theorem 3.1 at z: q, r, s with diagnostics (see :func:`rfdiff.resolvent.solve`); with
        ``noise_draws`` set, the finite-m system (:func:`rfdiff.noise_draws.solve`, Im z > 0 only); with
        ``d`` set, the finite-d system (:func:`rfdiff.finite_d.solve`, Im z > 0 only)."""
        if self.noise_draws is not None:
            if lower_half_plane or shifted:
                raise ValueError("lower_half_plane and shifted are not available with noise_draws")
            return self._draws_module.solve(self._draws, z, on_failure=on_failure)
        if self.d is not None:
            if lower_half_plane or shifted:
                raise ValueError("lower_half_plane and shifted are not available with d (finite d: Im z > 0)")
            return self._finite_d_module.solve(self._finite_d, z, on_failure=on_failure)
        return _resolvent.solve(self.equations, z, lower_half_plane=lower_half_plane, on_failure=on_failure,
                                shifted=shifted)

    def stieltjes(
        self,
        z: complex | Sequence[complex] | np.ndarray,
        *,
        lower_half_plane: bool = False,
        on_failure: Literal["raise", "warn"] = "raise",
    ) -> np.ndarray:
        """q(z) = (1/p) Tr (U - z)^{-1} in the limit, same shape as z.

        z must have Im z > 0, or be real (then q(lambda + i0) is returned, real
        below the spectrum); Im z < 0 raises unless ``lower_half_plane=True``.
        """
        return self.resolvent(z, lower_half_plane=lower_half_plane, on_failure=on_failure).q

    def density(self, lam: float | Sequence[float] | np.ndarray) -> np.ndarray:
        """Continuous part of rho at real lam: Im q(lam + i0) / pi (atoms excluded; an atom raises).

        With ``d`` set: :func:`rfdiff.finite_d.density` (no atoms at finite d; read at lam (1 + 1e-3 i))."""
        if self.noise_draws is not None:
            return self._draws_module.density(self._draws, lam)
        if self.d is not None:
            return self._finite_d_module.density(self._finite_d, lam)
        return _spectrum.density(self.equations, lam)

    @property
    def _draws_module(self):
        from . import noise_draws

        return noise_draws

    @cached_property
    def _draws(self):
        return self._draws_module.DrawsEquations.from_model(self, self.noise_draws)

    def _no_draws(self, what: str) -> None:
        if self.noise_draws is not None:
            raise NotImplementedError(f"{what} is not available with noise_draws (docs/noise_draws.md §8)")
        self._no_finite_d(what)

    @property
    def _finite_d_module(self):
        from . import finite_d

        return finite_d

    @cached_property
    def _finite_d(self):
        return self._finite_d_module.coefficients(self, self.d)

    def _no_finite_d(self, what: str) -> None:
        if self.d is not None:
            raise NotImplementedError(
                f"{what} is not available at finite d (docs/finite_d.md §9): the finite-d learning curves "
                "(rfdiff.finite_d.learning_curves) cut Theorem 3.1's error 3-8x against the real model but "
                "miss the 5 % target (7 % at psi_p = 64, psi_n = 4, d = 50), and no timescales are read "
                "from them. Use d=None for Theorem 3.1")

    @cached_property
    def _default_spectrum(self) -> _spectrum.Spectrum:
        if self.noise_draws is not None:
            return self._draws_module.spectrum(self._draws)
        if self.d is not None:
            return self._finite_d_module.spectrum_features(self, self.d, coefs=self._finite_d)
        return _spectrum.spectrum(self.equations)

    def spectrum(self, **kwargs) -> _spectrum.Spectrum:
        """Atoms, support intervals, edges, adaptive density and CDF (:func:`rfdiff.spectrum.spectrum`).

        With default options the result is computed once per model and reused. With ``noise_draws``
        set: :func:`rfdiff.noise_draws.spectrum` (a ``DrawsSpectrum``: support intervals and masses). With
        ``d`` set: :func:`rfdiff.finite_d.spectrum_features` (a ``SpectrumFeatures``: atom quantiles and
        rho_1 edges; keywords ``points``, ``eta``).
        """
        if kwargs:
            if self.noise_draws is not None:
                return self._draws_module.spectrum(self._draws, **kwargs)
            if self.d is not None:
                return self._finite_d_module.spectrum_features(self, self.d, coefs=self._finite_d, **kwargs)
            return _spectrum.spectrum(self.equations, **kwargs)
        return self._default_spectrum

    def timescales(self, share_threshold: float = 0.01, *, dynamical: bool = True,
                   **dynamical_options) -> Timescales:
        """Spectral timescales of every component and, by default, the dynamical ones.

        Parameters
        ----------
        share_threshold : float, default 0.01
            Minimum share of the train-loss drop for the loss-weighted time
            (:func:`rfdiff.dynamics.timescales`).
        dynamical : bool, default True
            Also read tau_gen and tau_mem off the limit learning curves
            (:func:`rfdiff.phases.dynamical_timescales`) and attach them as ``.dynamical``
            (``.tau_gen_dyn``, ``.tau_mem_dyn``). False: spectral times only.
        **dynamical_options
            ``tau``, ``gen_threshold``, ``relative``, ``score_tol``, ``refine``, ``accuracy`` of
            :func:`~rfdiff.phases.dynamical_timescales`.

        Returns
        -------
        Timescales

        Examples
        --------
        >>> import rfdiff
        >>> ts = rfdiff.RFModel(psi_p=64, psi_n=8, t=0.1).timescales()
        >>> bool(ts.tau_gen_dyn < ts.tau_gen < ts.tau_mem < ts.tau_mem_loss)
        True
        >>> bool(ts.tau_mem_dyn < ts.tau_mem)   # the L_gen half-rise comes before the rho_1 edge time
        True
        """
        from .phases import Timescales, dynamical_timescales

        self._no_draws("timescales()")
        spectral = _dynamics.timescales(self.equations, self.constants, self.spectrum(), share_threshold,
                                        ridge=self.ridge)
        if not dynamical:
            if dynamical_options:
                raise ValueError(f"options {sorted(dynamical_options)} need dynamical=True")
            return Timescales(spectral)
        return Timescales(spectral, dynamical_timescales(self.equations, self.constants, ridge=self.ridge,
                                                         **dynamical_options))

    def train_loss(self, tau: float | Sequence[float] | np.ndarray) -> np.ndarray:
        """L_train(tau) in the limit from the spectral measure of s (:func:`rfdiff.dynamics.train_loss`)."""
        self._no_finite_d("train_loss()")
        if self.noise_draws is not None:
            return self.learning_curves(tau).train
        return _dynamics.train_loss(self.equations, self.constants, tau, spectrum=self.spectrum(),
                                    ridge=self.ridge)

    def learning_curves(self, tau: float | Sequence[float] | np.ndarray, *,
                        strategy: Literal["log", "components"] = "log",
                        accuracy: float = 1e-10) -> _twopoint.LearningCurves:
        """Limit learning curves .train .test .gen .score at tau (:func:`rfdiff.twopoint.learning_curves`).

        Any discrete rho_Sigma; the model's ridge. ``strategy="components"`` uses per-component contours
        on the spectrum (an independent discretisation). With ``noise_draws`` set:
        :func:`rfdiff.noise_draws.learning_curves` (a ``DrawsCurves``). With ``d`` set: NotImplementedError
        (docs/finite_d.md §9).
        """
        self._no_finite_d("learning_curves()")
        if self.noise_draws is not None:
            return self._draws_module.learning_curves(self, self.noise_draws, tau, lam=self.ridge,
                                                      support=self.spectrum())
        return _twopoint.learning_curves(
            self.equations, self.constants, tau, ridge=self.ridge, strategy=strategy, accuracy=accuracy,
            spectrum=self.spectrum() if strategy == "components" else None)

    def dynamical_timescales(self, tau: Sequence[float] | np.ndarray | None = None,
                             **kwargs) -> DynamicalTimescales:
        """tau_gen, tau_mem read off the limit curves (:func:`rfdiff.phases.dynamical_timescales`)."""
        from .phases import dynamical_timescales

        self._no_draws("dynamical_timescales()")
        return dynamical_timescales(self.equations, self.constants, tau, ridge=self.ridge, **kwargs)
