"""Sample metrics: the memorization fraction and the Fréchet distance to a Gaussian law (docs/generate.md).

**Memorization fraction** (the paper's criterion, after Yoon et al.; docs/theory.md §9). A sample x is
memorized when |x - x_(1)| < threshold * |x - x_(2)|, x_(1) and x_(2) its nearest and second-nearest
training points (Euclidean; threshold 1/3 by default). The neighbours are exact: every distance is
computed from the coordinate differences (a Numba kernel, parallel over samples, memory O(N)), never by
the Gram expansion |x|^2 + |y|^2 - 2 x.y, which would lose the small distance of a near copy.
The per-sample ratio |x - x_(1)| / |x - x_(2)| is returned (0 when both distances are 0, i.e. x equals
a duplicated training point).

Interval: the nonparametric bootstrap of the mean of the N indicators (B resamples of the N samples
with replacement, 95 % percentile interval). Resampling N indicators with replacement and averaging
is the same, in law, as drawing Binomial(N, f) / N, so the B resamples are drawn that way (O(B), not
O(B N)); the generator is seeded (``seed``). At f = 0 or 1 this interval collapses to a point, so the
exact Clopper–Pearson interval is reported beside it (``ci_exact``).

**Fréchet distance** between the samples' first two moments and a Gaussian law N(mu, Sigma):
|m - mu|^2 + Tr(S + Sigma - 2 (Sigma^{1/2} S Sigma^{1/2})^{1/2}), S the sample covariance (ddof = 1):
the squared 2-Wasserstein distance between N(m, S) and N(mu, Sigma) (the FID statistic). Its value for
N fresh samples of the law itself is not 0 (the finite-sample floor, ~ d(d+5)/(4N) for
Sigma = I); :func:`frechet_floor` measures it with the same statistic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from ..io import Serializable
from . import _kernels

__all__ = [
    "FrechetFloor",
    "MemorizationFraction",
    "frechet_distance",
    "frechet_floor",
    "memorization_fraction",
    "nearest_neighbours",
]


def _check_points(name: str, x: object, d: int | None = None, min_rows: int = 1) -> np.ndarray:
    try:
        a = np.ascontiguousarray(np.asarray(x, dtype=np.float64))
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a real (N, d) array, got {type(x).__name__}") from None
    if a.ndim != 2 or a.shape[0] < min_rows or a.shape[1] < 1:
        raise ValueError(f"{name} must be an (N, d) array with N >= {min_rows}, got shape {a.shape}")
    if d is not None and a.shape[1] != d:
        raise ValueError(f"{name} must have {d} columns (the dimension of the other set), got {a.shape[1]}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    return a


def _check_seed(seed: object) -> np.random.SeedSequence:
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0 or a numpy SeedSequence, got {seed!r}")
    return np.random.SeedSequence(int(seed))


def nearest_neighbours(x: np.ndarray, train: np.ndarray, *, threads: int | None = None
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Indices (N, 2) and distances (N, 2) of the nearest and second-nearest training points.

    Exact Euclidean distances from coordinate differences (module notes); ties keep the lower index.

    Examples
    --------
    >>> import numpy as np
    >>> idx, dist = nearest_neighbours(np.array([[0.1, 0.0]]), np.array([[0.0, 0.0], [1.0, 0.0], [3.0, 0.0]]))
    >>> idx.tolist(), dist.round(12).tolist()
    ([[0, 1]], [[0.1, 0.9]])
    """
    x = _check_points("x", x)
    train = _check_points("train", train, x.shape[1], min_rows=2)
    idx = np.empty((x.shape[0], 2), dtype=np.int64)
    dist = np.empty((x.shape[0], 2))
    with _kernels.numba_threads(threads):
        _kernels.two_nearest(x, np.ascontiguousarray(train), idx, dist)
    return idx, dist


@dataclass(frozen=True, eq=False, repr=False)
class MemorizationFraction(Serializable):
    """The memorization fraction of a set of samples with its intervals.

    Attributes
    ----------
    fraction : float
        f_mem = mean(ratio < threshold).
    ci : tuple of float
        95 % bootstrap percentile interval (``n_boot`` resamples, seeded; module notes).
    ci_exact : tuple of float
        95 % Clopper–Pearson interval of the binomial proportion (not degenerate at f = 0 or 1).
    ratio : ndarray
        |x - x_(1)| / |x - x_(2)| per sample.
    memorized : ndarray of bool
        ratio < threshold.
    nearest : ndarray of int
        Index of each sample's nearest training point.
    distances : ndarray
        (N, 2): the two distances.
    threshold : float
    n_boot : int
    n_samples, n_train : int
    """

    fraction: float
    ci: tuple[float, float]
    ci_exact: tuple[float, float]
    ratio: np.ndarray
    memorized: np.ndarray
    nearest: np.ndarray
    distances: np.ndarray
    threshold: float
    n_boot: int
    n_samples: int
    n_train: int

    @property
    def distinct_copied(self) -> int:
        """How many distinct training points the memorized samples copy."""
        return int(np.unique(self.nearest[self.memorized]).size)

    def summary(self, per_sample: bool = False) -> dict:
        """Plain JSON-ready summary (per-sample arrays only with ``per_sample=True``); :meth:`to_dict` /
        :meth:`from_dict` (rfdiff.io) are the typed round trip with every array."""
        out = {"fraction": self.fraction, "ci": list(self.ci), "ci_exact": list(self.ci_exact),
               "threshold": self.threshold, "n_boot": self.n_boot, "n_samples": self.n_samples,
               "n_train": self.n_train, "distinct_copied": self.distinct_copied}
        if per_sample:
            out.update(ratio=self.ratio.tolist(), nearest=self.nearest.tolist())
        return out

    def __repr__(self) -> str:
        return (f"MemorizationFraction(fraction={self.fraction:.4g}, "
                f"ci=({self.ci[0]:.4g}, {self.ci[1]:.4g}), "
                f"n_samples={self.n_samples}, n_train={self.n_train}, threshold={self.threshold:.4g})")


def memorization_fraction(
    x: np.ndarray,
    train: np.ndarray,
    *,
    threshold: float = 1.0 / 3.0,
    n_boot: int = 2000,
    seed: int | np.random.SeedSequence = 0,
    threads: int | None = None,
) -> MemorizationFraction:
    """Fraction of samples closer to their nearest training point than ``threshold`` x the second nearest.

    Parameters
    ----------
    x : array_like
        Samples, (N, d).
    train : array_like
        Training points, (n, d), n >= 2.
    threshold : float
        In (0, 1]; the paper's 1/3 by default.
    n_boot : int
        Bootstrap resamples for ``ci`` (>= 100).
    seed : int or SeedSequence
        Seeds the bootstrap.
    threads : int, optional
        Numba threads for the neighbour search.

    Returns
    -------
    MemorizationFraction

    Examples
    --------
    >>> import numpy as np
    >>> from rfdiff import generate
    >>> rng = np.random.default_rng(0)
    >>> train = rng.standard_normal((50, 8))
    >>> copies = train[:20] + 1e-3 * rng.standard_normal((20, 8))
    >>> fm = generate.memorization_fraction(np.vstack([copies, rng.standard_normal((20, 8))]), train)
    >>> fm.fraction, fm.distinct_copied
    (0.5, 20)
    """
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float, np.floating)):
        raise TypeError(f"threshold must be a number in (0, 1], got {threshold!r}")
    if not (0.0 < float(threshold) <= 1.0):
        raise ValueError(f"threshold must be in (0, 1], got {threshold!r}")
    if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or n_boot < 100:
        raise ValueError(f"n_boot must be an integer >= 100, got {n_boot!r}")
    idx, dist = nearest_neighbours(x, train, threads=threads)
    n_samples = idx.shape[0]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(dist[:, 1] > 0.0, dist[:, 0] / dist[:, 1], 0.0)
    memorized = ratio < threshold
    k = int(memorized.sum())
    f = k / n_samples
    rng = np.random.Generator(np.random.PCG64(_check_seed(seed)))
    boot = rng.binomial(n_samples, f, size=int(n_boot)) / n_samples
    lo, hi = np.quantile(boot, [0.025, 0.975])
    cp_lo = 0.0 if k == 0 else float(stats.beta.ppf(0.025, k, n_samples - k + 1))
    cp_hi = 1.0 if k == n_samples else float(stats.beta.ppf(0.975, k + 1, n_samples - k))
    for a in (ratio, memorized, idx, dist):
        a.setflags(write=False)
    return MemorizationFraction(
        fraction=f, ci=(float(lo), float(hi)), ci_exact=(cp_lo, cp_hi), ratio=ratio, memorized=memorized,
        nearest=idx[:, 0], distances=dist, threshold=float(threshold), n_boot=int(n_boot),
        n_samples=n_samples, n_train=int(np.asarray(train).shape[0]),
    )


def _psd_sqrt_eigs(m: np.ndarray, what: str) -> np.ndarray:
    """Eigenvalues of a symmetric PSD matrix, rounding-level negatives set to 0 (larger ones raise)."""
    lam = np.linalg.eigvalsh(0.5 * (m + m.T))
    scale = max(float(np.abs(lam).max()), np.finfo(np.float64).tiny)
    if lam.min() < -64 * m.shape[0] * np.finfo(np.float64).eps * scale:
        raise ValueError(f"{what} is not positive semi-definite (eigenvalue {lam.min():.3e})")
    return np.maximum(lam, 0.0)


def frechet_distance(x: np.ndarray, cov: np.ndarray, mean: np.ndarray | None = None) -> float:
    """Squared Fréchet distance between the samples' Gaussian moments and N(mean, cov) (module notes).

    Parameters
    ----------
    x : array_like
        Samples (N, d), N >= 2.
    cov : array_like
        Covariance of the reference law, (d, d) or its diagonal.
    mean : array_like, optional
        Its mean (default 0).

    Returns
    -------
    float
        |m - mean|^2 + Tr(S + cov - 2 (cov^{1/2} S cov^{1/2})^{1/2}), >= 0.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(0).standard_normal((20000, 3))
    >>> bool(frechet_distance(x, np.ones(3)) < 1e-3)
    True
    >>> round(frechet_distance(2.0 * x, np.ones(3)), 1)   # 3 (2 - 1)^2
    3.0
    """
    x = _check_points("x", x, min_rows=2)
    d = x.shape[1]
    c = np.asarray(cov, dtype=np.float64)
    c = np.diag(c) if c.ndim == 1 else c
    if c.shape != (d, d) or not np.all(np.isfinite(c)):
        raise ValueError(f"cov must be a ({d}, {d}) matrix or a length-{d} diagonal")
    mu = np.zeros(d) if mean is None else np.asarray(mean, dtype=np.float64)
    if mu.shape != (d,) or not np.all(np.isfinite(mu)):
        raise ValueError(f"mean must be a finite length-{d} vector")
    m = x.mean(axis=0)
    xc = x - m
    s = (xc.T @ xc) / (x.shape[0] - 1)
    lam_c, vec_c = np.linalg.eigh(0.5 * (c + c.T))
    scale = max(float(np.abs(lam_c).max()), np.finfo(np.float64).tiny)
    if lam_c.min() < -64 * d * np.finfo(np.float64).eps * scale:
        raise ValueError(f"cov is not positive semi-definite (eigenvalue {lam_c.min():.3e})")
    root = (vec_c * np.sqrt(np.maximum(lam_c, 0.0))) @ vec_c.T
    mid = _psd_sqrt_eigs(root @ s @ root, "cov^{1/2} S cov^{1/2}")
    value = float(np.sum((m - mu) ** 2) + np.trace(s) + np.trace(c) - 2.0 * np.sum(np.sqrt(mid)))
    # the trace terms are O(d) and the result O(d^2/N): the difference is exact to ~1e-14 d; a more
    # negative value would be a bug, not rounding
    if value < -1e-10 * max(1.0, float(np.trace(c))):
        raise FloatingPointError(f"Fréchet distance came out negative ({value:.3e})")
    return max(value, 0.0)


@dataclass(frozen=True)
class FrechetFloor(Serializable):
    """The Fréchet distance of ``n_samples`` fresh draws of the law itself: its finite-sample floor.

    Attributes
    ----------
    mean, sd : float
        Mean and standard deviation over ``reps`` independent draws.
    n_samples, reps : int
    """

    mean: float
    sd: float
    n_samples: int
    reps: int

    def summary(self) -> dict:
        """Plain JSON-ready dictionary of the fields."""
        return {"mean": self.mean, "sd": self.sd, "n_samples": self.n_samples, "reps": self.reps}


def frechet_floor(cov: np.ndarray, n_samples: int, *, reps: int = 8,
                  seed: int | np.random.SeedSequence = 0) -> FrechetFloor:
    """Finite-sample floor of :func:`frechet_distance`: the same statistic for N fresh samples of N(0, cov).

    Examples
    --------
    >>> fl = frechet_floor([1.0, 1.0], 1000, reps=16)
    >>> bool(0 < fl.mean < 0.02)
    True
    """
    c = np.asarray(cov, dtype=np.float64)
    c = np.diag(c) if c.ndim == 1 else c
    if c.ndim != 2 or c.shape[0] != c.shape[1]:
        raise ValueError(f"cov must be a (d, d) matrix or a diagonal, got shape {np.shape(cov)}")
    if isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer)) or n_samples < 2:
        raise ValueError(f"n_samples must be an integer >= 2, got {n_samples!r}")
    if isinstance(reps, bool) or not isinstance(reps, (int, np.integer)) or reps < 2:
        raise ValueError(f"reps must be an integer >= 2, got {reps!r}")
    d = c.shape[0]
    lam, vec = np.linalg.eigh(0.5 * (c + c.T))
    if lam.min() < -64 * d * np.finfo(np.float64).eps * max(float(np.abs(lam).max()), 1e-300):
        raise ValueError(f"cov is not positive semi-definite (eigenvalue {lam.min():.3e})")
    factor = vec * np.sqrt(np.maximum(lam, 0.0))
    rng = np.random.Generator(np.random.PCG64(_check_seed(seed)))
    values = np.array([frechet_distance(rng.standard_normal((int(n_samples), d)) @ factor.T, c)
                       for _ in range(int(reps))])
    return FrechetFloor(mean=float(values.mean()), sd=float(values.std(ddof=1)), n_samples=int(n_samples),
                        reps=int(reps))


def _log_crossing(tau: np.ndarray, values: np.ndarray, level: float) -> float:
    """First tau where ``values`` reaches ``level`` from below, linear in log tau; nan if never.

    tau must be increasing and > 0 (a leading 0 is allowed: it is never interpolated from).
    """
    above = np.nonzero(values >= level)[0]
    if above.size == 0:
        return math.nan
    j = int(above[0])
    if j == 0 or tau[j - 1] <= 0 or not np.isfinite(tau[j]):
        return float(tau[j])
    v0, v1 = float(values[j - 1]), float(values[j])
    frac = (level - v0) / (v1 - v0)
    return float(math.exp(math.log(tau[j - 1]) + frac * (math.log(tau[j]) - math.log(tau[j - 1]))))
