"""Paper Fig. 4: spectrum of U (psi_p = 64, psi_n = 8, t = 0.01) — theory against finite size.

Theory: the exact solution of Theorem 3.1 (atom, cluster, rho_1, rho_2). Simulation:
eigenvalues of the Gaussian-equivalent U and of the real tanh features with the noise
average done exactly, at dimension d (default 40: p = 2560, ~30 s on 2 cores).

    python examples/fig4_spectrum.py [--d 40] [--seeds 1] [--out fig4_spectrum]
"""

import argparse

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

import rfdiff
from rfdiff import simulate
from rfdiff.plot import spectrum


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--d", type=int, default=40)
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--t", type=float, default=0.01)
    parser.add_argument("--out", default="fig4_spectrum")
    args = parser.parse_args()
    model = rfdiff.RFModel(psi_p=64, psi_n=8, t=args.t)
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.5), sharey=False)
    for ax, noise in zip(axes, ["gaussian", "exact"]):
        ev = simulate.eigenvalues(model, d=args.d, seeds=range(args.seeds), noise=noise)
        spectrum(model, ax=ax, simulate=ev)
    fig.tight_layout()
    for ext in ("png", "pdf"):
        fig.savefig(f"{args.out}.{ext}", dpi=130)
    sp = model.spectrum()
    print("atoms", sp.atoms)
    print("support", sp.support)


if __name__ == "__main__":
    main()
