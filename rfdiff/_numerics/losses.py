"""The one loss assembly: L_train and L_test from a contour rule, s and T (docs/theory.md §7).

With the flow seeing U + lam (ridge lam >= 0), a = 2 Delta_t tau/psi_p and
f(z) = (e^{-a (z + lam)} - 1)/(z + lam) (entire in z; -1/(z + lam) at tau = inf),

    L_test  = 1 + c^2 [ mu_1^2 (1/d) Tr f K f K_pop + mu_*^2 (1/d) Tr f^2 K + 2 (1/d) Tr f K ],
    L_train = 1 + c^2 (1/d) Tr chi K,      chi(z) = f(z)^2 z + 2 f(z)   (= (e^{-2 a z} - 1)/z at lam = 0),

with c^2 = mu_1^2 Delta_t/Gamma_t^2, K_pop = (1/Gamma_t^2) K_{Sigma_t} (= K for isotropic data) and
(1/d) Tr g K = -psi_p sum_j w_j s_j g(z_j), (1/d) Tr f K f K_pop = sum_ij F_i T_ij F_j, F_j = w_j f(z_j).
Only upper-half nodes are summed (real results; conjugate partners by multiplicity). Everything is one
Numba kernel: f at the nodes, the one-point sums and the quadratic form (real and imaginary parts held
apart so that the loop over tau vectorises; a BLAS product would start threads that oversubscribe a
busy 2-core machine), accumulating the n/2-point sub-rule in the same pass, so the error estimate is
free.
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


@numba.njit(cache=True, fastmath={"reassoc", "contract"})
def _quadratic(Tr, Ti, Fr, Fi, upper, mult, cmult, col_coarse):
    """sum_ij F_i T_ij F_j for each row k of F (K x n), over all nodes (upper rows with multiplicities
    ``mult``) and over the n/2 sub-rule (rows with ``cmult`` > 0, columns with ``col_coarse``, F doubled).

    Reassociation only (no NaN/inf assumptions): it lets the length-n dot products vectorise.
    """
    n_up, n_all = Tr.shape
    K = Fr.shape[0]
    cw = np.empty(n_all)
    for j in range(n_all):
        cw[j] = 1.0 if col_coarse[j] else 0.0
    q = np.zeros(K)
    q_c = np.zeros(K)
    for i in range(n_up):
        ii = upper[i]
        coarse_row = cmult[i] > 0.0
        for k in range(K):
            ar = 0.0
            ai = 0.0
            cr = 0.0
            ci = 0.0
            for j in range(n_all):
                vr = Tr[i, j] * Fr[k, j] - Ti[i, j] * Fi[k, j]
                vi = Tr[i, j] * Fi[k, j] + Ti[i, j] * Fr[k, j]
                ar += vr
                ai += vi
                cr += cw[j] * vr
                ci += cw[j] * vi
            q[k] += mult[i] * (Fr[k, ii] * ar - Fi[k, ii] * ai)
            if coarse_row:
                q_c[k] += 4.0 * cmult[i] * (Fr[k, ii] * cr - Fi[k, ii] * ci)
    return q, q_c


@numba.njit(cache=True)
def _kernel(z, w, s_up, upper, mult, cmult, col_coarse, Tr, Ti, a, ridge, psi_p, c2, mu1sq, mustar2):
    n_up, n_all = Tr.shape
    K = a.shape[0]
    Fr = np.empty((n_all, K))
    Fi = np.empty((n_all, K))
    for j in range(n_all):
        for k in range(K):
            F = w[j] * _f(z[j], a[k], ridge)
            Fr[j, k] = F.real
            Fi[j, k] = F.imag
    # one-point sums over the upper nodes (n-node rule and n/2-node sub-rule)
    j_k2 = np.zeros(K)
    j_k1 = np.zeros(K)
    j_tr = np.zeros(K)
    c_k2 = np.zeros(K)
    c_k1 = np.zeros(K)
    c_tr = np.zeros(K)
    for i in range(n_up):
        ii = upper[i]
        ws = w[ii] * s_up[i]
        zi = z[ii]
        for k in range(K):
            f = complex(Fr[ii, k], Fi[ii, k]) / w[ii]
            chi = f * (f * zi + 2.0)
            v2 = (ws * f * f).real
            v1 = (ws * f).real
            vt = (ws * chi).real
            j_k2[k] += mult[i] * v2
            j_k1[k] += mult[i] * v1
            j_tr[k] += mult[i] * vt
            if cmult[i] > 0.0:
                c_k2[k] += 2.0 * cmult[i] * v2
                c_k1[k] += 2.0 * cmult[i] * v1
                c_tr[k] += 2.0 * cmult[i] * vt
    # the quadratic form sum_ij F_i T_ij F_j (F transposed so that the sums over j are contiguous)
    q, q_c = _quadratic(Tr, Ti, np.ascontiguousarray(Fr.T), np.ascontiguousarray(Fi.T), upper, mult, cmult,
                        col_coarse)
    test = np.empty(K)
    train = np.empty(K)
    test_c = np.empty(K)
    train_c = np.empty(K)
    for k in range(K):
        if a[k] == 0.0:
            test[k] = train[k] = test_c[k] = train_c[k] = 1.0
            continue
        test[k] = 1.0 + c2 * (mu1sq * q[k] - psi_p * (mustar2 * j_k2[k] + 2.0 * j_k1[k]))
        train[k] = 1.0 - c2 * psi_p * j_tr[k]
        test_c[k] = 1.0 + c2 * (mu1sq * q_c[k] - psi_p * (mustar2 * c_k2[k] + 2.0 * c_k1[k]))
        train_c[k] = 1.0 - c2 * psi_p * c_tr[k]
    return test, train, test_c, train_c


def assemble(nodes: Nodes, s_up: np.ndarray, T_re: np.ndarray, T_im: np.ndarray, *, c2: float, mu1sq: float,
             mustar2: float, psi_p: float, a: np.ndarray, ridge: float = 0.0
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(L_test, L_train) at rates a (tau = a psi_p/(2 Delta_t); inf allowed) by the n-node rule and by
    the n/2-node rule on the same ellipses (every other node; its difference is the error estimate).

    ``s_up``: s at the upper nodes; ``T_re``, ``T_im``: T_pop(z_i, z_j), i over the upper nodes, j over all.
    """
    return _kernel(nodes.z, nodes.weight, np.ascontiguousarray(s_up), nodes.upper, nodes.mult,
                   nodes.cmult, nodes.col_coarse, T_re, T_im, np.ascontiguousarray(a, dtype=np.float64),
                   float(ridge), float(psi_p), float(c2), float(mu1sq), float(mustar2))
