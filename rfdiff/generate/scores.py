"""Reference scores of the forward process x_t = e^{-t} x + sqrt(Delta_t) xi (docs/theory.md §9).

Both are callables ``score(x, t) -> (N, d)`` for samples x of shape (N, d) (or (d,)) and a scalar
diffusion time t > 0, the interface of :func:`rfdiff.generate.sample`:

* :func:`gaussian_score` — the exact score of N(0, Sigma) under the forward process,
  grad log P_t(x) = -Sigma_t^{-1} x with Sigma_t = e^{-2t} Sigma + Delta_t I. It generalizes:
  samples from it are fresh draws of the law, f_mem ~ 0.
* :func:`empirical_score` — the score of the training set's Gaussian-smoothed empirical law
  P_t = (1/n) sum_nu N(e^{-t} x_nu, Delta_t I):
  grad log P_t(x) = sum_nu w_nu(x) (e^{-t} x_nu - x) / Delta_t with softmax weights
  w_nu ∝ exp(-|x - e^{-t} x_nu|^2 / (2 Delta_t)), computed by log-sum-exp (the |x|^2 term is common to
  all nu and cancels). It memorizes: as t -> 0 its samples collapse onto training points.

Delta_t = 1 - e^{-2t} is evaluated as -expm1(-2t) (no cancellation at small t).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["EmpiricalScore", "GaussianScore", "empirical_score", "gaussian_score"]


def _delta(t: float) -> float:
    return -math.expm1(-2.0 * t)


def _check_t(t: object) -> float:
    if isinstance(t, bool):
        raise TypeError("t must be a real number > 0, got a bool")
    try:
        x = float(t)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise TypeError(f"t must be a real number > 0, got {t!r}") from None
    if not (math.isfinite(x) and x > 0.0):
        raise ValueError(f"t must be a finite number > 0, got {t!r}")
    return x


def _check_x(x: object, d: int) -> tuple[np.ndarray, bool]:
    """x as a float64 (N, d) array and whether it was one sample (d,)."""
    arr = np.asarray(x, dtype=np.float64)
    single = arr.ndim == 1
    if single:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] != d:
        raise ValueError(f"x must have shape (N, {d}) or ({d},), got {np.shape(x)}")
    if not np.all(np.isfinite(arr)):
        raise ValueError("x must be finite (no NaN or inf)")
    return arr, single


@dataclass(frozen=True, eq=False, repr=False)
class GaussianScore:
    """The exact score of N(0, Sigma) at diffusion time t: x -> -Sigma_t^{-1} x.

    Attributes
    ----------
    cov : ndarray
        Sigma (d x d), symmetric positive semi-definite.
    eigenvalues, eigenvectors : ndarray
        Sigma = O diag(eigenvalues) O^T (one ``eigh`` at construction).
    d : int
    diagonal : ndarray or None
        The diagonal of Sigma when Sigma is diagonal (then the score is applied elementwise).
    """

    cov: np.ndarray
    eigenvalues: np.ndarray
    eigenvectors: np.ndarray
    d: int
    diagonal: np.ndarray | None = None

    def covariance(self, t: float) -> np.ndarray:
        """Sigma_t = e^{-2t} Sigma + Delta_t I (d x d)."""
        t = _check_t(t)
        lam_t = math.exp(-2.0 * t) * self.eigenvalues + _delta(t)
        return (self.eigenvectors * lam_t) @ self.eigenvectors.T

    def __call__(self, x: np.ndarray, t: float) -> np.ndarray:
        t = _check_t(t)
        arr, single = _check_x(x, self.d)
        e2, delta = math.exp(-2.0 * t), _delta(t)
        if self.diagonal is not None:  # Sigma diagonal: no rotations
            out = -(arr / (e2 * self.diagonal + delta))
        else:
            out = -(((arr @ self.eigenvectors) / (e2 * self.eigenvalues + delta)) @ self.eigenvectors.T)
        return out[0] if single else out

    def __repr__(self) -> str:
        return (f"GaussianScore(d={self.d}, eigenvalues in [{self.eigenvalues.min():.4g}, "
                f"{self.eigenvalues.max():.4g}])")


def gaussian_score(cov: np.ndarray) -> GaussianScore:
    """Exact score of the data law N(0, Sigma) under the forward process, as a callable.

    Parameters
    ----------
    cov : array_like
        Sigma: a (d, d) symmetric positive semi-definite matrix, or its diagonal (length d).

    Returns
    -------
    GaussianScore
        ``score(x, t) = -Sigma_t^{-1} x``, Sigma_t = e^{-2t} Sigma + Delta_t I; also
        ``score.covariance(t)``.

    Examples
    --------
    >>> import numpy as np
    >>> from rfdiff import generate
    >>> score = generate.gaussian_score(np.diag([0.5, 2.0]))
    >>> score(np.array([[1.0, 1.0]]), t=1e-9).round(6)   # -Sigma^{-1} x as t -> 0
    array([[-2. , -0.5]])
    """
    c = np.asarray(cov, dtype=np.float64)
    if c.ndim == 1:
        c = np.diag(c)
    if c.ndim != 2 or c.shape[0] != c.shape[1] or c.shape[0] == 0:
        raise ValueError(f"cov must be a (d, d) matrix or a length-d diagonal, got shape {np.shape(cov)}")
    if not np.all(np.isfinite(c)):
        raise ValueError("cov must be finite (no NaN or inf)")
    if not np.allclose(c, c.T, rtol=1e-12, atol=1e-14 * max(1.0, float(np.abs(c).max()))):
        raise ValueError("cov must be symmetric")
    lam, vec = np.linalg.eigh(0.5 * (c + c.T))
    scale = max(float(np.abs(lam).max()), np.finfo(np.float64).tiny)
    # a PSD matrix's eigenvalues come out >= -(a few) eps |Sigma| in float64; below that it is not PSD
    if lam.min() < -64 * c.shape[0] * np.finfo(np.float64).eps * scale:
        raise ValueError(f"cov must be positive semi-definite, smallest eigenvalue {lam.min():.3e}")
    lam = np.maximum(lam, 0.0)  # rounding-level negatives (checked above) are zeros of a PSD matrix
    diagonal = None
    if np.count_nonzero(c - np.diag(np.diag(c))) == 0:  # exact eigenpairs: no rounding from eigh
        diagonal = np.diag(c).copy()
        if diagonal.min() < 0:
            raise ValueError(f"cov must be positive semi-definite, got a diagonal entry {diagonal.min():.3e}")
        order = np.argsort(diagonal, kind="stable")
        lam, vec = diagonal[order], np.eye(c.shape[0])[:, order]
    for a in (c, lam, vec, diagonal):
        if a is not None:
            a.setflags(write=False)
    return GaussianScore(cov=c, eigenvalues=lam, eigenvectors=vec, d=c.shape[0], diagonal=diagonal)


@dataclass(frozen=True, eq=False, repr=False)
class EmpiricalScore:
    """Score of the Gaussian-smoothed empirical law of a training set (the memorizing reference).

    Attributes
    ----------
    train : ndarray
        Training points x_nu (n x d).
    d, n : int
    chunk : int
        Samples per block (memory ~ chunk x n doubles).
    """

    train: np.ndarray
    d: int
    n: int
    chunk: int

    def weights(self, x: np.ndarray, t: float) -> np.ndarray:
        """Softmax weights w_nu(x) (N x n) of the training points at time t (rows sum to 1)."""
        t = _check_t(t)
        arr, single = _check_x(x, self.d)
        out = np.empty((arr.shape[0], self.n))
        e, delta = math.exp(-t), _delta(t)
        half_norm = 0.5 * e * e * np.einsum("ij,ij->i", self.train, self.train)
        for lo in range(0, arr.shape[0], self.chunk):
            blk = arr[lo: lo + self.chunk]
            # log w_nu = -(|x|^2 - 2 e x.x_nu + e^2 |x_nu|^2) / (2 Delta) + const; |x|^2 cancels
            logit = (e * (blk @ self.train.T) - half_norm) / delta
            logit -= logit.max(axis=1, keepdims=True)
            np.exp(logit, out=logit)
            logit /= logit.sum(axis=1, keepdims=True)
            out[lo: lo + blk.shape[0]] = logit
        return out[0] if single else out

    def __call__(self, x: np.ndarray, t: float) -> np.ndarray:
        t = _check_t(t)
        arr, single = _check_x(x, self.d)
        e, delta = math.exp(-t), _delta(t)
        out = np.empty_like(arr)
        for lo in range(0, arr.shape[0], self.chunk):
            blk = arr[lo: lo + self.chunk]
            w = self.weights(blk, t)
            out[lo: lo + blk.shape[0]] = (e * (w @ self.train) - blk) / delta
        return out[0] if single else out

    def __repr__(self) -> str:
        return f"EmpiricalScore(n={self.n}, d={self.d})"


def empirical_score(train: np.ndarray, *, chunk: int = 4096) -> EmpiricalScore:
    """Score of the training set's Gaussian-smoothed empirical law (it memorizes), as a callable.

    Parameters
    ----------
    train : array_like
        Training points, shape (n, d), n >= 1.
    chunk : int
        Samples per block (memory ~ chunk x n doubles).

    Returns
    -------
    EmpiricalScore
        ``score(x, t) = sum_nu w_nu(x) (e^{-t} x_nu - x) / Delta_t`` (weights by log-sum-exp).

    Examples
    --------
    >>> import numpy as np
    >>> from rfdiff import generate
    >>> emp = generate.empirical_score(np.array([[1.0, 0.0], [-1.0, 0.0]]))
    >>> x = np.array([[0.9, 0.1]])
    >>> bool(np.allclose(emp(x, 1e-4), (np.exp(-1e-4) * np.array([1.0, 0.0]) - x) / -np.expm1(-2e-4)))
    True
    """
    a = np.array(train, dtype=np.float64, copy=True)
    if a.ndim != 2 or a.shape[0] < 1 or a.shape[1] < 1:
        raise ValueError(f"train must be a non-empty (n, d) array, got shape {np.shape(train)}")
    if not np.all(np.isfinite(a)):
        raise ValueError("train must be finite (no NaN or inf)")
    if isinstance(chunk, bool) or not isinstance(chunk, (int, np.integer)) or chunk < 1:
        raise ValueError(f"chunk must be an integer >= 1, got {chunk!r}")
    a.setflags(write=False)
    return EmpiricalScore(train=a, d=a.shape[1], n=a.shape[0], chunk=int(chunk))
