"""Exact gradient-flow learning curves at finite size, with ridge and finite noise draws.

Given U, V, U~, V~ (:func:`rfdiff.simulate.correlation_matrices`), the flow
dA/dtau = -d^2 grad_A L^lam from A(0) = 0 (docs/theory.md §1.6, §2.2) is linear and solved in
closed form. The loss it descends is

    L^lam(A) = L_train(A) + (Delta_t lam / (d p)) |A|_F^2,     lam >= 0 (ridge, weight decay),
    L_train(A) = xi2 + (Delta_t/d) Tr(A^T A U)/p + (2 sqrt(Delta_t)/d) Tr(A V)/sqrt(p),

so the flow sees U + lam I. With B = A / sqrt(p), psi_p = p / d (the actual ratio),
kappa = 2 Delta_t / psi_p, U = Q diag(lambda) Q^T, mu_a = lambda_a + lam, R = Q^T V,
R~ = Q^T V~, r_a = |R_a|^2, s_a = R_a . R~_a and M = (R R^T) o (Q^T U~ Q):

    B(tau)      = -Delta_t^{-1/2} V^T Q diag(f) Q^T,     f_a = (1 - e^{-kappa mu_a tau}) / mu_a
    L_train     = xi2 + (1/d) sum_a r_a (lambda_a f_a^2 - 2 f_a)
                = xi2 - (1/d) sum_a r_a f_a (mu_a + lam + lambda_a e^{-kappa mu_a tau}) / mu_a
                  (lam = 0: xi2 - (1/d) sum_a r_a (1 - e^{-2 kappa lambda_a tau}) / lambda_a)
    L_test      = 1 + (1/d) [ f^T M f - 2 sum_a f_a s_a ]
    L_gen       = L_test - L_train

(every term of the second form of L_train is positive: no cancellation). **The reported L_train is
the denoising loss without the penalty**; the penalty (Delta_t lam/d) |B|_F^2 is not included.
xi2 is the noise energy of the training loss (``matrices.noise_norm2``): 1 for the noise-averaged
loss (``noise="exact"`` or ``"gaussian"``), and for ``noise=m`` the empirical
(1/(n m d)) sum |xi^{nu,k}|^2 of the m fixed draws per point, so that L_train is exactly the loss
on those draws while L_test keeps the population U~, V~ (a fresh point, the noise averaged).

Score error. E_score = (1/d) E_{y ~ P_t} |s_A(y) - grad log P_t(y)|^2. For Gaussian data
P_t = N(0, Sigma_t) and grad log P_t(y) = -Sigma_t^{-1} y; Stein's lemma gives
E[sigma(h) y^T] Sigma_t^{-1} = V~ / sqrt(Delta_t), hence

    E_score = (1/d) [ Tr(B U~ B^T) + (2/sqrt(Delta_t)) Tr(B V~) + Tr Sigma_t^{-1} ]
            = (L_test - 1) / Delta_t + (1/d) Tr Sigma_t^{-1},

which for Sigma = sigma_x^2 I is L_test = 1 - Delta_t/Gamma_t^2 + Delta_t E_score (docs/theory.md §1.5).

All (1 - e^{-c mu}) / mu are evaluated as -expm1(-c mu) / mu (stable as mu tau -> 0). Modes with
lambda <= rcond * lambda_max are treated as exact zero modes (lambda_a = 0): at lam = 0 they never
move (f = 0), which is the gradient-flow limit whenever V has no component there, and makes
tau -> infinity the minimum-norm solution B = -Delta_t^{-1/2} V^T U^+; at lam > 0 they relax at
rate kappa lam, and tau -> infinity is the ridge estimator B = -Delta_t^{-1/2} V^T (U + lam)^{-1}.

One eigendecomposition serves every tau and every lam: :func:`flow_spectrum` computes it once
(:class:`FlowSpectrum`), :meth:`FlowSpectrum.curves` evaluates the curves for any tau and lam,
and :func:`gradient_flow` does both.

**Relation to an optimizer's weight decay.** A plain (coupled) weight decay wd on the parameter
A adds wd A to the gradient of L_train, i.e. the penalty (wd/2) |A|_F^2, so
lam = wd d p / (2 Delta_t); on the published script's parameter A/sqrt(p) it is wd' = 2 Delta_t lam/d.
(Decoupled decay, AdamW, is not a penalty on the loss: for Adam its fixed point is not the ridge
estimator.)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.linalg
from scipy.linalg import blas

from ..io import Serializable
from ..model import RFModel
from . import gaussian, montecarlo
from ._seeding import stream
from ._validate import NoiseMode, check_model, check_tau
from .matrices import CorrelationMatrices, check_matrices, correlation_matrices

__all__ = ["FlowCurves", "FlowSpectrum", "RidgeEstimator", "dsm_losses", "flow_spectrum", "gradient_flow",
           "ridge_estimator"]


@dataclass(frozen=True, eq=False, repr=False)
class FlowCurves(Serializable):
    """Exact gradient-flow learning curves for one draw of W and X.

    Attributes
    ----------
    tau : ndarray
        Flow times (docs/theory.md §1.6), as given.
    train, test, gen, score : ndarray
        L_train (the denoising loss, without the ridge penalty), L_test, L_gen = L_test - L_train and
        E_score at each tau.
    train_inf, test_inf, score_inf : float
        The tau -> infinity limits (minimum-norm solution at lam = 0, the ridge estimator at lam > 0).
    eigenvalues : ndarray
        Eigenvalues of U, ascending (without the ridge).
    mode_weights : ndarray
        r_a = |(Q^T V)_a|^2 per eigenvalue: the weight of mode a in the train loss.
    zero_modes : int
        Number of eigenvalues treated as exact zeros (<= rcond * lambda_max).
    matrices : CorrelationMatrices
        The matrices used (with their own diagnostics).
    ridge : float
        lam of the penalty (Delta_t lam/(d p)) |A|_F^2.
    """

    tau: np.ndarray
    train: np.ndarray
    test: np.ndarray
    gen: np.ndarray
    score: np.ndarray
    train_inf: float
    test_inf: float
    score_inf: float
    eigenvalues: np.ndarray
    mode_weights: np.ndarray
    zero_modes: int
    matrices: CorrelationMatrices
    ridge: float = 0.0

    def __repr__(self) -> str:
        return (
            f"FlowCurves({self.tau.size} tau values in [{self.tau.min():.3g}, {self.tau.max():.3g}], "
            f"ridge={self.ridge:g}, train_inf={self.train_inf:.6g}, test_inf={self.test_inf:.6g}, "
            f"zero_modes={self.zero_modes})"
        )


def _score_offset(mats: CorrelationMatrices) -> float:
    """(1/d) Tr Sigma_t^{-1} for the diagonal data covariance of ``mats``."""
    sigma_t = math.exp(-2.0 * mats.t) * np.asarray(mats.sigma) + mats.delta
    return float(np.mean(1.0 / sigma_t))


def dsm_losses(matrices: CorrelationMatrices, A: np.ndarray) -> tuple[float, float, float]:
    """(L_train, L_test, E_score) of the score model with weights A (d x p), docs/theory.md §1–§2.

    Exact noise expectations given the matrices: L = c + (Delta_t/d) Tr(A^T A U)/p
    + (2 sqrt(Delta_t)/d) Tr(A V)/sqrt(p) with c = ``matrices.noise_norm2`` for the train loss
    (1, or the empirical noise energy of m fixed draws) and U~, V~, c = 1 for the test loss;
    E_score = (L_test - 1)/Delta_t + (1/d) Tr Sigma_t^{-1} (module notes). No ridge penalty.

    Examples
    --------
    >>> import numpy as np, rfdiff
    >>> from rfdiff import simulate
    >>> mats = simulate.correlation_matrices(rfdiff.RFModel(2, 1, 0.1), d=4, noise="gaussian")
    >>> simulate.dsm_losses(mats, np.zeros((4, 8)))[:2]
    (1.0, 1.0)
    """
    if not isinstance(matrices, CorrelationMatrices):
        raise ValueError(f"matrices must be a CorrelationMatrices, got {type(matrices).__name__}")
    A = np.asarray(A, dtype=np.float64)
    if A.shape != (matrices.d, matrices.p):
        raise ValueError(f"A must have shape (d, p) = ({matrices.d}, {matrices.p}), got {A.shape}")
    if not np.all(np.isfinite(A)):
        raise ValueError("A must be finite (no NaN or inf)")
    B = A / math.sqrt(matrices.p)
    d, delta = matrices.d, matrices.delta

    def loss(c: float, U: np.ndarray, V: np.ndarray) -> float:
        return c + (delta / d) * float(np.sum((B @ U) * B)) + (2.0 * math.sqrt(delta) / d) * float(
            np.sum(B * V.T)
        )

    train = loss(matrices.noise_norm2, matrices.U, matrices.V)
    test = loss(1.0, matrices.U_pop, matrices.V_pop)
    return train, test, (test - 1.0) / delta + _score_offset(matrices)


def _rotated_population(U_pop: np.ndarray, Q: np.ndarray) -> np.ndarray:
    """Q^T U~ Q through the Cholesky factor U~ = L L^T when U~ is positive definite.

    Z = L^T Q is a triangular product (BLAS trmm, p^3 flops) and Z^T Z a symmetric rank-k
    update (p^3): ~2.3 p^3 flops against 4 p^3 for two general products. **Q is overwritten**
    when it is Fortran-ordered (as scipy's eigh returns it): no p x p copy.
    """
    try:
        L = np.linalg.cholesky(U_pop)
    except np.linalg.LinAlgError:
        return Q.T @ (U_pop @ Q)
    Z = blas.dtrmm(1.0, np.asfortranarray(L), np.asfortranarray(Q), side=0, lower=1, trans_a=1,
                   overwrite_b=1)
    del L
    return Z.T @ Z  # numpy uses a symmetric rank-k update for Z^T Z


#: rows per block of the Hadamard product M *= R R^T (no p x p temporary)
_ROW_BLOCK = 512


def _check_ridge(ridge: object) -> float:
    if isinstance(ridge, bool) or not isinstance(ridge, (int, float, np.integer, np.floating)) or not (
        math.isfinite(ridge) and ridge >= 0
    ):
        raise ValueError(f"ridge must be a finite number >= 0, got {ridge!r}")
    return float(ridge)


@dataclass(frozen=True, eq=False, repr=False)
class FlowSpectrum(Serializable):
    """The eigendecomposition behind the exact flow, computed once for every tau and ridge.

    Attributes
    ----------
    eigenvalues : ndarray
        lambda_a of U, ascending, as computed.
    zero : ndarray of bool
        The modes with lambda_a <= rcond * lambda_max, treated as exact zeros.
    mode_weights : ndarray
        r_a = |(Q^T V)_a|^2.
    cross_weights : ndarray
        s_a = (Q^T V)_a . (Q^T V~)_a.
    coupling : ndarray
        M = (R R^T) o (Q^T U~ Q) over the active modes (k x k).
    zero_modes : int
        Number of eigenvalues <= rcond * lambda_max.
    rcond : float
        The threshold used.
    matrices : CorrelationMatrices
        The matrices decomposed.
    active : ndarray of int or None
        Indices (into ``eigenvalues``) of the modes that can carry weight; None: all p. With
        ``method="low-rank"`` the others span the null space of H^T, where R = 0 exactly.
    method : str
        ``"eigh"`` (dense eigendecomposition of U) or ``"low-rank"`` (U = c I + H H^T
        diagonalised through the thin SVD of H; module notes of :func:`flow_spectrum`).
    """

    eigenvalues: np.ndarray
    zero: np.ndarray
    mode_weights: np.ndarray
    cross_weights: np.ndarray
    coupling: np.ndarray
    zero_modes: int
    rcond: float
    matrices: CorrelationMatrices
    active: np.ndarray | None = None
    method: str = "eigh"

    def curves(self, tau: float | np.ndarray, ridge: float = 0.0) -> FlowCurves:
        """The learning curves at ``tau`` for the ridge ``lam`` (module notes).

        Examples
        --------
        >>> import rfdiff
        >>> from rfdiff import simulate
        >>> m = rfdiff.RFModel(2, 1, 0.1)
        >>> spec = simulate.flow_spectrum(m, d=4, seed=0)
        >>> [round(float(spec.curves([1e9], ridge=r).test[0]), 6) for r in (0.0, 0.5)]
        [1.251904, 0.879982]
        """
        tau = check_tau(tau)
        lam_r = _check_ridge(ridge)
        mats = self.matrices
        dim, delta = mats.d, mats.delta
        lam, zero = self.eigenvalues, self.zero
        r, s, M = self.mode_weights, self.cross_weights, self.coupling
        kappa = 2.0 * delta / (mats.p / dim)
        xi2 = mats.noise_norm2
        if lam_r == 0.0:  # the paper's flow: zero modes frozen (minimum-norm limit)
            lam_safe = np.where(zero, 1.0, lam)
            x = (kappa * lam_safe)[:, None] * tau[None, :]  # p x T
            f = -np.expm1(-x) / lam_safe[:, None]
            f[zero] = 0.0
            g = -np.expm1(-2.0 * x) / lam_safe[:, None]
            g[zero] = 0.0
            train = xi2 - (r @ g) / dim
            f_inf = np.where(zero, 0.0, 1.0 / lam_safe)
            train_inf = xi2 - float(r @ f_inf) / dim
        else:
            lam = np.where(zero, 0.0, lam)  # exact zeros relax at the ridge rate
            mu = lam + lam_r
            x = (kappa * mu)[:, None] * tau[None, :]
            f = -np.expm1(-x) / mu[:, None]
            # lambda f^2 - 2 f = -f (mu + lam + lambda e^{-x}) / mu, all terms >= 0
            h = f * ((mu + lam_r)[:, None] + lam[:, None] * np.exp(-x)) / mu[:, None]
            train = xi2 - (r @ h) / dim
            f_inf = 1.0 / mu
            train_inf = xi2 - float(r @ (f_inf * (mu + lam_r) / mu)) / dim
        fa, fa_inf = (f, f_inf) if self.active is None else (f[self.active], f_inf[self.active])
        test = 1.0 + (np.einsum("at,at->t", fa, M @ fa) - 2.0 * (s @ f)) / dim
        test_inf = 1.0 + (float(fa_inf @ (M @ fa_inf)) - 2.0 * float(s @ f_inf)) / dim
        offset = _score_offset(mats)
        score = (test - 1.0) / delta + offset
        gen = test - train
        for arr in (tau, train, test, score, gen):
            arr.setflags(write=False)
        return FlowCurves(
            tau=tau, train=train, test=test, gen=gen, score=score, train_inf=train_inf, test_inf=test_inf,
            score_inf=(test_inf - 1.0) / delta + offset, eigenvalues=self.eigenvalues, mode_weights=r,
            zero_modes=self.zero_modes, matrices=mats, ridge=lam_r,
        )

    def __repr__(self) -> str:
        m = self.matrices
        return (f"FlowSpectrum(p={m.p}, d={m.d}, n={m.n}, noise={m.noise!r}, method={self.method!r}, "
                f"zero_modes={self.zero_modes})")


def _resolve_matrices(model: RFModel, matrices: object, d, seed, noise, W, X, threads) -> CorrelationMatrices:
    if matrices is None:
        if noise is None:  # the model's own loss: m fixed draws if it has noise_draws, else noise-averaged
            noise = "exact" if model.noise_draws is None else model.noise_draws
        return correlation_matrices(model, d, seed=seed, noise=noise, W=W, X=X, threads=threads)
    return check_matrices(model, matrices)


def _low_rank_factor(model: RFModel, mats: CorrelationMatrices) -> tuple[float, np.ndarray] | None:
    """(c, H) with U = c I + H H^T and rank H < p, for the noise modes that build U so; else None.

    Rebuilt from the matrices' W, X and seed (the same draws), then checked against U on a sample of
    columns: a U that was replaced or altered afterwards falls back to the dense route.
    """
    p, n, dim = mats.p, mats.n, mats.d
    if mats.seed is None:
        return None
    if mats.noise == "gaussian" and n + dim < p:
        c, H = gaussian.equivalent_factor(model, np.asarray(mats.W), np.asarray(mats.X),
                                          stream(mats.seed, "noise"))
    elif isinstance(mats.noise, int) and n * mats.noise < p:
        c = 0.0
        H = montecarlo.feature_factor(model.activation, np.asarray(mats.W), np.asarray(mats.X), mats.t,
                                      mats.noise, stream(mats.seed, "noise"))
    else:
        return None
    cols = np.arange(0, p, max(1, p // _CHECK_COLUMNS))
    rebuilt = H @ H[cols].T
    rebuilt[cols, np.arange(cols.size)] += c
    U = np.asarray(mats.U)
    scale = float(np.abs(U).max())
    # U and H H^T + c I are sums of the same products in other orders: rounding ~ k eps |U| (k = rank)
    if float(np.abs(rebuilt - U[:, cols]).max()) > 100 * H.shape[1] * np.finfo(float).eps * scale:
        return None
    return c, H


#: columns of U compared with the rebuilt low-rank form before it is trusted
_CHECK_COLUMNS = 256


def _check_rcond(rcond: object, p: int) -> float:
    if rcond is None:
        return 10.0 * p * np.finfo(np.float64).eps
    if isinstance(rcond, bool) or not (
        isinstance(rcond, (int, float, np.floating)) and math.isfinite(rcond) and 0.0 <= rcond < 1.0
    ):
        raise ValueError(f"rcond must be a number in [0, 1), got {rcond!r}")
    return float(rcond)


def flow_spectrum(
    model: RFModel,
    *,
    W: np.ndarray | None = None,
    X: np.ndarray | None = None,
    d: int | None = None,
    seed: int | np.random.SeedSequence = 0,
    noise: NoiseMode | None = None,
    matrices: CorrelationMatrices | None = None,
    rcond: float | None = None,
    method: str = "auto",
    threads: int | None = None,
) -> FlowSpectrum:
    """The eigendecomposition of U and the weights of the flow's closed form (module notes).

    Parameters are those of :func:`gradient_flow` (without tau and ridge), and

    method : {"auto", "eigh"}
        ``"eigh"``: a dense eigendecomposition of U (LAPACK's divide and conquer,
        ``scipy.linalg.eigh(driver="evd")``) and ~2.3 p^3 flops for Q^T U~ Q; memory: three p x p
        arrays beyond the matrices at the peak. It dominates the cost and is memory-bound: on a machine
        where other jobs occupy the cores, one BLAS thread (``OPENBLAS_NUM_THREADS=1``) can be several
        times faster than two (docs/simulate.md). ``"auto"`` (default) uses instead, when U has the form
        c I + H H^T with rank H = k < p — the Gaussian-equivalent U (c = s_t^2, k = n + d) and the
        Monte Carlo U_m when n m < p (c = 0, k = n m) — the thin SVD H = P S Y^T: the eigenvectors of
        U are P (eigenvalues c + S^2) and any basis of the complement (eigenvalue c), where
        R = Q^T V vanishes exactly (V lies in the range of H), so the flow lives in the k-dimensional
        range: O(p k^2 + p^2 k) flops instead of O(p^3). H is rebuilt from the matrices' seed and
        checked against U (256 columns); otherwise the dense route is taken. ``method`` of the result
        says which.

    Examples
    --------
    >>> import rfdiff
    >>> from rfdiff import simulate
    >>> spec = simulate.flow_spectrum(rfdiff.RFModel(2, 1, 0.1), d=4, seed=0)
    >>> spec.coupling.shape, spec.zero_modes, spec.method
    ((8, 8), 0, 'eigh')
    >>> simulate.flow_spectrum(rfdiff.RFModel(16, 1, 0.1), d=4, seed=0, noise="gaussian").method
    'low-rank'
    """
    check_model(model)
    if method not in ("auto", "eigh"):
        raise ValueError(f"method must be 'auto' or 'eigh', got {method!r}")
    mats = _resolve_matrices(model, matrices, d, seed, noise, W, X, threads)
    p = mats.p
    rcond = _check_rcond(rcond, p)
    factor = _low_rank_factor(model, mats) if method == "auto" else None
    if factor is None:
        lam, Q = scipy.linalg.eigh(mats.U, driver="evd", check_finite=False)  # U was checked finite
        R = Q.T @ mats.V
        Rp = Q.T @ mats.V_pop
        M = _rotated_population(np.asarray(mats.U_pop), Q)  # overwrites Q
        del Q
        active = None
        how = "eigh"
    else:
        c, H = factor
        P, S, _ = scipy.linalg.svd(H, full_matrices=False, check_finite=False)
        del H
        k = S.size
        R = P.T @ mats.V
        Rp = P.T @ mats.V_pop
        M = P.T @ (np.asarray(mats.U_pop) @ P)
        M = 0.5 * (M + M.T)  # symmetric to rounding
        del P
        # all p eigenvalues, ascending: c + S^2 (range of H) and c (its complement, p - k times)
        lam_all = np.concatenate([c + S * S, np.full(p - k, c)])
        order = np.argsort(lam_all, kind="stable")
        rank = np.empty(p, dtype=np.int64)
        rank[order] = np.arange(p)
        lam = lam_all[order]
        active = np.sort(rank[:k])  # positions of the range modes in ascending order
        sel = np.argsort(rank[:k], kind="stable")  # range modes in that order
        R, Rp, M = R[sel], Rp[sel], M[np.ix_(sel, sel)]
        how = "low-rank"
    zero = lam <= rcond * max(float(lam[-1]), 0.0)
    r_act = np.einsum("ij,ij->i", R, R)
    s_act = np.einsum("ij,ij->i", R, Rp)
    for lo in range(0, M.shape[0], _ROW_BLOCK):
        M[lo:lo + _ROW_BLOCK] *= R[lo:lo + _ROW_BLOCK] @ R.T
    if active is None:
        r, s = r_act, s_act
    else:
        r, s = np.zeros(p), np.zeros(p)
        r[active], s[active] = r_act, s_act
    for arr in (lam, zero, r, s, M) + (() if active is None else (active,)):
        arr.setflags(write=False)
    return FlowSpectrum(eigenvalues=lam, zero=zero, mode_weights=r, cross_weights=s, coupling=M,
                        zero_modes=int(zero.sum()), rcond=rcond, matrices=mats, active=active, method=how)


def gradient_flow(
    model: RFModel,
    tau: float | np.ndarray,
    *,
    W: np.ndarray | None = None,
    X: np.ndarray | None = None,
    d: int | None = None,
    seed: int | np.random.SeedSequence = 0,
    noise: NoiseMode | None = None,
    ridge: float | None = None,
    matrices: CorrelationMatrices | None = None,
    rcond: float | None = None,
    method: str = "auto",
    threads: int | None = None,
) -> FlowCurves:
    """Exact learning curves of the gradient flow at every tau (one eigendecomposition of U).

    Parameters
    ----------
    model : RFModel
    tau : float or array of float
        Flow times >= 0 (docs/theory.md §1.6: tau = k eta / d^2).
    W, X, d, seed, threads
        As in :func:`rfdiff.simulate.correlation_matrices` (ignored if ``matrices`` is given).
    noise : {"exact", "gaussian"} or int, optional
        Default: ``model.noise_draws`` if the model has one, else ``"exact"``.
        The loss that is descended: ``"exact"`` the paper's noise-averaged loss (m = infinity);
        ``"gaussian"`` its Gaussian-equivalent matrices; an int m the loss on m fixed noise draws per
        training point (Monte Carlo U_m, V_m; L_train is the loss on those draws, L_test the
        population one). Ignored if ``matrices`` is given (their mode is used).
    ridge : float, optional
        lam >= 0 of the penalty (Delta_t lam/(d p)) |A|_F^2 (the flow sees U + lam I); the reported
        L_train excludes the penalty. Default: ``model.ridge``.
    matrices : CorrelationMatrices, optional
        Precomputed matrices (must be for the model's t).
    rcond : float, optional
        Eigenvalues <= rcond * lambda_max count as exact zeros; default 10 p eps.
    method : {"auto", "eigh"}
        How U is diagonalised (:func:`flow_spectrum`): the exact low-rank route when U = c I + H H^T
        (Gaussian-equivalent U, U_m with n m < p), else a dense ``eigh``.

    Returns
    -------
    FlowCurves

    Examples
    --------
    >>> import rfdiff
    >>> from rfdiff import simulate
    >>> fl = simulate.gradient_flow(rfdiff.RFModel(2, 1, 0.1), [0.0, 1e9], d=4, seed=0)
    >>> float(fl.train[0]), bool(abs(fl.train[1] - fl.train_inf) < 1e-12)
    (1.0, True)
    """
    check_model(model)
    tau = check_tau(tau)
    ridge = _check_ridge(model.ridge if ridge is None else ridge)
    spec = flow_spectrum(model, W=W, X=X, d=d, seed=seed, noise=noise, matrices=matrices, rcond=rcond,
                         method=method, threads=threads)
    return spec.curves(tau, ridge)


@dataclass(frozen=True, eq=False, repr=False)
class RidgeEstimator(Serializable):
    """The tau -> infinity limit of the ridge flow, A = -sqrt(p/Delta_t) V^T (U + lam)^{-1}, and its losses.

    Attributes
    ----------
    A : ndarray
        The estimator (d x p), paper units.
    train, test, score : float
        L_train (denoising part, no penalty), L_test and E_score of A.
    ridge : float
        lam.
    matrices : CorrelationMatrices
    """

    A: np.ndarray
    train: float
    test: float
    score: float
    ridge: float
    matrices: CorrelationMatrices

    def __repr__(self) -> str:
        return f"RidgeEstimator(ridge={self.ridge:g}, train={self.train:.6g}, test={self.test:.6g})"


def ridge_estimator(
    model: RFModel,
    ridge: float,
    *,
    W: np.ndarray | None = None,
    X: np.ndarray | None = None,
    d: int | None = None,
    seed: int | np.random.SeedSequence = 0,
    noise: NoiseMode | None = None,
    matrices: CorrelationMatrices | None = None,
    threads: int | None = None,
) -> RidgeEstimator:
    """The end point of the ridge flow (tau = infinity) by a Cholesky solve, without the eigendecomposition.

    One Cholesky factorisation of U + lam I (p^3/3 flops) and O(p^2 d) more, against a full ``eigh`` for
    :func:`gradient_flow`: the cheap route to tau = infinity at large d, e.g. for sweeps over lam.
    Parameters as in :func:`gradient_flow`.

    Raises
    ------
    ValueError
        If U + lam I is not positive definite to working precision (a singular U at lam = 0, as U_m
        with n m < p): the flow's limit is then the minimum-norm solution, which
        ``gradient_flow(model, [tau_large], ...).train_inf`` gives.

    Examples
    --------
    >>> import rfdiff
    >>> from rfdiff import simulate
    >>> m = rfdiff.RFModel(2, 1, 0.1)
    >>> est = simulate.ridge_estimator(m, 0.5, d=4, seed=0)
    >>> fl = simulate.gradient_flow(m, [1.0], d=4, seed=0, ridge=0.5)
    >>> bool(abs(est.test - fl.test_inf) < 1e-12)
    True
    """
    check_model(model)
    lam = _check_ridge(ridge)
    mats = _resolve_matrices(model, matrices, d, seed, noise, W, X, threads)
    Ur = np.array(mats.U, dtype=np.float64, copy=True)
    Ur[np.diag_indices(mats.p)] += lam
    try:
        c = scipy.linalg.cho_factor(Ur, lower=True, overwrite_a=True, check_finite=False)
    except np.linalg.LinAlgError:
        raise ValueError(
            f"U + ridge I is not positive definite (ridge = {lam}): U is singular to working precision; "
            "use gradient_flow, whose tau -> infinity limit is the minimum-norm solution"
        ) from None
    Y = scipy.linalg.cho_solve(c, np.asarray(mats.V), check_finite=False)  # (U + lam)^{-1} V, p x d
    A = -math.sqrt(mats.p / mats.delta) * Y.T
    train, test, score = dsm_losses(mats, A)
    A.setflags(write=False)
    return RidgeEstimator(A=A, train=train, test=test, score=score, ridge=lam, matrices=mats)
