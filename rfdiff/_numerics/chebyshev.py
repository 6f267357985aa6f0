"""Chebyshev interpolation on an interval: how :mod:`rfdiff.phases` reads minima and first crossings off
the learning curves between grid points (docs/theory.md §6).

Values at the m Chebyshev points of the first kind on [-1, 1] (:func:`points`) give the coefficients of
the interpolating polynomial by discrete orthogonality (:func:`coefficients`); :func:`minimum` and
:func:`crossing` scan it on ``SCAN`` points and polish by Newton's method on the derivative and by
regula falsi (Illinois), to rounding.
"""

from __future__ import annotations

import functools

import numba
import numpy as np

#: points of the scan of [-1, 1] (or of a crossing's bracket) before polishing
SCAN = 129


@functools.lru_cache(maxsize=8)
def _tables(m: int) -> tuple[np.ndarray, np.ndarray]:
    theta = np.pi * (np.arange(m) + 0.5) / m
    t = -np.cos(theta)
    V = np.cos(np.arange(m)[None, :] * (np.pi - theta)[:, None])  # T_j(t_k) = cos(j (pi - theta_k))
    to_coef = V.T * (2.0 / m)
    to_coef[0] *= 0.5
    t.flags.writeable = False
    to_coef.flags.writeable = False
    return t, to_coef


def points(m: int) -> np.ndarray:
    """The m Chebyshev points of the first kind on [-1, 1], ascending.

    Examples
    --------
    >>> points(2).round(6).tolist()
    [-0.707107, 0.707107]
    """
    return _tables(int(m))[0]


def coefficients(y: np.ndarray) -> np.ndarray:
    """Chebyshev coefficients of the polynomial through the values ``y`` at :func:`points` (len(y)).

    Examples
    --------
    >>> t = points(5)
    >>> (coefficients(2.0 * t**2 - 1.0).round(12) + 0.0).tolist()  # T_2 (+ 0.0: no signed zeros)
    [0.0, 0.0, 1.0, 0.0, 0.0]
    """
    return _tables(y.size)[1] @ y


@numba.njit(cache=True)
def derivative(c):
    """Chebyshev coefficients of the derivative (d_{k-1} = d_{k+1} + 2 k c_k, d_0 halved)."""
    m = c.shape[0]
    d = np.zeros(max(m - 1, 1))
    nxt = 0.0  # d_{k+1}
    cur = 0.0  # d_k
    for k in range(m - 1, 0, -1):
        prev = nxt + 2.0 * k * c[k]  # d_{k-1}
        d[k - 1] = prev
        nxt, cur = cur, prev
    d[0] *= 0.5
    return d


@numba.njit(cache=True)
def value(c, t):
    """sum_j c_j T_j(t) by Clenshaw's recurrence."""
    b1 = 0.0
    b2 = 0.0
    for j in range(c.shape[0] - 1, 0, -1):
        b1, b2 = 2.0 * t * b1 - b2 + c[j], b1
    return t * b1 - b2 + c[0]


@numba.njit(cache=True)
def minimum(c):
    """(t, p(t)) at the smallest value of the polynomial on [-1, 1]: the smallest of the scan, then
    Newton's method on p' kept between the neighbouring scan points (kept only if it improves)."""
    best = 0
    vbest = np.inf
    for i in range(SCAN):
        v = value(c, -1.0 + 2.0 * i / (SCAN - 1))
        if v < vbest:
            best, vbest = i, v
    t0 = -1.0 + 2.0 * best / (SCAN - 1)
    lo = max(t0 - 2.0 / (SCAN - 1), -1.0)
    hi = min(t0 + 2.0 / (SCAN - 1), 1.0)
    d1 = derivative(c)
    d2 = derivative(d1)
    t = t0
    for _ in range(6):
        curv = value(d2, t)
        if not curv > 0.0:
            break
        t = min(max(t - value(d1, t) / curv, lo), hi)
    v = value(c, t)
    if v < vbest:
        return t, v
    return t0, vbest


@numba.njit(cache=True)
def crossing(c, level, t0, t1):
    """The first t in [t0, t1] with p(t) = level, the sign of p - level at t0 being the one before the
    crossing: the first sign change on a scan of [t0, t1], then regula falsi (Illinois) to rounding;
    t1 if the scan finds none (rounding hiding a crossing at the end)."""
    fa = value(c, t0) - level
    a = t0
    for i in range(1, SCAN):
        b = t0 + (t1 - t0) * i / (SCAN - 1)
        fb = value(c, b) - level
        if (fb > 0.0) != (fa > 0.0):
            side = 0
            for _ in range(100):
                if fb == fa or abs(b - a) <= 1e-15 * (1.0 + abs(a)):
                    break
                x = (a * fb - b * fa) / (fb - fa)
                fx = value(c, x) - level
                if fx == 0.0:
                    return x
                if (fx > 0.0) == (fb > 0.0):
                    b, fb = x, fx
                    if side == -1:
                        fa *= 0.5
                    side = -1
                else:
                    a, fa = x, fx
                    if side == 1:
                        fb *= 0.5
                    side = 1
            return 0.5 * (a + b)
        a, fa = b, fb
    return t1
