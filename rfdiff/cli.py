"""Command-line interface: ``rfdiff`` (also ``python -m rfdiff``).

``rfdiff`` with no arguments runs the main job, ``rfdiff report``: the paper's random-features
claims tested against finite-size simulation, written to ./rfdiff-report (``--quick`` for a smaller
run, ``--out DIR``; :mod:`rfdiff.report`).

``rfdiff spectrum [--json] [--plot out.png]``: atoms, support and a density table of U.
``rfdiff timescales [--json]``: tau_gen, tau_mem (spectral, paper convention; dynamical ones under
``dynamical``), ``n_star`` and every component. ``rfdiff curves --tau 1e-1:1e6:200 [--simulate
d=40,seeds=2] [--json|--csv] [--plot out.png]``: the limit learning curves (and finite-size
gradient flow; ``--simulate d=40,seeds=2,optimizer=adam,steps=2000,lr=1e-2`` trains with GD, SGD
(``batch=B``), Adam or sign descent instead, reported on the optimizer's own clock).
``rfdiff phase --psi-p 1:128:64 --psi-n 1:64:64 --t 0.1 --tau 1e3,1e4 [--workers N
| --scheduler ADDRESS] [--plot out.png] [--json]``: L_gen maps and regimes. ``rfdiff generate --psi-p 32
--psi-n 2 --d 12 --tau 1e0:1e8:9,inf [--json|--csv] [--plot out.png]``: an RF diffusion model (one exactly
trained score per diffusion time), f_mem and the Fréchet distance of its samples against tau
(:mod:`rfdiff.generate`).

Every ``--json`` object carries ``rfdiff_version``, ``command``, ``parameters`` and ``units``.
Output paths (``--plot``, ``--out``) are checked writable before any computation. Activations:
``tanh``, ``erf`` and ``relu`` (max(x, 0) centred at Gamma_t, i.e. minus E relu(Gamma_t z) =
Gamma_t/sqrt(2 pi), with its Gaussian-equivalence constants in closed form).

Exit codes (also in ``rfdiff --help``): exit code 0 on success; exit code 2 on bad input (one line
naming the option); exit code 3 when a quantity could not be computed (a :class:`rfdiff.NumericalError`:
one line saying what, the other fields still printed, the missing ones null with their reason); exit
code 4 on an internal error (one line; please report it); exit code 130 when interrupted (Ctrl-C; no
half-written file is left). Progress goes to stderr:
a bar on a terminal, plain lines otherwise.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import math
import os
import sys
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

from .errors import NumericalError
from .model import DataSpectrum, RFModel

__all__ = ["EXIT_INTERNAL", "EXIT_INTERRUPTED", "EXIT_NUMERICAL", "EXIT_OK", "EXIT_USAGE", "main"]

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_NUMERICAL = 3
EXIT_INTERNAL = 4
EXIT_INTERRUPTED = 130

_EPILOG = """exit codes:
  0    success
  2    bad input: one line naming the option (also an output path that cannot be written)
  3    a quantity could not be computed (rfdiff.NumericalError): one line on stderr says what;
       the other fields are still printed, the missing ones as null with their reason
  4    internal error: one line on stderr (please report it)
  130  interrupted (Ctrl-C); no half-written file is left

activations: tanh, erf, relu (relu = max(x, 0) minus its mean E relu(Gamma_t z) = Gamma_t/sqrt(2 pi),
so that it is centred as the theory requires; its constants are used in closed form).
Progress goes to stderr: a bar on a terminal, plain lines otherwise."""

_UNITS = {
    "tau": "training time tau = k eta / d^2 of gradient descent with step eta (docs/theory.md §1.6)",
    "spectral_times": "paper convention psi_p / (Delta_t lambda), lambda an eigenvalue of U (docs/theory.md "
                      "§6.1)",
    "lambda": "eigenvalue of U = (1/n) sum E_xi sigma sigma^T (dimensionless)",
    "rho": "density of eigenvalues of U per unit lambda, normalised to total mass 1 with the atoms",
    "losses": ("L_train, L_test, L_gen per dimension (1 at A = 0); E_score per dimension "
               "(docs/theory.md §1.5)"),
    "psi_p, psi_n": "p/d and n/d",
    "f_mem": "fraction of samples whose nearest training point is closer than threshold x the second "
             "nearest (threshold 1/3, the paper's criterion); ci: 95 % bootstrap interval",
    "frechet": "squared Frechet (2-Wasserstein Gaussian) distance of the samples' mean and covariance to "
               "the data law at t_min, N(0, Sigma_{t_min}); floor: the same for as many fresh samples",
}


def _positive(name: str):
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be a number > 0, got {text!r}") from None
        if not np.isfinite(value) or value <= 0:
            raise argparse.ArgumentTypeError(f"{name} must be a finite number > 0, got {text!r}")
        return value

    return parse


def _nonnegative(name: str):
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be a number >= 0, got {text!r}") from None
        if not np.isfinite(value) or value < 0:
            raise argparse.ArgumentTypeError(f"{name} must be a finite number >= 0, got {text!r}")
        return value

    return parse


def _integer_at_least(name: str, lo: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = lo - 1
        if value < lo:
            raise argparse.ArgumentTypeError(f"{name} must be an integer >= {lo}, got {text!r}")
        return value

    return parse


def _data_spectrum(text: str) -> DataSpectrum:
    try:
        values_text, weights_text = text.split(":")
        values = [float(v) for v in values_text.split(",")]
        weights = [float(w) for w in weights_text.split(",")]
        return DataSpectrum(values, weights)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            "--data-spectrum must look like 0.5,1.5:0.5,0.5 "
            f"(values:weights, weights > 0 summing to 1): {exc}"
        ) from None


_ACTIVATIONS = ["tanh", "erf", "relu"]


def _model_options(parser: argparse.ArgumentParser, json_csv: bool = False) -> None:
    parser.add_argument("--psi-p", type=_positive("--psi-p"), default=64.0, help="p/d (default 64)")
    parser.add_argument("--psi-n", type=_positive("--psi-n"), default=8.0, help="n/d (default 8)")
    parser.add_argument("--t", type=_positive("--t"), default=None,
                        help="diffusion time (default 0.01 for spectrum, 0.1 otherwise)")
    parser.add_argument("--activation", choices=_ACTIVATIONS, default="tanh",
                        help="tanh (default), erf, or relu (centred automatically at Gamma_t)")
    parser.add_argument("--data-spectrum", type=_data_spectrum, default=None,
                        help="rho_Sigma as values:weights, e.g. 0.5,1.5:0.5,0.5 (default: isotropic N(0, I))")
    parser.add_argument("--ridge", type=_nonnegative("--ridge"), default=0.0,
                        help="weight decay lam >= 0: the flow sees U + lam (default 0; docs/theory.md §9.1)")
    parser.add_argument("--noise-draws", type=_integer_at_least("--noise-draws", 1), default=None,
                        metavar="M",
                        help="m fixed noise draws per training point (default: the exact average, m = inf)")
    fmt = parser.add_mutually_exclusive_group() if json_csv else parser
    fmt.add_argument("--json", action="store_true", help="print one JSON object")
    if json_csv:
        fmt.add_argument("--csv", action="store_true", help="print CSV (tau,train,test,gen,score[,sim_...])")


def _tau_grid(text: str) -> np.ndarray:
    try:
        lo, hi, num = text.split(":")
        lo_f, hi_f, n = float(lo), float(hi), int(num)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--tau must look like 1e-1:1e6:200 (start:stop:points), got {text!r}"
        ) from None
    if not (0 < lo_f < hi_f and np.isfinite(hi_f)) or n < 2:
        raise argparse.ArgumentTypeError(f"--tau needs 0 < start < stop < inf and points >= 2, got {text!r}")
    return np.geomspace(lo_f, hi_f, n)


def _log_axis(name: str):
    """``start:stop:points`` (log-spaced) or a comma list of increasing values, all finite and > 0."""

    def parse(text: str) -> np.ndarray:
        form = (f"{name} must be start:stop:points (log-spaced, 0 < start <= stop) "
                "or a1,a2,... (> 0, increasing)")
        try:
            if ":" in text:
                lo, hi, num = text.split(":")
                lo_f, hi_f, n = float(lo), float(hi), int(num)
                ok = 0 < lo_f <= hi_f < math.inf and n >= 1 and (n == 1 or lo_f < hi_f)
                values = np.geomspace(lo_f, hi_f, n) if ok else None
            else:
                values = np.array([float(v) for v in text.split(",")])
                ok = bool(np.all(np.isfinite(values)) and np.all(values > 0) and np.all(np.diff(values) > 0))
        except ValueError:
            raise argparse.ArgumentTypeError(f"{form}, got {text!r}") from None
        if not ok:
            raise argparse.ArgumentTypeError(f"{form}, got {text!r}")
        return values

    return parse


def _tau_list(text: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        values = []
    if not values or any(math.isnan(v) or v < 0 for v in values):
        raise argparse.ArgumentTypeError(
            f"--tau must be a comma list of times >= 0 (inf allowed), got {text!r}")
    return values


_OPTIMIZERS = ("flow", "gd", "sgd", "adam", "sign")


def _simulate_spec(text: str) -> dict[str, Any]:
    """``d=40,seeds=2[,noise=gaussian|exact][,optimizer=adam,steps=...,lr=...|dtau=...,batch=...]``.

    ``optimizer=flow`` (default) is the exact gradient flow on the theory's tau grid; ``gd``, ``sgd``,
    ``adam``, ``sign`` train explicitly (:func:`rfdiff.simulate.train`) for ``steps`` steps with ``lr``
    (Adam, sign: step size on A; GD/SGD: eta on A) or ``dtau`` (GD/SGD), ``batch`` samples per step (SGD).
    """
    form = ("--simulate must look like d=40,seeds=2[,noise=gaussian|exact] or "
            "d=40,seeds=2,optimizer=adam|sgd|gd|sign,steps=N,lr=X|dtau=X[,batch=B] (d >= 2, seeds >= 1)")
    spec: dict[str, Any] = {"d": None, "seeds": 1, "noise": None, "optimizer": "flow", "steps": None,
                            "lr": None, "dtau": None, "batch": None}
    try:
        for part in text.split(","):
            key, value = part.split("=")
            key, value = key.strip(), value.strip()
            if key in ("d", "seeds", "steps", "batch"):
                spec[key] = int(value)
            elif key in ("lr", "dtau"):
                spec[key] = float(value)
                if not (math.isfinite(spec[key]) and spec[key] > 0):
                    raise ValueError(part)
            elif key == "noise" and value in ("gaussian", "exact"):
                spec[key] = value
            elif key == "optimizer" and value in _OPTIMIZERS:
                spec[key] = value
            else:
                raise ValueError(part)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{form}, got {text!r}") from None
    if spec["d"] is None or spec["d"] < 2 or spec["seeds"] < 1:
        raise argparse.ArgumentTypeError(f"{form}, got {text!r}")
    opt = spec["optimizer"]
    if opt == "flow":
        if any(spec[k] is not None for k in ("steps", "lr", "dtau", "batch")):
            raise argparse.ArgumentTypeError(
                f"--simulate: steps, lr, dtau and batch are for optimizer=gd|sgd|adam|sign, got {text!r}")
        return spec
    if spec["noise"] is not None:
        raise argparse.ArgumentTypeError(
            f"--simulate: noise= is for the flow; optimizer={opt} trains with one fresh noise draw per "
            f"point per step (or --noise-draws m fixed draws), got {text!r}")
    if spec["steps"] is None or spec["steps"] < 1:
        raise argparse.ArgumentTypeError(f"--simulate: optimizer={opt} needs steps=N (N >= 1), got {text!r}")
    if opt in ("adam", "sign") and (spec["lr"] is None or spec["dtau"] is not None):
        raise argparse.ArgumentTypeError(
            f"--simulate: optimizer={opt} needs lr=X (its step on A; it has no flow time, so no dtau), "
            f"got {text!r}")
    if opt in ("gd", "sgd") and (spec["lr"] is None) == (spec["dtau"] is None):
        raise argparse.ArgumentTypeError(
            f"--simulate: optimizer={opt} needs one of lr=X and dtau=X, got {text!r}")
    if spec["batch"] is not None and (opt != "sgd" or spec["batch"] < 1):
        raise argparse.ArgumentTypeError(f"--simulate: batch=B (>= 1) is for optimizer=sgd, got {text!r}")
    return spec


_FORMATS = (".png", ".pdf", ".svg", ".jpg", ".jpeg", ".eps", ".ps", ".tif", ".tiff", ".webp")


def _plot_path(text: str) -> Path:
    """A figure path whose directory exists and is writable: checked by creating (and removing) a
    temporary file there, before any computation."""
    path = Path(text)
    if path.suffix.lower() not in _FORMATS:
        raise argparse.ArgumentTypeError(f"--plot must end in one of {', '.join(_FORMATS)}, got {text!r}")
    parent = path.parent
    if not parent.is_dir():
        raise argparse.ArgumentTypeError(f"--plot: directory {str(parent)!r} does not exist")
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"--plot: {text!r} is a directory")
    try:
        fd, probe = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".probe", dir=parent)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise argparse.ArgumentTypeError(
            f"cannot write into {str(parent)!r} ({exc.strerror or type(exc).__name__})") from None
    return path


def _parallel_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--workers", type=_integer_at_least("--workers", 1), default=None,
                       help="local processes (default: all cores)")
    group.add_argument("--scheduler", default=None, metavar="ADDRESS",
                       help="dask.distributed scheduler address, e.g. tcp://host:8786 "
                            "(needs the extra rfdiff[distributed])")


class _Parser(argparse.ArgumentParser):
    """Bad input is one line naming the option (no usage block; ``-h`` shows it) and exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} -h)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="rfdiff", description="Random-matrix-theory analytics for diffusion models (random features). "
        "Without arguments: rfdiff report (the paper's claims, theory against simulation, into "
        "./rfdiff-report).",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command")
    rep = sub.add_parser("report", help="the main job: the paper's random-features claims, theory against "
                         "finite-size simulation (PNG, PDF, index.html, report.json)", epilog=_EPILOG,
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    rep.add_argument("--quick", action="store_true",
                     help="smaller d, fewer seeds, small phase grid (< 2 min)")
    rep.add_argument("--out", default="rfdiff-report", help="output directory (default ./rfdiff-report)")
    rep.add_argument("--tiny", action="store_true", help=argparse.SUPPRESS)  # test-suite size
    _parallel_options(rep)
    spec = sub.add_parser("spectrum", help="atoms, support intervals, edges and a density table of U",
                          epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    _model_options(spec)
    spec.add_argument("--points", type=int, default=12, help="density table rows per component")
    spec.add_argument("--plot", type=_plot_path, default=None, metavar="FILE",
                      help="also draw lambda rho(lambda) into FILE (.png, .pdf, ...)")
    spec.add_argument("--d", type=_integer_at_least("--d", 8), default=None, metavar="D",
                      help="the finite-d theory of the real features at dimension D >= 8 (docs/finite_d.md; "
                           "isotropic data, odd activation; ~10-30 s) beside the d -> infinity limit")
    times = sub.add_parser("timescales", help="tau_gen, tau_mem (spectral and dynamical), n* and every "
                                              "component",
                           epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    _model_options(times)
    curves = sub.add_parser("curves", help="limit learning curves L_train, L_test, L_gen, E_score",
                            epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    _model_options(curves, json_csv=True)
    curves.add_argument("--tau", type=_tau_grid, default=_tau_grid("1e-1:1e6:200"),
                        help="log grid start:stop:points (default 1e-1:1e6:200)")
    curves.add_argument("--simulate", type=_simulate_spec, default=None, metavar="d=D,seeds=S[,...]",
                        help="add the exact gradient flow of finite-size draws (Gaussian-equivalent unless "
                             "noise=exact), averaged over seeds; the cost and memory are estimated first. "
                             "optimizer=gd|sgd|adam|sign,steps=N,lr=X|dtau=X[,batch=B] trains explicitly "
                             "instead (exact noise averages for the recorded losses; Adam and sign descent "
                             "in their own clock t = k lr, docs/optimizers.md)")
    curves.add_argument("--plot", type=_plot_path, default=None, metavar="FILE", help="also draw the curves")
    ph = sub.add_parser("phase", help="L_gen maps and regimes over (psi_p, psi_n) at given tau",
                        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    ph.add_argument("--psi-p", type=_log_axis("--psi-p"), default=_log_axis("--psi-p")("4:128:12"),
                    help="start:stop:points (log) or a,b,c (default 4:128:12)")
    ph.add_argument("--psi-n", type=_log_axis("--psi-n"), default=_log_axis("--psi-n")("1:128:12"),
                    help="start:stop:points (log) or a,b,c (default 1:128:12)")
    ph.add_argument("--t", type=_positive("--t"), default=0.1, help="diffusion time (default 0.1)")
    ph.add_argument("--tau", type=_tau_list, default=[1e3, 1e4], help="comma list of times (default 1e3,1e4)")
    ph.add_argument("--activation", choices=["tanh", "erf"], default="tanh",
                    help="tanh (default) or erf (relu is not offered here: the map's workers would compute "
                         "its "
                         "constants by quadrature, 2 %% off for the kink)")
    _parallel_options(ph)
    ph.add_argument("--plot", type=_plot_path, default=None, metavar="FILE", help="draw one map per tau")
    ph.add_argument("--json", action="store_true", help="print one JSON object")
    _generate_parser(sub)
    return parser


# ------------------------------------------------------------------------------ helpers


def _model(args: argparse.Namespace, default_t: float) -> RFModel:
    """The model of the options; relu is centred at Gamma_t and gets its constants in closed form."""
    data = DataSpectrum.isotropic() if args.data_spectrum is None else args.data_spectrum
    t = default_t if args.t is None else args.t
    extra = {"ridge": getattr(args, "ridge", 0.0), "noise_draws": getattr(args, "noise_draws", None),
             "d": getattr(args, "d", None)}
    if args.activation != "relu":
        return RFModel(psi_p=args.psi_p, psi_n=args.psi_n, t=t, activation=args.activation, data=data,
                       **extra)
    from .activations import centred

    gamma2 = math.exp(-2.0 * t) * data.sigma_x2 - math.expm1(-2.0 * t)
    # centred ReLU carries its constants in closed form (quadrature converges like 1/N at the kink)
    return RFModel(psi_p=args.psi_p, psi_n=args.psi_n, t=t, data=data,
                   activation=centred("relu", math.sqrt(gamma2)), **extra)


def _parameters(model: RFModel) -> dict[str, Any]:
    return {"psi_p": model.psi_p, "psi_n": model.psi_n, "t": model.t, "activation": model.activation.name,
            "data": {"values": list(model.data.values), "weights": list(model.data.weights)},
            "ridge": model.ridge, "noise_draws": model.noise_draws}


def _envelope(command: str, parameters: dict[str, Any], units: Sequence[str]) -> dict[str, Any]:
    from . import __version__

    return {"rfdiff_version": __version__, "command": command, "parameters": parameters,
            "units": {k: _UNITS[k] for k in units}}


def _plain(x: Any) -> Any:
    """JSON-safe copy for the command line's output: arrays to lists, non-finite floats to null."""
    if isinstance(x, dict):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    if isinstance(x, np.ndarray):
        return _plain(x.tolist())
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        return float(x) if math.isfinite(x) else None
    return x


def _print_json(obj: dict[str, Any]) -> None:
    print(json.dumps(_plain(obj), allow_nan=False))


def _save_plot(fig: Any, path: Path) -> None:
    """Write the figure to ``path`` through a temporary file beside it (never a half-written file)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix, dir=path.parent.resolve())
    os.close(fd)
    try:
        fig.savefig(tmp, dpi=130, format=path.suffix[1:].lower())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the file the usual permissions
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _new_figure(size: tuple[float, float]) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=size, layout="tight")


def _progress(total: int, desc: str) -> Any:
    from .report.progress import Progress

    return Progress(total, desc, interval=5.0)


class _Partial:
    """Collects what could not be computed: the field goes null, its reason into ``unavailable``, and
    one line per field goes to stderr at the end (exit code 3)."""

    def __init__(self) -> None:
        self.reasons: dict[str, str] = {}

    def attempt(self, field: str, what: str, fn: Any) -> Any:
        try:
            return fn()
        except NumericalError as exc:
            self.reasons[field] = f"{what} could not be computed: {type(exc).__name__}: {exc}"
            return None

    def finish(self) -> int:
        for reason in self.reasons.values():
            print(f"rfdiff: {reason}", file=sys.stderr)
        return EXIT_NUMERICAL if self.reasons else EXIT_OK


# ------------------------------------------------------------------------------ timescales


def _timescales(args: argparse.Namespace) -> int:
    from .phases import n_star
    from .report.sections import GEN_ZERO, governing_time

    model = _model(args, 0.1)
    partial = _Partial()
    ts = dyn = nstar = None
    if model.noise_draws is not None:
        for key in ("spectral", "dynamical", "n_star"):
            partial.reasons[key] = "not available with --noise-draws (docs/noise_draws.md §8)"
    else:
        ts = partial.attempt("spectral", "the spectral timescales", lambda: model.timescales(dynamical=False))
        dyn = partial.attempt("dynamical", "the dynamical timescales (read off the limit curves)",
                              model.dynamical_timescales)
    if model.noise_draws is not None:
        pass
    elif len(model.data.values) != 1:
        partial.reasons["n_star"] = "n* is computed for isotropic data only"
    elif args.activation == "relu":
        partial.reasons["n_star"] = ("n* for relu needs the closed-form constants inside rfdiff.phases "
                                     "(its quadrature constants are 2 % off for the kink)")
    else:
        nstar = partial.attempt("n_star", "n* (steepest fall of L_gen(inf) with psi_n)",
                                lambda: n_star(model.psi_p, model.t, activation=args.activation,
                                               ridge=model.ridge))
    out = _envelope("timescales", _parameters(model), ("tau", "spectral_times", "lambda", "losses"))
    out["convention"] = "tau = psi_p / (Delta_t * lambda) (paper), lambda a support edge"
    if ts is not None:
        gov, flagged = governing_time(ts)
        out.update({"tau_gen": ts.tau_gen, "tau_mem": ts.tau_mem, "tau_mem_loss_weighted": ts.tau_mem_loss,
                    "tau_gen_edge": ts.tau_gen_edge, "tau_mem_asymptotic": ts.tau_mem_asymptotic,
                    "tau_mem_governing": ts.tau_mem_governing, "tau_mem_flagged": flagged,
                    "tau_mem_flag": (f"the headline tau_mem (lower edge of rho_1) differs by "
                                     f"{max(gov / ts.tau_mem, ts.tau_mem / gov):.3g}x "
                                     "from the time of the memorization component that carries most of the "
                                     "loss" if flagged else None),
                    "flags": list(ts.flags),
                    "components": [dataclasses.asdict(c) for c in ts.components]})
    else:
        out.update(dict.fromkeys(("tau_gen", "tau_mem", "tau_mem_loss_weighted", "tau_gen_edge",
                                  "tau_mem_asymptotic", "tau_mem_governing", "tau_mem_flagged",
                                  "tau_mem_flag", "flags",
                                  "components")))
    memorizes, why = None, None
    if dyn is not None:
        if nstar is not None and model.psi_n > nstar:
            memorizes, why = False, f"psi_n = {model.psi_n:g} > n* = {nstar:.4g}"
        elif not dyn.gen_inf > GEN_ZERO:
            memorizes, why = False, f"L_gen(inf) = {dyn.gen_inf:.3g} <= {GEN_ZERO:g}"
        else:
            memorizes = True
        out["dynamical"] = {"tau_gen": dyn.tau_gen_dyn, "tau_mem": dyn.tau_mem_dyn if memorizes else None,
                            "gen_inf": dyn.gen_inf, "memorization": memorizes,
                            "no_memorization_reason": why}
    else:
        out["dynamical"] = None
    out["n_star"] = nstar
    out["unavailable"] = dict(partial.reasons)
    if args.json:
        _print_json(out)
        return partial.finish()
    lines = [f"timescales: psi_p = {model.psi_p:g}, psi_n = {model.psi_n:g}, t = {model.t:g}, "
             f"sigma = {model.activation.name} (paper convention psi_p/(Delta_t lambda); tau = k eta/d^2)"]
    if ts is not None:
        def num(x: float | None) -> str:
            return "undefined" if x is None else f"{x:.6g}"

        lines += [f"tau_gen = {ts.tau_gen:.6g}   (centre of rho_2; lower edge: {ts.tau_gen_edge:.6g})",
                  f"tau_mem = {num(ts.tau_mem)}   (lower edge of rho_1; asymptotic "
                  f"{num(ts.tau_mem_asymptotic)})",
                  f"tau_mem (loss-weighted) = {ts.tau_mem_loss:.6g}"]
        if out["tau_mem_flagged"]:
            lines.append(f"  note: {out['tau_mem_flag']} ({out['tau_mem_governing']:.6g}): the headline "
                         "tau_mem alone misstates when memorization happens")
    else:
        lines.append("spectral timescales: unavailable")
    if dyn is not None:
        mem = (f"tau_mem = {dyn.tau_mem_dyn:.6g}" if memorizes
               else f"tau_mem = none: no memorization ({why})")
        lines.append(f"dynamical: tau_gen = {dyn.tau_gen_dyn:.6g}, {mem}, L_gen(inf) = {dyn.gen_inf:.6g}")
    else:
        lines.append("dynamical: unavailable")
    if nstar is not None:
        lines.append(f"n* = {nstar:.6g}   (psi_n of the steepest fall of L_gen(inf); "
                     f"this psi_n is {'above' if model.psi_n > nstar else 'below'} it)")
    else:
        lines.append(f"n* = unavailable ({partial.reasons.get('n_star', '')})")
    if ts is not None:
        for c in ts.components:
            lines.append(f"  {c.label:14s} [{c.lo:.6g}, {c.hi:.6g}]  mass {c.mass:.6g}  "
                         f"loss share {c.loss_share:.4f}  time {c.time:.6g}")
    print("\n".join(lines))
    return partial.finish()


# ------------------------------------------------------------------------------ curves


def _meminfo_available() -> float | None:
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return float(line.split()[1]) * 1024.0
    except OSError:
        return None
    return None


def simulate_estimate(psi_p: float, psi_n: float, d: int, seeds: int, noise: str) -> dict[str, float]:
    """Rough cost of ``curves --simulate``: peak memory and wall time on an idle 2-core machine.

    Calibrated on d = 100, psi_p = 64 (p = 6400): 4 GB peak and ~70 s per seed for the
    Gaussian-equivalent flow (one p x p eigendecomposition, O(p^3)); peak memory ~12 p^2 doubles.
    The exact noise average (Mehler expansion) adds ~O(p^2 n K) per seed, K ~ 10-30 orders.

    Examples
    --------
    >>> e = simulate_estimate(64, 8, 100, 4, "gaussian")
    >>> round(e["memory_gb"], 1), round(e["seconds"])
    (3.9, 280)
    """
    p = round(psi_p * d)
    n = round(psi_n * d)
    memory = 12.0 * p * p * 8.0
    per_seed = 70.0 * (p / 6400.0) ** 3
    if noise == "exact":
        per_seed += 20.0 * 70.0 * (p / 6400.0) ** 2 * (n / 6400.0)
    return {"p": p, "n": n, "memory_gb": memory / 1e9, "seconds": per_seed * seeds}


def _simulation_noise(model: Any, sim: dict[str, Any]) -> str | int:
    """The noise mode of --simulate: the model's m fixed draws (--noise-draws) or the spec's / default."""
    if model.noise_draws is not None:
        if sim["noise"] is not None:
            raise ValueError("--simulate noise=... and --noise-draws: give one (with --noise-draws the "
                             "simulation descends the loss on the m fixed draws)")
        return int(model.noise_draws)
    if sim["optimizer"] != "flow":
        return "fresh"
    return "gaussian" if sim["noise"] is None else sim["noise"]


def _train_runs(model: Any, sim: dict[str, Any]) -> list[Any]:
    from . import simulate

    runs = []
    bar = _progress(sim["seeds"], f"rfdiff curves: {sim['optimizer']} d={sim['d']}, {sim['steps']} steps")
    try:
        for seed in range(sim["seeds"]):
            runs.append(simulate.train(model, d=sim["d"], steps=sim["steps"], optimizer=sim["optimizer"],
                                       lr=sim["lr"], dtau=sim["dtau"], batch_size=sim["batch"],
                                       noise=sim["noise"], seed=seed))
            bar.step(f"seed {seed}")
    finally:
        bar.close()
    return runs


def _curves(args: argparse.Namespace) -> int:
    model = _model(args, 0.1)
    sim = None if args.simulate is None else dict(args.simulate)
    estimate = None
    training = sim is not None and sim["optimizer"] != "flow"
    if training and args.csv:
        raise ValueError("--csv holds one table on the theory's tau grid; with --simulate optimizer=... "
                         "(its own clock and records) use --json or the text output")
    if sim is not None:
        sim["noise"] = _simulation_noise(model, sim)
        cost_noise = "exact" if sim["noise"] in ("exact", "fresh") else "gaussian"
        estimate = simulate_estimate(model.psi_p, model.psi_n, sim["d"], sim["seeds"], cost_noise)
        available = _meminfo_available()
        if available is not None and estimate["memory_gb"] * 1e9 > 0.8 * available:
            raise ValueError(f"--simulate d={sim['d']}: p = {estimate['p']} needs about "
                             f"{estimate['memory_gb']:.1f} GB, {available / 1e9:.1f} GB available; lower d")
        what = (f"optimizer={sim['optimizer']}, steps={sim['steps']} (plus the training steps), "
                if training else "")
        print(f"rfdiff: --simulate d={sim['d']}, seeds={sim['seeds']}, {what}noise={sim['noise']}: p = "
              f"{estimate['p']}, "
              f"n = {estimate['n']}; about {estimate['memory_gb']:.2g} GB peak and "
              f"{estimate['seconds']:.2g} s on an idle 2-core machine", file=sys.stderr)
    lc = model.learning_curves(args.tau)
    names = ["tau", "train", "test", "gen", "score"]
    columns = [lc.tau, lc.train, lc.test, lc.gen, lc.score]
    flows: list[Any] = []
    runs: list[Any] = []
    if training:
        runs = _train_runs(model, sim)
    elif sim is not None:
        from . import simulate

        bar = _progress(sim["seeds"], f"rfdiff curves: gradient flow d={sim['d']}")
        try:
            for seed in range(sim["seeds"]):
                flows.append(simulate.gradient_flow(model, lc.tau, d=sim["d"], seed=seed, noise=sim["noise"]))
                bar.step(f"seed {seed}")
        finally:
            bar.close()
        for key in ("train", "test", "gen", "score"):
            names.append(f"sim_{key}")
            columns.append(np.mean([getattr(f, key) for f in flows], axis=0))
    run_mean = ({k: np.mean([getattr(r, k) for r in runs], axis=0) for k in ("train", "test", "gen", "score")}
                if runs else {})
    if args.plot is not None:
        from .plot import curves as plot_curves

        if not training:
            fig = _new_figure((7.5, 5))
            plot_curves(lc, ax=fig.add_subplot(), simulate=flows or None, model=model)
        else:
            fig = _new_figure((13, 5))
            ax = fig.add_subplot(1, 2, 1)
            plot_curves(lc, ax=ax, model=model)
            clock = runs[0].time
            ok = clock > 0
            if runs[0].tau is not None:  # GD, SGD: on the flow's axis
                for key, color in (("train", "C0"), ("test", "C1")):
                    ax.plot(clock[ok], run_mean[key][ok], "o", color=color, ms=3.5,
                            label=f"{sim['optimizer']}, {key} (d = {sim['d']})")
                ax.legend(fontsize=8)
            ax2 = fig.add_subplot(1, 2, 2)
            for key, color in (("train", "C0"), ("test", "C1"), ("gen", "C2"), ("score", "C3")):
                ax2.plot(clock[ok], run_mean[key][ok], "o-", color=color, ms=3, lw=0.8, label=key)
            ax2.set_xscale("log")
            unit = "$\\tau$" if runs[0].tau is not None else "$t = k\\,$lr (own clock, no map to $\\tau$)"
            ax2.set_xlabel(unit)
            ax2.set_ylabel("loss (exact noise average of the iterate)")
            ax2.set_title(f"{sim['optimizer']}: d = {sim['d']}, {sim['seeds']} seed(s), {sim['steps']} steps",
                          fontsize=9)
            ax2.legend(fontsize=8)
        _save_plot(fig, args.plot)
    if args.json:
        out = _envelope("curves", _parameters(model), ("tau", "losses"))
        out.update({k: getattr(lc, k) for k in ("tau", "train", "test", "gen", "score")})
        if training:
            r0 = runs[0]
            out["simulation"] = {"d": sim["d"], "seeds": sim["seeds"], "optimizer": sim["optimizer"],
                                 "noise": sim["noise"], "p": estimate["p"], "n": estimate["n"],
                                 "steps": sim["steps"], "lr": r0.lr, "dtau": r0.dtau,
                                 "batch_size": r0.batch_size, "time_unit": r0.time_unit,
                                 "step": r0.step, "time": r0.time, "tau": r0.tau, **run_mean}
            if r0.tau_equiv is not None:
                out["simulation"]["tau_equiv"] = np.mean([r.tau_equiv for r in runs], axis=0)
        elif sim is not None:
            out["simulation"] = {"d": sim["d"], "seeds": sim["seeds"], "noise": sim["noise"],
                                 "p": estimate["p"], "n": estimate["n"],
                                 **{k: np.mean([getattr(f, k) for f in flows], axis=0)
                                    for k in ("train", "test", "gen", "score")}}
        _print_json(out)
    else:
        head = (f"# learning curves: psi_p = {model.psi_p:g}, psi_n = {model.psi_n:g}, t = {model.t:g}, "
                f"sigma = {model.activation.name}; tau = k eta/d^2")
        rows = [",".join(names) if args.csv else head + "\n" + " ".join(f"{n:>12s}" for n in names)]
        sep, fmt = (",", "{:.10g}") if args.csv else (" ", "{:12.6g}")
        for row in zip(*columns):
            rows.append(sep.join(fmt.format(v) for v in row))
        if training:
            r0 = runs[0]
            rows.append(f"# simulation: optimizer = {sim['optimizer']}, d = {sim['d']} (p = {estimate['p']}, "
                        f"n = {estimate['n']}), {sim['seeds']} seed(s), noise = {sim['noise']}, "
                        f"lr = {r0.lr:g}; time = {r0.time_unit} (Adam and sign descent have no map to tau)")
            rows.append(" ".join(f"{n:>12s}" for n in ("step", "time", "train", "test", "gen", "score")))
            for row in zip(r0.step, r0.time, *(run_mean[k] for k in ("train", "test", "gen", "score"))):
                rows.append(" ".join(fmt.format(v) for v in row))
        print("\n".join(rows))
    return EXIT_OK


# ------------------------------------------------------------------------------ phase


def _executor(args: argparse.Namespace, stack: Any) -> Any:
    """The executor of --workers / --scheduler, closed by ``stack`` (an ExitStack)."""
    if args.scheduler is None:
        from .report.progress import process_pool

        pool = process_pool(args.workers, forkserver=False)  # no parallel kernel runs here meanwhile
        stack.callback(pool.shutdown, wait=True, cancel_futures=True)
        return pool
    try:
        from distributed import Client
    except ImportError:
        raise ValueError("--scheduler needs dask.distributed: pip install 'rfdiff[distributed]'") from None
    try:
        client = Client(args.scheduler, timeout="10s")
    except (OSError, TimeoutError, ValueError, TypeError) as exc:
        raise ValueError(f"--scheduler: cannot connect to {args.scheduler!r} ({exc})") from None
    stack.callback(client.close)
    return client.get_executor()


def _phase(args: argparse.Namespace) -> int:
    from .phases import REGIMES, phase_diagram
    from .report.progress import counting

    pp, pn = args.psi_p, args.psi_n
    with contextlib.ExitStack() as stack:
        inner = _executor(args, stack)
        bar = _progress(pp.size, f"rfdiff phase: {pp.size} x {pn.size} map (rows)")  # one task per psi_p row
        stack.callback(bar.close)
        pd = phase_diagram(pp, pn, args.t, args.tau, activation=args.activation,
                           executor=counting(inner, bar))
    if args.plot is not None:
        from .plot import phase as plot_phase

        k = pd.tau.size
        fig = _new_figure((6.2 * k, 4.8))
        for j, ax in enumerate(np.atleast_1d(fig.subplots(1, k))):
            plot_phase(pd, ax=ax, tau_index=j)
        _save_plot(fig, args.plot)
    if args.json:
        out = _envelope("phase", {"t": pd.t, "activation": args.activation, "psi_p": pd.psi_p,
                                  "psi_n": pd.psi_n, "tau": pd.tau}, ("tau", "losses", "psi_p, psi_n"))
        out.update({"t": pd.t, "psi_p": pd.psi_p, "psi_n": pd.psi_n, "tau": pd.tau, "gen": pd.gen,
                    "train": pd.train, "test": pd.test, "regime": pd.regime, "regimes": list(REGIMES),
                    "regime_definitions": _REGIME_DEFINITIONS, "tau_gen": pd.tau_gen, "tau_mem": pd.tau_mem,
                    "n_star": pd.n_star})
        _print_json(out)
        return EXIT_OK
    lines = [f"phase diagram: t = {pd.t:g}, {pp.size} psi_p x {pn.size} psi_n, tau = "
             f"{', '.join(f'{x:g}' for x in pd.tau)}; regimes: "
             + "; ".join(f"{k} {name}" for k, name in enumerate(REGIMES))]
    lines += [f"  {k}: {text}" for k, text in enumerate(_REGIME_DEFINITIONS)]
    lines.append("n*(psi_p): " + ", ".join(f"{a:.4g} -> {b:.4g}" for a, b in zip(pp, pd.n_star)))
    for j, tau in enumerate(pd.tau):
        lines.append(f"tau = {tau:g}: L_gen[regime], rows psi_p, columns psi_n")
        lines.append(f"{'':>9s}" + "".join(f"{x:>12.4g}" for x in pn))
        for i, a in enumerate(pp):
            lines.append(f"{a:>9.4g}" + "".join(f"{pd.gen[j, i, m]:>9.3g}[{pd.regime[j, i, m]}]"
                                                 for m in range(pn.size)))
    print("\n".join(lines))
    return EXIT_OK


_REGIME_DEFINITIONS = [
    "tau < tau_gen: E_score has not yet come within 5 % of its minimum",
    "tau_gen <= tau < tau_mem: generalizing, L_gen below half of L_gen(inf)",
    "tau >= tau_mem: L_gen has risen past half of L_gen(inf)",
    "psi_n > n*(psi_p): L_gen(inf) small and falling as a power of 1/psi_n; no memorization at any tau",
]


# ------------------------------------------------------------------------------ report, spectrum


def _report(args: argparse.Namespace) -> int:
    import time

    from .report import ReportConfig, run_report

    preset = "tiny" if args.tiny else "quick" if args.quick else "full"
    start = time.perf_counter()
    with contextlib.ExitStack() as stack:
        executor = None if args.scheduler is None else _executor(args, stack)
        report = run_report(args.out, ReportConfig.preset(preset, workers=args.workers), preset=preset,
                            executor=executor)
    out = Path(args.out)
    gaps = report.gaps
    counts = {v: sum(g.verdict == v for g in gaps) for v in ("within tolerance", "outside tolerance",
                                                              "not resolved at this d", "not computed")}
    summary = ", ".join(f"{n} {v}" for v, n in counts.items() if n)
    print(f"rfdiff report ({preset}): {len(report.files)} files in {out}/ "
          f"(open {out / 'index.html'}), {time.perf_counter() - start:.0f} s\n"
          f"theory-simulation gaps: {summary}")
    for g in gaps:
        if g.verdict == "outside tolerance":
            print(f"  outside tolerance: {g.name} = {g.value:.3g} > {g.tolerance:.3g}")
    return EXIT_OK


def _spectrum(args: argparse.Namespace) -> int:
    model = _model(args, 0.01)
    if model.d is not None:
        return _spectrum_finite_d(args, model)
    sp = model.spectrum()
    const = {k: v for k, v in dataclasses.asdict(model.constants).items() if isinstance(v, float)}
    if args.plot is not None:
        from .plot import spectrum as plot_spectrum

        fig = _new_figure((8, 4.5))
        plot_spectrum(model, ax=fig.add_subplot())
        _save_plot(fig, args.plot)
    table = []
    for comp in sp.components:
        lam = np.linspace(comp.lo, comp.hi, args.points + 2)[1:-1]
        table.append((comp, lam, model.density(lam)))
    if args.json:
        out = _envelope("spectrum", _parameters(model), ("lambda", "rho"))
        out.update({
            "constants": const,
            "atoms": [[loc, w] for loc, w in sp.atoms],
            "atom_weight_formula": sp.atom_weight_formula,
            "support": [[lo, hi] for lo, hi in sp.support],
            "masses": list(sp.masses),
            "total_mass": sp.total_mass,
            "density": [{"lo": c.lo, "hi": c.hi, "mass": c.mass, "lambda": lam, "rho": rho}
                        for c, lam, rho in table],
        })
        _print_json(out)
        return EXIT_OK
    out_lines = [
        f"rfdiff spectrum of U: psi_p = {model.psi_p:g}, psi_n = {model.psi_n:g}, t = {model.t:g}, "
        f"sigma = {model.activation.name}, data eigenvalues {list(model.data.values)} "
        f"weights {list(model.data.weights)}",
        "constants: " + ", ".join(f"{k} = {v:.6g}" for k, v in const.items() if k != "t"),
    ]
    for loc, w in sp.atoms:
        out_lines.append(f"atom      at {loc:.10g}   weight {w:.10f}   "
                         f"(rank formula {sp.atom_weight_formula:.10f})")
    for comp in sp.components:
        out_lines.append(f"component [{comp.lo:.10g}, {comp.hi:.10g}]   mass {comp.mass:.10f}")
    out_lines.append(f"total mass {sp.total_mass:.12f}")
    out_lines.append("density table (lambda, rho):")
    for _, lam, rho in table:
        for x, r in zip(lam, rho):
            out_lines.append(f"  {x:14.8g}  {r:14.8g}")
    print("\n".join(out_lines))
    return EXIT_OK


def _spectrum_finite_d(args: argparse.Namespace, model: RFModel) -> int:
    """``rfdiff spectrum --d D``: the finite-d spectrum features and density beside Theorem 3.1's."""
    limit = dataclasses.replace(model, d=None)
    sp = limit.spectrum()
    print(f"rfdiff spectrum: finite-d theory at d = {model.d} (~10-30 s) ...", file=sys.stderr, flush=True)
    feats = model.spectrum()
    table = []
    for comp in sp.components:
        lam = np.linspace(comp.lo, comp.hi, args.points + 2)[1:-1]
        table.append((comp.lo, comp.hi, lam, model.density(lam), limit.density(lam)))
    if feats.atom_mass > 0:  # the atom of the limit, smeared at finite d
        lam = np.linspace(feats.atom_q05, feats.atom_q95, args.points)
        table.insert(0, (feats.atom_q05, feats.atom_q95, lam, model.density(lam), np.zeros_like(lam)))
    fields = {k: v for k, v in feats.to_dict().items() if k not in ("type", "rfdiff_version", "spread")}
    if args.plot is not None:
        from .plot import spectrum as plot_spectrum

        fig = _new_figure((8, 4.5))
        ax = plot_spectrum(limit, ax=fig.add_subplot())
        lo = feats.atom_q05 / 2.0 if feats.atom_mass > 0 else sp.support[0][0] / 2.0
        lam = np.geomspace(lo, 1.1 * sp.support[-1][1], 200)  # gaps too: the finite-d density is smooth
        ax.plot(lam, lam * model.density(lam), "C3--", lw=1.4, label=f"finite-d theory (d = {model.d})")
        ax.set_title(f"{ax.get_title()}; dashed: d = {model.d}")
        ax.legend(frameon=False)
        _save_plot(fig, args.plot)
    if args.json:
        out = _envelope("spectrum", _parameters(limit) | {"d": model.d}, ("lambda", "rho"))
        density = [{"lo": lo, "hi": hi, "lambda": lam, "rho_finite_d": rho, "rho_limit": rho_lim}
                   for lo, hi, lam, rho, rho_lim in table]
        out.update({"finite_d": fields, "atom_mass_limit": sp.atom_weight_formula, "density": density})
        _print_json(out)
        return EXIT_OK
    lines = [
        f"rfdiff spectrum of U at d = {model.d} (finite-d theory, docs/finite_d.md) beside d -> infinity: "
        f"psi_p = {model.psi_p:g}, psi_n = {model.psi_n:g}, t = {model.t:g}, sigma = {model.activation.name}",
        f"atom (limit: weight {sp.atom_weight_formula:.10f} at s_t^2 = {model.constants.s2:.10g}): smeared "
        f"over [{feats.atom_q05:.6g}, {feats.atom_q95:.6g}] (5-95 % of its mass), median "
        f"{feats.atom_q50:.6g}, mean {feats.atom_mean:.6g}, sd {feats.atom_sd:.6g}",
        f"rho_1 (2-98 % of its mass): [{feats.rho1_lower:.6g}, {feats.rho1_upper:.6g}]",
        "mass check: " + ", ".join(f"{k} = {v}" for k, v in feats.diagnostics.items()),
        "density table (lambda, rho at d, rho at d -> infinity):",
    ]
    for _lo, _hi, lam, rho, rho_lim in table:
        lines += [f"  {x:14.8g}  {r:14.8g}  {q:14.8g}" for x, r, q in zip(lam, rho, rho_lim)]
    print("\n".join(lines))
    return EXIT_OK


# ------------------------------------------------------------------------------ generate


def _gen_times(text: str) -> np.ndarray:
    form = "--times must be t_min:t_max:points (log-spaced, 0 < t_min < t_max < inf, points >= 2)"
    try:
        lo, hi, num = text.split(":")
        lo_f, hi_f, k = float(lo), float(hi), int(num)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{form}, got {text!r}") from None
    if not (0 < lo_f < hi_f < math.inf) or k < 2:
        raise argparse.ArgumentTypeError(f"{form}, got {text!r}")
    return np.geomspace(lo_f, hi_f, k)


def _gen_taus(text: str) -> np.ndarray:
    form = ("--tau must be a comma list of times >= 0, 'inf', or start:stop:points log ranges, "
            "increasing, e.g. 1e1:1e8:15,inf")
    out: list[float] = []
    try:
        for part in text.split(","):
            if ":" in part:
                lo, hi, num = part.split(":")
                lo_f, hi_f, k = float(lo), float(hi), int(num)
                if not (0 < lo_f < hi_f < math.inf) or k < 2:
                    raise ValueError(part)
                out += np.geomspace(lo_f, hi_f, k).tolist()
            else:
                out.append(float(part))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{form}, got {text!r}") from None
    arr = np.array(out)
    if arr.size == 0 or np.any(np.isnan(arr)) or np.any(arr < 0) or np.any(np.diff(arr) <= 0):
        raise argparse.ArgumentTypeError(f"{form}, got {text!r}")
    return arr


def _gen_noise(text: str) -> str | int:
    if text in ("exact", "gaussian"):
        return text
    try:
        m = int(text)
    except ValueError:
        m = 0
    if m < 1:
        raise argparse.ArgumentTypeError(f"--noise must be exact, gaussian or an integer >= 1, got {text!r}")
    return m


def _gen_level(text: str) -> str | float:
    if text == "half":
        return text
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"--level must be 'half' or a number in (0, 1), got {text!r}")
    return value


def _generate_parser(sub: Any) -> None:
    """``rfdiff generate``: fit an RF diffusion model, sample at each tau, f_mem and Fréchet distance."""
    gen = sub.add_parser("generate", help="RF diffusion model: samples, memorization fraction and Fréchet "
                                          "distance against the training time tau",
                         epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    gen.add_argument("--psi-p", type=_positive("--psi-p"), default=32.0, help="p/d (default 32)")
    gen.add_argument("--psi-n", type=_positive("--psi-n"), default=2.0, help="n/d (default 2)")
    gen.add_argument("--d", type=_integer_at_least("--d", 1), default=12, help="dimension (default 12)")
    gen.add_argument("--times", type=_gen_times, default=np.geomspace(1e-3, 5.0, 50),
                     help="diffusion-time grid t_min:t_max:points (default 1e-3:5:50)")
    gen.add_argument("--noise", type=_gen_noise, default="exact",
                     help="noise average per time: exact (default), gaussian, or m draws per point")
    gen.add_argument("--activation", choices=["tanh", "erf"], default="tanh")
    gen.add_argument("--data-spectrum", type=_data_spectrum, default=None,
                     help="rho_Sigma as values:weights, e.g. 0.5,1.5:0.5,0.5 (default: N(0, I))")
    gen.add_argument("--seed", type=_integer_at_least("--seed", 0), default=0,
                     help="seed of W and X (default 0)")
    gen.add_argument("--tau", type=_gen_taus, default=_gen_taus("1e0:1e8:9,inf"),
                     help="training times (default 1e0:1e8:9,inf)")
    gen.add_argument("--n-samples", type=_integer_at_least("--n-samples", 2), default=1000,
                     help="samples per tau")
    gen.add_argument("--sample-seed", type=_integer_at_least("--sample-seed", 0), default=1,
                     help="seed of the sampler (default 1)")
    gen.add_argument("--method", choices=["sde", "ode"], default="sde")
    gen.add_argument("--integrator", choices=["heun", "euler"], default="heun")
    gen.add_argument("--level", type=_gen_level, default="half",
                     help="tau_mem^gen level: 'half' (of f_mem at the last tau, default) or a number")
    out = gen.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print one JSON object")
    out.add_argument("--csv", action="store_true", help="print CSV (tau,f_mem,ci_lo,ci_hi,frechet,copied)")
    gen.add_argument("--plot", type=_plot_path, default=None, metavar="FILE",
                     help="draw f_mem and the Fréchet distance against tau into FILE")


def _generate(args: argparse.Namespace) -> int:
    from .generate import RFDiffusion

    kwargs = {} if args.data_spectrum is None else {"data": args.data_spectrum}
    parameters = {"psi_p": args.psi_p, "psi_n": args.psi_n, "d": args.d, "times": args.times,
                  "noise": args.noise, "activation": args.activation,
                  "data": (None if args.data_spectrum is None else
                           {"values": list(args.data_spectrum.values),
                            "weights": list(args.data_spectrum.weights)}),
                  "seed": args.seed, "tau": ["inf" if math.isinf(v) else float(v) for v in args.tau],
                  "n_samples": args.n_samples,
                  "sample_seed": args.sample_seed, "method": args.method, "integrator": args.integrator,
                  "level": args.level}
    partial = _Partial()
    bar = _progress(args.times.size, "rfdiff generate: fit, one score per diffusion time")
    try:
        gm = partial.attempt("fit", "the fit", lambda: RFDiffusion(
            psi_p=args.psi_p, psi_n=args.psi_n, d=args.d, times=args.times, activation=args.activation,
            noise=args.noise, seed=args.seed, progress=lambda done, total: bar.step(f"time {done}"),
            **kwargs))
    finally:
        bar.close()
    mc = None
    if gm is not None:
        bar = _progress(args.tau.size, f"rfdiff generate: {args.n_samples} samples per tau")
        try:
            mc = partial.attempt("curve", "the memorization curve", lambda: gm.memorization_curve(
                args.tau, n_samples=args.n_samples, seed=args.sample_seed, method=args.method,
                integrator=args.integrator, level=args.level,
                progress=lambda done, total: bar.step(f"tau {args.tau[done - 1]:g}")))
        finally:
            bar.close()
    else:
        partial.reasons["curve"] = "the memorization curve needs the fit"
    if args.plot is not None and mc is not None:
        from .plot import memorization as plot_memorization

        fig = _new_figure((12, 4.5))
        left, right = fig.subplots(1, 2)
        plot_memorization(mc, ax=left)
        plot_memorization(mc, ax=right, quantity="frechet")
        _save_plot(fig, args.plot)
    fit = None
    if gm is not None:
        info = gm.fit_info
        fit = {"seconds": gm.fit_seconds, "memory_bytes": gm.memory_bytes, "p": gm.p, "n": gm.n,
               "converged": gm.fit_converged, "max_truncation_bound": gm.max_truncation_bound,
               "zero_modes": [i["zero_modes"] for i in info], "rcond": gm.rcond,
               "tau_resolved": "inf" if math.isinf(gm.tau_resolved) else gm.tau_resolved}
        if not gm.fit_converged:
            print(f"rfdiff: warning: the exact noise average stopped at max_order before its tolerance "
                  f"(truncation bound reached {gm.max_truncation_bound:.3g})", file=sys.stderr)
    if args.json:
        env = _envelope("generate", parameters, ("tau", "f_mem", "frechet", "psi_p, psi_n"))
        env.update({"fit": fit, "curve": None if mc is None else mc.summary(),
                    "unavailable": dict(partial.reasons)})
        _print_json(env)
        return partial.finish()
    if mc is None:
        if not args.csv and gm is not None:
            print(f"rfdiff generate: psi_p = {gm.psi_p:g}, psi_n = {gm.psi_n:g}, d = {gm.d} (p = {gm.p}, "
                  f"n = {gm.n}); fit {gm.fit_seconds:.1f} s; curve unavailable")
        return partial.finish()

    def num(v: float) -> str:
        return "nan" if math.isnan(v) else "inf" if math.isinf(v) else f"{v:.10g}"

    rows = ["tau,f_mem,ci_lo,ci_hi,frechet,copied"] if args.csv else [
        f"rfdiff generate: psi_p = {gm.psi_p:g}, psi_n = {gm.psi_n:g}, d = {gm.d} (p = {gm.p}, n = {gm.n}), "
        f"{gm.times.size} times in [{gm.times[0]:g}, {gm.times[-1]:g}], noise = {gm.noise}; fit "
        f"{gm.fit_seconds:.1f} s, {gm.memory_bytes / 2**20:.0f} MiB",
        f"{'tau':>10s} {'f_mem':>8s} {'95% CI':>17s} {'Frechet':>9s} {'copied':>7s}"]
    for j, tau in enumerate(mc.tau):
        lo, hi = mc.ci[j]
        if args.csv:
            rows.append(f"{num(tau)},{mc.f_mem[j]:.10g},{lo:.10g},{hi:.10g},{mc.frechet[j]:.10g},"
                        f"{mc.distinct_copied[j]}")
        else:
            rows.append(f"{tau:10.3g} {mc.f_mem[j]:8.4f} [{lo:.4f}, {hi:.4f}] {mc.frechet[j]:9.4f} "
                        f"{mc.distinct_copied[j]:7d}")
    if not args.csv:
        rows.append(f"Frechet floor ({mc.n_samples} fresh samples): {mc.frechet_floor.mean:.4f} "
                    f"+- {mc.frechet_floor.sd:.4f}; tau_mem^gen = {mc.tau_mem_gen:.4g} (level "
                    f"{mc.mem_level:.4g}), tau_gen^gen = {mc.tau_gen_gen:.4g}")
    print("\n".join(rows))
    return partial.finish()


# ------------------------------------------------------------------------------ main


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``rfdiff`` console script (no arguments: ``rfdiff report``).

    Returns the exit code (see the module docstring): 0, 2 (bad input), 3 (a quantity could not be
    computed), 4 (internal error), 130 (interrupted).
    """
    parser = _parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv:
        argv = ["report"]
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    if getattr(args, "points", 1) < 1:
        parser.error(f"--points must be >= 1, got {args.points}")
    run = {"report": _report, "spectrum": _spectrum, "timescales": _timescales, "curves": _curves,
           "phase": _phase, "generate": _generate}[args.command]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            code = run(args)
        except ValueError as exc:
            print(f"rfdiff: error: {_one_line(exc)}", file=sys.stderr)
            code = EXIT_USAGE
        except NumericalError as exc:
            print(f"rfdiff: could not compute ({type(exc).__name__}): {_one_line(exc)}", file=sys.stderr)
            code = EXIT_NUMERICAL
        except KeyboardInterrupt:
            print("rfdiff: interrupted; no partial output was left behind", file=sys.stderr)
            code = EXIT_INTERRUPTED
        except BrokenPipeError:  # output piped into e.g. `head`, which stopped reading: not an error
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            code = EXIT_OK
        except Exception as exc:  # last resort: one line, never a traceback
            print(f"rfdiff: internal error ({type(exc).__name__}: {_one_line(exc)}); please report it "
                  "with the command line", file=sys.stderr)
            code = EXIT_INTERNAL
    seen = set()
    for w in caught:
        text = f"rfdiff: warning: {_one_line(w.message)}"
        if text not in seen:
            seen.add(text)
            print(text, file=sys.stderr)
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
