"""Argument checks shared by the public layers: one message style, TypeError for a wrong kind of value
(bool and str are not numbers), ValueError for a value out of its range, both naming the parameter."""

from __future__ import annotations

import math
import numbers

import numpy as np


def finite_positive(name: str, value: object) -> float:
    """A finite real number > 0."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number > 0, got {type(value).__name__} {value!r}")
    x = float(value)
    if not math.isfinite(x) or x <= 0.0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return x


def finite_nonnegative(name: str, value: object) -> float:
    """A finite real number >= 0."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number >= 0, got {type(value).__name__} {value!r}")
    x = float(value)
    if not math.isfinite(x) or x < 0.0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return x


def _numeric(name: str, values: object) -> np.ndarray:
    if isinstance(values, (bool, np.bool_, str, bytes)):
        raise TypeError(f"{name} must be numbers, got {type(values).__name__}")
    arr = np.asarray(values)
    if arr.dtype == object or arr.dtype == np.bool_ or not np.issubdtype(arr.dtype, np.number):
        raise TypeError(f"{name} must be numeric, got dtype {arr.dtype}")
    return arr


def tau_array(values: object, name: str = "tau") -> np.ndarray:
    """Flow times: real numbers >= 0, inf allowed (float64 array of the input's shape)."""
    arr = _numeric(name, values)
    if np.iscomplexobj(arr):
        raise TypeError(f"{name} must be real, got complex values")
    arr = arr.astype(np.float64)
    if not (arr >= 0.0).all():  # NaN compares false; +inf passes, -inf does not
        raise ValueError(f"{name} must be >= 0 (inf allowed), got NaN or a negative value")
    return arr


def real_array(name: str, values: object) -> np.ndarray:
    """Finite real numbers (float64 array of the input's shape)."""
    arr = _numeric(name, values)
    if np.iscomplexobj(arr):
        raise ValueError(f"{name} must be real, got complex values")
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite (got NaN or inf)")
    return arr


def nonnegative_array(name: str, values: object) -> np.ndarray:
    """Finite real numbers >= 0, at least one (float64 array of the input's shape)."""
    arr = real_array(name, values)
    if arr.size == 0 or np.any(arr < 0):
        raise ValueError(f"{name} must be finite numbers >= 0 (at least one), got {values!r}")
    return arr


def complex_points(name: str, values: object) -> np.ndarray:
    """Finite complex numbers (complex128 array of the input's shape)."""
    arr = _numeric(name, values).astype(np.complex128)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite (got NaN or inf)")
    return arr
