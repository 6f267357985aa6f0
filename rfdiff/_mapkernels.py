"""Fast limit losses for many (psi_p, psi_n) cells: one spectrum-free contour per cell (phase maps).

:func:`rfdiff.twopoint.learning_curves` puts one Bernstein ellipse around each support component
of rho, which needs ``model.spectrum()`` and, near an atom or a narrow gap, thousands of nodes.
Here the contour is an ellipse in zeta = log z with foci at log s_t^2 and log of
``Equations.upper_bound``:

* U >= s_t^2 I and ||U|| <= upper_bound, so the foci bracket the whole spectrum and no support or
  edge has to be located. The atom of U at s_t^2 lies on the contour's inside but is no
  singularity of the integrands: its eigenvectors satisfy W^T v = 0, so K (U - z)^{-1} K and
  nu_s have no pole there (checked by the mass -sum w s = 1 and by tests against the reference).
* In zeta the integrands g(e^zeta) e^zeta are analytic off the segment [log s_t^2, log ub]
  (and its copies shifted by 2 pi i), z = 0 sits at zeta = -inf, so the pole of f = -1/z at
  tau = inf is outside. The trapezoid rule on the ellipse of parameter rho converges like
  rho^{-n}.
* e^{-a z} grows where Re z < 0, i.e. |Im zeta| > pi/2; the ellipse's height
  h (rho - 1/rho)/2 is kept at ``_ANGLE`` = 0.7 rad (measured optimum between the analytic
  rate, which wants a large rho, and the growth of e^{-a z}, which wants a small one). Then
  log rho ~ 0.7/h and n ~ 1.2 ln(1/accuracy) h / 0.7 nodes: 130-200 for the usual maps,
  against 300-4500 for the per-component ellipses.

One-point solutions are continued node to node along the upper half of the ellipse (Newton from
the previous node, :func:`rfdiff.resolvent._solve_path` only to start and as a fallback), the
lower half by conjugation. T(z_i, z_j) is formed only for the rows of the upper half:
with F(conj z) = conj F(z), sum_ij F_i T_ij F_j = sum over upper rows with weight 2 (1 on the real
axis) of Re F_i (T F)_i.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np

from .constants import Constants
from .errors import ResolventConvergenceError
from .resolvent import Equations, _branch_ok, _newton, _solve_path

__all__: list[str] = []

_ANGLE = 0.7  # max |Im log z| on the contour (rad), < pi/2 so that Re z > 0 everywhere
_SAFETY = 1.2  # node-count margin over the geometric-rate estimate
_INF_ANGLE = 1.2  # height for tau = inf alone (measured: L_gen(inf) within 2e-10 at accuracy 1e-10)


@numba.njit(cache=True)
def _march(z, scale, mean_ev, m1, pinv, alpha, beta, c, b2p, v2, s2, lam, pi, rtol):
    """Theorem 3.1 along nodes z[0..m-1] of an upper half-contour (z[0], z[-1] real).

    Newton from the previous node's solution, _solve_path (continuation from far above) at
    the first node and wherever Newton fails or leaves the physical branch.
    Returns q, r, s and the number of fallbacks (-1 if a fallback failed too).
    """
    m = z.shape[0]
    q = np.empty(m, np.complex128)
    r = np.empty(m, np.complex128)
    s = np.empty(m, np.complex128)
    fallbacks = 0
    for k in range(m):
        ok = False
        if k > 0:
            q1, r1, s1, _res, _it, conv = _newton(q[k - 1], r[k - 1], z[k], pinv, alpha, beta, c, b2p,
                                                  v2, s2, lam, pi, 12, rtol)
            ok = conv and _branch_ok(q1, r1, z[k], 1.0)
        if not ok:
            if k > 0:
                fallbacks += 1
            out = _solve_path(z[k].real, z[k].imag, 1.0, scale, mean_ev, m1, pinv, alpha, beta, c, b2p,
                              v2, s2, lam, pi, rtol)
            q1, r1, s1 = out[0], out[1], out[2]
            if not (out[5] and out[6]):
                return q, r, s, -1
        q[k] = q1
        r[k] = r1
        s[k] = s1
    return q, r, s, fallbacks


@numba.njit(cache=True)
def _mp_m(w, y):
    """Marchenko–Pastur Stieltjes transform of ratio y (as twopoint._mp_stieltjes, one point)."""
    sy = math.sqrt(y)
    a = (1.0 - sy) ** 2
    b = (1.0 + sy) ** 2
    root = np.sqrt(w - a) * np.sqrt(w - b)
    return 2.0 / (-(w - 1.0 + y) - root)


@numba.njit(cache=True)
def _two_point_rows(w, m, beta, delta, rows, y, gamma, A, v2):
    """T(z_i, z_j) for i in rows, all j (twopoint._two_point_from, cancellation-free J_0, J_1, J_2)."""
    n = w.shape[0]
    nr = rows.shape[0]
    T = np.empty((nr, n), np.complex128)
    for a in range(nr):
        i = rows[a]
        w1 = w[i]
        m1 = m[i]
        for j in range(n):
            w2 = w[j]
            m2 = m[j]
            j0 = -(y * m1 * m1 + m1) / (y * w2 * (m1 + m2) + w2 + y - 1.0)
            j1 = m1 + w2 * j0
            j2 = 1.0 + (w1 + w2) * m1 + w2 * w2 * j0
            bb = beta[i] * beta[j]
            i_kk = j2 / bb
            i_kc = (A * j2 + v2 * j1) / bb
            i_cc = (A * A * j2 + 2.0 * A * v2 * j1 + v2 * v2 * j0) / bb
            den = (1.0 + delta[i]) * (1.0 + delta[j]) - gamma * i_cc
            T[a, j] = y * (i_kk + gamma * i_kc * i_kc / den)
    return T


@dataclass(frozen=True)
class MapContour:
    """Log-ellipse contour of one cell with everything the losses need.

    z, weight : all n nodes (counter-clockwise; node k and n - k are conjugate).
    s : s(z) of Theorem 3.1 at the nodes.
    T_re, T_im : T(z_i, z_j), i = 0..n/2 (upper half, both ends real), all j.
    mult : 1 for the real nodes 0 and n/2, 2 for the others (conjugate partner folded in).
    mass : -sum weight s (1 when the contour encloses nu_s).
    fallbacks : nodes where continuation fell back to the full path solver.
    """

    z: np.ndarray
    weight: np.ndarray
    s: np.ndarray
    T_re: np.ndarray
    T_im: np.ndarray
    mult: np.ndarray
    mass: float
    fallbacks: int


def nodes_for(eq: Equations, accuracy: float, angle: float = _ANGLE) -> int:
    """Even node count of the log-ellipse for a target absolute accuracy (see module docstring)."""
    h = 0.5 * math.log(eq.upper_bound / eq.s2)
    n = _SAFETY * math.log(1.0 / accuracy) * h / angle
    return int(max(32, 2 * math.ceil(0.5 * n)))


def map_contour(eq: Equations, sigma_x2: float, n: int, angle: float = _ANGLE) -> MapContour:
    """Nodes, one-point solutions and the upper rows of T on the log-ellipse with n (even) nodes.

    ``angle`` is the ellipse's height in zeta = log z: _ANGLE for finite tau; up to ~1.3 for
    tau = inf alone (no e^{-a z} to grow; the next singularities are at |Im zeta| = 2 pi).
    """
    if n % 2 or n < 8:
        raise ValueError(f"n must be an even integer >= 8, got {n}")
    lo, hi = math.log(eq.s2), math.log(eq.upper_bound)
    c, h = 0.5 * (lo + hi), 0.5 * (hi - lo)
    x = 2.0 * angle / h
    rho = 0.5 * (x + math.sqrt(x * x + 4.0))  # h (rho - 1/rho)/2 = angle
    e = np.exp(2j * np.pi * np.arange(n) / n)
    zeta = c + 0.5 * h * (rho * e + 1.0 / (rho * e))
    z = np.exp(zeta)
    half = n // 2
    z[0] = z[0].real
    z[half] = z[half].real
    z[half + 1:] = np.conj(z[1:half][::-1])
    weight = z * (0.5 * h * (rho * e - 1.0 / (rho * e)) / n)
    args = eq._args()
    lam, pi = args[8], args[9]
    q_u, r_u, s_u, fb = _march(np.ascontiguousarray(z[:half + 1]), eq.upper_bound, eq.mean_eigenvalue,
                               float(lam @ pi), *args[1:8], lam, pi, 1e-14)
    if fb < 0:
        raise ResolventConvergenceError(
            "resolvent continuation along the phase-map contour failed "
            f"(psi_p={eq.psi_p:g}, psi_n={eq.psi_n:g})"
        )
    q = np.concatenate([q_u, np.conj(q_u[1:half][::-1])])
    r = np.concatenate([r_u, np.conj(r_u[1:half][::-1])])
    s = np.concatenate([s_u, np.conj(s_u[1:half][::-1])])
    gamma = eq.psi_p / eq.psi_n
    delta = gamma * (eq.a2e * r + eq.v2 * q)
    beta = eq.b2 + eq.a2e * sigma_x2 / (1.0 + delta)
    w = (z - eq.s2 - eq.v2 / (1.0 + delta)) / beta
    sy = math.sqrt(eq.psi_p)
    root = np.sqrt(w - (1.0 - sy) ** 2) * np.sqrt(w - (1.0 + sy) ** 2)
    m = 2.0 / (-(w - 1.0 + eq.psi_p) - root)
    rows = np.arange(half + 1)
    T_up = _two_point_rows(w, m, beta, delta, rows, eq.psi_p, gamma, eq.a2e * sigma_x2, eq.v2)
    mult = np.full(half + 1, 2.0)
    mult[0] = mult[half] = 1.0
    mass = float((-(weight * s).sum()).real)
    return MapContour(z=z, weight=weight, s=s, T_re=np.ascontiguousarray(T_up.real),
                      T_im=np.ascontiguousarray(T_up.imag), mult=mult, mass=mass, fallbacks=int(fb))


@numba.njit(cache=True, fastmath={"reassoc", "contract"})
def _quadratic_form(Tr, Ti, Fr, Fi, mult):
    """sum_ij F_i T_ij F_j (real part) from the upper rows of T; F transposed, (K, n).

    Reassociation only (no NaN/inf assumptions): it lets the length-n dot products vectorise.
    """
    nu, n = Tr.shape
    K = Fr.shape[0]
    out = np.zeros(K)
    for i in range(nu):
        for k in range(K):
            acc_r = 0.0
            acc_i = 0.0
            for j in range(n):
                acc_r += Tr[i, j] * Fr[k, j] - Ti[i, j] * Fi[k, j]
                acc_i += Tr[i, j] * Fi[k, j] + Ti[i, j] * Fr[k, j]
            out[k] += mult[i] * (Fr[k, i] * acc_r - Fi[k, i] * acc_i)
    return out


@numba.njit(cache=True)
def _expm1_over(x, z):
    """(e^x - 1)/z, with a Taylor series for |x| < 1e-3 (no cancellation)."""
    if abs(x) < 1e-3:
        return x * (1.0 + x * (0.5 + x * (1.0 / 6.0 + x * (1.0 / 24.0 + x / 120.0)))) / z
    return (np.exp(x) - 1.0) / z


@numba.njit(cache=True)
def _quad(z, wt, s, Tr, Ti, mult, a, psi_p):
    """(1/d) Tr fKfK, Tr f^2 K, Tr f K and Tr[(e^{-2aU} - 1) U^{-1} K] at rates a (inf allowed).

    z, wt, s: all n nodes, node n - j the conjugate of node j; Tr + i Ti: T's rows of the first
    nu = Tr.shape[0] nodes (the upper half, both real ends if n/2 + 1 = nu); mult: 2 for a node
    whose conjugate partner is folded in, 1 for a real node. f(z) = (e^{-a z} - 1)/z (-1/z at
    a = inf) is evaluated on the upper half only, the lower half by conjugation.
    """
    n = z.shape[0]
    nu = Tr.shape[0]
    K = a.shape[0]
    Fr = np.empty((K, n))
    Fi = np.empty((K, n))
    j_k2 = np.zeros(K)
    j_k1 = np.zeros(K)
    j_tr = np.zeros(K)
    for j in range(nu):
        zj = z[j]
        ws = mult[j] * wt[j] * s[j]
        for k in range(K):
            if math.isinf(a[k]):
                f = -1.0 / zj
                f2 = f
            else:
                f = _expm1_over(-a[k] * zj, zj)
                f2 = _expm1_over(-2.0 * a[k] * zj, zj)
            F = wt[j] * f
            Fr[k, j] = F.real
            Fi[k, j] = F.imag
            if 0 < j < n - j:
                Fr[k, n - j] = F.real
                Fi[k, n - j] = -F.imag
            j_k2[k] -= psi_p * (ws * f * f).real
            j_k1[k] -= psi_p * (ws * f).real
            j_tr[k] -= psi_p * (ws * f2).real
    j_kk = _quadratic_form(Tr, Ti, Fr, Fi, mult)
    return j_kk, j_k2, j_k1, j_tr


def losses(ct: MapContour, cst: Constants, psi_p: float, tau: np.ndarray,
           step: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """(L_test, L_train) at flow times tau (inf allowed) on the contour.

    ``step = 2`` uses every other node (the n/2-point trapezoid rule on the same ellipse): the
    difference to ``step = 1`` estimates the error of the coarser rule.
    """
    tau = np.ascontiguousarray(tau, dtype=np.float64)
    n = ct.z.size
    half = n // 2
    if step == 1:
        z, wt, s, Tr, Ti, mult = ct.z, ct.weight, ct.s, ct.T_re, ct.T_im, ct.mult
    else:
        z, wt, s = ct.z[::step], ct.weight[::step] * step, ct.s[::step]
        Tr = np.ascontiguousarray(ct.T_re[::step, ::step])
        Ti = np.ascontiguousarray(ct.T_im[::step, ::step])
        mult = ct.mult[::step]
        if half % step:  # the coarse rule has no node at angle pi: its last upper node is not real
            mult = mult.copy()
            mult[-1] = 2.0
    a = 2.0 * cst.delta * tau / psi_p
    j_kk, j_k2, j_k1, j_tr = _quad(z, wt, s, Tr, Ti, mult, a, float(psi_p))
    c2 = cst.mu1**2 * cst.delta / cst.gamma2
    test = 1.0 + c2 * (cst.mu1**2 * j_kk + cst.mustar2 * j_k2 + 2.0 * j_k1)
    train = 1.0 + c2 * j_tr
    zero = tau == 0
    test[zero] = 1.0
    train[zero] = 1.0
    return test, train
