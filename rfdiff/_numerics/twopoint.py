"""Two-point kernels T(z1, z2) = (1/d) Tr[R1 K R2 M] of the deterministic equivalent (docs/twopoint.md).

One algebra per data model, written once as a scalar kernel and used for rows of a node grid
(contour quadrature) and for pairs (the public ``two_point``):

* isotropic data: T = psi_p [I_kk + gamma I_kc^2/((1 + delta1)(1 + delta2) - gamma I_cc)] with the
  I_xy from the Marchenko–Pastur divided differences of :mod:`.mp` (docs/twopoint.md §2);
* any discrete rho_Sigma: the nested leave-one-out form (docs/twopoint.md §6), giving T_KK and
  T_KKSigma from the per-atom pieces h_k = 1/(1 + psi_p q D_k), g_k = 1 - h_k.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from . import mp as _mp


@numba.njit(cache=True, inline="always")
def _div(a, b):
    """a/b for complex numbers as a conj(b)/|b|^2 (one real division; |b|^2 stays far from over/underflow
    for the O(1)..O(psi_p^2) quantities divided here)."""
    br = b.real
    bi = b.imag
    inv = 1.0 / (br * br + bi * bi)
    return complex((a.real * br + a.imag * bi) * inv, (a.imag * br - a.real * bi) * inv)


@numba.njit(cache=True)
def _iso_nodes(w, beta, delta, y):
    """Per-point pieces of the isotropic kernel: |w| > 4 b (series region), 1/beta, 1/w, 1 + delta."""
    n = w.shape[0]
    b = (1.0 + math.sqrt(y)) ** 2
    big = np.empty(n, np.bool_)
    ib = np.empty(n, np.complex128)
    iw = np.empty(n, np.complex128)
    dl = np.empty(n, np.complex128)
    for j in range(n):
        big[j] = abs(w[j]) > _mp.SERIES_RADIUS * b
        ib[j] = 1.0 / beta[j]
        iw[j] = 1.0 / w[j]
        dl[j] = 1.0 + delta[j]
    return big, ib, iw, dl


@numba.njit(cache=True, inline="always")
def _iso_value(w1, p1, big1, ib1, iw1, dl1, w2, p2, big2, ib2, iw2, dl2, y, gamma, A, v2, mom):
    """Isotropic T(z1, z2) from per-point pieces (J_j as in :func:`.mp.divided`, inlined)."""
    if big1 and big2:
        h = 1.0 + 0j
        u2s = 1.0 + 0j
        j0 = 0j
        j1 = 0j
        j2 = 0j
        for s in range(_mp.SERIES_TERMS):
            j0 += mom[s] * h
            j1 += mom[s + 1] * h
            j2 += mom[s + 2] * h
            u2s = u2s * iw2
            h = iw1 * h + u2s
        uu = iw1 * iw2
        j0 *= uu
        j1 *= uu
        j2 *= uu
    elif y > 1.0:
        iy = 1.0 / y
        jt0 = _div(-(p1 * p1 + p1), w2 * (p1 + p2) + w2 + 1.0 - y)
        j0 = (1.0 - iy) * iw1 * iw2 + jt0 * iy
        j1 = (p1 + w2 * jt0) * iy
        j2 = (1.0 + (w1 + w2) * p1 + w2 * w2 * jt0) * iy
    else:
        j0 = _div(-(y * p1 * p1 + p1), y * w2 * (p1 + p2) + w2 + y - 1.0)
        j1 = p1 + w2 * j0
        j2 = 1.0 + (w1 + w2) * p1 + w2 * w2 * j0
    bb = ib1 * ib2
    i_kk = j2 * bb
    i_kc = (A * j2 + v2 * j1) * bb
    i_cc = (A * A * j2 + 2.0 * A * v2 * j1 + v2 * v2 * j0) * bb
    den = dl1 * dl2 - gamma * i_cc
    return y * (i_kk + gamma * _div(i_kc * i_kc, den))


@numba.njit(cache=True)
def _fill(U, L, up_pos, low_pos, n):
    """Rows over the upper nodes, columns over all n nodes (positions ``up_pos``, ``low_pos``), from the
    upper triangles U[a, b] = T(z_a, z_b), L[a, b] = T(z_a, conj z_b), b >= a, by T(z1, z2) = T(z2, z1)
    and T(conj z1, conj z2) = conj T(z1, z2): T(z_a, conj z_b) = conj L[b, a] for b < a, and
    conj U[a, b] when z_a is real."""
    n_up = U.shape[0]
    out_r = np.empty((n_up, n))
    out_i = np.empty((n_up, n))
    for a in range(n_up):
        real_a = low_pos[a] < 0
        for b in range(n_up):
            u = U[a, b] if b >= a else U[b, a]
            out_r[a, up_pos[b]] = u.real
            out_i[a, up_pos[b]] = u.imag
            if low_pos[b] >= 0:
                if b >= a:
                    v = L[a, b]
                elif real_a:
                    v = np.conj(u)
                else:
                    v = np.conj(L[b, a])
                out_r[a, low_pos[b]] = v.real
                out_i[a, low_pos[b]] = v.imag
    return out_r, out_i


@numba.njit(cache=True)
def iso_rows(w, p, beta, delta, up_pos, low_pos, y, gamma, A, v2, mom):
    """T(z_i, z_j) for i over the upper nodes (positions ``up_pos`` of the node arrays, their conjugates at
    ``low_pos``) and all j (isotropic), as real and imaginary parts: the two upper triangles evaluated
    (contiguous, vectorisable loops), the rest by symmetry (:func:`_fill`)."""
    big, ib, iw, dl = _iso_nodes(w, beta, delta, y)
    n_up = up_pos.shape[0]
    wu, pu, bu, ibu, iwu, dlu = w[up_pos], p[up_pos], big[up_pos], ib[up_pos], iw[up_pos], dl[up_pos]
    wl, pl, ibl, iwl, dll = np.conj(wu), np.conj(pu), np.conj(ibu), np.conj(iwu), np.conj(dlu)
    U = np.empty((n_up, n_up), np.complex128)
    L = np.empty((n_up, n_up), np.complex128)
    for a in range(n_up):
        for b in range(a, n_up):
            U[a, b] = _iso_value(wu[a], pu[a], bu[a], ibu[a], iwu[a], dlu[a],
                                 wu[b], pu[b], bu[b], ibu[b], iwu[b], dlu[b], y, gamma, A, v2, mom)
        for b in range(a, n_up):
            L[a, b] = _iso_value(wu[a], pu[a], bu[a], ibu[a], iwu[a], dlu[a],
                                 wl[b], pl[b], bu[b], ibl[b], iwl[b], dll[b], y, gamma, A, v2, mom)
    return _fill(U, L, up_pos, low_pos, w.shape[0])


@numba.njit(cache=True)
def iso_pairs(w1, p1, b1, d1, w2, p2, b2, d2, y, gamma, A, v2, mom):
    """T at the pairs (z1[k], z2[k]) (isotropic)."""
    big1, ib1, iw1, dl1 = _iso_nodes(w1, b1, d1, y)
    big2, ib2, iw2, dl2 = _iso_nodes(w2, b2, d2, y)
    n = w1.shape[0]
    out = np.empty(n, np.complex128)
    for k in range(n):
        out[k] = _iso_value(w1[k], p1[k], big1[k], ib1[k], iw1[k], dl1[k], w2[k], p2[k], big2[k], ib2[k],
                            iw2[k], dl2[k], y, gamma, A, v2, mom)
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
def aniso_rows(q, dl, h, g, up_pos, low_pos, pi, lam, pp, pn, v2, kap, wk, ws):
    """wk T_KK + ws T_KKSigma for i over the upper nodes (positions ``up_pos``, conjugates at ``low_pos``)
    and all j (any discrete rho_Sigma), real and imaginary parts: two upper triangles, the rest by
    symmetry (:func:`_fill`)."""
    n_up = up_pos.shape[0]
    qu, dlu, hu, gu = q[up_pos], dl[up_pos], h[up_pos], g[up_pos]
    ql, dll, hl, gl = np.conj(qu), np.conj(dlu), np.conj(hu), np.conj(gu)
    U = np.empty((n_up, n_up), np.complex128)
    L = np.empty((n_up, n_up), np.complex128)
    for a in range(n_up):
        for b in range(a, n_up):
            t_kk, t_ks = aniso_pair(qu[a], dlu[a], hu[a], gu[a], qu[b], dlu[b], hu[b], gu[b],
                                    pi, lam, pp, pn, v2, kap)
            U[a, b] = wk * t_kk + ws * t_ks
            t_kk, t_ks = aniso_pair(qu[a], dlu[a], hu[a], gu[a], ql[b], dll[b], hl[b], gl[b],
                                    pi, lam, pp, pn, v2, kap)
            L[a, b] = wk * t_kk + ws * t_ks
    return _fill(U, L, up_pos, low_pos, q.shape[0])


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
