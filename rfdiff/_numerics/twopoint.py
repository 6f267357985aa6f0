"""Two-point kernels T(z1, z2) = (1/d) Tr[R1 K R2 M] of the deterministic equivalent (docs/twopoint.md).

One algebra per data model, written once as a scalar kernel and used for rows of a node grid
(contour quadrature) and for pairs (the public ``two_point``):

* isotropic data: T = psi_p [I_kk + gamma I_kc^2/((1 + delta1)(1 + delta2) - gamma I_cc)] with the
  I_xy from the Marchenko–Pastur divided differences of :mod:`.mp` (docs/twopoint.md §2);
* any discrete rho_Sigma: the nested leave-one-out form (docs/twopoint.md §6), giving T_KK and
  T_KKSigma from the per-atom pieces h_k = 1/(1 + psi_p q D_k), g_k = 1 - h_k.
"""

from __future__ import annotations

import numba
import numpy as np

from . import mp as _mp


@numba.njit(cache=True)
def iso_pair(w1, p1, b1, d1, w2, p2, b2, d2, y, gamma, A, v2, mom):
    """Isotropic T(z1, z2) from the conditional pieces w, p = mp.pieces(w), beta, delta at each point."""
    j0, j1, j2 = _mp.divided(w1, w2, p1, p2, y, mom)
    bb = b1 * b2
    i_kk = j2 / bb
    i_kc = (A * j2 + v2 * j1) / bb
    i_cc = (A * A * j2 + 2.0 * A * v2 * j1 + v2 * v2 * j0) / bb
    den = (1.0 + d1) * (1.0 + d2) - gamma * i_cc
    return y * (i_kk + gamma * i_kc * i_kc / den)


@numba.njit(cache=True)
def iso_rows(w, p, beta, delta, rows, y, gamma, A, v2, mom):
    """T(z_i, z_j) for i in rows and all j (isotropic)."""
    n = w.shape[0]
    out = np.empty((rows.shape[0], n), np.complex128)
    for a in range(rows.shape[0]):
        i = rows[a]
        for j in range(n):
            out[a, j] = iso_pair(w[i], p[i], beta[i], delta[i], w[j], p[j], beta[j], delta[j],
                                 y, gamma, A, v2, mom)
    return out


@numba.njit(cache=True)
def iso_pairs(w1, p1, b1, d1, w2, p2, b2, d2, y, gamma, A, v2, mom):
    """T at the pairs (z1[k], z2[k]) (isotropic)."""
    n = w1.shape[0]
    out = np.empty(n, np.complex128)
    for k in range(n):
        out[k] = iso_pair(w1[k], p1[k], b1[k], d1[k], w2[k], p2[k], b2[k], d2[k], y, gamma, A, v2, mom)
    return out


@numba.njit(cache=True)
def aniso_pair(q1, dl1, h1, g1, q2, dl2, h2, g2, pi, lam, pp, pn, v2, kap):
    """(T_KK, T_KKSigma) at one pair from the nested leave-one-out form (docs/twopoint.md §6).

    A_j = <lambda^j h1 h2>, tau0 = psi_p q1 q2/(1 - <g1 g2>/psi_p), e1 e2 = psi_p^2 q1 q2:
    P_KK = e1e2 A_0 + A_0^2 tau0, P_KS = e1e2 A_1 + A_0 A_1 tau0, P_SS = e1e2 A_2 + A_1^2 tau0,
    u_K = kappa P_KS + v^2 A_0 tau0, u_S = kappa P_SS + v^2 A_1 tau0,
    P_CC = kappa^2 P_SS + (2 kappa v^2 A_1 + v^4) tau0,
    T_MM' = P_MM' + u_M u_M'/(psi_n (1 + delta1)(1 + delta2) - P_CC).
    """
    A0 = 0j
    A1 = 0j
    A2 = 0j
    G = 0j
    for k in range(pi.shape[0]):
        hh = pi[k] * h1[k] * h2[k]
        A0 += hh
        A1 += hh * lam[k]
        A2 += hh * lam[k] * lam[k]
        G += pi[k] * g1[k] * g2[k]
    qq = q1 * q2
    tau0 = pp * qq / (1.0 - G / pp)
    ee = pp * pp * qq
    p_kk = ee * A0 + A0 * A0 * tau0
    p_ks = ee * A1 + A0 * A1 * tau0
    p_ss = ee * A2 + A1 * A1 * tau0
    u_k = kap * p_ks + v2 * A0 * tau0
    u_s = kap * p_ss + v2 * A1 * tau0
    p_cc = kap * kap * p_ss + (2.0 * kap * v2 * A1 + v2 * v2) * tau0
    den = pn * (1.0 + dl1) * (1.0 + dl2) - p_cc
    return p_kk + u_k * u_k / den, p_ks + u_k * u_s / den


@numba.njit(cache=True)
def aniso_rows(q, dl, h, g, rows, pi, lam, pp, pn, v2, kap, wk, ws):
    """T_KK and wk T_KK + ws T_KKSigma for i in rows and all j (any discrete rho_Sigma)."""
    n = q.shape[0]
    out_k = np.empty((rows.shape[0], n), np.complex128)
    out = np.empty((rows.shape[0], n), np.complex128)
    for a in range(rows.shape[0]):
        i = rows[a]
        for j in range(n):
            t_kk, t_ks = aniso_pair(q[i], dl[i], h[i], g[i], q[j], dl[j], h[j], g[j],
                                    pi, lam, pp, pn, v2, kap)
            out_k[a, j] = t_kk
            out[a, j] = wk * t_kk + ws * t_ks
    return out_k, out


@numba.njit(cache=True)
def aniso_pairs(q1, dl1, h1, g1, q2, dl2, h2, g2, pi, lam, pp, pn, v2, kap):
    """(T_KK, T_KKSigma) at the pairs (z1[k], z2[k])."""
    n = q1.shape[0]
    t_kk = np.empty(n, np.complex128)
    t_ks = np.empty(n, np.complex128)
    for k in range(n):
        t_kk[k], t_ks[k] = aniso_pair(q1[k], dl1[k], h1[k], g1[k], q2[k], dl2[k], h2[k], g2[k],
                                      pi, lam, pp, pn, v2, kap)
    return t_kk, t_ks
