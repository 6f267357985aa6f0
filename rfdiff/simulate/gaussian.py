"""Gaussian-equivalent U, V, U~, V~ (docs/theory.md §3.3).

Paper Lemmas C.1, C.2, C.4:

    G  = e^{-t} a_t W X^T / sqrt(d) + v_t Omega,      U = G G^T / n + b_t^2 W W^T / d + s_t^2 I,
    U~ = (mu_1^2 / Gamma_t^2) W Sigma_t W^T / d + mu_*^2 I,
    V  = V~ = (mu_1 sqrt(Delta_t) / Gamma_t) W / sqrt(d),

with Omega (p x n) i.i.d. N(0, 1) from the given generator and Sigma_t = e^{-2t} Sigma + Delta_t I.
"""

from __future__ import annotations

import math

import numpy as np

from ..model import RFModel

__all__ = ["equivalent_factor", "equivalent_matrices"]


def equivalent_matrices(
    model: RFModel, W: np.ndarray, X: np.ndarray, sigma: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(U, V, U~, V~) of the Gaussian-equivalent model for W (p x d), X (n x d), diag(Sigma) = sigma.

    Examples
    --------
    >>> import numpy as np, rfdiff
    >>> rng = np.random.default_rng(0)
    >>> W, X = rng.standard_normal((6, 3)), rng.standard_normal((2, 3))
    >>> U, V, U_pop, V_pop = equivalent_matrices(rfdiff.RFModel(2, 1, 0.1), W, X, np.ones(3), rng)
    >>> U.shape, V.shape, bool(np.array_equal(V, V_pop))
    ((6, 6), (6, 3), True)
    """
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


def equivalent_factor(
    model: RFModel, W: np.ndarray, X: np.ndarray, rng: np.random.Generator
) -> tuple[float, np.ndarray]:
    """(s_t^2, H) with U = s_t^2 I + H H^T, H = [G / sqrt(n), b_t W / sqrt(d)] (p x (n + d)).

    The same G as :func:`equivalent_matrices` for a generator in the same state (Omega is drawn
    first, identically), so the Gaussian-equivalent U is exactly the identity plus a rank n + d
    term: :func:`rfdiff.simulate.flow_spectrum` uses it to diagonalise U in that subspace only.

    Examples
    --------
    >>> import numpy as np, rfdiff
    >>> rng = np.random.default_rng(0)
    >>> W, X = rng.standard_normal((6, 3)), rng.standard_normal((2, 3))
    >>> m = rfdiff.RFModel(2, 1, 0.1)
    >>> U = equivalent_matrices(m, W, X, np.ones(3), np.random.default_rng(1))[0]
    >>> s2, H = equivalent_factor(m, W, X, np.random.default_rng(1))
    >>> H.shape, bool(np.allclose(U, s2 * np.eye(6) + H @ H.T, rtol=0, atol=1e-14))
    ((6, 5), True)
    """
    c = model.constants
    p, d = W.shape
    n = X.shape[0]
    e = math.exp(-model.t)
    G = (e * c.a / math.sqrt(d)) * (W @ X.T) + math.sqrt(max(c.v2, 0.0)) * rng.standard_normal((p, n))
    return float(c.s2), np.hstack([G / math.sqrt(n), (c.b / math.sqrt(d)) * W])
