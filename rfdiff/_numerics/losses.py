"""The one loss assembly: L_train and L_test from a contour rule, s and T (docs/theory.md §7).

With the flow seeing U + lam (ridge lam >= 0), a = 2 Delta_t tau/psi_p and
f(z) = (e^{-a (z + lam)} - 1)/(z + lam) (entire in z; -1/(z + lam) at tau = inf),

    L_test  = 1 + c^2 [ mu_1^2 (1/d) Tr f K f K_pop + mu_*^2 (1/d) Tr f^2 K + 2 (1/d) Tr f K ],
    L_train = 1 + c^2 (1/d) Tr chi K,      chi(z) = f(z)^2 z + 2 f(z)   (= (e^{-2 a z} - 1)/z at lam = 0),

with c^2 = mu_1^2 Delta_t/Gamma_t^2, K_pop = (1/Gamma_t^2) K_{Sigma_t} (= K for isotropic data) and
(1/d) Tr g K = -psi_p sum_j w_j s_j g(z_j), (1/d) Tr f K f K_pop = sum_ij F_i T_ij F_j, F_j = w_j f(z_j).
Only upper-half nodes are summed (real results; conjugate partners by multiplicity). The quadratic form
is a Numba kernel (a BLAS product would start threads that oversubscribe a busy 2-core machine by 15x),
and it accumulates the n/2-point sub-rule in the same pass over T, so the error estimate is free.
"""

from __future__ import annotations

import numba
import numpy as np

from .contours import Nodes


def f_values(z: np.ndarray, a: np.ndarray, ridge: float = 0.0) -> np.ndarray:
    """f(z_j; a_k) = (e^{-a_k (z_j + ridge)} - 1)/(z_j + ridge) on nodes (rows) x rates (columns).

    a = inf gives -1/(z + ridge); a = 0 gives 0. expm1 keeps |a z| << 1 exact.
    """
    zr = z + ridge
    fin = np.isfinite(a)
    out = np.empty((z.size, a.size), np.complex128)
    out[:, fin] = np.expm1(-np.outer(zr, a[fin])) / zr[:, None]
    out[:, ~fin] = -1.0 / zr[:, None]
    return out


@numba.njit(cache=True)
def _quadratic(T, F, upper, mult, cmult, col_coarse):
    """sum_ij F_i T_ij F_j for each column of F, over all nodes (upper rows, multiplicities ``mult``) and
    over the n/2 sub-rule (rows with ``cmult`` > 0, columns with ``col_coarse``; F doubled there)."""
    n_up, n_all = T.shape
    K = F.shape[1]
    out = np.zeros(K)
    out_c = np.zeros(K)
    acc = np.empty(K, np.complex128)
    acc_c = np.empty(K, np.complex128)
    for i in range(n_up):
        acc[:] = 0.0
        acc_c[:] = 0.0
        for j in range(n_all):
            t = T[i, j]
            if col_coarse[j]:
                for k in range(K):
                    v = t * F[j, k]
                    acc[k] += v
                    acc_c[k] += v
            else:
                for k in range(K):
                    acc[k] += t * F[j, k]
        ii = upper[i]
        for k in range(K):
            out[k] += mult[i] * (F[ii, k] * acc[k]).real
        if cmult[i] > 0.0:
            for k in range(K):
                out_c[k] += 4.0 * cmult[i] * (F[ii, k] * acc_c[k]).real
    return out, out_c


def assemble(nodes: Nodes, s_up: np.ndarray, T_rows: np.ndarray, *, c2: float, mu1sq: float,
             mustar2: float, psi_p: float, a: np.ndarray, ridge: float = 0.0
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(L_test, L_train) at rates a (tau = a psi_p/(2 Delta_t); inf allowed) by the n-node rule and by
    the n/2-node rule on the same ellipses (every other node; its difference is the error estimate).

    ``s_up``: s at the upper nodes; ``T_rows``: T_pop(z_i, z_j), i over the upper nodes, j over all.
    """
    z = nodes.z
    F = nodes.weight[:, None] * f_values(z, a, ridge)
    cmult = np.zeros(nodes.upper.size)
    cmult[nodes.coarse_upper] = nodes.coarse_mult
    col_coarse = np.zeros(nodes.n, np.bool_)
    col_coarse[nodes.coarse] = True
    j_kk, j_kk_c = _quadratic(T_rows, np.ascontiguousarray(F), nodes.upper, nodes.mult, cmult, col_coarse)
    z_up = z[nodes.upper]
    f_up = F[nodes.upper] / nodes.weight[nodes.upper][:, None]
    ws = nodes.weight[nodes.upper] * s_up
    chi = f_up * (f_up * z_up[:, None] + 2.0)
    out = []
    for m, scale in ((nodes.mult, 1.0), (cmult, 2.0)):
        wsm = (scale * m * ws)[:, None]
        j_k2 = -psi_p * (wsm * f_up * f_up).sum(axis=0).real
        j_k1 = -psi_p * (wsm * f_up).sum(axis=0).real
        j_tr = -psi_p * (wsm * chi).sum(axis=0).real
        out.append((j_k2, j_k1, j_tr))
    zero = a == 0
    res = []
    for j_kk_r, (j_k2, j_k1, j_tr) in zip((j_kk, j_kk_c), out):
        test = 1.0 + c2 * (mu1sq * j_kk_r + mustar2 * j_k2 + 2.0 * j_k1)
        train = 1.0 + c2 * j_tr
        test[zero] = 1.0
        train[zero] = 1.0
        res += [test, train]
    return res[0], res[1], res[2], res[3]
