"""The one loss assembly: L_train and L_test from a contour rule, s and T (docs/theory.md §7).

With the flow seeing U + lam (ridge lam >= 0), a = 2 Delta_t tau/psi_p and
f(z) = (e^{-a (z + lam)} - 1)/(z + lam) (entire in z; -1/(z + lam) at tau = inf),

    L_test  = 1 + c^2 [ mu_1^2 (1/d) Tr f K f K_pop + mu_*^2 (1/d) Tr f^2 K + 2 (1/d) Tr f K ],
    L_train = 1 + c^2 (1/d) Tr chi K,      chi(z) = f(z)^2 z + 2 f(z)   (= (e^{-2 a z} - 1)/z at lam = 0),

with c^2 = mu_1^2 Delta_t/Gamma_t^2, K_pop = (1/Gamma_t^2) K_{Sigma_t} (= K for isotropic data) and
(1/d) Tr g K = -psi_p sum_j w_j s_j g(z_j), (1/d) Tr f K f K_pop = sum_ij F_i T_ij F_j, F_j = w_j f(z_j).
Only upper-half nodes are summed (real results; conjugate partners by multiplicity). Everything is one
Numba kernel: f at the nodes, the one-point sums and the quadratic form (real and imaginary parts held
apart so that the sums over nodes vectorise; a BLAS product would start threads that oversubscribe a
busy 2-core machine), accumulating the n/2- and n/4-point sub-rules in the same pass (their columns come
first, so their sums are prefixes of the full one), so the error estimate is free.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from .contours import Nodes


@numba.njit(cache=True)
def _f(z, a, ridge):
    """(e^{-a (z + ridge)} - 1)/(z + ridge), complex z; a = inf gives -1/(z + ridge), a = 0 gives 0.

    expm1 of x + iy as expm1(x) cos y - 2 sin(y/2)^2 + i e^x sin y: no cancellation for small |x + iy|.
    """
    zr = z + ridge
    if math.isinf(a):
        return -1.0 / zr
    x = -a * zr
    e = math.expm1(x.real)
    sh = math.sin(0.5 * x.imag)
    em1 = complex(e * math.cos(x.imag) - 2.0 * sh * sh, (e + 1.0) * math.sin(x.imag))
    return em1 / zr


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


@numba.njit(cache=True, fastmath={"reassoc", "contract"})
def _quadratic(Tr, Ti, Fr, Fi, up_pos, mult, cmult, qmult, nq, nh):
    """sum_ij F_i T_ij F_j for each row k of F (K x n, columns in the rule order of ``Nodes.order``) by
    the n-, n/2- and n/4-node rules: the columns of the coarser rules come first, so their row sums are
    prefixes of the full one; rows are the upper nodes with their multiplicities in each rule (F doubled
    in the n/2 rule, quadrupled in the n/4 rule).

    Reassociation only (no NaN/inf assumptions): it lets the length-n dot products vectorise.
    """
    n_up = Tr.shape[0]
    K = Fr.shape[0]
    q = np.zeros(K)
    q_h = np.zeros(K)
    q_q = np.zeros(K)
    for i in range(n_up):
        ii = up_pos[i]
        for k in range(K):
            ar, ai = _dot(Tr[i, :nq], Ti[i, :nq], Fr[k, :nq], Fi[k, :nq], 0.0, 0.0)
            q_q[k] += 16.0 * qmult[i] * (Fr[k, ii] * ar - Fi[k, ii] * ai)
            ar, ai = _dot(Tr[i, nq:nh], Ti[i, nq:nh], Fr[k, nq:nh], Fi[k, nq:nh], ar, ai)
            q_h[k] += 4.0 * cmult[i] * (Fr[k, ii] * ar - Fi[k, ii] * ai)
            ar, ai = _dot(Tr[i, nh:], Ti[i, nh:], Fr[k, nh:], Fi[k, nh:], ar, ai)
            q[k] += mult[i] * (Fr[k, ii] * ar - Fi[k, ii] * ai)
    return q, q_h, q_q


@numba.njit(cache=True)
def _kernel(z, w, order, s_up, upper, up_pos, col_pair, col_low, mult, cmult, qmult, nq, nh, Tr, Ti, a, ridge,
            psi_p, c2, mu1sq, mustar2):
    n_up, n_all = Tr.shape
    K = a.shape[0]
    Fr = np.empty((K, n_all))
    Fi = np.empty((K, n_all))
    for j in range(n_all):  # F at the upper nodes, then F(conj z) = conj F(z)
        if not col_low[j]:
            jj = order[j]
            for k in range(K):
                F = w[jj] * _f(z[jj], a[k], ridge)
                Fr[k, j] = F.real
                Fi[k, j] = F.imag
    for j in range(n_all):
        if col_low[j]:
            jj = up_pos[col_pair[j]]
            for k in range(K):
                Fr[k, j] = Fr[k, jj]
                Fi[k, j] = -Fi[k, jj]
    # one-point sums over the upper nodes, by the three rules (weights x1, x2, x4)
    one = np.zeros((3, 3, K))  # [rule][k2, k1, tr][tau]
    for i in range(n_up):
        ii = upper[i]
        jj = up_pos[i]
        ws = w[ii] * s_up[i]
        zi = z[ii]
        rule_w = (mult[i], 2.0 * cmult[i], 4.0 * qmult[i])
        for k in range(K):
            f = complex(Fr[k, jj], Fi[k, jj]) / w[ii]
            chi = f * (f * zi + 2.0)
            v2 = (ws * f * f).real
            v1 = (ws * f).real
            vt = (ws * chi).real
            for r in range(3):
                if rule_w[r] > 0.0:
                    one[r, 0, k] += rule_w[r] * v2
                    one[r, 1, k] += rule_w[r] * v1
                    one[r, 2, k] += rule_w[r] * vt
    quad = _quadratic(Tr, Ti, Fr, Fi, up_pos, mult, cmult, qmult, nq, nh)
    test = np.empty((3, K))
    train = np.empty((3, K))
    for r in range(3):
        for k in range(K):
            if a[k] == 0.0:
                test[r, k] = train[r, k] = 1.0
                continue
            lin = mustar2 * one[r, 0, k] + 2.0 * one[r, 1, k]
            test[r, k] = 1.0 + c2 * (mu1sq * quad[r][k] - psi_p * lin)
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

    ``s_up``: s at the upper nodes; ``T_re``, ``T_im``: T_pop(z_i, z_j), i over the upper nodes, j over all
    nodes in the order ``nodes.order``.
    """
    return _kernel(nodes.z, nodes.weight, nodes.order, np.ascontiguousarray(s_up), nodes.upper, nodes.up_pos,
                   nodes.col_pair, nodes.col_low, nodes.mult, nodes.cmult, nodes.qmult, nodes.n_quarter,
                   nodes.n_half, T_re, T_im,
                   np.ascontiguousarray(a, dtype=np.float64), float(ridge), float(psi_p), float(c2),
                   float(mu1sq), float(mustar2))
