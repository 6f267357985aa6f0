"""The rfdiff command line: output schemas, agreement with the Python API, bad input -> exit 2."""

import json
import subprocess
import sys
import types

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
    assert {"constants", "atoms", "support", "density"} <= set(data)
    check_envelope(data, "spectrum", psi_p=8.0, psi_n=2.0, t=0.1)
    model = rfdiff.RFModel(psi_p=8, psi_n=2, t=0.1)
    sp = model.spectrum()
    np.testing.assert_allclose(data["support"], sp.support, rtol=1e-14)
    assert data["atoms"] == [list(a) for a in sp.atoms]
    assert set(data["constants"]) >= {"delta", "gamma2", "a", "b", "v2", "s2", "mu1", "mustar2"}
    # the density table the text output prints: 12 interior points per component, rho from the model
    assert len(data["density"]) == len(sp.components)
    for row, comp in zip(data["density"], sp.components):
        assert (row["lo"], row["hi"]) == (comp.lo, comp.hi) and len(row["lambda"]) == len(row["rho"]) == 12
        np.testing.assert_allclose(row["rho"], model.density(row["lambda"]), rtol=1e-12)
    code, text, _ = run(capsys, "spectrum", "--psi-p", "8", "--psi-n", "2", "--t", "0.1")
    table = [line.split() for line in text.split("density table (lambda, rho):")[1].strip().splitlines()]
    rho_json = [x for row in data["density"] for x in row["rho"]]
    np.testing.assert_allclose([float(r[1]) for r in table], rho_json, rtol=1e-7)  # text: 8 digits


def check_envelope(data, command, **parameters):
    """Every --json object carries the version, the command, the parameters and the units."""
    assert data["rfdiff_version"] == rfdiff.__version__ and data["command"] == command
    for key, value in parameters.items():
        assert data["parameters"][key] == value, key
    assert data["units"] and all(isinstance(v, str) and v for v in data["units"].values())


def test_timescales_json(capsys):
    code, out, _ = run(capsys, "timescales", "--psi-p", "64", "--psi-n", "8", "--json")
    assert code == 0
    data = json.loads(out)
    check_envelope(data, "timescales", psi_p=64.0, psi_n=8.0, t=0.1, activation="tanh")
    assert data["unavailable"] == {} and data["dynamical"]["memorization"] is True
    assert data["tau_mem_flagged"] is False  # the cluster time is 2.7x the rho_1 edge time here (< 3x)
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
    check_envelope(data, "curves", psi_p=8.0, psi_n=2.0, t=0.1)
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
    (["curves", "--simulate", "d=10,optimizer=rmsprop,steps=5,lr=0.1"], "--simulate"),
    (["curves", "--simulate", "d=10,optimizer=adam,lr=0.1"], "steps"),
    (["curves", "--simulate", "d=10,optimizer=adam,steps=5"], "lr"),
    (["curves", "--simulate", "d=10,optimizer=adam,steps=5,dtau=0.1"], "lr"),
    (["curves", "--simulate", "d=10,optimizer=sgd,steps=5,lr=0.1,dtau=0.1"], "dtau"),
    (["curves", "--simulate", "d=10,optimizer=gd,steps=5,lr=0.1,batch=4"], "batch"),
    (["curves", "--simulate", "d=10,optimizer=sgd,steps=5,lr=-1"], "--simulate"),
    (["curves", "--simulate", "d=10,steps=5"], "optimizer"),
    (["curves", "--simulate", "d=10,optimizer=adam,steps=5,lr=0.1,noise=exact"], "noise"),
    (["curves", "--plot", "/no/such/dir/c.png"], "--plot"),
    (["report", "--workers", "-1"], "--workers"),
    (["curves", "--json", "--csv"], "--csv"),
    (["phase", "--activation", "relu"], "--activation"),
    (["spectrum", "--activation", "softplus"], "--activation"),
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
        gap = rfdiff.report.Gap.judged("curves.gen", "max gap", 0.01, 0.1, "1/d")
        return types.SimpleNamespace(files=("index.html",), gaps=(gap,))

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


def test_spectrum_finite_d_json_and_plot(capsys, tmp_path):
    # rfdiff spectrum --d: the finite-d features (rfdiff.finite_d, ~10-30 s) beside the limit. The limit
    # column is the model's density; the finite-d density is positive, the atom's quantiles are ordered
    # and bracket s_t^2's neighbourhood, and rho_1 sits inside Theorem 3.1's supports' span.
    code, out, err = run(capsys, "spectrum", "--psi-p", "16", "--psi-n", "4", "--d", "50", "--points", "3",
                         "--json", "--plot", str(tmp_path / "s.png"))
    assert code == 0 and png_or_pdf(tmp_path / "s.png")
    assert "finite-d theory at d = 50" in err
    data = json.loads(out)
    check_envelope(data, "spectrum", psi_p=16.0, psi_n=4.0, t=0.01)
    assert data["parameters"]["d"] == 50
    f = data["finite_d"]
    assert f["source"] == "finite-d" and f["d"] == 50
    assert 0 < f["atom_q05"] < f["atom_q50"] < f["atom_q95"] < f["rho1_lower"] < f["rho1_upper"]
    assert f["atom_mass"] == pytest.approx(data["atom_mass_limit"], abs=1e-12) == 1 - 5 / 16
    limit = rfdiff.RFModel(psi_p=16, psi_n=4, t=0.01)
    for row in data["density"]:
        assert np.all(np.asarray(row["rho_finite_d"]) > 0)
        if max(row["rho_limit"]) > 0:
            np.testing.assert_allclose(row["rho_limit"], limit.density(row["lambda"]), rtol=1e-12)
    sp = limit.spectrum()
    assert sp.support[0][0] < f["rho1_lower"] and f["rho1_upper"] < sp.support[-1][1]


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
    assert set(data) == {"tau", "train", "test", "gen", "score", "simulation", "rfdiff_version", "command",
                         "parameters", "units"}
    sim = data["simulation"]
    assert (sim["d"], sim["seeds"], sim["noise"], sim["p"], sim["n"]) == (24, 2, "gaussian", 192, 48)
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
            "tau_mem", "n_star", "regime_definitions"} <= set(data)
    check_envelope(data, "phase", t=0.1, activation="tanh")
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


def test_progress_lines_off_a_terminal_and_a_bar_on_one(capsys, monkeypatch):
    import io

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    argv = ["curves", "--psi-p", "8", "--psi-n", "2", "--tau", "1:1e4:5", "--simulate", "d=8,seeds=2",
            "--csv"]
    assert main(argv) == 0
    err = capsys.readouterr().err.splitlines()  # pytest's capture is no terminal: plain lines
    assert err[0].startswith("rfdiff: --simulate d=8, seeds=2") and "GB" in err[0]  # the cost estimate
    assert err[-1].startswith("rfdiff curves: gradient flow d=8: [2/2] 100 %")
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert main(argv) == 0
    # the bar is drawn (how many updates are shown depends on tqdm's refresh interval and the speed)
    assert "gradient flow d=8" in terminal.getvalue() and "/2 [" in terminal.getvalue()


def test_simulate_estimate_matches_the_measured_run():
    from rfdiff.cli import simulate_estimate

    # issue 10 measured d = 100, seeds = 4 (p = 6400): 276 s and 4 GB on a quiet 2-core machine
    e = simulate_estimate(64, 8, 100, 4, "gaussian")
    assert 3 < e["memory_gb"] < 5 and 150 < e["seconds"] < 500
    assert simulate_estimate(64, 8, 50, 1, "gaussian")["memory_gb"] == pytest.approx(e["memory_gb"] / 4)


def test_curves_plot_names_the_parameters(capsys, tmp_path, monkeypatch):
    from matplotlib.figure import Figure

    seen = {}
    real = Figure.savefig

    def spy(self, fname, **kwargs):
        ax = self.axes[0]
        seen["title"], seen["ylabel"], seen["xlabel"] = ax.get_title(), ax.get_ylabel(), ax.get_xlabel()
        return real(self, fname, **kwargs)

    monkeypatch.setattr(Figure, "savefig", spy)
    code, _, _ = run(capsys, "curves", "--psi-p", "8", "--psi-n", "2", "--t", "0.2", "--tau", "1:1e4:5",
                     "--plot", str(tmp_path / "c.png"), "--csv")
    assert code == 0
    title = seen["title"]
    assert r"$\psi_p$ = 8" in title and r"$\psi_n$ = 2" in title and "$t$ = 0.2" in title
    assert seen["ylabel"] and seen["xlabel"].startswith(r"$\tau$")


def test_relu_is_centred_with_closed_form_constants(capsys):
    import math

    from rfdiff.activations import relu_moments

    code, out, _ = run(capsys, "spectrum", "--psi-p", "8", "--psi-n", "2", "--t", "0.1", "--activation",
                       "relu", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["parameters"]["activation"] == "centred(relu)"
    expected = relu_moments(0.1)
    for key in ("a", "b", "v2", "s2", "mu1", "mustar2", "norm2"):
        assert data["constants"][key] == pytest.approx(expected[key], rel=1e-14), key
    assert data["total_mass"] == pytest.approx(1.0, abs=1e-9)
    # the atom weight is the rank formula 1 - (1 + psi_n)/psi_p whatever the activation
    assert data["atoms"][0][1] == pytest.approx(1 - 3 / 8, abs=1e-9)
    code, out, err = run(capsys, "timescales", "--psi-p", "8", "--psi-n", "2", "--activation", "relu",
                         "--json")
    data = json.loads(out)
    assert code == 3 and data["n_star"] is None and "relu" in data["unavailable"]["n_star"]
    assert math.isfinite(data["tau_mem"]) and data["dynamical"]["tau_mem"] > 0
    assert err.strip().splitlines()[0].startswith("rfdiff: n* for relu")


def test_relu_moments_against_mpmath():
    """Closed forms of the centred ReLU against 1-d mpmath quadratures of smooth integrands.

    E_v relu(c u + s v) = c u Phi(c u / s) + s phi(c u / s) is smooth in u (s > 0), so
    E[relu(g(u,v)) relu(g(u,w))] = E_u[m(u)^2] is a 1-d integral mpmath does to 30 digits; the
    centring drops out of covariances. Reference t = 0.05 and 2 with sigma_x^2 = 1.5 (Gamma_t != 1).
    """
    import mpmath

    from rfdiff.activations import relu_moments

    mpmath.mp.dps = 30
    for t, sx2 in ((0.05, 1.5), (2.0, 1.5), (1e-3, 1.0)):
        c = mpmath.e ** (-t) * mpmath.sqrt(sx2)
        s = mpmath.sqrt(1 - mpmath.e ** (-2 * t))
        gamma2 = c**2 + s**2
        mean = mpmath.sqrt(gamma2) / mpmath.sqrt(2 * mpmath.pi)

        def m(u, c=c, s=s):
            x = c * u / s
            return c * u * mpmath.ncdf(x) + s * mpmath.npdf(x)

        cross = mpmath.quad(lambda u: m(u) ** 2 * mpmath.npdf(u), [-mpmath.inf, 0, mpmath.inf]) - mean**2
        v2 = cross - c**2 / 4
        norm2 = gamma2 / 2 - mean**2
        s2 = norm2 - c**2 / 4 - v2 - s**2 / 4
        got = relu_moments(t, sx2)
        assert got["v2"] == pytest.approx(float(v2), rel=1e-13)
        assert got["s2"] == pytest.approx(float(s2), rel=1e-11)  # O(sqrt(t)) quantity, no cancellation
        assert got["norm2"] == pytest.approx(float(norm2), rel=1e-14)
    mpmath.mp.dps = 15


def test_plot_and_report_load_on_first_use():
    """``rfdiff.plot`` / ``rfdiff.report`` work as attributes, yet ``import rfdiff`` leaves matplotlib out."""
    code = ("import sys, rfdiff; assert 'matplotlib' not in sys.modules; "
            "assert callable(rfdiff.plot.phase) and callable(rfdiff.report.run_report)")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_timescales_no_memorization_and_flag(capsys):
    # psi_n = 80 > n*(64) ~ 57 (docs/phases.md: n*/psi_p = 0.89 at t = 0.1): no memorization, no tau_mem
    code, out, _ = run(capsys, "timescales", "--psi-p", "64", "--psi-n", "80", "--json")
    data = json.loads(out)
    assert code == 0 and data["dynamical"]["memorization"] is False and data["dynamical"]["tau_mem"] is None
    assert "n*" in data["dynamical"]["no_memorization_reason"]
    code, text, _ = run(capsys, "timescales", "--psi-p", "64", "--psi-n", "80")
    assert "tau_mem = none: no memorization (psi_n = 80 > n* = " in text
    # psi_p = 1024, psi_n = 8: the cluster carries most of the memorization loss and its time is ~7x the
    # rho_1 edge time (docs/phases.md: 28011 against 3758): the headline tau_mem is flagged
    code, out, _ = run(capsys, "timescales", "--psi-p", "1024", "--psi-n", "8", "--json")
    data = json.loads(out)
    assert data["tau_mem_flagged"] is True and "x from the time" in data["tau_mem_flag"]
    assert data["tau_mem_governing"] == pytest.approx(28011, rel=1e-3)


def test_ridge_and_noise_draws_options(capsys):
    # issue 12 surface: --ridge and --noise-draws reach RFModel(ridge=, noise_draws=); the JSON records
    # them; the curves equal the Python API's (the same code path, so to rounding)
    code, out, _ = run(capsys, "curves", "--psi-p", "8", "--psi-n", "2", "--ridge", "0.1", "--tau", "1:1e4:3",
                       "--json")
    assert code == 0
    data = json.loads(out)
    assert data["parameters"]["ridge"] == 0.1 and data["parameters"]["noise_draws"] is None
    lc = rfdiff.RFModel(8, 2, 0.1, ridge=0.1).learning_curves(np.geomspace(1, 1e4, 3))
    np.testing.assert_allclose(data["test"], lc.test, rtol=1e-12)
    code, out, _ = run(capsys, "curves", "--psi-p", "4", "--psi-n", "1", "--noise-draws", "2", "--tau",
                       "1:1e4:3", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["parameters"]["noise_draws"] == 2
    lc = rfdiff.RFModel(4, 1, 0.1, noise_draws=2).learning_curves(np.geomspace(1, 1e4, 3))
    np.testing.assert_allclose(data["test"], lc.test, rtol=1e-12)
    # timescales with a ridge: spectral and dynamical times of the flow on U + lam, n* of the ridge estimator
    code, out, _ = run(capsys, "timescales", "--psi-p", "64", "--psi-n", "8", "--ridge", "0.01", "--json")
    data = json.loads(out)
    ts = rfdiff.RFModel(64, 8, 0.1, ridge=0.01).timescales()
    assert code == 0 and data["tau_mem"] == pytest.approx(ts.tau_mem, rel=1e-12)
    assert data["dynamical"]["tau_mem"] == pytest.approx(ts.tau_mem_dyn, rel=1e-12)
    assert data["n_star"] == pytest.approx(rfdiff.n_star(64, 0.1, ridge=0.01), rel=1e-12)
    for bad in (["--ridge", "-1"], ["--noise-draws", "0"], ["--noise-draws", "1.5"]):
        with pytest.raises(SystemExit) as info:
            main(["curves", *bad])
        assert info.value.code == 2
        assert bad[0] in capsys.readouterr().err


def test_curves_simulate_optimizer(capsys):
    # the CLI's training runs are simulate.train's, averaged over seeds, on their own clock
    from rfdiff import simulate

    base = ["curves", "--psi-p", "4", "--psi-n", "2", "--tau", "1:1e3:4", "--ridge", "0.1"]
    code, out, _ = run(capsys, *base, "--simulate", "d=6,seeds=2,optimizer=adam,steps=30,lr=0.02", "--json")
    assert code == 0
    sim = json.loads(out)["simulation"]
    assert (sim["optimizer"], sim["time_unit"], sim["tau"]) == ("adam", "step*lr", None)
    assert sim["noise"] == "fresh"
    model = rfdiff.RFModel(psi_p=4, psi_n=2, t=0.1, ridge=0.1)
    runs = [simulate.train(model, d=6, steps=30, optimizer="adam", lr=0.02, seed=s) for s in (0, 1)]
    assert runs[0].ridge == 0.1  # the model's --ridge reaches the training
    np.testing.assert_allclose(sim["time"], runs[0].time, rtol=1e-15)
    np.testing.assert_allclose(sim["test"], (runs[0].test + runs[1].test) / 2, rtol=1e-13)
    code, out, _ = run(capsys, *base, "--simulate", "d=6,optimizer=sgd,steps=10,dtau=0.05,batch=3", "--json")
    sim = json.loads(out)["simulation"]
    assert code == 0 and sim["batch_size"] == 3 and sim["tau"] == pytest.approx(sim["time"])
    assert sim["tau"][-1] == pytest.approx(0.5)
    code, out, err = run(capsys, *base, "--simulate", "d=6,optimizer=gd,steps=5,dtau=0.1")
    assert code == 0 and "# simulation: optimizer = gd" in out and "time = tau" in out
    code, _, err = run(capsys, *base, "--simulate", "d=6,optimizer=gd,steps=5,dtau=0.1", "--csv")
    assert code == 2 and "--csv" in err
