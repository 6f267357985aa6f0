"""Finite-size validation of the ridge closed form (docs/ridge.md §4): GE simulations at growing d.

For each setting and d, ``seeds`` independent Gaussian-equivalent problems (rfdiff.simulate,
noise="gaussian"); the ridge estimator B = -V^T (U + lam)^{-1}/sqrt(Delta_t) is explicit, its losses come from
rfdiff.simulate.dsm_losses. Reports seed mean - theory (bias), its standard error, and a weighted fit
bias = a + b/d per lam (the 1/d extrapolation). Writes docs/data/ridge_validation.json.

    python scripts/validate_ridge.py [--out docs/data/ridge_validation.json] [--quick]
"""

import argparse
import json
import math

import numpy as np

import rfdiff
from rfdiff import simulate
from rfdiff.ridge import ridge_limit


def ridge_losses(model: rfdiff.RFModel, d: int, seed: int, lams: list[float]) -> np.ndarray:
    mats = simulate.correlation_matrices(model, d, seed=seed, noise="gaussian")
    w, Q = np.linalg.eigh(mats.U)
    R = Q.T @ mats.V
    out = []
    for lam in lams:
        B = -((R / (w + lam)[:, None]).T @ Q.T) / math.sqrt(mats.delta)
        out.append(simulate.dsm_losses(mats, B * math.sqrt(mats.p))[:2])
    return np.array(out)


def fit_inverse_d(ds: np.ndarray, bias: np.ndarray, se: np.ndarray) -> tuple[float, float, float, float]:
    """Weighted least squares bias = a + b/d: (a, se_a, b, se_b)."""
    X = np.stack([np.ones_like(ds), 1.0 / ds], axis=1)
    Wt = 1.0 / np.maximum(se, 1e-12) ** 2
    cov = np.linalg.inv(X.T @ (X * Wt[:, None]))
    coef = cov @ (X.T @ (Wt * bias))
    return float(coef[0]), float(math.sqrt(cov[0, 0])), float(coef[1]), float(math.sqrt(cov[1, 1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs/data/ridge_validation.json")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    lams = [0.0, 0.003, 0.03, 0.3]
    two = rfdiff.DataSpectrum([0.5, 1.5], [0.5, 0.5])
    settings = [("iso", (8.0, 2.0, 0.1), None, [25, 50, 100, 200, 400], 6400),
                ("iso_n_gt_p", (4.0, 8.0, 0.1), None, [25, 50, 100, 200], 3200),
                ("aniso", (8.0, 2.0, 0.1), two, [25, 50, 100, 200], 3200),
                ("sigma_x2_2", (8.0, 2.0, 0.1), rfdiff.DataSpectrum.isotropic(2.0), [25, 50, 100, 200], 3200)]
    if args.quick:
        settings = [(k, s, dat, ds[:2], budget // 8) for k, s, dat, ds, budget in settings[:1]]
    out = {"lam": lams, "settings": {}}
    for key, setting, data, ds, budget in settings:
        model = rfdiff.RFModel(*setting, data=data or rfdiff.DataSpectrum.isotropic())
        th = ridge_limit(*setting, lams, data=data)
        rows = []
        for d in ds:
            seeds = max(8, budget // d)
            sims = np.array([ridge_losses(model, d, s, lams) for s in range(seeds)])
            mean, se = sims.mean(0), sims.std(0, ddof=1) / math.sqrt(seeds)
            rows.append({"d": d, "seeds": seeds, "bias_train": (mean[:, 0] - th.train).tolist(),
                         "se_train": se[:, 0].tolist(), "bias_test": (mean[:, 1] - th.test).tolist(),
                         "se_test": se[:, 1].tolist(), "sd_test": (se[:, 1] * math.sqrt(seeds)).tolist()})
            print(key, d, seeds, np.round(rows[-1]["bias_test"], 5), np.round(rows[-1]["se_test"], 5),
                  flush=True)
        dd = np.array([r["d"] for r in rows], float)
        fits = {}
        for which in ("train", "test"):
            b = np.array([r[f"bias_{which}"] for r in rows])
            s = np.array([r[f"se_{which}"] for r in rows])
            fits[which] = [dict(zip(("a", "se_a", "b", "se_b"), fit_inverse_d(dd, b[:, k], s[:, k]),
                                    strict=True)) for k in range(len(lams))]
        out["settings"][key] = {"psi_p": setting[0], "psi_n": setting[1], "t": setting[2],
                                "data": None if data is None else [list(data.values), list(data.weights)],
                                "theory_train": th.train.tolist(), "theory_test": th.test.tolist(),
                                "rows": rows, "fit_1_over_d": fits}
    with open(args.out, "w") as fh:
        json.dump(out, fh, indent=1)


if __name__ == "__main__":
    main()
