"""What m changes (docs/noise_draws.md §7): tau = inf losses, best early-stopped loss, tau_mem and n*.

Theory only (rfdiff.noise_draws). Writes docs/data/noise_draws_science.json.

* ``by_m``: at (psi_p, psi_n, t) = (64, 8, 0.1) and (64, 8, 0.01), for m = 1 ... 256 and inf: L_train,
  L_test, L_gen at tau = inf (min-norm), the best L_test over tau and where, tau_mem (L_gen reaches half
  of L_gen(inf)), the lowest support edge of U_m and its time psi_p/(Delta_t lambda_lo);
* ``gen_vs_psi_n``: L_gen(inf) against psi_n in [psi_p/16, 16 psi_p] (psi_p = 64, t = 0.1) for several m,
  with the steepest log-log descent n* (steepest over the grid, excluding the two points nearest n m = p);
* ``tau_mem_vs_psi_n``: tau_mem against psi_n for m = 1, 4, 16, inf (psi_p = 64, t = 0.1), power-law slopes.

    PYTHONPATH=. python scripts/noise_draws_science.py [--out docs/data/noise_draws_science.json]
"""

import argparse
import json
import math

import numpy as np

import rfdiff
from rfdiff import noise_draws as nd


def half_rise(tau: np.ndarray, gen: np.ndarray, target: float) -> float:
    k = np.flatnonzero(gen >= 0.5 * target)
    if k.size == 0 or k[0] == 0:
        return float("nan")
    k = int(k[0])
    x0, x1 = math.log(tau[k - 1]), math.log(tau[k])
    return float(math.exp(x0 + (0.5 * target - gen[k - 1]) * (x1 - x0) / (gen[k] - gen[k - 1])))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs/data/noise_draws_science.json")
    args = parser.parse_args()
    tau = np.geomspace(0.1, 1e8, 201)
    out: dict = {"by_m": {}, "gen_vs_psi_n": {}, "tau_mem_vs_psi_n": {}}
    for t in (0.1, 0.01):
        model = rfdiff.RFModel(64, 8, t)
        rows = []
        for m in (1, 2, 4, 6, 10, 16, 32, 64, 256, None):
            lc = nd.learning_curves(model, m, np.append(tau, np.inf))
            k = int(np.argmin(lc.test[:-1]))
            lo = lc.spectrum.support[0][0] if lc.spectrum is not None else None
            rows.append({"m": m, "train_inf": float(lc.train[-1]), "test_inf": float(lc.test[-1]),
                         "gen_inf": float(lc.gen[-1]), "best_test": float(lc.test[k]),
                         "tau_best": float(tau[k]),
                         "best_score": float(lc.score[k]),
                         "tau_mem_half": half_rise(tau, np.asarray(lc.gen[:-1]), float(lc.gen[-1])),
                         "lowest_edge": lo,
                         "edge_time": None if lo is None else 64 / (model.constants.delta * lo)})
            print(t, rows[-1], flush=True)
        out["by_m"][str(t)] = rows
    psi_p, t = 64.0, 0.1
    grid = np.geomspace(psi_p / 16, psi_p * 16, 97)
    for m in (1, 2, 4, 16, 64, None):
        g = np.full(grid.size, np.nan)
        for i, pn in enumerate(grid):
            if m is not None and abs(m * pn / psi_p - 1) < 1e-9:
                continue
            g[i] = float(nd.limit_losses(psi_p, float(pn), t, m, 0.0).gen)
        x = np.log(grid)
        slope = np.gradient(np.log(g), x)
        mask = np.isfinite(slope)
        if m is not None:
            near = np.argsort(np.abs(np.log(grid * m / psi_p)))[:2]
            mask[near] = False
        k = int(np.nanargmin(np.where(mask, slope, np.nan)))
        out["gen_vs_psi_n"][str(m)] = {"psi_n": grid.tolist(), "gen": g.tolist(), "n_star": float(grid[k]),
                                       "slope": float(slope[k]),
                                       "draws_threshold": None if m is None else psi_p / m}
        print("n*", m, grid[k] / psi_p, slope[k], flush=True)
    psi_ns = [1.0, 2.0, 4.0, 8.0, 32.0, 128.0]
    for m in (1, 4, 16, None):
        vals = []
        for pn in psi_ns:
            if m is not None and abs(m * pn / psi_p - 1) < 1e-9:
                vals.append(None)
                continue
            lc = nd.learning_curves(rfdiff.RFModel(psi_p, pn, t), m, np.append(tau, np.inf))
            vals.append(half_rise(tau, np.asarray(lc.gen[:-1]), float(lc.gen[-1])))
        ok = [(a, b) for a, b in zip(psi_ns, vals, strict=True) if b is not None and math.isfinite(b)]
        fit = np.polyfit(np.log([a for a, _ in ok]), np.log([b for _, b in ok]), 1)
        out["tau_mem_vs_psi_n"][str(m)] = {"psi_n": psi_ns, "tau_mem_half": vals,
                                           "loglog_slope": float(fit[0])}
        print("tau_mem", m, vals, fit[0], flush=True)
    with open(args.out, "w") as fh:
        json.dump(out, fh, indent=1)


if __name__ == "__main__":
    main()
