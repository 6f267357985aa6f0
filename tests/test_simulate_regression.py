"""Fixed-seed outputs of ``rfdiff.simulate`` against values recorded before a refactor.

``tests/data/simulate_regression.json`` was written by ``tests/data/simulate_regression.py`` at commit
2d7e22b (re-recorded on the new numerics core, see that script), before ``simulate/matrices.py`` was
split into focused modules (issue 9). The refactor promises
bit-identical behaviour: on the numerical stack of the recording (same numpy, BLAS and machine) every array
must hash identically. The hash also depends on the BLAS thread count and on the kernel OpenBLAS picks for
the CPU (DYNAMIC_ARCH), which a version fingerprint cannot see, so the bit-level check runs only when asked
for (``RFDIFF_BITWISE=1``, on the recording machine with the recording's thread settings: how the split was
verified). Otherwise, and in CI, the check is a tolerance: the arrays are sums of at most p n ~ 6e4
products of O(1) terms, whose rounding is
~1e-16 * sqrt(6e4) ~ 3e-14 relative; 30 GD steps do not amplify it (the step is contractive), so
rtol 1e-10 (atol 1e-12) only lets through a different summation order, never a changed formula.
"""

import importlib.util
import json
import os
from pathlib import Path

import numpy as np
import pytest

_DATA = Path(__file__).parent / "data"
_spec = importlib.util.spec_from_file_location("simulate_regression", _DATA / "simulate_regression.py")
regression = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(regression)

RECORD = json.loads((_DATA / "simulate_regression.json").read_text())
SAME_STACK = os.environ.get("RFDIFF_BITWISE") == "1" and RECORD["fingerprint"] == regression.fingerprint()


@pytest.fixture(scope="module")
def replay():
    return regression.cases()


@pytest.mark.parametrize("case", sorted(RECORD["cases"]))
def test_fixed_seed_outputs_unchanged(case, replay):
    got_case = replay[case]
    assert sorted(got_case) == sorted(RECORD["cases"][case])
    for name, rec in RECORD["cases"][case].items():
        got = np.ascontiguousarray(got_case[name], dtype=np.float64)
        assert list(got.shape) == rec["shape"], (case, name)
        if SAME_STACK:
            digest = regression.encode(got)["sha256"]
            assert digest == rec["sha256"], f"{case}.{name} changed (bit level)"
        else:
            want = regression.decode(rec)
            have = got if "hex" in rec else regression.summary(got)
            np.testing.assert_allclose(have, want, rtol=1e-10, atol=1e-12, err_msg=f"{case}.{name}")
