"""Paper Fig. 5 C: maps of L_gen over (psi_n, psi_p) at tau = 1e3 and 1e4, with the threshold n*(p).

Theory only: one d -> infinity learning curve per cell (rfdiff.phase_diagram, t = 0.1), read at
the requested tau; the line is psi_n*(psi_p) from rfdiff.n_star (the steepest log-log fall of
L_gen(inf) with psi_n), the dashed diagonal is n = p. Below the line (n < n*) L_gen grows with
tau once tau > tau_mem ~ n (memorization); above it the model generalizes at every tau.
Default 48 x 48 (a few seconds on 2 cores: ~2 ms per cell, n* included); ``--size`` sets it.

    python examples/phase_map.py [--size 48] [--tau 1e3 1e4] [--workers 2] [--out phase_map]
"""

import argparse

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import LogNorm

import rfdiff


def log_edges(centres: np.ndarray) -> np.ndarray:
    """Cell edges halfway (in log) between log-spaced centres."""
    logc = np.log(centres)
    mid = 0.5 * (logc[1:] + logc[:-1])
    return np.exp(np.concatenate([[2 * logc[0] - mid[0]], mid, [2 * logc[-1] - mid[-1]]]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=48, help="cells per axis (default 48)")
    parser.add_argument("--tau", type=float, nargs="+", default=[1e3, 1e4])
    parser.add_argument("--t", type=float, default=0.1)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", default="phase_map")
    args = parser.parse_args()
    if args.size < 2:
        parser.error("--size must be >= 2")

    psi_p = np.geomspace(8.0, 512.0, args.size)
    psi_n = np.geomspace(2.0, 1024.0, args.size)
    pd = rfdiff.phase_diagram(psi_p, psi_n, t=args.t, tau=args.tau, workers=args.workers)
    # L_gen is O(1/psi_n) > 0 in the generalization window and can dip below 0 very early; the map
    # shows |L_gen| on a log scale only where it is positive, and marks the rest.
    gen = np.where(pd.gen > 0, pd.gen, np.nan)
    lo = np.nanmin(gen)
    hi = np.nanmax(gen)
    fig, axes = plt.subplots(1, len(args.tau), figsize=(6.2 * len(args.tau), 5), squeeze=False)
    for k, (ax, tau) in enumerate(zip(axes[0], pd.tau)):
        mesh = ax.pcolormesh(log_edges(psi_n), log_edges(psi_p), gen[k], norm=LogNorm(lo, hi),
                             cmap="magma", shading="flat")
        neg = np.argwhere(~(pd.gen[k] > 0))
        if neg.size:
            ax.plot(psi_n[neg[:, 1]], psi_p[neg[:, 0]], "x", color="w", ms=6, label=r"$L_{gen} \leq 0$")
        ax.plot(pd.n_star, psi_p, "o-", color="C0", lw=2, ms=3, label=r"$\psi_n^*(\psi_p)$ (rfdiff.n_star)")
        ax.plot(psi_p, psi_p, "--", color="w", lw=1, label=r"$n = p$")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlim(log_edges(psi_n)[[0, -1]])
        ax.set_ylim(log_edges(psi_p)[[0, -1]])
        ax.set_xlabel(r"$\psi_n = n/d$")
        ax.set_ylabel(r"$\psi_p = p/d$")
        ax.set_title(rf"$L_{{gen}}$ at $\tau = 10^{{{np.log10(tau):.3g}}}$, $t = {args.t:g}$", fontsize=10)
        ax.legend(fontsize=8, loc="upper left", facecolor="0.75")
        fig.colorbar(mesh, ax=ax, label=r"$L_{gen} = L_{test} - L_{train}$")
        counts = {lab: int(np.sum(pd.labels[k] == lab)) for lab in np.unique(pd.labels[k])}
        print(f"tau = {tau:g}: L_gen in [{pd.gen[k].min():.3g}, {pd.gen[k].max():.3g}]; "
              f"cells per regime {counts}")
    ratio = pd.n_star / psi_p
    print(f"n*(psi_p)/psi_p in [{ratio.min():.3f}, {ratio.max():.3f}] "
          f"over psi_p in [{psi_p[0]:g}, {psi_p[-1]:g}]")
    fig.tight_layout()
    for ext in ("png", "pdf"):
        fig.savefig(f"{args.out}.{ext}", dpi=130)


if __name__ == "__main__":
    main()
