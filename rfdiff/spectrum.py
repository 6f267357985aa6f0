"""Spectrum of U: density, atoms, support intervals and their edges, CDF (docs/theory.md §4–§5).

* The continuous density is rho(lambda) = Im q(lambda + i0) / pi, with q solved
  exactly on the real axis (:mod:`rfdiff.resolvent`), so atoms contribute no
  Lorentzian tail to it.
* Support intervals are found by a scan of the real axis (with bisection where
  q decreases between two gap points: in a gap q is real and increasing, so a
  decrease means a hidden component or a pole), and each edge is then located
  by the inverse map: on the real-q curve F1(q, r) = 0 the last equation gives
  z(q) explicitly, and an edge is a critical point dz/dq = 0 of it
  (a square-root point of q(z)). Since z is stationary there, the edge value
  is accurate to rounding even if q* is only known to ~1e-8.
* Atoms: weight w = lim_{eps -> 0} (-i eps) q(x0 + i eps) (Richardson
  extrapolated), checked against the rank formula
  w = max(0, 1 - rank(U - s_t^2 I)/p) of the Gaussian-equivalent U.
* Each component is sampled in theta, lambda = lo + (hi - lo)(1 - cos theta)/2, at
  Chebyshev points of theta (so doubly dense near the edges); rho(lambda(theta)) sin(theta)
  is smooth on [0, pi] at square-root edges, so its Chebyshev series gives the mass and
  the CDF with spectral accuracy. A sharp interior feature (two components about to
  merge) is handled by splitting the interval at the density minimum.

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

from .errors import SpectrumResolutionError
from .io import Serializable
from .resolvent import Equations, _eval, solve

if TYPE_CHECKING:  # pragma: no cover
    from .model import RFModel

__all__ = [
    "Component",
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


def _equations(model_or_eq: RFModel | Equations) -> Equations:
    return model_or_eq if isinstance(model_or_eq, Equations) else model_or_eq.equations


def _real_array(name: str, values: float | Sequence[float] | np.ndarray) -> np.ndarray:
    arr = np.asarray(values)
    if np.iscomplexobj(arr):
        raise ValueError(f"{name} must be real, got complex values")
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite (got NaN or inf)")
    return arr


def density(model: RFModel | Equations, lam: float | Sequence[float] | np.ndarray) -> np.ndarray:
    """Continuous part of the spectral density of U at real ``lam``.

    rho(lambda) = Im q(lambda + i0) / pi with q solved on the real axis itself,
    so point masses (atoms) do not leak into it. Same shape as ``lam``.

    Examples
    --------
    >>> import rfdiff
    >>> m = rfdiff.RFModel(psi_p=64, psi_n=8, t=0.01)
    >>> rho = m.density([0.005, 0.2, 20.0])
    >>> bool(np.all(rho > 0))
    True
    """
    lam = _real_array("lam", lam)
    res = solve(_equations(model), lam.astype(np.complex128))
    return res.q.imag / np.pi


# ---------------------------------------------------------------- real-axis helpers


def _r_of_q(eq_args: tuple, q: float, r0: float, tol: float = 1e-15) -> float | None:
    """Solve F1(q, r) = 0 for real r by Newton from r0 (F1 does not involve z)."""
    r = complex(r0)
    qc = complex(q)
    for _ in range(60):
        f1, _g2, _j11, j12, *_ = _eval(qc, r, 0j, *eq_args)
        if j12 == 0 or not np.isfinite(abs(f1)):
            return None
        step = f1 / j12
        r = complex((r - step).real, 0.0)
        if abs(step) <= tol * max(abs(r), 1e-300):
            return r.real
    return None


def _z_and_slope(eq_args: tuple, s2: float, q: float, r: float) -> tuple[float, float]:
    """z(q, r) from the last equation, and dz/dq along F1 = 0 (= -det J / (q J12))."""
    qc, rc = complex(q), complex(r)
    g2_0 = _eval(qc, rc, complex(s2), *eq_args)[1]  # G2 at z = s2
    z = s2 + (g2_0 / qc).real
    _f1, _g2, j11, j12, j21, j22, *_ = _eval(qc, rc, complex(z), *eq_args)
    det = j11 * j22 - j12 * j21
    return z, float((-det / (qc * j12)).real)


@dataclass(frozen=True)
class EdgeResult:
    """An edge of the support located by the inverse map z(q)."""

    location: float
    q: float
    r: float
    slope: float
    bracket: tuple[float, float]
    residual: float


def find_edge(eq: Equations, x_out: float, q_out: complex, r_out: complex, direction: int) -> EdgeResult:
    """Locate the support edge next to a gap point by the inverse map.

    Parameters
    ----------
    eq : Equations
    x_out : float
        A real point in a gap of the support.
    q_out, r_out : complex
        The (real) solution there.
    direction : {+1, -1}
        +1 if the support lies to the right of ``x_out`` (a lower edge), -1 if to the left.

    Returns
    -------
    EdgeResult
        The edge location z(q*, r*) where F1 = 0 and det J = 0 (a fold of the
        real solution curve; ``residual`` is the scaled max of both).
    """
    args = eq._args()[1:]
    q0, r0 = float(np.real(q_out)), float(np.real(r_out))
    z0, slope0 = _z_and_slope(args, eq.s2, q0, r0)
    if not slope0 > 0:
        raise RuntimeError(f"edge search started at x = {x_out} where dz/dq = {slope0} <= 0 (not a gap)")
    # follow the real curve F1(q, r) = 0 by pseudo-arclength continuation (in scaled units,
    # so that folds of r(q) are passed) in the direction in which z moves towards the
    # support, until z turns back: the turning point is the edge
    sq, sr = abs(q0), max(abs(r0), 1e-300)

    def grad_f1(q: float, r: float) -> tuple[float, np.ndarray]:
        f1, _g2, j11, j12, *_ = _eval(complex(q), complex(r), 0j, *args)
        return f1.real, np.array([j11.real * sq, j12.real * sr])

    def z_of(q: float, r: float) -> float:
        return eq.s2 + (_eval(complex(q), complex(r), complex(eq.s2), *args)[1] / q).real

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

    u_prev = np.array([q0 / sq, r0 / sr])
    _, g0 = grad_f1(q0, r0)
    tangent = np.array([-g0[1], g0[0]]) / np.hypot(*g0)
    # orient the tangent: a small step must move z in `direction`
    probe = project(u_prev + 1e-7 * tangent)
    if probe is None or (z_of(probe[0] * sq, probe[1] * sr) - z0) * direction < 0:
        tangent = -tangent
    def fold(v: np.ndarray) -> np.ndarray:
        """(F1, det J) at (q, r) = v, each scaled by the size of its terms."""
        qc, rc = complex(v[0]), complex(v[1])
        z = eq.s2 + (_eval(qc, rc, complex(eq.s2), *args)[1] / qc).real
        f1, _g2, j11, j12, j21, j22, sc1, sc2, _ = _eval(qc, rc, complex(z), *args)
        det = j11 * j22 - j12 * j21
        return np.array([f1.real / sc1, det.real * abs(qc) * abs(rc) / (sc1 * sc2)])

    def det_at(u: np.ndarray) -> float:
        return float(fold(u * np.array([sq, sr]))[1])

    # det J changes sign exactly at the fold of z (at a fold of r(q) it does not vanish)
    sign0 = np.sign(det_at(u_prev))
    h = 1e-6
    for _ in range(5000):
        u_new = project(u_prev + h * tangent)
        if u_new is None or np.linalg.norm(u_new - u_prev) > 3 * h:
            h *= 0.5
            if h < 1e-14:
                raise RuntimeError(f"curve continuation stalled next to x = {x_out}")
            continue
        if np.sign(det_at(u_new)) != sign0:
            break
        _, g = grad_f1(u_new[0] * sq, u_new[1] * sr)
        new_tangent = np.array([-g[1], g[0]]) / np.hypot(*g)
        tangent = new_tangent if new_tangent @ tangent > 0 else -new_tangent
        u_prev = u_new
        h = min(2.0 * h, 0.05)
    else:
        raise RuntimeError(f"no fold of z(q) found next to x = {x_out}")

    # bisection along the chord (projected onto the curve) for the sign change of det J
    lo_t, hi_t = 0.0, h
    for _ in range(80):
        mid = 0.5 * (lo_t + hi_t)
        u_mid = project(u_prev + mid * tangent)
        if u_mid is None:
            # projection fails only for chords far below the curvature scale (nearly degenerate
            # folds, e.g. psi_p = psi_n at large t): keep the bracket reached so far
            break
        if np.sign(det_at(u_mid)) == sign0:
            lo_t = mid
        else:
            hi_t = mid
        if hi_t - lo_t < 1e-15:
            break
    u_star = project(u_prev + 0.5 * (lo_t + hi_t) * tangent)
    if u_star is None:
        u_star = project(u_prev + lo_t * tangent) if lo_t > 0 else u_prev
    if u_star is None:
        u_star = u_prev
    q_star, r_star = u_star[0] * sq, u_star[1] * sr
    z_star, slope_star = _z_and_slope(args, eq.s2, q_star, r_star)
    bracket = tuple(sorted((q0, q_star)))
    return EdgeResult(location=z_star, q=q_star, r=r_star, slope=slope_star, bracket=bracket,
                      residual=float(abs(fold(np.array([q_star, r_star]))[0])))


def _edge_between(
    eq: Equations, x_gap: float, q_gap: complex, r_gap: complex, x_in: float
) -> tuple[float, float]:
    """The edge between a gap point and a support point: the fold solver, checked.

    The fold must lie in [x_gap, x_in]. In nearly degenerate settings (psi_p ~ psi_n at large t,
    where v_t^2 ~ 1e-8 makes the low components extremely narrow) the continuation can fail or
    land elsewhere; then the edge is bisected on "Im q(x + i0) > 1e-10 |q|" instead, which is
    slower and, at a square-root edge, accurate to ~1e-20 relative (Im q ~ sqrt(distance)).
    Returns (location, |dz/dq|), the latter NaN for a bisected edge.
    """
    direction = 1 if x_in > x_gap else -1
    lo_x, hi_x = sorted((x_gap, x_in))
    try:
        e = find_edge(eq, x_gap, q_gap, r_gap, direction)
        if lo_x - 1e-12 * abs(lo_x) <= e.location <= hi_x + 1e-12 * abs(hi_x):
            return e.location, abs(e.slope)
    except RuntimeError:
        pass
    a, b = x_gap, x_in  # a outside, b inside
    for _ in range(200):
        mid = 0.5 * (a + b)
        if mid in (a, b):
            break
        if _classify(solve(eq, np.array([mid + 0j])).q)[0]:
            b = mid
        else:
            a = mid
    return 0.5 * (a + b), float("nan")


# ---------------------------------------------------------------- atoms


def atom_weight_formula(eq: Equations) -> float:
    """Weight of the atom at s_t^2 from the rank of U - s_t^2 I (Gaussian equivalent).

    U - s_t^2 I = G G^T/n + b_t^2 W W^T/d with G = e^{-t} a_t W X/sqrt(d) + v_t Omega:
    its rank is at most n + d (psi_n + 1 per d) when v_t, b_t != 0 (docs/theory.md §5.1:
    w = 1 - (1 + psi_n)/psi_p when psi_p >= 1 + psi_n); n when b_t = 0; d when
    v_t = 0 (all columns then lie in the range of W); min(n, d (1 - pi_0)) when only a_t is
    nonzero (pi_0 = mass of rho_Sigma at 0).
    """
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
    """lim_{eps -> 0} Re(-i eps q(x0 + i eps)), extrapolated in eps.

    Near x0 the rest of the spectrum contributes O(eps) (a smooth density or a gap) or
    O(sqrt(eps)) (a 1/sqrt hard edge at x0, as at psi_p = 1 + psi_n): the values at
    eps, eps/4, eps/16 are fitted by w + A sqrt(eps) + B eps. With eps <= 1e-6 * gap
    (distance from x0 to the nearest support edge) the neglected O(eps^2/gap^2) is < 1e-12.
    """
    eps = min(1e-10 * eq.upper_bound, 1e-6 * gap) * np.array([1.0, 0.25, 0.0625])
    q = solve(eq, x0 + 1j * eps).q
    f = (-1j * eps * q).real
    design = np.column_stack([np.ones(3), np.sqrt(eps / eps[0]), eps / eps[0]])
    return float(np.linalg.solve(design, f)[0])


# ---------------------------------------------------------------- components


@dataclass(frozen=True)
class Piece(Serializable):
    """Chebyshev representation of rho on [a, b] in the variable theta.

    lambda(theta) = a + (b - a)(1 - cos theta)/2, theta = pi (1 + u)/2, u in [-1, 1], and
    g(u) = rho(lambda(theta)) sin(theta) is smooth on [-1, 1] whether the ends are square-root
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
        """Mass of this piece below x."""
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
    """Sample rho on [a, b] (inside the component [lo, hi]) at doubling Lobatto sets until
    the Chebyshev tail is below tol. Raises _GapFound if a sample away from the component's
    edges lies outside the support. At a hard edge a where rho ~ C/sqrt(lambda - a)
    (``hard_c`` = C), g does not vanish: g(-1) = C sqrt(2/half) since theta ~ sqrt(2 x/half)."""
    half = 0.5 * (b - a)
    guard = 1e-9 * (hi - lo)
    hard_a = hard_c is not None
    g_hard = 0.0 if hard_c is None else hard_c * math.sqrt(2.0 / half)

    def g_at(u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        theta = 0.5 * np.pi * (1.0 + u)
        lam = a + half * (1.0 - np.cos(theta))
        rho = np.zeros_like(u)
        interior = (u > -1.0) & (u < 1.0)
        res = solve(eq, lam[interior].astype(np.complex128))
        out = ~_classify(res.q) & (lam[interior] > lo + guard) & (lam[interior] < hi - guard)
        if np.any(out):
            k = int(np.argmax(out))
            raise _GapFound(float(lam[interior][k]), res.q[k], res.r[k])
        rho[interior] = res.q.imag / np.pi
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
    lam = a + half * (1.0 - np.cos(0.5 * np.pi * (1.0 + _lobatto(m))))
    lam[0], lam[-1] = a, b
    return Piece(a, b, coeffs, cheb.chebint(coeffs, lbnd=-1.0), tail), lam, rho, g


@dataclass(frozen=True)
class Component(Serializable):
    """One interval [lo, hi] of the continuous spectrum.

    Attributes
    ----------
    lo, hi : float
        Edges.
    mass : float
        Integral of rho over [lo, hi].
    lam, density : ndarray
        Samples, dense near the edges (edges included, density 0 there).
    pieces : tuple of Piece
        Adaptive Chebyshev representation (more than one where rho has a sharp
        interior feature, e.g. two components about to merge).
    tail : float
        Worst relative size of the trailing Chebyshev coefficients (convergence).
    """

    lo: float
    hi: float
    mass: float
    lam: np.ndarray
    density: np.ndarray
    pieces: tuple[Piece, ...]
    tail: float

    def cumulative(self, x: np.ndarray) -> np.ndarray:
        """Mass of this component below x."""
        x = np.asarray(x, dtype=np.float64)
        return sum((p.cumulative(x) for p in self.pieces), np.zeros_like(x))


def _sample_component(
    eq: Equations, lo: float, hi: float, tol: float, max_nodes: int, hard_lo: bool = False
) -> Component:
    """Adaptive piecewise-Chebyshev sampling: split a piece at its density minimum until resolved."""
    hard_c = None
    if hard_lo:
        # C = lim rho(lo + x) sqrt(x), extrapolated from x = 1e-10 (hi - lo) and x/4 (O(sqrt x) error)
        xs = (hi - lo) * np.array([1e-10, 0.25e-10])
        f = density(eq, lo + xs) * np.sqrt(xs)
        hard_c = float(2.0 * f[1] - f[0])
    todo = [(lo, hi, 0)]
    done: list[tuple[Piece, np.ndarray, np.ndarray]] = []
    per_piece = min(max_nodes, 1024)
    while todo:
        a, b, depth = todo.pop()
        piece, lam, rho, g_samples = _piece(eq, a, b, tol, per_piece, lo, hi,
                                             hard_c=hard_c if a == lo else None)
        # pieces narrower than ~1e4 ulp of lambda cannot be resolved further in float64
        unresolvable = (b - a) < 1e-12 * max(abs(a), abs(b))
        if piece.tail < tol or unresolvable or depth >= 12 or len(done) + len(todo) >= max_nodes // 64:
            done.append((piece, lam, rho))
            continue
        # split where the sampled g(theta) = rho sin(theta) changes fastest: a sharp interior
        # feature, or a boundary layer next to an edge (e.g. psi_p = psi_n, where a square-root
        # edge turns into 1/sqrt decay within 1e-10 of it)
        # next to a hard edge (rho ~ 1/sqrt) that point is the edge itself, and pieces below
        # the float resolution of lambda would follow: there, split at the density minimum
        if hard_c is None:
            k = int(np.argmax(np.abs(np.diff(g_samples))))
            # at least 1 % from either end, so that every split also shrinks the far piece
            split = min(max(0.5 * (lam[k] + lam[k + 1]), a + 0.01 * (b - a)), b - 0.01 * (b - a))
        else:
            split = lam[1 + int(np.argmin(rho[1:-1]))]
            split = min(max(split, a + 0.05 * (b - a)), b - 0.05 * (b - a))
        if not a < split < b:
            split = 0.5 * (a + b)
        todo += [(a, split, depth + 1), (split, b, depth + 1)]
    done.sort(key=lambda item: item[0].a)
    tail = max(p.tail for p, _, _ in done)
    if tail >= tol:
        warnings.warn(
            f"density on [{lo:.6g}, {hi:.6g}] not resolved to {tol:g} (Chebyshev tail {tail:.2e}); "
            "its mass and CDF are less accurate",
            RuntimeWarning, stacklevel=3,
        )
    lam = np.concatenate([lm if i == 0 else lm[1:] for i, (_, lm, _) in enumerate(done)])
    rho = np.concatenate([r if i == 0 else r[1:] for i, (_, _, r) in enumerate(done)])
    pieces = tuple(p for p, _, _ in done)
    return Component(lo=lo, hi=hi, mass=float(sum(p.mass for p in pieces)), lam=lam, density=rho,
                     pieces=pieces, tail=tail)


# ---------------------------------------------------------------- result


@dataclass(frozen=True)
class Spectrum(Serializable):
    """Spectrum of U in the proportional limit.

    Attributes
    ----------
    atoms : tuple of (location, weight)
        Point masses, weight from lim -i eps q(x0 + i eps).
    atom_weight_formula : float
        Rank-formula weight of the atom at s_t^2 (see :func:`atom_weight_formula`).
    support : tuple of (lo, hi)
        Intervals of the continuous part, ascending.
    components : tuple of Component
        Per interval: mass, Chebyshev samples, series.
    lam, density : ndarray
        All samples concatenated (ascending; edges included with density 0).
    edge_slopes : tuple of float
        |dz/dq| at each located edge (0 at an exact fold; the edge residual); NaN for a
        hard edge at s_t^2 (support reaching the atom location, e.g. psi_p = 1 + psi_n) and
        for an edge located by the bisection fallback of nearly degenerate settings.
    total_mass : float
        Atoms plus continuous masses (1 up to quadrature error).
    """

    atoms: tuple[tuple[float, float], ...]
    atom_weight_formula: float
    support: tuple[tuple[float, float], ...]
    components: tuple[Component, ...]
    lam: np.ndarray
    density: np.ndarray
    edge_slopes: tuple[float, ...]
    total_mass: float

    @property
    def masses(self) -> tuple[float, ...]:
        """Mass of each support interval."""
        return tuple(c.mass for c in self.components)

    def cdf(self, x: float | Sequence[float] | np.ndarray) -> np.ndarray:
        """Cumulative distribution F(x) = mu((-inf, x]) including atoms (right-continuous)."""
        x = _real_array("x", x)
        out = np.zeros_like(x)
        for loc, w in self.atoms:
            out += np.where(x >= loc, w, 0.0)
        for comp in self.components:
            out += comp.cumulative(x)
        return out


def _classify(q: np.ndarray, thresh: float = 1e-10) -> np.ndarray:
    return q.imag > thresh * np.abs(q)


def spectrum(
    model: RFModel | Equations,
    *,
    n_scan: int = 1200,
    tol: float = 1e-12,
    max_nodes: int = 8192,
) -> Spectrum:
    """Atoms, support intervals with edges, adaptive density samples and CDF of U.

    Parameters
    ----------
    model : RFModel or Equations
    n_scan : int
        Real-axis points of the initial scan (log-spaced near s_t^2 and linear).
    tol : float
        Relative size of the trailing cosine coefficients at which the sampling of a
        component stops (controls mass and CDF accuracy).
    max_nodes : int
        Cap on samples per component.

    Examples
    --------
    >>> import rfdiff
    >>> sp = rfdiff.RFModel(psi_p=64, psi_n=8, t=0.1).spectrum()
    >>> [round(w, 4) for _, w in sp.atoms]
    [0.8594]
    >>> len(sp.support)
    3
    >>> abs(sp.total_mass - 1) < 1e-8
    True
    """
    eq = _equations(model)
    if n_scan < 16:
        raise ValueError(f"n_scan must be >= 16, got {n_scan}")
    top = 1.1 * eq.upper_bound
    s2 = eq.s2
    span = top - s2
    grid = np.unique(np.concatenate([
        s2 + span * np.logspace(-15, 0, n_scan // 2),
        np.linspace(s2, top, n_scan // 2 + 1)[1:],
    ]))
    res = solve(eq, grid.astype(np.complex128))
    q, r = res.q, res.r
    inside = _classify(q)
    if inside[-1]:
        raise SpectrumResolutionError(f"support reaches the scan limit {top}: upper bound is wrong")

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
        for _ in range(80):
            mid = 0.5 * (a + b)
            sol = solve(eq, np.array([mid + 0j]))
            qm = sol.q[0]
            if _classify(np.array([qm]))[0]:
                extra_x.append(mid)
                extra_q.append(qm)
                extra_r.append(sol.r[0])
                found = True
                break
            if qm.real < qa:  # q decreases within [a, mid]
                b = mid
            else:
                a, qa = mid, qm.real
            if b - a < 1e-13 * max(abs(mid), span):
                break
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
    slopes: list[float] = []
    start = None
    for i in range(grid.size):
        if inside[i] and (i == 0 or not inside[i - 1]):
            if i == 0:
                # the support reaches down to s_t^2 (within 1e-15): a hard edge there, as when
                # psi_p = 1 + psi_n (the atom has just vanished). U >= s_t^2 I bounds it below.
                start = s2
                slopes.append(float("nan"))
            else:
                start, slope = _edge_between(eq, grid[i - 1], q[i - 1], r[i - 1], grid[i])
                slopes.append(slope)
        if inside[i] and not inside[i + 1]:
            end, slope = _edge_between(eq, grid[i + 1], q[i + 1], r[i + 1], grid[i])
            support.append((start, end))
            slopes.append(slope)

    # atoms: the candidate s_t^2 always, plus poles found inside gaps
    atoms: list[tuple[float, float]] = []
    w_formula = atom_weight_formula(eq)
    edges = np.ravel(support) if support else np.array([np.inf])
    for x0 in [s2, *atoms_found]:
        gaps = np.abs(edges - x0)
        gap = float(np.min(gaps[gaps > 0])) if np.any(gaps > 0) else span
        w = _atom_weight_limit(eq, x0, gap)
        if w > 1e-10:
            atoms.append((x0, w))
    if abs(sum(w for x0, w in atoms if x0 == s2) - w_formula) > 1e-8:
        warnings.warn(
            f"atom weight at s_t^2 from the solution ({atoms}) differs from the rank formula "
            f"{w_formula:.12g}", RuntimeWarning, stacklevel=2,
        )

    # sample each interval; a sample that falls in a gap the scan missed splits the interval
    comps_list: list[Component] = []
    queue = list(support)
    while queue:
        lo, hi = queue.pop(0)
        try:
            comps_list.append(_sample_component(eq, lo, hi, tol, max_nodes, hard_lo=lo == s2))
        except _GapFound as gap:
            inner = 1e-9 * (hi - lo)
            left, s_left = _edge_between(eq, gap.x, gap.q, gap.r, lo + inner)
            right, s_right = _edge_between(eq, gap.x, gap.q, gap.r, hi - inner)
            slopes += [s_left, s_right]
            queue = [(lo, left), (right, hi), *queue]
    comps = tuple(sorted(comps_list, key=lambda c: c.lo))
    support = [(c.lo, c.hi) for c in comps]
    lam = np.concatenate([c.lam for c in comps]) if comps else np.empty(0)
    dens = np.concatenate([c.density for c in comps]) if comps else np.empty(0)
    for arr in (lam, dens, *[a for c in comps for a in (c.lam, c.density)]):
        arr.setflags(write=False)  # the default spectrum is cached on the model and shared
    total = sum(w for _, w in atoms) + sum(c.mass for c in comps)
    return Spectrum(
        atoms=tuple(atoms), atom_weight_formula=w_formula, support=tuple(support), components=comps,
        lam=lam, density=dens, edge_slopes=tuple(slopes), total_mass=float(total),
    )


# ---------------------------------------------------------------- asymptotic forms (Theorem 3.2)


def marchenko_pastur_density(x: np.ndarray, ratio: float) -> np.ndarray:
    """Continuous part of the Marchenko–Pastur law of ratio c, normalised to 1.

    Eigenvalues of Omega Omega^T / n with Omega of size p x n, c = p/n: support
    [(1 - sqrt c)^2, (1 + sqrt c)^2], density sqrt((b - x)(x - a)) / (2 pi min(c, 1) x),
    i.e. the non-zero eigenvalues as a probability density.
    """
    x = np.asarray(x, dtype=np.float64)
    lo, hi = (1 - math.sqrt(ratio)) ** 2, (1 + math.sqrt(ratio)) ** 2
    inside = (x > lo) & (x < hi)
    out = np.zeros_like(x)
    xi = x[inside]
    out[inside] = np.sqrt((hi - xi) * (xi - lo)) / (2 * np.pi * min(ratio, 1.0) * xi)
    return out


def rho1_edges(model: RFModel) -> tuple[float, float]:
    """Asymptotic support of rho_1: s_t^2 + v_t^2 (1 -+ sqrt(psi_p/psi_n))^2 (Theorem 3.2)."""
    c = model.constants
    root = math.sqrt(model.psi_p / model.psi_n)
    return c.s2 + c.v2 * (1 - root) ** 2, c.s2 + c.v2 * (1 + root) ** 2


def rho1_asymptotic(model: RFModel, lam: float | Sequence[float] | np.ndarray) -> np.ndarray:
    """rho_1 of Theorem 3.2 (normalised): s_t^2 + v_t^2 x Marchenko–Pastur of ratio psi_p/psi_n.

    Examples
    --------
    >>> import rfdiff
    >>> m = rfdiff.RFModel(psi_p=64, psi_n=8, t=0.1)
    >>> lo, hi = rho1_edges(m)
    >>> x = np.linspace(lo, hi, 20001)
    >>> round(float(np.trapezoid(rho1_asymptotic(m, x), x)), 3)
    1.0
    """
    c = model.constants
    lam = _real_array("lam", lam)
    return marchenko_pastur_density((lam - c.s2) / c.v2, model.psi_p / model.psi_n) / c.v2


def rho2_stieltjes(model: RFModel, z: complex | Sequence[complex] | np.ndarray) -> np.ndarray:
    """Stieltjes transform q_2 of the population matrix U~ (Theorem 3.2, Bai–Silverstein form).

    q_2 = -(z' - sum_k pi_k mu_k / (1 + psi_p q_2 mu_k))^{-1}, z' = z - s_t^2 - v_t^2, with mu_k
    the eigenvalues of (mu_1^2 / Gamma_t^2) Sigma_t: q_2 is (1/p) Tr (U~ - z)^{-1} for
    U~ = (mu_1^2/Gamma_t^2) W Sigma_t W^T/d + mu_*^2 I (docs/theory.md §3.3). For psi_p > 1 it has
    an atom 1 - 1/psi_p at mu_*^2; its continuous part, normalised, is rho_2. Solved by
    Newton with continuation from large Im z; Im z > 0 required.

    Examples
    --------
    >>> import rfdiff
    >>> m = rfdiff.RFModel(psi_p=64, psi_n=8, t=0.1)
    >>> q2 = rho2_stieltjes(m, 1e6j)
    >>> bool(abs(q2 * 1e6j + 1) < 1e-5)
    True
    """
    c = model.constants
    zarr = np.asarray(z, dtype=np.complex128)
    if np.any(zarr.imag <= 0) or not np.all(np.isfinite(zarr)):
        raise ValueError("z must be finite with Im z > 0 for rho2_stieltjes")
    e2 = math.exp(-2 * model.t)
    mu = (c.mu1**2 / c.gamma2) * (e2 * model.data.lam + c.delta)
    pi = model.data.w
    psi = model.psi_p
    zp = zarr.ravel() - c.s2 - c.v2
    scale = float(psi * mu.max() * 4 + np.abs(zp).max())
    out = np.empty_like(zp)
    for i, zi in enumerate(zp):
        ys = np.geomspace(scale, zi.imag, 60) if zi.imag < scale else [zi.imag]
        qv = -1.0 / complex(zi.real, ys[0])
        for y in ys:
            zz = complex(zi.real, y)
            for _ in range(100):
                den = 1 + psi * qv * mu
                h = zz - np.sum(pi * mu / den)
                f = qv * h + 1.0  # q h + 1 = 0
                dh = np.sum(pi * mu * mu * psi / den**2)
                step = f / (h + qv * dh)
                qv -= step
                if abs(step) < 1e-15 * abs(qv):
                    break
        out[i] = qv
    return out.reshape(zarr.shape)


def rho2_density(model: RFModel, lam: float | Sequence[float] | np.ndarray, eps: float = 1e-10) -> np.ndarray:
    """rho_2 of Theorem 3.2 (normalised to 1): continuous part of :func:`rho2_stieltjes`.

    The continuous part of the spectrum of U~ has mass min(1, 1/psi_p); it is read at
    lam + i eps and divided by that mass.
    """
    lam = _real_array("lam", lam)
    return rho2_stieltjes(model, lam + 1j * eps).imag / (np.pi * min(1.0, 1.0 / model.psi_p))
