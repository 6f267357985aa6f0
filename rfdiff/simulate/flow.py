"""Exact gradient-flow learning curves at finite size (docs/theory.md §1–§2).

Given U, V, U~, V~ (:func:`rfdiff.simulate.correlation_matrices`), the flow
dA/dtau = -d^2 grad_A L_train from A(0) = 0 is linear and solved in closed form
(docs/theory.md §2.2). With B = A / sqrt(p), psi_p = p / d (the actual ratio), U = Q diag(lambda) Q^T,
R = Q^T V, R~ = Q^T V~, r_a = |R_a|^2, s_a = R_a . R~_a and M = (R R^T) o (Q^T U~ Q):

    B(tau)      = -Delta_t^{-1/2} V^T Q diag(f) Q^T,
    f_a         = (1 - e^{-2 Delta_t lambda_a tau / psi_p}) / lambda_a
    L_train     = 1 + (Delta_t/d) Tr(B U B^T) + (2 sqrt(Delta_t)/d) Tr(B V)
                = 1 - (1/d) sum_a r_a (1 - e^{-4 Delta_t lambda_a tau / psi_p}) / lambda_a
    L_test      = 1 + (Delta_t/d) Tr(B U~ B^T) + (2 sqrt(Delta_t)/d) Tr(B V~)
                = 1 + (1/d) [ f^T M f - 2 sum_a f_a s_a ]
    L_gen       = L_test - L_train

Score error. E_score = (1/d) E_{y ~ P_t} |s_A(y) - grad log P_t(y)|^2. For Gaussian data
P_t = N(0, Sigma_t) and grad log P_t(y) = -Sigma_t^{-1} y; Stein's lemma gives
E[sigma(h) y^T] Sigma_t^{-1} = V~ / sqrt(Delta_t), hence

    E_score = (1/d) [ Tr(B U~ B^T) + (2/sqrt(Delta_t)) Tr(B V~) + Tr Sigma_t^{-1} ]
            = (L_test - 1) / Delta_t + (1/d) Tr Sigma_t^{-1},

which for Sigma = sigma_x^2 I is L_test = 1 - Delta_t/Gamma_t^2 + Delta_t E_score (docs/theory.md §1.5).

All (1 - e^{-c lambda}) / lambda are evaluated as -expm1(-c lambda) / lambda (stable as
lambda tau -> 0). Modes with lambda <= rcond * lambda_max are treated as exact zero modes:
they never move (f = 0), which is the gradient-flow limit whenever V has no component
there, and makes tau -> infinity the minimum-norm solution B = -Delta_t^{-1/2} V^T U^+.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.linalg import blas

from ..io import Serializable
from ..model import RFModel
from .matrices import CorrelationMatrices, NoiseMode, _check_model, correlation_matrices

__all__ = ["FlowCurves", "dsm_losses", "gradient_flow"]


@dataclass(frozen=True, eq=False, repr=False)
class FlowCurves(Serializable):
    """Exact gradient-flow learning curves for one draw of W and X.

    Attributes
    ----------
    tau : ndarray
        Flow times (docs/theory.md §1.6), as given.
    train, test, gen, score : ndarray
        L_train, L_test, L_gen = L_test - L_train and E_score at each tau.
    train_inf, test_inf, score_inf : float
        The tau -> infinity limits (minimum-norm solution).
    eigenvalues : ndarray
        Eigenvalues of U, ascending.
    mode_weights : ndarray
        r_a = |(Q^T V)_a|^2 per eigenvalue: the weight of mode a in the train loss.
    zero_modes : int
        Number of eigenvalues treated as exact zeros (<= rcond * lambda_max).
    matrices : CorrelationMatrices
        The matrices used (with their own diagnostics).
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

    def __repr__(self) -> str:
        return (
            f"FlowCurves({self.tau.size} tau values in [{self.tau.min():.3g}, {self.tau.max():.3g}], "
            f"train_inf={self.train_inf:.6g}, test_inf={self.test_inf:.6g}, zero_modes={self.zero_modes})"
        )


def _check_tau(tau: object) -> np.ndarray:
    try:
        arr = np.array(tau, dtype=np.float64, ndmin=1)
    except (TypeError, ValueError):
        raise ValueError(f"tau must be real numbers >= 0, got {tau!r}") from None
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"tau must be a non-empty scalar or 1-d array, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ValueError("tau must be finite and >= 0")
    return arr


def _check_matrices(model: RFModel, mats: object) -> CorrelationMatrices:
    if not isinstance(mats, CorrelationMatrices):
        raise ValueError(f"matrices must be a CorrelationMatrices, got {type(mats).__name__}")
    if not math.isclose(mats.t, model.t, rel_tol=1e-12):
        raise ValueError(f"matrices were computed at t = {mats.t}, the model has t = {model.t}")
    return mats


def _score_offset(mats: CorrelationMatrices) -> float:
    """(1/d) Tr Sigma_t^{-1} for the diagonal data covariance of ``mats``."""
    sigma_t = math.exp(-2.0 * mats.t) * np.asarray(mats.sigma) + mats.delta
    return float(np.mean(1.0 / sigma_t))


def dsm_losses(matrices: CorrelationMatrices, A: np.ndarray) -> tuple[float, float, float]:
    """(L_train, L_test, E_score) of the score model with weights A (d x p), docs/theory.md §1–§2.

    Exact noise expectations given the matrices: L = 1 + (Delta_t/d) Tr(A^T A U)/p
    + (2 sqrt(Delta_t)/d) Tr(A V)/sqrt(p) (U~, V~ for the test loss), and
    E_score = (L_test - 1)/Delta_t + (1/d) Tr Sigma_t^{-1} (module notes).

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

    def loss(U: np.ndarray, V: np.ndarray) -> float:
        return 1.0 + (delta / d) * float(np.sum((B @ U) * B)) + (2.0 * math.sqrt(delta) / d) * float(
            np.sum(B * V.T)
        )

    train = loss(matrices.U, matrices.V)
    test = loss(matrices.U_pop, matrices.V_pop)
    return train, test, (test - 1.0) / delta + _score_offset(matrices)


def _rotated_population(U_pop: np.ndarray, Q: np.ndarray) -> np.ndarray:
    """Q^T U~ Q through the Cholesky factor U~ = L L^T when U~ is positive definite.

    Z = L^T Q is a triangular product (BLAS trmm, p^3 flops) and Z^T Z a symmetric rank-k
    update (p^3): ~2.3 p^3 flops against 4 p^3 for two general products.
    """
    try:
        L = np.linalg.cholesky(U_pop)
    except np.linalg.LinAlgError:
        return Q.T @ (U_pop @ Q)
    Z = blas.dtrmm(1.0, np.asfortranarray(L), np.asfortranarray(Q), side=0, lower=1, trans_a=1,
                   overwrite_b=1)
    del L
    return Z.T @ Z  # numpy uses a symmetric rank-k update for Z^T Z


def gradient_flow(
    model: RFModel,
    tau: float | np.ndarray,
    *,
    W: np.ndarray | None = None,
    X: np.ndarray | None = None,
    d: int | None = None,
    seed: int | np.random.SeedSequence = 0,
    noise: NoiseMode = "exact",
    matrices: CorrelationMatrices | None = None,
    rcond: float | None = None,
    threads: int | None = None,
) -> FlowCurves:
    """Exact learning curves of the gradient flow at every tau (one eigendecomposition of U).

    Parameters
    ----------
    model : RFModel
    tau : float or array of float
        Flow times >= 0 (docs/theory.md §1.6: tau = k eta / d^2).
    W, X, d, seed, noise, threads
        As in :func:`rfdiff.simulate.correlation_matrices` (ignored if ``matrices`` is given).
    matrices : CorrelationMatrices, optional
        Precomputed matrices (must be for the model's t).
    rcond : float, optional
        Eigenvalues <= rcond * lambda_max count as exact zeros; default 10 p eps.

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
    _check_model(model)
    tau = _check_tau(tau)
    if matrices is None:
        mats = correlation_matrices(model, d, seed=seed, noise=noise, W=W, X=X, threads=threads)
    else:
        mats = _check_matrices(model, matrices)
    p, dim, delta = mats.p, mats.d, mats.delta
    if rcond is None:
        rcond = 10.0 * p * np.finfo(np.float64).eps
    elif not (math.isfinite(rcond) and 0.0 <= rcond < 1.0):
        raise ValueError(f"rcond must be a number in [0, 1), got {rcond!r}")

    lam, Q = np.linalg.eigh(mats.U)
    zero = lam <= rcond * max(float(lam[-1]), 0.0)
    lam_safe = np.where(zero, 1.0, lam)
    R = Q.T @ mats.V
    Rp = Q.T @ mats.V_pop
    r = np.einsum("ij,ij->i", R, R)
    s = np.einsum("ij,ij->i", R, Rp)
    M = _rotated_population(np.asarray(mats.U_pop), Q)
    M *= R @ R.T
    del Q

    psi_p = p / dim
    x = (2.0 * delta / psi_p) * lam_safe[:, None] * tau[None, :]  # p x T
    f = -np.expm1(-x) / lam_safe[:, None]
    f[zero] = 0.0
    g = -np.expm1(-2.0 * x) / lam_safe[:, None]
    g[zero] = 0.0
    train = 1.0 - (r @ g) / dim
    test = 1.0 + (np.einsum("at,at->t", f, M @ f) - 2.0 * (s @ f)) / dim
    f_inf = np.where(zero, 0.0, 1.0 / lam_safe)
    train_inf = 1.0 - float(r @ f_inf) / dim
    test_inf = 1.0 + (float(f_inf @ (M @ f_inf)) - 2.0 * float(s @ f_inf)) / dim
    offset = _score_offset(mats)
    score = (test - 1.0) / delta + offset
    for arr in (tau, train, test, score, lam, r):
        arr.setflags(write=False)
    gen = test - train
    gen.setflags(write=False)
    return FlowCurves(
        tau=tau, train=train, test=test, gen=gen, score=score, train_inf=train_inf, test_inf=test_inf,
        score_inf=(test_inf - 1.0) / delta + offset, eigenvalues=lam, mode_weights=r,
        zero_modes=int(zero.sum()), matrices=mats,
    )
