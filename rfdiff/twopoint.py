"""Two-point deterministic equivalent and the limit curves L_test, L_gen, E_score (issue 4).

docs/theory.md §2, §7; the derivation and its numerical checks are in ``docs/twopoint.md``.
Any discrete data spectrum rho_Sigma. Isotropic data (Sigma = sigma_x^2 I) take the closed-form
Marchenko–Pastur path described first; anisotropic data the nested path at the end.

**Conditional structure.** In the Gaussian-equivalent model (docs/theory.md §3.3) the columns of
G = e^{-t} a_t W X/sqrt(d) + v_t Omega are, given W, i.i.d. N(0, C) with
C = A K + v_t^2 I, K = W W^T/d, A = a_t^2 e^{-2t} sigma_x^2. So, given W,

    U = G G^T/n + b_t^2 K + s_t^2 I

is a sample covariance matrix whose population C and shift are functions of K. With
gamma = psi_p/psi_n and delta(z) = (1/n) Tr C (U - z)^{-1} = gamma (a_t^2 e^{-2t} r + v_t^2 q)
(= D - 1 of Theorem 3.1), the one-point deterministic equivalent is R(z) ~ g_z(K) with

    g_z(k) = 1/(beta k - beta w),  beta = b_t^2 + A/(1 + delta),  w = (z - s_t^2 - v_t^2/(1 + delta))/beta,

and the two-point one (second-order leave-one-out identity, applied once more to Q1 M Q2):

    (1/d) Tr[R1 K R2 K] = psi_p [ I_kk + gamma I_kc^2 / ((1 + delta_1)(1 + delta_2) - gamma I_cc) ],

with I_xy = int x(k) y(k) g_1(k) g_2(k) dmu_K(k), c(k) = A k + v_t^2, mu_K the Marchenko–Pastur law
of ratio psi_p (K's spectrum). The I_xy are closed forms in the MP Stieltjes transform m_K
at w_1, w_2 (cancellation-free divided differences, see :func:`two_point`).

**Learning curves.** With f(lambda) = (e^{-2 Delta_t lambda tau/psi_p} - 1)/lambda (entire),
V = V~ = c W/sqrt(d), c^2 = mu_1^2 Delta_t/Gamma_t^2 and U~ = mu_1^2 K + mu_*^2 I (isotropic):

    L_test = 1 + c^2 [ mu_1^2 (1/d) Tr fKfK + mu_*^2 (1/d) Tr f^2 K + 2 (1/d) Tr f K ],

each trace a (double) contour integral, e.g. (1/d) Tr fKfK = oint oint f f T dz1 dz2/(2 pi i)^2,
on Bernstein ellipses around each support component of rho (the atom at s_t^2 has W^T v = 0 and
is left outside), discretised by the trapezoid rule (geometric convergence; the number of nodes
is set from the distance to the nearest singularity and the oscillation of f at the largest tau).

**Anisotropic data** (rho_Sigma = sum_k pi_k delta_{lambda_k}). Now C = kappa K_Sigma + v_t^2,
K_Sigma = W Sigma W^T/d, kappa = a_t^2 e^{-2t}, and U~ = (mu_1^2/Gamma_t^2) K_{Sigma_t} + mu_*^2 with
K_{Sigma_t} = e^{-2t} K_Sigma + Delta_t K. The outer (Y) step is unchanged; its deterministic
matrix Qbar = (alpha + W D W^T/d)^{-1}, D = b_t^2 + kappa Sigma/(1 + delta) diagonal, is a sample
covariance matrix with per-column weights, and a second leave-one-out step over the columns of
W gives, with h_k = 1/(1 + psi_p q D_k), <x> = sum_k pi_k x_k, e = psi_p q and any diagonal
weights Lambda, Lambda' (functions of the data atom)::

    (1/d) Tr[Qbar_1 Qbar_2]                  = tau0 = psi_p q1 q2/(1 - <(1 - h1)(1 - h2)>/psi_p),
    (1/d) Tr[Qbar_1 W Lam W^T/d Qbar_2]      = <Lam h1 h2> tau0,
    (1/d) Tr[Qbar_1 W Lam W^T/d Qbar_2 W Lam' W^T/d]
                                             = e1 e2 <Lam Lam' h1 h2> + <Lam h1 h2><Lam' h1 h2> tau0,

from which T_{M M'} for M, M' in {K, K_Sigma} follows as in the isotropic case (docs §6).
q h_k = 1/(s_hat + lambda_k r_hat) are Theorem 3.1's per-atom terms, so s = q <h> exactly.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numba
import numpy as np

from .dynamics import _tau_array
from .io import Serializable
from .resolvent import solve

if TYPE_CHECKING:  # pragma: no cover
    from .model import RFModel
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


def _check_isotropic(model: RFModel) -> float:
    """sigma_x^2 of an isotropic model; ValueError otherwise."""
    vals = model.data.values
    if len(vals) != 1:
        raise ValueError(
            f"model.data must be isotropic (one eigenvalue of Sigma) for the two-point equivalent; "
            f"got {len(vals)} atoms {vals}"
        )
    return float(vals[0])


# ---------------------------------------------------------------- Marchenko–Pastur pieces


def _mp_stieltjes(w: np.ndarray, y: float) -> np.ndarray:
    """m(w) = int dmu(k)/(k - w) for mu = MP law of ratio y (atom 1 - 1/y at 0 if y > 1).

    The root of y w m^2 + (w - 1 + y) m + 1 = 0 with m ~ -1/w, written as
    2/(-(w - 1 + y) - sqrt(w - a) sqrt(w - b)) (no cancellation at large |w|; the
    product of principal square roots has its cut on [a, b] only).
    """
    sy = math.sqrt(y)
    a, b = (1.0 - sy) ** 2, (1.0 + sy) ** 2
    root = np.sqrt(w - a) * np.sqrt(w - b)
    return 2.0 / (-(w - 1.0 + y) - root)


def _divided_differences(w1: np.ndarray, w2: np.ndarray, m1: np.ndarray, m2: np.ndarray,
                         y: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """J_j = int k^j dmu(k)/((k - w1)(k - w2)), j = 0, 1, 2, without cancellation.

    Subtracting the MP quadratic at w1 and w2 gives the divided difference
    (m1 - m2)/(w1 - w2) = -(y m1^2 + m1)/(y w2 (m1 + m2) + w2 + y - 1), which is also its
    limit m'(w) at w1 = w2. Then J_1 = m1 + w2 J_0 and J_2 = 1 + (w1 + w2) m1 + w2^2 J_0.
    """
    j0 = -(y * m1 * m1 + m1) / (y * w2 * (m1 + m2) + w2 + y - 1.0)
    j1 = m1 + w2 * j0
    j2 = 1.0 + (w1 + w2) * m1 + w2 * w2 * j0
    return j0, j1, j2


@dataclass(frozen=True)
class _OnePoint:
    q: np.ndarray
    s: np.ndarray
    delta: np.ndarray
    beta: np.ndarray
    w: np.ndarray
    m: np.ndarray


def _one_point(model: RFModel, z: np.ndarray) -> _OnePoint:
    """Theorem 3.1 at z (either half plane) and the conditional quantities delta, beta, w, m_K(w)."""
    sx2 = _check_isotropic(model)
    eq = model.equations
    res = solve(eq, z, lower_half_plane=True)
    gamma = eq.psi_p / eq.psi_n
    delta = gamma * (eq.a2e * res.r + eq.v2 * res.q)
    beta = eq.b2 + eq.a2e * sx2 / (1.0 + delta)
    w = (z - eq.s2 - eq.v2 / (1.0 + delta)) / beta
    return _OnePoint(q=res.q, s=res.s, delta=delta, beta=beta, w=w, m=_mp_stieltjes(w, eq.psi_p))


def _two_point_from(model: RFModel, o1: _OnePoint, o2: _OnePoint, sl1: tuple, sl2: tuple) -> np.ndarray:
    eq = model.equations
    y, gamma, v2 = eq.psi_p, eq.psi_p / eq.psi_n, eq.v2
    A = eq.a2e * _check_isotropic(model)
    w1, w2, m1, m2 = o1.w[sl1], o2.w[sl2], o1.m[sl1], o2.m[sl2]
    j0, j1, j2 = _divided_differences(w1, w2, m1, m2, y)
    bb = o1.beta[sl1] * o2.beta[sl2]
    i_kk = j2 / bb
    i_kc = (A * j2 + v2 * j1) / bb
    i_cc = (A * A * j2 + 2.0 * A * v2 * j1 + v2 * v2 * j0) / bb
    den = (1.0 + o1.delta[sl1]) * (1.0 + o2.delta[sl2]) - gamma * i_cc
    return y * (i_kk + gamma * i_kc * i_kc / den)


# ---------------------------------------------------------------- anisotropic data (any rho_Sigma)


def _is_isotropic(model: RFModel) -> bool:
    return len(model.data.values) == 1


@dataclass(frozen=True)
class _OnePointSigma:
    """Theorem 3.1 at z with the per-atom pieces of the nested equivalent (shapes (N,) and (N, K)).

    h[:, k] = 1/(1 + psi_p q D_k), g = 1 - h (computed as x/(1 + x), no cancellation),
    D_k = b_t^2 + a_t^2 e^{-2t} lambda_k/(1 + delta).
    """

    q: np.ndarray
    s: np.ndarray
    delta: np.ndarray
    h: np.ndarray
    g: np.ndarray

    def take(self, idx: np.ndarray) -> _OnePointSigma:
        return _OnePointSigma(q=self.q[idx], s=self.s[idx], delta=self.delta[idx], h=self.h[idx],
                              g=self.g[idx])


def _one_point_sigma(model: RFModel, z: np.ndarray) -> _OnePointSigma:
    """Theorem 3.1 at z (either half plane, 1-d) and the nested-equivalent pieces; any rho_Sigma."""
    eq = model.equations
    res = solve(eq, z, lower_half_plane=True)
    delta = (eq.psi_p / eq.psi_n) * (eq.a2e * res.r + eq.v2 * res.q)
    D = eq.b2 + eq.a2e * eq.lam[None, :] / (1.0 + delta[:, None])
    x = eq.psi_p * res.q[:, None] * D
    h = 1.0 / (1.0 + x)
    return _OnePointSigma(q=res.q, s=res.s, delta=delta, h=h, g=x * h)


def _two_point_sigma(model: RFModel, o1: _OnePointSigma, o2: _OnePointSigma,
                     outer: bool) -> tuple[np.ndarray, np.ndarray]:
    """(T_KK, T_KKsigma) = (1/d) Tr[R1 K R2 M], M = K and K_Sigma = W Sigma W^T/d; any rho_Sigma.

    ``outer``: on the grid o1 x o2 (shape (N1, N2)); otherwise pairwise (equal lengths).
    Outer (Y) step: T_MM' = P_MM' + u_M u_M'/(psi_n (1 + delta1)(1 + delta2) - P_CC) with
    u_M = (1/d) Tr[C Qbar1 M Qbar2], C = kappa K_Sigma + v^2, kappa = a_t^2 e^{-2t}; inner (W) step:
    module notes. With A_j = <lambda^j h1 h2>, tau0 and e1 e2 = psi_p^2 q1 q2 (docs/twopoint.md §6):
    P_KK = e1e2 A_0 + A_0^2 tau0, P_KS = e1e2 A_1 + A_0 A_1 tau0, P_SS = e1e2 A_2 + A_1^2 tau0,
    u_K = kappa P_KS + v^2 A_0 tau0, u_S = kappa P_SS + v^2 A_1 tau0,
    P_CC = kappa^2 P_SS + (2 kappa v^2 A_1 + v^4) tau0.
    """
    eq = model.equations
    pp, v2, kap = eq.psi_p, eq.v2, eq.a2e
    pi, lam = eq.pi, eq.lam
    if outer:
        def avg(x1: np.ndarray, x2: np.ndarray, wt: np.ndarray) -> np.ndarray:
            return (x1 * wt) @ x2.T

        def prod(a1: np.ndarray, a2: np.ndarray) -> np.ndarray:
            return np.multiply.outer(a1, a2)
    else:
        def avg(x1: np.ndarray, x2: np.ndarray, wt: np.ndarray) -> np.ndarray:
            return (x1 * x2) @ wt

        def prod(a1: np.ndarray, a2: np.ndarray) -> np.ndarray:
            return a1 * a2

    qq = prod(o1.q, o2.q)
    tau0 = pp * qq / (1.0 - avg(o1.g, o2.g, pi) / pp)
    ee = pp * pp * qq
    A0, A1, A2 = (avg(o1.h, o2.h, pi * lam**j) for j in range(3))
    p_kk = ee * A0 + A0 * A0 * tau0
    p_ks = ee * A1 + A0 * A1 * tau0
    p_ss = ee * A2 + A1 * A1 * tau0
    u_k = kap * p_ks + v2 * A0 * tau0
    u_s = kap * p_ss + v2 * A1 * tau0
    p_cc = kap * kap * p_ss + (2.0 * kap * v2 * A1 + v2 * v2) * tau0
    den = eq.psi_n * prod(1.0 + o1.delta, 1.0 + o2.delta) - p_cc
    return p_kk + u_k * u_k / den, p_ks + u_k * u_s / den


@numba.njit(cache=True)
def _grid_kernel(q, dl, h, g, pi, lam, pp, pn, v2, kap, wk, ws):  # pragma: no cover
    """T_KK and wk T_KK + ws T_KKsigma on the grid of nodes (same algebra as _two_point_sigma)."""
    n, na = h.shape
    out_k = np.empty((n, n), np.complex128)
    out = np.empty((n, n), np.complex128)
    for i in range(n):
        for j in range(i, n):
            A0 = 0j
            A1 = 0j
            A2 = 0j
            G = 0j
            for k in range(na):
                hh = pi[k] * h[i, k] * h[j, k]
                A0 += hh
                A1 += hh * lam[k]
                A2 += hh * lam[k] * lam[k]
                G += pi[k] * g[i, k] * g[j, k]
            qq = q[i] * q[j]
            tau0 = pp * qq / (1.0 - G / pp)
            ee = pp * pp * qq
            p_kk = ee * A0 + A0 * A0 * tau0
            p_ks = ee * A1 + A0 * A1 * tau0
            p_ss = ee * A2 + A1 * A1 * tau0
            u_k = kap * p_ks + v2 * A0 * tau0
            u_s = kap * p_ss + v2 * A1 * tau0
            p_cc = kap * kap * p_ss + (2.0 * kap * v2 * A1 + v2 * v2) * tau0
            den = pn * (1.0 + dl[i]) * (1.0 + dl[j]) - p_cc
            t_kk = p_kk + u_k * u_k / den
            val = wk * t_kk + ws * (p_ks + u_k * u_s / den)
            out_k[i, j] = t_kk
            out_k[j, i] = t_kk
            out[i, j] = val
            out[j, i] = val
    return out_k, out


def _grid_sigma(model: RFModel, o: _OnePointSigma, wk: float, ws: float) -> tuple[np.ndarray, np.ndarray]:
    """T_KK and wk T_KK + ws T_KKsigma on o x o (both symmetric in their two points)."""
    eq = model.equations
    return _grid_kernel(np.ascontiguousarray(o.q), np.ascontiguousarray(o.delta),
                        np.ascontiguousarray(o.h), np.ascontiguousarray(o.g), eq.pi, eq.lam,
                        float(eq.psi_p), float(eq.psi_n), float(eq.v2), float(eq.a2e), float(wk), float(ws))


def _population_weight(model: RFModel, t_kk: np.ndarray, t_kl: np.ndarray) -> np.ndarray:
    """(1/Gamma_t^2)(1/d) Tr[R1 K R2 K_{Sigma_t}], K_{Sigma_t} = e^{-2t} K_Sigma + Delta_t K."""
    cst = model.constants
    return (math.exp(-2.0 * model.t) * t_kl + cst.delta * t_kk) / cst.gamma2


def _as_complex(name: str, z: complex | Sequence[complex] | np.ndarray) -> np.ndarray:
    arr = np.asarray(z)
    if arr.dtype == object or not np.issubdtype(arr.dtype, np.number):
        raise ValueError(f"{name} must be numeric, got dtype {arr.dtype}")
    arr = arr.astype(np.complex128)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite (got NaN or inf)")
    return arr


def two_point(model: RFModel, z1: complex | Sequence[complex] | np.ndarray,
              z2: complex | Sequence[complex] | np.ndarray, right: str = "K") -> np.ndarray:
    """T(z1, z2) = (1/d) Tr[(U - z1)^{-1} K (U - z2)^{-1} M] in the limit, K = W W^T/d.

    Parameters
    ----------
    model : RFModel
        Any discrete data spectrum.
    z1, z2 : complex or array_like
        Spectral parameters off the support of rho (either half plane; real z gives the
        boundary value from above). Broadcast against each other.
    right : {"K", "K_sigma", "K_sigma_t"}
        M = K, K_Sigma = W Sigma W^T/d or K_{Sigma_t} = W Sigma_t W^T/d (the matrix in
        U~ = (mu_1^2/Gamma_t^2) K_{Sigma_t} + mu_*^2). For isotropic data M = K is the closed-form
        Marchenko–Pastur path; everything else the nested anisotropic path.

    Returns
    -------
    ndarray of complex
        T on the broadcast shape. T(z, z) = d/dzeta (1/d) Tr[M (U - zeta K - z)^{-1}] at zeta = 0,
        and T(conj z1, conj z2) = conj T(z1, z2).

    Examples
    --------
    >>> import rfdiff
    >>> m = rfdiff.RFModel(psi_p=8, psi_n=2, t=0.1)
    >>> T = two_point(m, [1 + 1j, 1 - 1j], 2 + 0.5j)
    >>> T.shape
    (2,)
    >>> bool(abs(two_point(m, 1 - 1j, 2 - 0.5j) - T[0].conjugate()) < 1e-12)
    True
    >>> aniso = rfdiff.RFModel(8, 2, 0.1, data=rfdiff.DataSpectrum([0.5, 1.5], [0.5, 0.5]))
    >>> T = two_point(aniso, [1 + 1j, 3j], 2 + 0.5j, right="K_sigma_t")
    >>> bool(abs(two_point(aniso, 2 + 0.5j, 3j, right="K_sigma_t") - T[1]) < 1e-12)
    True
    """
    if right not in ("K", "K_sigma", "K_sigma_t"):
        raise ValueError(f"right must be 'K', 'K_sigma' or 'K_sigma_t', got {right!r}")
    a1 = _as_complex("z1", z1)
    a2 = _as_complex("z2", z2)
    b1, b2 = np.broadcast_arrays(a1, a2)
    shape = b1.shape
    u1, inv1 = np.unique(b1.ravel(), return_inverse=True)
    u2, inv2 = np.unique(b2.ravel(), return_inverse=True)
    if right == "K" and _is_isotropic(model):
        o1 = _one_point(model, u1)
        o2 = _one_point(model, u2)
        return _two_point_from(model, o1, o2, (inv1.ravel(),), (inv2.ravel(),)).reshape(shape)
    p1 = _one_point_sigma(model, u1).take(inv1.ravel())
    p2 = _one_point_sigma(model, u2).take(inv2.ravel())
    t_kk, t_kl = _two_point_sigma(model, p1, p2, outer=False)
    if right == "K":
        out = t_kk
    elif right == "K_sigma":
        out = t_kl
    else:
        out = model.constants.gamma2 * _population_weight(model, t_kk, t_kl)
    return out.reshape(shape)


# ---------------------------------------------------------------- contours


@dataclass(frozen=True)
class Contour(Serializable):
    """Trapezoid discretisation of counter-clockwise ellipses around the support of rho.

    Attributes
    ----------
    z : ndarray of complex
        Nodes (all components together).
    weight : ndarray of complex
        dz/(2 pi i) at each node: h(U) = -sum_j weight_j h(z_j) (U - z_j)^{-1} for h analytic
        inside the ellipses.
    component : ndarray of int
        Support component of each node.
    s : ndarray of complex
        s(z_j) of Theorem 3.1.
    T : ndarray of complex
        T(z_i, z_j) = (1/d) Tr[R_i K R_j K] (see :func:`two_point`).
    mass : float
        -sum_j weight_j s_j, the mass of nu_s seen by the contours (1 when they enclose all of it).
    a_max : float
        Largest 2 Delta_t tau/psi_p the node counts were chosen for.
    T_pop : ndarray of complex
        (1/Gamma_t^2) (1/d) Tr[R_i K R_j K_{Sigma_t}], the piece of the test loss with U~
        (``two_point(..., right="K_sigma_t")/Gamma_t^2``); the same array as T for isotropic data.
    """

    z: np.ndarray
    weight: np.ndarray
    component: np.ndarray
    s: np.ndarray
    T: np.ndarray
    mass: float
    a_max: float
    T_pop: np.ndarray | None = None


_LOG_TOL = 37.0  # ln(1e16): target trapezoid error of the analytic part
_MAX_NODES = 4096


def _ellipses(sp: Spectrum, a_max: float) -> list[tuple[float, float, float, int]]:
    """(centre, half-width, rho, nodes) per group of support components.

    Components separated by a gap smaller than 5 % of the narrower one (and no atom in it) share
    one ellipse: the integrands are analytic in the gap, so enclosing it is exact, while an
    ellipse squeezed between them would need ~1/sqrt(gap) nodes (psi_p = 16, psi_n = 4, t = 0.1
    has a gap of 6e-6 between the cluster and rho_1).
    """
    support: list[tuple[float, float]] = []
    for lo, hi in sp.support:
        if support:
            plo, phi = support[-1]
            gap = lo - phi
            atom_in_gap = any(phi < x < lo for x, _w in sp.atoms)
            if gap < 0.05 * min(hi - lo, phi - plo) and not atom_in_gap:
                support[-1] = (plo, hi)
                continue
        support.append((lo, hi))
    if not support:
        raise ValueError("the spectrum has no continuous support component")
    singular = [0.0] + [float(x) for x, _w in sp.atoms]
    for lo, hi in support:
        singular += [lo, hi]
    out = []
    for lo, hi in support:
        c, h = 0.5 * (lo + hi), 0.5 * (hi - lo)
        dist = min(abs(x - c) for x in singular if x < lo - 1e-15 * c or x > hi + 1e-15 * c)
        u = dist / h
        rho_out = u + math.sqrt(u * u - 1.0)
        rho = math.sqrt(rho_out)
        n_an = 2.0 * _LOG_TOL / math.log(rho_out)
        x_left = c - 0.5 * h * (rho + 1.0 / rho)
        # e^{-a z} matters only while a x_left < ~40; its trapezoid bandwidth is ~ a h (rho + 1/rho)/2
        a_eff = min(a_max, 40.0 / x_left)
        n_osc = 1.5 * a_eff * 0.5 * h * (rho + 1.0 / rho) + 16.0
        n = int(min(_MAX_NODES, max(32, math.ceil(n_an + n_osc))))
        out.append((c, h, rho, n + (n % 2)))
    return out


def contour(model: RFModel, tau_max: float = math.inf, spectrum: Spectrum | None = None) -> Contour:
    """Nodes, weights, s and T on ellipses around each support component of rho.

    Parameters
    ----------
    model : RFModel
        Any discrete data spectrum.
    tau_max : float
        Largest finite flow time the nodes must resolve (e^{-2 Delta_t lambda tau/psi_p} oscillates
        along the contour); inf means "any" (the exponential is then negligible wherever it
        oscillates fast).
    spectrum : Spectrum, optional
        ``model.spectrum()`` if already computed.

    Returns
    -------
    Contour

    Examples
    --------
    >>> import rfdiff
    >>> ct = contour(rfdiff.RFModel(psi_p=8, psi_n=2, t=0.1))
    >>> bool(abs(ct.mass - 1) < 1e-10)
    True
    """
    tau_max = float(tau_max)
    if math.isnan(tau_max) or tau_max < 0:
        raise ValueError(f"tau_max must be >= 0, got {tau_max!r}")
    sp = model.spectrum() if spectrum is None else spectrum
    a_max = 2.0 * model.constants.delta * tau_max / model.psi_p
    zs, ws, comps = [], [], []
    for k, (c, h, rho, n) in enumerate(_ellipses(sp, a_max)):
        e = np.exp(2j * np.pi * np.arange(n) / n)
        zs.append(c + 0.5 * h * (rho * e + 1.0 / (rho * e)))
        ws.append(0.5 * h * (rho * e - 1.0 / (rho * e)) / n)
        comps.append(np.full(n, k))
    z = np.concatenate(zs)  # the real crossing theta = 0 (outside the support): q real there
    weight = np.concatenate(ws)
    if _is_isotropic(model):
        o = _one_point(model, z)
        T = _two_point_from(model, o, o, (slice(None), None), (None, slice(None)))
        T_pop = T
        s = o.s
    else:
        p = _one_point_sigma(model, z)
        cst = model.constants
        T, T_pop = _grid_sigma(model, p, cst.delta / cst.gamma2, math.exp(-2.0 * model.t) / cst.gamma2)
        s = p.s
    mass = float((-(weight * s).sum()).real)
    return Contour(z=z, weight=weight, component=np.concatenate(comps), s=s, T=T, mass=mass,
                   a_max=a_max, T_pop=T_pop)


# ---------------------------------------------------------------- learning curves


def _f_on(z: np.ndarray, a: np.ndarray) -> np.ndarray:
    """(e^{-a z} - 1)/z on nodes z (rows) for rates a (columns; inf gives -1/z)."""
    fin = np.isfinite(a)
    out = np.empty((z.size, a.size), np.complex128)
    out[:, fin] = np.expm1(-np.outer(z, a[fin])) / z[:, None]
    out[:, ~fin] = -1.0 / z[:, None]
    return out


@dataclass(frozen=True)
class LearningCurves(Serializable):
    """Limit learning curves of the gradient flow (docs/theory.md §1–§2, §7).

    Attributes
    ----------
    tau : ndarray
    train, test, gen, score : ndarray
        L_train, L_test, L_gen = L_test - L_train and
        E_score = (L_test - 1)/Delta_t + (1/d) Tr Sigma_t^{-1} (= (L_test - 1 + Delta_t/Gamma_t^2)/Delta_t
        for isotropic data).
    contour : Contour
        The quadrature used (its ``mass`` is a diagnostic: 1 to ~1e-12).
    """

    tau: np.ndarray
    train: np.ndarray
    test: np.ndarray
    gen: np.ndarray
    score: np.ndarray
    contour: Contour


def learning_curves(model: RFModel, tau: float | Sequence[float] | np.ndarray,
                    spectrum: Spectrum | None = None) -> LearningCurves:
    """L_train, L_test, L_gen and E_score at every tau in the limit d -> infinity.

    Parameters
    ----------
    model : RFModel
        Any discrete data spectrum.
    tau : float or array_like
        Flow times >= 0 (inf allowed: the min-norm interpolator's limit).
    spectrum : Spectrum, optional
        ``model.spectrum()`` if already computed.

    Returns
    -------
    LearningCurves
        Arrays of the shape of tau.

    Examples
    --------
    >>> import rfdiff
    >>> m = rfdiff.RFModel(psi_p=8, psi_n=2, t=0.1)
    >>> lc = learning_curves(m, [0.0, 1e2, np.inf])
    >>> float(lc.test[0])
    1.0
    >>> bool(lc.gen[2] > lc.gen[1] > 0)
    True
    """
    tau = _tau_array(tau)
    flat = tau.ravel()
    finite = flat[np.isfinite(flat)]
    ct = contour(model, float(finite.max()) if finite.size else 0.0, spectrum)
    cst = model.constants
    c2 = cst.mu1**2 * cst.delta / cst.gamma2
    a = 2.0 * cst.delta * flat / model.psi_p
    f = _f_on(ct.z, a)
    F = ct.weight[:, None] * f                                   # N x n_tau
    ws = ct.weight * ct.s
    j_kk = np.einsum("it,it->t", F, ct.T_pop @ F).real           # (1/d) Tr f K f K_{Sigma_t}/Gamma_t^2
    j_k2 = -model.psi_p * (ws @ (f ** 2)).real                   # (1/d) Tr f^2 K
    j_k1 = -model.psi_p * (ws @ f).real                          # (1/d) Tr f K
    j_tr = -model.psi_p * (ws @ _f_on(ct.z, 2.0 * a)).real      # (1/d) Tr[(e^{-2 a U} - 1) U^{-1} K]
    test = 1.0 + c2 * (cst.mu1**2 * j_kk + cst.mustar2 * j_k2 + 2.0 * j_k1)  # U~ = mu1^2 K_St/G^2 + mu*^2
    train = 1.0 + c2 * j_tr
    zero = flat == 0
    test[zero] = 1.0
    train[zero] = 1.0
    if _is_isotropic(model):
        score = (test - 1.0 + cst.delta / cst.gamma2) / cst.delta
    else:
        lam, pi = model.data.lam, model.data.w
        score = (test - 1.0) / cst.delta + float(pi @ (1.0 / (math.exp(-2.0 * model.t) * lam + cst.delta)))
    shp = tau.shape
    return LearningCurves(tau=tau, train=train.reshape(shp), test=test.reshape(shp),
                          gen=(test - train).reshape(shp), score=score.reshape(shp), contour=ct)


def test_loss(model: RFModel, tau: float | Sequence[float] | np.ndarray) -> np.ndarray:
    """L_test(tau) in the limit (see :func:`learning_curves`); same shape as tau.

    Examples
    --------
    >>> import rfdiff
    >>> loss = test_loss(rfdiff.RFModel(psi_p=8, psi_n=2, t=0.1), [0.0, 10.0])
    >>> bool(loss[0] == 1.0 and loss[1] < 1.0)
    True
    """
    return learning_curves(model, tau).test


test_loss.__test__ = False  # type: ignore[attr-defined]  # not a pytest test despite the name


def score_error(model: RFModel, tau: float | Sequence[float] | np.ndarray) -> np.ndarray:
    """E_score(tau) = (L_test - 1)/Delta_t + (1/d) Tr Sigma_t^{-1} in the limit; same shape as tau.

    Examples
    --------
    >>> import rfdiff
    >>> m = rfdiff.RFModel(psi_p=8, psi_n=2, t=0.1)
    >>> e = score_error(m, [0.0, 10.0])
    >>> bool(abs(e[0] - 1 / m.gamma2) < 1e-12 and e[1] < e[0])
    True
    """
    return learning_curves(model, tau).score
