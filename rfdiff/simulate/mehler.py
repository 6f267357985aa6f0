"""Exact noise average by Mehler's formula: U, V and the population U~, V~ (docs/simulate.md).

For fixed W and x^nu the preactivations h_i = w_i . x_t^nu / sqrt(d) are Gaussian with means
m_i = e^{-t} w_i . x^nu / sqrt(d) and covariance C = Delta_t W W^T / d. With
c_i = C_ii and rho_ij = C_ij / sqrt(c_i c_j) (the cosine between w_i and w_j),
Mehler's formula gives, for i != j,

    E[sigma(h_i) sigma(h_j)] = sum_k rho_ij^k alpha_k(i, nu) alpha_k(j, nu),
    alpha_k(i, nu) = E[sigma(m_i + sqrt(c_i) z) He_k(z)] / sqrt(k!),   z ~ N(0, 1),

the expansion in the off-diagonal noise covariance written with normalised coefficients
(E sigma^(k)(m + sqrt(c) z) = c^{-k/2} E[sigma(m + sqrt(c) z) He_k(z)], Gaussian
integration by parts), so any plain callable works. The alpha_k come from
Gauss–Hermite quadrature; the diagonal U_ii = mean_nu E sigma(m_i + sqrt(c_i) z)^2
is a 1-d quadrature, exact up to quadrature error. The k-sum is evaluated by
Horner's rule, block by block, each term one BLAS product of p x n blocks.
V follows exactly from Stein's lemma:
V_i = sqrt(Delta_t) mean_nu E[sigma'(h_i^nu)] w_i / sqrt(d), with
E sigma'(m + sqrt(c) z) = alpha_1 / sqrt(c).

**Truncation bound.** With T_i^nu(K) = E sigma^2 - sum_{k<=K} alpha_k^2 (the
Hermite energy beyond order K, computed from the same quadrature) and
Cauchy–Schwarz, every off-diagonal entry obeys
|U_ij - U_ij^(K)| <= |rho_ij|^{K+1} sqrt(Tbar_i Tbar_j) <= rho_max^{K+1} max_i Tbar_i
(Tbar_i = mean_nu T_i^nu). K is the smallest order whose bound is <= ``tol``
(a pilot on the worst rows proposes K, the full pass verifies it and raises K if
needed). The spectral-norm error is at most p times the entrywise bound.
Since |rho_ij| ~ 1/sqrt(d) for most pairs, only orders 0..K_b go through BLAS for
all pairs; orders K_b+1..K are added pair by pair where |rho_ij| > cut, with
cut^{K_b+1} max_i Tbar_i(K_b) = tol, so every pair keeps the bound (diagnostics
``order_dense`` and ``sparse_pairs``).

**Population.** For Gaussian data x_t ~ N(0, Sigma_t) the preactivations are jointly
Gaussian with zero mean and covariance K = W Sigma_t W^T / d, so the same expansion
(in rho~_ij = K_ij / sqrt(K_ii K_jj), coefficients beta_k(i) of sigma(sqrt(K_ii) z))
gives U~ with the same kind of bound, and Stein gives
V~_i = sqrt(Delta_t) E[sigma'(h_i)] w_i / sqrt(d).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.linalg import blas as _blas

from ..activations import Activation
from . import _kernels
from ._features import activation_code
from ._hermite import hermite_table, moments, quad_rule

__all__ = ["SPARSE_FRACTION", "MehlerPart", "conditional", "population"]

#: the dense (BLAS) part of the Mehler sum stops at the first order K_b after which at most this
#: fraction of the pairs (those with |rho_ij| > cut) still needs terms; they are added pair by pair
SPARSE_FRACTION = 0.005


def _tails(coef: np.ndarray, second: np.ndarray) -> np.ndarray:
    """max_i mean_nu T_i^nu(k) for k = 0..K, T = E sigma^2 - sum_{j<=k} alpha_j^2 (clipped at 0)."""
    energy = np.zeros_like(second)
    sq = np.empty_like(second)
    out = np.empty(coef.shape[0])
    for k in range(coef.shape[0]):
        np.square(coef[k], out=sq)
        energy += sq
        np.subtract(second, energy, out=sq)
        np.maximum(sq, 0.0, out=sq)
        out[k] = sq.mean(axis=1).max()
    return out


def _offdiag_absmax(unit: np.ndarray, block: int) -> tuple[float, np.ndarray]:
    """max_{i != j} |unit_i . unit_j| by blocks (never a full p x p matrix), and a sample of the values.

    The sample (the first block's off-diagonal values, sorted) only steers the cost model
    that splits the Mehler sum into dense and sparse parts; the bounds never use it.
    """
    p = unit.shape[0]
    best = 0.0
    sample = np.zeros(0)
    for lo in range(0, p, block):
        hi = min(p, lo + block)
        g = np.abs(unit[lo:hi] @ unit.T)
        g[np.arange(hi - lo), np.arange(lo, hi)] = -1.0
        best = max(best, float(g.max()))
        if lo == 0:
            sample = np.sort(g[g >= 0.0])
    return best, sample



@dataclass(frozen=True)
class MehlerPart:
    """One half of the exact matrices (U, V or U~, V~) with the diagnostics of its expansion.

    ``order`` is the truncation order K, ``bound`` the entrywise truncation bound, ``rho_max`` the
    largest off-diagonal correlation, ``quad_order``/``quad_error`` the Gauss–Hermite order and its
    estimated error; ``order_dense`` and ``sparse_pairs`` describe the dense/sparse split (U only).
    """

    U: np.ndarray
    V: np.ndarray
    order: int
    bound: float
    rho_max: float
    quad_order: int
    quad_error: float
    order_dense: int = 0
    sparse_pairs: int = 0


def conditional(
    act: Activation, W: np.ndarray, X: np.ndarray, t: float, tol: float, max_order: int, block: int,
    sparse_fraction: float = SPARSE_FRACTION,
) -> MehlerPart:
    """U and V of the training set with the noise average exact (module notes).

    Parameters
    ----------
    act : Activation
    W, X : ndarray
        Weights (p x d) and data (n x d).
    t : float
        Diffusion time.
    tol : float
        Entrywise bound on the truncation error of U.
    max_order : int
        Largest Mehler order.
    block : int
        Row block of the p x p products.
    sparse_fraction : float
        Orders above ``order_dense`` go pair by pair once at most this fraction of the pairs
        needs them (negative: never split).

    Returns
    -------
    MehlerPart

    Examples
    --------
    >>> import numpy as np
    >>> from rfdiff.activations import get_activation
    >>> rng = np.random.default_rng(0)
    >>> W, X = rng.standard_normal((6, 3)), rng.standard_normal((2, 3))
    >>> part = conditional(get_activation("tanh"), W, X, 0.1, 1e-10, 64, 6)
    >>> part.U.shape, part.V.shape, part.bound <= 1e-10
    ((6, 6), (6, 3), True)
    """
    code = activation_code(act)
    p, d = W.shape
    n = X.shape[0]
    delta = -math.expm1(-2.0 * t)
    mean = (math.exp(-t) / math.sqrt(d)) * (W @ X.T)  # m_i^nu
    rn2 = np.einsum("ij,ij->i", W, W) / d  # |w_i|^2 / d
    if np.any(rn2 <= 0):
        raise ValueError("W must not have a zero row")
    scale = np.sqrt(delta * rn2)  # sqrt(c_i)
    unit = W / np.sqrt(rn2 * d)[:, None]
    rho_max, rho_sample = _offdiag_absmax(unit, block) if p > 1 else (0.0, np.zeros(0))

    # pilot: the rows with the widest noise (largest tails) plus evenly spaced rows, <= 256 samples
    rows = np.unique(np.concatenate([np.argsort(scale)[-16:], np.linspace(0, p - 1, min(p, 16)).astype(int)]))
    cols = np.unique(np.linspace(0, n - 1, min(n, 256)).astype(int))
    k1 = max_order + 1
    q_order = quad_rule(float(scale.max()), k1)
    pm = mean[np.ix_(rows, cols)]
    coef_p, second_p = moments(act, code, pm, scale[rows], q_order, k1)
    bounds = rho_max ** np.arange(1, k1 + 1) * _tails(coef_p, second_p)
    ok = np.nonzero(bounds <= 0.25 * tol)[0]  # margin: the pilot sees only some rows
    order = max(1, int(ok[0])) if ok.size else max_order  # V needs alpha_1
    del coef_p

    while True:  # the full pass verifies the pilot's order on every row
        q_order = quad_rule(float(scale.max()), order + 1)
        coef, second = moments(act, code, mean, scale, q_order, order + 1)
        tails = _tails(coef, second)
        bound = float(rho_max ** (order + 1) * tails[order]) if p > 1 else 0.0
        if bound <= tol or order >= max_order:
            break
        order = min(max_order, order + 4)
    # quadrature check on the pilot rows: the order used against one raised by half
    q_hi = q_order * 3 // 2 + 8
    q_hi += q_hi % 2
    coef_lo, _ = moments(act, code, pm, scale[rows], q_order, order + 1)
    coef_hi, _ = moments(act, code, pm, scale[rows], q_hi, order + 1)
    quad_error = float(np.abs(coef_hi - coef_lo).max())
    del coef_lo, coef_hi

    # dense orders 0..K_b for all pairs; orders K_b+1..K only where |rho_ij| > cut, with
    # cut^{K_b+1} max_i Tbar_i(K_b) = tol, so every pair keeps the entrywise bound
    order_dense, cut = order, math.inf
    for kb in range(1, order):
        # 0.999: keep the dense-part bound strictly below tol despite rounding
        c = (0.999 * tol / tails[kb]) ** (1.0 / (kb + 1)) if tails[kb] > 0 else math.inf
        frac = 1.0 - np.searchsorted(rho_sample, c, side="right") / max(1, rho_sample.size)
        if c >= rho_max or frac <= sparse_fraction:
            order_dense, cut = kb, c
            break
    if order_dense < order:
        bound = max(bound, min(cut, rho_max) ** (order_dense + 1) * float(tails[order_dense]))

    U, pairs = _mehler_blocks(coef, unit, second.mean(axis=1), n, block, order_dense, cut)
    dsig = coef[1].mean(axis=1) / scale  # mean_nu E sigma'(h_i)
    V = (math.sqrt(delta / d) * dsig)[:, None] * W
    return MehlerPart(U, V, order, bound, rho_max, q_order, quad_error, order_dense, pairs)


def _horner_diagonal_block(coef: np.ndarray, rho: np.ndarray) -> np.ndarray:
    """sum_k rho^k (B_k B_k^T) for a diagonal block (rho symmetric), by Horner's rule with BLAS syrk.

    The products B_k B_k^T are symmetric: ``dsyrk`` forms one triangle (half the flops of a
    general product) and adds it into the accumulator in place (no temporary, no extra pass).
    Fortran order: the C-ordered p x n block is the Fortran n x p matrix B_k^T (trans = 1 gives
    B_k B_k^T, no copy), and ``acc`` is built in Fortran order; its upper triangle is filled, then
    mirrored. The same sums as a general product, in another order.
    """
    b = coef.shape[1]
    acc = np.zeros((b, b), order="F")
    rho_f = rho.T  # Fortran-ordered view, equal to rho (symmetric)
    for k in range(coef.shape[0] - 1, -1, -1):
        if k < coef.shape[0] - 1:
            np.multiply(acc, rho_f, out=acc)
        acc = _blas.dsyrk(1.0, coef[k].T, beta=1.0, c=acc, trans=1, lower=0, overwrite_c=1)
    # the strictly lower triangle is never referenced by dsyrk: it stays exactly 0 (0 * rho), so
    # acc + acc^T is the symmetric matrix off the diagonal (one pass, no triangle masks)
    full = np.add(acc, acc.T, out=np.empty((b, b)))
    np.fill_diagonal(full, np.diagonal(acc))
    return full


def _mehler_blocks(
    coef: np.ndarray, unit: np.ndarray, diag: np.ndarray, n: int, block: int, order_dense: int, cut: float
) -> tuple[np.ndarray, int]:
    """U_ij = (1/n) sum_k rho_ij^k (B_k B_k^T)_ij, diag exact.

    Orders 0..order_dense by Horner's rule on blocks (i <= j), one BLAS product per order
    and block; higher orders only for the pairs with |rho_ij| > cut (a Numba kernel).
    Returns U and the number of such pairs.
    """
    k1, p, _ = coef.shape
    U = np.empty((p, p))
    sparse_i, sparse_j, sparse_r = [], [], []
    for lo in range(0, p, block):
        hi = min(p, lo + block)
        for lo2 in range(lo, p, block):
            hi2 = min(p, lo2 + block)
            rho = unit[lo:hi] @ unit[lo2:hi2].T
            if lo2 == lo:
                acc = _horner_diagonal_block(coef[: order_dense + 1, lo:hi], rho)
            else:
                acc = coef[order_dense, lo:hi] @ coef[order_dense, lo2:hi2].T
                tmp = np.empty_like(acc)
                for k in range(order_dense - 1, -1, -1):
                    acc *= rho
                    np.matmul(coef[k, lo:hi], coef[k, lo2:hi2].T, out=tmp)
                    acc += tmp
            acc *= 1.0 / n
            U[lo:hi, lo2:hi2] = acc
            if lo2 != lo:
                U[lo2:hi2, lo:hi] = acc.T
            if order_dense < k1 - 1:
                ii, jj = np.nonzero(np.abs(rho) > cut)
                keep = ii + lo < jj + lo2  # each unordered off-diagonal pair once
                sparse_i.append(ii[keep] + lo)
                sparse_j.append(jj[keep] + lo2)
                sparse_r.append(rho[ii[keep], jj[keep]])
    pairs = 0
    if sparse_i:
        rows = np.concatenate(sparse_i).astype(np.int64)
        pairs = int(rows.size)
        if pairs:
            _kernels.sparse_mehler(U, coef, rows, np.concatenate(sparse_j).astype(np.int64),
                                   np.concatenate(sparse_r), order_dense + 1, 1.0 / n)
    U[np.diag_indices(p)] = diag
    return U, pairs


def population(
    act: Activation, W: np.ndarray, sigma: np.ndarray, t: float, tol: float, max_order: int, block: int
) -> MehlerPart:
    """U~ and V~ (fresh data x_t ~ N(0, Sigma_t), Sigma diagonal) by the same expansion (module notes).

    Parameters
    ----------
    act : Activation
    W : ndarray
        Weights (p x d).
    sigma : ndarray
        Diagonal of the data covariance Sigma (length d).
    t, tol, max_order, block
        As in :func:`conditional`.

    Returns
    -------
    MehlerPart

    Examples
    --------
    >>> import numpy as np
    >>> from rfdiff.activations import get_activation
    >>> W = np.random.default_rng(0).standard_normal((6, 3))
    >>> part = population(get_activation("tanh"), W, np.ones(3), 0.1, 1e-10, 256, 6)
    >>> part.U.shape, part.V.shape, part.bound <= 1e-10
    ((6, 6), (6, 3), True)
    """
    p, d = W.shape
    delta = -math.expm1(-2.0 * t)
    sigma_t = math.exp(-2.0 * t) * sigma + delta  # diagonal of Sigma_t
    K = (W * sigma_t) @ W.T
    K *= 1.0 / d  # covariance of h = W x_t / sqrt(d)
    kd = np.diag(K).copy()
    if np.any(kd <= 0):
        raise ValueError("W must not have a zero row")
    sk = np.sqrt(kd)
    inv = 1.0 / sk
    K *= inv[:, None]
    K *= inv[None, :]  # K now holds rho~
    rho_max = 0.0
    for lo in range(0, p, block):  # largest off-diagonal |rho~| without a p x p temporary
        hi = min(p, lo + block)
        g = np.abs(K[lo:hi])
        g[np.arange(hi - lo), np.arange(lo, hi)] = 0.0
        rho_max = max(rho_max, float(g.max())) if p > 1 else 0.0
    k1 = max_order + 1
    q_order = quad_rule(float(sk.max()), k1)
    z, w, hw = hermite_table(q_order, k1)
    s = act(sk[:, None] * z[None, :])
    if not np.all(np.isfinite(s)):
        raise ValueError(f"activation {act.name!r} returned non-finite values")
    beta = s @ hw  # p x k1
    second = (s * s) @ w
    tails = np.maximum(second[:, None] - np.cumsum(beta**2, axis=1), 0.0).max(axis=0)
    bounds = rho_max ** np.arange(1, k1 + 1) * tails
    ok = np.nonzero(bounds <= tol)[0]
    order = max(1, int(ok[0])) if ok.size else max_order  # V~ needs beta_1
    bound = float(bounds[order]) if p > 1 else 0.0
    q_hi = int(1.5 * q_order) + 8
    q_hi += q_hi % 2
    z2, _, hw2 = hermite_table(q_hi, order + 1)
    beta_hi = act(sk[:, None] * z2[None, :]) @ hw2
    quad_error = float(np.abs(beta_hi - beta[:, : order + 1]).max())
    beta = np.ascontiguousarray(beta[:, : order + 1])
    _kernels.horner_rank1(K, beta, second)
    V = (math.sqrt(delta / d) * beta[:, 1] / sk)[:, None] * W
    return MehlerPart(K, V, order, bound, rho_max, q_order, quad_error)
