"""Command-line interface: ``rfdiff`` (also ``python -m rfdiff``).

``rfdiff`` with no arguments prints the spectrum summary of the paper's Fig. 4
setting (psi_p = 64, psi_n = 8, t = 0.01, tanh, N(0, I) data).
``rfdiff spectrum [options]`` does the same for any setting; ``--json`` prints one
JSON object with keys ``constants``, ``atoms`` and ``support``. ``rfdiff timescales`` prints
tau_gen, tau_mem (spectral, paper convention; dynamical ones under ``dynamical``) and every
component; ``rfdiff curves --tau 1e-1:1e6:200 [--json|--csv]`` the limit learning curves.
Bad input gives a one-line error naming the option and exit code 2.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Sequence

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


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rfdiff", description="Random-matrix-theory analytics for diffusion models (random features)."
    )
    sub = parser.add_subparsers(dest="command")
    spec = sub.add_parser("spectrum", help="atoms, support intervals, edges and a density table of U")
    _model_options(spec)
    spec.add_argument("--points", type=int, default=12, help="density table rows per component")
    times = sub.add_parser("timescales", help="tau_gen, tau_mem (spectral and dynamical) and every component")
    _model_options(times)
    curves = sub.add_parser("curves", help="limit learning curves L_train, L_test, L_gen, E_score")
    _model_options(curves)
    curves.add_argument("--tau", type=_tau_grid, default=_tau_grid("1e-1:1e6:200"),
                        help="log grid start:stop:points (default 1e-1:1e6:200)")
    curves.add_argument("--csv", action="store_true", help="print CSV (tau,train,test,gen,score)")
    return parser


def _model(args: argparse.Namespace, default_t: float) -> RFModel:
    kwargs = {} if args.data_spectrum is None else {"data": args.data_spectrum}
    t = default_t if args.t is None else args.t
    return RFModel(psi_p=args.psi_p, psi_n=args.psi_n, t=t, activation=args.activation, **kwargs)


def _timescales(args: argparse.Namespace) -> int:
    from .phases import dynamical_timescales

    model = _model(args, 0.1)
    ts = model.timescales()
    out = {
        "parameters": {"psi_p": model.psi_p, "psi_n": model.psi_n, "t": model.t,
                       "activation": args.activation},
        "convention": "tau = psi_p / (Delta_t * lambda) (paper), lambda a support edge",
        "tau_gen": ts.tau_gen, "tau_mem": ts.tau_mem, "tau_mem_loss_weighted": ts.tau_mem_loss,
        "tau_gen_edge": ts.tau_gen_edge, "tau_mem_asymptotic": ts.tau_mem_asymptotic,
        "components": [dataclasses.asdict(c) for c in ts.components],
    }
    if len(model.data.values) == 1:
        dyn = dynamical_timescales(model)
        out["dynamical"] = {"tau_gen": dyn.tau_gen_dyn, "tau_mem": dyn.tau_mem_dyn,
                            "gen_inf": dyn.gen_inf}
    if args.json:
        print(json.dumps(out))
        return 0
    lines = [f"timescales: psi_p = {model.psi_p:g}, psi_n = {model.psi_n:g}, t = {model.t:g} "
             f"(paper convention psi_p/(Delta_t lambda))",
             f"tau_gen = {ts.tau_gen:.6g}   (centre of rho_2; lower edge: {ts.tau_gen_edge:.6g})",
             f"tau_mem = {ts.tau_mem:.6g}   (lower edge of rho_1; asymptotic {ts.tau_mem_asymptotic:.6g})",
             f"tau_mem (loss-weighted) = {ts.tau_mem_loss:.6g}"]
    if "dynamical" in out:
        dyn_out = out["dynamical"]
        lines.append(f"dynamical: tau_gen = {dyn_out['tau_gen']:.6g}, tau_mem = {dyn_out['tau_mem']:.6g}, "
                     f"L_gen(inf) = {dyn_out['gen_inf']:.6g}")
    for c in ts.components:
        lines.append(f"  {c.label:14s} [{c.lo:.6g}, {c.hi:.6g}]  mass {c.mass:.6g}  "
                     f"loss share {c.loss_share:.4f}  time {c.time:.6g}")
    print("\n".join(lines))
    return 0


def _curves(args: argparse.Namespace) -> int:
    model = _model(args, 0.1)
    if len(model.data.values) != 1:
        raise ValueError("--data-spectrum: learning curves need isotropic data (one eigenvalue) for now")
    lc = model.learning_curves(args.tau)
    if args.json:
        print(json.dumps({k: getattr(lc, k).tolist() for k in ("tau", "train", "test", "gen", "score")}))
    else:
        names = ("tau", "train", "test", "gen", "score")
        rows = [",".join(names) if args.csv else " ".join(f"{n:>12s}" for n in names)]
        sep, fmt = (",", "{:.10g}") if args.csv else (" ", "{:12.6g}")
        for row in zip(lc.tau, lc.train, lc.test, lc.gen, lc.score):
            rows.append(sep.join(fmt.format(v) for v in row))
        print("\n".join(rows))
    return 0


def _spectrum(args: argparse.Namespace) -> int:
    model = _model(args, 0.01)
    sp = model.spectrum()
    const = {k: v for k, v in dataclasses.asdict(model.constants).items()}
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


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``rfdiff`` console script."""
    parser = _parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv:
        argv = ["spectrum"]
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    if getattr(args, "points", 1) < 1:
        parser.error(f"--points must be >= 1, got {args.points}")
    run = {"spectrum": _spectrum, "timescales": _timescales, "curves": _curves}[args.command]
    try:
        return run(args)
    except ValueError as exc:
        print(f"rfdiff: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
