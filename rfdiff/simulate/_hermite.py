"""Gauss–Hermite quadrature for the Hermite moments of the activation (private layer).

For fixed W and x the preactivation of feature i is m_i + sqrt(c_i) z, z ~ N(0, 1); the exact
noise average (:mod:`rfdiff.simulate.mehler`) needs the normalised Hermite moments

    alpha_k(i, nu) = E[sigma(m_i + sqrt(c_i) z) He_k(z)] / sqrt(k!)   and   E sigma(m_i + sqrt(c_i) z)^2,

computed here with one Gauss–Hermite rule (compiled node values and two BLAS products for tanh and
erf, numpy for any other callable).

Compiled path. The rule is symmetric (z_{Q-1-q} = -z_q) and He_k(-z) = (-1)^k He_k(z), so with
S^+_q = sigma(m + s z_q) + sigma(m - s z_q) and S^-_q = sigma(m + s z_q) - sigma(m - s z_q) over the
Q/2 nodes of one sign, alpha_k = sum_q hw[q, k] S^+_q for even k and sum_q hw[q, k] S^-_q for odd k:
for a block of rows these are two matrix products (k/2 x Q/2) (Q/2 x rows n), done by BLAS. The same
sums as the loop kernel :func:`rfdiff.simulate._kernels.hermite_moments`, in another order (the
results agree to rounding); it was the fit's bottleneck (issue 11: ~40 ns per node pair at
p = 1024, n = 256, Q = 340, K = 35, against a few ns here).
"""

from __future__ import annotations

import functools
import math

import numpy as np

from ..activations import Activation, gauss_hermite
from . import _kernels

__all__ = ["GH_EXPONENT", "hermite_table", "moments", "quad_rule"]

#: Gauss–Hermite error exponent: exp(-2 a sqrt(Q)) <= e^{-40} ~ 4e-18 for a strip of half-width a
GH_EXPONENT = 40.0


@functools.lru_cache(maxsize=16)
def hermite_table(order: int, k1: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Nodes z, weights w (E f(z), z ~ N(0,1)) and hw[q, k] = w_q He_k(z_q) / sqrt(k!).

    Cached, 16 tables (the generate fit asks for the population's rules again at each of its
    times; the roots cost ~1 ms each; a table is at most ~1.6 MiB at the default orders);
    the arrays are read-only.
    """
    z, w = gauss_hermite(order)
    h = np.empty((order, k1))
    h[:, 0] = 1.0
    if k1 > 1:
        h[:, 1] = z
    for k in range(1, k1 - 1):  # normalised recurrence, stable for large k
        h[:, k + 1] = (z * h[:, k] - math.sqrt(k) * h[:, k - 1]) / math.sqrt(k + 1)
    hw = np.ascontiguousarray(w[:, None] * h)
    for a in (z, w, hw):
        a.setflags(write=False)
    return z, w, hw


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


#: node-value buffers of the compiled path hold about this many doubles each (2 buffers)
_PAIR_BUFFER = 1 << 20


def _paired_moments(code: int, mean: np.ndarray, scale: np.ndarray, z: np.ndarray, w: np.ndarray,
                    hw: np.ndarray, coef: np.ndarray, second: np.ndarray) -> None:
    """coef and second in place by :func:`rfdiff.simulate._kernels.hermite_pairs` and BLAS (module notes)."""
    half = hw.shape[0] // 2
    p, n = mean.shape
    even = np.ascontiguousarray(hw[:half, 0::2].T)  # (k1 + 1) // 2 x half
    odd = np.ascontiguousarray(hw[:half, 1::2].T)  # k1 // 2 x half
    rows = max(1, min(p, _PAIR_BUFFER // max(1, half * n)))
    SP = np.empty((half, rows, n))
    SM = np.empty((half, rows, n))
    for lo in range(0, p, rows):
        hi = min(p, lo + rows)
        b = hi - lo
        sp, sm = (SP, SM) if b == rows else (np.ascontiguousarray(SP[:, :b]), np.ascontiguousarray(SM[:, :b]))
        _kernels.hermite_pairs(code, mean, scale, z, w, lo, sp, sm, second)
        coef[0::2, lo:hi, :] = (even @ sp.reshape(half, b * n)).reshape(-1, b, n)
        if odd.shape[0]:
            coef[1::2, lo:hi, :] = (odd @ sm.reshape(half, b * n)).reshape(-1, b, n)


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
        _paired_moments(code, mean, np.ascontiguousarray(scale, dtype=np.float64), z, w, hw, coef, second)
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
