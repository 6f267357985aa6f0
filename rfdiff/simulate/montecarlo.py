"""Monte Carlo noise average: U and V from m noise draws per training point (docs/simulate.md).

With xi^{nu,k} ~ N(0, I_d), k = 1..m, and
f^{nu,k} = sigma(W (e^{-t} x^nu + sqrt(Delta_t) xi^{nu,k}) / sqrt(d)),

    U_m = (1/(n m)) sum_{nu,k} f^{nu,k} f^{nu,k}^T,     V_m = (1/(n m)) sum_{nu,k} f^{nu,k} xi^{nu,k}^T,

the matrices of the loss with m fixed noisy copies per point (George, Veiga & Macris's setting).
That loss, L^m(A) = (1/(n m d)) sum_{nu,k} |sqrt(Delta_t) s_A(x_t^{nu,k}) + xi^{nu,k}|^2, is

    L^m = xi2 + (Delta_t/d) Tr(A^T A U_m)/p + (2 sqrt(Delta_t)/d) Tr(A V_m)/sqrt(p),
    xi2 = (1/(n m d)) sum_{nu,k} |xi^{nu,k}|^2,

with the empirical noise energy xi2 in place of its expectation 1; it is returned too.

The draws are the rows of one (m n) x d standard normal matrix from one generator, row k n + nu
being xi^{nu,k} (draw-major): :func:`fixed_draws` returns it, and :func:`noise_average` consumes
the same stream in batches of rows (a Generator fills arrays sequentially, so the batches
concatenate to the same matrix). :func:`rfdiff.simulate.train` with ``noise=m`` trains on exactly
these draws.
"""

from __future__ import annotations

import math

import numpy as np

from ..activations import Activation
from ._features import activation_code, apply

__all__ = ["feature_factor", "fixed_draws", "noise_average"]


def fixed_draws(rng: np.random.Generator, n: int, draws: int, d: int) -> np.ndarray:
    """The (draws n) x d matrix of noise draws, row k n + nu = xi^{nu,k} (module notes).

    Examples
    --------
    >>> import numpy as np
    >>> fixed_draws(np.random.default_rng(0), n=3, draws=2, d=4).shape
    (6, 4)
    """
    return rng.standard_normal((draws * n, d))


def noise_average(
    act: Activation, W: np.ndarray, X: np.ndarray, t: float, draws: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, float]:
    """U_m (p x p), V_m (p x d) and xi2 from ``draws`` noise draws per point (module notes).

    Examples
    --------
    >>> import numpy as np
    >>> from rfdiff.activations import get_activation
    >>> rng = np.random.default_rng(0)
    >>> W, X = rng.standard_normal((6, 3)), rng.standard_normal((2, 3))
    >>> U, V, xi2 = noise_average(get_activation("tanh"), W, X, 0.1, 5, np.random.default_rng(1))
    >>> U.shape, V.shape, bool(0.5 < xi2 < 1.5)
    ((6, 6), (6, 3), True)
    """
    code = activation_code(act)
    p, d = W.shape
    n = X.shape[0]
    delta = -math.expm1(-2.0 * t)
    mean = (math.exp(-t) / math.sqrt(d)) * (W @ X.T)
    U = np.zeros((p, p))
    V = np.zeros((p, d))
    xi2 = 0.0
    batch = max(1, min(draws, 8192 // n))
    for start in range(0, draws, batch):
        b = min(batch, draws - start)
        xi = rng.standard_normal((b * n, d))  # rows (draw, sample); one sequential stream
        xi2 += float(np.sum(xi * xi))
        h = (W @ xi.T).reshape(p, b, n)
        h *= math.sqrt(delta / d)
        h += mean[:, None, :]
        f = apply(act, code, np.ascontiguousarray(h.reshape(p, b * n)))
        U += f @ f.T
        V += f @ xi
    U *= 1.0 / (n * draws)
    V *= 1.0 / (n * draws)
    return U, V, xi2 / (n * draws * d)


def feature_factor(
    act: Activation, W: np.ndarray, X: np.ndarray, t: float, draws: int, rng: np.random.Generator
) -> np.ndarray:
    """H = F / sqrt(n m), p x (n m), the features of the m fixed draws: U_m = H H^T exactly.

    Column k n + nu is sigma(W x_t^{nu,k} / sqrt(d)) for the draws of :func:`fixed_draws` (a
    generator in the state :func:`noise_average` starts from). :func:`rfdiff.simulate.flow_spectrum`
    uses it when n m < p, where U_m has rank <= n m.

    Examples
    --------
    >>> import numpy as np
    >>> from rfdiff.activations import get_activation
    >>> rng = np.random.default_rng(0)
    >>> W, X = rng.standard_normal((6, 3)), rng.standard_normal((2, 3))
    >>> act = get_activation("tanh")
    >>> U = noise_average(act, W, X, 0.1, 2, np.random.default_rng(1))[0]
    >>> H = feature_factor(act, W, X, 0.1, 2, np.random.default_rng(1))
    >>> H.shape, bool(np.allclose(U, H @ H.T, rtol=0, atol=1e-14))
    ((6, 4), True)
    """
    code = activation_code(act)
    d = W.shape[1]
    n = X.shape[0]
    delta = -math.expm1(-2.0 * t)
    xi = fixed_draws(rng, n, draws, d)  # (m n) x d, row k n + nu
    h = W @ xi.T  # p x (m n)
    h *= math.sqrt(delta / d)
    h += np.tile((math.exp(-t) / math.sqrt(d)) * (W @ X.T), (1, draws))
    F = apply(act, code, np.ascontiguousarray(h))
    F *= 1.0 / math.sqrt(n * draws)
    return F
