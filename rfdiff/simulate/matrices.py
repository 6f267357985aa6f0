"""Finite-size correlation matrices U, V, U~, V~ of the random-features score model (docs/simulate.md).

Conventions (docs/theory.md §1–§2): W in R^{p x d} has
i.i.d. N(0, 1) entries, the features are sigma(W x_t / sqrt(d)) with
x_t = e^{-t} x + sqrt(Delta_t) xi, and

    U  = (1/n) sum_nu E_xi[ sigma(h^nu) sigma(h^nu)^T ]          (p x p)
    V  = (1/n) sum_nu E_xi[ sigma(h^nu) xi^T ]                    (p x d)
    U~ = E_{x_t ~ P_t}[ sigma(h) sigma(h)^T ],  V~ = E[ sigma(h) xi^T ]   (fresh data)

with h^nu = W x_t^nu / sqrt(d). Three ways of doing the average over the noise xi, each in
its own module:

``noise="exact"``
    Mehler's formula with a stated truncation bound (:mod:`rfdiff.simulate.mehler`).
``noise=m`` (an int)
    Monte Carlo: m independent draws of xi per sample, the George et al. setting
    (:mod:`rfdiff.simulate.montecarlo`); these U_m, V_m are the matrices of the loss with m fixed
    noisy copies per point.
``noise="gaussian"``
    The Gaussian-equivalent matrices (:mod:`rfdiff.simulate.gaussian`).

The population matrices U~, V~ are computed exactly (Mehler) for ``"exact"`` and Monte Carlo
noise. Data: :mod:`rfdiff.simulate.problem` (Sigma diagonal in the standard basis; user-supplied
X are taken as they are; U~, V~ always use this diagonal Sigma).

Randomness. ``seed`` (int >= 0 or a numpy SeedSequence) is spawned into
independent streams for W, X, the noise of this function (Monte Carlo draws or
Omega) and the noise of :func:`rfdiff.simulate.train`; so W and X are the same for
every noise mode and the same seed, and results do not depend on the thread count.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from ..io import Serializable
from ..model import RFModel
from . import _kernels, gaussian, mehler, montecarlo
from ._seeding import check_seed, stream
from ._validate import NoiseMode, check_array, check_int, check_model, check_noise, freeze, sizes
from .problem import data_covariance, sample_problem

__all__ = [
    "CorrelationMatrices",
    "EigenvalueSample",
    "NoiseMode",
    "check_matrices",
    "correlation_matrices",
    "eigenvalues",
]

#: policy of the dense/sparse split of the Mehler sum (see :data:`rfdiff.simulate.mehler.SPARSE_FRACTION`),
#: read at every call (a negative value turns the split off)
_SPARSE_FRACTION = mehler.SPARSE_FRACTION


# ----------------------------------------------------------------------------- results


@dataclass(frozen=True, eq=False, repr=False)
class CorrelationMatrices(Serializable):
    """U, V, U~, V~ for one draw of W and X, with the diagnostics of the noise average.

    Attributes
    ----------
    U, V : ndarray
        p x p and p x d (docs/theory.md §2.1), noise average as requested.
    U_pop, V_pop : ndarray
        Population versions U~ (p x p) and V~ (p x d).
    W, X : ndarray
        Weights (p x d, N(0, 1) entries) and data (n x d, rows x^nu).
    sigma : ndarray
        Diagonal of the data covariance Sigma used for U~, V~ (length d).
    noise : str or int
        ``"exact"``, ``"gaussian"`` or the number of Monte Carlo draws.
    t, delta : float
        Diffusion time and Delta_t = 1 - e^{-2t}.
    d, p, n : int
        Sizes.
    order, order_pop : int or None
        Mehler truncation order K for U and for U~ (None when not used).
    order_dense : int or None
        Orders 0..order_dense of U's series are summed for all pairs with BLAS; the
        higher ones only for the ``sparse_pairs`` pairs with large |rho_ij| (the rest
        are within the bound without them).
    sparse_pairs : int
        Number of unordered pairs (i < j) that received the orders above order_dense.
    truncation_bound, truncation_bound_pop : float
        Entrywise bound on the Mehler truncation error (0 when not used).
    rho_max, rho_pop_max : float
        Largest off-diagonal |rho_ij| (noise correlation) and |rho~_ij| (population).
    quad_order, quad_order_pop : int or None
        Gauss–Hermite orders used for the coefficients.
    quad_error, quad_error_pop : float
        Estimated quadrature error of the coefficients: largest change when the
        order is raised by half (on the pilot rows for U); an estimate, not a bound.
    tol : float
        Requested entrywise truncation tolerance.
    converged : bool
        True when both truncation bounds are <= tol (always True for the Gaussian mode).
    noise_norm2 : float
        The constant of the training loss, the noise energy (1/(n d)) sum |xi|^2 averaged as U and V
        are: 1 (its expectation) for ``"exact"`` and ``"gaussian"``; for Monte Carlo noise the
        empirical (1/(n m d)) sum_{nu,k} |xi^{nu,k}|^2 of the m fixed draws, so that U, V and this
        constant are exactly the loss on those draws (:mod:`rfdiff.simulate.montecarlo`).
    seed : SeedSequence or None
        The seed the matrices were drawn with (its noise stream holds the Monte Carlo draws).
    """

    U: np.ndarray
    V: np.ndarray
    U_pop: np.ndarray
    V_pop: np.ndarray
    W: np.ndarray
    X: np.ndarray
    sigma: np.ndarray
    noise: str | int
    t: float
    delta: float
    d: int
    p: int
    n: int
    order: int | None = None
    order_pop: int | None = None
    order_dense: int | None = None
    sparse_pairs: int = 0
    truncation_bound: float = 0.0
    truncation_bound_pop: float = 0.0
    rho_max: float = 0.0
    rho_pop_max: float = 0.0
    quad_order: int | None = None
    quad_order_pop: int | None = None
    quad_error: float = 0.0
    quad_error_pop: float = 0.0
    tol: float = 0.0
    converged: bool = True
    noise_norm2: float = 1.0
    seed: np.random.SeedSequence | None = None

    def __repr__(self) -> str:
        return (
            f"CorrelationMatrices(noise={self.noise!r}, d={self.d}, p={self.p}, n={self.n}, t={self.t}, "
            f"order={self.order}, order_pop={self.order_pop}, truncation_bound={self.truncation_bound:.2e}, "
            f"truncation_bound_pop={self.truncation_bound_pop:.2e}, converged={self.converged})"
        )


@dataclass(frozen=True, eq=False, repr=False)
class EigenvalueSample(Serializable):
    """Eigenvalues of U (or U~) over several seeds.

    Attributes
    ----------
    values : ndarray
        Shape (len(seeds), p), each row ascending.
    seeds : tuple
        The seeds, in row order.
    matrix : str
        ``"U"`` or ``"U_pop"``.
    noise : str or int
        Noise mode of the matrices.
    d, p, n : int
        Sizes.
    truncation_bound : float
        Largest entrywise Mehler truncation bound over the seeds (0 if unused).
    """

    values: np.ndarray
    seeds: tuple
    matrix: str
    noise: str | int
    d: int
    p: int
    n: int
    truncation_bound: float = 0.0

    @property
    def pooled(self) -> np.ndarray:
        """All eigenvalues of all seeds, sorted (the empirical spectral measure)."""
        return np.sort(self.values, axis=None)

    def __repr__(self) -> str:
        return (
            f"EigenvalueSample(matrix={self.matrix!r}, noise={self.noise!r}, seeds={self.seeds}, "
            f"d={self.d}, p={self.p}, n={self.n})"
        )


def check_matrices(model: RFModel, mats: object) -> CorrelationMatrices:
    """``mats`` if it is a CorrelationMatrices computed at the model's diffusion time, else ValueError."""
    if not isinstance(mats, CorrelationMatrices):
        raise ValueError(f"matrices must be a CorrelationMatrices, got {type(mats).__name__}")
    if not math.isclose(mats.t, model.t, rel_tol=1e-12):
        raise ValueError(f"matrices were computed at t = {mats.t}, the model has t = {model.t}")
    return mats



# ----------------------------------------------------------------------------- problem


def _resolve_problem(
    model: RFModel, W: object, X: object, d: int | None, seed: object
) -> tuple[np.ndarray, np.ndarray]:
    """W and X from the arguments: given ones are checked, missing ones drawn from ``seed``."""
    if W is not None:
        W = check_array("W", W)
        dim = W.shape[1]
    elif X is not None:
        X = check_array("X", X)
        dim = X.shape[1]
    elif d is None:
        raise ValueError("give either d (with seed) or W and/or X")
    else:
        dim = check_int("d", d, 1)
    if d is not None and check_int("d", d, 1) != dim:
        raise ValueError(f"d = {d} does not match the {dim} columns of the given W/X")
    p, n = sizes(model, dim)
    if W is None or X is None:
        W0, X0 = sample_problem(model, dim, seed)
        W = W0 if W is None else W
        X = X0 if X is None else check_array("X", X)
    if W.shape != (p, dim):
        raise ValueError(
            f"W must have shape (p, d) = ({p}, {dim}) with p = round(psi_p d) for psi_p = {model.psi_p}, "
            f"got {W.shape}"
        )
    if X.shape != (n, dim):
        raise ValueError(
            f"X must have shape (n, d) = ({n}, {dim}) with n = round(psi_n d) for psi_n = {model.psi_n}, "
            f"got {X.shape}"
        )
    return W, X


# ----------------------------------------------------------------------------- public API


def correlation_matrices(
    model: RFModel,
    d: int | None = None,
    *,
    seed: int | np.random.SeedSequence = 0,
    noise: NoiseMode = "exact",
    W: np.ndarray | None = None,
    X: np.ndarray | None = None,
    tol: float = 1e-10,
    max_order: int = 64,
    max_order_pop: int = 256,
    threads: int | None = None,
    block: int = 2048,
) -> CorrelationMatrices:
    """U, V, U~, V~ (docs/theory.md §2.1) at finite size, noise average as requested.

    Parameters
    ----------
    model : RFModel
        Gives psi_p, psi_n, t, the activation and the data spectrum.
    d : int, optional
        Dimension; W and X are drawn from ``seed``. Not needed when W or X is given.
    seed : int or SeedSequence
        Seeds W, X (when not given) and the noise of the Monte Carlo / Gaussian modes.
    noise : {"exact", "gaussian"} or int
        Exact Mehler/Hermite average, Gaussian-equivalent matrices, or the number of
        Monte Carlo draws of xi per sample (see the module notes).
    W, X : ndarray, optional
        Weights (p x d) and data (n x d); p = round(psi_p d), n = round(psi_n d).
    tol : float
        Entrywise bound on the Mehler truncation error, in (0, 1).
    max_order : int
        Largest Mehler order for U (each order costs one p x n by n x p product and
        p n doubles of memory); the bound is reported even if it exceeds tol.
    max_order_pop : int
        Largest Mehler order for U~ (each order costs O(p^2) flops only).
    threads : int, optional
        Numba threads for the kernels (BLAS threads are set by the BLAS library).
    block : int
        Largest row block of the blocked p x p products (blocks are equalised:
        ceil(p / ceil(p / block)) rows); extra memory ~ 3 block^2 doubles.

    Returns
    -------
    CorrelationMatrices

    Examples
    --------
    >>> import rfdiff
    >>> from rfdiff import simulate
    >>> m = rfdiff.RFModel(psi_p=2, psi_n=1, t=0.1)
    >>> mats = simulate.correlation_matrices(m, d=4, seed=0)
    >>> mats.U.shape, mats.V.shape, mats.converged
    ((8, 8), (8, 4), True)
    """
    check_model(model)
    noise = check_noise(noise)
    if not (isinstance(tol, (float, int)) and math.isfinite(tol) and 0.0 < tol < 1.0):
        raise ValueError(f"tol must be a number in (0, 1), got {tol!r}")
    max_order = check_int("max_order", max_order, 1)
    max_order_pop = check_int("max_order_pop", max_order_pop, 1)
    block = check_int("block", block, 1)
    with _kernels.numba_threads(threads):
        W, X = _resolve_problem(model, W, X, d, seed)
        p, dim = W.shape
        n = X.shape[0]
        block = -(-p // -(-p // block))  # equal blocks of at most `block` rows
        sigma = data_covariance(model, dim)
        act = model.activation
        common = dict(W=W, X=X, sigma=sigma, noise=noise, t=model.t, delta=model.constants.delta,
                      d=dim, p=p, n=n, tol=float(tol), seed=check_seed(seed))
        if noise == "gaussian":
            U, V, U_pop, V_pop = gaussian.equivalent_matrices(model, W, X, sigma, stream(seed, "noise"))
            freeze(U, V, U_pop, V_pop, W, X, sigma)
            return CorrelationMatrices(U=U, V=V, U_pop=U_pop, V_pop=V_pop, **common)
        pop = mehler.population(act, W, sigma, model.t, tol, max_order_pop, block)
        if noise == "exact":
            cond = mehler.conditional(act, W, X, model.t, tol, max_order, block, _SPARSE_FRACTION)
            U, V = cond.U, cond.V
            extra = dict(order=cond.order, truncation_bound=cond.bound, rho_max=cond.rho_max,
                         quad_order=cond.quad_order, quad_error=cond.quad_error,
                         order_dense=cond.order_dense, sparse_pairs=cond.sparse_pairs)
            converged = cond.bound <= tol and pop.bound <= tol
        else:
            U, V, xi2 = montecarlo.noise_average(act, W, X, model.t, noise, stream(seed, "noise"))
            extra = {"noise_norm2": xi2}
            converged = pop.bound <= tol
        for name, arr in (("U", U), ("V", V), ("U_pop", pop.U), ("V_pop", pop.V)):
            if not np.all(np.isfinite(arr)):
                raise FloatingPointError(f"{name} has non-finite entries")
        freeze(U, V, pop.U, pop.V, W, X, sigma)
        return CorrelationMatrices(
            U=U, V=V, U_pop=pop.U, V_pop=pop.V, order_pop=pop.order, truncation_bound_pop=pop.bound,
            rho_pop_max=pop.rho_max, quad_order_pop=pop.quad_order, quad_error_pop=pop.quad_error,
            converged=converged, **extra, **common,
        )


def eigenvalues(
    model: RFModel,
    d: int,
    seeds: Iterable[int] = (0,),
    noise: NoiseMode = "exact",
    *,
    matrix: Literal["U", "U_pop"] = "U",
    threads: int | None = None,
    **kwargs: object,
) -> EigenvalueSample:
    """Eigenvalues of U (or U~) for each seed (one independent W, X per seed).

    Parameters
    ----------
    model : RFModel
    d : int
        Dimension.
    seeds : iterable of int
        One draw of W, X (and noise) per seed.
    noise : {"exact", "gaussian"} or int
        As in :func:`correlation_matrices`.
    matrix : {"U", "U_pop"}
        Which matrix.
    threads : int, optional
        Numba threads.
    **kwargs
        Passed on to :func:`correlation_matrices` (tol, max_order, max_order_pop, block).

    Examples
    --------
    >>> import rfdiff
    >>> from rfdiff import simulate
    >>> ev = simulate.eigenvalues(rfdiff.RFModel(2, 1, 0.1), d=4, seeds=range(2), noise="gaussian")
    >>> ev.values.shape
    (2, 8)
    """
    check_model(model)
    d = check_int("d", d, 1)
    seeds = tuple(seeds)
    if not seeds:
        raise ValueError("seeds must contain at least one seed")
    if matrix not in ("U", "U_pop"):
        raise ValueError(f"matrix must be 'U' or 'U_pop', got {matrix!r}")
    rows = []
    bound = 0.0
    for s in seeds:
        mats = correlation_matrices(model, d, seed=s, noise=noise, threads=threads, **kwargs)
        rows.append(np.linalg.eigvalsh(getattr(mats, matrix)))
        bound = max(bound, mats.truncation_bound if matrix == "U" else mats.truncation_bound_pop)
    p, n = sizes(model, d)
    values = np.vstack(rows)
    values.setflags(write=False)
    return EigenvalueSample(values, seeds, matrix, check_noise(noise), d, p, n, bound)
