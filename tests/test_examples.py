"""Every example script runs with its default arguments and writes its figure (slow: ~1 min each)."""

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.py"))


@pytest.mark.slow
@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.name)
def test_example_runs(script, tmp_path):
    subprocess.run([sys.executable, str(script)], cwd=tmp_path, check=True, capture_output=True,
                   text=True, timeout=300)
    made = {p.suffix for p in tmp_path.iterdir()}
    assert {".png", ".pdf"} <= made, sorted(tmp_path.iterdir())


def test_examples_exist():
    assert {p.name for p in EXAMPLES} >= {
        "fig4_spectrum.py", "fig5_curves.py", "aniso_spectrum.py", "timescales.py", "phase_map.py",
        "walkthrough.py",
    }
