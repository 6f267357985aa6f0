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

from . import contours as _ct
from . import mp as _mp
from . import resolvent as _res


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


@numba.njit(cache=True, fastmath={"contract"})
def _iso_row_split(out_r, out_i, a, w1, p1, ib1, iw1, dl1, wr, wi, pr, pi, ibr, ibi, iwr, iwi, dlr, dli,
                   y, gamma, A, v2):
    """Row a of an isotropic triangle, entries b >= a, for psi_p = y > 1 with no node in the series region:
    the y > 1 branch of :func:`_iso_value` in real arithmetic on split real and imaginary parts (the loop
    over b vectorises; contraction only, no reassociation, no NaN/inf assumptions)."""
    iy = 1.0 / y
    p1r, p1i = p1.real, p1.imag
    numr = -(p1r * p1r - p1i * p1i + p1r)  # -(p1^2 + p1)
    numi = -(2.0 * p1r * p1i + p1i)
    c1r, c1i = (1.0 - iy) * iw1.real, (1.0 - iy) * iw1.imag
    w1r, w1i = w1.real, w1.imag
    ib1r, ib1i = ib1.real, ib1.imag
    dl1r, dl1i = dl1.real, dl1.imag
    for b in range(a, wr.shape[0]):
        sr = p1r + pr[b] + 1.0  # jt0 = -(p1^2 + p1)/(w2 (p1 + p2 + 1) + 1 - y)
        si = p1i + pi[b]
        dr = wr[b] * sr - wi[b] * si + 1.0 - y
        di = wr[b] * si + wi[b] * sr
        inv = 1.0 / (dr * dr + di * di)
        jtr = (numr * dr + numi * di) * inv
        jti = (numi * dr - numr * di) * inv
        j0r = c1r * iwr[b] - c1i * iwi[b] + iy * jtr  # j0 = (1 - 1/y) / (w1 w2) + jt0 / y
        j0i = c1r * iwi[b] + c1i * iwr[b] + iy * jti
        j1r = (p1r + wr[b] * jtr - wi[b] * jti) * iy  # j1 = (p1 + w2 jt0) / y
        j1i = (p1i + wr[b] * jti + wi[b] * jtr) * iy
        ssr = w1r + wr[b]  # j2 = (1 + (w1 + w2) p1 + w2^2 jt0) / y
        ssi = w1i + wi[b]
        qr = wr[b] * wr[b] - wi[b] * wi[b]
        qi = 2.0 * wr[b] * wi[b]
        j2r = (1.0 + ssr * p1r - ssi * p1i + qr * jtr - qi * jti) * iy
        j2i = (ssr * p1i + ssi * p1r + qr * jti + qi * jtr) * iy
        bbr = ib1r * ibr[b] - ib1i * ibi[b]
        bbi = ib1r * ibi[b] + ib1i * ibr[b]
        kkr = j2r * bbr - j2i * bbi  # I_kk
        kki = j2r * bbi + j2i * bbr
        xr = A * j2r + v2 * j1r
        xi = A * j2i + v2 * j1i
        kcr = xr * bbr - xi * bbi  # I_kc
        kci = xr * bbi + xi * bbr
        zr = A * A * j2r + 2.0 * A * v2 * j1r + v2 * v2 * j0r
        zi = A * A * j2i + 2.0 * A * v2 * j1i + v2 * v2 * j0i
        ccr = zr * bbr - zi * bbi  # I_cc
        cci = zr * bbi + zi * bbr
        denr = dl1r * dlr[b] - dl1i * dli[b] - gamma * ccr
        deni = dl1r * dli[b] + dl1i * dlr[b] - gamma * cci
        k2r = kcr * kcr - kci * kci
        k2i = 2.0 * kcr * kci
        inv = 1.0 / (denr * denr + deni * deni)
        out_r[a, b] = y * (kkr + gamma * (k2r * denr + k2i * deni) * inv)
        out_i[a, b] = y * (kki + gamma * (k2i * denr - k2r * deni) * inv)


@numba.njit(cache=True)
def iso_triangles(w, p, beta, delta, real, y, gamma, A, v2, mom):
    """T(z_a, z_b) and T(z_a, conj z_b) for b >= a over the upper nodes (isotropic), as real and imaginary
    parts of shape (2, n, n); entries below the diagonal are zero, and so are the second ones for real z_b
    (conj z_b = z_b is no separate node). T(z1, z2) = T(z2, z1) and T(conj z1, conj z2) = conj T(z1, z2)
    give every other entry (docs/twopoint.md §3)."""
    big, ib, iw, dl = _iso_nodes(w, beta, delta, y)
    n = w.shape[0]
    out_r = np.zeros((2, n, n))
    out_i = np.zeros((2, n, n))
    if y > 1.0 and not np.any(big):
        wr, pr, ibr, iwr, dlr = w.real.copy(), p.real.copy(), ib.real.copy(), iw.real.copy(), dl.real.copy()
        wi, pi, ibi, iwi, dli = w.imag.copy(), p.imag.copy(), ib.imag.copy(), iw.imag.copy(), dl.imag.copy()
        for a in range(n):
            _iso_row_split(out_r[0], out_i[0], a, w[a], p[a], ib[a], iw[a], dl[a],
                           wr, wi, pr, pi, ibr, ibi, iwr, iwi, dlr, dli, y, gamma, A, v2)
            # the second triangle at the conjugates of z_b
            _iso_row_split(out_r[1], out_i[1], a, w[a], p[a], ib[a], iw[a], dl[a],
                           wr, -wi, pr, -pi, ibr, -ibi, iwr, -iwi, dlr, -dli, y, gamma, A, v2)
    else:
        _iso_triangles_general(out_r, out_i, w, p, big, ib, iw, dl, y, gamma, A, v2, mom)
    for b in range(n):  # conj z_b = z_b: no separate node
        if real[b]:
            out_r[1, :, b] = 0.0
            out_i[1, :, b] = 0.0
    return out_r, out_i


@numba.njit(cache=True)
def _iso_triangles_general(out_r, out_i, w, p, big, ib, iw, dl, y, gamma, A, v2, mom):
    """:func:`iso_triangles` through :func:`_iso_value` (any y, series region included)."""
    wl, pl, ibl, iwl, dll = np.conj(w), np.conj(p), np.conj(ib), np.conj(iw), np.conj(dl)
    n = w.shape[0]
    for a in range(n):
        for b in range(a, n):
            v = _iso_value(w[a], p[a], big[a], ib[a], iw[a], dl[a], w[b], p[b], big[b], ib[b], iw[b], dl[b],
                           y, gamma, A, v2, mom)
            out_r[0, a, b] = v.real
            out_i[0, a, b] = v.imag
        for b in range(a, n):
            v = _iso_value(w[a], p[a], big[a], ib[a], iw[a], dl[a],
                           wl[b], pl[b], big[b], ibl[b], iwl[b], dll[b], y, gamma, A, v2, mom)
            out_r[1, a, b] = v.real
            out_i[1, a, b] = v.imag


@numba.njit(cache=True)
def iso_pieces(zeta, q, r, co, A):
    """The conditional pieces of the isotropic kernel at offsets zeta from Theorem 3.1's q, r:
    delta = gamma (a^2 e^{-2t} r + v^2 q), beta = b^2 + A/(1 + delta), w = (zeta - v^2/(1 + delta))/beta and
    p, the MP piece of w (:func:`.mp.pieces`); A = a^2 e^{-2t} lambda (docs/twopoint.md §2)."""
    delta = co.gamma * (co.a2e * r + co.v2 * q)
    beta = co.b2 + A / (1.0 + delta)
    w = (zeta - co.v2 / (1.0 + delta)) / beta
    return delta, beta, w, _mp.pieces(w, co.psi_p)


@numba.njit(cache=True)
def iso_log_contour(n, c, h, rho, lo, s2, co, A, up_rule, real_rule, mom):
    """A whole isotropic log contour in one pass: the nodes (:func:`.contours.log_nodes`), Theorem 3.1
    continued along the upper half (:func:`.resolvent.march`), the pieces (:func:`iso_pieces`) and
    :func:`iso_triangles` over the upper nodes in rule order ``up_rule``.

    Returns z, zeta, weight (all nodes), s (upper nodes), the march's fallbacks and the index of a node
    where it failed (-1 if none; the rest is then unset), and the triangles.
    """
    z, zeta, weight = _ct.log_nodes(n, c, h, rho, lo, s2)
    m = n // 2 + 1
    q, r, s, _resid, fallbacks, failed = _res.march(zeta[:m].copy(), co, 1e-14)
    if failed >= 0:
        empty = np.zeros((2, 0, 0))
        return z, zeta, weight, s, fallbacks, failed, empty, empty
    delta, beta, w, p = iso_pieces(zeta[:m], q, r, co, A)
    T_re, T_im = iso_triangles(w[up_rule], p[up_rule], beta[up_rule], delta[up_rule], real_rule, co.psi_p,
                               co.gamma, A, co.v2, mom)
    return z, zeta, weight, s, fallbacks, -1, T_re, T_im


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
def aniso_triangles(q, dl, h, g, real, pi, lam, pp, pn, v2, kap, wk, ws):
    """wk T_KK + ws T_KKSigma at (z_a, z_b) and (z_a, conj z_b), b >= a, over the upper nodes (any discrete
    rho_Sigma), in the layout of :func:`iso_triangles`."""
    ql, dll, hl, gl = np.conj(q), np.conj(dl), np.conj(h), np.conj(g)
    n = q.shape[0]
    out_r = np.zeros((2, n, n))
    out_i = np.zeros((2, n, n))
    for a in range(n):
        for b in range(a, n):
            t_kk, t_ks = aniso_pair(q[a], dl[a], h[a], g[a], q[b], dl[b], h[b], g[b],
                                    pi, lam, pp, pn, v2, kap)
            v = wk * t_kk + ws * t_ks
            out_r[0, a, b] = v.real
            out_i[0, a, b] = v.imag
            if not real[b]:
                t_kk, t_ks = aniso_pair(q[a], dl[a], h[a], g[a], ql[b], dll[b], hl[b], gl[b],
                                        pi, lam, pp, pn, v2, kap)
                v = wk * t_kk + ws * t_ks
                out_r[1, a, b] = v.real
                out_i[1, a, b] = v.imag
    return out_r, out_i


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
