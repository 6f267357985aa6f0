"""Progress on stderr and the process pool of the sweeps.

:class:`Progress` draws a tqdm bar when stderr is a terminal and otherwise prints plain lines
(``rfdiff report: [12/40] 30 % curves psi_n=8 seed 1 (95 s)``), at most one every ``interval``
seconds, so that a log file or a CI job shows that the run is alive. The command line uses it for
``report``, ``curves --simulate`` and ``phase``.
"""

from __future__ import annotations

import signal
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TextIO

from ..sweep import process_pool as _process_pool

__all__ = ["Progress", "process_pool"]


class Progress:
    """Progress of ``total`` units: tqdm on a terminal, plain lines otherwise, or nothing.

    Parameters
    ----------
    total : int
        Units of work expected (a step may add several; the count is clipped at ``total``).
    desc : str
        What is running (first word of every line).
    mode : {"auto", "bar", "lines", "off"}
        ``auto``: a bar if ``stream`` is a terminal, else lines.
    stream : file, optional
        Default ``sys.stderr`` (looked up when the object is made).
    interval : float
        Minimum seconds between two plain lines (the last step is always printed).

    Examples
    --------
    >>> import io
    >>> out = io.StringIO()
    >>> p = Progress(2, "demo", mode="lines", stream=out, interval=0.0)
    >>> p.step("first"); p.step("second"); p.close()
    >>> out.getvalue().splitlines()[-1].startswith("demo: [2/2] 100 % second")
    True
    """

    def __init__(self, total: int, desc: str, mode: str = "auto", stream: TextIO | None = None,
                 interval: float = 10.0) -> None:
        if mode not in ("auto", "bar", "lines", "off"):
            raise ValueError(f"mode must be 'auto', 'bar', 'lines' or 'off', got {mode!r}")
        self.stream = sys.stderr if stream is None else stream
        if mode == "auto":
            isatty = getattr(self.stream, "isatty", None)
            mode = "bar" if callable(isatty) and isatty() else "lines"
        self.mode, self.total, self.desc, self.interval = mode, max(int(total), 1), desc, float(interval)
        self.done = 0
        self._start = self._last = time.monotonic()
        self._bar = None
        if mode == "bar":
            from tqdm import tqdm

            self._bar = tqdm(total=self.total, desc=desc, file=self.stream, leave=False, dynamic_ncols=True)

    def step(self, what: str = "", n: int = 1) -> None:
        """Record ``n`` units done (``n = 0``: only say what runs now)."""
        self.done = min(self.done + int(n), self.total)
        if self._bar is not None:
            if what:
                self._bar.set_postfix_str(what, refresh=False)
            self._bar.update(self._bar.total - self._bar.n if self.done == self.total else n)
        elif self.mode == "lines":
            now = time.monotonic()
            if now - self._last >= self.interval or self.done == self.total:
                self._last = now
                pct = 100 * self.done // self.total
                print(f"{self.desc}: [{self.done}/{self.total}] {pct} % {what} ({now - self._start:.0f} s)",
                      file=self.stream, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def _ignore_sigint() -> None:  # pragma: no cover - runs in worker processes
    """Workers leave Ctrl-C to the parent (which cancels the sweep and cleans up)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def process_pool(workers: int | None, *, forkserver: bool = True) -> ProcessPoolExecutor:
    """A process pool whose workers ignore SIGINT (the parent handles Ctrl-C alone), from
    :func:`rfdiff.sweep.process_pool`. ``forkserver=True`` (the report's pool): workers start from a fork
    server, since the report starts them on demand while the parent runs Numba's parallel kernels, after
    which forking would abort the child. ``forkserver=False`` (a caller that runs no parallel kernel
    while the pool lives, e.g. ``rfdiff phase``): workers are forked, without the fork server's start-up
    of ~1 s, unless a fork-unsafe threading layer is already running.

    Examples
    --------
    >>> with process_pool(1) as pool:
    ...     pool.submit(abs, -2).result()
    2
    """
    return _process_pool(workers, _ignore_sigint, forkserver=forkserver)


def counting(executor: Any, progress: Progress) -> Any:
    """An executor that advances ``progress`` by one as each submitted task finishes."""
    from concurrent.futures import Executor

    class _Counting(Executor):
        def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
            fut = executor.submit(fn, *args, **kwargs)
            fut.add_done_callback(lambda _: progress.step("", 1))
            return fut

    return _Counting()
