"""The one loss assembly: L_train and L_test from a contour rule, s and T (docs/theory.md §7).

With the flow seeing U + lam (ridge lam >= 0), a = 2 Delta_t tau/psi_p and
f(z) = (e^{-a (z + lam)} - 1)/(z + lam) (entire in z; -1/(z + lam) at tau = inf),

    L_test  = 1 + c^2 [ mu_1^2 (1/d) Tr f K f K_pop + mu_*^2 (1/d) Tr f^2 K + 2 (1/d) Tr f K ],
    L_train = 1 + c^2 (1/d) Tr chi K,      chi(z) = f(z)^2 z + 2 f(z)   (= (e^{-2 a z} - 1)/z at lam = 0),

with c^2 = mu_1^2 Delta_t/Gamma_t^2, K_pop = (1/Gamma_t^2) K_{Sigma_t} (= K for isotropic data) and
(1/d) Tr g K = -psi_p sum_j w_j s_j g(z_j), (1/d) Tr f K f K_pop = sum_ij F_i T_ij F_j, F_j = w_j f(z_j).
Only upper-half nodes are summed (real results; conjugate partners by multiplicity), and the quadratic
form only over the upper triangles of T(z_a, z_b) and T(z_a, conj z_b) (docs/twopoint.md §3). Everything
is one Numba kernel: f at the nodes, the one-point sums and the quadratic form (real and imaginary parts
held apart so that the sums over nodes vectorise; a BLAS product would start threads that oversubscribe
a busy 2-core machine), accumulating the n/2- and n/4-point sub-rules in the same pass (their nodes come
first, so their sums are prefixes of the full one), so the error estimate is free.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from .contours import Nodes


@numba.njit(cache=True, inline="always")
def _em1(zr, a):
    """e^{-a zr} - 1 for complex zr, so that f = (e^{-a (z + ridge)} - 1)/(z + ridge) = _em1(z + ridge,
    a)/(z + ridge); a = inf gives -1 (the limit on the spectrum, z + ridge > 0, continued analytically),
    a = 0 gives 0.

    expm1 of x + iy as expm1(x) cos y - 2 sin(y/2)^2 + i e^x sin y, with cos y = 1 - 2 sin(y/2)^2 and
    sin y = 2 sin(y/2) cos(y/2): no cancellation for small |x + iy|.
    """
    if math.isinf(a):
        return -1.0 + 0j
    x = -a * zr
    if x.real < -38.0:  # |e^x| < 3.2e-17: below half an ulp of the -1 it is added to
        return -1.0 + 0j
    e = math.expm1(x.real)
    sh = math.sin(0.5 * x.imag)
    ch = math.cos(0.5 * x.imag)
    s2 = 2.0 * sh * sh
    return complex(e * (1.0 - s2) - s2, (e + 1.0) * 2.0 * sh * ch)


@numba.njit(cache=True)
def error_estimate(full: float, half: float, quarter: float) -> float:
    """Error estimate of an n-node trapezoid value ``full`` from the n/2- and n/4-node values on the same
    ellipses: D1 min(1, 2 D1/D2), D1 = |full - half|, D2 = |half - quarter|.

    D1 estimates the error of the n/2 rule. For geometric convergence (trapezoid rule, analytic
    integrand: e_m ~ C rho^-m) the ratio D1/D2 ~ rho^(-n/4) is the observed contraction of one doubling
    and e_n ~ D1 (D1/D2)^2; one factor of it is used, doubled, which still bounds e_n for algebraic
    convergence e_m ~ m^-k, k >= 1 (there 2 D1/D2 = 2^(1-k) and D1 = (2^k - 1) e_n). Without contraction
    (D1 >= D2/2) the estimate is D1 itself (docs/twopoint.md §3).

    Examples
    --------
    >>> error_estimate(1.0 + 1e-12, 1.0 + 1e-7, 1.0 + 1e-4) < 1e-9
    True
    >>> error_estimate(1.0, 1.5, 1.5)
    0.5
    """
    d1 = abs(full - half)
    d2 = abs(half - quarter)
    if 2.0 * d1 < d2:
        return d1 * (2.0 * d1 / d2)
    return d1


@numba.njit(cache=True, fastmath={"reassoc", "contract"}, inline="always")
def _dot(tr, ti, fr, fi, ar, ai):
    """(ar, ai) + sum_j (tr + i ti)_j (fr + i fi)_j over contiguous slices (a vectorised loop: slices,
    not index ranges, so that no negative-index wraparound check blocks it)."""
    for j in range(tr.shape[0]):
        ar += tr[j] * fr[j] - ti[j] * fi[j]
        ai += tr[j] * fi[j] + ti[j] * fr[j]
    return ar, ai


@numba.njit(cache=True, fastmath={"reassoc", "contract"}, inline="always")
def _dot2(ar_, ai_, br_, bi_, fr, fi, sar, sai, sbr, sbi):
    """(sar, sai) + sum_j A_j F_j and (sbr, sbi) + sum_j B_j conj F_j over contiguous slices (F read once)."""
    for j in range(fr.shape[0]):
        sar += ar_[j] * fr[j] - ai_[j] * fi[j]
        sai += ar_[j] * fi[j] + ai_[j] * fr[j]
        sbr += br_[j] * fr[j] + bi_[j] * fi[j]
        sbi += bi_[j] * fr[j] - br_[j] * fi[j]
    return sar, sai, sbr, sbi


@numba.njit(cache=True, fastmath={"reassoc", "contract"})
def _quadratic(Tr, Ti, Fr, Fi, real, nq, nh):
    """sum_ij F_i T_ij F_j over all nodes, for each row k of F (K x n, at the upper nodes in rule order),
    by the n-, n/2- and n/4-node rules (rows 0, 1, 2 of the result), from the triangles of
    :func:`rfdiff._numerics.twopoint.iso_triangles` (A_ab = T(z_a, z_b), B_ab = T(z_a, conj z_b)).

    With F(conj z) = conj F(z), T symmetric and B Hermitian, the sum over all ordered pairs of nodes is
    sum_ab [c_A Re(F_a A_ab F_b) + c_B Re(F_a B_ab conj F_b)] over upper pairs, c_A = 2 - r_a r_b and
    c_B = 2 (1 - r_a)(1 - r_b) (r: on the real axis), each off-diagonal pair taken twice from b > a. The
    sub-rules are the leading nq (nh) nodes with F doubled (quadrupled): prefixes of the row sums.

    Reassociation only (no NaN/inf assumptions): it lets the dot products vectorise.
    """
    n = Tr.shape[1]
    K = Fr.shape[0]
    q = np.zeros((3, K))
    ends = (n, nh, nq)
    scale = (1.0, 4.0, 16.0)
    for a in range(n):
        ra = real[a]
        for k in range(K):
            far = Fr[k, a]
            fai = Fi[k, a]
            # diagonal terms: A_aa F_a^2, B_aa |F_a|^2
            dA = Tr[0, a, a] * (far * far - fai * fai) - Ti[0, a, a] * 2.0 * far * fai
            dB = 0.0 if ra else Tr[1, a, a] * (far * far + fai * fai)
            sar = 0.0
            sai = 0.0
            sbr = 0.0
            sbi = 0.0
            lo = a + 1
            for r in range(2, -1, -1):  # n/4 rule's end first: prefixes
                hi = max(ends[r], lo)
                if ra:
                    sar, sai = _dot(Tr[0, a, lo:hi], Ti[0, a, lo:hi], Fr[k, lo:hi], Fi[k, lo:hi], sar, sai)
                else:
                    sar, sai, sbr, sbi = _dot2(Tr[0, a, lo:hi], Ti[0, a, lo:hi], Tr[1, a, lo:hi],
                                               Ti[1, a, lo:hi], Fr[k, lo:hi], Fi[k, lo:hi],
                                               sar, sai, sbr, sbi)
                lo = hi
                if a >= ends[r]:
                    continue
                v = 2.0 * dA + 4.0 * (far * sar - fai * sai)
                if not ra:
                    v += 2.0 * dB + 4.0 * (far * sbr - fai * sbi)
                q[r, k] += scale[r] * v
    # pairs of real nodes have c_A = 1, not 2
    for a in range(n):
        if not real[a]:
            continue
        for b in range(a, n):
            if not real[b]:
                continue
            w = 1.0 if b == a else 2.0
            for k in range(K):
                v = w * (Tr[0, a, b] * (Fr[k, a] * Fr[k, b] - Fi[k, a] * Fi[k, b])
                         - Ti[0, a, b] * (Fr[k, a] * Fi[k, b] + Fi[k, a] * Fr[k, b]))
                for r in range(3):
                    if b < ends[r]:
                        q[r, k] -= scale[r] * v
    return q


@numba.njit(cache=True)
def _kernel(z, w, s, rule_w, real, nq, nh, Tr, Ti, a, ridge, psi_p, c2, mu1sq, mustar2):
    n = z.shape[0]
    K = a.shape[0]
    Fr = np.empty((K, n))
    Fi = np.empty((K, n))
    # F = w f at the upper nodes and the one-point sums over them, by the three rules (weights x1, x2, x4)
    one = np.zeros((3, 3, K))  # [rule][k2, k1, tr][tau]
    for i in range(n):
        ws = w[i] * s[i]
        zi = z[i]
        izr = 1.0 / (zi + ridge)
        for k in range(K):
            f = _em1(zi + ridge, a[k]) * izr
            F = w[i] * f
            Fr[k, i] = F.real
            Fi[k, i] = F.imag
            chi = f * (f * zi + 2.0)
            v2 = (ws * f * f).real
            v1 = (ws * f).real
            vt = (ws * chi).real
            for r in range(3):
                if rule_w[r, i] > 0.0:
                    one[r, 0, k] += rule_w[r, i] * v2
                    one[r, 1, k] += rule_w[r, i] * v1
                    one[r, 2, k] += rule_w[r, i] * vt
    quad = _quadratic(Tr, Ti, Fr, Fi, real, nq, nh)
    test = np.empty((3, K))
    train = np.empty((3, K))
    for r in range(3):
        for k in range(K):
            if a[k] == 0.0:
                test[r, k] = train[r, k] = 1.0
                continue
            lin = mustar2 * one[r, 0, k] + 2.0 * one[r, 1, k]
            test[r, k] = 1.0 + c2 * (mu1sq * quad[r, k] - psi_p * lin)
            train[r, k] = 1.0 - c2 * psi_p * one[r, 2, k]
    err = np.empty(K)
    for k in range(K):
        g0, g1, g2 = test[0, k] - train[0, k], test[1, k] - train[1, k], test[2, k] - train[2, k]
        err[k] = max(error_estimate(test[0, k], test[1, k], test[2, k]),
                     error_estimate(train[0, k], train[1, k], train[2, k]), error_estimate(g0, g1, g2))
    return test[0], train[0], err


def assemble(nodes: Nodes, s_up: np.ndarray, T_re: np.ndarray, T_im: np.ndarray, *, c2: float, mu1sq: float,
             mustar2: float, psi_p: float, a: np.ndarray, ridge: float = 0.0
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(L_test, L_train, error) at rates a (tau = a psi_p/(2 Delta_t); inf allowed) by the n-node rule;
    ``error`` is the largest :func:`error_estimate` of L_test, L_train and L_gen = L_test - L_train from
    the n/2- and n/4-node rules on the same ellipses (every other and every fourth node).

    ``s_up``: s at the upper nodes; ``T_re``, ``T_im``: the triangles of T_pop over the upper nodes in rule
    order (``nodes.up_rule``; :func:`rfdiff._numerics.twopoint.iso_triangles`).
    """
    r = nodes.rule_nodes
    return _kernel(nodes.z[r], nodes.weight[r], s_up[nodes.up_rule], nodes.rule_weights, nodes.real_rule,
                   nodes.nq_up, nodes.nh_up, T_re, T_im,
                   np.ascontiguousarray(a, dtype=np.float64), float(ridge), float(psi_p), float(c2),
                   float(mu1sq), float(mustar2))
