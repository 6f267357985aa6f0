"""Monte Carlo noise average: U and V from m noise draws per training point (docs/simulate.md).

With xi^{nu,k} ~ N(0, I_d), k = 1..m, and
f^{nu,k} = sigma(W (e^{-t} x^nu + sqrt(Delta_t) xi^{nu,k}) / sqrt(d)),

    U_m = (1/(n m)) sum_{nu,k} f^{nu,k} f^{nu,k}^T,     V_m = (1/(n m)) sum_{nu,k} f^{nu,k} xi^{nu,k}^T,

the matrices of the loss with m fixed noisy copies per point (George, Veiga & Macris's setting).
The draws come from one generator in the order (draw, sample), in batches, so the result depends
only on the generator's state.
"""

from __future__ import annotations

import math

import numpy as np

from ..activations import Activation
from ._features import activation_code, apply

__all__ = ["noise_average"]


def noise_average(
    act: Activation, W: np.ndarray, X: np.ndarray, t: float, draws: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """U_m (p x p) and V_m (p x d) from ``draws`` noise draws per point (module notes).

    Examples
    --------
    >>> import numpy as np
    >>> from rfdiff.activations import get_activation
    >>> rng = np.random.default_rng(0)
    >>> W, X = rng.standard_normal((6, 3)), rng.standard_normal((2, 3))
    >>> U, V = noise_average(get_activation("tanh"), W, X, 0.1, 5, np.random.default_rng(1))
    >>> U.shape, V.shape
    ((6, 6), (6, 3))
    """
    code = activation_code(act)
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
        f = apply(act, code, np.ascontiguousarray(h.reshape(p, b * n)))
        U += f @ f.T
        V += f @ xi
    U *= 1.0 / (n * draws)
    V *= 1.0 / (n * draws)
    return U, V
