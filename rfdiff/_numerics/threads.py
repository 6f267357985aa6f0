"""Numba thread count for a block of kernel calls (shared by simulate and generate)."""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["numba_threads"]


class numba_threads:
    """Context manager: run numba kernels with ``threads`` threads (None: leave as is).

    Raises ValueError unless 1 <= threads <= numba.config.NUMBA_NUM_THREADS.
    """

    def __init__(self, threads: int | None) -> None:
        if threads is not None:
            top = numba.config.NUMBA_NUM_THREADS
            if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or not (
                1 <= threads <= top
            ):
                raise ValueError(f"threads must be an integer in [1, {top}] or None, got {threads!r}")
        self.threads = threads
        self._old: int | None = None

    def __enter__(self) -> numba_threads:
        if self.threads is not None:
            self._old = numba.get_num_threads()
            numba.set_num_threads(int(self.threads))
        return self

    def __exit__(self, *exc: object) -> None:
        if self._old is not None:
            numba.set_num_threads(self._old)
