"""Activation functions sigma of the random-features score model (docs/theory.md §1.3).

An :class:`Activation` bundles a vectorised numpy function with an optional
mpmath counterpart (used by the high-precision path of :mod:`rfdiff.constants`).
Named activations: ``"tanh"``, ``"erf"`` (centred) and ``"relu"`` (not centred: a model needs
``centred("relu", Gamma_t)``, which the command line builds itself). Any vectorised callable is accepted;
the theory needs it centred, ``E sigma(Gamma_t z) = 0`` for ``z ~ N(0, 1)``,
which :func:`check_centred` enforces (docs/theory.md §1.3, mu_0 = 0).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import mpmath
import numpy as np
from scipy import integrate, special

__all__ = [
    "Activation",
    "centred",
    "check_centred",
    "gauss_hermite",
    "gaussian_mean",
    "get_activation",
    "relu",
    "relu_moments",
]


@dataclass(frozen=True)
class Activation:
    """A scalar nonlinearity sigma applied entrywise.

    Parameters
    ----------
    fn : callable
        Vectorised numpy function ``ndarray -> ndarray`` (float64).
    name : str
        Label used in reprs, reports and the CLI.
    mp_fn : callable, optional
        The same function on ``mpmath.mpf`` scalars, for the high-precision
        path. If omitted, ``fn`` itself is tried on ``mpf`` values (this works
        for polynomials and other pure-arithmetic callables).
    centred_constants : callable, optional
        ``(t, sigma_x2) -> dict`` of the Gaussian-equivalence constants of the *centred* activation in
        closed form (the fields of :class:`rfdiff.constants.Constants` other than ``t``): centring only
        shifts sigma by a constant, which no covariance sees. :func:`centred` passes it on and
        :func:`rfdiff.constants.compute_constants` then uses it instead of quadrature (needed for kinked
        activations, where Gauss–Hermite converges like 1/N: ReLU's s_t^2 is 1.8 % off at order 200).

    Examples
    --------
    >>> import numpy as np
    >>> act = Activation(np.sin, "sin", mp_fn=mpmath.sin)
    >>> float(act(np.array([0.0]))[0])
    0.0
    """

    fn: Callable[[np.ndarray], np.ndarray]
    name: str = "callable"
    mp_fn: Callable[[Any], Any] | None = None
    centred_constants: Callable[[float, float], dict[str, float]] | None = None
    centred_by: float | None = None

    @property
    def closed_form(self) -> Callable[[float, float], dict[str, float]] | None:
        """Closed-form constants of this activation itself: set when it is the centred version of one
        that has ``centred_constants`` (``centred_by`` is then the mean that was subtracted)."""
        return self.centred_constants if self.centred_by is not None else None

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(self.fn(x), dtype=np.float64)

    def mp(self, x: Any) -> Any:
        """Evaluate on an ``mpmath.mpf`` (high-precision path)."""
        if self.mp_fn is not None:
            return self.mp_fn(x)
        try:
            return self.fn(x)
        except TypeError as exc:  # numpy ufuncs refuse mpf objects
            raise ValueError(
                f"activation {self.name!r} cannot be evaluated on mpmath numbers; "
                "pass Activation(fn, name, mp_fn=...) with an mpmath version"
            ) from exc


def relu(x: np.ndarray) -> np.ndarray:
    """max(x, 0). Not centred: use ``centred("relu", Gamma_t)`` in a model (``rfdiff --activation relu``)."""
    return np.maximum(x, 0.0)


def _relu_mp(x: Any) -> Any:
    return x if x > 0 else mpmath.mpf(0)


_NAMED: dict[str, Activation] = {
    "tanh": Activation(np.tanh, "tanh", mpmath.tanh),
    "erf": Activation(special.erf, "erf", mpmath.erf),
}


def get_activation(activation: str | Activation | Callable[[np.ndarray], np.ndarray]) -> Activation:
    """Return an :class:`Activation` from a name, an Activation or a callable.

    Examples
    --------
    >>> get_activation("tanh").name
    'tanh'
    """
    if isinstance(activation, Activation):
        return activation
    if isinstance(activation, str):
        try:
            return _NAMED[activation]
        except KeyError:
            raise ValueError(
                f"activation must be one of {sorted(_NAMED)} or a callable, got {activation!r}"
            ) from None
    if callable(activation):
        return Activation(activation, getattr(activation, "__name__", "callable"))
    raise ValueError(f"activation must be a name or a callable, got {type(activation).__name__}")


def gauss_hermite(order: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights for E f(z), z ~ N(0, 1) (probabilists' Gauss–Hermite).

    Examples
    --------
    >>> z, w = gauss_hermite(20)
    >>> round(float(np.sum(w * z**2)), 12)
    1.0
    """
    if order < 2:
        raise ValueError(f"quadrature order must be >= 2, got {order}")
    x, w = special.roots_hermitenorm(int(order))
    return x, w / np.sqrt(2.0 * np.pi)


def gaussian_mean(act: Activation, scale: float) -> float:
    """E sigma(scale * z), z ~ N(0, 1), by adaptive quadrature (robust to kinks)."""
    def integrand(z: float) -> float:
        return float(act(np.array([scale * z]))[0]) * np.exp(-0.5 * z * z)

    # split at 0 (where ReLU-like kinks sit) and at |z| = 40 (Gaussian weight < 1e-300)
    total = 0.0
    for lo, hi in ((-40.0, -8.0), (-8.0, 0.0), (0.0, 8.0), (8.0, 40.0)):
        val, _ = integrate.quad(integrand, lo, hi, epsabs=1e-16, epsrel=1e-12, limit=200)
        total += val
    return total / np.sqrt(2.0 * np.pi)


def check_centred(act: Activation, scale: float, tol: float = 1e-9) -> None:
    """Raise ``ValueError`` unless E sigma(scale z) = 0 (docs/theory.md §1.3: mu_0 = 0).

    ``tol`` is relative to sqrt(E sigma(scale z)^2); both moments come from
    adaptive quadrature accurate to ~1e-12, so 1e-9 leaves a wide margin.
    """
    z, w = gauss_hermite(60)
    vals = act(scale * z)
    if not np.all(np.isfinite(vals)):
        raise ValueError(f"activation {act.name!r} returned non-finite values on the real line")
    mean = gaussian_mean(act, scale)
    rms = float(np.sqrt(np.dot(w, vals**2)))
    if abs(mean) > tol * max(rms, 1e-300):
        raise ValueError(
            f"activation {act.name!r} is not centred: E sigma(Gamma_t z) = {mean:.3e} != 0 "
            f"(Gamma_t = {scale:.6g}); the theory needs mu_0 = 0. Centre it with "
            f"rfdiff.activations.centred(fn, {scale:.6g}), i.e. use sigma(x) - E sigma(Gamma_t z)"
        )


def centred(
    activation: str | Activation | Callable[[np.ndarray], np.ndarray],
    scale: float,
) -> Activation:
    """Return sigma(x) - E sigma(scale z): the activation centred for Gamma_t = scale.

    The mean is computed by adaptive quadrature, which handles kinks (ReLU).
    Note that the Gauss–Hermite constants of :mod:`rfdiff.constants` converge
    slowly for non-smooth activations: raise their ``quad_order``.

    Examples
    --------
    >>> relu_c = centred(lambda x: np.maximum(x, 0.0), 1.0)
    >>> bool(abs(gaussian_mean(relu_c, 1.0)) < 1e-12)
    True
    """
    act = get_activation(activation)
    mean = gaussian_mean(act, scale)
    mp_fn = None if act.mp_fn is None else _Shifted(act.mp_fn, mean)
    return Activation(_Shifted(act.fn, mean), f"centred({act.name})", mp_fn,
                      centred_constants=act.centred_constants, centred_by=mean)


class _Shifted:
    """x -> base(x) - mean, picklable when ``base`` is (process pools send models to workers)."""

    def __init__(self, base: Callable[[Any], Any], mean: float) -> None:
        self.base, self.mean = base, mean

    def __call__(self, x: Any) -> Any:
        return self.base(x) - self.mean


def relu_moments(t: float, sigma_x2: float = 1.0) -> dict[str, float]:
    """Closed-form Gaussian-equivalence constants of the centred ReLU (docs/theory.md §3.1).

    Gauss–Hermite quadrature converges only like 1/N for the kink of max(x, 0) (s_t^2 is 1.8 % off
    at order 200), so the command line uses these. With rho = e^{-2t} sigma_x^2 / Gamma_t^2 the
    correlation of g(u, v) and g(u, w), the arc-cosine kernel gives
    E[relu(x) relu(y)] = Gamma_t^2 (sqrt(1 - rho^2) + (pi - arccos rho) rho) / (2 pi); the mean shift
    of the centring drops out of every covariance. Evaluated without cancellation: 1 - rho =
    Delta_t / Gamma_t^2 and h = sqrt(1 - rho^2) - rho arccos(rho) = O((1 - rho)^{3/2}) enter
    s_t^2 = Gamma_t^2 ((1 - rho)/4 - h/(2 pi)) directly.

    Returns
    -------
    dict
        ``delta, gamma2, sigma_x2, a, b, v2, s2, mu1, mustar2, norm2`` (the fields of
        :class:`rfdiff.constants.Constants` other than ``t``).

    Examples
    --------
    >>> c = relu_moments(0.1)
    >>> round(c["a"], 12), round(c["mu1"], 12)
    (0.5, 0.5)
    """
    e2 = math.exp(-2.0 * t) * sigma_x2
    delta = -math.expm1(-2.0 * t)
    gamma2 = e2 + delta
    one_minus_rho = delta / gamma2
    rho = e2 / gamma2
    arccos = 2.0 * math.asin(math.sqrt(0.5 * one_minus_rho))
    h = math.sqrt(one_minus_rho * (1.0 + rho)) - rho * arccos
    norm2 = gamma2 * (0.5 - 0.5 / math.pi)
    v2 = gamma2 * (rho / 4.0 + (h - 1.0) / (2.0 * math.pi))
    s2 = gamma2 * (one_minus_rho / 4.0 - h / (2.0 * math.pi))
    return {"delta": delta, "gamma2": gamma2, "sigma_x2": float(sigma_x2), "a": 0.5,
            "b": 0.5 * math.sqrt(delta), "v2": v2, "s2": s2, "mu1": 0.5 * math.sqrt(gamma2),
            "mustar2": gamma2 * (0.25 - 0.5 / math.pi), "norm2": norm2}


# ReLU is named (not centred: use centred("relu", Gamma_t)); its centred version has closed-form constants
_NAMED["relu"] = Activation(relu, "relu", _relu_mp, centred_constants=relu_moments)
