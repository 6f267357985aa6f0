"""Anisotropic data: spectrum of U for rho_Sigma = (1/2) delta(lambda - 0.5) + (1/2) delta(lambda - 1.5).

The paper's second data model (docs/theory.md §1), at psi_p = 64, psi_n = 8 and t = 0.01 (left)
and t = 0.1 (right). Theory: the exact solution of Theorem 3.1 with the two-atom rho_Sigma
(rfdiff.RFModel(..., data=DataSpectrum(...)).spectrum()). Simulation: eigenvalues of the
Gaussian-equivalent U at dimension d (default 40, p = 2560) with x ~ N(0, Sigma), Sigma diagonal
with the two eigenvalues on half the coordinates each (rfdiff.simulate.eigenvalues).
The population bulk rho_2 splits in two (one per data eigenvalue), and so does the cluster
below rho_1. Runs in ~10 s at the defaults; ``--noise exact`` uses the real tanh features
with the noise average done exactly (~15 s more per panel at d = 40).

    python examples/aniso_spectrum.py [--d 40] [--seeds 1] [--noise gaussian] [--out aniso_spectrum]
"""

import argparse

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

import rfdiff
from rfdiff import simulate

DATA = rfdiff.DataSpectrum([0.5, 1.5], [0.5, 0.5])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--d", type=int, default=40)
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--noise", choices=["gaussian", "exact"], default="gaussian")
    parser.add_argument("--out", default="aniso_spectrum")
    args = parser.parse_args()
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.5))
    for ax, t in zip(axes, (0.01, 0.1)):
        model = rfdiff.RFModel(psi_p=64, psi_n=8, t=t, data=DATA)
        ev = simulate.eigenvalues(model, d=args.d, seeds=range(args.seeds), noise=args.noise)
        rfdiff.plot.spectrum(model, ax=ax, simulate=ev)
        ax.set_title(rf"$\rho_\Sigma = \frac{{1}}{{2}}\delta_{{0.5}} + \frac{{1}}{{2}}\delta_{{1.5}}$, "
                     rf"$\psi_p = {model.psi_p:g}$, $\psi_n = {model.psi_n:g}$, $t = {t:g}$", fontsize=10)
        sp = model.spectrum()
        print(f"t = {t:g}: atoms {[(round(a, 6), round(w, 6)) for a, w in sp.atoms]}")
        print("  support", [(round(a, 5), round(b, 5)) for a, b in sp.support])
    fig.tight_layout()
    for ext in ("png", "pdf"):
        fig.savefig(f"{args.out}.{ext}", dpi=130)


if __name__ == "__main__":
    main()
