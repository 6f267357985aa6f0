"""Exact-noise validation of the ridge flow (docs/ridge.md §4.1): the real tanh model at growing d.

For each d and seed, the exact noise-averaged (Mehler) matrices of the tanh model
(``rfdiff.simulate.correlation_matrices(noise="exact")``) and the exact flow with the penalty
(``rfdiff.simulate.gradient_flow(ridge=lam)``) on a tau grid (tau = inf included), against the limit
curves ``RFModel(ridge=lam).learning_curves`` on the same grid. Per d: bias(tau) = seed mean - theory for
L_test and L_gen, its maximum |bias| over tau with the seed standard error at that tau, a weighted
power-law fit max|bias| = C d^(-alpha) over d, and a weighted fit bias(inf) = a + b/d (the 1/d
extrapolation of the signed tau = inf bias). Writes docs/data/ridge_exact_validation.json.

    PYTHONPATH=. python scripts/validate_ridge_exact.py [--out ...] [--quick]
"""

import argparse
import json
import math
import time

import numpy as np

import rfdiff
from rfdiff import simulate

PSI_P, PSI_N, T = 8.0, 2.0, 0.1
LAMS = (0.01, 0.1)
TAU = np.append(np.geomspace(1e-1, 1e6, 36), np.inf)


def power_fit(ds: np.ndarray, gap: np.ndarray, se: np.ndarray) -> tuple[float, float, float]:
    """Weighted least squares of log gap = log C - alpha log d (weights gap^2/se^2): (alpha, se_alpha, C)."""
    X = np.stack([np.ones_like(ds), -np.log(ds)], axis=1)
    w = (gap / np.maximum(se, 1e-15)) ** 2
    cov = np.linalg.inv(X.T @ (X * w[:, None]))
    coef = cov @ (X.T @ (w * np.log(gap)))
    return float(coef[1]), float(math.sqrt(cov[1, 1])), float(math.exp(coef[0]))


def inverse_d_fit(ds: np.ndarray, bias: np.ndarray, se: np.ndarray) -> tuple[float, float, float, float]:
    """Weighted least squares bias = a + b/d: (a, se_a, b, se_b)."""
    X = np.stack([np.ones_like(ds), 1.0 / ds], axis=1)
    w = 1.0 / np.maximum(se, 1e-15) ** 2
    cov = np.linalg.inv(X.T @ (X * w[:, None]))
    coef = cov @ (X.T @ (w * bias))
    return float(coef[0]), float(math.sqrt(cov[0, 0])), float(coef[1]), float(math.sqrt(cov[1, 1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs/data/ridge_exact_validation.json")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    plan = [(20, 16), (40, 16), (80, 16), (160, 12), (320, 8)] if not args.quick else [(20, 3), (40, 3)]
    model = rfdiff.RFModel(PSI_P, PSI_N, T)
    theory = {lam: rfdiff.RFModel(PSI_P, PSI_N, T, ridge=lam).learning_curves(TAU) for lam in LAMS}
    out = {"psi_p": PSI_P, "psi_n": PSI_N, "t": T, "activation": "tanh", "noise": "exact",
           "tau": [float(x) for x in TAU], "lams": list(LAMS),
           "results": {f"{lam:g}": {"theory_test": th.test.tolist(), "theory_gen": th.gen.tolist(),
                                    "quad_error": float(th.quad_error), "rows": []}
                       for lam, th in theory.items()}}
    for d, seeds in plan:
        t0 = time.perf_counter()
        sims: dict[float, list] = {lam: [] for lam in LAMS}
        for seed in range(seeds):
            mats = simulate.correlation_matrices(model, d, seed=seed, noise="exact")
            for lam in LAMS:
                fl = simulate.gradient_flow(model, TAU[:-1], matrices=mats, ridge=lam)
                sims[lam].append((np.append(fl.test, fl.test_inf),
                                  np.append(fl.gen, fl.test_inf - fl.train_inf)))
        seconds = time.perf_counter() - t0
        for lam in LAMS:
            th = theory[lam]
            arr = np.array(sims[lam])                       # (seeds, 2, tau)
            mean = arr.mean(0)
            se = arr.std(0, ddof=1) / math.sqrt(seeds)
            row = {"d": d, "seeds": seeds, "seconds_all_lams": seconds}
            for k, (name, ref) in enumerate((("test", th.test), ("gen", th.gen))):
                bias = mean[k] - ref
                j = int(np.argmax(np.abs(bias)))
                row[f"bias_{name}"] = bias.tolist()
                row[f"se_{name}"] = se[k].tolist()
                row[f"max_gap_{name}"] = float(abs(bias[j]))
                row[f"max_gap_{name}_se"] = float(se[k][j])
                row[f"max_gap_{name}_tau"] = float(TAU[j])
                row[f"max_gap_{name}_rel"] = float(abs(bias[j]) / abs(ref[j]))
            out["results"][f"{lam:g}"]["rows"].append(row)
            print(f"lam={lam:g} d={d} seeds={seeds} ({seconds:.1f} s): "
                  f"max|gap L_test| = {row['max_gap_test']:.4f} +- {row['max_gap_test_se']:.4f} "
                  f"(tau = {row['max_gap_test_tau']:.3g}), max|gap L_gen| = {row['max_gap_gen']:.4f} +- "
                  f"{row['max_gap_gen_se']:.4f} (tau = {row['max_gap_gen_tau']:.3g}, "
                  f"rel {row['max_gap_gen_rel']:.3f})", flush=True)
    for lam in LAMS:
        res = out["results"][f"{lam:g}"]
        rows = res["rows"]
        ds = np.array([r["d"] for r in rows], float)
        fits = {}
        for name in ("test", "gen"):
            gap = np.array([r[f"max_gap_{name}"] for r in rows])
            gse = np.array([r[f"max_gap_{name}_se"] for r in rows])
            alpha, se_alpha, c = power_fit(ds, gap, gse)
            alpha40, se_alpha40, c40 = power_fit(ds[1:], gap[1:], gse[1:])
            a, se_a, b, se_b = inverse_d_fit(ds, np.array([r[f"bias_{name}"][-1] for r in rows]),
                                             np.array([r[f"se_{name}"][-1] for r in rows]))
            fits[name] = {"alpha": alpha, "se_alpha": se_alpha, "C": c, "alpha_d_ge_40": alpha40,
                          "se_alpha_d_ge_40": se_alpha40, "C_d_ge_40": c40,
                          "inf_a": a, "inf_se_a": se_a, "inf_b": b, "inf_se_b": se_b}
            print(f"  lam={lam:g} {name}: max gap ~ {c:.3g} d^-{alpha:.3f} (+- {se_alpha:.3f}); d >= 40: "
                  f"{c40:.3g} d^-{alpha40:.3f} (+- {se_alpha40:.3f}); bias(inf) = {a:+.4f} (+- {se_a:.4f}) "
                  f"+ {b:.3f} (+- {se_b:.3f})/d", flush=True)
        res["fits"] = fits
    with open(args.out, "w") as fh:
        json.dump(out, fh, indent=1)


if __name__ == "__main__":
    main()
