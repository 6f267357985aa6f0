"""The (psi_n, lam) phase map of weight decay: L_gen and E_score over data size and ridge (theory).

psi_p = 64, t = 0.1, d -> infinity (rfdiff.ridge.ridge_map):

* left: log10 L_gen at tau = inf (the ridge estimator, closed form) over lam and n/p, with the threshold
  n*(p, lam) (rfdiff.ridge.ridge_n_star) where it is defined and the lam = 0 threshold (dashed);
* middle: the excess score error E_score at tau = inf, with the best ridge lam*(n) (minimum over the grid);
* right: log10 L_gen at a finite time tau (default 1e3, the contour path per cell), the same n* lines.

Writes <out>.png, <out>.pdf and <out>.json (or --data). About 20 s on one core.

    python examples/ridge_map.py [--psi-p 64] [--t 0.1] [--tau 1000] [--out ridge_map] [--data FILE]
"""

import argparse
import json
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from rfdiff.errors import UndefinedQuantityError
from rfdiff.ridge import ridge_map, ridge_n_star


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--psi-p", type=float, default=64.0)
    parser.add_argument("--t", type=float, default=0.1)
    parser.add_argument("--tau", type=float, default=1e3)
    parser.add_argument("--out", default="ridge_map")
    parser.add_argument("--data", default=None)
    args = parser.parse_args()
    pp, t = args.psi_p, args.t
    pn = np.geomspace(pp / 16, pp * 16, 64)
    lam = np.geomspace(1e-4, 10.0, 56)
    t0 = time.perf_counter()
    inf = ridge_map(pp, pn, lam, t)
    t_inf = time.perf_counter() - t0
    pn_f, lam_f = np.geomspace(pp / 16, pp * 16, 48), np.geomspace(1e-4, 10.0, 40)
    t0 = time.perf_counter()
    fin = ridge_map(pp, pn_f, lam_f, t, tau=args.tau)
    t_fin = time.perf_counter() - t0
    ns_lam = [0.0, 1e-3, 2e-3, 5e-3, 1e-2, 2e-2, 5e-2, 0.1, 0.2, 0.5, 1.0]
    ns = {}
    for lv in ns_lam:
        try:
            ns[lv] = ridge_n_star(pp, lv, t).n_star
        except UndefinedQuantityError:
            ns[lv] = None
    best = np.argmin(inf.score, axis=1)
    lam_star = lam[best]
    print(f"map {pn.size} x {lam.size} at tau = inf: {t_inf:.2f} s (max solver residual "
          f"{inf.error_estimate:.1e}); {pn_f.size} x {lam_f.size} at tau = {args.tau:g}: {t_fin:.1f} s "
          f"(max quadrature error {fin.error_estimate:.1e})")
    print("n*/p:", {k: (None if v is None else round(v / pp, 4)) for k, v in ns.items()})

    fig, axes = plt.subplots(1, 3, figsize=(16.5, 4.8))
    defined = [(lv, v) for lv, v in ns.items() if v is not None and lv > 0]

    def lines(ax):
        x, y = np.array(defined).T
        ax.plot(x, y / pp, "o-", color="w", ms=4, label=r"$n^*(p, \lambda)$ ($\tau = \infty$)")
        ax.axhline(ns[0.0] / pp, color="w", ls="--", lw=1, label=r"$n^*(p, \lambda = 0)$")
        ax.legend(fontsize=7, loc="lower left", facecolor="0.25", labelcolor="w", framealpha=0.8)

    def axes_labels(ax, title):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(r"ridge $\lambda$")
        ax.set_ylabel(r"$n/p = \psi_n/\psi_p$")
        ax.set_title(title, fontsize=9)

    ax = axes[0]
    mesh = ax.pcolormesh(lam, pn / pp, np.log10(inf.gen), shading="nearest", cmap="magma")
    fig.colorbar(mesh, ax=ax, label=r"$\log_{10} L_{gen}(\tau = \infty)$")
    lines(ax)
    axes_labels(ax, rf"$L_{{gen}}$ at $\tau = \infty$, $\psi_p$ = {pp:g}, t = {t:g}")
    ax = axes[1]
    mesh = ax.pcolormesh(lam, pn / pp, np.log10(inf.score), shading="nearest", cmap="viridis")
    fig.colorbar(mesh, ax=ax, label=r"$\log_{10} E_{score}(\tau = \infty)$")
    ax.plot(lam_star, pn / pp, "-", color="r", lw=1.5, label=r"best $\lambda^*(n)$ on the grid")
    axes_labels(ax, rf"$E_{{score}}$ at $\tau = \infty$, $\psi_p$ = {pp:g}, t = {t:g}")
    ax.legend(fontsize=7, loc="lower left")
    ax = axes[2]
    mesh = ax.pcolormesh(lam_f, pn_f / pp, np.log10(fin.gen), shading="nearest", cmap="magma")
    fig.colorbar(mesh, ax=ax, label=rf"$\log_{{10}} L_{{gen}}(\tau = {args.tau:g})$")
    lines(ax)
    axes_labels(ax, rf"$L_{{gen}}$ at $\tau$ = {args.tau:g}, $\psi_p$ = {pp:g}, t = {t:g}")
    for a in axes:
        a.set_xlim(1e-4, 10.0)
        a.set_ylim(1 / 16, 16)
    fig.tight_layout()
    fig.savefig(f"{args.out}.png", dpi=110)
    fig.savefig(f"{args.out}.pdf")
    def table(m):  # 6 significant digits: the maps are for reading, not for bit-exact round trips
        out = {k: [[float(f"{v:.6g}") for v in row] for row in getattr(m, k)]
               for k in ("train", "test", "gen", "score")}
        return out | {"psi_n": m.psi_n.tolist(), "lam": m.lam.tolist(), "tau": str(m.tau), "method": m.method,
                      "error_estimate": m.error_estimate}

    with open(args.data or f"{args.out}.json", "w") as fh:
        json.dump({"psi_p": pp, "t": t, "seconds_inf": t_inf, "seconds_finite": t_fin, "inf": table(inf),
                   "finite": table(fin), "n_star": {str(k): v for k, v in ns.items()},
                   "lam_star": lam_star.tolist()}, fh)


if __name__ == "__main__":
    main()
