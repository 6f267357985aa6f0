"""Marchenko–Pastur Stieltjes transforms and their divided differences, without cancellation.

mu_y is the law of the eigenvalues of K = W W^T/d (p x p, y = p/d): an atom 1 - 1/y at 0 when y > 1,
and mu~_y, the law of W^T W/d (d x d), which carries the nonzero ones: mu_y = (1 - 1/y) delta_0 + mu~_y/y
for y > 1. Their Stieltjes transforms solve

    m(w):  y w m^2 + (w - 1 + y) m + 1 = 0,          m ~ -1/w,
    m~(w): w m~^2 + (w + 1 - y) m~ + 1 = 0,          m~ ~ -1/w,

with the same discriminant R^2 = (w - a)(w - b), a, b = (1 -+ sqrt y)^2; R = sqrt(w - a) sqrt(w - b)
(product of principal roots: its cut is [a, b] only). Each physical root is taken from whichever of
its two algebraically equal forms, 2/(B - R) or (B + R)/(2 c), has no cancellation (|B - R| vs
|B + R|): the form 2/(B - R) alone cancels near w = 0 when y > 1 (relative error 2e-10 at y = 65536).

The divided differences J_j = int k^j dmu(k)/((k - w1)(k - w2)), j = 0, 1, 2, follow from subtracting
the quadratic at w1 and w2 (they are the derivative at w1 = w2). For y > 1 the atom is split off
exactly, J_0 = (1 - 1/y)/(w1 w2) + J~_0/y, J_1 = J~_1/y, J_2 = J~_2/y (the atom does not enter
k-weighted integrals), so nothing cancels against the pole at w = 0. docs/twopoint.md §2.
"""

from __future__ import annotations

import cmath
import math
from functools import lru_cache

import numba
import numpy as np


@numba.njit(cache=True)
def _disc_root(w, y):
    sy = math.sqrt(y)
    return cmath.sqrt(w - (1.0 - sy) ** 2) * cmath.sqrt(w - (1.0 + sy) ** 2)


@numba.njit(cache=True)
def stieltjes_scalar(w, y):
    """m(w) of mu_y (atom 1 - 1/y at 0 for y > 1)."""
    B = -(w - 1.0 + y)
    R = _disc_root(w, y)
    if abs(B - R) >= abs(B + R):
        return 2.0 / (B - R)
    return (B + R) / (2.0 * y * w)


@numba.njit(cache=True)
def companion_scalar(w, y):
    """m~(w) of mu~_y, the law of W^T W / d (no atom at 0 for y >= 1)."""
    B = -(w + 1.0 - y)
    R = _disc_root(w, y)
    if abs(B - R) >= abs(B + R):
        return 2.0 / (B - R)
    return (B + R) / (2.0 * w)


@numba.njit(cache=True)
def stieltjes(w, y):
    """m(w) at every entry of the complex array w."""
    out = np.empty(w.shape, np.complex128)
    for i in range(w.size):
        out.flat[i] = stieltjes_scalar(w.flat[i], y)
    return out


@numba.njit(cache=True)
def pieces(w, y):
    """Per-point transform the divided differences need: m~(w) if y > 1, else m(w)."""
    out = np.empty(w.shape, np.complex128)
    for i in range(w.size):
        out.flat[i] = companion_scalar(w.flat[i], y) if y > 1.0 else stieltjes_scalar(w.flat[i], y)
    return out


#: terms of the large-|w| series: (b/|w|)^k < 4^-30 ~ 9e-19 beyond them
SERIES_TERMS = 30
#: the series is used when both |w1|, |w2| exceed this multiple of the upper edge b
SERIES_RADIUS = 4.0


@lru_cache(maxsize=64)
def moments(y: float) -> np.ndarray:
    """Moments M_0..M_{SERIES_TERMS+1} of mu_y (Narayana polynomials; M_0 = 1 includes the atom).

    Examples
    --------
    >>> [float(x) for x in moments(2.0)[:4]]
    [1.0, 1.0, 3.0, 11.0]
    """
    out = np.empty(SERIES_TERMS + 2)
    out[0] = 1.0
    for k in range(1, SERIES_TERMS + 2):
        out[k] = sum(y**r / (r + 1) * math.comb(k, r) * math.comb(k - 1, r) for r in range(k))
    out.setflags(write=False)  # cached: shared by every caller
    return out


@numba.njit(cache=True)
def divided(w1, w2, p1, p2, y, mom):
    """J_0, J_1, J_2 of mu_y at (w1, w2) from the :func:`pieces` p1 = p(w1), p2 = p(w2).

    ``mom``: :func:`moments` of mu_y. Where both |w| exceed SERIES_RADIUS (1 + sqrt y)^2, the closed
    forms lose ~|w|^2/b^2 of relative precision (J_2 is O(1/w^2) but built from O(1/w) terms); there the
    convergent series J_j = (1/(w1 w2)) sum_s M_{s+j} h_s(1/w1, 1/w2) (h_s the complete homogeneous
    polynomial) is summed instead.
    """
    b = (1.0 + math.sqrt(y)) ** 2
    if abs(w1) > SERIES_RADIUS * b and abs(w2) > SERIES_RADIUS * b:
        u1 = 1.0 / w1
        u2 = 1.0 / w2
        h = 1.0 + 0j
        u2s = 1.0 + 0j
        j0 = 0j
        j1 = 0j
        j2 = 0j
        for s in range(SERIES_TERMS):
            j0 += mom[s] * h
            j1 += mom[s + 1] * h
            j2 += mom[s + 2] * h
            u2s = u2s * u2
            h = u1 * h + u2s
        return j0 * u1 * u2, j1 * u1 * u2, j2 * u1 * u2
    if y > 1.0:
        # mu~: w m~^2 + (w + 1 - y) m~ + 1 = 0, so
        # (m~1 - m~2)/(w1 - w2) = -(m~1^2 + m~1)/(w2 (m~1 + m~2) + w2 + 1 - y)
        jt0 = -(p1 * p1 + p1) / (w2 * (p1 + p2) + w2 + 1.0 - y)
        jt1 = p1 + w2 * jt0
        jt2 = 1.0 + (w1 + w2) * p1 + w2 * w2 * jt0
        return (1.0 - 1.0 / y) / (w1 * w2) + jt0 / y, jt1 / y, jt2 / y
    j0 = -(y * p1 * p1 + p1) / (y * w2 * (p1 + p2) + w2 + y - 1.0)
    return j0, p1 + w2 * j0, 1.0 + (w1 + w2) * p1 + w2 * w2 * j0
