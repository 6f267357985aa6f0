"""benchmarks/run_all.py: records from each script's --json line, one table."""

import importlib.util
import json
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
_spec = importlib.util.spec_from_file_location("run_all", BENCH / "run_all.py")
run_all = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(run_all)

def test_records_line_and_table():
    rec = {"benchmark": "x", "rfdiff_s": 0.0029, "baseline_s": 27.8, "baseline": "lm", "ratio": 9586.0,
           "goal": "<= 25 ms", "goal_met": True, "load": 2.3, "note": "n"}
    out = "free text\n" + json.dumps({"records": [rec]}) + "\n"
    assert run_all.parse_records(out) == [rec]
    assert run_all.parse_records("no records here") is None
    with pytest.raises(ValueError, match="unknown record keys"):
        run_all.parse_records(json.dumps({"records": [{**rec, "speed": 1}]}))
    table = run_all.table(run_all.parse_records(out))
    assert "| x " in table and "2.9 ms" in table and "27.8 s" in table and "9586x" in table
    assert "(met)" in table


def test_commands_use_each_scripts_interface():
    cmds = {p.name: run_all.command(p, quick=True) for p in run_all.scripts()}
    assert {"bench_spectrum.py", "bench_simulate.py", "bench_dynamics.py"} <= set(cmds)
    for name in ("bench_spectrum.py", "bench_simulate.py", "bench_dynamics.py"):
        assert cmds[name][-2:] == ["--json", "--quick"], cmds[name]
