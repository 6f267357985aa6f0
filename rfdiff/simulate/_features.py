"""The activation applied to preactivations (private layer): compiled for tanh and erf, numpy otherwise."""

from __future__ import annotations

import numpy as np

from ..activations import Activation
from . import _kernels

__all__ = ["activation_code", "apply"]


def activation_code(act: Activation) -> int | None:
    """The compiled kernel's code for ``act`` (tanh, erf), or None for any other callable."""
    from scipy import special

    if act.fn is np.tanh:
        return _kernels.ACTIVATION_CODES["tanh"]
    if act.fn is special.erf:
        return _kernels.ACTIVATION_CODES["erf"]
    return None


def apply(act: Activation, code: int | None, h: np.ndarray) -> np.ndarray:
    """sigma(h): in place through the kernel when ``code`` is set, else a new array (checked finite)."""
    if code is not None:
        _kernels.apply_inplace(code, h)
        return h
    out = act(h)
    if not np.all(np.isfinite(out)):
        raise ValueError(f"activation {act.name!r} returned non-finite values")
    return out
