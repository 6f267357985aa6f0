"""Command-line interface: ``rfdiff`` (also ``python -m rfdiff``).

``rfdiff`` with no arguments runs the main job, ``rfdiff report``: the paper's
random-features figures with theory lines and finite-size simulation overlays, written to
./rfdiff-report (``--quick`` for a smaller run, ``--out DIR``; :mod:`rfdiff.report`).

``rfdiff spectrum [--json] [--plot out.png]``: atoms, support and a density table of U
(JSON keys ``constants``, ``atoms``, ``support``). ``rfdiff timescales [--json]``: tau_gen,
tau_mem (spectral, paper convention; dynamical ones under ``dynamical``), ``n_star`` and every
component. ``rfdiff curves --tau 1e-1:1e6:200 [--simulate d=100,seeds=4] [--json|--csv]
[--plot out.png]``: the limit learning curves (and finite-size gradient flow).
``rfdiff phase --psi-p 1:128:64 --psi-n 1:64:64 --t 0.1 --tau 1e3,1e4 [--workers N |
--scheduler ADDRESS] [--plot out.png] [--json]``: L_gen maps and regimes.
``rfdiff generate --psi-p 32 --psi-n 2 --d 12 --tau 1e0:1e8:9,inf [--json|--csv] [--plot out.png]``:
an RF diffusion model (one exactly trained score per diffusion time), f_mem and the Fréchet distance of
its samples against tau (:mod:`rfdiff.generate`).

Bad input gives a one-line error naming the option and exit code 2; Ctrl-C exits with 130
and leaves no half-written file; progress bars go to stderr only when it is a terminal.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import sys
import tempfile
from collections.abc import Sequence
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

import numpy as np

from .model import DataSpectrum, RFModel

__all__ = ["main"]


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


def _model_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--psi-p", type=_positive("--psi-p"), default=64.0, help="p/d (default 64)")
    parser.add_argument("--psi-n", type=_positive("--psi-n"), default=8.0, help="n/d (default 8)")
    parser.add_argument("--t", type=_positive("--t"), default=None,
                        help="diffusion time (default 0.01 for spectrum, 0.1 otherwise)")
    parser.add_argument("--activation", choices=["tanh", "erf"], default="tanh")
    parser.add_argument("--data-spectrum", type=_data_spectrum, default=None,
                        help="rho_Sigma as values:weights, e.g. 0.5,1.5:0.5,0.5 (default: isotropic N(0, I))")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


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


def _simulate_spec(text: str) -> dict[str, Any]:
    """``d=100,seeds=4[,noise=gaussian|exact]`` for --simulate."""
    form = "--simulate must look like d=100,seeds=4[,noise=gaussian|exact] (d >= 2, seeds >= 1)"
    spec: dict[str, Any] = {"d": None, "seeds": 1, "noise": "gaussian"}
    try:
        for part in text.split(","):
            key, value = part.split("=")
            key = key.strip()
            if key in ("d", "seeds"):
                spec[key] = int(value)
            elif key == "noise" and value in ("gaussian", "exact"):
                spec[key] = value
            else:
                raise ValueError(part)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{form}, got {text!r}") from None
    if spec["d"] is None or spec["d"] < 2 or spec["seeds"] < 1:
        raise argparse.ArgumentTypeError(f"{form}, got {text!r}")
    return spec


def _workers(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"--workers must be an integer >= 1, got {text!r}")
    return value


_FORMATS = (".png", ".pdf", ".svg", ".jpg", ".jpeg", ".eps", ".ps", ".tif", ".tiff", ".webp")


def _plot_path(text: str) -> Path:
    path = Path(text)
    if path.suffix.lower() not in _FORMATS:
        raise argparse.ArgumentTypeError(f"--plot must end in one of {', '.join(_FORMATS)}, got {text!r}")
    if not path.parent.resolve().is_dir():
        raise argparse.ArgumentTypeError(f"--plot: directory {str(path.parent)!r} does not exist")
    return path


def _parallel_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--workers", type=_workers, default=None, help="local processes (default: all cores)")
    group.add_argument("--scheduler", default=None, metavar="ADDRESS",
                       help="dask.distributed scheduler address, e.g. tcp://host:8786 "
                            "(needs the extra rfdiff[distributed])")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rfdiff", description="Random-matrix-theory analytics for diffusion models (random features). "
        "Without arguments: rfdiff report (the paper's figures into ./rfdiff-report)."
    )
    sub = parser.add_subparsers(dest="command")
    rep = sub.add_parser("report", help="the main job: the paper's random-features figures with theory and "
                         "finite-size simulation (PNG, PDF, index.html, report.json)")
    rep.add_argument("--quick", action="store_true",
                     help="smaller d, fewer seeds, small phase grid (< 2 min)")
    rep.add_argument("--out", default="rfdiff-report", help="output directory (default ./rfdiff-report)")
    rep.add_argument("--tiny", action="store_true", help=argparse.SUPPRESS)  # test-suite size
    _parallel_options(rep)
    spec = sub.add_parser("spectrum", help="atoms, support intervals, edges and a density table of U")
    _model_options(spec)
    spec.add_argument("--points", type=int, default=12, help="density table rows per component")
    spec.add_argument("--plot", type=_plot_path, default=None, metavar="FILE",
                      help="also draw lambda rho(lambda) into FILE (.png, .pdf, ...)")
    times = sub.add_parser("timescales",
                           help="tau_gen, tau_mem (spectral and dynamical), n* and every component")
    _model_options(times)
    curves = sub.add_parser("curves", help="limit learning curves L_train, L_test, L_gen, E_score")
    _model_options(curves)
    curves.add_argument("--tau", type=_tau_grid, default=_tau_grid("1e-1:1e6:200"),
                        help="log grid start:stop:points (default 1e-1:1e6:200)")
    curves.add_argument("--csv", action="store_true", help="print CSV (tau,train,test,gen,score[,sim_...])")
    curves.add_argument("--simulate", type=_simulate_spec, default=None, metavar="d=D,seeds=S",
                        help="add the exact gradient flow of finite-size draws (Gaussian-equivalent unless "
                             "noise=exact), averaged over seeds")
    curves.add_argument("--plot", type=_plot_path, default=None, metavar="FILE", help="also draw the curves")
    ph = sub.add_parser("phase", help="L_gen maps and regimes over (psi_p, psi_n) at given tau")
    ph.add_argument("--psi-p", type=_log_axis("--psi-p"), default=_log_axis("--psi-p")("4:128:12"),
                    help="start:stop:points (log) or a,b,c (default 4:128:12)")
    ph.add_argument("--psi-n", type=_log_axis("--psi-n"), default=_log_axis("--psi-n")("1:128:12"),
                    help="start:stop:points (log) or a,b,c (default 1:128:12)")
    ph.add_argument("--t", type=_positive("--t"), default=0.1, help="diffusion time (default 0.1)")
    ph.add_argument("--tau", type=_tau_list, default=[1e3, 1e4], help="comma list of times (default 1e3,1e4)")
    ph.add_argument("--activation", choices=["tanh", "erf"], default="tanh")
    _parallel_options(ph)
    ph.add_argument("--plot", type=_plot_path, default=None, metavar="FILE", help="draw one map per tau")
    ph.add_argument("--json", action="store_true", help="print one JSON object")
    _generate_parser(sub)
    return parser


def _model(args: argparse.Namespace, default_t: float) -> RFModel:
    kwargs = {} if args.data_spectrum is None else {"data": args.data_spectrum}
    t = default_t if args.t is None else args.t
    return RFModel(psi_p=args.psi_p, psi_n=args.psi_n, t=t, activation=args.activation, **kwargs)


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


def _bar(total: int, desc: str) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, file=sys.stderr, disable=not sys.stderr.isatty(), leave=False,
                dynamic_ncols=True)


def _timescales(args: argparse.Namespace) -> int:
    from .phases import n_star

    model = _model(args, 0.1)
    ts = model.timescales()  # spectral times with the dynamical ones attached
    out = {
        "parameters": {"psi_p": model.psi_p, "psi_n": model.psi_n, "t": model.t,
                       "activation": args.activation},
        "convention": "tau = psi_p / (Delta_t * lambda) (paper), lambda a support edge",
        "tau_gen": ts.tau_gen, "tau_mem": ts.tau_mem, "tau_mem_loss_weighted": ts.tau_mem_loss,
        "tau_gen_edge": ts.tau_gen_edge, "tau_mem_asymptotic": ts.tau_mem_asymptotic,
        "components": [dataclasses.asdict(c) for c in ts.components],
        "n_star": None,
        "dynamical": {"tau_gen": ts.tau_gen_dyn, "tau_mem": ts.tau_mem_dyn, "gen_inf": ts.dynamical.gen_inf},
    }
    if len(model.data.values) == 1:  # n* is computed for isotropic data only
        out["n_star"] = n_star(model.psi_p, model.t, activation=args.activation)
    if args.json:
        print(json.dumps(_json_safe(out)))
        return 0
    lines = [f"timescales: psi_p = {model.psi_p:g}, psi_n = {model.psi_n:g}, t = {model.t:g} "
             f"(paper convention psi_p/(Delta_t lambda))",
             f"tau_gen = {ts.tau_gen:.6g}   (centre of rho_2; lower edge: {ts.tau_gen_edge:.6g})",
             f"tau_mem = {ts.tau_mem:.6g}   (lower edge of rho_1; asymptotic {ts.tau_mem_asymptotic:.6g})",
             f"tau_mem (loss-weighted) = {ts.tau_mem_loss:.6g}"]
    dyn_out = out["dynamical"]
    lines.append(f"dynamical: tau_gen = {dyn_out['tau_gen']:.6g}, tau_mem = {dyn_out['tau_mem']:.6g}, "
                 f"L_gen(inf) = {dyn_out['gen_inf']:.6g}")
    if out["n_star"] is not None:
        lines.append(f"n* = {out['n_star']:.6g}   (psi_n of the steepest fall of L_gen(inf); "
                     f"this psi_n is {'above' if model.psi_n > out['n_star'] else 'below'} it)")
    for c in ts.components:
        lines.append(f"  {c.label:14s} [{c.lo:.6g}, {c.hi:.6g}]  mass {c.mass:.6g}  "
                     f"loss share {c.loss_share:.4f}  time {c.time:.6g}")
    print("\n".join(lines))
    return 0


def _json_safe(x: Any) -> Any:
    from .report import _finite

    return _finite(x)


def _curves(args: argparse.Namespace) -> int:
    model = _model(args, 0.1)
    if len(model.data.values) != 1:
        raise ValueError("--data-spectrum: learning curves need isotropic data (one eigenvalue) for now")
    lc = model.learning_curves(args.tau)
    names = ["tau", "train", "test", "gen", "score"]
    columns = [lc.tau, lc.train, lc.test, lc.gen, lc.score]
    flows = []
    sim = args.simulate
    if sim is not None:
        from . import simulate

        bar = _bar(sim["seeds"], f"gradient flow d={sim['d']}")
        try:
            for seed in range(sim["seeds"]):
                flows.append(simulate.gradient_flow(model, lc.tau, d=sim["d"], seed=seed, noise=sim["noise"]))
                bar.update(1)
        finally:
            bar.close()
        for key in ("train", "test", "gen", "score"):
            names.append(f"sim_{key}")
            columns.append(np.mean([getattr(f, key) for f in flows], axis=0))
    if args.plot is not None:
        from .plot import curves as plot_curves

        fig = _new_figure((7.5, 5))
        plot_curves(lc, ax=fig.add_subplot(), simulate=flows or None)
        _save_plot(fig, args.plot)
    if args.json:
        out = {k: getattr(lc, k).tolist() for k in ("tau", "train", "test", "gen", "score")}
        if sim is not None:
            out["simulation"] = {"d": sim["d"], "seeds": sim["seeds"], "noise": sim["noise"],
                                 **{k: np.mean([getattr(f, k) for f in flows], axis=0).tolist()
                                    for k in ("train", "test", "gen", "score")}}
        print(json.dumps(_json_safe(out)))
    else:
        rows = [",".join(names) if args.csv else " ".join(f"{n:>12s}" for n in names)]
        sep, fmt = (",", "{:.10g}") if args.csv else (" ", "{:12.6g}")
        for row in zip(*columns):
            rows.append(sep.join(fmt.format(v) for v in row))
        print("\n".join(rows))
    return 0


class _CountingExecutor(Executor):
    """Delegates to an executor and advances a progress bar as each task finishes (``map`` and
    ``shutdown`` are Executor's own: map goes through submit; the inner executor is closed by its owner)."""

    def __init__(self, inner: Any, bar: Any) -> None:
        self._inner, self._bar = inner, bar

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
        fut = self._inner.submit(fn, *args, **kwargs)
        fut.add_done_callback(lambda _: self._bar.update(1))
        return fut


def _executor(args: argparse.Namespace, stack: Any) -> Any:
    """The executor of --workers / --scheduler, closed by ``stack`` (an ExitStack)."""
    if args.scheduler is None:
        from .report import process_pool

        pool = process_pool(args.workers)
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
    import contextlib

    from .phases import REGIMES, phase_diagram

    pp, pn = args.psi_p, args.psi_n
    with contextlib.ExitStack() as stack:
        inner = _executor(args, stack)
        bar = _bar(pp.size, f"phase diagram {pp.size} x {pn.size} (rows)")  # one task per psi_p row
        stack.callback(bar.close)
        pd = phase_diagram(pp, pn, args.t, args.tau, activation=args.activation,
                           executor=_CountingExecutor(inner, bar))
    if args.plot is not None:
        from .plot import phase as plot_phase

        k = pd.tau.size
        fig = _new_figure((6.2 * k, 4.8))
        for j, ax in enumerate(np.atleast_1d(fig.subplots(1, k))):
            plot_phase(pd, ax=ax, tau_index=j)
        _save_plot(fig, args.plot)
    if args.json:
        from .report import _phase_json

        out = {"parameters": {"t": pd.t, "activation": args.activation}, **_phase_json(pd)}
        print(json.dumps(_json_safe(out)))
        return 0
    lines = [f"phase diagram: t = {pd.t:g}, {pp.size} psi_p x {pn.size} psi_n, tau = "
             f"{', '.join(f'{x:g}' for x in pd.tau)}; regimes: "
             + "; ".join(f"{k} {name}" for k, name in enumerate(REGIMES))]
    lines.append("n*(psi_p): " + ", ".join(f"{a:.4g} -> {b:.4g}" for a, b in zip(pp, pd.n_star)))
    for j, tau in enumerate(pd.tau):
        lines.append(f"tau = {tau:g}: L_gen[regime], rows psi_p, columns psi_n")
        lines.append(f"{'':>9s}" + "".join(f"{x:>12.4g}" for x in pn))
        for i, a in enumerate(pp):
            lines.append(f"{a:>9.4g}" + "".join(f"{pd.gen[j, i, m]:>9.3g}[{pd.regime[j, i, m]}]"
                                                 for m in range(pn.size)))
    print("\n".join(lines))
    return 0


def _report(args: argparse.Namespace) -> int:
    import contextlib
    import time

    from .report import ReportConfig, run_report

    preset = "tiny" if args.tiny else "quick" if args.quick else "full"
    start = time.perf_counter()
    with contextlib.ExitStack() as stack:
        executor = None if args.scheduler is None else _executor(args, stack)
        result = run_report(args.out, ReportConfig.preset(preset, workers=args.workers), preset=preset,
                            executor=executor)
    out = Path(args.out)
    gaps = ", ".join(f"{k} {v:.2g}" for k, v in result["gaps"].items() if v is not None)
    print(f"rfdiff report ({preset}): {len(result['files'])} files in {out}/ "
          f"(open {out / 'index.html'}), {time.perf_counter() - start:.0f} s\n"
          f"theory-simulation gaps: {gaps}")
    return 0


def _spectrum(args: argparse.Namespace) -> int:
    model = _model(args, 0.01)
    sp = model.spectrum()
    const = {k: v for k, v in dataclasses.asdict(model.constants).items()}
    if args.plot is not None:
        from .plot import spectrum as plot_spectrum

        fig = _new_figure((8, 4.5))
        plot_spectrum(model, ax=fig.add_subplot())
        _save_plot(fig, args.plot)
    if args.json:
        print(json.dumps({
            "parameters": {"psi_p": model.psi_p, "psi_n": model.psi_n, "t": model.t,
                           "activation": args.activation, "data_values": list(model.data.values),
                           "data_weights": list(model.data.weights)},
            "constants": const,
            "atoms": [[loc, w] for loc, w in sp.atoms],
            "support": [[lo, hi] for lo, hi in sp.support],
            "masses": list(sp.masses),
            "total_mass": sp.total_mass,
        }))
        return 0
    out = [
        f"rfdiff spectrum of U: psi_p = {model.psi_p:g}, psi_n = {model.psi_n:g}, t = {model.t:g}, "
        f"sigma = {args.activation}, data eigenvalues {list(model.data.values)} "
        f"weights {list(model.data.weights)}",
        "constants: " + ", ".join(f"{k} = {v:.6g}" for k, v in const.items() if k != "t"),
    ]
    for loc, w in sp.atoms:
        out.append(f"atom      at {loc:.10g}   weight {w:.10f}   "
                   f"(rank formula {sp.atom_weight_formula:.10f})")
    for comp in sp.components:
        out.append(f"component [{comp.lo:.10g}, {comp.hi:.10g}]   mass {comp.mass:.10f}")
    out.append(f"total mass {sp.total_mass:.12f}")
    out.append("density table (lambda, rho):")
    for comp in sp.components:
        lam = np.linspace(comp.lo, comp.hi, args.points + 2)[1:-1]
        for x, r in zip(lam, model.density(lam)):
            out.append(f"  {x:14.8g}  {r:14.8g}")
    print("\n".join(out))
    return 0


# ----------------------------------------------------------------------------- rfdiff generate


def _generate_parser(sub: Any) -> None:
    """``rfdiff generate``: fit an RF diffusion model, sample at each tau, f_mem and Fréchet distance."""

    def times(text: str) -> np.ndarray:
        form = "--times must be t_min:t_max:points (log-spaced, 0 < t_min < t_max, points >= 2)"
        try:
            lo, hi, num = text.split(":")
            lo_f, hi_f, k = float(lo), float(hi), int(num)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{form}, got {text!r}") from None
        if not (0 < lo_f < hi_f < math.inf) or k < 2:
            raise argparse.ArgumentTypeError(f"{form}, got {text!r}")
        return np.geomspace(lo_f, hi_f, k)

    def taus(text: str) -> np.ndarray:
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

    def noise(text: str) -> str | int:
        if text in ("exact", "gaussian"):
            return text
        try:
            m = int(text)
        except ValueError:
            m = 0
        if m < 1:
            raise argparse.ArgumentTypeError(
                f"--noise must be exact, gaussian or an integer >= 1, got {text!r}")
        return m

    def count(name: str, lo: int):
        def parse(text: str) -> int:
            try:
                value = int(text)
            except ValueError:
                value = lo - 1
            if value < lo:
                raise argparse.ArgumentTypeError(f"{name} must be an integer >= {lo}, got {text!r}")
            return value

        return parse

    def level(text: str) -> str | float:
        if text == "half":
            return text
        try:
            value = float(text)
        except ValueError:
            value = -1.0
        if not 0 < value < 1:
            raise argparse.ArgumentTypeError(f"--level must be 'half' or a number in (0, 1), got {text!r}")
        return value

    gen = sub.add_parser("generate", help="RF diffusion model: samples, memorization fraction and Fréchet "
                                          "distance against the training time tau")
    gen.add_argument("--psi-p", type=_positive("--psi-p"), default=32.0, help="p/d (default 32)")
    gen.add_argument("--psi-n", type=_positive("--psi-n"), default=2.0, help="n/d (default 2)")
    gen.add_argument("--d", type=count("--d", 1), default=12, help="dimension (default 12)")
    gen.add_argument("--times", type=times, default=np.geomspace(1e-3, 5.0, 50),
                     help="diffusion-time grid t_min:t_max:points (default 1e-3:5:50)")
    gen.add_argument("--noise", type=noise, default="exact",
                     help="noise average per time: exact (default), gaussian, or m draws per point")
    gen.add_argument("--activation", choices=["tanh", "erf"], default="tanh")
    gen.add_argument("--data-spectrum", type=_data_spectrum, default=None,
                     help="rho_Sigma as values:weights, e.g. 0.5,1.5:0.5,0.5 (default: N(0, I))")
    gen.add_argument("--seed", type=count("--seed", 0), default=0, help="seed of W and X (default 0)")
    gen.add_argument("--tau", type=taus, default=taus("1e0:1e8:9,inf"),
                     help="training times (default 1e0:1e8:9,inf)")
    gen.add_argument("--n-samples", type=count("--n-samples", 2), default=1000, help="samples per tau")
    gen.add_argument("--sample-seed", type=count("--sample-seed", 0), default=1, help="seed of the sampler")
    gen.add_argument("--method", choices=["sde", "ode"], default="sde")
    gen.add_argument("--integrator", choices=["heun", "euler"], default="heun")
    gen.add_argument("--level", type=level, default="half",
                     help="tau_mem^gen level: 'half' (of f_mem at the last tau, default) or a number")
    out = gen.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print one JSON object")
    out.add_argument("--csv", action="store_true", help="print CSV (tau,f_mem,ci_lo,ci_hi,frechet,copied)")
    gen.add_argument("--plot", type=_plot_path, default=None, metavar="FILE",
                     help="draw f_mem and the Fréchet distance against tau into FILE")


def _generate(args: argparse.Namespace) -> int:
    from .generate import RFDiffusion

    kwargs = {} if args.data_spectrum is None else {"data": args.data_spectrum}
    bar = _bar(args.times.size, "fit: one score per diffusion time")
    try:
        gm = RFDiffusion(psi_p=args.psi_p, psi_n=args.psi_n, d=args.d, times=args.times,
                         activation=args.activation, noise=args.noise, seed=args.seed,
                         progress=lambda done, total: bar.update(1), **kwargs)
    finally:
        bar.close()
    bar = _bar(args.tau.size, f"sampling {args.n_samples} per tau")
    try:
        mc = gm.memorization_curve(args.tau, n_samples=args.n_samples, seed=args.sample_seed,
                                   method=args.method, integrator=args.integrator, level=args.level,
                                   progress=lambda done, total: bar.update(1))
    finally:
        bar.close()
    if args.plot is not None:
        from .plot import memorization as plot_memorization

        fig = _new_figure((12, 4.5))
        left, right = fig.subplots(1, 2)
        plot_memorization(mc, ax=left)
        plot_memorization(mc, ax=right, quantity="frechet")
        _save_plot(fig, args.plot)
    info = gm.fit_info
    fit = {"seconds": gm.fit_seconds, "memory_bytes": gm.memory_bytes,
           "converged": all(i["converged"] for i in info),
           "max_truncation_bound": max(i["truncation_bound"] for i in info),
           "zero_modes": [i["zero_modes"] for i in info], "rcond": gm.rcond}

    def num(v: float) -> float | str | None:
        return None if math.isnan(v) else "inf" if math.isinf(v) else float(v)

    if args.json:
        print(json.dumps({"curve": mc.to_dict(), "fit": fit}))
        return 0
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
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``rfdiff`` console script (no arguments: ``rfdiff report``)."""
    parser = _parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv:
        argv = ["report"]
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    if getattr(args, "points", 1) < 1:
        parser.error(f"--points must be >= 1, got {args.points}")
    run = {"report": _report, "spectrum": _spectrum, "timescales": _timescales, "curves": _curves,
           "phase": _phase, "generate": _generate}[args.command]
    try:
        return run(args)
    except ValueError as exc:
        print(f"rfdiff: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("rfdiff: interrupted; no partial output was left behind", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into e.g. `head`, which stopped reading: not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
