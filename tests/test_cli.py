"""The rfdiff command line: output schemas, agreement with the Python API, bad input -> exit 2."""

import json
import subprocess
import sys

import numpy as np
import pytest

import rfdiff
from rfdiff.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_spectrum_json_schema_and_values(capsys):
    code, out, _ = run(capsys, "spectrum", "--psi-p", "8", "--psi-n", "2", "--t", "0.1", "--json")
    assert code == 0
    data = json.loads(out)
    assert {"constants", "atoms", "support"} <= set(data)
    sp = rfdiff.RFModel(psi_p=8, psi_n=2, t=0.1).spectrum()
    np.testing.assert_allclose(data["support"], sp.support, rtol=1e-14)
    assert data["atoms"] == [list(a) for a in sp.atoms]
    assert set(data["constants"]) >= {"delta", "gamma2", "a", "b", "v2", "s2", "mu1", "mustar2"}


def test_timescales_json(capsys):
    code, out, _ = run(capsys, "timescales", "--psi-p", "64", "--psi-n", "8", "--json")
    assert code == 0
    data = json.loads(out)
    ts = rfdiff.RFModel(psi_p=64, psi_n=8, t=0.1).timescales()
    assert data["tau_mem"] == pytest.approx(ts.tau_mem) and data["tau_gen"] == pytest.approx(ts.tau_gen)
    assert {"tau_gen", "tau_mem"} <= set(data["dynamical"])
    assert [c["label"] for c in data["components"]] == [c.label for c in ts.components]


def test_curves_csv_and_json(capsys):
    code, out, _ = run(capsys, "curves", "--psi-p", "8", "--psi-n", "2", "--tau", "1:1e4:5", "--csv")
    assert code == 0
    rows = out.strip().splitlines()
    assert rows[0] == "tau,train,test,gen,score" and len(rows) == 6
    code, out, _ = run(capsys, "curves", "--psi-p", "8", "--psi-n", "2", "--tau", "1:1e4:5", "--json")
    data = json.loads(out)
    lc = rfdiff.RFModel(psi_p=8, psi_n=2, t=0.1).learning_curves(np.geomspace(1, 1e4, 5))
    np.testing.assert_allclose(data["gen"], lc.gen, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("argv,option", [
    (["spectrum", "--psi-p", "-1"], "--psi-p"),
    (["spectrum", "--t", "nan"], "--t"),
    (["spectrum", "--data-spectrum", "0.5,1.5:0.5,0.6"], "--data-spectrum"),
    (["curves", "--tau", "0:1:3"], "--tau"),
    (["timescales", "--psi-n", "abc"], "--psi-n"),
])
def test_bad_input_exits_2_naming_the_option(capsys, argv, option):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert option in err and "Traceback" not in err


def test_module_entry_point_runs_the_main_job():
    out = subprocess.run([sys.executable, "-m", "rfdiff"], capture_output=True, text=True, check=True)
    assert "atom" in out.stdout and "total mass 1.0000000000" in out.stdout
