"""Early stopping against weight decay: which regularizes the random-features score model better?

Theory only (d -> infinity), t = 0.1 by default. For each (psi_p, psi_n):

* early stopping: the smallest L_test(tau) over tau of the paper's flow (lam = 0; rfdiff.learning_curves);
* weight decay: the smallest L_test of the ridge estimator over lam at tau = inf (rfdiff.ridge.ridge_limit,
  the closed form of docs/ridge.md);
* both: the smallest L_test over (tau, lam) (rfdiff.ridge.ridge_curves).

Losses are reported as the excess score error E_score - 0 = (L_test - (1 - Delta_t/Gamma_t^2))/Delta_t (the
perfect score has E_score = 0). Also n*(psi_p, lam) (rfdiff.ridge.ridge_n_star). Writes <out>.json and
<out>.png/.pdf. The default grid takes about a minute on 2 cores; ``--full`` is the grid of docs/ridge.md.

    python examples/ridge_vs_early_stopping.py [--full] [--t 0.1] [--out ridge_vs_early_stopping]
"""

import argparse
import json
import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import rfdiff
from rfdiff.ridge import ridge_curves, ridge_limit, ridge_n_star


def argmin_refined(x: np.ndarray, y: np.ndarray, f, n: int = 64) -> tuple[float, float]:
    """Minimum of f on a log grid x (values y), refined on a finer log grid between the neighbours."""
    k = int(np.argmin(y))
    lo, hi = x[max(k - 1, 0)], x[min(k + 1, x.size - 1)]
    xf = np.geomspace(lo, hi, n)
    yf = f(xf)
    j = int(np.argmin(yf))
    return float(xf[j]), float(yf[j])


def cell(psi_p: float, psi_n: float, t: float) -> dict:
    model = rfdiff.RFModel(psi_p, psi_n, t)
    cst = model.constants
    l_opt = 1.0 - cst.delta / cst.gamma2
    # early stopping (lam = 0)
    tau = np.geomspace(1e-2, 1e8, 241)
    lc = model.learning_curves(np.append(tau, np.inf))
    test_tau, test_inf = lc.test[:-1], lc.test[-1]
    tau_es, l_es = argmin_refined(tau, test_tau, lambda x: model.learning_curves(x).test)
    # weight decay (tau = inf)
    lam = np.geomspace(1e-6, 1e4, 201)
    wd = ridge_limit(psi_p, psi_n, t, lam).test
    lam_wd, l_wd = argmin_refined(lam, wd, lambda x: ridge_limit(psi_p, psi_n, t, x).test)
    # both: a (tau, lam) grid, then a refined grid around the best node
    tg = np.append(np.geomspace(1.0, 1e6, 49), np.inf)
    lg = np.append(0.0, np.geomspace(1e-4, 1e2, 49))
    T, L = np.meshgrid(tg, lg, indexing="ij")
    both = ridge_curves(model, T, L).test
    i, j = np.unravel_index(np.argmin(both), both.shape)
    t_lo, t_hi = tg[max(i - 1, 0)], tg[min(i + 1, tg.size - 2)]
    l_lo, l_hi = (lg[max(j - 1, 1)], lg[min(j + 1, lg.size - 1)])
    tf = np.geomspace(t_lo, t_hi, 17)
    lf = np.append(0.0, np.geomspace(l_lo, l_hi, 17))
    T2, L2 = np.meshgrid(tf, lf, indexing="ij")
    both2 = ridge_curves(model, T2, L2).test
    i2, j2 = np.unravel_index(np.argmin(both2), both2.shape)
    # the joint optimum: the best of the grids and of the two one-parameter optima (points of the same space)
    cands = [(float(both2[i2, j2]), float(T2[i2, j2]), float(L2[i2, j2])),
             (float(both[i, j]), float(T[i, j]), float(L[i, j])), (l_es, tau_es, 0.0),
             (l_wd, math.inf, lam_wd)]
    l_both, tau_both, lam_both = min(cands)
    return {
        "psi_p": psi_p, "psi_n": psi_n, "t": t, "l_opt": l_opt, "delta": cst.delta,
        "test_inf_ridgeless": float(test_inf),
        "early_stopping": {"test": l_es, "tau": tau_es},
        "weight_decay": {"test": l_wd, "lam": lam_wd},
        "both": {"test": l_both, "tau": tau_both if math.isfinite(tau_both) else None, "lam": lam_both},
        "excess_score": {"early_stopping": (l_es - l_opt) / cst.delta,
                         "weight_decay": (l_wd - l_opt) / cst.delta, "both": (l_both - l_opt) / cst.delta},
        "curve_tau": tau.tolist(), "curve_test_tau": test_tau.tolist(), "curve_lam": lam.tolist(),
        "curve_test_lam": wd.tolist(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="the grid of docs/ridge.md (~10 min)")
    parser.add_argument("--t", type=float, default=0.1)
    parser.add_argument("--out", default="ridge_vs_early_stopping")
    args = parser.parse_args()
    if args.full:
        psi_ps = [8.0, 16.0, 32.0, 64.0, 128.0]
        ratios = [1 / 16, 1 / 8, 1 / 4, 1 / 2, 1.0, 2.0, 4.0]
        ns_pp = [16.0, 32.0, 64.0, 128.0, 256.0]
        ns_lam = [0.0, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0]
    else:
        psi_ps = [16.0, 64.0]
        ratios = [1 / 8, 1 / 2, 2.0]
        ns_pp = [32.0, 64.0]
        ns_lam = [0.0, 1e-2, 0.1]
    cells = [cell(pp, pp * r, args.t) for pp in psi_ps for r in ratios]
    nstar = []
    for pp in ns_pp:
        for lam in ns_lam:
            try:
                ns = ridge_n_star(pp, lam, args.t, span=16.0)
                nstar.append({"psi_p": pp, "lam": lam, "n_star": ns.n_star, "slope": ns.slope})
            except rfdiff.UndefinedQuantityError as err:
                nstar.append({"psi_p": pp, "lam": lam, "n_star": None, "slope": None, "error": str(err)})
    ex = next(c for c in cells
              if c["psi_p"] == psi_ps[-1] and abs(c["psi_n"] / c["psi_p"] - ratios[0]) < 1e-9)
    slim = [c if c is ex else {k: v for k, v in c.items() if not k.startswith("curve_")} for c in cells]
    with open(f"{args.out}.json", "w") as fh:
        json.dump({"t": args.t, "cells": slim, "n_star": nstar}, fh, indent=1)

    fig, axes = plt.subplots(1, 3, figsize=(17, 4.8))
    ax = axes[0]
    ax.plot(ex["curve_tau"], ex["curve_test_tau"], "-", color="C0", label=r"$L_{test}(\tau)$, $\lambda = 0$")
    ax.plot(ex["curve_lam"], ex["curve_test_lam"], "-", color="C3",
            label=r"$L_{test}(\infty)$ vs $\lambda$ (ridge)")
    ax.axhline(ex["both"]["test"], color="k", ls=":", label=r"best over $(\tau, \lambda)$")
    ax.axhline(ex["l_opt"], color="0.5", ls="--", label=r"$1 - \Delta_t/\Gamma_t^2$ (exact score)")
    ax.set_xscale("log")
    ax.set_ylim(ex["l_opt"] - 0.01, 1.1)
    ax.set_xlabel(r"$\tau$ (blue) or $\lambda$ (red)")
    ax.set_ylabel(r"$L_{test}$")
    ax.set_title(rf"$\psi_p = {ex['psi_p']:g}$, $\psi_n = {ex['psi_n']:g}$, $t = {args.t:g}$")
    ax.legend(fontsize=8)
    ax = axes[1]
    for k, pp in enumerate(psi_ps):
        cs = [c for c in cells if c["psi_p"] == pp]
        r = [c["psi_n"] / pp for c in cs]
        ax.plot(r, [c["excess_score"]["early_stopping"] for c in cs], "o-", color=f"C{k}",
                label=rf"$\psi_p = {pp:g}$ early stopping")
        ax.plot(r, [c["excess_score"]["weight_decay"] for c in cs], "s--", color=f"C{k}", mfc="none",
                label=rf"$\psi_p = {pp:g}$ weight decay")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(r"$\psi_n/\psi_p = n/p$")
    ax.set_ylabel(r"best excess $E_{score}$")
    ax.set_title(rf"best $E_{{score}}$: early stopping (lines) vs weight decay (dashed), $t = {args.t:g}$")
    ax.legend(fontsize=7, ncol=2)
    ax = axes[2]
    for k, pp in enumerate(ns_pp):
        rows = [r for r in nstar if r["psi_p"] == pp and r["n_star"] is not None]
        lam = [max(r["lam"], 1e-4) for r in rows]
        ax.plot(lam, [r["n_star"] / pp for r in rows], "o-", color=f"C{k}", label=rf"$\psi_p = {pp:g}$")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(r"ridge $\lambda$ ($\lambda = 0$ drawn at $10^{-4}$)")
    ax.set_ylabel(r"$\psi_n^*/\psi_p$")
    ax.set_title(r"threshold $n^*(p, \lambda)$: steepest fall of $L_{gen}(\infty)$")
    ax.legend(fontsize=8)
    fig.tight_layout()
    for ext in ("png", "pdf"):
        fig.savefig(f"{args.out}.{ext}", dpi=130)
    ratio = [c["excess_score"]["early_stopping"] / c["excess_score"]["weight_decay"] for c in cells]
    print(f"{len(cells)} cells: excess E_score early stopping / weight decay in [{min(ratio):.3f}, "
          f"{max(ratio):.3f}]; wrote {args.out}.json/.png/.pdf")


if __name__ == "__main__":
    main()
