"""Paper Fig. 5 (A, B): learning curves at psi_p = 64, psi_n in {4, 8, 16, 32}, t = 0.1.

Lines: the d -> infinity learning curves (rfdiff.learning_curves) of L_train, L_test,
L_gen and E_score against tau. Markers: exact gradient-flow curves of one draw of the
Gaussian-equivalent matrices at dimension d (rfdiff.simulate.gradient_flow; default
d = 30, i.e. p = 1920). Right column: L_gen against tau / tau_mem, with tau_mem the
dynamical memorization time of rfdiff.phases (L_gen reaches half of L_gen(inf)): each curve
is rescaled by its own half-rise, so they meet at 1/2 by construction; this shows the shape of
the rise, not how tau_mem scales with n (for that: the paper's tau/psi_n rescaling and the
tau_mem fits of `rfdiff report`, and examples/timescales.py). Runs in well under a minute.

    python examples/fig5_curves.py [--d 30] [--seeds 1] [--out fig5_curves]
"""

import argparse

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import rfdiff
from rfdiff import simulate

PSI_P = 64.0
PSI_N = (4.0, 8.0, 16.0, 32.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--d", type=int, default=30)
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--t", type=float, default=0.1)
    parser.add_argument("--out", default="fig5_curves")
    args = parser.parse_args()

    tau = np.logspace(-1, 6, 141)
    tau_sim = np.logspace(-1, 6, 22)
    colors = plt.cm.viridis(np.linspace(0.0, 0.85, len(PSI_N)))
    fig, axes = plt.subplots(2, 3, figsize=(15, 8))
    (ax_tr, ax_te, ax_col), (ax_gen, ax_sc, ax_sccol) = axes
    for psi_n, col in zip(PSI_N, colors):
        model = rfdiff.RFModel(PSI_P, psi_n, args.t)
        lc = model.learning_curves(tau)
        dyn = model.dynamical_timescales()
        sims = [simulate.gradient_flow(model, tau_sim, d=args.d, seed=s, noise="gaussian")
                for s in range(args.seeds)]
        sim = {k: np.mean([getattr(f, k) for f in sims], axis=0) for k in ("train", "test", "gen", "score")}
        lab = rf"$\psi_n = {psi_n:g}$"
        for ax, key in ((ax_tr, "train"), (ax_te, "test"), (ax_gen, "gen"), (ax_sc, "score")):
            ax.plot(tau, getattr(lc, key), color=col, label=lab)
            ax.plot(tau_sim, sim[key], "o", color=col, ms=4, mfc="none")
        x = tau / dyn.tau_mem_dyn
        ax_col.plot(x, lc.gen / dyn.gen_inf, color=col,
                    label=rf"{lab}, $\tau_{{mem}} = {dyn.tau_mem_dyn:.3g}$")
        ax_col.plot(tau_sim / dyn.tau_mem_dyn, sim["gen"] / dyn.gen_inf, "o", color=col, ms=4, mfc="none")
        ax_sccol.plot(tau / dyn.tau_gen_dyn, lc.score / dyn.score_min, color=col,
                      label=rf"{lab}, $\tau_{{gen}} = {dyn.tau_gen_dyn:.3g}$")
    for ax, name in ((ax_tr, r"$L_{train}$"), (ax_te, r"$L_{test}$"), (ax_gen, r"$L_{gen}$"),
                     (ax_sc, r"$E_{score}$")):
        ax.set_xscale("log")
        ax.set_xlabel(r"$\tau$")
        ax.set_ylabel(name)
    ax_gen.set_yscale("symlog", linthresh=1e-3)
    ax_gen.set_ylim(bottom=-1e-3)
    ax_sc.set_yscale("log")
    ax_col.set_xscale("log")
    ax_col.set_xlabel(r"$\tau / \tau_{mem}$ (dynamical: $L_{gen} = L_{gen}(\infty)/2$)")
    ax_col.set_ylabel(r"$L_{gen} / L_{gen}(\infty)$")
    ax_sccol.set_xscale("log")
    ax_sccol.set_yscale("log")
    ax_sccol.set_xlabel(r"$\tau / \tau_{gen}$ (dynamical: $E_{score}$ within 5% of its minimum)")
    ax_sccol.set_ylabel(r"$E_{score} / \min_\tau E_{score}$")
    ax_tr.legend(title=rf"$\psi_p = {PSI_P:g}$, $t = {args.t:g}$; o: $d = {args.d}$", fontsize=8)
    ax_col.legend(fontsize=8)
    ax_sccol.legend(fontsize=8)
    fig.tight_layout()
    for ext in ("png", "pdf"):
        fig.savefig(f"{args.out}.{ext}", dpi=130)


if __name__ == "__main__":
    main()
