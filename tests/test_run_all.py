"""benchmarks/run_all.py: records from --json lines and from bench_dynamics.py's free-form output."""

import importlib.util
import json
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
_spec = importlib.util.spec_from_file_location("run_all", BENCH / "run_all.py")
run_all = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(run_all)

# The three result lines bench_dynamics.py prints, in its current format (numbers of its README).
DYNAMICS_OUT = """\
learning_curves, 200 tau, psi_p=64 psi_n=8 t=0.1: 182.0 ms (best of 5, fresh models; goal 200 ms)
baseline simulate.gradient_flow d=100 (GE): 126.0 s -> ratio 692x; max |L_gen(sim) - L_gen(theory)| = 0.0026
phase_diagram 8x8 at tau=1e3 (2 cores): 45.5 s -> 64x64 extrapolated 2912 s (goal 10 s)
machine load 3.30
"""


def test_parse_dynamics():
    curve, pmap = run_all.parse_dynamics(DYNAMICS_OUT)
    assert curve["rfdiff_s"] == pytest.approx(0.182)
    assert curve["baseline_s"] == pytest.approx(126.0)
    assert curve["ratio"] == pytest.approx(126.0 / 0.182)
    assert curve["goal_met"] is True and curve["load"] == pytest.approx(3.30)
    assert pmap["rfdiff_s"] == pytest.approx(45.5)
    assert pmap["goal_met"] is False  # 2912 s extrapolated against 10 s
    assert pmap["baseline_s"] is None


def test_parse_dynamics_without_baseline_and_changed_format():
    lines = [ln for ln in DYNAMICS_OUT.splitlines() if not ln.startswith("baseline")]
    curve, _ = run_all.parse_dynamics("\n".join(lines))
    assert curve["baseline_s"] is None and curve["ratio"] is None
    with pytest.raises(ValueError, match="phase_diagram"):
        run_all.parse_dynamics(DYNAMICS_OUT.replace("extrapolated", "extrap."))


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
    for name in ("bench_spectrum.py", "bench_simulate.py"):
        assert cmds[name][-2:] == ["--json", "--quick"], cmds[name]
