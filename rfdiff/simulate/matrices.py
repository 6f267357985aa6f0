"""Finite-size correlation matrices U, V, U~, V~ of the random-features score model (docs/theory.md §2, §8).

Conventions (docs/theory.md §1–§2): W in R^{p x d} has i.i.d. N(0, 1) entries, the
features are sigma(W x_t / sqrt(d)) with x_t = e^{-t} x + sqrt(Delta_t) xi, and

    U  = (1/n) sum_nu E_xi[ sigma(h^nu) sigma(h^nu)^T ]          (p x p)
    V  = (1/n) sum_nu E_xi[ sigma(h^nu) xi^T ]                    (p x d)
    U~ = E_{x_t ~ P_t}[ sigma(h) sigma(h)^T ],  V~ = E[ sigma(h) xi^T ]   (fresh data)

with h^nu = W x_t^nu / sqrt(d). Three ways of doing the average over the noise xi:

``noise="exact"``
    For fixed W and x^nu the preactivations are Gaussian with means
    m_i = e^{-t} w_i . x^nu / sqrt(d) and covariance C = Delta_t W W^T / d. With
    c_i = C_ii and rho_ij = C_ij / sqrt(c_i c_j) (the cosine between w_i and w_j),
    Mehler's formula gives, for i != j,

        E[sigma(h_i) sigma(h_j)] = sum_k rho_ij^k alpha_k(i, nu) alpha_k(j, nu),
        alpha_k(i, nu) = E[sigma(m_i + sqrt(c_i) z) He_k(z)] / sqrt(k!),   z ~ N(0, 1),

    which is the expansion of docs/theory.md §8.1 written with normalised coefficients
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

``noise=m`` (an int)
    Monte Carlo: m independent draws of xi per sample (the George et al. setting).

``noise="gaussian"``
    The Gaussian-equivalent matrices of docs/theory.md §3.3 (paper Lemmas C.1, C.2, C.4):
    G = e^{-t} a_t W X^T / sqrt(d) + v_t Omega, U = G G^T / n + b_t^2 W W^T / d + s_t^2 I,
    U~ = (mu_1^2 / Gamma_t^2) W Sigma_t W^T / d + mu_*^2 I,
    V = V~ = (mu_1 sqrt(Delta_t) / Gamma_t) W / sqrt(d).

The population matrices U~, V~ are computed exactly for ``"exact"`` and Monte
Carlo noise: for Gaussian data x_t ~ N(0, Sigma_t) the preactivations are jointly
Gaussian with zero mean and covariance K = W Sigma_t W^T / d, so the same Mehler
expansion (in rho~_ij = K_ij / sqrt(K_ii K_jj), coefficients beta_k(i) of
sigma(sqrt(K_ii) z)) gives U~ with the same kind of bound, and Stein gives
V~_i = sqrt(Delta_t) E[sigma'(h_i)] w_i / sqrt(d).

Data. x^nu ~ N(0, Sigma) with Sigma **diagonal in the standard basis**: the
eigenvalues lambda_k of ``model.data`` are assigned to consecutive coordinates, in
the order given, with multiplicities round(w_k d) (largest remainders, summing to
d). Because W has i.i.d. Gaussian entries its law is rotation invariant, so this is
equivalent in distribution to a random orthogonal basis. User-supplied X are taken
as they are; U~, V~ always use this diagonal Sigma.

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

from ..activations import Activation, gauss_hermite
from ..io import Serializable
from ..model import RFModel
from . import _kernels

__all__ = [
    "CorrelationMatrices",
    "EigenvalueSample",
    "correlation_matrices",
    "data_covariance",
    "eigenvalues",
    "sample_problem",
]

NoiseMode = Literal["exact", "gaussian"] | int

_STREAM_INDEX = {"W": 0, "X": 1, "noise": 2, "train": 3}
#: Gauss–Hermite error exponent: exp(-2 a sqrt(Q)) <= e^{-40} ~ 4e-18 for a strip of half-width a
_GH_EXPONENT = 40.0


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


# ----------------------------------------------------------------------------- validation


def _check_model(model: object) -> RFModel:
    if not isinstance(model, RFModel):
        raise ValueError(f"model must be an rfdiff.RFModel, got {type(model).__name__}")
    return model


def _round_half_up(x: float) -> int:
    return math.floor(x + 0.5)


def _check_int(name: str, value: object, lo: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < lo:
        raise ValueError(f"{name} must be an integer >= {lo}, got {value!r}")
    return int(value)


def _check_seed(seed: object) -> np.random.SeedSequence:
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0 or a numpy SeedSequence, got {seed!r}")
    return np.random.SeedSequence(int(seed))


def _stream(seed: object, name: str) -> np.random.Generator:
    """Independent generator for one use of ``seed`` (W, X, noise or train)."""
    children = _check_seed(seed).spawn(len(_STREAM_INDEX))
    return np.random.Generator(np.random.PCG64(children[_STREAM_INDEX[name]]))


def _sizes(model: RFModel, d: int) -> tuple[int, int]:
    p = _round_half_up(model.psi_p * d)
    n = _round_half_up(model.psi_n * d)
    if p < 1 or n < 1:
        raise ValueError(
            f"d = {d} gives p = {p}, n = {n}; d must make round(psi_p d) and round(psi_n d) >= 1"
        )
    return p, n


def _check_noise(noise: object) -> str | int:
    if isinstance(noise, str):
        if noise not in ("exact", "gaussian"):
            raise ValueError(f"noise must be 'exact', 'gaussian' or an integer >= 1, got {noise!r}")
        return noise
    if isinstance(noise, bool) or not isinstance(noise, (int, np.integer)) or noise < 1:
        raise ValueError(f"noise must be 'exact', 'gaussian' or an integer >= 1, got {noise!r}")
    return int(noise)


def _check_array(name: str, arr: object) -> np.ndarray:
    try:
        a = np.array(arr, dtype=np.float64, copy=True)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a real 2-d array, got {type(arr).__name__}") from None
    if a.ndim != 2 or a.size == 0:
        raise ValueError(f"{name} must be a non-empty 2-d array, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    return np.ascontiguousarray(a)


def data_covariance(model: RFModel, d: int) -> np.ndarray:
    """Diagonal of the data covariance Sigma used at dimension d (see module notes).

    Atom k of ``model.data`` gets round(w_k d) consecutive coordinates (largest
    remainders, total d).

    Examples
    --------
    >>> import rfdiff
    >>> m = rfdiff.RFModel(2, 1, 0.1, data=rfdiff.DataSpectrum([0.5, 1.5], [0.5, 0.5]))
    >>> data_covariance(m, 4).tolist()
    [0.5, 0.5, 1.5, 1.5]
    """
    _check_model(model)
    d = _check_int("d", d, 1)
    lam, w = model.data.lam, model.data.w
    raw = w * d
    counts = np.floor(raw).astype(np.int64)
    short = d - int(counts.sum())
    if short > 0:
        counts[np.argsort(-(raw - counts), kind="stable")[:short]] += 1
    return np.repeat(lam, counts)


def sample_problem(
    model: RFModel, d: int, seed: int | np.random.SeedSequence = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Draw W (p x d, N(0, 1) entries) and X (n x d, rows ~ N(0, Sigma)) for ``seed``.

    p = round(psi_p d), n = round(psi_n d) (halves round up).

    Examples
    --------
    >>> import rfdiff
    >>> W, X = sample_problem(rfdiff.RFModel(psi_p=2, psi_n=1, t=0.1), d=5, seed=0)
    >>> W.shape, X.shape
    ((10, 5), (5, 5))
    """
    _check_model(model)
    d = _check_int("d", d, 1)
    p, n = _sizes(model, d)
    W = _stream(seed, "W").standard_normal((p, d))
    X = _stream(seed, "X").standard_normal((n, d)) * np.sqrt(data_covariance(model, d))
    return W, X


def _resolve_problem(
    model: RFModel, W: object, X: object, d: int | None, seed: object
) -> tuple[np.ndarray, np.ndarray]:
    """W and X from the arguments: given ones are checked, missing ones drawn from ``seed``."""
    if W is not None:
        W = _check_array("W", W)
        dim = W.shape[1]
    elif X is not None:
        X = _check_array("X", X)
        dim = X.shape[1]
    elif d is None:
        raise ValueError("give either d (with seed) or W and/or X")
    else:
        dim = _check_int("d", d, 1)
    if d is not None and _check_int("d", d, 1) != dim:
        raise ValueError(f"d = {d} does not match the {dim} columns of the given W/X")
    p, n = _sizes(model, dim)
    if W is None or X is None:
        W0, X0 = sample_problem(model, dim, seed)
        W = W0 if W is None else W
        X = X0 if X is None else _check_array("X", X)
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


# ----------------------------------------------------------------------------- quadrature helpers


def _hermite_table(order: int, k1: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Nodes z, weights w (E f(z), z ~ N(0,1)) and hw[q, k] = w_q He_k(z_q) / sqrt(k!)."""
    z, w = gauss_hermite(order)
    h = np.empty((order, k1))
    h[:, 0] = 1.0
    if k1 > 1:
        h[:, 1] = z
    for k in range(1, k1 - 1):  # normalised recurrence, stable for large k
        h[:, k + 1] = (z * h[:, k] - math.sqrt(k) * h[:, k - 1]) / math.sqrt(k + 1)
    return z, w, np.ascontiguousarray(w[:, None] * h)


def _quad_rule(scale_max: float, k1: int) -> int:
    """Gauss–Hermite order for E[sigma(m + s z) He_k(z)], s <= scale_max, k < k1.

    For sigma analytic in the strip |Im x| < pi/2 (tanh; erf is entire) the
    integrand in z is analytic in |Im z| < a = pi / (2 s) and the error decays like
    exp(-2 a sqrt(Q)); Q = (40 s / pi)^2 makes it ~e^{-40}. Q >= 2 k1 + 10 keeps
    the He_k factors well resolved. Q is even (the kernel pairs the nodes +-z).
    """
    q = math.ceil((_GH_EXPONENT * scale_max / math.pi) ** 2)
    q = int(max(20, 2 * k1 + 10, q))
    return q + (q % 2)


def _activation_code(act: Activation) -> int | None:
    from scipy import special

    if act.fn is np.tanh:
        return _kernels.ACTIVATION_CODES["tanh"]
    if act.fn is special.erf:
        return _kernels.ACTIVATION_CODES["erf"]
    return None


def _moments(
    act: Activation, code: int | None, mean: np.ndarray, scale: np.ndarray, order: int, k1: int
) -> tuple[np.ndarray, np.ndarray]:
    """alpha_k(i, nu) (k1 x p x n) and E sigma^2 (p x n) by Gauss–Hermite of the given (even) order."""
    z, w, hw = _hermite_table(order, k1)
    mean = np.ascontiguousarray(mean)
    p, n = mean.shape
    coef = np.empty((k1, p, n))
    second = np.empty((p, n))
    if code is not None:
        _kernels.hermite_moments(code, mean, np.ascontiguousarray(scale), z, w, hw, coef, second)
    else:  # any vectorised callable: rows in chunks of <= 2^22 evaluations
        rows = max(1, (1 << 22) // max(1, n * order))
        for lo in range(0, p, rows):
            sl = slice(lo, min(p, lo + rows))
            s = act(mean[sl, :, None] + scale[sl, None, None] * z)
            if not np.all(np.isfinite(s)):
                raise ValueError(f"activation {act.name!r} returned non-finite values")
            coef[:, sl, :] = np.moveaxis(s @ hw, -1, 0)
            second[sl] = (s * s) @ w
    return coef, second


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


# ----------------------------------------------------------------------------- exact noise average


@dataclass(frozen=True)
class _ExactPart:
    U: np.ndarray
    V: np.ndarray
    order: int
    bound: float
    rho_max: float
    quad_order: int
    quad_error: float
    order_dense: int = 0
    sparse_pairs: int = 0


#: the dense (BLAS) part of the Mehler sum stops at the first order K_b after which at most this
#: fraction of the pairs (those with |rho_ij| > cut) still needs terms; they are added pair by pair
_SPARSE_FRACTION = 0.005


def _exact_conditional(
    act: Activation, W: np.ndarray, X: np.ndarray, t: float, tol: float, max_order: int, block: int
) -> _ExactPart:
    code = _activation_code(act)
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
    q_order = _quad_rule(float(scale.max()), k1)
    pm = mean[np.ix_(rows, cols)]
    coef_p, second_p = _moments(act, code, pm, scale[rows], q_order, k1)
    bounds = rho_max ** np.arange(1, k1 + 1) * _tails(coef_p, second_p)
    ok = np.nonzero(bounds <= 0.25 * tol)[0]  # margin: the pilot sees only some rows
    order = max(1, int(ok[0])) if ok.size else max_order  # V needs alpha_1
    del coef_p

    while True:  # the full pass verifies the pilot's order on every row
        q_order = _quad_rule(float(scale.max()), order + 1)
        coef, second = _moments(act, code, mean, scale, q_order, order + 1)
        tails = _tails(coef, second)
        bound = float(rho_max ** (order + 1) * tails[order]) if p > 1 else 0.0
        if bound <= tol or order >= max_order:
            break
        order = min(max_order, order + 4)
    # quadrature check on the pilot rows: the order used against one raised by half
    q_hi = q_order * 3 // 2 + 8
    q_hi += q_hi % 2
    coef_lo, _ = _moments(act, code, pm, scale[rows], q_order, order + 1)
    coef_hi, _ = _moments(act, code, pm, scale[rows], q_hi, order + 1)
    quad_error = float(np.abs(coef_hi - coef_lo).max())
    del coef_lo, coef_hi

    # dense orders 0..K_b for all pairs; orders K_b+1..K only where |rho_ij| > cut, with
    # cut^{K_b+1} max_i Tbar_i(K_b) = tol, so every pair keeps the entrywise bound
    order_dense, cut = order, math.inf
    for kb in range(1, order):
        # 0.999: keep the dense-part bound strictly below tol despite rounding
        c = (0.999 * tol / tails[kb]) ** (1.0 / (kb + 1)) if tails[kb] > 0 else math.inf
        frac = 1.0 - np.searchsorted(rho_sample, c, side="right") / max(1, rho_sample.size)
        if c >= rho_max or frac <= _SPARSE_FRACTION:
            order_dense, cut = kb, c
            break
    if order_dense < order:
        bound = max(bound, min(cut, rho_max) ** (order_dense + 1) * float(tails[order_dense]))

    U, pairs = _mehler_blocks(coef, unit, second.mean(axis=1), n, block, order_dense, cut)
    dsig = coef[1].mean(axis=1) / scale  # mean_nu E sigma'(h_i)
    V = (math.sqrt(delta / d) * dsig)[:, None] * W
    return _ExactPart(U, V, order, bound, rho_max, q_order, quad_error, order_dense, pairs)


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


def _exact_population(
    act: Activation, W: np.ndarray, sigma: np.ndarray, t: float, tol: float, max_order: int, block: int
) -> _ExactPart:
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
    q_order = _quad_rule(float(sk.max()), k1)
    z, w, hw = _hermite_table(q_order, k1)
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
    z2, _, hw2 = _hermite_table(q_hi, order + 1)
    beta_hi = act(sk[:, None] * z2[None, :]) @ hw2
    quad_error = float(np.abs(beta_hi - beta[:, : order + 1]).max())
    beta = np.ascontiguousarray(beta[:, : order + 1])
    _kernels.horner_rank1(K, beta, second)
    V = (math.sqrt(delta / d) * beta[:, 1] / sk)[:, None] * W
    return _ExactPart(K, V, order, bound, rho_max, q_order, quad_error)


# ----------------------------------------------------------------------------- other noise modes


def _apply(act: Activation, code: int | None, h: np.ndarray) -> np.ndarray:
    if code is not None:
        _kernels.apply_inplace(code, h)
        return h
    out = act(h)
    if not np.all(np.isfinite(out)):
        raise ValueError(f"activation {act.name!r} returned non-finite values")
    return out


def _monte_carlo(
    act: Activation, W: np.ndarray, X: np.ndarray, t: float, draws: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    code = _activation_code(act)
    p, d = W.shape
    n = X.shape[0]
    delta = -math.expm1(-2.0 * t)
    mean = (math.exp(-t) / math.sqrt(d)) * (W @ X.T)
    U = np.zeros((p, p))
    V = np.zeros((p, d))
    batch = max(1, min(draws, 8192 // n))
    for start in range(0, draws, batch):
        b = min(batch, draws - start)
        xi = rng.standard_normal((b * n, d))  # rows (draw, sample); one sequential stream
        h = (W @ xi.T).reshape(p, b, n)
        h *= math.sqrt(delta / d)
        h += mean[:, None, :]
        f = _apply(act, code, np.ascontiguousarray(h.reshape(p, b * n)))
        U += f @ f.T
        V += f @ xi
    U *= 1.0 / (n * draws)
    V *= 1.0 / (n * draws)
    return U, V


def _gaussian_equivalent(
    model: RFModel, W: np.ndarray, X: np.ndarray, sigma: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    c = model.constants
    p, d = W.shape
    n = X.shape[0]
    e = math.exp(-model.t)
    G = (e * c.a / math.sqrt(d)) * (W @ X.T) + math.sqrt(max(c.v2, 0.0)) * rng.standard_normal((p, n))
    U = G @ G.T
    U *= 1.0 / n
    U += (c.b**2 / d) * (W @ W.T)
    U[np.diag_indices(p)] += c.s2
    sigma_t = e * e * sigma + c.delta
    U_pop = (W * sigma_t) @ W.T
    U_pop *= c.mu1**2 / (c.gamma2 * d)
    U_pop[np.diag_indices(p)] += c.mustar2
    V = (c.mu1 * math.sqrt(c.delta / c.gamma2) / math.sqrt(d)) * W
    return U, V, U_pop, V.copy()


# ----------------------------------------------------------------------------- public API


def _freeze(*arrays: np.ndarray) -> None:
    for a in arrays:
        a.setflags(write=False)


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
    """U, V, U~, V~ of docs/theory.md §2.1 at finite size, with the noise average done as requested.

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
    _check_model(model)
    noise = _check_noise(noise)
    if not (isinstance(tol, (float, int)) and math.isfinite(tol) and 0.0 < tol < 1.0):
        raise ValueError(f"tol must be a number in (0, 1), got {tol!r}")
    max_order = _check_int("max_order", max_order, 1)
    max_order_pop = _check_int("max_order_pop", max_order_pop, 1)
    block = _check_int("block", block, 1)
    with _kernels.numba_threads(threads):
        W, X = _resolve_problem(model, W, X, d, seed)
        p, dim = W.shape
        n = X.shape[0]
        block = -(-p // -(-p // block))  # equal blocks of at most `block` rows
        sigma = data_covariance(model, dim)
        act = model.activation
        common = dict(W=W, X=X, sigma=sigma, noise=noise, t=model.t, delta=model.constants.delta,
                      d=dim, p=p, n=n, tol=float(tol))
        if noise == "gaussian":
            U, V, U_pop, V_pop = _gaussian_equivalent(model, W, X, sigma, _stream(seed, "noise"))
            _freeze(U, V, U_pop, V_pop, W, X, sigma)
            return CorrelationMatrices(U=U, V=V, U_pop=U_pop, V_pop=V_pop, **common)
        pop = _exact_population(act, W, sigma, model.t, tol, max_order_pop, block)
        if noise == "exact":
            cond = _exact_conditional(act, W, X, model.t, tol, max_order, block)
            U, V = cond.U, cond.V
            extra = dict(order=cond.order, truncation_bound=cond.bound, rho_max=cond.rho_max,
                         quad_order=cond.quad_order, quad_error=cond.quad_error,
                         order_dense=cond.order_dense, sparse_pairs=cond.sparse_pairs)
            converged = cond.bound <= tol and pop.bound <= tol
        else:
            U, V = _monte_carlo(act, W, X, model.t, noise, _stream(seed, "noise"))
            extra = {}
            converged = pop.bound <= tol
        for name, arr in (("U", U), ("V", V), ("U_pop", pop.U), ("V_pop", pop.V)):
            if not np.all(np.isfinite(arr)):
                raise FloatingPointError(f"{name} has non-finite entries")
        _freeze(U, V, pop.U, pop.V, W, X, sigma)
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
    _check_model(model)
    d = _check_int("d", d, 1)
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
    p, n = _sizes(model, d)
    values = np.vstack(rows)
    values.setflags(write=False)
    return EigenvalueSample(values, seeds, matrix, _check_noise(noise), d, p, n, bound)
