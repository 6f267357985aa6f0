"""Explicit training of the random-features score: GD (the paper's experiment), SGD, Adam and sign descent.

**The paper's protocol** (the default: ``optimizer="gd"``, ``noise="fresh"``, full batch). Each step
draws xi^nu ~ N(0, I_d) for every sample, forms x_t^nu = e^{-t} x^nu + sqrt(Delta_t) xi^nu,
F = sigma(W x_t / sqrt(d)) (p x n) and takes a gradient step on the one-draw loss
L^(A) = (1/(n d)) sum_nu |sqrt(Delta_t) s_A(x_t^nu) + xi^nu|^2. With B = A / sqrt(p) and psi_p = p/d,
in flow time tau (dA/dtau = -d^2 grad_A L, docs/theory.md §1.6) a step of size dtau is

    B <- B - dtau (2 sqrt(Delta_t) / (psi_p n)) (sqrt(Delta_t) B F + Xi^T) F^T,

whose expectation over xi is the Euler step of the exact flow of
:func:`rfdiff.simulate.gradient_flow`. A learning rate eta on A is dtau = eta / d^2. (The published
script's lr = 1e-2 d/Delta_t on A/sqrt(p) is dtau = 1e-2 psi_p/Delta_t.)

**Variants** (docs/optimizers.md):

* ``noise``: ``"fresh"`` (one new draw per sample per step, the paper) or an int m: m fixed draws per
  point, drawn once — the very draws of ``correlation_matrices(noise=m)`` with the same seed
  (:mod:`rfdiff.simulate.montecarlo`), so the loss descended is exactly the one whose flow
  ``gradient_flow(noise=m)`` solves. Full-batch GD on fixed draws is deterministic.
* ``batch_size``: mini-batches of b of the N training samples (N = n, or n m pairs (point, draw) for
  fixed draws), drawn without replacement: each epoch is a new permutation cut into floor(N/b)
  batches (the last N mod b samples of the permutation sit that epoch out), and each batch is
  processed in increasing sample order. A batch of all N samples is therefore exactly the full batch:
  SGD with b = n is GD bit for bit.
* ``ridge`` (lam) or ``weight_decay`` (wd): the penalty (Delta_t lam/(d p)) |A|_F^2 added to the loss
  (coupled weight decay: the gradient gets wd A with wd = 2 Delta_t lam/(d p)), the convention of
  ``gradient_flow(ridge=lam)``. Recorded L_train excludes the penalty.
* ``optimizer``: ``"gd"`` (full batch), ``"sgd"`` (mini-batch GD; the gradient of a batch is that of
  its own mean loss), ``"adam"`` (PyTorch's Adam on the parameter A, with the L2 term in the gradient:
  m <- b1 m + (1 - b1) g, v <- b2 v + (1 - b2) g^2,
  A <- A - lr/(1 - b1^k) m / (sqrt(v)/sqrt(1 - b2^k) + eps)), ``"sign"`` (A <- A - lr sign(g)).

**Time units.** GD and SGD move along the flow: after k steps tau = k dtau (for SGD in expectation,
the batch gradient being unbiased). Adam and sign descent have no such map: their step is a
coordinate-wise *normalised* gradient, so their natural clock is t = k lr, the time of their
small-lr limit (dA/dt = -m/(sqrt(v) + eps), with dA/dt = -sign(g) for sign descent), measured in
units of A. Its relation to tau changes along the run with the gradient's scale, so curves of
different optimizers are compared only through unit-free quantities (tau_mem/tau_gen, exponents
in n, parametric curves L_test against L_train). For Adam the run also records ``tau_equiv``,
sum_k lr mean_ij(1/(sqrt(v_ij) + eps)) / d^2: the flow time of a GD whose rate is Adam's mean
per-coordinate rate at every step, an interpretation aid, not a map.

Recorded losses are the **exact noise expectations** of the current A (U, V, U~, V~ from
``noise="exact"``; with ``noise=m`` the train loss is the exact loss on the m fixed draws), on a
logarithmic grid of steps, so the curves compare directly with ``gradient_flow``; the loss of the
step's batch is kept as ``batch_train``.

Randomness: the fresh noise comes from the seed's ``train`` stream, the batch order from its
``batch`` stream, the fixed draws from the ``noise`` stream of the matrices' seed
(:mod:`rfdiff.simulate._seeding`); elementwise kernels write disjoint outputs, so runs are
bit-identical across thread counts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.sparse.linalg import eigsh

from ..io import Serializable
from ..model import RFModel
from . import _kernels
from ._features import activation_code, apply
from ._seeding import stream
from ._validate import check_int, check_model
from .flow import dsm_losses
from .matrices import CorrelationMatrices, check_matrices, correlation_matrices
from .montecarlo import fixed_draws

__all__ = ["OPTIMIZERS", "TrainingRun", "train"]

#: the optimizers of :func:`train`
OPTIMIZERS = ("gd", "sgd", "adam", "sign")


@dataclass(frozen=True, eq=False, repr=False)
class TrainingRun(Serializable):
    """Losses of a training run on a log grid of steps.

    Attributes
    ----------
    step : ndarray of int
        Recorded step numbers (0 = initial A = 0).
    tau : ndarray or None
        Flow time step * dtau (GD and SGD); None for Adam and sign descent (no such map).
    train, test, gen, score : ndarray
        Exact-noise-expectation L_train (without the ridge penalty; on the m fixed draws for
        ``noise=m``), L_test, L_gen and E_score of the A at that step.
    batch_train : ndarray
        The loss of the batch seen by the step that starts there (NaN at the last record).
    A : ndarray
        Final weights (d x p), in the paper's units (s_A(x) = A sigma(W x/sqrt(d))/sqrt(p)).
    dtau : float or None
        Step in flow time (GD and SGD).
    dtau_max : float
        psi_p / (Delta_t (lambda_max(U) + lam)): gradient descent on the expected loss is stable
        only for dtau < dtau_max.
    matrices : CorrelationMatrices
        The matrices used for the recorded losses.
    optimizer : str
        ``"gd"``, ``"sgd"``, ``"adam"`` or ``"sign"``.
    time : ndarray
        The optimizer's clock at each record: tau for GD/SGD, step * lr for Adam and sign descent.
    time_unit : str
        ``"tau"`` or ``"step*lr"`` (module notes).
    epoch : ndarray
        step * batch_size / N (N = n, or n m with fixed draws).
    lr : float
        The learning rate: eta = d^2 dtau on A for GD/SGD, the step size (units of A) for Adam/sign.
    batch_size : int
        Samples per step (N for full batch).
    noise : str or int
        ``"fresh"`` or the number m of fixed draws per point.
    ridge : float
        lam of the penalty (Delta_t lam/(d p)) |A|_F^2.
    betas, eps : tuple of float, float or None
        Adam's hyper-parameters (None otherwise).
    tau_equiv : ndarray or None
        Adam only: the cumulative sum_k lr mean(1/(sqrt(v_hat) + eps)) / d^2 at each record
        (module notes; an interpretation aid, not a time map).
    weights : ndarray or None
        With ``record_weights=True``: A at every record, shape (records, d, p).
    """

    step: np.ndarray
    tau: np.ndarray | None
    train: np.ndarray
    test: np.ndarray
    gen: np.ndarray
    score: np.ndarray
    batch_train: np.ndarray
    A: np.ndarray
    dtau: float | None
    dtau_max: float
    matrices: CorrelationMatrices
    optimizer: str = "gd"
    time: np.ndarray | None = None
    time_unit: str = "tau"
    epoch: np.ndarray | None = None
    lr: float | None = None
    batch_size: int | None = None
    noise: str | int = "fresh"
    ridge: float = 0.0
    betas: tuple[float, float] | None = None
    eps: float | None = None
    tau_equiv: np.ndarray | None = None
    weights: np.ndarray | None = None

    def __repr__(self) -> str:
        clock = f"dtau={self.dtau:g}" if self.dtau is not None else f"lr={self.lr:g}"
        return (
            f"TrainingRun({self.optimizer}, steps={int(self.step[-1])}, {clock}, batch={self.batch_size}, "
            f"noise={self.noise!r}, ridge={self.ridge:g}, dtau_max={self.dtau_max:.3g}, "
            f"final train={self.train[-1]:.6g}, test={self.test[-1]:.6g})"
        )


def _record_steps(steps: int, record: int) -> np.ndarray:
    grid = np.unique(np.rint(np.logspace(0.0, math.log10(steps), record)).astype(np.int64)) if steps else []
    return np.unique(np.concatenate([[0], grid, [steps]]).astype(np.int64))


def _positive(name: str, value: object, allow_none: bool = False) -> float | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) or not (
        math.isfinite(value) and value > 0
    ):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return float(value)


def _nonnegative(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) or not (
        math.isfinite(value) and value >= 0
    ):
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def _check_train_noise(noise: object) -> str | int:
    if isinstance(noise, str):
        if noise != "fresh":
            raise ValueError(f"noise must be 'fresh' or an integer >= 1 (fixed draws), got {noise!r}")
        return noise
    if isinstance(noise, bool) or not isinstance(noise, (int, np.integer)) or noise < 1:
        raise ValueError(f"noise must be 'fresh' or an integer >= 1 (fixed draws), got {noise!r}")
    return int(noise)


def _check_betas(betas: object) -> tuple[float, float]:
    try:
        b1, b2 = betas  # type: ignore[misc]
    except (TypeError, ValueError):
        raise ValueError(f"betas must be a pair of numbers in [0, 1), got {betas!r}") from None
    for b in (b1, b2):
        if isinstance(b, bool) or not isinstance(b, (int, float, np.floating)) or not (0.0 <= b < 1.0):
            raise ValueError(f"betas must be a pair of numbers in [0, 1), got {betas!r}")
    return float(b1), float(b2)


class _Batches:
    """Sample indices of each step: all N (full batch) or consecutive slices of per-epoch permutations."""

    def __init__(self, total: int, size: int, rng: np.random.Generator) -> None:
        self.total, self.size, self.rng = total, size, rng
        self.per_epoch = total // size
        self._perm: np.ndarray | None = None
        self._pos = self.per_epoch

    def next(self) -> np.ndarray | None:
        if self.size == self.total:
            return None
        if self._pos == self.per_epoch:
            self._perm = self.rng.permutation(self.total)
            self._pos = 0
        sl = self._perm[self._pos * self.size:(self._pos + 1) * self.size]
        self._pos += 1
        return np.sort(sl)


def train(
    model: RFModel,
    *,
    W: np.ndarray | None = None,
    X: np.ndarray | None = None,
    d: int | None = None,
    steps: int,
    dtau: float | None = None,
    lr: float | None = None,
    optimizer: str = "gd",
    batch_size: int | None = None,
    noise: str | int | None = None,
    ridge: float | None = None,
    weight_decay: float | None = None,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    seed: int | np.random.SeedSequence = 0,
    record: int = 40,
    record_weights: bool = False,
    matrices: CorrelationMatrices | None = None,
    threads: int | None = None,
) -> TrainingRun:
    """Train the score model explicitly: GD (default, the paper's protocol), SGD, Adam or sign descent.

    Parameters
    ----------
    model : RFModel
    W, X, d
        Weights and data, or the dimension to draw them from ``seed`` (as in
        :func:`rfdiff.simulate.correlation_matrices`).
    steps : int
        Number of steps, >= 1.
    dtau : float, optional
        GD/SGD: step in flow time tau, > 0 (give ``dtau`` or ``lr``, not both).
    lr : float, optional
        GD/SGD: the learning rate eta on A (dtau = eta / d^2). Adam/sign: the step size, in units of
        A (required).
    optimizer : {"gd", "sgd", "adam", "sign"}
        See the module notes. ``"gd"`` is full batch.
    batch_size : int, optional
        Samples per step, 1..N (N = n, or n m with fixed draws); default N (full batch).
    noise : "fresh" or int, optional
        One fresh draw per sample per step, or m fixed draws per point (module notes). Default:
        ``model.noise_draws`` if the model has one, else ``"fresh"``.
    ridge, weight_decay : float, optional
        The penalty, as lam of (Delta_t lam/(d p)) |A|_F^2 or as a coupled weight decay wd on A
        (lam = wd d p / (2 Delta_t)); at most one of them. Default: ``model.ridge``.
    betas, eps
        Adam's (beta1, beta2) in [0, 1) and eps > 0 (PyTorch's defaults).
    seed : int or SeedSequence
        Seeds the fresh noise, the batch order (independent streams) and W, X if drawn; with
        ``noise=m`` and no ``matrices``, the fixed draws too.
    record : int
        About this many log-spaced steps are recorded (plus step 0 and the last), >= 2.
    record_weights : bool
        Keep A at every record (memory: records x d x p doubles).
    matrices : CorrelationMatrices, optional
        Matrices for the recorded losses (computed if omitted): ``noise="exact"`` for fresh noise,
        ``noise=m`` for m fixed draws — their seed then fixes the draws. Their W and X are used.
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
    >>> adam = simulate.train(rfdiff.RFModel(2, 1, 0.1), d=4, steps=20, lr=0.05, optimizer="adam")
    >>> adam.time_unit, adam.tau is None, bool(adam.test[-1] < 1.0)
    ('step*lr', True, True)
    """
    check_model(model)
    steps = check_int("steps", steps, 1)
    record = check_int("record", record, 2)
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {optimizer!r}")
    if noise is None:  # the model's own loss: its m fixed draws, else the paper's fresh draws
        noise = "fresh" if model.noise_draws is None else model.noise_draws
    noise = _check_train_noise(noise)
    if optimizer in ("gd", "sgd"):
        if (dtau is None) == (lr is None):
            raise ValueError(
                f"optimizer {optimizer!r} needs exactly one of dtau (flow time) and lr (eta on A)")
        dtau = _positive("dtau", dtau, allow_none=True)
        lr = _positive("lr", lr, allow_none=True)
    else:
        if dtau is not None:
            raise ValueError(
                f"dtau is only for 'gd' and 'sgd'; optimizer {optimizer!r} takes lr (units of A)")
        if lr is None:
            raise ValueError(f"optimizer {optimizer!r} needs lr (its step size, in units of A)")
        lr = _positive("lr", lr)
    if ridge is not None and weight_decay is not None:
        raise ValueError("give ridge or weight_decay, not both (weight_decay = 2 Delta_t ridge / (d p))")
    if ridge is None and weight_decay is None:
        ridge = model.ridge
    ridge_val = 0.0 if ridge is None else _nonnegative("ridge", ridge)
    wd = None if weight_decay is None else _nonnegative("weight_decay", weight_decay)
    b1, b2 = _check_betas(betas)
    eps = _positive("eps", eps)
    if not isinstance(record_weights, bool):
        raise ValueError(f"record_weights must be True or False, got {record_weights!r}")

    with _kernels.numba_threads(threads):
        want = "exact" if noise == "fresh" else noise
        if matrices is None:
            mats = correlation_matrices(model, d, seed=seed, noise=want, W=W, X=X)
        else:
            mats = check_matrices(model, matrices)
            if mats.noise != want:
                raise ValueError(f"matrices must be computed with noise={want!r} for noise={noise!r} "
                                 f"training, got noise={mats.noise!r}")
        W_, X_ = np.asarray(mats.W), np.asarray(mats.X)
        p, dim, n, delta = mats.p, mats.d, mats.n, mats.delta
        psi_p = p / dim
        if wd is not None:
            ridge_val = wd * dim * p / (2.0 * delta)
        if optimizer in ("gd", "sgd") and dtau is None:
            dtau = lr / dim**2
        elif optimizer in ("gd", "sgd"):
            lr = dtau * dim**2
        total = n if noise == "fresh" else n * noise
        if batch_size is None:
            b = total
        else:
            b = check_int("batch_size", batch_size, 1)
            if b > total:
                raise ValueError(f"batch_size must be in [1, {total}] (the training samples), got {b}")
        if optimizer == "gd" and b != total:
            raise ValueError(
                f"optimizer 'gd' is full batch (batch_size = {total}); use 'sgd' for mini-batches")
        if p > 2:  # Lanczos from a fixed start vector: deterministic
            lam_max = float(eigsh(np.asarray(mats.U), k=1, which="LA", v0=np.ones(p),
                                  return_eigenvectors=False)[0])
        else:
            lam_max = float(np.linalg.eigvalsh(mats.U)[-1])
        dtau_max = psi_p / (delta * (lam_max + ridge_val))

        act = model.activation
        code = activation_code(act)
        mean = (math.exp(-model.t) / math.sqrt(dim)) * (W_ @ X_.T)  # p x n
        noise_scale = math.sqrt(delta / dim)
        rng = stream(seed, "train")
        batches = _Batches(total, b, stream(seed, "batch"))
        xi_fixed = None if noise == "fresh" else fixed_draws(stream(mats.seed, "noise"), n, noise, dim)
        chunk = max(1, (1 << 22) // p)  # columns per product with fixed draws (p x chunk features)

        def features(xi: np.ndarray, mean_cols: np.ndarray) -> np.ndarray:
            h = W_ @ xi
            if code is not None:  # fused: F = sigma(noise_scale W xi + mean)
                _kernels.preact_apply(code, h, noise_scale, mean_cols)
                return h
            h *= noise_scale
            h += mean_cols
            return apply(act, code, h)

        def batch_gradient(B: np.ndarray, idx: np.ndarray | None) -> tuple[np.ndarray, float]:
            """G = (sqrt(Delta) B F + Xi^T) F^T summed over the batch, and the batch's mean loss."""
            if xi_fixed is None:
                xi = rng.standard_normal((dim, b))  # column = one sample's fresh draw
                F = features(xi, mean if idx is None else mean[:, idx])
                resid = B @ F
                resid *= math.sqrt(delta)
                resid += xi  # sqrt(Delta) B F + Xi^T
                return resid @ F.T, float(np.sum(resid * resid)) / (b * dim)
            cols = np.arange(total) if idx is None else idx
            G = np.zeros_like(B)
            sq = 0.0
            for lo in range(0, cols.size, chunk):
                c = cols[lo:lo + chunk]
                xi = np.ascontiguousarray(xi_fixed[c].T)  # d x |c|; pair j = k n + nu
                F = features(xi, np.ascontiguousarray(mean[:, c % n]))
                resid = B @ F
                resid *= math.sqrt(delta)
                resid += xi
                G += resid @ F.T
                sq += float(np.sum(resid * resid))
            return G, sq / (b * dim)

        B = np.zeros((dim, p))
        if optimizer == "adam":
            m_state, v_state = np.zeros_like(B), np.zeros_like(B)
            rate_rows = np.empty(dim)
        rec = _record_steps(steps, record)
        out = np.empty((3, rec.size))
        batch = np.full(rec.size, np.nan)
        tau_equiv = np.zeros(rec.size) if optimizer == "adam" else None
        weights = np.empty((rec.size, dim, p)) if record_weights else None
        kappa = 2.0 * delta / psi_p
        c1 = 2.0 * math.sqrt(delta) / (b * dim * math.sqrt(p))  # grad_A of the batch loss = c1 G
        c2 = 2.0 * delta * ridge_val / (dim * math.sqrt(p))  # grad_A of the penalty = c2 B
        equiv = 0.0
        j = 0
        with np.errstate(over="ignore", invalid="ignore"):  # divergence is detected below
            for k in range(steps + 1):
                if k == rec[j]:
                    out[:, j] = dsm_losses(mats, B * math.sqrt(p))
                    if not np.all(np.isfinite(out[:, j])):
                        raise FloatingPointError(
                            f"{optimizer} diverged by step {k}: dtau = {dtau}, lr = {lr}, "
                            f"stability limit of GD dtau_max = {dtau_max:.4g}"
                        )
                    if tau_equiv is not None:
                        tau_equiv[j] = equiv
                    if weights is not None:
                        weights[j] = B * math.sqrt(p)
                    j += 1
                if k == steps:
                    break
                G, loss = batch_gradient(B, batches.next())
                if not math.isfinite(loss):
                    raise FloatingPointError(
                        f"{optimizer} diverged at step {k}: dtau = {dtau}, lr = {lr}, "
                        f"stability limit of GD dtau_max = {dtau_max:.4g}"
                    )
                if k == rec[j - 1]:
                    batch[j - 1] = loss
                if optimizer in ("gd", "sgd"):
                    rate = dtau * 2.0 * math.sqrt(delta) / (psi_p * b)
                    if ridge_val > 0.0:
                        G *= rate
                        G += (dtau * kappa * ridge_val) * B
                        B -= G
                    else:
                        B -= rate * G
                elif optimizer == "adam":
                    bc1 = 1.0 - b1 ** (k + 1)
                    bc2 = 1.0 - b2 ** (k + 1)
                    _kernels.adam_step(B, G, m_state, v_state, c1, c2, b1, b2, lr / bc1 / math.sqrt(p),
                                       1.0 / math.sqrt(bc2), eps, rate_rows)
                    equiv += lr * float(rate_rows.sum()) / (dim * p) / dim**2
                else:
                    _kernels.sign_step(B, G, c1, c2, lr / math.sqrt(p))
    train_l, test_l, score_l = out[0], out[1], out[2]
    A = B * math.sqrt(p)
    if optimizer in ("gd", "sgd"):
        tau = rec * dtau
        time, unit = tau, "tau"
    else:
        tau = None
        time, unit = rec * lr, "step*lr"
    epoch = rec * (b / total)
    gen = test_l - train_l
    for arr in (rec, train_l, test_l, score_l, batch, A, time, epoch, gen, tau_equiv, weights):
        if arr is not None:
            arr.setflags(write=False)
    return TrainingRun(step=rec, tau=tau, train=train_l, test=test_l, gen=gen, score=score_l,
                       batch_train=batch, A=A, dtau=dtau, dtau_max=dtau_max, matrices=mats,
                       optimizer=optimizer, time=time, time_unit=unit, epoch=epoch, lr=lr, batch_size=b,
                       noise=noise, ridge=ridge_val, betas=(b1, b2) if optimizer == "adam" else None,
                       eps=eps if optimizer == "adam" else None, tau_equiv=tau_equiv, weights=weights)
