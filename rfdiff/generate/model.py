"""A random-features diffusion model that generates: one RF score per diffusion time (docs/generate.md).

At every time t_k of a grid, s_k(x) = A_k sigma(W x / sqrt(d)) / sqrt(p), one frozen W shared by all
times (or a fresh W per time), each A_k trained by the exact gradient flow of docs/theory.md §2 at its
own t_k for the same training time tau, from A_k(0) = 0. With B = A / sqrt(p), U_{t_k} = Q diag(lambda)
Q^T (one ``eigh`` per time, kept) and R = Q^T V:

    B_k(tau) = -Delta_k^{-1/2} R^T diag(f(tau)) Q^T,
    f_a(tau) = (1 - e^{-2 Delta_k lambda_a tau / psi_p}) / lambda_a,

so A_k(tau) for any tau is a spectral filter (O(p^2 d) per time), not a refit. f is evaluated as
-expm1(-x)/lambda (no cancellation as lambda tau -> 0). psi_p = p/d is the actual ratio (as in
:mod:`rfdiff.simulate`).

Two floors, both reported per time in :attr:`RFDiffusion.fit_info`:

* **Null space.** Modes with lambda_a <= rcond * lambda_max (default rcond = 10 p eps, the floor of
  :func:`rfdiff.simulate.gradient_flow`) are exact zeros of U: the flow from A = 0 never moves there
  (f_a = 0 at every tau). With m Monte Carlo draws and n m < p, U_m has an exact null space of dimension
  p - n m, and the sampled V_m has no component there (V_m = F Xi / (n m) lies in the range of
  U_m = F F^T / (n m)).
* **Resolution.** U is known only to its noise-average accuracy: with the exact (Mehler) average, every
  entry to the truncation bound plus the quadrature error, so its eigenvalues to ``floor`` =
  p (truncation_bound + quad_error) (the spectral norm of an error matrix with bounded entries; 0 for the
  Monte Carlo and Gaussian modes, exact up to rounding). At small t and small n the spectrum of U reaches
  below that (its Mehler orders k carry weights ~ Delta_t^k): such modes are *unresolved*. At finite tau
  they enter through f_a ~ 2 Delta tau / psi_p, which does not depend on their inaccurate lambda_a as long
  as 2 Delta floor tau / psi_p <= 0.1 (f within 5 % of its lambda -> 0 value): that holds for
  tau <= :attr:`RFDiffusion.tau_resolved`, the smallest such tau over the times (inf when every mode is
  resolved). **tau = inf** is the pseudo-inverse on the resolved modes: f_a = 1/lambda_a above the
  floor, 0 on the null and unresolved modes (1/lambda of an eigenvalue below the accuracy of U would be
  noise); their number is reported.

The matrices U, V at t_k come from :func:`rfdiff.simulate.correlation_matrices` with the same W and X:
``noise="exact"`` (Mehler, the noise expectation of the paper), ``"gaussian"`` (the Gaussian equivalent)
or an int m (m fixed noise draws per training point, the sampled U_m, V_m of docs/theory.md §9; the
draws are independent across times). Caveat for ``"gaussian"``: its U, V replace the nonlinear part of
the training points' features by independent Gaussian noise, while the sampler evaluates the real features
sigma(W x / sqrt(d)); the weights then carry the Gaussian-equivalent training dynamics but cannot point
back to the training points, so its samples do not show memorization (a diagnostic, not the model).
"""

from __future__ import annotations

import math
import time as _time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import simulate
from ..io import Serializable
from ..model import DataSpectrum, RFModel
from . import _kernels
from .metrics import (
    FrechetFloor,
    MemorizationFraction,
    _log_crossing,
    frechet_distance,
    frechet_floor,
    memorization_fraction,
)
from .samplers import Integrator, Method, check_times, sample

__all__ = ["MemorizationCurve", "RFDiffusion", "RFScore", "TimeFit"]

#: SeedSequence spawn keys below the root seed (simulate uses 0..3 for W, X, noise, train)
_KEY_NOISE = 16
_KEY_FRESH_W = 17


def _child(root: np.random.SeedSequence, *key: int) -> np.random.SeedSequence:
    """A fresh SeedSequence under ``root`` (never mutates ``root``: no ``spawn`` counter involved)."""
    return np.random.SeedSequence(root.entropy, spawn_key=(*root.spawn_key, *key), pool_size=root.pool_size)


def _copy(root: np.random.SeedSequence) -> np.random.SeedSequence:
    return np.random.SeedSequence(root.entropy, spawn_key=root.spawn_key, pool_size=root.pool_size)


def _check_seed(seed: object) -> np.random.SeedSequence:
    if isinstance(seed, np.random.SeedSequence):
        return _copy(seed)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0 or a numpy SeedSequence, got {seed!r}")
    return np.random.SeedSequence(int(seed))


def _check_tau(tau: object) -> float:
    if isinstance(tau, bool):
        raise TypeError("tau must be a number >= 0 (inf allowed), got a bool")
    try:
        x = float(tau)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise TypeError(f"tau must be a number >= 0 (inf allowed), got {tau!r}") from None
    if math.isnan(x) or x < 0:
        raise ValueError(f"tau must be >= 0 (inf allowed), got {tau!r}")
    return x


@dataclass(frozen=True, eq=False, repr=False)
class TimeFit:
    """What is kept of the fit at one diffusion time t_k (arrays read-only).

    Attributes
    ----------
    t, delta : float
        t_k and Delta_k = 1 - e^{-2 t_k}.
    eigenvalues : ndarray
        Eigenvalues lambda_a of U_{t_k}, ascending (p).
    Q : ndarray
        Eigenvectors (p x p).
    RT : ndarray
        R^T = V^T Q (d x p).
    zero : ndarray of bool
        Modes treated as exact zeros (lambda <= rcond lambda_max).
    unresolved : ndarray of bool
        Non-zero modes with lambda <= ``floor`` (below the accuracy of U; left out at tau = inf).
    floor : float
        p (truncation bound + quadrature error) of the noise average (0 when exact up to rounding).
    W_index : int
        Which W this time uses (0 when W is shared).
    diagnostics : dict
        Mehler order and truncation bounds, quadrature error, convergence flag, zero modes, smallest
        kept eigenvalue, seconds.
    """

    t: float
    delta: float
    eigenvalues: np.ndarray
    Q: np.ndarray
    RT: np.ndarray
    zero: np.ndarray
    unresolved: np.ndarray
    floor: float
    W_index: int
    diagnostics: dict

    def filter(self, tau: float, psi_p: float) -> np.ndarray:
        """f_a = (1 - e^{-2 Delta lambda_a tau / psi_p}) / lambda_a; at tau = inf 1/lambda_a on the resolved
        modes; 0 on the null space (and on the unresolved modes at tau = inf)."""
        lam = np.where(self.zero, 1.0, self.eigenvalues)
        if math.isinf(tau):
            f = 1.0 / lam
            f[self.unresolved] = 0.0
        else:
            f = -np.expm1(-(2.0 * self.delta * tau / psi_p) * lam) / lam
        f[self.zero] = 0.0
        return f

    def tau_resolved(self, psi_p: float) -> float:
        """Largest tau with 2 Delta floor tau / psi_p <= 0.1 (inf without unresolved modes)."""
        if not self.unresolved.any():
            return math.inf
        return 0.05 * psi_p / (self.delta * self.floor)

    def B(self, tau: float, psi_p: float) -> np.ndarray:
        """B_k(tau) = A_k(tau) / sqrt(p) = -Delta^{-1/2} R^T diag(f) Q^T (d x p)."""
        return (self.RT * (-self.filter(tau, psi_p) / math.sqrt(self.delta))) @ self.Q.T


@dataclass(frozen=True, eq=False, repr=False)
class RFScore:
    """The RF score of every grid time at one training time tau: a callable ``score(x, t)``.

    ``t`` must be one of the grid times (matched to 1e-12 relative): the score models exist only there.

    Attributes
    ----------
    tau : float
    times : ndarray
    W : tuple of ndarray
        The feature matrices (one, or one per time).
    B : tuple of ndarray
        B_k = A_k / sqrt(p) per time (d x p each).
    W_index : tuple of int
    activation : rfdiff.activations.Activation
    chunk : int
        Samples per block (memory ~ chunk x p doubles).
    """

    tau: float
    times: np.ndarray
    W: tuple
    B: tuple
    W_index: tuple
    activation: Any
    chunk: int = 512

    def index(self, t: float) -> int:
        """Index of grid time t (ValueError if t is not a grid time)."""
        k = int(np.argmin(np.abs(self.times - t)))
        if not math.isclose(float(self.times[k]), float(t), rel_tol=1e-12):
            raise ValueError(f"t = {t!r} is not a time of the grid (the RF score exists only at grid times)")
        return k

    def features(self, x: np.ndarray, k: int) -> np.ndarray:
        """sigma(W x / sqrt(d)) for the W of time k, (N, p)."""
        W = self.W[self.W_index[k]]
        return self._features(x, W.T / math.sqrt(W.shape[1]), None)

    def _features(self, x: np.ndarray, WT: np.ndarray, buf: np.ndarray | None) -> np.ndarray:
        """sigma(x WT), WT = W^T / sqrt(d), into ``buf`` (rows of x, p) when given."""
        h = np.matmul(x, WT, out=buf)
        if self.activation.fn is np.tanh:
            return np.tanh(h, out=h)  # in place, SIMD-vectorised
        out = self.activation(h)
        if not np.all(np.isfinite(out)):
            raise FloatingPointError(f"activation {self.activation.name!r} returned non-finite values")
        return out

    def __call__(self, x: np.ndarray, t: float) -> np.ndarray:
        k = self.index(t)
        arr = np.asarray(x, dtype=np.float64)
        single = arr.ndim == 1
        arr = arr[None, :] if single else arr
        Bt = self.B[k].T
        W = self.W[self.W_index[k]]
        WT = W.T / math.sqrt(W.shape[1])  # once per call, not per chunk (the same array each chunk)
        out = np.empty((arr.shape[0], Bt.shape[1]))
        # one feature buffer for all chunks: the same products and tanh, without a fresh
        # chunk x p allocation (and its page faults) per chunk
        buf = np.empty((min(self.chunk, arr.shape[0]), W.shape[0]))
        for lo in range(0, arr.shape[0], self.chunk):
            blk = arr[lo: lo + self.chunk]
            m = blk.shape[0]
            np.matmul(self._features(blk, WT, buf[:m]), Bt, out=out[lo: lo + m])
        return out[0] if single else out


@dataclass(frozen=True, eq=False, repr=False)
class MemorizationCurve(Serializable):
    """f_mem and the Fréchet distance of the samples against the training time tau.

    Attributes
    ----------
    tau : ndarray
        Training times (inf allowed).
    f_mem : ndarray
        Memorization fraction per tau.
    ci, ci_exact : ndarray
        (len(tau), 2): 95 % bootstrap and Clopper–Pearson intervals.
    frechet : ndarray
        Squared Fréchet distance of the samples to the data law at t_min, N(0, Sigma_{t_min}).
    frechet_floor : FrechetFloor
        The same statistic for as many fresh samples of that law.
    frechet_train : float
        The training set's own Fréchet distance to that law (what reproducing X exactly would score).
    distinct_copied : ndarray of int
        Distinct training points copied by the memorized samples, per tau.
    resolved : ndarray of bool
        tau <= :attr:`RFDiffusion.tau_resolved` (finite tau; at tau = inf: no time has unresolved modes):
        False marks a tau whose samples depend on eigenvalues of U below its accuracy.
    far_fraction : ndarray
        Fraction of samples outside the 1 - 1e-4 quantile ball of the target law (squared Mahalanobis
        norm above the chi^2_d quantile; 1e-4 for exact samples): run-away samples, which dominate the
        Fréchet distance when present (the tanh features saturate, so the RF score is bounded at large |x|
        while the reverse drift grows like |x|).
    tau_mem_gen : float
        First tau where f_mem reaches the level (linear in log tau between grid points): ``level`` if a
        number; with ``level="half"`` half of f_mem at the last tau of the curve (tau = inf when given),
        read only when at least ``min_count`` samples are memorized there. nan if not reached / not read.
    mem_level : float
        The level actually used (nan when it could not be set).
    tau_gen_gen : float
        First tau where the Fréchet distance is within ``quality_tol`` of its minimum over the curve,
        frechet <= min + quality_tol (nan if the curve has fewer than 2 finite tau).
    level : float or str
    min_count : int
    quality_tol, threshold : float
    n_samples : int
    method, integrator : str
    seed : int or None
    seconds : float
    params : dict
        The model's parameters.
    """

    tau: np.ndarray
    f_mem: np.ndarray
    ci: np.ndarray
    ci_exact: np.ndarray
    frechet: np.ndarray
    frechet_floor: FrechetFloor
    frechet_train: float
    distinct_copied: np.ndarray
    far_fraction: np.ndarray
    resolved: np.ndarray
    tau_mem_gen: float
    tau_gen_gen: float
    mem_level: float
    level: float | str
    min_count: int
    quality_tol: float
    threshold: float
    n_samples: int
    method: str
    integrator: str
    seed: int | None
    seconds: float
    params: dict

    def summary(self) -> dict:
        """Plain JSON-ready dictionary (inf tau as the string "inf", nan as None): the form the study
        caches and the plots read. :meth:`to_dict` / :meth:`from_dict` (rfdiff.io) are the typed round
        trip."""
        def num(v: float) -> float | str | None:
            return None if math.isnan(v) else "inf" if math.isinf(v) else float(v)

        return {
            "tau": [num(v) for v in self.tau], "f_mem": self.f_mem.tolist(), "ci": self.ci.tolist(),
            "ci_exact": self.ci_exact.tolist(), "frechet": self.frechet.tolist(),
            "frechet_floor": self.frechet_floor.summary(), "frechet_train": self.frechet_train,
            "distinct_copied": self.distinct_copied.tolist(), "far_fraction": self.far_fraction.tolist(),
            "resolved": self.resolved.tolist(),
            "tau_mem_gen": num(self.tau_mem_gen), "tau_gen_gen": num(self.tau_gen_gen),
            "mem_level": num(self.mem_level), "level": self.level, "min_count": self.min_count,
            "quality_tol": self.quality_tol, "threshold": self.threshold, "n_samples": self.n_samples,
            "method": self.method, "integrator": self.integrator, "seed": self.seed, "seconds": self.seconds,
            "params": self.params,
        }

    def __repr__(self) -> str:
        return (f"MemorizationCurve({self.tau.size} tau, "
                f"f_mem in [{self.f_mem.min():.3g}, {self.f_mem.max():.3g}], "
                f"tau_mem_gen={self.tau_mem_gen:.4g}, tau_gen_gen={self.tau_gen_gen:.4g})")


@dataclass(frozen=True, eq=False, repr=False)
class RFDiffusion:
    """A random-features diffusion model: one exactly trained RF score per diffusion time.

    Construction draws W and X (:func:`rfdiff.simulate.sample_problem` with ``seed``: the same draws
    as the simulator's at that seed), builds U, V at every time and keeps one eigendecomposition per
    time, so that samples at any training time tau cost a spectral filter and the sampler.

    Parameters
    ----------
    psi_p, psi_n : float
        p/d and n/d (p = round(psi_p d), n = round(psi_n d)).
    d : int
        Dimension, >= 1.
    times : array_like, optional
        Diffusion times, strictly increasing (default ``np.geomspace(1e-3, 5, 50)``); the sampler's grid.
    activation : str or callable
        As in :class:`rfdiff.RFModel` (centred), default ``"tanh"``.
    data : DataSpectrum, optional
        Data covariance spectrum (default N(0, I)); Sigma diagonal as in :mod:`rfdiff.simulate`.
    noise : {"exact", "gaussian"} or int
        Noise average of U, V per time (module notes).
    seed : int or SeedSequence
        Seeds W, X (and the per-time noise of the Monte Carlo / Gaussian modes, and fresh W's).
    fresh_W : bool
        One independent W per time instead of one shared W.
    rcond : float, optional
        Null-space floor: eigenvalues <= rcond lambda_max are exact zeros (default 10 p eps).
    tol, max_order : float, int
        Entrywise Mehler truncation tolerance and largest order of the exact noise average
        (:func:`rfdiff.simulate.correlation_matrices`; defaults 1e-10 and 64). When max_order stops the
        series first, the bound actually reached is reported (:attr:`fit_converged`,
        :attr:`max_truncation_bound`); at d ~ 10 and t ~ 5 it is ~1e-9.
    flow_tau : array_like, optional
        Also record the single-time learning curves of every time on these tau
        (:func:`rfdiff.simulate.gradient_flow`, same matrices; one more eigendecomposition per time):
        :attr:`flow_curves`.
    threads : int, optional
        Numba threads (matrices, features, neighbour search). None: the fit's kernels run on one
        thread and the rest on Numba's default. The fit's Numba kernels are a small part of it and,
        beside multi-threaded BLAS, oversubscribe the cores (issue-11 size, two BLAS threads: 28–31 s
        with two Numba threads, 22 s with one, measured in one process); results do not depend on it.
    progress : callable, optional
        ``progress(done, total)`` after each fitted time.

    Examples
    --------
    >>> import numpy as np
    >>> from rfdiff import generate
    >>> gm = generate.RFDiffusion(psi_p=4, psi_n=2, d=4, times=np.geomspace(1e-2, 3, 6), noise="gaussian")
    >>> gm.train_data.shape, gm.p
    ((8, 4), 16)
    >>> gm.sample(5, tau=np.inf, seed=1).shape
    (5, 4)
    """

    psi_p: float
    psi_n: float
    d: int
    times: np.ndarray | Sequence[float] | None = None
    activation: Any = "tanh"
    data: DataSpectrum | None = None
    noise: str | int = "exact"
    seed: int | np.random.SeedSequence = 0
    fresh_W: bool = False
    rcond: float | None = None
    tol: float = 1e-10
    max_order: int = 64
    flow_tau: np.ndarray | Sequence[float] | None = None
    threads: int | None = None
    progress: Callable[[int, int], None] | None = field(default=None, compare=False)

    # filled in by __post_init__
    _fits: tuple = field(init=False, default=(), compare=False)
    _W: tuple = field(init=False, default=(), compare=False)
    _X: np.ndarray = field(init=False, default=None, compare=False)
    _sigma: np.ndarray = field(init=False, default=None, compare=False)
    _flows: tuple = field(init=False, default=(), compare=False)
    _seconds: float = field(init=False, default=0.0, compare=False)

    def __post_init__(self) -> None:
        start = _time.perf_counter()
        if isinstance(self.d, bool) or not isinstance(self.d, (int, np.integer)) or self.d < 1:
            raise ValueError(f"d must be an integer >= 1, got {self.d!r}")
        object.__setattr__(self, "d", int(self.d))
        times = check_times(np.geomspace(1e-3, 5.0, 50) if self.times is None else self.times)
        object.__setattr__(self, "times", times)
        data = DataSpectrum.isotropic() if self.data is None else self.data
        if not isinstance(data, DataSpectrum):
            raise ValueError(f"data must be a DataSpectrum or None, got {type(data).__name__}")
        object.__setattr__(self, "data", data)
        if not isinstance(self.fresh_W, bool):
            raise TypeError(f"fresh_W must be a bool, got {self.fresh_W!r}")
        root = _check_seed(self.seed)
        models = [RFModel(self.psi_p, self.psi_n, float(t), activation=self.activation, data=data)
                  for t in times]  # validates psi_p, psi_n, the activation (centred) and the data
        object.__setattr__(self, "psi_p", models[0].psi_p)
        object.__setattr__(self, "psi_n", models[0].psi_n)
        object.__setattr__(self, "activation", models[0].activation)
        # an int seed goes to the simulator as it is, so W and X are its draws at that seed (a
        # SeedSequence object is spawned from more than once inside sample_problem: pass a fresh copy)
        problem_seed = int(self.seed) if not isinstance(self.seed, np.random.SeedSequence) else _copy(root)
        W0, X = simulate.sample_problem(models[0], self.d, problem_seed)
        p, n = W0.shape[0], X.shape[0]
        if n < 2:
            raise ValueError(f"psi_n d = {self.psi_n * self.d:g} gives n = {n}; the memorization fraction "
                             "needs n >= 2 training points")
        rcond = 10.0 * p * np.finfo(np.float64).eps if self.rcond is None else self.rcond
        if isinstance(rcond, bool) or not (isinstance(rcond, (int, float)) and 0.0 <= rcond < 1.0):
            raise ValueError(f"rcond must be a number in [0, 1), got {self.rcond!r}")
        object.__setattr__(self, "rcond", float(rcond))
        flow_tau = None
        if isinstance(self.tol, bool) or not (isinstance(self.tol, (int, float)) and 0 < self.tol < 1):
            raise ValueError(f"tol must be a number in (0, 1), got {self.tol!r}")
        if isinstance(self.max_order, bool) or not isinstance(self.max_order, (int, np.integer)) or \
                self.max_order < 1:
            raise ValueError(f"max_order must be an integer >= 1, got {self.max_order!r}")
        if self.flow_tau is not None:
            flow_tau = np.array(self.flow_tau, dtype=np.float64, ndmin=1)
            if flow_tau.ndim != 1 or not np.all(np.isfinite(flow_tau)) or np.any(flow_tau < 0):
                raise ValueError("flow_tau must be a 1-d array of finite tau >= 0")
            flow_tau.setflags(write=False)
            object.__setattr__(self, "flow_tau", flow_tau)
        Ws = [W0]
        if self.fresh_W:
            Ws += [simulate.sample_problem(models[0], self.d, _child(root, _KEY_FRESH_W, k))[0]
                   for k in range(1, times.size)]
        fits, flows = [], []
        fit_threads = 1 if self.threads is None else self.threads  # see the ``threads`` parameter
        with _kernels.numba_threads(fit_threads):
            for k, m in enumerate(models):
                t0 = _time.perf_counter()
                wi = k if self.fresh_W else 0
                mats = simulate.correlation_matrices(m, W=Ws[wi], X=X, noise=self.noise,
                                                     seed=_child(root, _KEY_NOISE, k), threads=fit_threads,
                                                     tol=self.tol, max_order=self.max_order)
                lam, Q = np.linalg.eigh(mats.U)
                zero = lam <= self.rcond * max(float(lam[-1]), 0.0)
                floor = float(lam.size * (mats.truncation_bound + mats.quad_error))
                unresolved = ~zero & (lam <= floor)
                RT = np.ascontiguousarray((Q.T @ mats.V).T)
                kept = lam[~zero]
                diag = {
                    "t": float(m.t), "noise": mats.noise, "converged": bool(mats.converged),
                    "order": mats.order, "order_pop": mats.order_pop,
                    "truncation_bound": float(mats.truncation_bound),
                    "truncation_bound_pop": float(mats.truncation_bound_pop),
                    "quad_error": float(mats.quad_error), "zero_modes": int(zero.sum()),
                    "floor": floor, "unresolved_modes": int(unresolved.sum()),
                    "lambda_min_kept": float(kept[0]) if kept.size else math.nan,
                    "lambda_max": float(lam[-1]), "rcond": self.rcond,
                }
                if flow_tau is not None:
                    fl = simulate.gradient_flow(m, flow_tau, matrices=mats, rcond=self.rcond)
                    flows.append({"train": fl.train, "test": fl.test, "gen": fl.gen, "score": fl.score,
                                  "train_inf": fl.train_inf, "test_inf": fl.test_inf})
                del mats
                for a in (lam, Q, RT, zero, unresolved):
                    a.setflags(write=False)
                diag["seconds"] = _time.perf_counter() - t0
                fits.append(TimeFit(t=float(m.t), delta=-math.expm1(-2.0 * float(m.t)), eigenvalues=lam,
                                    Q=Q, RT=RT, zero=zero, unresolved=unresolved, floor=floor, W_index=wi,
                                    diagnostics=diag))
                if self.progress is not None:
                    self.progress(k + 1, times.size)
        for a in (*Ws, X):
            a.setflags(write=False)
        sigma = simulate.data_covariance(models[0], self.d)
        sigma.setflags(write=False)
        object.__setattr__(self, "_fits", tuple(fits))
        object.__setattr__(self, "_W", tuple(Ws))
        object.__setattr__(self, "_X", X)
        object.__setattr__(self, "_sigma", sigma)
        object.__setattr__(self, "_flows", tuple(flows))
        object.__setattr__(self, "_seconds", _time.perf_counter() - start)

    # ------------------------------------------------------------------ data and fit

    @property
    def p(self) -> int:
        """Number of features p = round(psi_p d)."""
        return int(self._W[0].shape[0])

    @property
    def n(self) -> int:
        """Number of training points n = round(psi_n d)."""
        return int(self._X.shape[0])

    @property
    def train_data(self) -> np.ndarray:
        """The training set X (n x d, read-only)."""
        return self._X

    @property
    def W(self) -> np.ndarray:
        """The shared feature matrix (p x d; the first time's W when ``fresh_W``)."""
        return self._W[0]

    @property
    def sigma(self) -> np.ndarray:
        """Diagonal of the data covariance Sigma (length d)."""
        return self._sigma

    @property
    def fits(self) -> tuple[TimeFit, ...]:
        """The per-time fits (eigendecompositions and diagnostics)."""
        return self._fits

    @property
    def fit_info(self) -> list[dict]:
        """Per-time diagnostics of the fit (noise average, zero and unresolved modes, floors, seconds)."""
        return [dict(f.diagnostics) for f in self._fits]

    @property
    def fit_converged(self) -> bool:
        """True when the noise average met ``tol`` at every time (always True for Monte Carlo / Gaussian)."""
        return all(f.diagnostics["converged"] for f in self._fits)

    @property
    def max_truncation_bound(self) -> float:
        """Largest entrywise Mehler truncation bound over the times (U and U~; 0 when not used)."""
        return max(max(f.diagnostics["truncation_bound"], f.diagnostics["truncation_bound_pop"])
                   for f in self._fits)

    @property
    def tau_resolved(self) -> float:
        """Largest tau at which no unresolved mode of any time has relaxed (module notes; inf if none)."""
        psi_p = self.p / self.d
        return min(f.tau_resolved(psi_p) for f in self._fits)

    @property
    def fit_seconds(self) -> float:
        """Wall time of the construction (matrices and eigendecompositions)."""
        return self._seconds

    @property
    def flow_curves(self) -> dict[str, np.ndarray] | None:
        """Single-time learning curves on ``flow_tau``: arrays (len(times), len(flow_tau)) of
        ``train``, ``test``, ``gen``, ``score`` (None unless ``flow_tau`` was given)."""
        if not self._flows:
            return None
        return {key: np.array([f[key] for f in self._flows]) for key in ("train", "test", "gen", "score",
                                                                           "train_inf", "test_inf")}

    @property
    def memory_bytes(self) -> int:
        """Bytes held by the kept fit (Q, R^T, eigenvalues per time, W's, X)."""
        total = sum(f.Q.nbytes + f.RT.nbytes + f.eigenvalues.nbytes + 2 * f.zero.nbytes for f in self._fits)
        return int(total + sum(w.nbytes for w in self._W) + self._X.nbytes)

    def params(self) -> dict:
        """The model's parameters (JSON-ready)."""
        return {"psi_p": self.psi_p, "psi_n": self.psi_n, "d": self.d, "p": self.p, "n": self.n,
                "times": self.times.tolist(), "activation": self.activation.name,
                "data_values": list(self.data.values), "data_weights": list(self.data.weights),
                "noise": self.noise, "seed": self.seed if not isinstance(self.seed, np.random.SeedSequence)
                else str(self.seed.entropy), "fresh_W": self.fresh_W, "rcond": self.rcond,
                "fit_converged": self.fit_converged, "max_truncation_bound": self.max_truncation_bound,
                "zero_modes": sum(f.diagnostics["zero_modes"] for f in self._fits),
                "unresolved_modes": sum(f.diagnostics["unresolved_modes"] for f in self._fits),
                "tau_resolved": None if math.isinf(self.tau_resolved) else self.tau_resolved}

    # ------------------------------------------------------------------ scores and samples

    def A(self, k: int, tau: float) -> np.ndarray:
        """A_k(tau) (d x p): the weights of time index k after training time tau (inf allowed)."""
        tau = _check_tau(tau)
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not -len(self._fits) <= k < len(
                self._fits):
            raise ValueError(f"k must be an integer index into the {len(self._fits)} times, got {k!r}")
        return self._fits[int(k)].B(tau, self.p / self.d) * math.sqrt(self.p)

    def score(self, tau: float, *, chunk: int | None = None) -> RFScore:
        """The RF score of every grid time after training time tau, as a callable ``score(x, t)``.

        ``chunk`` samples are evaluated at once (default: 4 MiB of features, 2^19 / p rows, >= 64: the
        features stay in cache between the two products; measured ~2x faster than 10^4 rows at once).
        """
        tau = _check_tau(tau)
        if chunk is None:
            chunk = max(64, (1 << 19) // self.p)
        if isinstance(chunk, bool) or not isinstance(chunk, (int, np.integer)) or chunk < 1:
            raise ValueError(f"chunk must be an integer >= 1, got {chunk!r}")
        psi_p = self.p / self.d
        B = tuple(np.ascontiguousarray(f.B(tau, psi_p)) for f in self._fits)
        return RFScore(tau=tau, times=self.times, W=self._W, B=B,
                       W_index=tuple(f.W_index for f in self._fits), activation=self.activation,
                       chunk=int(chunk))

    def start_covariance(self) -> np.ndarray:
        """Diagonal of Sigma_{t_max} = e^{-2 t_max} Sigma + Delta_{t_max} I, the sampler's start law."""
        t = float(self.times[-1])
        return math.exp(-2.0 * t) * self._sigma - math.expm1(-2.0 * t)

    def target_covariance(self) -> np.ndarray:
        """Diagonal of Sigma_{t_min}: the law of x_{t_min} the sampler aims at."""
        t = float(self.times[0])
        return math.exp(-2.0 * t) * self._sigma - math.expm1(-2.0 * t)

    def sample(
        self,
        n_samples: int,
        tau: float,
        *,
        method: Method = "sde",
        integrator: Integrator = "heun",
        seed: int | np.random.SeedSequence = 0,
        progress: Callable[[int, int], None] | None = None,
    ) -> np.ndarray:
        """(n_samples, d) samples at t_min from the RF scores trained for tau (inf allowed).

        Starts from N(0, Sigma_{t_max}) and runs :func:`rfdiff.generate.sample` on the grid ``times``.
        """
        score = self.score(tau)
        with _kernels.numba_threads(self.threads):
            return sample(score, self.d, n_samples, self.times, method=method, integrator=integrator,
                          seed=seed, start_cov=self.start_covariance(), progress=progress)

    def memorization_curve(
        self,
        tau: Sequence[float] | np.ndarray,
        n_samples: int = 2000,
        seed: int | np.random.SeedSequence = 1,
        *,
        method: Method = "sde",
        integrator: Integrator = "heun",
        threshold: float = 1.0 / 3.0,
        level: float | str = "half",
        min_count: int = 20,
        quality_tol: float | None = None,
        n_boot: int = 2000,
        floor_reps: int = 8,
        progress: Callable[[int, int], None] | None = None,
    ) -> MemorizationCurve:
        """f_mem(tau) and the Fréchet distance of the samples, with tau_mem^gen and tau_gen^gen.

        Every tau uses the same seed (the same start and SDE noise: common random numbers, so the
        differences between taus are not sampling noise of the sampler).

        Parameters
        ----------
        tau : array_like
            Training times >= 0, increasing (inf allowed, last).
        n_samples : int
            Samples per tau.
        seed : int or SeedSequence
            Seeds the sampler (the same for every tau), the bootstrap and the Fréchet floor.
        method, integrator : str
            As in :meth:`sample`.
        threshold : float
            Memorization ratio threshold (1/3).
        level : float or "half"
            tau_mem^gen is where f_mem first reaches this level; ``"half"`` (default): half of f_mem at
            the last tau (the half-rise), read only if >= ``min_count`` samples are memorized there.
        min_count : int
            See ``level``.
        quality_tol : float, optional
            tau_gen^gen is the first tau with Fréchet <= min + quality_tol; default: 2 standard deviations
            of the Fréchet floor (the sampling noise of the statistic at this n_samples).
        n_boot, floor_reps : int
            Bootstrap resamples; draws for the Fréchet floor.
        progress : callable, optional
            ``progress(done, total)`` after each tau.

        Returns
        -------
        MemorizationCurve
        """
        start = _time.perf_counter()
        taus = np.array([_check_tau(v) for v in np.atleast_1d(np.asarray(tau, dtype=np.float64))])
        if taus.size == 0 or np.any(np.diff(taus) <= 0):
            raise ValueError("tau must be a non-empty increasing sequence")
        if level != "half" and (isinstance(level, bool) or not (isinstance(level, (int, float))
                                                                and 0.0 < level < 1.0)):
            raise ValueError(f"level must be 'half' or a number in (0, 1), got {level!r}")
        if isinstance(min_count, bool) or not isinstance(min_count, (int, np.integer)) or min_count < 1:
            raise ValueError(f"min_count must be an integer >= 1, got {min_count!r}")
        root = _check_seed(seed)
        target = self.target_covariance()
        floor = frechet_floor(target, n_samples, reps=floor_reps, seed=_child(root, 2))
        if quality_tol is None:
            quality_tol = 2.0 * floor.sd
        elif isinstance(quality_tol, bool) or not (isinstance(quality_tol, (int, float))
                                                    and quality_tol >= 0):
            raise ValueError(f"quality_tol must be a number >= 0, got {quality_tol!r}")
        f_mem, ci, ci_exact, fd, copied, far = [], [], [], [], [], []
        from scipy import stats

        radius2 = float(stats.chi2.isf(1e-4, self.d))
        for j, t in enumerate(taus):
            x = self.sample(n_samples, t, method=method, integrator=integrator, seed=_child(root, 0))
            fm: MemorizationFraction = memorization_fraction(x, self._X, threshold=threshold, n_boot=n_boot,
                                                             seed=_child(root, 1, j), threads=self.threads)
            f_mem.append(fm.fraction)
            ci.append(fm.ci)
            ci_exact.append(fm.ci_exact)
            copied.append(fm.distinct_copied)
            fd.append(frechet_distance(x, np.diag(target)))
            far.append(float(np.mean(np.sum(x * x / target, axis=1) > radius2)))
            if progress is not None:
                progress(j + 1, taus.size)
        f_mem_a, fd_a = np.array(f_mem), np.array(fd)
        finite = np.isfinite(taus)
        if level == "half":
            final = f_mem_a[-1]
            mem_level = 0.5 * final if final * n_samples >= min_count else math.nan
        else:
            mem_level = float(level)
        tau_mem_gen = math.nan if math.isnan(mem_level) else _log_crossing(taus[finite], f_mem_a[finite],
                                                                          mem_level)
        tau_gen_gen = math.nan
        if finite.sum() >= 2:
            best = float(fd_a[finite].min())
            tau_gen_gen = float(taus[finite][np.nonzero(fd_a[finite] <= best + quality_tol)[0][0]])
        arrays = dict(tau=taus, f_mem=f_mem_a, ci=np.array(ci), ci_exact=np.array(ci_exact), frechet=fd_a,
                      distinct_copied=np.array(copied, dtype=np.int64), far_fraction=np.array(far),
                      resolved=np.array([bool(t <= self.tau_resolved) if math.isfinite(t) else
                                         math.isinf(self.tau_resolved) for t in taus]))
        for a in arrays.values():
            a.setflags(write=False)
        return MemorizationCurve(
            **arrays, frechet_floor=floor, frechet_train=frechet_distance(self._X, np.diag(target)),
            tau_mem_gen=tau_mem_gen, tau_gen_gen=tau_gen_gen,
            mem_level=mem_level, level=level if level == "half" else float(level), min_count=int(min_count),
            quality_tol=float(quality_tol), threshold=float(threshold),
            n_samples=int(n_samples), method=method, integrator=integrator,
            seed=None if isinstance(seed, np.random.SeedSequence) else int(seed),
            seconds=_time.perf_counter() - start, params=self.params(),
        )

    def __repr__(self) -> str:
        return (f"RFDiffusion(psi_p={self.psi_p:g}, psi_n={self.psi_n:g}, d={self.d}, p={self.p}, "
                f"n={self.n}, "
                f"{self.times.size} times in [{self.times[0]:.3g}, {self.times[-1]:.3g}], "
                f"noise={self.noise!r}, activation={self.activation.name!r})")
