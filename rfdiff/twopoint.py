"""Two-point deterministic equivalent and the limit curves L_test, L_gen, E_score (docs/twopoint.md).

docs/theory.md §2, §7; the derivation and its numerical checks are in ``docs/twopoint.md``.
Any discrete data spectrum rho_Sigma. Isotropic data (Sigma = sigma_x^2 I) take the closed-form
Marchenko–Pastur path, anisotropic data the nested path (both kernels in ``rfdiff._numerics.twopoint``).

**Conditional structure.** In the Gaussian-equivalent model the columns of
G = e^{-t} a_t W X/sqrt(d) + v_t Omega are, given W, i.i.d. N(0, C) with
C = A K + v_t^2 I, K = W W^T/d, A = a_t^2 e^{-2t} sigma_x^2. So, given W,
U = G G^T/n + b_t^2 K + s_t^2 I is a sample covariance matrix whose population C and shift are
functions of K. With gamma = psi_p/psi_n and delta(z) = gamma (a_t^2 e^{-2t} r + v_t^2 q)
(= D - 1 of Theorem 3.1), the one-point deterministic equivalent is R(z) ~ g_z(K) with::

    g_z(k) = 1/(beta k - beta w),  beta = b_t^2 + A/(1 + delta),  w = (z - s_t^2 - v_t^2/(1 + delta))/beta,

and the two-point one (second-order leave-one-out identity, applied once more to Q1 M Q2)::

    (1/d) Tr[R1 K R2 K] = psi_p [ I_kk + gamma I_kc^2 / ((1 + delta_1)(1 + delta_2) - gamma I_cc) ],

with I_xy = int x(k) y(k) g_1(k) g_2(k) dmu_K(k), c(k) = A k + v_t^2, mu_K the Marchenko–Pastur law of
ratio psi_p. The I_xy are closed forms in the MP transform at w_1, w_2 (cancellation-free divided
differences; the atom of mu_K at 0 split off exactly).

**Anisotropic data** (rho_Sigma = sum_k pi_k delta_{lambda_k}): the nested leave-one-out over the columns
of W (docs/twopoint.md §6) with h_k = 1/(1 + psi_p q D_k), D_k = b_t^2 + a_t^2 e^{-2t} lambda_k/(1 + delta),
the per-atom terms of Theorem 3.1 (s = q <h>).

**Learning curves.** With the flow seeing U + lam (ridge lam >= 0; docs/theory.md §9.1),
f(z) = (e^{-2 Delta_t (z + lam) tau/psi_p} - 1)/(z + lam) (entire) and V = V~ = c W/sqrt(d),
c^2 = mu_1^2 Delta_t/Gamma_t^2, the losses are double and single contour integrals of f against T and s
(``rfdiff._numerics.losses``). Two contour strategies:

* ``"log"`` (default): one ellipse in log z around [s_t^2, upper bound] — no spectrum needed, and the
  internal structure of the spectrum (near-touching components, tiny atoms, components far closer to
  s_t^2 than the float64 resolution) does not affect its convergence;
* ``"components"``: one Bernstein ellipse per group of support components of ``spectrum`` (an
  independent discretisation, kept as a cross-check).

Every result carries an error estimate of the n-node rule from the n/2- and n/4-node rules on the same
ellipses (:func:`rfdiff._numerics.losses.error_estimate`: the n/2 rule's error |L(n) - L(n/2)| times the
observed contraction of one doubling, doubled; docs/twopoint.md §3). Nodes are grown by 1.3x until it is
below ``accuracy``; past :data:`MAX_NODES` :class:`~rfdiff.errors.QuadratureError` is raised — never a
silently capped contour.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from ._numerics import contours as _ct
from ._numerics import losses as _loss
from ._numerics import mp as _mp
from ._numerics import resolvent as _kern
from ._numerics import twopoint as _tp
from ._numerics.arguments import complex_points, finite_nonnegative, tau_array
from .errors import QuadratureError, ResolventConvergenceError
from .io import Serializable
from .resolvent import Equations, solve

if TYPE_CHECKING:  # pragma: no cover
    from .constants import Constants
    from .spectrum import Spectrum

__all__ = [
    "Contour",
    "LearningCurves",
    "contour",
    "learning_curves",
    "score_error",
    "test_loss",
    "two_point",
]

Strategy = Literal["log", "components"]


def _check_pair(eq: object, cst: object) -> tuple[Equations, Constants]:
    from .constants import Constants

    if not isinstance(eq, Equations):
        raise TypeError(f"eq must be rfdiff.resolvent.Equations, got {type(eq).__name__}")
    if not isinstance(cst, Constants):
        raise TypeError(f"cst must be rfdiff.constants.Constants, got {type(cst).__name__}")
    if not (eq.s2 == cst.s2 and eq.v2 == cst.v2 and eq.b2 == cst.b**2 and eq.a2e == cst.a2e):
        raise ValueError("eq and cst describe different settings (build eq with "
                         "Equations.from_constants(cst))")
    return eq, cst


def _is_isotropic(eq: Equations) -> bool:
    return len(eq.data_values) == 1


# ---------------------------------------------------------------- one-point pieces


@dataclass(frozen=True)
class _Pieces:
    """One-point solution and the conditional pieces at all nodes (or at the points of a pair list)."""

    q: np.ndarray
    s: np.ndarray
    delta: np.ndarray
    w: np.ndarray | None = None      # isotropic: w, p = mp.pieces(w), beta
    p: np.ndarray | None = None
    beta: np.ndarray | None = None
    h: np.ndarray | None = None      # anisotropic: h_k, g_k = 1 - h_k (N, K)
    g: np.ndarray | None = None


def _pieces(eq: Equations, zeta: np.ndarray, q: np.ndarray, r: np.ndarray, s: np.ndarray,
            nested: bool = False) -> _Pieces:
    """``nested``: the per-atom pieces of the anisotropic form even for isotropic data (tests compare
    the two derivations)."""
    if _is_isotropic(eq) and not nested:
        shp = np.shape(zeta)
        delta, beta, w, p = _tp.iso_pieces(*(np.ascontiguousarray(x, dtype=np.complex128).ravel()
                                             for x in (zeta, q, r)),
                                           eq.coefficients(), float(eq.a2e * eq.data_values[0]))
        return _Pieces(q=q, s=s, delta=delta.reshape(shp), w=w.reshape(shp), p=p.reshape(shp),
                       beta=beta.reshape(shp))
    delta = eq.psi_p / eq.psi_n * (eq.a2e * r + eq.v2 * q)
    D = eq.b2 + eq.a2e * eq.lam[None, :] / (1.0 + delta[:, None])
    x = eq.psi_p * q[:, None] * D
    h = 1.0 / (1.0 + x)
    return _Pieces(q=q, s=s, delta=delta, h=h, g=x * h)


def _solve_points(eq: Equations, zeta: np.ndarray, nested: bool = False) -> _Pieces:
    """Pieces at arbitrary offsets zeta (either half plane)."""
    res = solve(eq, zeta, lower_half_plane=True, shifted=True)
    return _pieces(eq, zeta, res.q, res.r, res.s, nested)


def _t_pairs(eq: Equations, cst: Constants, a: _Pieces, b: _Pieces) -> tuple[np.ndarray, np.ndarray]:
    """(T_KK, T_KKSigma) at the pairs (a[k], b[k]) (the nested form when the pieces are nested)."""
    if a.w is not None:
        y = float(eq.psi_p)
        t = _tp.iso_pairs(a.w, a.p, a.beta, a.delta, b.w, b.p, b.beta, b.delta, y, y / eq.psi_n,
                          float(eq.a2e * eq.data_values[0]), float(eq.v2), _mp.moments(y))
        return t, eq.data_values[0] * t
    return _tp.aniso_pairs(a.q, a.delta, a.h, a.g, b.q, b.delta, b.h, b.g, eq.pi, eq.lam, float(eq.psi_p),
                           float(eq.psi_n), float(eq.v2), float(eq.a2e))


def two_point(eq: Equations, cst: Constants, z1: complex | Sequence[complex] | np.ndarray,
              z2: complex | Sequence[complex] | np.ndarray, right: str = "K") -> np.ndarray:
    """T(z1, z2) = (1/d) Tr[(U - z1)^{-1} K (U - z2)^{-1} M] in the limit, K = W W^T/d.

    Parameters
    ----------
    eq, cst : Equations, Constants
        The setting (``RFModel.equations``, ``RFModel.constants``); any discrete data spectrum.
    z1, z2 : complex or array_like
        Spectral parameters off the support of rho (either half plane; real z gives the
        boundary value from above). Broadcast against each other.
    right : {"K", "K_sigma", "K_sigma_t"}
        M = K, K_Sigma = W Sigma W^T/d or K_{Sigma_t} = W Sigma_t W^T/d (the matrix in
        U~ = (mu_1^2/Gamma_t^2) K_{Sigma_t} + mu_*^2).

    Returns
    -------
    ndarray of complex
        T on the broadcast shape. T(z, z) = d/dzeta (1/d) Tr[M (U - zeta K - z)^{-1}] at zeta = 0,
        and T(conj z1, conj z2) = conj T(z1, z2).

    Examples
    --------
    >>> import rfdiff
    >>> m = rfdiff.RFModel(psi_p=8, psi_n=2, t=0.1)
    >>> T = two_point(m.equations, m.constants, [1 + 1j, 1 - 1j], 2 + 0.5j)
    >>> T.shape
    (2,)
    >>> bool(abs(two_point(m.equations, m.constants, 1 - 1j, 2 - 0.5j) - T[0].conjugate()) < 1e-12)
    True
    """
    eq, cst = _check_pair(eq, cst)
    if right not in ("K", "K_sigma", "K_sigma_t"):
        raise ValueError(f"right must be 'K', 'K_sigma' or 'K_sigma_t', got {right!r}")
    b1, b2 = np.broadcast_arrays(complex_points("z1", z1), complex_points("z2", z2))
    shape = b1.shape
    u1, inv1 = np.unique(b1.ravel(), return_inverse=True)
    u2, inv2 = np.unique(b2.ravel(), return_inverse=True)
    p1 = _solve_points(eq, u1 - eq.s2)
    p2 = _solve_points(eq, u2 - eq.s2)
    take1, take2 = inv1.ravel(), inv2.ravel()

    def take(p: _Pieces, idx: np.ndarray) -> _Pieces:
        return _Pieces(**{k: (None if v is None else v[idx]) for k, v in p.__dict__.items()})

    t_kk, t_ks = _t_pairs(eq, cst, take(p1, take1), take(p2, take2))
    if right == "K":
        out = t_kk
    elif right == "K_sigma":
        out = t_ks
    else:
        out = math.exp(-2.0 * cst.t) * t_ks + cst.delta * t_kk
    return out.reshape(shape)


# ---------------------------------------------------------------- contours


@dataclass(frozen=True, eq=False)
class Contour(Serializable):
    """A contour rule around the spectrum of U with s and T at its nodes.

    Attributes
    ----------
    equations : Equations
        The setting.
    strategy : {"log", "components"}
        How the nodes were placed (module notes).
    rule : Nodes
        Nodes z, offsets zeta = z - s_t^2, weights dz/(2 pi i) (counter-clockwise: h(U) =
        -sum_j weight_j h(z_j) (U - z_j)^{-1} for h analytic inside), the upper-half bookkeeping and
        the n/2- and n/4-point sub-rules (``rfdiff._numerics.contours.Nodes``).
    s : ndarray of complex
        s(z_j) of Theorem 3.1 at the upper-half nodes (``rule.upper``).
    T_re, T_im : ndarray
        Real and imaginary parts, shape (2, m, m) over the m upper-half nodes in rule order
        (``rule.up_rule``, coarser rules first), of T_pop(z1, z2) = (1/Gamma_t^2)(1/d) Tr[R_1 K R_2
        K_{Sigma_t}] (= (1/d) Tr[R_1 K R_2 K] for isotropic data), the two-point piece of the test loss:
        [0] at (z_a, z_b) and [1] at (z_a, conj z_b), upper triangles b >= a (symmetry gives the rest).
        ``T`` is the complex array of rows over the upper nodes and columns over all nodes.
    mass : float
        -sum_j weight_j s_j, the mass of nu_s seen by the contour (1 when it encloses all of it).
    fallbacks : int
        Nodes where the node-to-node continuation fell back to the full path solver.
    """

    equations: Equations
    strategy: str
    rule: _ct.Nodes
    s: np.ndarray
    T_re: np.ndarray
    T_im: np.ndarray
    mass: float
    fallbacks: int

    @property
    def T(self) -> np.ndarray:
        """T_pop(z_i, z_j), rows the upper-half nodes (``rule.upper``), columns all nodes in node order."""
        return _rows_from_triangles(self.rule, self.T_re + 1j * self.T_im)

    @property
    def n(self) -> int:
        """Total number of nodes."""
        return self.rule.n


def _march_failed(eq: Equations, zeta: complex) -> ResolventConvergenceError:
    return ResolventConvergenceError(f"resolvent continuation along the contour failed at zeta = {zeta} "
                                     f"(psi_p={eq.psi_p:g}, psi_n={eq.psi_n:g})", np.array([zeta]))


def _march(eq: Equations, nodes: _ct.Nodes) -> tuple[_Pieces, int]:
    """One-point solution at the upper-half nodes, continued node to node along each ellipse."""
    co = eq.coefficients()
    qs, rs, ss = [], [], []
    fallbacks = 0
    base = 0
    for n in nodes.sizes:
        zeta = nodes.zeta[base:base + n // 2 + 1]  # the upper half of this ellipse: a contiguous slice
        q, r, s, _res, fb, failed = _kern.march(zeta, co, 1e-14)
        if failed >= 0:
            raise _march_failed(eq, zeta[failed])
        fallbacks += fb
        qs.append(q)
        rs.append(r)
        ss.append(s)
        base += n
    if len(qs) > 1:
        q, r, s = np.concatenate(qs), np.concatenate(rs), np.concatenate(ss)
    return _pieces(eq, nodes.zeta[nodes.upper], q, r, s), fallbacks


def _t_triangles(eq: Equations, cst: Constants, nodes: _ct.Nodes, up: _Pieces
                 ) -> tuple[np.ndarray, np.ndarray]:
    """The triangles T_pop(z_a, z_b), T_pop(z_a, conj z_b), b >= a, over the upper nodes in rule order
    (real and imaginary parts, :func:`rfdiff._numerics.twopoint.iso_triangles`)."""
    u = nodes.up_rule
    pc = _Pieces(**{k: (None if v is None else np.ascontiguousarray(v[u])) for k, v in up.__dict__.items()})
    if _is_isotropic(eq):
        y = float(eq.psi_p)
        return _tp.iso_triangles(pc.w, pc.p, pc.beta, pc.delta, nodes.real_rule, y, y / eq.psi_n,
                                 float(eq.a2e * eq.data_values[0]), float(eq.v2), _mp.moments(y))
    wk, ws = cst.delta / cst.gamma2, math.exp(-2.0 * cst.t) / cst.gamma2
    return _tp.aniso_triangles(pc.q, pc.delta, pc.h, pc.g, nodes.real_rule, eq.pi, eq.lam, float(eq.psi_p),
                               float(eq.psi_n), float(eq.v2), float(eq.a2e), wk, ws)


def _rows_from_triangles(nodes: _ct.Nodes, tri: np.ndarray) -> np.ndarray:
    """T at (upper node, any node), rows in ``nodes.upper`` order and columns in node order, from the
    triangles of :func:`_t_triangles` by T(z1, z2) = T(z2, z1), T(conj z1, conj z2) = conj T(z1, z2)."""
    A = np.triu(tri[0]) + np.triu(tri[0], 1).T
    B = np.triu(tri[1]) + np.conj(np.triu(tri[1], 1).T)
    real = nodes.real_rule
    B[real] = np.conj(A[real])  # a real row: T(z_a, conj z_b) = conj T(z_a, z_b)
    rank = np.empty_like(nodes.up_rule)
    rank[nodes.up_rule] = np.arange(rank.size)  # upper index -> rule position
    out = np.empty((rank.size, nodes.n), np.complex128)
    lower = np.ones(nodes.n, bool)
    lower[nodes.upper] = False
    out[:, nodes.upper] = A[np.ix_(rank, rank)]
    out[:, lower] = B[np.ix_(rank, rank[nodes.pair[lower]])]
    return out


#: ln(1/accuracy) margin of the components strategy's node estimate
_SAFETY = 1.2
#: first log-ellipse node count in units of ln(1/accuracy)/log rho: the three-rule estimate met it at
#: 0.89-1.61 (median 1.15) over psi_p, psi_n in [1, 1e5], t = 0.1 (benchmarks/README.md, issue 9)
_LOG_FIRST = 1.5
#: node growth while the error estimate exceeds the accuracy
_GROWTH = 1.3
#: total node budget of one contour (T has n^2/2 entries: 8192 nodes ~ 0.5 GB)
MAX_NODES = 8192


def _log_nodes_for(eq: Equations, accuracy: float, angle: float) -> int:
    """First n for ``accuracy`` at the predicted rate rho^{-n} (learning_curves grows n by 1.3x while the
    measured error estimate says otherwise)."""
    rate = _ct.log_rate(eq.s2, eq.upper_bound, angle)
    return _ct.round8(_LOG_FIRST * math.log(1.0 / accuracy) / rate)


def _groups(sp: Spectrum) -> list[tuple[float, float]]:
    """Support components (offsets) grouped where the gap between them is < 5 % of the narrower one:
    the integrands are analytic in the gap (atoms included: W^T v = 0), so enclosing it is exact, while an
    ellipse squeezed between them would need ~1/sqrt(gap) nodes."""
    out: list[tuple[float, float]] = []
    for lo, hi in sp.offsets:
        if out:
            plo, phi = out[-1]
            if lo - phi < 0.05 * min(hi - lo, phi - plo):
                out[-1] = (plo, hi)
                continue
        out.append((lo, hi))
    if not out:
        raise ValueError("the spectrum has no continuous support component")
    return out


def _component_nodes(eq: Equations, sp: Spectrum, accuracy: float, a_max: float, ridge: float,
                     factor: float) -> tuple[list[tuple[float, float]], list[float], list[int]]:
    groups = _groups(sp)
    singular = [-eq.s2 - ridge] + [x for g in groups for x in g]
    n_per = []
    for lo, hi in groups:
        rho = _ct.ellipse_rho(lo, hi, singular)
        c, h = 0.5 * (lo + hi), 0.5 * (hi - lo)
        n_an = 4.0 * _SAFETY * math.log(1.0 / accuracy) / math.log(rho) if math.isfinite(rho) else 32.0
        x_left = eq.s2 + c - 0.5 * h * (rho + 1.0 / rho) if math.isfinite(rho) else eq.s2
        # e^{-a z} matters only while a Re z < ~40; its trapezoid bandwidth is ~ a h (rho + 1/rho)/2
        a_eff = min(a_max, 40.0 / max(x_left, 1e-300))
        n_osc = 1.5 * a_eff * 0.5 * h * ((rho + 1.0 / rho) if math.isfinite(rho) else 2.0) + 16.0
        n_per.append(_ct.round8(factor * (n_an + n_osc)))
    return groups, singular, n_per


def contour(eq: Equations, cst: Constants, *, strategy: Strategy = "log", n: int | None = None,
            accuracy: float = 1e-10, tau_max: float = math.inf, ridge: float = 0.0,
            spectrum: Spectrum | None = None, _factor: float = 1.0) -> Contour:
    """Nodes, weights, s and T of a contour rule around the spectrum of U.

    Parameters
    ----------
    eq, cst : Equations, Constants
        The setting.
    strategy : {"log", "components"}
        Node placement (module notes). "components" needs the spectrum (computed if not given).
    n : int, optional
        Nodes of the log ellipse (a multiple of 8, >= 32); default from ``accuracy``.
    accuracy : float
        Target absolute accuracy (sets the default node counts).
    tau_max : float
        Largest finite flow time the nodes must resolve (e^{-2 Delta_t z tau/psi_p} oscillates along
        the contour); inf means "any".
    ridge : float
        Ridge lam >= 0 (the pole of f at z = -lam at tau = inf lies outside the contour).
    spectrum : Spectrum, optional
        For ``strategy="components"``.

    Returns
    -------
    Contour

    Raises
    ------
    QuadratureError
        If the nodes needed exceed :data:`MAX_NODES`.

    Examples
    --------
    >>> import rfdiff
    >>> m = rfdiff.RFModel(psi_p=8, psi_n=2, t=0.1)
    >>> ct = contour(m.equations, m.constants)
    >>> bool(abs(ct.mass - 1) < 1e-10)
    True
    """
    eq, cst = _check_pair(eq, cst)
    ridge = finite_nonnegative("ridge", ridge)
    tau_max = float(tau_max)
    if math.isnan(tau_max) or tau_max < 0:
        raise ValueError(f"tau_max must be >= 0, got {tau_max!r}")
    a_max = 2.0 * cst.delta * tau_max / eq.psi_p
    if strategy == "log":
        angle = _ct.LOG_ANGLE_INF if tau_max == 0.0 else _ct.LOG_ANGLE
        n = _ct.round8(_factor * _log_nodes_for(eq, accuracy, angle)) if n is None else int(n)
        if n > MAX_NODES:
            raise QuadratureError(
                f"log contour needs {n} nodes (> {MAX_NODES}) for accuracy {accuracy:g} at "
                f"psi_p={eq.psi_p:g}, psi_n={eq.psi_n:g}, s_t^2={eq.s2:.3g}")
        if _is_isotropic(eq):  # nodes, march, pieces and T in one kernel
            return _iso_log_contour(eq, n, angle)
        nodes = _ct.log_ellipse(eq.s2, eq.upper_bound, n, angle)
    elif strategy == "components":
        if spectrum is None:
            from .spectrum import spectrum as _spectrum

            spectrum = _spectrum(eq)
        groups, singular, n_per = _component_nodes(eq, spectrum, accuracy, a_max, ridge, _factor)
        if sum(n_per) > MAX_NODES:
            worst = int(np.argmax(n_per))
            raise QuadratureError(
                f"component contours need {sum(n_per)} nodes (> {MAX_NODES}) for accuracy {accuracy:g} at "
                f"psi_p={eq.psi_p:g}, psi_n={eq.psi_n:g}: group {groups[worst]} (offsets) needs "
                f"{n_per[worst]} (a singularity close to it); use strategy='log'")
        nodes, _rhos = _ct.bernstein(eq.s2, groups, singular, n_per)
    else:
        raise ValueError(f"strategy must be 'log' or 'components', got {strategy!r}")
    up, fallbacks = _march(eq, nodes)
    return _contour(eq, strategy, nodes, up.s, *_t_triangles(eq, cst, nodes, up), fallbacks)


def _contour(eq: Equations, strategy: str, nodes: _ct.Nodes, s: np.ndarray, T_re: np.ndarray,
             T_im: np.ndarray, fallbacks: int) -> Contour:
    """The Contour, with the mass -sum_j weight_j s_j its rule sees."""
    mass = float(-(nodes.mult * nodes.weight[nodes.upper] * s).sum().real)
    return Contour(equations=eq, strategy=strategy, rule=nodes, s=s, T_re=T_re, T_im=T_im, mass=mass,
                   fallbacks=fallbacks)


def _iso_log_contour(eq: Equations, n: int, angle: float) -> Contour:
    """:func:`contour` for isotropic data on the log ellipse in one kernel
    (:func:`rfdiff._numerics.twopoint.iso_log_contour`: the general path's nodes, march, pieces and
    triangles, without the Python between them)."""
    geometry = _ct.log_geometry(eq.s2, eq.upper_bound, angle, n)
    book = _ct.bookkeeping((n,))
    y = float(eq.psi_p)
    z, zeta, weight, s, fallbacks, failed, T_re, T_im = _tp.iso_log_contour(
        n, *geometry, float(eq.s2), eq.coefficients(), float(eq.a2e * eq.data_values[0]), book["up_rule"],
        book["real_rule"], _mp.moments(y))
    if failed >= 0:
        raise _march_failed(eq, zeta[failed])
    return _contour(eq, "log", _ct.Nodes(z=z, zeta=zeta, weight=weight, **book), s, T_re, T_im, fallbacks)


# ---------------------------------------------------------------- learning curves


@dataclass(frozen=True, eq=False)
class LearningCurves(Serializable):
    """Limit learning curves of the gradient flow (docs/theory.md §2, §7).

    Attributes
    ----------
    tau : ndarray
    train, test, gen, score : ndarray
        L_train, L_test, L_gen = L_test - L_train and
        E_score = (L_test - 1)/Delta_t + (1/d) Tr Sigma_t^{-1} (= (L_test - 1 + Delta_t/Gamma_t^2)/Delta_t
        for isotropic data).
    ridge : float
        The ridge lam the flow saw (L_train is the denoising part, without the penalty).
    quad_error : float
        max over tau of the error estimates of the contour's n-node L_test, L_train and L_gen (from the
        n/2- and n/4-node rules, :func:`rfdiff._numerics.losses.error_estimate`). Below ``accuracy``.
    accuracy : float
        The requested accuracy.
    contour : Contour
        The quadrature used (``mass``: 1 to ~1e-12).
    """

    tau: np.ndarray
    train: np.ndarray
    test: np.ndarray
    gen: np.ndarray
    score: np.ndarray
    ridge: float
    quad_error: float
    accuracy: float
    contour: Contour
    constants: Constants
    strategy: str

    @property
    def equations(self) -> Equations:
        """The setting."""
        return self.contour.equations

    def at(self, tau: float | Sequence[float] | np.ndarray) -> LearningCurves:
        """The curves at other flow times, on the same contour when its error estimate there stays below
        ``accuracy`` (otherwise on a refined one, as :func:`learning_curves` would build).

        Examples
        --------
        >>> import rfdiff
        >>> m = rfdiff.RFModel(psi_p=8, psi_n=2, t=0.1)
        >>> lc = m.learning_curves([1.0, 10.0])
        >>> bool(abs(lc.at([10.0]).gen[0] - lc.gen[1]) < 1e-14)
        True
        """
        tau = tau_array(tau)
        out = _evaluate(self.contour, self.constants, tau, self.ridge, self.accuracy)
        if out is None:
            return learning_curves(self.equations, self.constants, tau, ridge=self.ridge,
                                   strategy=self.strategy, accuracy=self.accuracy)
        return out


def _score_offset(eq: Equations, cst: Constants) -> float:
    """(1/d) Tr Sigma_t^{-1} = sum_k pi_k/(e^{-2t} lambda_k + Delta_t)."""
    return float(eq.pi @ (1.0 / (math.exp(-2.0 * cst.t) * eq.lam + cst.delta)))


def _losses(ct: Contour, cst: Constants, a: np.ndarray, ridge: float
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(L_test, L_train, error estimate) by the contour's n-node rule at rates a."""
    return _loss.assemble(ct.rule, ct.s, ct.T_re, ct.T_im, c2=cst.mu1**2 * cst.delta / cst.gamma2,
                          mu1sq=cst.mu1**2, mustar2=cst.mustar2, psi_p=float(ct.equations.psi_p), a=a,
                          ridge=ridge)


def learning_curves(eq: Equations, cst: Constants, tau: float | Sequence[float] | np.ndarray, *,
                    ridge: float = 0.0, strategy: Strategy = "log", accuracy: float = 1e-10,
                    spectrum: Spectrum | None = None) -> LearningCurves:
    """L_train, L_test, L_gen and E_score at every tau in the limit d -> infinity.

    Parameters
    ----------
    eq, cst : Equations, Constants
        The setting (``RFModel.equations``, ``RFModel.constants``); any discrete data spectrum.
    tau : float or array_like
        Flow times >= 0 (inf allowed: the ridge estimator, or the min-norm interpolator at ridge 0).
    ridge : float
        Ridge lam >= 0: the flow sees U + lam (docs/theory.md §9.1).
    strategy : {"log", "components"}
        Contour strategy (module notes).
    accuracy : float
        Absolute accuracy the contour rule's error estimate must meet, in (1e-14, 1e-3).
    spectrum : Spectrum, optional
        For ``strategy="components"``.

    Returns
    -------
    LearningCurves
        Arrays of the shape of tau, with the error estimate.

    Raises
    ------
    QuadratureError
        If the error estimate stays above ``accuracy`` up to :data:`MAX_NODES` nodes.

    Examples
    --------
    >>> import rfdiff
    >>> m = rfdiff.RFModel(psi_p=8, psi_n=2, t=0.1)
    >>> lc = learning_curves(m.equations, m.constants, [0.0, 1e2, np.inf])
    >>> float(lc.test[0])
    1.0
    >>> bool(lc.gen[2] > lc.gen[1] > 0 and lc.quad_error < 1e-10)
    True
    """
    eq, cst = _check_pair(eq, cst)
    tau = tau_array(tau)
    ridge = finite_nonnegative("ridge", ridge)
    if isinstance(accuracy, bool) or not (isinstance(accuracy, (int, float)) and 1e-14 < accuracy < 1e-3):
        raise ValueError(f"accuracy must be in (1e-14, 1e-3), got {accuracy!r}")
    finite = tau[np.isfinite(tau)]
    tau_max = float(finite.max()) if finite.size else 0.0
    factor = 1.0
    while True:
        ct = contour(eq, cst, strategy=strategy, accuracy=accuracy, tau_max=tau_max, ridge=ridge,
                     spectrum=spectrum, _factor=factor)
        out = _evaluate(ct, cst, tau, ridge, float(accuracy))
        if out is not None:
            return out
        if _GROWTH * ct.n > MAX_NODES:
            err = _evaluate(ct, cst, tau, ridge, math.inf).quad_error
            raise QuadratureError(
                f"learning curves: contour error estimate {err:.2g} > accuracy {accuracy:g} with {ct.n} "
                f"nodes (budget {MAX_NODES}) at psi_p={eq.psi_p:g}, psi_n={eq.psi_n:g}, t={cst.t:g}, "
                f"strategy={strategy!r}")
        factor *= _GROWTH


def _evaluate(ct: Contour, cst: Constants, tau: np.ndarray, ridge: float, accuracy: float
              ) -> LearningCurves | None:
    """The curves on this contour, or None if its error estimate exceeds ``accuracy``."""
    eq = ct.equations
    flat = tau.ravel()
    test, train, errs = _losses(ct, cst, 2.0 * cst.delta * flat / eq.psi_p, ridge)
    err = float(errs.max()) if flat.size else 0.0
    if not err <= accuracy:
        return None
    if _is_isotropic(eq):
        score = (test - 1.0 + cst.delta / cst.gamma2) / cst.delta
    else:
        score = (test - 1.0) / cst.delta + _score_offset(eq, cst)
    gen = test - train
    if tau.ndim != 1:
        shp = tau.shape
        train, test, gen, score = train.reshape(shp), test.reshape(shp), gen.reshape(shp), score.reshape(shp)
    return LearningCurves(tau=tau, train=train, test=test, gen=gen, score=score, ridge=ridge, quad_error=err,
                          accuracy=float(accuracy if math.isfinite(accuracy) else err), contour=ct,
                          constants=cst, strategy=ct.strategy)


def test_loss(eq: Equations, cst: Constants, tau: float | Sequence[float] | np.ndarray) -> np.ndarray:
    """L_test(tau) in the limit (see :func:`learning_curves`); same shape as tau.

    Examples
    --------
    >>> import rfdiff
    >>> m = rfdiff.RFModel(psi_p=8, psi_n=2, t=0.1)
    >>> loss = test_loss(m.equations, m.constants, [0.0, 10.0])
    >>> bool(loss[0] == 1.0 and loss[1] < 1.0)
    True
    """
    return learning_curves(eq, cst, tau).test


test_loss.__test__ = False  # type: ignore[attr-defined]  # not a pytest test despite the name


def score_error(eq: Equations, cst: Constants, tau: float | Sequence[float] | np.ndarray) -> np.ndarray:
    """E_score(tau) = (L_test - 1)/Delta_t + (1/d) Tr Sigma_t^{-1} in the limit; same shape as tau.

    Examples
    --------
    >>> import rfdiff
    >>> m = rfdiff.RFModel(psi_p=8, psi_n=2, t=0.1)
    >>> e = score_error(m.equations, m.constants, [0.0, 10.0])
    >>> bool(abs(e[0] - 1 / m.gamma2) < 1e-12 and e[1] < e[0])
    True
    """
    return learning_curves(eq, cst, tau).score
