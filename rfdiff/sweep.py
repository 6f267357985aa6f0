"""Parameter sweeps on any ``concurrent.futures.Executor``: ordered, deterministic, resumable.

* Local: a process pool by default (``workers`` processes).
* Cluster: pass ``executor=client.get_executor()`` of a ``dask.distributed`` client
  (``pip install "rfdiff[distributed]"``); nothing else changes.
* Resumable: with ``cache="file.jsonl"`` each finished point is appended as one JSON line as
  soon as it completes; a rerun skips the points already there (an interrupted run loses at most
  the points in flight; a torn last line is ignored).

The function must be a pure, picklable (module-level) function of one grid point, returning
JSON-serialisable data (numbers, lists, dicts) so that cached and fresh results are identical.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

__all__ = ["process_pool", "sweep"]


def process_pool(workers: int | None = None, initializer: Callable[[], None] | None = None, *,
                 forkserver: bool = False) -> ProcessPoolExecutor:
    """A process pool that is safe to start after Numba's parallel kernels have run.

    Workers are forked from the caller (fast; a script without a ``__main__`` guard works) unless a
    fork-unsafe Numba threading layer (GNU OpenMP, TBB) is already running in the caller: forking then
    aborts the child ("fork() called from a process already using GNU OpenMP"), so the workers start
    from a fork server instead (the caller's script then needs its ``if __name__ == "__main__":``
    guard, as for any non-fork start). ``forkserver=True`` always uses a fork server: for a pool that
    lives on while the caller runs parallel kernels (workers are started on demand). Where fork
    servers do not exist the platform default is used.

    Examples
    --------
    >>> with process_pool(1) as pool:
    ...     pool.submit(abs, -2).result()
    2
    """
    import multiprocessing

    if not forkserver:
        import numba

        try:
            layer = numba.threading_layer()
        except ValueError:  # no parallel kernel has run in this process: fork is safe
            layer = "none"
        forkserver = layer in ("omp", "tbb")
    context = None
    if forkserver and "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
    return ProcessPoolExecutor(max_workers=workers, initializer=initializer, mp_context=context)


def _key(point: Any) -> str:
    try:
        return json.dumps(point, sort_keys=True)
    except TypeError as exc:
        raise ValueError(
            f"grid points must be JSON-serialisable (dicts, lists, numbers), got {point!r}"
        ) from exc


def _load_cache(path: Path) -> dict[str, Any]:
    done: dict[str, Any] = {}
    if not path.exists():
        return done
    with path.open() as fh:
        for line in fh:
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line torn by an interruption
            if isinstance(row, dict) and "key" in row and "value" in row:
                done[row["key"]] = row["value"]
    return done


def sweep(
    fn: Callable[[Any], Any],
    grid: Iterable[Any],
    *,
    executor: Executor | None = None,
    workers: int | None = None,
    cache: str | os.PathLike[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[Any]:
    """Evaluate ``fn`` at every grid point, in parallel, and return the results in grid order.

    Parameters
    ----------
    fn : callable
        Pure function of one grid point (picklable for process pools and dask).
    grid : iterable
        Grid points (JSON-serialisable: they are the cache keys).
    executor : concurrent.futures.Executor, optional
        Where to run. Default: a :func:`process_pool` of ``workers`` owned by this call.
    workers : int, optional
        Processes of the default pool (default: ``os.cpu_count()``); ignored with ``executor``.
    cache : path, optional
        JSON-lines file of finished points; existing entries are reused, new ones appended.
    progress : callable, optional
        Called as ``progress(done, total)`` after each point.

    Returns
    -------
    list
        ``[fn(point) for point in grid]``, from the cache where available.

    Examples
    --------
    >>> from concurrent.futures import ThreadPoolExecutor
    >>> with ThreadPoolExecutor(2) as pool:
    ...     sweep(abs, [-1, 2, -3], executor=pool)
    [1, 2, 3]
    """
    points: Sequence[Any] = list(grid)
    keys = [_key(pt) for pt in points]
    if workers is not None and (int(workers) != workers or workers < 1):
        raise ValueError(f"workers must be an integer >= 1, got {workers!r}")
    path = None if cache is None else Path(cache)
    done = _load_cache(path) if path is not None else {}
    results: dict[str, Any] = {k: done[k] for k in keys if k in done}
    todo = [(k, pt) for k, pt in dict(zip(keys, points)).items() if k not in results]
    total = len(set(keys))
    if progress is not None and results:
        progress(len(results), total)
    if todo:
        own = executor is None
        pool = process_pool(workers) if own else executor
        try:
            futures: dict[Future, str] = {pool.submit(fn, pt): k for k, pt in todo}
            fh = path.open("a") if path is not None else None
            try:
                for fut in as_completed(futures):
                    k = futures[fut]
                    value = fut.result()
                    if fh is not None:
                        fh.write(json.dumps({"key": k, "value": value}) + "\n")
                        fh.flush()
                        value = json.loads(json.dumps(value))  # same form as a cached value
                    results[k] = value
                    if progress is not None:
                        progress(len(results), total)
            finally:
                if fh is not None:
                    fh.close()
        except BaseException:
            for fut in futures:
                fut.cancel()
            raise
        finally:
            if own:
                pool.shutdown(wait=True, cancel_futures=True)
    return [results[k] for k in keys]
