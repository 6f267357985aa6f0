"""Contour node strategies for the integrals over the spectrum (docs/twopoint.md §3).

Every strategy returns a :class:`Nodes`: a union of ellipses, each discretised by the trapezoid rule at
n nodes (n a multiple of 8) at angles 2 pi k/n, k = 0..n-1, so that node n - k is the conjugate of node
k. Integrands here satisfy F(conj z) = conj F(z), so only the upper half (k = 0..n/2, both ends real) is
ever evaluated; ``upper`` lists those nodes and ``mult`` their multiplicity in a real-valued sum (1 on
the real axis, 2 otherwise). Every other node (k even) forms the n/2-point rule on the same ellipses
and every fourth node (k = 0 mod 4) the n/4-point rule (multiplicities and rule weights:
``rule_weights``); the three rules give the error estimate of the n-node rule
(:func:`rfdiff._numerics.losses.error_estimate`). ``up_rule`` lists the upper nodes with those of the
n/4 rule first, then the other n/2-rule nodes, then the rest, so that sums over a two-point matrix
stored in that order give the three rules as prefix sums.

* :func:`log_ellipse` — one ellipse in log z with foci log s_t^2 and log (upper bound): encloses the whole
  spectrum of U without locating it (U >= s_t^2 I); the atom at s_t^2 is no singularity of the
  integrands (its eigenvectors have W^T v = 0).
* :func:`bernstein` — one ellipse per group of support components in the offset zeta = z - s_t^2, sized
  from the distance to the nearest singularity outside the group.

Nodes carry both z (rounded to float64) and the exact offset zeta = z - s_t^2.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numba
import numpy as np

from ..io import Serializable


@dataclass(frozen=True)
class Nodes(Serializable):
    """Nodes and weights of a contour rule (see the module notes).

    z, zeta, weight : all nodes, their offsets z - s_t^2 and dz/(2 pi i).
    upper : indices (into all nodes) of the upper-half nodes; mult : their multiplicities.
    pair : for every node, the position in ``upper`` of itself or of its conjugate.
    up_rule : the upper nodes (positions in ``upper``) in rule order: the ``nq_up`` of the n/4 rule, then
        the other ``nh_up - nq_up`` of the n/2 rule, then the rest (sub-rule sums are prefix sums).
    real_rule : per upper node in rule order, whether it lies on the real axis (its own conjugate).
    rule_nodes : ``upper[up_rule]``, the upper nodes in rule order as indices into all nodes.
    rule_weights : (3, m) multiplicities times rule weights (1, 2, 4) in the n-, n/2- and n/4-node rules,
        upper nodes in rule order.
    sizes : nodes per ellipse.
    """

    z: np.ndarray
    zeta: np.ndarray
    weight: np.ndarray
    upper: np.ndarray
    mult: np.ndarray
    pair: np.ndarray
    up_rule: np.ndarray
    real_rule: np.ndarray
    rule_nodes: np.ndarray
    rule_weights: np.ndarray
    nq_up: int
    nh_up: int
    sizes: tuple[int, ...]

    @property
    def n(self) -> int:
        return int(self.z.size)


@functools.lru_cache(maxsize=64)
def bookkeeping(sizes: tuple[int, ...]) -> dict:
    """Index bookkeeping of a union of ellipses of ``sizes`` nodes (multiples of 8), cached per sizes (the
    arrays are read-only and shared between contours)."""
    upper, mult, pair, rank = [], [], [], []
    base = 0
    pos0 = 0
    for n in sizes:
        half = n // 2
        k_up = np.arange(half + 1)
        m = np.full(half + 1, 2.0)
        m[0] = m[half] = 1.0
        upper.append(base + k_up)
        mult.append(m)
        k = np.arange(n)
        pair.append(pos0 + np.where(k <= half, k, n - k))
        rank.append(np.where(k_up % 4 == 0, 0, np.where(k_up % 2 == 0, 1, 2)))  # n/4, n/2, n rule
        base += n
        pos0 += half + 1
    m = np.concatenate(mult)
    rule = np.concatenate(rank)
    up_rule = np.argsort(rule, kind="stable")
    k_all = np.concatenate([np.arange(n // 2 + 1) for n in sizes])
    n_of = np.concatenate([np.full(n // 2 + 1, n) for n in sizes])
    real = (k_all == 0) | (2 * k_all == n_of)
    cm, qm = np.where(rule <= 1, m, 0.0), np.where(rule == 0, m, 0.0)
    up = np.concatenate(upper)
    out = dict(upper=up, mult=m, pair=np.concatenate(pair), up_rule=up_rule,
               real_rule=real[up_rule], rule_nodes=up[up_rule],
               rule_weights=np.stack([m[up_rule], 2.0 * cm[up_rule], 4.0 * qm[up_rule]]))
    for v in out.values():
        v.flags.writeable = False
    out.update(nq_up=int(np.count_nonzero(rule == 0)), nh_up=int(np.count_nonzero(rule <= 1)),
               sizes=tuple(sizes))
    return out


def _assemble(ellipses: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> Nodes:
    """Nodes from a list of (z, zeta, weight) per ellipse of n (multiple of 8) nodes."""
    book = bookkeeping(tuple(int(e[0].size) for e in ellipses))
    if len(ellipses) == 1:
        z, zeta, weight = ellipses[0]
    else:
        z, zeta, weight = (np.concatenate([e[i] for e in ellipses]) for i in range(3))
    return Nodes(z=z, zeta=zeta, weight=weight, **book)


@functools.lru_cache(maxsize=64)
def _unit_roots(n: int) -> np.ndarray:
    """e^{2 pi i k/n}, k = 0..n-1 (read-only, cached)."""
    e = np.exp(2j * np.pi * np.arange(n) / n)
    e.flags.writeable = False
    return e


def _symmetrise(z: np.ndarray) -> np.ndarray:
    """Make node n - k exactly the conjugate of node k and nodes 0, n/2 exactly real."""
    n = z.size
    half = n // 2
    z = z.copy()
    z[0] = z[0].real
    z[half] = z[half].real
    z[half + 1:] = np.conj(z[1:half][::-1])
    return z


def round8(n: float) -> int:
    """The smallest multiple of 8 that is >= n (and >= 32, so that the n/4 rule has 8 nodes)."""
    return int(max(32, 8 * math.ceil(n / 8.0)))


#: max |Im log z| on the log ellipse (rad) for finite tau: < pi/2 so that Re z > 0 and e^{-a z} stays
#: bounded; measured optimum between the analytic rate (wants a large rho) and the growth of e^{-a z}
LOG_ANGLE = 0.7
#: height for tau = inf alone (no e^{-a z} to grow; the next singularities are at |Im log z| = 2 pi)
LOG_ANGLE_INF = 1.2


def log_rate(s2: float, upper_bound: float, angle: float) -> float:
    """log rho of the log ellipse: the trapezoid error decays like rho^{-n}."""
    h = 0.5 * math.log(upper_bound / s2)
    x = 2.0 * angle / h
    return math.log(0.5 * (x + math.sqrt(x * x + 4.0)))


def log_ellipse(s2: float, upper_bound: float, n: int, angle: float = LOG_ANGLE) -> Nodes:
    """One ellipse in log z with foci log s2, log upper_bound and height ``angle``, n nodes."""
    z, zeta, weight = log_nodes(n, *log_geometry(s2, upper_bound, angle, n), s2)
    return _assemble([(z, zeta, weight)])


def log_geometry(s2: float, upper_bound: float, angle: float, n: int) -> tuple[float, float, float, float]:
    """(c, h, rho, log s2) of the log ellipse log z = c + h (rho e + 1/(rho e))/2 with foci log s2 and
    log upper_bound and height ``angle`` (h (rho - 1/rho)/2 = angle), after checking its n nodes."""
    if not (s2 > 0 and upper_bound > s2):
        raise ValueError(f"the log contour needs 0 < s_t^2 < upper bound, got s2={s2!r}, ub={upper_bound!r}")
    if n % 8 or n < 32:
        raise ValueError(f"n must be a multiple of 8 and >= 32, got {n}")
    lo, hi = math.log(s2), math.log(upper_bound)
    c, h = 0.5 * (lo + hi), 0.5 * (hi - lo)
    x = 2.0 * angle / h
    return c, h, 0.5 * (x + math.sqrt(x * x + 4.0)), lo


@numba.njit(cache=True)
def log_nodes(n, c, h, rho, lo, s2):
    """z, z - s2 and dz/(2 pi i) n at the n nodes of the log ellipse log z = c + h (rho e + 1/(rho e))/2,
    e = e^{2 pi i k/n}: the upper half computed, node n - k the conjugate of node k, nodes 0 and n/2 real."""
    half = n // 2
    z = np.empty(n, np.complex128)
    zeta = np.empty(n, np.complex128)
    weight = np.empty(n, np.complex128)
    for k in range(half + 1):
        th = 2.0 * math.pi * k / n
        e = complex(math.cos(th), math.sin(th))
        u = 0.5 * h * (rho * e + 1.0 / (rho * e))  # log z - c
        du = 0.5 * h * (rho * e - 1.0 / (rho * e))
        if k == 0 or k == half:
            u = complex(u.real, 0.0)
        ex = math.exp(c + u.real)
        zk = complex(ex * math.cos(u.imag), ex * math.sin(u.imag))
        # z - s2 = s2 (e^{u + c - lo} - 1) without cancellation (expm1 of a complex argument)
        xr = u.real + c - lo
        em = math.expm1(xr)
        sh = math.sin(0.5 * u.imag)
        zt = s2 * complex(em * math.cos(u.imag) - 2.0 * sh * sh, (em + 1.0) * math.sin(u.imag))
        wk = zk * du / n
        if k == 0 or k == half:
            zk, zt, wk = complex(zk.real, 0.0), complex(zt.real, 0.0), complex(wk.real, 0.0)
        z[k], zeta[k], weight[k] = zk, zt, wk
        if 0 < k < half:
            z[n - k], zeta[n - k], weight[n - k] = zk.conjugate(), zt.conjugate(), wk.conjugate()
    return z, zeta, weight


def bernstein(s2: float, groups: list[tuple[float, float]], singular: list[float], n_per: list[int],
              rho_min: float = 1.0 + 1e-12) -> tuple[Nodes, list[float]]:
    """One Bernstein ellipse per group [lo, hi] of offsets, n_per[k] nodes, with the parameter rho the
    geometric mean of 1 and the distance (in ellipse parameter) to the nearest singular offset outside
    the group. Returns the nodes and each ellipse's rho."""
    ellipses = []
    rhos = []
    for (lo, hi), n in zip(groups, n_per):
        if n % 8 or n < 32:
            raise ValueError(f"n must be a multiple of 8 and >= 32, got {n}")
        rho = ellipse_rho(lo, hi, singular)
        rho = max(rho, rho_min)
        c, h = 0.5 * (lo + hi), 0.5 * (hi - lo)
        e = _unit_roots(n)
        zeta = _symmetrise(c + 0.5 * h * (rho * e + 1.0 / (rho * e)))
        weight = _symmetrise(0.5 * h * (rho * e - 1.0 / (rho * e)) / n)
        ellipses.append((s2 + zeta, zeta, weight))
        rhos.append(rho)
    return _assemble(ellipses), rhos


def ellipse_rho(lo: float, hi: float, singular: list[float]) -> float:
    """sqrt of the Bernstein parameter of the largest ellipse around [lo, hi] that avoids ``singular``."""
    c, h = 0.5 * (lo + hi), 0.5 * (hi - lo)
    outside = [x for x in singular if x < lo - 1e-15 * abs(c) or x > hi + 1e-15 * abs(c)]
    if not outside:
        return math.inf
    u = min(abs(x - c) for x in outside) / h
    return math.sqrt(u + math.sqrt(u * u - 1.0))
