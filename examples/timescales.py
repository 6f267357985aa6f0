"""tau_mem and tau_gen against psi_n, with power-law fits (paper: tau_mem ~ n, tau_gen independent of n).

For psi_p = 1024 (psi_p >> psi_n, where the paper's asymptotics apply) and psi_p = 64 (the
Fig. 5 setting), t = 0.1, psi_n from 4 to 64: the dynamical times read off the d -> infinity
learning curves (rfdiff.dynamical_timescales: tau_mem where L_gen reaches half of L_gen(inf),
tau_gen where E_score comes within 5 % of its minimum) and the spectral ones
(RFModel.timescales: the paper's psi_p/(Delta_t lambda) at the lower edge of rho_1 for
tau_mem, at the centre of rho_2 for tau_gen; and tau_mem_loss, the cluster edge that carries
most of the train-loss drop). Straight lines: least-squares fits of log tau against log psi_n
at psi_p = 1024; the exponents are printed and shown in the legend. Theory only (the
finite-size check of the curves themselves is examples/fig5_curves.py). ~15 s.

    python examples/timescales.py [--t 0.1] [--psi-p 1024 64] [--out timescales]
"""

import argparse

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import rfdiff

PSI_N = np.array([4.0, 8.0, 16.0, 32.0, 64.0])


def exponent(psi_n: np.ndarray, tau: np.ndarray) -> tuple[float, float]:
    """Slope and intercept of log tau = slope * log psi_n + intercept (least squares)."""
    slope, intercept = np.polyfit(np.log(psi_n), np.log(tau), 1)
    return float(slope), float(intercept)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--t", type=float, default=0.1)
    parser.add_argument("--psi-p", type=float, nargs="+", default=[1024.0, 64.0])
    parser.add_argument("--out", default="timescales")
    args = parser.parse_args()

    fig, (ax_mem, ax_gen) = plt.subplots(1, 2, figsize=(13, 4.8))
    styles = {"-": "o", "--": "s", ":": "^"}
    for psi_p, ls in zip(args.psi_p, styles):
        psi_n = PSI_N[PSI_N < psi_p]
        rows = []
        for pn in psi_n:
            ts = rfdiff.RFModel(psi_p, pn, args.t).timescales()
            rows.append((ts.tau_mem_dyn, ts.tau_mem, ts.tau_mem_loss, ts.tau_gen_dyn, ts.tau_gen))
        mem_dyn, mem_spec, mem_loss, gen_dyn, gen_spec = np.array(rows).T
        fit = psi_p == args.psi_p[0]
        for ax, values, key, label, color in (
            (ax_mem, mem_dyn, "tau_mem_dyn", r"$\tau_{mem}$ dynamical ($L_{gen} = L_{gen}(\infty)/2$)", "C0"),
            (ax_mem, mem_spec, "tau_mem", r"$\tau_{mem}$ spectral (lower edge of $\rho_1$)", "C1"),
            (ax_mem, mem_loss, "tau_mem_loss", r"$\tau_{mem}$ loss-weighted (cluster edge)", "C2"),
            (ax_gen, gen_dyn, "tau_gen_dyn", r"$\tau_{gen}$ dynamical ($E_{score}$ within 5% of min)", "C0"),
            (ax_gen, gen_spec, "tau_gen", r"$\tau_{gen}$ spectral (centre of $\rho_2$)", "C1"),
        ):
            slope, intercept = exponent(psi_n, values)
            text = rf"{label}, $\psi_p = {psi_p:g}$"
            if fit:
                text += f": exponent {slope:.2f}"
                grid = np.geomspace(psi_n[0], psi_n[-1], 50)
                ax.plot(grid, np.exp(intercept) * grid**slope, color=color, lw=0.8, alpha=0.7)
            ax.plot(psi_n, values, styles[ls], color=color, ls="none" if fit else ls, mfc="none", label=text)
            print(f"psi_p = {psi_p:g}: {key:<13s} {np.array2string(values, precision=4)}"
                  f"  exponent {slope:.3f}")
        if fit:  # guide to the eye: the paper's tau_mem ~ n, through half the first dynamical point
            ax_mem.plot(psi_n, 0.5 * mem_dyn[0] * psi_n / psi_n[0], "k:", lw=1, label=r"$\propto \psi_n$")
    for ax, name in ((ax_mem, r"$\tau_{mem}$"), (ax_gen, r"$\tau_{gen}$")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(r"$\psi_n = n/d$")
        ax.set_ylabel(name)
        ax.legend(fontsize=7)
    ax_mem.set_title(rf"memorization time, $t = {args.t:g}$", fontsize=10)
    ax_gen.set_ylim(5, 50)  # a decade: on this scale tau_gen is nearly flat in psi_n
    ax_gen.set_title(rf"generalization time, $t = {args.t:g}$", fontsize=10)
    fig.tight_layout()
    for ext in ("png", "pdf"):
        fig.savefig(f"{args.out}.{ext}", dpi=130)


if __name__ == "__main__":
    main()
