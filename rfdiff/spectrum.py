"""Spectrum of U: density, atoms, support intervals and their edges, CDF (docs/theory.md §4–§5).

Everything is computed in the offset zeta = lambda - s_t^2 (U >= s_t^2 I), so components far closer to
s_t^2 than the float64 resolution of lambda (t >= 3: v_t^2 < 1e-9 s_t^2) are found and resolved; the
result reports them both as offsets (exact) and as lambda = s_t^2 + offset (rounded).

* The continuous density is rho(lambda) = Im q(lambda + i0) / pi, with q solved
  exactly on the real axis (:mod:`rfdiff.resolvent`), so atoms contribute no
  Lorentzian tail to it.
* Support intervals are found by a scan of the real axis (log-spaced in zeta down to 1e-15 v_t^2, plus
  linear; bisection where q decreases between two gap points: in a gap q is real and increasing, so a
  decrease means a hidden component or a pole), and each edge is then located by the inverse map: on the
  real-q curve F1(q, r) = 0 the last equation gives zeta(q) explicitly, and an edge is a critical point
  d zeta/dq = 0 of it (a square-root point of q(z)). Since zeta is stationary there, the edge value is
  accurate to rounding even if q* is only known to ~1e-8. Where that continuation fails the edge is
  bisected instead; each edge records how it was found (``edge_methods``) and its residuals.
* Atoms: weight w = lim_{eps -> 0} (-i eps) q(x0 + i eps) (Richardson extrapolated), checked against the
  rank formula w = max(0, 1 - rank(U - s_t^2 I)/p) of the Gaussian-equivalent U: a disagreement beyond
  1e-8 raises :class:`~rfdiff.errors.SpectrumResolutionError` (a component was not resolved).
* Each component is sampled in theta, zeta = lo + (hi - lo)(1 - cos theta)/2, at Chebyshev points of
  theta (so doubly dense near the edges); rho sin(theta) is smooth on [0, pi] at square-root edges, so its
  Chebyshev series gives the mass and the CDF with spectral accuracy. A sharp interior feature (two
  components about to merge) is handled by splitting the interval at the density minimum.

The asymptotic forms of Theorem 3.2 are here too: :func:`rho1_asymptotic`,
:func:`rho1_edges`, :func:`rho2_stieltjes`, :func:`rho2_density`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.polynomial import chebyshev as cheb
from scipy import fft

from ._numerics import resolvent as _kern
from ._numerics.arguments import real_array
from .errors import ResolventConvergenceError, SpectrumResolutionError
from .io import Serializable
from .resolvent import Equations, solve

if TYPE_CHECKING:  # pragma: no cover
    from .constants import Constants

__all__ = [
    "Component",
    "EdgeResult",
    "Spectrum",
    "atom_weight_formula",
    "density",
    "find_edge",
    "marchenko_pastur_density",
    "rho1_asymptotic",
    "rho1_edges",
    "rho2_density",
    "rho2_stieltjes",
    "spectrum",
]


def _check_equations(eq: object) -> Equations:
    if not isinstance(eq, Equations):
        raise TypeError(
            f"expected rfdiff.resolvent.Equations (e.g. RFModel.equations), got {type(eq).__name__}")
    return eq


def _solve_offsets(eq: Equations, zeta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """q, r at real offsets zeta (boundary values from above); raises where the solver fails."""
    res = solve(eq, np.asarray(zeta, dtype=np.float64).astype(np.complex128), shifted=True)
    return res.q, res.r


def density(eq: Equations, lam: float | Sequence[float] | np.ndarray, *, shifted: bool = False) -> np.ndarray:
    """Continuous part of the spectral density of U at real ``lam``.

    rho(lambda) = Im q(lambda + i0) / pi with q solved on the real axis itself,
    so point masses (atoms) do not leak into it. Same shape as ``lam``. At an atom the boundary
    value is infinite and :class:`~rfdiff.errors.ResolventConvergenceError` is raised.

    Parameters
    ----------
    eq : Equations
    lam : float or array_like
        Real points (lambda), or offsets lambda - s_t^2 when ``shifted``.
    shifted : bool
        ``lam`` holds lambda - s_t^2.

    Examples
    --------
    >>> import rfdiff
    >>> m = rfdiff.RFModel(psi_p=64, psi_n=8, t=0.01)
    >>> rho = density(m.equations, [0.005, 0.2, 20.0])
    >>> bool(np.all(rho > 0))
    True
    """
    lam = real_array("lam", lam)
    res = solve(_check_equations(eq), lam.astype(np.complex128), shifted=shifted)
    return res.q.imag / np.pi


# ---------------------------------------------------------------- real-axis helpers


def _zeta_and_slope(co, q: float, r: float) -> tuple[float, float]:
    """zeta(q, r) from the last equation, and d zeta/dq along F1 = 0 (= -det J / (q J12))."""
    qc, rc = complex(q), complex(r)
    zeta = _kern.zeta_of(qc, rc, co).real
    _f1, _g2, j11, j12, j21, j22, *_ = _kern.evaluate(qc, rc, complex(zeta), co)
    det = j11 * j22 - j12 * j21
    return float(zeta), float((-det / (qc * j12)).real)


@dataclass(frozen=True)
class EdgeResult(Serializable):
    """An edge of the support located by the inverse map zeta(q) (offsets from s_t^2).

    Attributes
    ----------
    offset : float
        The edge as zeta = lambda - s_t^2.
    q, r : float
        The (real) solution at the edge.
    slope : float
        d zeta/dq there, signed (0 at an exact fold; a sign opposite to the gap side's means overshoot).
    relative_slope : float
        |slope| |q| / |offset|: the dimensionless fold residual.
    bracket : tuple of float
        q at the start (gap point) and at the edge.
    residual : float
        Scaled residual of F1 at the edge.
    det_residual : float
        Scaled det J at the edge (0 at the fold).
    fallback : bool
        The bisection for the sign change of det J could not be carried to its end and an earlier point
        of the curve was kept (see ``det_residual`` for how far from the fold it is).
    """

    offset: float
    q: float
    r: float
    slope: float
    relative_slope: float
    bracket: tuple[float, float]
    residual: float
    det_residual: float
    fallback: bool


def find_edge(eq: Equations, zeta_out: float, q_out: complex, r_out: complex, direction: int) -> EdgeResult:
    """Locate the support edge next to a gap point by the inverse map.

    Parameters
    ----------
    eq : Equations
    zeta_out : float
        A real point in a gap of the support, as the offset lambda - s_t^2.
    q_out, r_out : complex
        The (real) solution there.
    direction : {+1, -1}
        +1 if the support lies to the right of ``zeta_out`` (a lower edge), -1 if to the left.

    Returns
    -------
    EdgeResult
        The edge where F1 = 0 and det J = 0 (a fold of the real solution curve).

    Raises
    ------
    SpectrumResolutionError
        If the start is not a gap point (d zeta/dq <= 0) or the continuation stalls or finds no fold.
    """
    co = _check_equations(eq).coefficients()
    q0, r0 = float(np.real(q_out)), float(np.real(r_out))
    z0, slope0 = _zeta_and_slope(co, q0, r0)
    if not slope0 > 0:
        raise SpectrumResolutionError(
            f"edge search started at zeta = {zeta_out} where d zeta/dq = {slope0} <= 0 (not a gap)")
    # follow the real curve F1(q, r) = 0 by pseudo-arclength continuation (in scaled units, so that
    # folds of r(q) are passed) in the direction in which zeta moves towards the support, until
    # zeta turns back: the turning point is the edge
    sq, sr = abs(q0), max(abs(r0), 1e-300)

    def grad_f1(q: float, r: float) -> tuple[float, np.ndarray]:
        f1, _g2, j11, j12, *_ = _kern.evaluate(complex(q), complex(r), 0j, co)
        return f1.real, np.array([j11.real * sq, j12.real * sr])

    def zeta_at(q: float, r: float) -> float:
        return float(_kern.zeta_of(complex(q), complex(r), co).real)

    def project(u: np.ndarray) -> np.ndarray | None:
        """Newton back onto F1 = 0 along the gradient (scaled coordinates)."""
        for _ in range(30):
            f1, g = grad_f1(u[0] * sq, u[1] * sr)
            gg = g @ g
            if not np.isfinite(f1) or gg == 0:
                return None
            step = f1 * g / gg
            u = u - step
            if np.max(np.abs(step)) < 1e-15 * max(1.0, np.max(np.abs(u))):
                return u
        return None

    def fold(v: np.ndarray) -> np.ndarray:
        """(F1, det J) at (q, r) = v, each scaled by the size of its terms."""
        qc, rc = complex(v[0]), complex(v[1])
        zeta = _kern.zeta_of(qc, rc, co).real
        f1, _g2, j11, j12, j21, j22, sc1, sc2, _ = _kern.evaluate(qc, rc, complex(zeta), co)
        det = j11 * j22 - j12 * j21
        return np.array([f1.real / sc1, det.real * abs(qc) * abs(rc) / (sc1 * sc2)])

    def det_at(u: np.ndarray) -> float:
        return float(fold(u * np.array([sq, sr]))[1])

    u_prev = np.array([q0 / sq, r0 / sr])
    _, g0 = grad_f1(q0, r0)
    tangent = np.array([-g0[1], g0[0]]) / np.hypot(*g0)
    # orient the tangent: a small step must move zeta in `direction`
    probe = project(u_prev + 1e-7 * tangent)
    if probe is None or (zeta_at(probe[0] * sq, probe[1] * sr) - z0) * direction < 0:
        tangent = -tangent
    # det J changes sign exactly at the fold of zeta (at a fold of r(q) it does not vanish)
    sign0 = np.sign(det_at(u_prev))
    h = 1e-6
    for _ in range(5000):
        u_new = project(u_prev + h * tangent)
        if u_new is None or np.linalg.norm(u_new - u_prev) > 3 * h:
            h *= 0.5
            if h < 1e-14:
                raise SpectrumResolutionError(f"edge continuation stalled next to zeta = {zeta_out}")
            continue
        if np.sign(det_at(u_new)) != sign0:
            break
        _, g = grad_f1(u_new[0] * sq, u_new[1] * sr)
        new_tangent = np.array([-g[1], g[0]]) / np.hypot(*g)
        tangent = new_tangent if new_tangent @ tangent > 0 else -new_tangent
        u_prev = u_new
        h = min(2.0 * h, 0.05)
    else:
        raise SpectrumResolutionError(f"no fold of zeta(q) found next to zeta = {zeta_out}")

    # bisection along the chord (projected onto the curve) for the sign change of det J
    lo_t, hi_t = 0.0, h
    fallback = False
    for _ in range(80):
        mid = 0.5 * (lo_t + hi_t)
        u_mid = project(u_prev + mid * tangent)
        if u_mid is None:
            # projection fails only for chords far below the curvature scale (nearly degenerate
            # folds): keep the bracket reached so far, and say so
            fallback = True
            break
        if np.sign(det_at(u_mid)) == sign0:
            lo_t = mid
        else:
            hi_t = mid
        if hi_t - lo_t < 1e-15:
            break
    u_star = project(u_prev + 0.5 * (lo_t + hi_t) * tangent)
    if u_star is None:
        fallback = True
        u_star = project(u_prev + lo_t * tangent) if lo_t > 0 else u_prev
    if u_star is None:
        u_star = u_prev
    q_star, r_star = u_star[0] * sq, u_star[1] * sr
    z_star, slope_star = _zeta_and_slope(co, q_star, r_star)
    res_f1, res_det = fold(np.array([q_star, r_star]))
    return EdgeResult(
        offset=z_star, q=float(q_star), r=float(r_star), slope=slope_star,
        relative_slope=float(abs(slope_star) * abs(q_star) / max(abs(z_star), 1e-300)),
        bracket=(float(min(q0, q_star)), float(max(q0, q_star))), residual=float(abs(res_f1)),
        det_residual=float(abs(res_det)), fallback=fallback,
    )


#: a Chebyshev tail above this (not just above ``tol``) is warned about: masses could be off at that level
_WARN_TAIL = 1e-6


def _classify(q: np.ndarray, thresh: float = 1e-10) -> np.ndarray:
    return q.imag > thresh * np.abs(q)


#: fold residual accepted for an edge (|d zeta/dq| |q|/|zeta|): q* is located to ~1e-8 relative, and
#: the slope is linear in that error, so a true fold leaves ~1e-8; 1e-6 leaves a margin of 100
_FOLD_SLOPE = 1e-6


@dataclass(frozen=True)
class _Edge:
    offset: float
    slope: float
    method: str  # "fold", "bisection" or "floor"
    residual: float


def _edge_between(eq: Equations, x_gap: float, q_gap: complex, r_gap: complex, x_in: float) -> _Edge:
    """The edge between a gap point and a support point (offsets): the fold solver, checked.

    The fold must lie in [x_gap, x_in] and be a fold (relative slope below ``_FOLD_SLOPE``, no overshoot
    of the bracket); otherwise the edge is bisected on "Im q(x + i0) > 1e-10 |q|" instead, which is
    slower and, at a square-root edge, accurate to ~1e-20 relative (Im q ~ sqrt(distance)). The edge
    records which method located it and its residual (the fold's relative slope, or the bisection's
    final relative bracket width).
    """
    direction = 1 if x_in > x_gap else -1
    lo_x, hi_x = sorted((x_gap, x_in))
    try:
        e = find_edge(eq, x_gap, q_gap, r_gap, direction)
        inside = lo_x - 1e-12 * abs(lo_x) <= e.offset <= hi_x + 1e-12 * abs(hi_x)
        if inside and e.relative_slope < _FOLD_SLOPE and not e.fallback:
            return _Edge(float(e.offset), float(e.slope), "fold", float(e.relative_slope))
    except SpectrumResolutionError:
        pass
    a, b = float(x_gap), float(x_in)  # a outside, b inside
    for _ in range(400):
        mid = 0.5 * (a + b)
        if mid in (a, b):
            break
        try:
            inside = _classify(_solve_offsets(eq, np.array([mid]))[0])[0]
        except ResolventConvergenceError as exc:
            raise SpectrumResolutionError(
                f"a support edge lies between offsets {lo_x:.3g} and {hi_x:.3g} above s_t^2 = {eq.s2:.3g} "
                f"(v_t^2 = {eq.v2:.3g}), and Theorem 3.1 has no float64 solution at offset {mid:.3g} inside "
                "that bracket: the component is not resolved") from exc
        if inside:
            b = mid
        else:
            a = mid
    mid = 0.5 * (a + b)
    return _Edge(float(mid), math.nan, "bisection", float(abs(b - a) / max(abs(mid), 1e-300)))


# ---------------------------------------------------------------- atoms


def atom_weight_formula(eq: Equations) -> float:
    """Weight of the atom at s_t^2 from the rank of U - s_t^2 I (Gaussian equivalent).

    U - s_t^2 I = G G^T/n + b_t^2 W W^T/d with G = e^{-t} a_t W X/sqrt(d) + v_t Omega:
    its rank is at most n + d (psi_n + 1 per d) when v_t, b_t != 0 (docs/theory.md §5:
    w = 1 - (1 + psi_n)/psi_p when psi_p >= 1 + psi_n); n when b_t = 0; d when
    v_t = 0 (all columns then lie in the range of W); min(n, d (1 - pi_0)) when only a_t is
    nonzero (pi_0 = mass of rho_Sigma at 0).

    Examples
    --------
    >>> atom_weight_formula(Equations(psi_p=64, psi_n=8, a2e=0.3, b2=0.07, v2=0.01, s2=0.01))
    0.859375
    """
    eq = _check_equations(eq)
    has_a, has_b, has_v = eq.a2e > 0, eq.b2 > 0, eq.v2 > 0
    if has_v:
        rank = eq.psi_n + (1.0 if has_b else 0.0)
    elif has_b:
        rank = 1.0
    elif has_a:
        pi0 = float(sum(w for lam, w in zip(eq.data_values, eq.data_weights) if lam == 0.0))
        rank = min(eq.psi_n, 1.0 - pi0)
    else:
        rank = 0.0
    return max(0.0, 1.0 - min(rank, eq.psi_p) / eq.psi_p)


def _atom_weight_limit(eq: Equations, x0: float, gap: float) -> float:
    """lim_{eps -> 0} Re(-i eps q(x0 + i eps)) at the offset x0, extrapolated in eps.

    Near x0 the rest of the spectrum contributes O(eps) (a smooth density or a gap) or
    O(sqrt(eps)) (a 1/sqrt hard edge at x0, as at psi_p = 1 + psi_n): the values at
    eps, eps/4, eps/16 are fitted by w + A sqrt(eps) + B eps. With eps <= 1e-6 * gap
    (distance from x0 to the nearest support edge) the neglected O(eps^2/gap^2) is < 1e-12.
    """
    eps = min(1e-10 * eq.upper_bound, 1e-6 * gap) * np.array([1.0, 0.25, 0.0625])
    q = solve(eq, x0 + 1j * eps, shifted=True).q
    f = (-1j * eps * q).real
    design = np.column_stack([np.ones(3), np.sqrt(eps / eps[0]), eps / eps[0]])
    return float(np.linalg.solve(design, f)[0])


# ---------------------------------------------------------------- components


@dataclass(frozen=True)
class Piece(Serializable):
    """Chebyshev representation of rho on [a, b] (offsets zeta) in the variable theta.

    zeta(theta) = a + (b - a)(1 - cos theta)/2, theta = pi (1 + u)/2, u in [-1, 1], and
    g(u) = rho(zeta(theta)) sin(theta) is smooth on [-1, 1] whether the ends are square-root
    edges or interior points; ``coeffs`` are its Chebyshev coefficients and
    ``antider`` those of its antiderivative (0 at u = -1).
    """

    a: float
    b: float
    coeffs: np.ndarray
    antider: np.ndarray
    tail: float

    @property
    def mass(self) -> float:
        return float(0.25 * np.pi * (self.b - self.a) * cheb.chebval(1.0, self.antider))

    def cumulative(self, x: np.ndarray) -> np.ndarray:
        """Mass of this piece below the offset x."""
        w = np.clip((x - self.a) / (self.b - self.a), 0.0, 1.0)
        theta = np.arccos(np.clip(1.0 - 2.0 * w, -1.0, 1.0))
        inner = 0.25 * np.pi * (self.b - self.a) * cheb.chebval(2.0 * theta / np.pi - 1.0, self.antider)
        return np.where(x <= self.a, 0.0, np.where(x >= self.b, self.mass, inner))


def _lobatto(m: int) -> np.ndarray:
    """Chebyshev–Lobatto points u_j = -cos(j pi / m), ascending."""
    return -np.cos(np.pi * np.arange(m + 1) / m)


class _GapFound(Exception):
    """A sample inside a supposed support interval lies in a gap (a component split in two)."""

    def __init__(self, x: float, q: complex, r: complex) -> None:
        super().__init__(x)
        self.x, self.q, self.r = x, q, r


def _piece(
    eq: Equations, a: float, b: float, tol: float, max_nodes: int, lo: float, hi: float,
    hard_c: float | None = None,
) -> tuple[Piece, np.ndarray, np.ndarray, np.ndarray]:
    """Sample rho on [a, b] (offsets, inside the component [lo, hi]) at doubling Lobatto sets until
    the Chebyshev tail is below tol. Raises _GapFound if a sample away from the component's
    edges lies outside the support. At a hard edge a where rho ~ C/sqrt(zeta - a)
    (``hard_c`` = C), g does not vanish: g(-1) = C sqrt(2/half) since theta ~ sqrt(2 x/half)."""
    half = 0.5 * (b - a)
    guard = 1e-9 * (hi - lo)
    hard_a = hard_c is not None
    g_hard = 0.0 if hard_c is None else hard_c * math.sqrt(2.0 / half)

    def g_at(u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        theta = 0.5 * np.pi * (1.0 + u)
        zeta = a + half * (1.0 - np.cos(theta))
        rho = np.zeros_like(u)
        interior = (u > -1.0) & (u < 1.0)
        q, r = _solve_offsets(eq, zeta[interior])
        out = ~_classify(q) & (zeta[interior] > lo + guard) & (zeta[interior] < hi - guard)
        if np.any(out):
            k = int(np.argmax(out))
            raise _GapFound(float(zeta[interior][k]), q[k], r[k])
        rho[interior] = q.imag / np.pi
        g = rho * np.sin(theta)
        if hard_a:
            g[u == -1.0] = g_hard
            rho[u == -1.0] = np.inf
        return g, rho

    m = 32
    g, rho = g_at(_lobatto(m))
    while True:
        # values at u_j = -cos(j pi/m) -> Chebyshev coefficients by a DCT-I
        coeffs = fft.dct(g, type=1) / m
        coeffs[0] *= 0.5
        coeffs[-1] *= 0.5
        coeffs[1::2] *= -1.0  # u_j = -cos(...) flips the odd polynomials
        scale = np.max(np.abs(coeffs))
        tail = float(np.max(np.abs(coeffs[-max(4, m // 8):])) / scale) if scale > 0 else 0.0
        if tail < tol or 2 * m > max_nodes:
            break
        new_u = -np.cos(np.pi * (2 * np.arange(m) + 1) / (2 * m))
        new_g, new_rho = g_at(new_u)
        g2, rho2 = np.empty(2 * m + 1), np.empty(2 * m + 1)
        g2[0::2], g2[1::2] = g, new_g
        rho2[0::2], rho2[1::2] = rho, new_rho
        g, rho, m = g2, rho2, 2 * m
    zeta = a + half * (1.0 - np.cos(0.5 * np.pi * (1.0 + _lobatto(m))))
    zeta[0], zeta[-1] = a, b
    return Piece(a, b, coeffs, cheb.chebint(coeffs, lbnd=-1.0), tail), zeta, rho, g


@dataclass(frozen=True)
class Component(Serializable):
    """One interval of the continuous spectrum.

    Attributes
    ----------
    lo, hi : float
        Edges as lambda = s_t^2 + offset (rounded to float64).
    offset_lo, offset_hi : float
        Edges as offsets zeta = lambda - s_t^2 (exact; components closer to s_t^2 than the resolution of
        lambda are distinguished only here).
    mass : float
        Integral of rho over the interval.
    lam, density : ndarray
        Samples (lambda, rounded), dense near the edges (edges included, density 0 there).
    offsets : ndarray
        The same samples as offsets zeta.
    pieces : tuple of Piece
        Adaptive Chebyshev representation in zeta (more than one where rho has a sharp
        interior feature, e.g. two components about to merge).
    tail : float
        Worst relative size of the trailing Chebyshev coefficients (convergence).
    """

    lo: float
    hi: float
    offset_lo: float
    offset_hi: float
    mass: float
    lam: np.ndarray
    density: np.ndarray
    offsets: np.ndarray
    pieces: tuple[Piece, ...]
    tail: float

    def cumulative(self, x: np.ndarray, *, shifted: bool = False, s2: float = 0.0) -> np.ndarray:
        """Mass of this component below x (an offset if ``shifted``, else lambda with s_t^2 = ``s2``)."""
        x = np.asarray(x, dtype=np.float64)
        off = x if shifted else x - s2
        return sum((p.cumulative(off) for p in self.pieces), np.zeros_like(off))


def _sample_component(
    eq: Equations, lo: float, hi: float, tol: float, max_nodes: int, hard_lo: bool = False
) -> Component:
    """Adaptive piecewise-Chebyshev sampling (offsets): split a piece at its density minimum until
    resolved."""
    hard_c = None
    if hard_lo:
        # C = lim rho(lo + x) sqrt(x), extrapolated from x = 1e-10 (hi - lo) and x/4 (O(sqrt x) error)
        xs = (hi - lo) * np.array([1e-10, 0.25e-10])
        f = density(eq, lo + xs, shifted=True) * np.sqrt(xs)
        hard_c = float(2.0 * f[1] - f[0])
    todo = [(lo, hi, 0)]
    done: list[tuple[Piece, np.ndarray, np.ndarray]] = []
    per_piece = min(max_nodes, 1024)
    while todo:
        a, b, depth = todo.pop()
        piece, zeta, rho, g_samples = _piece(eq, a, b, tol, per_piece, lo, hi,
                                              hard_c=hard_c if a == lo else None)
        # pieces narrower than ~1e4 ulp of zeta cannot be resolved further in float64
        unresolvable = (b - a) < 1e-12 * max(abs(a), abs(b))
        if piece.tail < tol or unresolvable or depth >= 12 or len(done) + len(todo) >= max_nodes // 64:
            done.append((piece, zeta, rho))
            continue
        # split where the sampled g(theta) = rho sin(theta) changes fastest: a sharp interior
        # feature, or a boundary layer next to an edge (e.g. psi_p = psi_n, where a square-root
        # edge turns into 1/sqrt decay within 1e-10 of it);
        # next to a hard edge (rho ~ 1/sqrt) that point is the edge itself, and pieces below
        # the float resolution would follow: there, split at the density minimum
        if hard_c is None:
            k = int(np.argmax(np.abs(np.diff(g_samples))))
            # at least 1 % from either end, so that every split also shrinks the far piece
            split = min(max(0.5 * (zeta[k] + zeta[k + 1]), a + 0.01 * (b - a)), b - 0.01 * (b - a))
        else:
            split = zeta[1 + int(np.argmin(rho[1:-1]))]
            split = min(max(split, a + 0.05 * (b - a)), b - 0.05 * (b - a))
        if not a < split < b:
            split = 0.5 * (a + b)
        todo += [(a, split, depth + 1), (split, b, depth + 1)]
    done.sort(key=lambda item: item[0].a)
    tail = max(p.tail for p, _, _ in done)
    zeta = np.concatenate([zm if i == 0 else zm[1:] for i, (_, zm, _) in enumerate(done)])
    rho = np.concatenate([r if i == 0 else r[1:] for i, (_, _, r) in enumerate(done)])
    pieces = tuple(p for p, _, _ in done)
    return Component(lo=float(eq.s2 + lo), hi=float(eq.s2 + hi), offset_lo=float(lo), offset_hi=float(hi),
                     mass=float(sum(p.mass for p in pieces)), lam=eq.s2 + zeta, density=rho, offsets=zeta,
                     pieces=pieces, tail=float(tail))


# ---------------------------------------------------------------- result


@dataclass(frozen=True)
class Spectrum(Serializable):
    """Spectrum of U in the proportional limit.

    Attributes
    ----------
    equations : Equations
        The system it is the spectrum of (its parameters).
    atoms : tuple of (location, weight)
        Point masses, weight from lim -i eps q(x0 + i eps).
    atom_weight_formula : float
        Rank-formula weight of the atom at s_t^2 (see :func:`atom_weight_formula`).
    support : tuple of (lo, hi)
        Intervals of the continuous part, ascending, as lambda (Python floats, rounded to float64).
    offsets : tuple of (lo, hi)
        The same intervals as offsets lambda - s_t^2 (exact).
    components : tuple of Component
        Per interval: mass, Chebyshev samples, series.
    lam, density : ndarray
        All samples concatenated (ascending; edges included with density 0).
    edge_slopes : tuple of float
        d zeta/dq at each located edge (signed; ~0 at an exact fold); NaN for a hard edge at s_t^2
        (support reaching the atom location, e.g. psi_p = 1 + psi_n) and for a bisected edge.
    edge_methods : tuple of str
        How each edge was located: "fold" (inverse map), "bisection" (the fold solver failed or
        overshot) or "floor" (the support reaches below the scan floor 1e-15 v_t^2: a hard edge at s_t^2).
    edge_residuals : tuple of float
        Per edge: the fold's relative slope, or the bisection's final relative bracket width.
    total_mass : float
        Atoms plus continuous masses (1 up to quadrature error).
    tail : float
        Worst Chebyshev tail over the components (the density's resolution; ``tol`` was the target).
    tol : float
        The requested Chebyshev tail.
    """

    equations: Equations
    atoms: tuple[tuple[float, float], ...]
    atom_weight_formula: float
    support: tuple[tuple[float, float], ...]
    offsets: tuple[tuple[float, float], ...]
    components: tuple[Component, ...]
    lam: np.ndarray
    density: np.ndarray
    edge_slopes: tuple[float, ...]
    edge_methods: tuple[str, ...]
    edge_residuals: tuple[float, ...]
    total_mass: float
    tail: float
    tol: float

    @property
    def masses(self) -> tuple[float, ...]:
        """Mass of each support interval."""
        return tuple(c.mass for c in self.components)

    @property
    def s2(self) -> float:
        """s_t^2, the origin of the offsets."""
        return float(self.equations.s2)

    @property
    def resolved(self) -> bool:
        """Every component's density resolved to ``tol``."""
        return self.tail < self.tol

    def cdf(self, x: float | Sequence[float] | np.ndarray, *, shifted: bool = False) -> np.ndarray:
        """Cumulative distribution F(x) = mu((-inf, x]) including atoms (right-continuous).

        ``shifted``: x holds offsets lambda - s_t^2 (exact near s_t^2).
        """
        x = real_array("x", x)
        off = x if shifted else x - self.s2
        out = np.zeros_like(x)
        for loc, w in self.atoms:
            out += np.where(off >= loc - self.s2, w, 0.0)
        for comp in self.components:
            out += comp.cumulative(off, shifted=True)
        return out


def _scan_grid(eq: Equations, top: float, n_scan: int) -> np.ndarray:
    """Offsets of the initial scan: log-spaced from 1e-15 of the smallest structural scale (v_t^2, or
    ``top``) to ``top`` at n_scan/(2 * 15) points per decade, and n_scan/2 linear ones."""
    scale_lo = min(top, eq.v2) if eq.v2 > 0 else top
    floor = 1e-15 * scale_lo
    decades = math.log10(top / floor)
    per_decade = max(n_scan / 30.0, 4.0)
    return np.unique(np.concatenate([
        top * np.logspace(-decades, 0.0, math.ceil(decades * per_decade) + 1),
        np.linspace(0.0, top, n_scan // 2 + 1)[1:],
    ]))


def spectrum(
    eq: Equations,
    *,
    n_scan: int = 1200,
    tol: float = 1e-12,
    max_nodes: int = 8192,
) -> Spectrum:
    """Atoms, support intervals with edges, adaptive density samples and CDF of U.

    Parameters
    ----------
    eq : Equations
        The system (``RFModel.equations``).
    n_scan : int
        Controls the initial scan of the real axis: n_scan/30 points per decade of offsets from
        1e-15 v_t^2 up, plus n_scan/2 linear points.
    tol : float
        Relative size of the trailing cosine coefficients at which the sampling of a
        component stops (controls mass and CDF accuracy).
    max_nodes : int
        Cap on samples per component; a component not resolved to ``tol`` within it is reported
        (``Spectrum.tail``, ``Spectrum.resolved``), and warned about once when the tail exceeds 1e-6
        (masses and CDF then possibly off at that level; below it they are still right to ~the tail).

    Raises
    ------
    SpectrumResolutionError
        If the atom weight from the solution disagrees with the rank formula by more than 1e-8 (a
        component was not resolved), or the support reaches the scan limit.

    Examples
    --------
    >>> import rfdiff
    >>> sp = spectrum(rfdiff.RFModel(psi_p=64, psi_n=8, t=0.1).equations)
    >>> [round(w, 4) for _, w in sp.atoms]
    [0.8594]
    >>> len(sp.support)
    3
    >>> abs(sp.total_mass - 1) < 1e-8
    True
    """
    eq = _check_equations(eq)
    if isinstance(n_scan, bool) or int(n_scan) != n_scan or n_scan < 16:
        raise ValueError(f"n_scan must be an integer >= 16, got {n_scan!r}")
    if not (isinstance(tol, (int, float)) and 0 < tol < 1):
        raise ValueError(f"tol must be in (0, 1), got {tol!r}")
    top = 1.1 * eq.upper_bound - eq.s2
    grid = _scan_grid(eq, top, int(n_scan))
    q, r = _solve_offsets(eq, grid)
    inside = _classify(q)
    if inside[-1]:
        raise SpectrumResolutionError(f"support reaches the scan limit {top + eq.s2}: upper bound is wrong")

    # refine gap-gap intervals where q decreases (hidden component or pole) by bisection
    atoms_found: list[float] = []
    extra_x: list[float] = []
    extra_q: list[complex] = []
    extra_r: list[complex] = []
    for i in range(grid.size - 1):
        if inside[i] or inside[i + 1] or not q[i + 1].real < q[i].real:
            continue
        a, b, qa = grid[i], grid[i + 1], q[i].real
        found = False
        for _ in range(200):
            mid = 0.5 * (a + b)
            if mid in (a, b):
                break
            qm, rm = _solve_offsets(eq, np.array([mid]))
            if _classify(qm)[0]:
                extra_x.append(mid)
                extra_q.append(qm[0])
                extra_r.append(rm[0])
                found = True
                break
            if qm[0].real < qa:  # q decreases within [a, mid]
                b = mid
            else:
                a, qa = mid, qm[0].real
        if not found:
            atoms_found.append(0.5 * (a + b))
    if extra_x:
        grid = np.concatenate([grid, extra_x])
        q = np.concatenate([q, extra_q])
        r = np.concatenate([r, extra_r])
        order = np.argsort(grid)
        grid, q, r = grid[order], q[order], r[order]
        inside = _classify(q)

    # edges from each gap/support transition
    support: list[tuple[float, float]] = []
    edges: list[_Edge] = []
    start = None
    for i in range(grid.size):
        if inside[i] and (i == 0 or not inside[i - 1]):
            if i == 0:
                # the support reaches below the scan floor (1e-15 v_t^2 from s_t^2): a hard edge at
                # s_t^2, as when psi_p = 1 + psi_n (the atom has just vanished); U >= s_t^2 I bounds it
                start = 0.0
                edges.append(_Edge(0.0, math.nan, "floor", float(grid[0])))
            else:
                e = _edge_between(eq, grid[i - 1], q[i - 1], r[i - 1], grid[i])
                start = e.offset
                edges.append(e)
        if inside[i] and not inside[i + 1]:
            e = _edge_between(eq, grid[i + 1], q[i + 1], r[i + 1], grid[i])
            support.append((start, e.offset))
            edges.append(e)

    # atoms: the candidate s_t^2 always, plus poles found inside gaps
    atoms: list[tuple[float, float]] = []
    w_formula = atom_weight_formula(eq)
    ends = np.ravel(support) if support else np.array([np.inf])
    for x0 in [0.0, *atoms_found]:
        dist = np.abs(ends - x0)
        gap = float(np.min(dist[dist > 0])) if np.any(dist > 0) else top
        w = _atom_weight_limit(eq, x0, gap)
        if w > 1e-10:
            atoms.append((float(eq.s2 + x0), w))
    w_solution = sum(w for x0, w in atoms if x0 == eq.s2)
    if abs(w_solution - w_formula) > 1e-8:
        raise SpectrumResolutionError(
            f"atom weight at s_t^2 from the solution ({w_solution:.12g}) differs from the rank formula "
            f"{w_formula:.12g} (psi_p={eq.psi_p:g}, psi_n={eq.psi_n:g}, s_t^2={eq.s2:.6g}, "
            f"v_t^2={eq.v2:.3g}): a component next to s_t^2 was not resolved")

    # sample each interval; a sample that falls in a gap the scan missed splits the interval
    comps_list: list[Component] = []
    queue = list(support)
    while queue:
        lo, hi = queue.pop(0)
        try:
            comps_list.append(_sample_component(eq, lo, hi, tol, max_nodes, hard_lo=lo == 0.0))
        except _GapFound as gap:
            inner = 1e-9 * (hi - lo)
            left = _edge_between(eq, gap.x, gap.q, gap.r, lo + inner)
            right = _edge_between(eq, gap.x, gap.q, gap.r, hi - inner)
            edges += [left, right]
            queue = [(lo, left.offset), (right.offset, hi), *queue]
    comps = tuple(sorted(comps_list, key=lambda c: c.offset_lo))
    tail = max((c.tail for c in comps), default=0.0)
    if tail >= _WARN_TAIL:
        worst = max(comps, key=lambda c: c.tail)
        warnings.warn(
            f"spectrum: density on [{worst.lo:.6g}, {worst.hi:.6g}] (offsets [{worst.offset_lo:.3g}, "
            f"{worst.offset_hi:.3g}]) resolved only to a Chebyshev tail {tail:.2e} (target {tol:g}); its "
            "mass and CDF may be off at that level (Spectrum.tail)", RuntimeWarning, stacklevel=2)
    lam = np.concatenate([c.lam for c in comps]) if comps else np.empty(0)
    dens = np.concatenate([c.density for c in comps]) if comps else np.empty(0)
    for arr in (lam, dens, *[a for c in comps for a in (c.lam, c.density, c.offsets)]):
        arr.setflags(write=False)  # the default spectrum is cached on the model and shared
    total = sum(w for _, w in atoms) + sum(c.mass for c in comps)
    edges_sorted = sorted(edges, key=lambda e: e.offset)
    return Spectrum(
        equations=eq, atoms=tuple(atoms), atom_weight_formula=w_formula,
        support=tuple((c.lo, c.hi) for c in comps), offsets=tuple((c.offset_lo, c.offset_hi) for c in comps),
        components=comps, lam=lam, density=dens, edge_slopes=tuple(e.slope for e in edges_sorted),
        edge_methods=tuple(e.method for e in edges_sorted),
        edge_residuals=tuple(e.residual for e in edges_sorted), total_mass=float(total), tail=float(tail),
        tol=float(tol),
    )


# ---------------------------------------------------------------- asymptotic forms (Theorem 3.2)


def marchenko_pastur_density(x: np.ndarray, ratio: float) -> np.ndarray:
    """Continuous part of the Marchenko–Pastur law of ratio c, normalised to 1.

    Eigenvalues of Omega Omega^T / n with Omega of size p x n, c = p/n: support
    [(1 - sqrt c)^2, (1 + sqrt c)^2], density sqrt((b - x)(x - a)) / (2 pi min(c, 1) x),
    i.e. the non-zero eigenvalues as a probability density.

    Examples
    --------
    >>> x = np.linspace(0.0, 4.0, 40001)
    >>> round(float(np.trapezoid(marchenko_pastur_density(x, 0.5), x)), 4)
    1.0
    """
    x = np.asarray(x, dtype=np.float64)
    lo, hi = (1 - math.sqrt(ratio)) ** 2, (1 + math.sqrt(ratio)) ** 2
    inside = (x > lo) & (x < hi)
    out = np.zeros_like(x)
    xi = x[inside]
    out[inside] = np.sqrt((hi - xi) * (xi - lo)) / (2 * np.pi * min(ratio, 1.0) * xi)
    return out


def rho1_edges(eq: Equations) -> tuple[float, float]:
    """Asymptotic support of rho_1: s_t^2 + v_t^2 (1 -+ sqrt(psi_p/psi_n))^2 (Theorem 3.2).

    Examples
    --------
    >>> import rfdiff
    >>> lo, hi = rho1_edges(rfdiff.RFModel(psi_p=64, psi_n=8, t=0.1).equations)
    >>> round(lo, 4), round(hi, 4)
    (0.0598, 0.2164)
    """
    eq = _check_equations(eq)
    root = math.sqrt(eq.psi_p / eq.psi_n)
    return eq.s2 + eq.v2 * (1 - root) ** 2, eq.s2 + eq.v2 * (1 + root) ** 2


def rho1_asymptotic(eq: Equations, lam: float | Sequence[float] | np.ndarray) -> np.ndarray:
    """rho_1 of Theorem 3.2 (normalised): s_t^2 + v_t^2 x Marchenko–Pastur of ratio psi_p/psi_n.

    Examples
    --------
    >>> import rfdiff
    >>> eq = rfdiff.RFModel(psi_p=64, psi_n=8, t=0.1).equations
    >>> lo, hi = rho1_edges(eq)
    >>> x = np.linspace(lo, hi, 20001)
    >>> round(float(np.trapezoid(rho1_asymptotic(eq, x), x)), 3)
    1.0
    """
    eq = _check_equations(eq)
    lam = real_array("lam", lam)
    return marchenko_pastur_density((lam - eq.s2) / eq.v2, eq.psi_p / eq.psi_n) / eq.v2


def _bai_silverstein(zp: complex, psi: float, mu: np.ndarray, pi: np.ndarray) -> tuple[complex, bool]:
    """q_2 at z' = z - mu_*^2 (Im z' > 0): continuation from large Im z' with Newton on
    q h + 1 = 0, h = z' - sum pi mu/(1 + psi q mu); every accepted step converged (|step| <= 1e-14 |q|)
    and Herglotz (Im q >= 0)."""
    scale = float(psi * mu.max() * 4 + abs(zp))
    ys = [zp.imag] if zp.imag >= scale else [*np.geomspace(scale, zp.imag, 60)]
    qv = -1.0 / complex(zp.real, ys[0])
    for y in ys:
        zz = complex(zp.real, y)
        ok = False
        for _ in range(100):
            den = 1 + psi * qv * mu
            h = zz - np.sum(pi * mu / den)
            f = qv * h + 1.0
            step = f / (h + qv * np.sum(pi * mu * mu * psi / den**2))
            qv -= step
            if abs(step) <= 1e-14 * abs(qv):
                ok = True
                break
        if not ok or qv.imag < -16 * np.finfo(float).eps * abs(qv) or not np.isfinite(abs(qv)):
            return qv, False
    return qv, True


def rho2_stieltjes(eq: Equations, constants: Constants,
                   z: complex | Sequence[complex] | np.ndarray) -> np.ndarray:
    """Stieltjes transform q_2 of the population matrix U~ (Theorem 3.2, Bai–Silverstein form).

    q_2 = -(z' - sum_k pi_k mu_k / (1 + psi_p q_2 mu_k))^{-1}, z' = z - mu_*^2, with mu_k the
    eigenvalues of (mu_1^2 / Gamma_t^2) Sigma_t: q_2 is (1/p) Tr (U~ - z)^{-1} for
    U~ = (mu_1^2/Gamma_t^2) W Sigma_t W^T/d + mu_*^2 I (docs/theory.md §3.3). For psi_p > 1 it has
    an atom 1 - 1/psi_p at mu_*^2; its continuous part, normalised, is rho_2. Solved by
    Newton with continuation from large Im z, each step checked for convergence and the Herglotz sign;
    Im z > 0 required.

    Raises
    ------
    ResolventConvergenceError
        At the z where the continuation fails.

    Examples
    --------
    >>> import rfdiff
    >>> m = rfdiff.RFModel(psi_p=64, psi_n=8, t=0.1)
    >>> q2 = rho2_stieltjes(m.equations, m.constants, 1e6j)
    >>> bool(abs(q2 * 1e6j + 1) < 1e-5)
    True
    """
    eq = _check_equations(eq)
    zarr = np.asarray(z, dtype=np.complex128)
    if np.any(zarr.imag <= 0) or not np.all(np.isfinite(zarr)):
        raise ValueError("z must be finite with Im z > 0 for rho2_stieltjes")
    c = constants
    mu = (c.mu1**2 / c.gamma2) * (math.exp(-2 * c.t) * eq.lam + c.delta)
    flat = zarr.ravel()
    out = np.empty_like(flat)
    bad = []
    for i, zi in enumerate(flat - c.mustar2):
        out[i], ok = _bai_silverstein(complex(zi), eq.psi_p, mu, eq.pi)
        if not ok:
            bad.append(flat[i])
    if bad:
        raise ResolventConvergenceError(
            f"rho2_stieltjes: Newton continuation failed at {len(bad)} of {flat.size} points "
            f"(first: z = {bad[0]})",
            np.array(bad))
    return out.reshape(zarr.shape)


def rho2_density(eq: Equations, constants: Constants, lam: float | Sequence[float] | np.ndarray,
                 eps: float = 1e-10) -> np.ndarray:
    """rho_2 of Theorem 3.2 (normalised to 1): continuous part of :func:`rho2_stieltjes`.

    The continuous part of the spectrum of U~ has mass min(1, 1/psi_p); it is read at
    lam + i eps and divided by that mass.
    """
    lam = real_array("lam", lam)
    return rho2_stieltjes(eq, constants, lam + 1j * eps).imag / (np.pi * min(1.0, 1.0 / eq.psi_p))
