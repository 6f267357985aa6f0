"""The README's Python example runs as written (so it cannot rot)."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_example_runs():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks, "README has no python example"
    namespace: dict = {}
    exec(compile(blocks[0], "README.md", "exec"), namespace)
    sp = namespace["sp"]
    assert abs(sp.total_mass - 1) < 1e-8


def test_readme_starts_with_the_two_commands():
    lines = README.read_text().splitlines()
    commands = [ln for ln in lines[:6] if ln.startswith("pip install")]
    assert len(commands) == 2
    # the main job on its defaults: bare `rfdiff` (= rfdiff report into ./rfdiff-report)
    assert commands[0].split("#")[0].split() == ["pip", "install", "-e", ".", "&&", "rfdiff"]
    assert "rfdiff-report" in commands[0]
    assert "pytest" in commands[1]  # the test command CI runs (.ci/run)
    # (that bare `rfdiff` runs the report with these defaults: tests/test_cli.py)

