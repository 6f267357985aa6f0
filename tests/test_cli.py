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
    # top level: the spectral times (paper convention); the dynamical ones under their own key
    assert data["tau_mem"] == pytest.approx(ts.tau_mem) and data["tau_gen"] == pytest.approx(ts.tau_gen)
    assert {"tau_gen", "tau_mem", "gen_inf"} <= set(data["dynamical"])
    assert data["dynamical"]["tau_gen"] < data["tau_gen"] < data["dynamical"]["tau_mem"]
    assert [c["label"] for c in data["components"]] == [c.label for c in ts.components]
    # n*: the memorization threshold; independently, the atom of U (rank deficit 1 - (1 + psi_n)/psi_p)
    # closes at psi_n = psi_p - 1 = 63, and docs/phases.md measures n*/psi_p = 0.89 at t = 0.1:
    # it must lie below that closing point and above psi_p / 2
    assert 32 < data["n_star"] < 63


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
    (["phase", "--psi-p", "5:1:3"], "--psi-p"),
    (["phase", "--psi-p", "1:2:0"], "--psi-p"),
    (["phase", "--psi-n", "a:b:c"], "--psi-n"),
    (["phase", "--psi-n", "0,1"], "--psi-n"),
    (["phase", "--psi-n", "4,2"], "--psi-n"),
    (["phase", "--tau", "nonsense"], "--tau"),
    (["phase", "--tau", "-1"], "--tau"),
    (["phase", "--workers", "0"], "--workers"),
    (["phase", "--workers", "2", "--scheduler", "tcp://127.0.0.1:1"], "--scheduler"),
    (["phase", "--plot", "out.xyz"], "--plot"),
    (["curves", "--tau", "nonsense"], "--tau"),
    (["curves", "--simulate", "d=abc"], "--simulate"),
    (["curves", "--simulate", "seeds=2"], "--simulate"),
    (["curves", "--simulate", "d=10,colour=red"], "--simulate"),
    (["curves", "--plot", "/no/such/dir/c.png"], "--plot"),
    (["report", "--workers", "-1"], "--workers"),
])
def test_bad_input_exits_2_naming_the_option(capsys, argv, option):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert option in err and "Traceback" not in err


def test_module_entry_point_runs():
    out = subprocess.run([sys.executable, "-m", "rfdiff", "spectrum", "--psi-p", "8", "--psi-n", "2"],
                         capture_output=True, text=True, check=True)
    assert "atom" in out.stdout and "total mass 1.0000000000" in out.stdout


def test_no_arguments_runs_the_report_with_its_defaults(capsys, monkeypatch):
    import rfdiff.report

    seen = {}

    def fake_run_report(out, config=None, **kwargs):  # records the call instead of computing
        seen["out"], seen["config"] = out, config
        return {"files": ["index.html"], "gaps": {"curves_gen": 0.01}}

    monkeypatch.setattr(rfdiff.report, "run_report", fake_run_report)
    assert main([]) == 0
    assert seen["out"] == "rfdiff-report"
    assert seen["config"] == rfdiff.report.ReportConfig.preset("full")
    assert "rfdiff-report" in capsys.readouterr().out
    assert main(["report", "--quick", "--out", "x"]) == 0
    assert seen["out"] == "x" and seen["config"] == rfdiff.report.ReportConfig.preset("quick")


def png_or_pdf(path):
    head = path.read_bytes()[:8]
    return head.startswith(b"\x89PNG") or head.startswith(b"%PDF")


def test_spectrum_and_curves_plots(capsys, tmp_path):
    code, _, _ = run(capsys, "spectrum", "--psi-p", "8", "--psi-n", "2", "--t", "0.1", "--plot",
                     str(tmp_path / "s.png"))
    assert code == 0 and png_or_pdf(tmp_path / "s.png")
    code, _out, _ = run(capsys, "curves", "--psi-p", "8", "--psi-n", "2", "--tau", "1:1e4:5", "--plot",
                       str(tmp_path / "c.pdf"), "--csv")
    assert code == 0 and png_or_pdf(tmp_path / "c.pdf")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.pdf", "s.png"]  # no temporary files left


def test_curves_simulate_json_and_csv(capsys):
    argv = ["curves", "--psi-p", "8", "--psi-n", "2", "--tau", "1:1e4:5", "--simulate", "d=24,seeds=2"]
    code, out, _ = run(capsys, *argv, "--json")
    assert code == 0
    data = json.loads(out)
    assert set(data) == {"tau", "train", "test", "gen", "score", "simulation"}
    sim = data["simulation"]
    assert (sim["d"], sim["seeds"], sim["noise"]) == (24, 2, "gaussian")
    for key in ("train", "test", "gen", "score"):
        assert len(sim[key]) == 5 and all(np.isfinite(sim[key]))
    # finite size: p = 192, n = 48; the Gaussian-equivalent flow converges to the limit curves with
    # O(1/d) corrections plus draw-to-draw fluctuations; with losses of order 1 (L_test(1e4) ~ 2)
    # we allow 3/d = 0.125 absolute (measured at d = 10-40 in rfdiff report: gaps ~1/d)
    for key in ("train", "test", "gen"):
        np.testing.assert_allclose(sim[key], data[key], atol=3 / 24)
    code, out, _ = run(capsys, *argv, "--csv")
    assert out.splitlines()[0] == "tau,train,test,gen,score,sim_train,sim_test,sim_gen,sim_score"


def test_phase_json_schema(capsys):
    code, out, _ = run(capsys, "phase", "--psi-p", "4", "--psi-n", "2,8", "--tau", "1e3,1e4", "--workers",
                       "1", "--json")
    assert code == 0
    data = json.loads(out)
    assert {"parameters", "psi_p", "psi_n", "tau", "gen", "train", "test", "regime", "regimes", "tau_gen",
            "tau_mem", "n_star"} <= set(data)
    assert data["psi_p"] == [4.0] and data["psi_n"] == [2.0, 8.0] and data["tau"] == [1e3, 1e4]
    assert np.shape(data["gen"]) == (2, 1, 2) and np.shape(data["regime"]) == (2, 1, 2)
    assert np.shape(data["tau_mem"]) == (1, 2) and len(data["n_star"]) == 1
    # L_gen = L_test - L_train cell by cell, and the same as the limit curve of that model
    np.testing.assert_allclose(data["gen"], np.subtract(data["test"], data["train"]), atol=1e-12)
    lc = rfdiff.RFModel(4, 2, 0.1).learning_curves([1e3, 1e4])
    np.testing.assert_allclose(np.array(data["gen"])[:, 0, 0], lc.gen, rtol=1e-8)
    # psi_n = 8 is above psi_p = 4 > n*: no memorization; psi_n = 2 at tau = 1e4 >> tau_mem: memorization
    assert data["n_star"][0] < 4
    assert data["regimes"][data["regime"][1][0][1]] == "no memorization (n > n*)"
    assert data["regimes"][data["regime"][1][0][0]] == "memorization"


def test_ctrl_c_while_writing_a_plot_leaves_nothing(capsys, tmp_path, monkeypatch):
    from matplotlib.figure import Figure

    def interrupted(self, fname, **kwargs):
        with open(fname, "wb") as fh:  # half a file, then Ctrl-C
            fh.write(b"\x89PNG half")
        raise KeyboardInterrupt

    monkeypatch.setattr(Figure, "savefig", interrupted)
    code, _, err = run(capsys, "spectrum", "--psi-p", "8", "--psi-n", "2", "--plot", str(tmp_path / "s.png"))
    assert code == 130
    assert list(tmp_path.iterdir()) == []
    assert len(err.strip().splitlines()) == 1 and "interrupted" in err and "Traceback" not in err


@pytest.mark.slow
def test_phase_on_a_dask_scheduler(capsys):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        code, out, _ = run(capsys, "phase", "--psi-p", "4", "--psi-n", "2,8", "--tau", "1e3", "--scheduler",
                           cluster.scheduler_address, "--json")
    assert code == 0
    local = json.loads(run(capsys, "phase", "--psi-p", "4", "--psi-n", "2,8", "--tau", "1e3", "--workers",
                           "1", "--json")[1])
    assert json.loads(out)["gen"] == local["gen"]


def test_progress_bar_only_on_a_terminal(capsys, monkeypatch):
    import io

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    argv = ["curves", "--psi-p", "8", "--psi-n", "2", "--tau", "1:1e4:5", "--simulate", "d=8,seeds=2",
            "--csv"]
    assert main(argv) == 0
    assert capsys.readouterr().err == ""  # piped (pytest's capture is no terminal): silent
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert main(argv) == 0
    # the bar is drawn (how many updates are shown depends on tqdm's refresh interval and the speed)
    assert "gradient flow d=8" in terminal.getvalue() and "/2 [" in terminal.getvalue()


def test_plot_and_report_load_on_first_use():
    """``rfdiff.plot`` / ``rfdiff.report`` work as attributes, yet ``import rfdiff`` leaves matplotlib out."""
    code = ("import sys, rfdiff; assert 'matplotlib' not in sys.modules; "
            "assert callable(rfdiff.plot.phase) and callable(rfdiff.report.run_report)")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
