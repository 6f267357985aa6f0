"""Numba kernels of the finite-size simulator (private).

Only the loops that numpy cannot fuse live here:

* :func:`hermite_moments` evaluates sigma at the Gauss–Hermite nodes of every
  (feature, sample) pair and accumulates its normalised Hermite moments in the
  same pass, so no n x p x quadrature tensor is ever stored;
* :func:`hermite_pairs` evaluates sigma at the paired nodes +-z_q for a block of rows and
  stores sigma(m + s z_q) +- sigma(m - s z_q), so that the moments become two BLAS products
  (:func:`rfdiff.simulate._hermite.moments`; the faster path of :func:`hermite_moments`);
* :func:`horner_rank1` sums the Mehler series of the population matrix,
  sum_k rho_ij^k beta_k(i) beta_k(j), in place over the p x p correlation matrix;
* :func:`apply_inplace` applies sigma to a matrix in place (training loop);
* :func:`adam_step` and :func:`sign_step` fuse the gradient of A, the optimizer state and the
  parameter update of one step into one pass.

Every parallel loop writes disjoint outputs (no cross-thread reductions), so
results do not depend on the number of threads. No ``fastmath``: NaN checks
happen downstream. ``code`` selects the activation: 0 = tanh, 1 = erf.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from .._numerics.threads import numba_threads

__all__ = [
    "ACTIVATION_CODES",
    "adam_step",
    "apply_inplace",
    "hermite_moments",
    "hermite_pairs",
    "horner_rank1",
    "numba_threads",
    "preact_apply",
    "sign_step",
    "sparse_mehler",
]

#: activation names with a compiled kernel; any other activation uses the numpy path
ACTIVATION_CODES = {"tanh": 0, "erf": 1}


@njit(cache=True, inline="always")
def _act(code: int, x: float) -> float:
    if code == 0:
        # tanh(x) = sign(x) (1 - e)/(1 + e), e = exp(-2|x|): ~5x faster than libm tanh here,
        # absolute error <= 4e-16 (checked against np.tanh in the tests)
        e = math.exp(-2.0 * abs(x))
        r = (1.0 - e) / (1.0 + e)
        return r if x >= 0.0 else -r
    return math.erf(x)


@njit(parallel=True, cache=True)
def hermite_moments(code, mean, scale, nodes, weights, hw, coef, second):  # pragma: no cover
    """Normalised Hermite moments of sigma(mean[i, nu] + scale[i] z), z ~ N(0, 1).

    coef[k, i, nu] = E[sigma(m + s z) He_k(z)] / sqrt(k!) (hw[q, k] = weights[q] He_k(nodes[q]) / sqrt(k!)),
    second[i, nu] = E sigma(m + s z)^2.
    The rule must be symmetric with an even number of nodes (nodes[nq-1-q] = -nodes[q]): each
    pair is done at once, He_k(-z) = (-1)^k He_k(z) halving the multiply-adds.
    """
    p, n = mean.shape
    nq, k1 = hw.shape
    half = nq // 2
    for i in prange(p):
        acc = np.empty(k1)
        s_i = scale[i]
        for nu in range(n):
            for k in range(k1):
                acc[k] = 0.0
            m = mean[i, nu]
            s2 = 0.0
            for q in range(half):
                a = _act(code, m + s_i * nodes[q])
                b = _act(code, m - s_i * nodes[q])
                s2 += weights[q] * (a * a + b * b)
                sp = a + b
                sm = a - b
                for k in range(0, k1, 2):
                    acc[k] += sp * hw[q, k]
                for k in range(1, k1, 2):
                    acc[k] += sm * hw[q, k]
            for k in range(k1):
                coef[k, i, nu] = acc[k]
            second[i, nu] = s2


#: tanh by the product form below is used for a row when max_nu |m| + s max_q |z_q| <= this:
#: then exp(2 m) and exp(2 s z) are both in [e^-340, e^340] and their product or quotient stays
#: normal (no overflow, no underflow); other rows use :func:`_act`
PRODUCT_TANH_LIMIT = 170.0


@njit(parallel=True, cache=True)
def hermite_pairs(code, mean, scale, nodes, weights, lo, SP, SM, second):  # pragma: no cover
    """For rows i = lo .. lo + SP.shape[1] - 1 and the nodes z_q, q < nq/2, of a symmetric rule:

        SP[q, i - lo, nu] = sigma(m + s z_q) + sigma(m - s z_q),
        SM[q, i - lo, nu] = sigma(m + s z_q) - sigma(m - s z_q),
        second[i, nu]     = sum_q weights[q] (sigma(m + s z_q)^2 + sigma(m - s z_q)^2)   (all nq nodes),

    m = mean[i, nu], s = scale[i]. For tanh, with E = e^{2m} and e_q = e^{2 s z_q},
    tanh(m + s z_q) = (E e_q - 1)/(E e_q + 1) and tanh(m - s z_q) = (E - e_q)/(E + e_q): two exp per
    (i, nu) and per (i, q) instead of two per (i, nu, q), and a loop over nu that vectorises.
    Absolute error a few ulps of 1, as :func:`_act` (each factor carries one rounding; checked
    against np.tanh in the tests). Rows where the factors could leave the normal range
    (:data:`PRODUCT_TANH_LIMIT`) use :func:`_act`. Each row is one thread's output.
    """
    half, rows, n = SP.shape
    zmax = 0.0
    for q in range(half):
        zmax = max(zmax, abs(nodes[q]))
    for r in prange(rows):
        i = lo + r
        s_i = scale[i]
        s2 = second[i]
        for nu in range(n):
            s2[nu] = 0.0
        mmax = 0.0
        for nu in range(n):
            mmax = max(mmax, abs(mean[i, nu]))
        if code == 0 and mmax + s_i * zmax <= PRODUCT_TANH_LIMIT:
            em = np.empty(n)
            for nu in range(n):
                em[nu] = math.exp(2.0 * mean[i, nu])
            for q in range(half):
                eq = math.exp(2.0 * s_i * nodes[q])
                wq = weights[q]
                sp = SP[q, r]
                sm = SM[q, r]
                for nu in range(n):
                    e = em[nu]
                    ee = e * eq
                    a = (ee - 1.0) / (ee + 1.0)
                    b = (e - eq) / (e + eq)
                    sp[nu] = a + b
                    sm[nu] = a - b
                    s2[nu] += wq * (a * a + b * b)
        else:
            for q in range(half):
                zq = s_i * nodes[q]
                wq = weights[q]
                for nu in range(n):
                    m = mean[i, nu]
                    a = _act(code, m + zq)
                    b = _act(code, m - zq)
                    SP[q, r, nu] = a + b
                    SM[q, r, nu] = a - b
                    s2[nu] += wq * (a * a + b * b)


@njit(parallel=True, cache=True)
def horner_rank1(rho, beta, diag):  # pragma: no cover
    """In place: rho[i, j] <- sum_k rho[i, j]^k beta[i, k] beta[j, k] (i != j), rho[i, i] <- diag[i]."""
    p = rho.shape[0]
    k1 = beta.shape[1]
    bt = np.ascontiguousarray(beta.T)  # k1 x p: the loop over j runs along rows (vectorises)
    for i in prange(p):
        # per entry the same Horner steps as acc = acc * r + beta[i, k] * beta[j, k], in the same
        # order (no fastmath: no contraction), so the bits do not change with the loop order
        row = rho[i]
        acc = np.empty(p)
        bik = beta[i, k1 - 1]
        for j in range(p):
            acc[j] = bik * bt[k1 - 1, j]
        for k in range(k1 - 2, -1, -1):
            bik = beta[i, k]
            for j in range(p):
                acc[j] = acc[j] * row[j] + bik * bt[k, j]
        for j in range(p):
            row[j] = acc[j]
        row[i] = diag[i]


@njit(parallel=True, cache=True)
def sparse_mehler(U, coef, rows, cols, rho, k_lo, inv_n):  # pragma: no cover
    """For each listed pair (i, j), i != j, add to U[i, j] and U[j, i]

        sum_{k >= k_lo} rho^k mean_nu coef[k, i, nu] coef[k, j, nu].

    Pairs must be distinct and unordered-unique, so the writes never collide.
    """
    k1, _, n = coef.shape
    for m in prange(rows.size):
        i = rows[m]
        j = cols[m]
        r = rho[m]
        rk = r ** k_lo
        extra = 0.0
        for k in range(k_lo, k1):
            g = 0.0
            for nu in range(n):
                g += coef[k, i, nu] * coef[k, j, nu]
            extra += rk * g
            rk *= r
        U[i, j] += extra * inv_n
        U[j, i] += extra * inv_n


@njit(parallel=True, cache=True)
def _preact_apply_parallel(code, h, scale, mean):  # pragma: no cover
    p, n = h.shape
    for i in prange(p):
        for j in range(n):
            h[i, j] = _act(code, scale * h[i, j] + mean[i, j])


@njit(cache=True)
def _preact_apply_serial(code, h, scale, mean):  # pragma: no cover
    p, n = h.shape
    for i in range(p):
        for j in range(n):
            h[i, j] = _act(code, scale * h[i, j] + mean[i, j])


#: below this many entries the elementwise kernels run on one thread: waking the pool costs more,
#: and on a shared machine every parallel region waits for a time slice
SERIAL_BELOW = 1 << 16


def preact_apply(code: int, h: np.ndarray, scale: float, mean: np.ndarray) -> None:
    """In place: h <- sigma(scale h + mean) (one fused pass of the training step)."""
    if h.size < SERIAL_BELOW:
        _preact_apply_serial(code, h, scale, mean)
    else:
        _preact_apply_parallel(code, h, scale, mean)


@njit(parallel=True, cache=True)
def _apply_parallel(code, h):  # pragma: no cover
    p, n = h.shape
    for i in prange(p):
        for j in range(n):
            h[i, j] = _act(code, h[i, j])


@njit(cache=True)
def _apply_serial(code, h):  # pragma: no cover
    p, n = h.shape
    for i in range(p):
        for j in range(n):
            h[i, j] = _act(code, h[i, j])


def apply_inplace(code: int, h: np.ndarray) -> None:
    """In place: h <- sigma(h) for a 2-d C-contiguous array (same arithmetic serial or parallel)."""
    if h.size < SERIAL_BELOW:
        _apply_serial(code, h)
    else:
        _apply_parallel(code, h)


@njit(cache=True, inline="always")
def _adam_row(i, B, G, m, v, c1, c2, beta1, beta2, step, inv_bc2_sqrt, eps, rate_sum):  # pragma: no cover
    acc = 0.0
    for j in range(B.shape[1]):
        g = c1 * G[i, j] + c2 * B[i, j]  # gradient of the loss (with its ridge term) w.r.t. A
        mm = beta1 * m[i, j] + (1.0 - beta1) * g
        vv = beta2 * v[i, j] + (1.0 - beta2) * (g * g)
        m[i, j] = mm
        v[i, j] = vv
        denom = math.sqrt(vv) * inv_bc2_sqrt + eps
        B[i, j] -= step * (mm / denom)
        acc += 1.0 / denom
    rate_sum[i] = acc


@njit(cache=True)
def _adam_serial(B, G, m, v, c1, c2, beta1, beta2, step, inv_bc2_sqrt, eps, rate_sum):  # pragma: no cover
    for i in range(B.shape[0]):
        _adam_row(i, B, G, m, v, c1, c2, beta1, beta2, step, inv_bc2_sqrt, eps, rate_sum)


@njit(parallel=True, cache=True)
def _adam_parallel(B, G, m, v, c1, c2, beta1, beta2, step, inv_bc2_sqrt, eps, rate_sum):  # pragma: no cover
    for i in prange(B.shape[0]):
        _adam_row(i, B, G, m, v, c1, c2, beta1, beta2, step, inv_bc2_sqrt, eps, rate_sum)


def adam_step(B, G, m, v, c1, c2, beta1, beta2, step, inv_bc2_sqrt, eps, rate_sum) -> None:
    """One Adam update in place (PyTorch's arithmetic), all arrays C-contiguous, same shape.

    g = c1 G + c2 B (the gradient w.r.t. the parameter, ridge included), m <- beta1 m + (1 - beta1) g,
    v <- beta2 v + (1 - beta2) g^2, B <- B - step m / (sqrt(v) inv_bc2_sqrt + eps), where
    ``step`` = lr / (1 - beta1^k) / (the parameter's scale) and inv_bc2_sqrt = 1/sqrt(1 - beta2^k).
    rate_sum[i] receives sum_j 1/(sqrt(v_ij) inv_bc2_sqrt + eps) of row i (each row is one thread's
    output, so the result does not depend on the thread count).
    """
    if B.size < SERIAL_BELOW:
        _adam_serial(B, G, m, v, c1, c2, beta1, beta2, step, inv_bc2_sqrt, eps, rate_sum)
    else:
        _adam_parallel(B, G, m, v, c1, c2, beta1, beta2, step, inv_bc2_sqrt, eps, rate_sum)


@njit(cache=True)
def _sign_serial(B, G, c1, c2, step):  # pragma: no cover
    for i in range(B.shape[0]):
        for j in range(B.shape[1]):
            g = c1 * G[i, j] + c2 * B[i, j]
            if g > 0.0:
                B[i, j] -= step
            elif g < 0.0:
                B[i, j] += step


@njit(parallel=True, cache=True)
def _sign_parallel(B, G, c1, c2, step):  # pragma: no cover
    for i in prange(B.shape[0]):
        for j in range(B.shape[1]):
            g = c1 * G[i, j] + c2 * B[i, j]
            if g > 0.0:
                B[i, j] -= step
            elif g < 0.0:
                B[i, j] += step


def sign_step(B, G, c1, c2, step) -> None:
    """In place: B <- B - step sign(c1 G + c2 B) (sign 0 at 0; a NaN gradient leaves B unchanged,
    the caller checks the loss)."""
    if B.size < SERIAL_BELOW:
        _sign_serial(B, G, c1, c2, step)
    else:
        _sign_parallel(B, G, c1, c2, step)
