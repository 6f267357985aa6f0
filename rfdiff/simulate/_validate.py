"""Argument checks and small helpers shared by the simulator's modules (private layer).

Every check raises ``ValueError`` naming the parameter and the allowed range (bool is not a number).
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np

from ..model import RFModel

__all__ = [
    "NoiseMode",
    "check_array",
    "check_int",
    "check_model",
    "check_noise",
    "check_tau",
    "freeze",
    "round_half_up",
    "sizes",
]

NoiseMode = Literal["exact", "gaussian"] | int


def check_model(model: object) -> RFModel:
    if not isinstance(model, RFModel):
        raise ValueError(f"model must be an rfdiff.RFModel, got {type(model).__name__}")
    return model


def round_half_up(x: float) -> int:
    return math.floor(x + 0.5)


def check_int(name: str, value: object, lo: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < lo:
        raise ValueError(f"{name} must be an integer >= {lo}, got {value!r}")
    return int(value)


def sizes(model: RFModel, d: int) -> tuple[int, int]:
    """p = round(psi_p d), n = round(psi_n d) (halves round up), both >= 1."""
    p = round_half_up(model.psi_p * d)
    n = round_half_up(model.psi_n * d)
    if p < 1 or n < 1:
        raise ValueError(
            f"d = {d} gives p = {p}, n = {n}; d must make round(psi_p d) and round(psi_n d) >= 1"
        )
    return p, n


def check_noise(noise: object) -> str | int:
    if isinstance(noise, str):
        if noise not in ("exact", "gaussian"):
            raise ValueError(f"noise must be 'exact', 'gaussian' or an integer >= 1, got {noise!r}")
        return noise
    if isinstance(noise, bool) or not isinstance(noise, (int, np.integer)) or noise < 1:
        raise ValueError(f"noise must be 'exact', 'gaussian' or an integer >= 1, got {noise!r}")
    return int(noise)


def check_array(name: str, arr: object) -> np.ndarray:
    """A finite, non-empty, C-contiguous float64 copy of a 2-d array."""
    try:
        a = np.array(arr, dtype=np.float64, copy=True)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a real 2-d array, got {type(arr).__name__}") from None
    if a.ndim != 2 or a.size == 0:
        raise ValueError(f"{name} must be a non-empty 2-d array, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    return np.ascontiguousarray(a)


def check_tau(tau: object) -> np.ndarray:
    """Flow times as a non-empty 1-d float64 array, finite and >= 0."""
    try:
        arr = np.array(tau, dtype=np.float64, ndmin=1)
    except (TypeError, ValueError):
        raise ValueError(f"tau must be real numbers >= 0, got {tau!r}") from None
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"tau must be a non-empty scalar or 1-d array, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ValueError("tau must be finite and >= 0")
    return arr


def freeze(*arrays: np.ndarray) -> None:
    """Make arrays read-only (results are immutable)."""
    for a in arrays:
        a.setflags(write=False)
