"""Gauss–Hermite quadrature for the Hermite moments of the activation (private layer).

For fixed W and x the preactivation of feature i is m_i + sqrt(c_i) z, z ~ N(0, 1); the exact
noise average (:mod:`rfdiff.simulate.mehler`) needs the normalised Hermite moments

    alpha_k(i, nu) = E[sigma(m_i + sqrt(c_i) z) He_k(z)] / sqrt(k!)   and   E sigma(m_i + sqrt(c_i) z)^2,

computed here with one Gauss–Hermite rule (the compiled kernel for tanh and erf, numpy for any
other callable).
"""

from __future__ import annotations

import math

import numpy as np

from ..activations import Activation, gauss_hermite
from . import _kernels

__all__ = ["GH_EXPONENT", "hermite_table", "moments", "quad_rule"]

#: Gauss–Hermite error exponent: exp(-2 a sqrt(Q)) <= e^{-40} ~ 4e-18 for a strip of half-width a
GH_EXPONENT = 40.0


def hermite_table(order: int, k1: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Nodes z, weights w (E f(z), z ~ N(0,1)) and hw[q, k] = w_q He_k(z_q) / sqrt(k!)."""
    z, w = gauss_hermite(order)
    h = np.empty((order, k1))
    h[:, 0] = 1.0
    if k1 > 1:
        h[:, 1] = z
    for k in range(1, k1 - 1):  # normalised recurrence, stable for large k
        h[:, k + 1] = (z * h[:, k] - math.sqrt(k) * h[:, k - 1]) / math.sqrt(k + 1)
    return z, w, np.ascontiguousarray(w[:, None] * h)


def quad_rule(scale_max: float, k1: int) -> int:
    """Gauss–Hermite order for E[sigma(m + s z) He_k(z)], s <= scale_max, k < k1.

    For sigma analytic in the strip |Im x| < pi/2 (tanh; erf is entire) the
    integrand in z is analytic in |Im z| < a = pi / (2 s) and the error decays like
    exp(-2 a sqrt(Q)); Q = (40 s / pi)^2 makes it ~e^{-40}. Q >= 2 k1 + 10 keeps
    the He_k factors well resolved. Q is even (the kernel pairs the nodes +-z).
    """
    q = math.ceil((GH_EXPONENT * scale_max / math.pi) ** 2)
    q = int(max(20, 2 * k1 + 10, q))
    return q + (q % 2)


def moments(
    act: Activation, code: int | None, mean: np.ndarray, scale: np.ndarray, order: int, k1: int
) -> tuple[np.ndarray, np.ndarray]:
    """alpha_k(i, nu) (k1 x p x n) and E sigma^2 (p x n) by Gauss–Hermite of the given (even) order."""
    z, w, hw = hermite_table(order, k1)
    mean = np.ascontiguousarray(mean)
    p, n = mean.shape
    coef = np.empty((k1, p, n))
    second = np.empty((p, n))
    if code is not None:
        _kernels.hermite_moments(code, mean, np.ascontiguousarray(scale), z, w, hw, coef, second)
    else:  # any vectorised callable: rows in chunks of <= 2^22 evaluations
        rows = max(1, (1 << 22) // max(1, n * order))
        for lo in range(0, p, rows):
            sl = slice(lo, min(p, lo + rows))
            s = act(mean[sl, :, None] + scale[sl, None, None] * z)
            if not np.all(np.isfinite(s)):
                raise ValueError(f"activation {act.name!r} returned non-finite values")
            coef[:, sl, :] = np.moveaxis(s @ hw, -1, 0)
            second[sl] = (s * s) @ w
    return coef, second
