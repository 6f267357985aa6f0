"""Command-line interface: ``rfdiff`` (also ``python -m rfdiff``).

``rfdiff`` with no arguments prints the spectrum summary of the paper's Fig. 4
setting (psi_p = 64, psi_n = 8, t = 0.01, tanh, N(0, I) data).
``rfdiff spectrum [options]`` does the same for any setting; ``--json`` prints one
JSON object with keys ``constants``, ``atoms`` and ``support``.
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


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rfdiff", description="Random-matrix-theory analytics for diffusion models (random features)."
    )
    sub = parser.add_subparsers(dest="command")
    spec = sub.add_parser("spectrum", help="atoms, support intervals, edges and a density table of U")
    spec.add_argument("--psi-p", type=_positive("--psi-p"), default=64.0, help="p/d (default 64)")
    spec.add_argument("--psi-n", type=_positive("--psi-n"), default=8.0, help="n/d (default 8)")
    spec.add_argument("--t", type=_positive("--t"), default=0.01, help="diffusion time (default 0.01)")
    spec.add_argument("--activation", choices=["tanh", "erf"], default="tanh")
    spec.add_argument("--data-spectrum", type=_data_spectrum, default=None,
                      help="rho_Sigma as values:weights, e.g. 0.5,1.5:0.5,0.5 (default: isotropic N(0, I))")
    spec.add_argument("--json", action="store_true", help="print one JSON object")
    spec.add_argument("--points", type=int, default=12, help="density table rows per component")
    return parser


def _spectrum(args: argparse.Namespace) -> int:
    kwargs = {} if args.data_spectrum is None else {"data": args.data_spectrum}
    model = RFModel(psi_p=args.psi_p, psi_n=args.psi_n, t=args.t, activation=args.activation, **kwargs)
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
    if args.points < 1:
        parser.error(f"--points must be >= 1, got {args.points}")
    try:
        return _spectrum(args)
    except ValueError as exc:
        print(f"rfdiff: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
