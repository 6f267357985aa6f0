"""Quadrature rules: Clenshaw–Curtis on [-1, 1]."""

from __future__ import annotations

import numpy as np


def clenshaw_curtis(m: int) -> tuple[np.ndarray, np.ndarray]:
    """Clenshaw–Curtis nodes u_j = -cos(j pi/m) (ascending) and weights on [-1, 1]."""
    theta = np.pi * np.arange(m + 1) / m
    w = np.zeros(m + 1)
    v = np.ones(m - 1)
    if m % 2 == 0:
        w[0] = w[m] = 1.0 / (m * m - 1)
        for k in range(1, m // 2):
            v -= 2.0 * np.cos(2 * k * theta[1:-1]) / (4 * k * k - 1)
        v -= np.cos(m * theta[1:-1]) / (m * m - 1)
    else:
        w[0] = w[m] = 1.0 / (m * m)
        for k in range(1, (m - 1) // 2 + 1):
            v -= 2.0 * np.cos(2 * k * theta[1:-1]) / (4 * k * k - 1)
    w[1:-1] = 2.0 * v / m
    return -np.cos(theta), w
