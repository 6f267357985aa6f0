"""Gaussian-equivalence constants a_t, b_t, v_t^2, s_t^2, mu_1, mu_*^2 (docs/theory.md §3).

With u, v, w i.i.d. N(0, 1) and g(u, v) = e^{-t} sigma_x u + sqrt(Delta_t) v:

* a_t = E[sigma(g) u] / (e^{-t} sigma_x),  b_t = E[sigma(g) v]
* v_t^2 = E[sigma(g(u, v)) sigma(g(u, w))] - a_t^2 e^{-2t} sigma_x^2
* ||sigma||^2 = E sigma(Gamma_t z)^2,  s_t^2 = ||sigma||^2 - a_t^2 e^{-2t} sigma_x^2 - v_t^2 - b_t^2
* mu_1 = E[sigma(Gamma_t z) z],  mu_*^2 = ||sigma||^2 - mu_1^2

Each expectation is computed from its definition (two-dimensional ones as
nested integrals), so the Stein identities a_t = mu_1/Gamma_t and
b_t = sqrt(Delta_t) mu_1/Gamma_t are *checks*, not inputs. Two paths:
Gauss–Hermite quadrature in float64 (default, ~1e-13 for analytic sigma) and
mpmath tanh-sinh quadrature at a chosen number of digits (reference).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import mpmath

from .activations import Activation, gauss_hermite
from .io import Serializable

__all__ = ["Constants", "compute_constants", "constants_mpmath", "default_order"]


@dataclass(frozen=True)
class Constants(Serializable):
    """Gaussian-equivalence constants at diffusion time t (docs/theory.md §3 names).

    Attributes
    ----------
    t : float
        Diffusion time.
    delta : float
        Delta_t = 1 - e^{-2t}.
    gamma2 : float
        Gamma_t^2 = e^{-2t} sigma_x^2 + Delta_t.
    sigma_x2 : float
        sigma_x^2 = Tr Sigma / d.
    a, b : float
        a_t and b_t.
    v2, s2 : float
        v_t^2 and s_t^2.
    mu1, mustar2 : float
        mu_1 and mu_*^2 = ||sigma||^2 - mu_1^2.
    norm2 : float
        ||sigma||^2 = E sigma(Gamma_t z)^2.
    """

    t: float
    delta: float
    gamma2: float
    sigma_x2: float
    a: float
    b: float
    v2: float
    s2: float
    mu1: float
    mustar2: float
    norm2: float

    @property
    def a2e(self) -> float:
        """a_t^2 e^{-2t}: the coefficient of W Sigma W^T/d in U (Theorem 3.1)."""
        return self.a**2 * math.exp(-2.0 * self.t)


def _base(t: float, sigma_x2: float) -> tuple[float, float, float, float]:
    e = math.exp(-t)
    delta = -math.expm1(-2.0 * t)
    gamma2 = e * e * sigma_x2 + delta
    return e, delta, gamma2, math.sqrt(sigma_x2)


def _assemble(t, delta, gamma2, sigma_x2, a, b, cross, norm2, mu1) -> Constants:
    ae2 = a * a * math.exp(-2.0 * t) * sigma_x2
    v2 = cross - ae2
    s2 = norm2 - ae2 - v2 - b * b
    return Constants(
        t=t, delta=delta, gamma2=gamma2, sigma_x2=sigma_x2, a=a, b=b, v2=v2, s2=s2,
        mu1=mu1, mustar2=norm2 - mu1 * mu1, norm2=norm2,
    )


def default_order(t: float, sigma_x2: float) -> int:
    """Gauss–Hermite order giving ~1e-14 for tanh-like activations.

    The error for an integrand analytic in |Im z| < a decays like exp(-2 a sqrt(N));
    tanh(Gamma_t z) has a = pi / (2 Gamma_t), so N = 260 Gamma_t^2 (at least 200)
    gives exp(-2 a sqrt(N)) < 1e-21.
    """
    _, _, gamma2, _ = _base(t, sigma_x2)
    return max(200, math.ceil(260.0 * gamma2))


def compute_constants(
    activation: Activation, t: float, sigma_x2: float = 1.0, order: int | None = None
) -> Constants:
    """Constants by Gauss–Hermite quadrature of the given order.

    Parameters
    ----------
    activation : Activation
        The (centred) nonlinearity.
    t : float
        Diffusion time, > 0.
    sigma_x2 : float
        Tr Sigma / d of the data.
    order : int, optional
        Gauss–Hermite points per dimension; default :func:`default_order`
        (~1e-14 for tanh and erf). Non-smooth activations (ReLU) converge
        only algebraically in the order.

    Examples
    --------
    >>> from rfdiff.activations import get_activation
    >>> c = compute_constants(get_activation("tanh"), 0.1)
    >>> round(c.mu1, 6), round(c.b, 6)
    (0.605706, 0.257884)
    """
    e, delta, gamma2, sx = _base(t, sigma_x2)
    z, w = gauss_hermite(default_order(t, sigma_x2) if order is None else order)
    sig = activation(e * sx * z[:, None] + math.sqrt(delta) * z[None, :])  # [u, v]
    inner = sig @ w  # m(u) = E_v sigma(g(u, v))
    a = float(w @ (z * inner)) / (e * sx)
    b = float(w @ (sig @ (w * z)))
    cross = float(w @ inner**2)  # E_u m(u)^2 = E sigma(g(u,v)) sigma(g(u,w))
    s1 = activation(math.sqrt(gamma2) * z)
    norm2 = float(w @ s1**2)
    mu1 = float(w @ (s1 * z))
    return _assemble(t, delta, gamma2, sigma_x2, a, b, cross, norm2, mu1)


@lru_cache(maxsize=64)
def _cached_gh(activation: Activation, t: float, sigma_x2: float, order: int | None) -> Constants:
    return compute_constants(activation, t, sigma_x2, order)


@lru_cache(maxsize=8)
def _mp_gauss_hermite(order: int, dps: int) -> tuple[tuple, tuple]:
    """Probabilists' Gauss–Hermite nodes/weights at ``dps`` digits (E f(z), z ~ N(0,1))."""
    with mpmath.workdps(dps):
        x, w = mpmath.mp.gauss_quadrature(order, "hermite")
        root2 = mpmath.sqrt(2)
        rootpi = mpmath.sqrt(mpmath.pi)
        return tuple(root2 * xi for xi in x), tuple(wi / rootpi for wi in w)


def constants_mpmath(
    activation: Activation,
    t: float,
    sigma_x2: float = 1.0,
    precision: int = 30,
    inner_order: int | None = None,
) -> dict[str, mpmath.mpf]:
    """Reference constants at ``precision`` digits with mpmath.

    One-dimensional expectations and the outer integral of the
    two-dimensional ones use tanh-sinh quadrature (``mpmath.quad``); the
    inner expectation over v in m(u) = E_v sigma(e^{-t} sigma_x u +
    sqrt(Delta_t) v) uses mpmath Gauss–Hermite of order ``inner_order``.
    Its default comes from the error bound exp(-2 a sqrt(N)) of Gauss–Hermite
    for an integrand analytic in the strip |Im v| < a; for tanh the poles sit
    at a = pi / (2 sqrt(Delta_t)), so N = (1.2 * precision * ln 10 / (2a))^2
    (at least 24). Activations with poles closer to the real axis than tanh
    need a larger ``inner_order``. Returns a dict of ``mpmath.mpf`` with the
    field names of :class:`Constants`. About 2 s at 30 digits and t = 0.1.

    Examples
    --------
    >>> from rfdiff.activations import get_activation
    >>> c = constants_mpmath(get_activation("erf"), 0.1, precision=20)
    >>> bool(abs(float(c["b"]) - compute_constants(get_activation("erf"), 0.1).b) < 1e-14)
    True
    """
    dps = precision + 5
    with mpmath.workdps(dps):
        t_mp = mpmath.mpf(t)
        e = mpmath.exp(-t_mp)
        sx2 = mpmath.mpf(sigma_x2)
        sx = mpmath.sqrt(sx2)
        delta = -mpmath.expm1(-2 * t_mp)
        gamma = mpmath.sqrt(e * e * sx2 + delta)
        norm = 1 / mpmath.sqrt(2 * mpmath.pi)
        sd = mpmath.sqrt(delta)
        sig = activation.mp
        if inner_order is None:
            strip = float(mpmath.pi / (2 * sd))
            inner_order = max(24, math.ceil((1.2 * precision * math.log(10) / (2 * strip)) ** 2))
        nodes, weights = _mp_gauss_hermite(int(inner_order), dps)

        def gauss(f):
            return norm * mpmath.quad(lambda x: f(x) * mpmath.exp(-x * x / 2), [-mpmath.inf, 0, mpmath.inf])

        memo: dict = {}

        def inner(u):
            # (m(u), E_v[sigma(g) v]) at this u; the three outer integrals reuse them
            if u not in memo:
                vals = [sig(e * sx * u + sd * v) for v in nodes]
                moment = mpmath.fdot(weights, [f * v for f, v in zip(vals, nodes)])
                memo[u] = (mpmath.fdot(weights, vals), moment)
            return memo[u]

        a = gauss(lambda u: u * inner(u)[0]) / (e * sx)
        b = gauss(lambda u: inner(u)[1])
        cross = gauss(lambda u: inner(u)[0] ** 2)
        norm2 = gauss(lambda x: sig(gamma * x) ** 2)
        mu1 = gauss(lambda x: sig(gamma * x) * x)
        ae2 = a * a * e * e * sx2
        v2 = cross - ae2
        out = {
            "t": t_mp, "delta": delta, "gamma2": gamma * gamma, "sigma_x2": sx2, "a": a, "b": b,
            "v2": v2, "s2": norm2 - ae2 - v2 - b * b, "mu1": mu1, "mustar2": norm2 - mu1 * mu1,
            "norm2": norm2,
        }
    return out
