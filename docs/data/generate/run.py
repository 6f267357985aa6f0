"""Compute the numbers of docs/generate.md (memorization in samples, issue 11) into JSON files here.

    python docs/data/generate/run.py main      # Q1, Q2, Q4: psi_p in {32, 64}, psi_n 0.5..8, 3 seeds, d = 12
    python docs/data/generate/run.py wide      # Q4: psi_n up to 64 at psi_p = 32 (n > p), 2 seeds
    python docs/data/generate/run.py dims      # f_mem(inf) against d at fixed psi_p, psi_n
    python docs/data/generate/run.py grid      # Q5: t_min and the number of times
    python docs/data/generate/run.py theory    # Q3: single-time theory on the grid for every (psi_p, psi_n)
    python docs/data/generate/run.py project   # 2-D projections of samples (window and tau = inf)
    python docs/data/generate/run.py noise     # exact vs Monte Carlo (m = 1, 16) vs Gaussian-equivalent
    python docs/data/generate/run.py inf       # f_mem at tau = inf of every main point (same sampler seed)
    python docs/data/generate/run.py all

Each part is a sweep (rfdiff.sweep, ``--workers`` processes, default 1) with a resumable cache
(``<part>.jsonl`` beside this file: an interrupted run restarts where it stopped); the aggregated result is
written to ``<part>.json``. Run it with ``nice -n 10`` and ``OMP_NUM_THREADS=1 NUMBA_NUM_THREADS=1`` on a
shared machine. ``docs/data/generate/figures.py`` draws the figures of docs/generate.md from the JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))  # the repository's rfdiff, not an installed one

from rfdiff.generate import study  # noqa: E402

TAU = [10.0 ** (k / 2) for k in range(0, 19)] + ["inf"]  # 1 .. 1e9 and inf
COMMON = {"d": 12, "n_times": 50, "t_min": 1e-3, "t_max": 5.0, "noise": "exact", "tau": TAU,
          "n_samples": 2000, "flow": True}
PARTS = {
    "main": dict(psi_p=[32.0, 64.0], psi_n=[0.5, 1.0, 2.0, 4.0, 8.0], seeds=[0, 1, 2], **COMMON),
    "wide": dict(psi_p=[32.0], psi_n=[16.0, 32.0, 64.0], seeds=[0, 1],
                 **{**COMMON, "tau": [1e2, 1e4, 1e6, "inf"], "flow": False}),
    "dims": None,  # built below: one psi_p, psi_n at several d
    "grid": None,  # built below: t_min and n_times at one setting
}


def _progress(name: str):
    start = time.time()

    def show(done: int, total: int) -> None:
        print(f"[{name}] {done}/{total} points, {time.time() - start:.0f} s", file=sys.stderr, flush=True)

    return show


def _write(name: str, payload: dict) -> None:
    path = HERE / f"{name}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(payload, indent=None, separators=(",", ":")))
    tmp.replace(path)
    print(f"wrote {path}", file=sys.stderr)


def run_study(name: str, workers: int) -> None:
    spec = dict(PARTS[name])
    psi_p, psi_n, seeds = spec.pop("psi_p"), spec.pop("psi_n"), spec.pop("seeds")
    st = study.memorization_study(psi_p, psi_n, seeds, workers=workers, cache=str(HERE / f"{name}.jsonl"),
                                  progress=_progress(name), **spec)
    _write(name, st.summary())


def run_points(name: str, grid: list[dict], workers: int) -> None:
    from rfdiff.sweep import sweep

    results = sweep(study.curve_point, grid, workers=workers, cache=str(HERE / f"{name}.jsonl"),
                    progress=_progress(name))
    _write(name, {"results": results})


def run_theory(workers: int) -> None:
    out = []
    # every other time of the sampling grid (ratio 1.41): the theory curves are smooth power laws in t, and
    # the dynamical times cost 1-20 s per t on a loaded machine
    times = np.geomspace(COMMON["t_min"], COMMON["t_max"], COMMON["n_times"])[::2]
    for spec in (PARTS["main"],):
        for a in spec["psi_p"]:
            for b in spec["psi_n"]:
                th = study.single_time_theory(a, b, times, workers=workers,
                                              cache=str(HERE / "theory.jsonl"))
                out.append(th.summary())
                print(f"[theory] psi_p={a:g} psi_n={b:g}: {int(th.available.sum())}/{times.size} available, "
                      f"{int(th.reliable.sum())} without warnings", file=sys.stderr, flush=True)
    _write("theory", {"theories": out})


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("part", choices=["main", "wide", "dims", "grid", "theory", "project", "noise", "inf",
                                     "all"])
    ap.add_argument("--workers", type=int, default=1)
    args = ap.parse_args(argv)
    parts = (["main", "wide", "dims", "grid", "theory", "project", "noise", "inf"] if args.part == "all"
             else [args.part])
    for part in parts:
        if part in ("main", "wide"):
            run_study(part, args.workers)
        elif part == "dims":
            grid = [{**COMMON, "tau": [1e4, 1e6, "inf"], "flow": False, "psi_p": 32.0, "psi_n": 2.0,
                     "d": d, "seed": s} for d in (6, 8, 12, 16, 24) for s in (0, 1)]
            run_points("dims", grid, args.workers)
        elif part == "grid":
            base = {**COMMON, "psi_p": 64.0, "psi_n": 1.0, "flow": False,
                    "tau": [10.0 ** k for k in range(0, 10)] + ["inf"]}
            grid = [{**base, "t_min": tm, "n_times": nt, "seed": s}
                    for tm, nt in ((1e-3, 50), (1e-2, 50), (1e-4, 50), (1e-3, 25), (1e-3, 100))
                    for s in (0, 1)]
            run_points("grid", grid, args.workers)
        elif part == "project":
            grid = [{**COMMON, "psi_p": 64.0, "psi_n": 1.0, "seed": 0, "flow": False, "tau": [1e3, "inf"],
                     "n_samples": 500, "project": [1e3, 1e6, "inf"]}]
            run_points("project", grid, args.workers)
        elif part == "inf":
            # tau = inf alone for every main point, with the same sampler seed as main (common random
            # numbers): the pseudo-inverse on the resolved modes of U (the main run predates the floor)
            # only the points whose fit has unresolved modes at some time (smallest kept eigenvalue at or
            # below p (truncation bound + quadrature error)): for the others tau = inf is unchanged
            main = json.loads((HERE / "main.json").read_text())
            grid = []
            for r in main["results"]:
                p = r["curve"]["params"]["p"]
                if any(i["lambda_min_kept"] <= p * (i["truncation_bound"] + i["quad_error"])
                       for i in r["fit"]["info"]):
                    pt = r["point"]
                    grid.append({**COMMON, "flow": False, "tau": ["inf"], "psi_p": pt["psi_p"],
                                 "psi_n": pt["psi_n"], "seed": pt["seed"]})
            run_points("inf", grid, args.workers)
        elif part == "noise":
            base = {**COMMON, "psi_p": 64.0, "psi_n": 1.0, "flow": False,
                    "tau": [1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, "inf"]}
            grid = [{**base, "noise": noise, "seed": s} for noise in ("exact", 1, 16, "gaussian")
                    for s in (0, 1)]
            run_points("noise", grid, args.workers)
        else:
            run_theory(args.workers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
