"""Full-batch gradient descent with one fresh noise draw per sample per step (the paper's experiment).

Each step draws xi^nu ~ N(0, I_d) for every sample, forms x_t^nu = e^{-t} x^nu + sqrt(Delta_t) xi^nu,
F = sigma(W x_t / sqrt(d)) (p x n) and takes a gradient step on the one-draw loss
L^(A) = (1/(n d)) sum_nu |sqrt(Delta_t) s_A(x_t^nu) + xi^nu|^2. With B = A / sqrt(p) and psi_p = p/d,
in flow time tau (dA/dtau = -d^2 grad_A L, docs/theory.md §1.6) a step of size dtau is

    B <- B - dtau (2 sqrt(Delta_t) / (psi_p n)) (sqrt(Delta_t) B F + Xi^T) F^T,

whose expectation over xi is the Euler step of the exact flow of
:func:`rfdiff.simulate.gradient_flow`. (The published script's lr = 1e-2 d/Delta_t on A/sqrt(p)
is dtau = 1e-2 psi_p/Delta_t in this convention, docs/theory.md §8.3.)

Recorded losses are the **exact noise expectations** of the current A (U, V, U~, V~ from
``noise="exact"``), on a logarithmic grid of steps, so the curves compare directly with
``gradient_flow``; the one-draw loss of the same step is kept as ``batch_train``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.sparse.linalg import eigsh

from ..io import Serializable
from ..model import RFModel
from . import _kernels
from .flow import _check_matrices, dsm_losses
from .matrices import (
    CorrelationMatrices,
    _activation_code,
    _apply,
    _check_int,
    _check_model,
    _stream,
    correlation_matrices,
)

__all__ = ["TrainingRun", "train"]


@dataclass(frozen=True, eq=False, repr=False)
class TrainingRun(Serializable):
    """Losses of a gradient-descent run on a log grid of steps.

    Attributes
    ----------
    step : ndarray of int
        Recorded step numbers (0 = initial A = 0).
    tau : ndarray
        Flow time step * dtau.
    train, test, gen, score : ndarray
        Exact-noise-expectation L_train, L_test, L_gen and E_score of the A at that step.
    batch_train : ndarray
        The one-draw loss L^ seen by the step that starts there (NaN at the last record).
    A : ndarray
        Final weights (d x p), in the paper's units (s_A(x) = A sigma(W x/sqrt(d))/sqrt(p)).
    dtau : float
        Step in flow time.
    dtau_max : float
        psi_p / (Delta_t lambda_max(U)): gradient descent on the expected loss is stable
        only for dtau < dtau_max.
    matrices : CorrelationMatrices
        The exact matrices used for the recorded losses.
    """

    step: np.ndarray
    tau: np.ndarray
    train: np.ndarray
    test: np.ndarray
    gen: np.ndarray
    score: np.ndarray
    batch_train: np.ndarray
    A: np.ndarray
    dtau: float
    dtau_max: float
    matrices: CorrelationMatrices

    def __repr__(self) -> str:
        return (
            f"TrainingRun(steps={int(self.step[-1])}, dtau={self.dtau:g}, dtau_max={self.dtau_max:.3g}, "
            f"final train={self.train[-1]:.6g}, test={self.test[-1]:.6g})"
        )


def _record_steps(steps: int, record: int) -> np.ndarray:
    grid = np.unique(np.rint(np.logspace(0.0, math.log10(steps), record)).astype(np.int64)) if steps else []
    return np.unique(np.concatenate([[0], grid, [steps]]).astype(np.int64))


def train(
    model: RFModel,
    *,
    W: np.ndarray | None = None,
    X: np.ndarray | None = None,
    d: int | None = None,
    steps: int,
    dtau: float,
    seed: int | np.random.SeedSequence = 0,
    record: int = 40,
    matrices: CorrelationMatrices | None = None,
    threads: int | None = None,
) -> TrainingRun:
    """Full-batch gradient descent with one fresh noise draw per sample per step.

    Parameters
    ----------
    model : RFModel
    W, X, d
        Weights and data, or the dimension to draw them from ``seed`` (as in
        :func:`rfdiff.simulate.correlation_matrices`).
    steps : int
        Number of steps, >= 1.
    dtau : float
        Step in flow time tau (docs/theory.md §1.6), > 0.
    seed : int or SeedSequence
        Seeds the noise draws (its own stream, independent of W and X) and W, X if drawn.
    record : int
        About this many log-spaced steps are recorded (plus step 0 and the last), >= 2.
    matrices : CorrelationMatrices, optional
        Exact matrices for the recorded losses (computed with ``noise="exact"`` if omitted);
        their W and X are used.
    threads : int, optional
        Numba threads.

    Returns
    -------
    TrainingRun

    Examples
    --------
    >>> import rfdiff
    >>> from rfdiff import simulate
    >>> run = simulate.train(rfdiff.RFModel(2, 1, 0.1), d=4, steps=20, dtau=0.5, seed=3)
    >>> int(run.step[-1]), float(run.train[0])
    (20, 1.0)
    """
    _check_model(model)
    steps = _check_int("steps", steps, 1)
    record = _check_int("record", record, 2)
    if isinstance(dtau, bool) or not isinstance(dtau, (int, float, np.floating)) or not (
        math.isfinite(dtau) and dtau > 0
    ):
        raise ValueError(f"dtau must be a finite number > 0, got {dtau!r}")
    dtau = float(dtau)
    with _kernels.numba_threads(threads):
        if matrices is None:
            mats = correlation_matrices(model, d, seed=seed, noise="exact", W=W, X=X)
        else:
            mats = _check_matrices(model, matrices)
            if mats.noise != "exact":
                raise ValueError(f"matrices must be computed with noise='exact', got noise={mats.noise!r}")
        W_, X_ = np.asarray(mats.W), np.asarray(mats.X)
        p, dim, n, delta = mats.p, mats.d, mats.n, mats.delta
        psi_p = p / dim
        if p > 2:  # Lanczos from a fixed start vector: deterministic
            lam_max = float(eigsh(np.asarray(mats.U), k=1, which="LA", v0=np.ones(p),
                                  return_eigenvectors=False)[0])
        else:
            lam_max = float(np.linalg.eigvalsh(mats.U)[-1])
        dtau_max = psi_p / (delta * lam_max)

        act = model.activation
        code = _activation_code(act)
        rng = _stream(seed, "train")
        mean = (math.exp(-model.t) / math.sqrt(dim)) * (W_ @ X_.T)  # p x n
        noise_scale = math.sqrt(delta / dim)
        rate = dtau * 2.0 * math.sqrt(delta) / (psi_p * n)
        B = np.zeros((dim, p))
        rec = _record_steps(steps, record)
        out = np.empty((3, rec.size))
        batch = np.full(rec.size, np.nan)
        j = 0
        with np.errstate(over="ignore", invalid="ignore"):  # divergence is detected below
            for k in range(steps + 1):
                if k == rec[j]:
                    out[:, j] = dsm_losses(mats, B * math.sqrt(p))
                    if not np.all(np.isfinite(out[:, j])):
                        raise FloatingPointError(
                            f"gradient descent diverged by step {k}: dtau = {dtau}, "
                            f"stability limit {dtau_max:.4g}"
                        )
                    j += 1
                if k == steps:
                    break
                xi = rng.standard_normal((dim, n))  # column nu = xi^nu
                h = W_ @ xi
                if code is not None:  # fused: F = sigma(noise_scale W xi + mean)
                    _kernels.preact_apply(code, h, noise_scale, mean)
                    F = h
                else:
                    h *= noise_scale
                    h += mean
                    F = _apply(act, code, h)
                resid = B @ F
                resid *= math.sqrt(delta)
                resid += xi  # sqrt(Delta) B F + Xi^T
                loss = float(np.sum(resid * resid)) / (n * dim)
                if not math.isfinite(loss):
                    raise FloatingPointError(
                        f"gradient descent diverged at step {k}: dtau = {dtau}, "
                        f"stability limit {dtau_max:.4g}"
                    )
                if k == rec[j - 1]:
                    batch[j - 1] = loss
                B -= rate * (resid @ F.T)
    train_l, test_l, score_l = out[0], out[1], out[2]
    A = B * math.sqrt(p)
    for arr in (rec, train_l, test_l, score_l, batch, A):
        arr.setflags(write=False)
    tau = rec * dtau
    gen = test_l - train_l
    tau.setflags(write=False)
    gen.setflags(write=False)
    return TrainingRun(step=rec, tau=tau, train=train_l, test=test_l, gen=gen, score=score_l,
                       batch_train=batch, A=A, dtau=dtau, dtau_max=dtau_max, matrices=mats)
