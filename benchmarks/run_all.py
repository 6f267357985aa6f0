"""Run every benchmark script and print one table.

    python benchmarks/run_all.py [--quick] [--only NAME ...] [--json]

Each ``benchmarks/bench_*.py`` runs in its own process (its own Numba warm-up and memory). A
script that accepts ``--json`` ends its output with one line ``{"records": [...]}``, a list of
records with the keys

    benchmark   what is timed (str)
    rfdiff_s    rfdiff wall time in seconds (float)
    baseline_s  baseline wall time in seconds (float or null)
    baseline    what the baseline is (str)
    ratio       baseline_s / rfdiff_s, as the script computed it (float or null)
    goal        the performance goal (str or null), goal_met (bool or null)
    load        1-minute load average when measured (float)
    note        anything else (str)

``--quick`` passes each script its ``--quick`` (smaller sizes, fewer repeats, no slow baseline
where the script allows it): a smoke run of a few minutes, not
the measurement quoted in ``benchmarks/README.md``. Exit status 1 if any script failed.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

KEYS = ("benchmark", "rfdiff_s", "baseline_s", "baseline", "ratio", "goal", "goal_met", "load", "note")


def scripts() -> list[Path]:
    return sorted(HERE.glob("bench_*.py"))


def _accepts(path: Path, flag: str) -> bool:
    """Whether the script's argument parser knows ``flag`` (read from its source)."""
    return f'"{flag}"' in path.read_text()


def command(path: Path, quick: bool) -> list[str]:
    cmd = [sys.executable, str(path)]
    if _accepts(path, "--json"):
        cmd.append("--json")
    if quick:
        if not _accepts(path, "--quick"):
            raise ValueError(f"{path.name} has no --quick option")
        cmd.append("--quick")
    return cmd


def record(**fields) -> dict:
    """A record with every key present (missing ones None)."""
    unknown = set(fields) - set(KEYS)
    if unknown:
        raise ValueError(f"unknown record keys {sorted(unknown)}; allowed: {KEYS}")
    return {k: fields.get(k) for k in KEYS}


def parse_records(stdout: str) -> list[dict] | None:
    """The records of the last ``{"records": [...]}`` line, or None if there is none."""
    for line in reversed(stdout.splitlines()):
        line = line.strip()
        if line.startswith('{"records"'):
            return [record(**r) for r in json.loads(line)["records"]]
    return None


def run(path: Path, quick: bool) -> tuple[list[dict], float, str | None]:
    """(records, wall seconds, error message or None) of one script."""
    cmd = command(path, quick)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=HERE.parent, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-5:])
        return [], wall, f"exit code {proc.returncode}: {tail}"
    recs = parse_records(proc.stdout)
    if recs is None:
        return [], wall, "no records line (run it with --json)"
    return recs, wall, None


def _time(x: float | None) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    if x < 1e-3:
        return f"{x * 1e6:.1f} us"
    if x < 1:
        return f"{x * 1e3:.1f} ms"
    return f"{x:.1f} s"


def table(rows: list[dict]) -> str:
    head = ("benchmark", "rfdiff", "baseline", "ratio", "goal", "load")
    body = []
    for r in rows:
        x = r["ratio"]
        ratio = "-" if x is None else f"{x:.0f}x" if x >= 10 else f"{x:.2f}x"
        goal = "-" if r["goal"] is None else r["goal"] + {True: " (met)", False: " (NOT met)",
                                                          None: ""}[r["goal_met"]]
        load = "-" if r["load"] is None else f"{r['load']:.2f}"
        body.append((r["benchmark"], _time(r["rfdiff_s"]), _time(r["baseline_s"]), ratio, goal, load))
    widths = [max(len(row[k]) for row in [head, *body]) for k in range(len(head))]
    line = "| " + " | ".join(f"{{:<{w}}}" for w in widths) + " |"
    out = [line.format(*head), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line.format(*row) for row in body]
    out.append("")
    for r in rows:
        parts = (f"baseline: {r['baseline']}" if r["baseline"] else "", r["note"] or "")
        extra = "; ".join(x for x in parts if x)
        if extra:
            out.append(f"* {r['benchmark']}: {extra}")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller sizes: a smoke run, not the measurement")
    ap.add_argument("--only", nargs="+", metavar="NAME", help="run only these scripts (e.g. bench_spectrum)")
    ap.add_argument("--json", action="store_true", help="also print all records as one JSON line")
    args = ap.parse_args(argv)
    todo = scripts()
    if args.only:
        names = {n.removesuffix(".py") for n in args.only}
        unknown = names - {p.stem for p in todo}
        if unknown:
            ap.error(f"--only: unknown benchmark(s) {sorted(unknown)}; have {[p.stem for p in todo]}")
        todo = [p for p in todo if p.stem in names]
    rows, failed = [], []
    for path in todo:
        print(f"running {' '.join(command(path, args.quick)[1:])} ...", file=sys.stderr, flush=True)
        recs, wall, err = run(path, args.quick)
        print(f"  {path.name}: {wall:.0f} s" + (f", FAILED ({err})" if err else ""), file=sys.stderr)
        rows += recs
        if err:
            failed.append(path.name)
    print(f"rfdiff benchmarks{' (--quick)' if args.quick else ''}; ratio = baseline / rfdiff; "
          f"{os.cpu_count()} cores, load now {os.getloadavg()[0]:.2f}")
    print(table(rows))
    if failed:
        print(f"failed: {', '.join(failed)}")
    if args.json:
        print(json.dumps({"records": rows}))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
