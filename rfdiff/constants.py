"""Gaussian-equivalence constants a_t, b_t, v_t^2, s_t^2, mu_1, mu_*^2 (docs/theory.md §3).

With u, v, w i.i.d. N(0, 1) and g(u, v) = e^{-t} sigma_x u + sqrt(Delta_t) v:

* a_t = E[sigma(g) u] / (e^{-t} sigma_x),  b_t = E[sigma(g) v]
* v_t^2 = E[sigma(g(u, v)) sigma(g(u, w))] - a_t^2 e^{-2t} sigma_x^2
* ||sigma||^2 = E sigma(Gamma_t z)^2,  s_t^2 = ||sigma||^2 - a_t^2 e^{-2t} sigma_x^2 - v_t^2 - b_t^2
* mu_1 = E[sigma(Gamma_t z) z],  mu_*^2 = ||sigma||^2 - mu_1^2

**How they are computed (float64).** Let h_k = E[sigma(Gamma_t z) He_k(z)]/sqrt(k!) be the normalised
Hermite coefficients of sigma(Gamma_t .) and rho = e^{-2t} sigma_x^2/Gamma_t^2 in (0, 1), so 1 - rho =
Delta_t/Gamma_t^2. Since g(u, v) = Gamma_t (sqrt(rho) u + sqrt(1 - rho) v), Mehler's formula gives the
inner mean m(u) = E_v sigma(g) = sum_k rho^{k/2} h_k He_k(u)/sqrt(k!), hence exactly

    mu_1 = h_1,  a_t = h_1/Gamma_t,  b_t = sqrt(Delta_t) h_1/Gamma_t   (Stein's lemma),
    v_t^2 = sum_{k>=2} rho^k h_k^2,  s_t^2 = mu_*^2 - v_t^2 = sum_{k>=2} (1 - rho^k) h_k^2.

These sums have no cancellation: v_t^2 ~ rho^2 h_2^2 (rho^3 h_3^2 for odd sigma) keeps its full relative
precision at large t (the definition's subtraction loses it: relative error 3e-3 at t = 6, a factor ~9 at
t = 8), and 1 - rho^k = -expm1(k log1p(-Delta_t/Gamma_t^2)) keeps s_t^2 at small t. The h_k come from
Gauss–Hermite quadrature with the orthonormal three-term recurrence scaled by sqrt(weight) (no overflow),
up to degree K; the energy beyond K, E_K = mu_*^2 - sum_{2<=k<=K} h_k^2 (mu_*^2 = E (sigma - mu_1 z)^2 by
direct quadrature), bounds the truncation error of v_t^2 and s_t^2 by rho^{K+1} E_K (``truncation``).

The mpmath path :func:`constants_mpmath` computes the definitions themselves (nested 2-d integrals, at
enough digits to survive their subtraction) and is the independent reference the tests use.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import mpmath
import numpy as np

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
    activation : str
        Name of the activation.
    order : int
        Gauss–Hermite order used (0 for a reference computed elsewhere).
    truncation : float
        Bound on the absolute truncation error of v_t^2 and s_t^2 (Hermite degree cut-off); ~0 for
        analytic activations, larger for non-smooth ones (ReLU).
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
    activation: str = ""
    order: int = 0
    truncation: float = 0.0

    @property
    def a2e(self) -> float:
        """a_t^2 e^{-2t}: the coefficient of W Sigma W^T/d in U (Theorem 3.1)."""
        return self.a**2 * math.exp(-2.0 * self.t)


def _base(t: float, sigma_x2: float) -> tuple[float, float, float, float]:
    e = math.exp(-t)
    delta = -math.expm1(-2.0 * t)
    gamma2 = e * e * sigma_x2 + delta
    return e, delta, gamma2, math.sqrt(sigma_x2)


def default_order(t: float, sigma_x2: float) -> int:
    """Gauss–Hermite order giving ~1e-16 Hermite coefficients up to the degree that matters.

    For sigma(Gamma z) analytic in |Im z| < a the coefficients h_k decay like exp(-a sqrt(2k)); tanh
    has a = pi/(2 Gamma_t), so degree K = 300 Gamma_t^2 leaves h_K^2 < 1e-40, and order 2K + 100 integrates
    sigma He_k exactly enough for every k <= K.
    """
    _, _, gamma2, _ = _base(t, sigma_x2)
    return max(400, 2 * math.ceil(300.0 * gamma2) + 100)


def hermite_coefficients(activation: Activation, scale: float, order: int, degree: int) -> np.ndarray:
    """h_k = E[sigma(scale z) He_k(z)]/sqrt(k!), k = 0..degree, by Gauss–Hermite of the given order.

    The orthonormal recurrence phi_{k+1} = (z phi_k - sqrt(k) phi_{k-1})/sqrt(k+1) runs on
    sqrt(w_i) phi_k(z_i), bounded by 1, so high degrees neither overflow nor underflow.

    Examples
    --------
    >>> from rfdiff.activations import Activation
    >>> h = hermite_coefficients(Activation(lambda x: x**3 - 3 * x, "he3"), 1.0, 40, 5)
    >>> [round(float(x), 12) + 0.0 for x in h]   # He_3 = sqrt(3!) times the normalised He_3
    [0.0, 0.0, 0.0, 2.449489742783, 0.0, 0.0]
    """
    z, w = gauss_hermite(int(order))
    sw = np.sqrt(w)
    f = activation(scale * z)
    g = sw * f
    out = np.empty(degree + 1)
    prev = np.zeros_like(z)
    cur = sw.copy()
    out[0] = g @ cur
    for k in range(degree):
        nxt = (z * cur - math.sqrt(k) * prev) / math.sqrt(k + 1)
        prev, cur = cur, nxt
        out[k + 1] = g @ cur
    return out


def compute_constants(
    activation: Activation, t: float, sigma_x2: float = 1.0, order: int | None = None
) -> Constants:
    """Constants by the Hermite series of sigma(Gamma_t .) (module notes), Gauss–Hermite of the given order.

    Parameters
    ----------
    activation : Activation
        The (centred) nonlinearity.
    t : float
        Diffusion time, > 0.
    sigma_x2 : float
        Tr Sigma / d of the data.
    order : int, optional
        Gauss–Hermite points; default :func:`default_order` (~1e-16 for tanh and erf). The Hermite
        degree is order // 2. Non-smooth activations converge only algebraically (their ``truncation``
        bound says how far) unless they carry closed forms (``Activation.closed_form``, e.g.
        ``centred("relu", Gamma_t)``), which are used instead.

    Examples
    --------
    >>> from rfdiff.activations import get_activation
    >>> c = compute_constants(get_activation("tanh"), 0.1)
    >>> round(c.mu1, 6), round(c.b, 6)
    (0.605706, 0.257884)
    >>> c8 = compute_constants(get_activation("tanh"), 8.0)   # v_t^2 ~ rho^3 h_3^2, full relative precision
    >>> f"{c8.v2:.12e}"
    '3.140149477598e-23'

    """
    if activation.closed_form is not None:
        return Constants(t=t, **activation.closed_form(t, sigma_x2), activation=activation.name, order=0)
    _e, delta, gamma2, _sx = _base(t, sigma_x2)
    n = default_order(t, sigma_x2) if order is None else int(order)
    degree = n // 2
    gamma = math.sqrt(gamma2)
    h = hermite_coefficients(activation, gamma, n, degree)
    z, w = gauss_hermite(n)
    f = activation(gamma * z)
    norm2 = float(w @ (f * f))
    mu1 = float(h[1])
    mustar2 = float(w @ (f - mu1 * z) ** 2)
    k = np.arange(degree + 1)
    # rho = e^{-2t} sigma_x^2/Gamma_t^2 and 1 - rho = Delta_t/Gamma_t^2: log1p(-Delta/Gamma^2) is exact while
    # rho is near 1 (small t) but loses eps/rho near rho = 0 (large t), where the direct form is exact
    rho = math.exp(-2.0 * t) * sigma_x2 / gamma2
    log_rho = math.log1p(-delta / gamma2) if rho > 0.5 else -2.0 * t + math.log(sigma_x2) - math.log(gamma2)
    rho_k = np.exp(k * log_rho)
    hk2 = h[2:] ** 2
    # energy beyond degree K; below ~1e-13 mu_*^2 it is the rounding of the two sums (each ~1e-14), not a tail
    tail = mustar2 - h[0] ** 2 - float(hk2.sum())
    tail = tail if tail > 1e-13 * mustar2 else 0.0
    v2 = float(rho_k[2:] @ hk2)
    if v2 <= 0.5 * mustar2:
        s2 = mustar2 - v2
    else:
        s2 = float(h[0] ** 2 + (-np.expm1(k[2:] * log_rho)) @ hk2 + tail)
    truncation = float(math.exp((degree + 1) * log_rho) * tail)
    return Constants(
        t=t, delta=delta, gamma2=gamma2, sigma_x2=sigma_x2, a=mu1 / gamma, b=math.sqrt(delta) * mu1 / gamma,
        v2=v2, s2=s2, mu1=mu1, mustar2=mustar2, norm2=norm2, activation=activation.name, order=n,
        truncation=truncation,
    )


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
    field names of :class:`Constants`. About 2 s at 30 digits and t = 0.1. The working precision is raised
    by 6 t/ln 10 digits so that v_t^2 (relative size ~e^{-6t} for odd sigma) keeps ``precision`` digits.

    Examples
    --------
    >>> from rfdiff.activations import get_activation
    >>> c = constants_mpmath(get_activation("erf"), 0.1, precision=20)
    >>> bool(abs(float(c["b"]) - compute_constants(get_activation("erf"), 0.1).b) < 1e-14)
    True
    """
    # v_t^2 is a difference of O(1) numbers of relative size ~e^{-4t} (e^{-6t} for odd sigma): carry
    # enough extra digits that the subtraction still leaves ``precision`` of them
    dps = precision + 5 + math.ceil(6.0 * t / math.log(10.0))
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
