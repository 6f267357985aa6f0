"""The command line never shows a traceback: every example of issue 10, with the documented exit codes.

Exit codes (rfdiff --help): 2 bad input (one line naming the option), 3 a quantity could not be
computed (one line per missing quantity on stderr, the other fields still printed, missing ones null
with their reason), 4 internal error (one line), 130 interrupted. The correct behaviour of a
numerical edge is 0 (computed) or 3 (partial, explained): either may be right, a traceback or exit 4
never is. Examples whose correct behaviour needs a core fix of issue 9 are ``xfail(strict=True)``,
so the fix turns them into failures until the marker is removed.
"""

import json
import os
import subprocess
import sys

import pytest

import rfdiff.report
from rfdiff.cli import EXIT_INTERNAL, EXIT_NUMERICAL, EXIT_OK, EXIT_USAGE, main


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def check_clean(code, out, err, allowed):
    """No traceback; every stderr line is one rfdiff line; the exit code is an allowed one."""
    assert "Traceback" not in err and "Traceback" not in out
    assert all(line.startswith("rfdiff") for line in err.strip().splitlines()), err
    assert code in allowed, (code, err)


def check_partial_timescales(code, out, err):
    """Exit 0, or exit 3 with the other fields printed and each missing one explained (null + reason)."""
    check_clean(code, out, err, {EXIT_OK, EXIT_NUMERICAL})
    data = json.loads(out)
    assert set(data["unavailable"]) <= {"n_star", "dynamical", "spectral"}
    for field, reason in data["unavailable"].items():
        assert reason and f"rfdiff: {reason}" in err  # one stderr line per missing quantity
        if field == "n_star":
            assert data["n_star"] is None
    assert (code == EXIT_NUMERICAL) == bool(data["unavailable"])
    assert data["tau_gen"] is not None and data["dynamical"] is not None  # the rest is still there


@pytest.mark.parametrize("t", ["1", "10"])
def test_timescales_where_n_star_is_undefined(capsys, t):
    # issue 10: n* fails at t = 1 ("steepest descent at the end of the range") and t = 10
    # ("L_gen(inf) is not positive"); the whole output used to be lost in a traceback
    code, out, err = run(capsys, "timescales", "--t", t, "--json")
    check_partial_timescales(code, out, err)
    code, text, err = run(capsys, "timescales", "--t", t)
    check_clean(code, text, err, {EXIT_OK, EXIT_NUMERICAL})
    assert "tau_gen =" in text and "dynamical:" in text


@pytest.mark.slow
@pytest.mark.parametrize("t", ["1.5", "2", "20", "50"])
def test_timescales_where_n_star_is_undefined_more(capsys, t):
    code, out, err = run(capsys, "timescales", "--t", t, "--json")
    check_partial_timescales(code, out, err)


@pytest.mark.slow
def test_timescales_t_100_spectral_unresolved(capsys):
    # At t = 100 (v_t^2 = 1.4e-210) a support edge sits ~5e-210 above s_t^2, where Theorem 3.1 has no float64
    # solution: the spectral times are unavailable with a SpectrumResolutionError saying where (it used to
    # surface as a bare "Newton did not converge"); the dynamical times, from contours that do not locate
    # the spectrum, are still there. Exit 3, one stderr line.
    code, out, err = run(capsys, "timescales", "--t", "100", "--json")
    check_clean(code, out, err, {EXIT_NUMERICAL})
    data = json.loads(out)
    assert set(data["unavailable"]) == {"spectral"}
    assert "SpectrumResolutionError" in data["unavailable"]["spectral"] and "e-210" in err
    assert data["dynamical"] is not None and data["tau_gen"] is None


def test_timescales_t_1000(capsys):
    # issue 9 defect 3: v_t^2 ~ e^{-6t} underflows float64 at t = 1000, so no spectral quantity exists in
    # float64: every field is unavailable with its reason (SpectrumResolutionError), exit 3, no traceback
    code, out, err = run(capsys, "timescales", "--t", "1000", "--json")
    check_clean(code, out, err, {EXIT_NUMERICAL})
    data = json.loads(out)
    assert set(data["unavailable"]) == {"n_star", "dynamical", "spectral"}
    assert "underflows float64" in data["unavailable"]["spectral"]
    for reason in data["unavailable"].values():
        assert f"rfdiff: {reason}" in err
    assert data["tau_gen"] is None and data["n_star"] is None


def test_internal_errors_are_one_line_with_exit_4(capsys, monkeypatch):
    # today's --t 1000 path: a bare ZeroDivisionError deep in the core
    monkeypatch.setattr(rfdiff.RFModel, "dynamical_timescales", lambda self: 1 / 0)
    code, out, err = run(capsys, "timescales", "--t", "0.1")
    check_clean(code, out, err, {EXIT_INTERNAL})
    assert len(err.strip().splitlines()) == 1 and "internal error" in err and "ZeroDivisionError" in err


def test_phase_t_2(capsys):
    # issue 10: the n* error was raised from a worker process, with a traceback
    code, out, err = run(capsys, "phase", "--t", "2", "--psi-p", "4,16", "--psi-n", "2,32", "--tau", "1e3",
                         "--workers", "2")
    check_clean(code, out, err, {EXIT_OK, EXIT_NUMERICAL})
    if code == EXIT_NUMERICAL:
        assert [line for line in err.splitlines() if "could not compute" in line and "n*" in line]


def never_computes(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("a section was computed before the output path was checked")

    monkeypatch.setattr(rfdiff.report.run, "SECTIONS", tuple(
        rfdiff.report.Section(s.name, fail, s.figures, s.units) for s in rfdiff.report.SECTIONS))


@pytest.mark.parametrize("where", ["proc", "file"])
def test_report_out_not_writable(capsys, tmp_path, monkeypatch, where):
    never_computes(monkeypatch)
    if where == "proc":
        if not os.path.isdir("/proc/self"):
            pytest.skip("needs Linux /proc")
        out = "/proc/rfdiff-out"  # issue 10: FileNotFoundError
    else:
        (tmp_path / "hostname").write_text("x")  # issue 10: --out /etc/hostname/sub, FileExistsError
        out = str(tmp_path / "hostname" / "sub")
    code, stdout, err = run(capsys, "report", "--quick", "--out", out)
    check_clean(code, stdout, err, {EXIT_USAGE})
    assert len(err.strip().splitlines()) == 1 and "--out" in err and "cannot write" in err


def test_report_out_read_only_directory(capsys, tmp_path, monkeypatch):
    if os.geteuid() == 0:
        pytest.skip("root writes into read-only directories")
    never_computes(monkeypatch)
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        code, stdout, err = run(capsys, "report", "--tiny", "--out", str(ro / "rep"))
    finally:
        ro.chmod(0o755)
    check_clean(code, stdout, err, {EXIT_USAGE})
    assert "--out" in err


def test_plot_path_checked_before_computing(capsys, monkeypatch):
    if not os.path.isdir("/proc/self"):
        pytest.skip("needs Linux /proc")

    def fail(*args, **kwargs):
        raise AssertionError("computed before checking --plot")

    monkeypatch.setattr(rfdiff.RFModel, "learning_curves", fail)
    with pytest.raises(SystemExit) as exc:  # issue 10: the error came after the computation
        main(["curves", "--plot", "/proc/x.png"])
    assert exc.value.code == EXIT_USAGE
    err = capsys.readouterr().err
    assert "--plot" in err and "cannot write" in err and "Traceback" not in err


def test_help_documents_the_exit_codes():
    out = subprocess.run([sys.executable, "-m", "rfdiff", "--help"], capture_output=True, text=True,
                         check=True)
    for code in ("0 ", "2 ", "3 ", "4 ", "130"):
        assert f"\n  {code}" in out.stdout, code
    assert "relu" in out.stdout


def test_warnings_become_one_line(capsys, monkeypatch):
    import warnings

    def noisy(self):
        warnings.warn("density on [1, 2] not resolved\nsecond line", RuntimeWarning, stacklevel=1)
        raise KeyboardInterrupt

    monkeypatch.setattr(rfdiff.RFModel, "spectrum", noisy)
    code, _, err = run(capsys, "spectrum")
    assert code == 130
    assert err.count("rfdiff: warning: density on [1, 2] not resolved second line") == 1


@pytest.mark.parametrize("argv,option", [
    (["spectrum", "--psi-p", "True"], "--psi-p"),
    (["spectrum", "--d", "4"], "--d"),
    (["spectrum", "--d", "50", "--data-spectrum", "0.5,1.5:0.5,0.5"], "isotropic"),
    (["generate", "--d", "0"], "--d"),
    (["curves", "--json", "--csv"], "--csv"),
    (["nosuch"], "command"),
])
def test_bad_input_is_one_line_naming_the_option(capsys, argv, option):
    # argparse's default prints a usage block before the error; the contract is one line, exit 2
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code
    err = capsys.readouterr().err
    assert code == EXIT_USAGE
    assert len(err.strip().splitlines()) == 1 and option in err and err.startswith("rfdiff"), err
