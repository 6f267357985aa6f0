"""Finite-size validation of rfdiff.noise_draws (docs/noise_draws.md §6).

Writes docs/data/noise_draws_validation.json.

* ``ge_inf``: the ridge / min-norm estimator at tau = inf on Gaussian-equivalent draws (the single-draw
  feature e^{-t} a W x/sqrt(d) + b W xi/sqrt(d) + v omega_nu + s z_{nu,k}, built here) at growing d;
* ``ge_flow``: the gradient flow at finite tau on the same matrices;
* ``mc_inf``, ``mc_flow``: the real tanh model with m Monte Carlo draws per point (rfdiff.simulate, noise=m;
  U~, V~ exact);
* ``stieltjes``: q, A = (1/d) Tr V^T R V, E = (1/d^{3/2}) Tr W^T R V of GE and tanh draws against theory;
* ``cdf``: the eigenvalue distribution function of U_m (GE and tanh draws, pooled over seeds) against the
  theory (atom at 0 plus the integrated density), at the quantiles of the theory.

    PYTHONPATH=. python scripts/validate_noise_draws.py [--out FILE] [--quick] [--sections cdf ...] [--merge]
"""

import argparse
import json
import math

import numpy as np

import rfdiff
from rfdiff import noise_draws as nd
from rfdiff import simulate


def ge_draws(model: rfdiff.RFModel, d: int, m: int, seed: int) -> dict:
    c = model.constants
    rng = np.random.default_rng(seed)
    p, n = round(model.psi_p * d), round(model.psi_n * d)
    sig = simulate.data_covariance(model, d)
    W = rng.standard_normal((p, d))
    X = rng.standard_normal((n, d)) * np.sqrt(sig)
    G = (math.exp(-model.t) * c.a / math.sqrt(d)) * (W @ X.T) + math.sqrt(c.v2) * rng.standard_normal((p, n))
    Xi = rng.standard_normal((d, n * m))
    Z = rng.standard_normal((p, n * m))
    Phi = np.repeat(G, m, axis=1) + (c.b / math.sqrt(d)) * (W @ Xi) + math.sqrt(c.s2) * Z
    sig_t = math.exp(-2 * model.t) * sig + c.delta
    U_pop = (c.mu1**2 / (c.gamma2 * d)) * ((W * sig_t) @ W.T) + c.mustar2 * np.eye(p)
    return dict(U=Phi @ Phi.T / (n * m), V=Phi @ Xi.T / (n * m), U_pop=U_pop,
                V_pop=(c.b / math.sqrt(d)) * W, W=W)


def mc_draws(model: rfdiff.RFModel, d: int, m: int, seed: int) -> dict:
    mats = simulate.correlation_matrices(model, d, seed=seed, noise=m)
    return dict(U=mats.U, V=mats.V, U_pop=mats.U_pop, V_pop=mats.V_pop, W=mats.W)


def losses(mats: dict, delta: float, d: int, taus, lam: float = 0.0) -> np.ndarray:
    """(L_train, L_test) of the flow with ridge lam at each tau (inf: the ridge / min-norm estimator)."""
    w, Q = np.linalg.eigh(mats["U"])
    R = Q.T @ mats["V"]
    p = w.size
    wl = w + lam
    pos = wl > 1e-9 * w.max()
    out = []
    for tau in taus:
        if math.isinf(tau):
            filt = np.where(pos, 1.0 / np.where(pos, wl, 1.0), 0.0)
        else:
            a = 2 * delta * tau / (p / d)
            filt = np.where(pos, -np.expm1(-a * wl) / np.where(pos, wl, 1.0), a)
        B = -((R * filt[:, None]).T @ Q.T) / math.sqrt(delta)
        out.append([1 + (delta / d) * np.sum((B @ U) * B) + (2 * math.sqrt(delta) / d) * np.sum(B * V.T)
                    for U, V in ((mats["U"], mats["V"]), (mats["U_pop"], mats["V_pop"]))])
    return np.array(out)


def summary(sims: np.ndarray, th_train: np.ndarray, th_test: np.ndarray) -> dict:
    mean, se = sims.mean(0), sims.std(0, ddof=1) / math.sqrt(sims.shape[0])
    return {"seeds": int(sims.shape[0]), "bias_train": (mean[:, 0] - th_train).tolist(),
            "se_train": se[:, 0].tolist(), "bias_test": (mean[:, 1] - th_test).tolist(),
            "se_test": se[:, 1].tolist()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs/data/noise_draws_validation.json")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--sections", nargs="+", default=["all"],
                        help="any of ge_inf ge_flow mc stieltjes cdf (default all)")
    parser.add_argument("--merge", action="store_true", help="update an existing --out file")
    args = parser.parse_args()
    q = 8 if args.quick else 1
    two = rfdiff.DataSpectrum([0.5, 1.5], [0.5, 0.5])
    out: dict = {"ge_inf": {}, "ge_flow": {}, "mc_inf": {}, "mc_flow": {}, "stieltjes": {}, "cdf": {}}
    if args.merge:
        with open(args.out) as fh:
            out.update(json.load(fh))

    def want(name: str) -> bool:
        return "all" in args.sections or name in args.sections

    if want("cdf"):
        model = rfdiff.RFModel(4.0, 1.0, 0.1)
        for m in (1, 2, 8):      # not m = 4 = p/n: its hard edge at 0 needs the density integrated to 0
            draws = nd.DrawsEquations.from_model(model, m)
            xg = np.geomspace(1e-6, 12.0, 20000)
            dens = nd.density(draws, xg, eta=1e-10)
            steps = 0.5 * (dens[1:] + dens[:-1]) * np.diff(xg)
            cdf = draws.null_mass + np.concatenate([[0.0], np.cumsum(steps)])
            probs = np.array([0.05, 0.25, 0.5, 0.6, 0.7, 0.75, 0.8, 0.9, 0.95, 0.99])
            probs = probs[probs > draws.null_mass + 0.01]
            xq = np.interp(probs, cdf, xg)
            rec = {"x": xq.tolist(), "theory_cdf": probs.tolist()}
            for kind, make in (("ge", ge_draws), ("mc", mc_draws)):
                ev = np.concatenate([np.linalg.eigvalsh(make(model, 100, m, 95000 + s)["U"])
                                     for s in range(max(2, 6 // q))])
                emp = np.searchsorted(np.sort(ev), xq) / ev.size
                rec[kind] = {"cdf": emp.tolist(), "n_eigenvalues": int(ev.size)}
                print("cdf m", m, kind, np.round(emp - probs, 4).tolist(), flush=True)
            out["cdf"][f"m{m}"] = rec
    if args.sections == ["cdf"]:
        with open(args.out, "w") as fh:
            json.dump(out, fh, indent=1)
        return
    lams = [0.0, 0.01, 0.1]
    inf_cases = [((4.0, 1.0, 0.1), m, None) for m in (1, 2, 3, 8)]
    inf_cases += [((2.0, 4.0, 0.1), m, None) for m in (1, 3)]
    inf_cases.append(((4.0, 1.0, 0.1), 2, two))
    for setting, m, data in inf_cases:
        model = rfdiff.RFModel(*setting, data=data or rfdiff.DataSpectrum.isotropic())
        th = nd.limit_losses_model(model, m, lams)
        key = f"{setting}_m{m}_{'aniso' if data else 'iso'}"
        rec = {"lam": lams, "theory_train": th.train.tolist(), "theory_test": th.test.tolist(), "d": {}}
        for d in ([25, 50, 100, 200] if not args.quick else [25]):
            seeds = max(8, 6400 // d // max(1, m // 2) // q)
            sims = np.array([[losses(ge_draws(model, d, m, 50000 + s), model.constants.delta, d, [math.inf],
                                     lam)[0] for lam in lams] for s in range(seeds)])
            rec["d"][d] = summary(sims, th.train, th.test)
            print("ge_inf", key, d, np.round(rec["d"][d]["bias_test"], 4),
                  np.round(rec["d"][d]["se_test"], 4), flush=True)
        out["ge_inf"][key] = rec
    taus = [1.0, 10.0, 100.0, 1e3, 1e4, 1e5, math.inf]
    flow_cases = [((4.0, 1.0, 0.1), 2, [25, 50, 100, 200], 3200),
                  ((4.0, 1.0, 0.1), 8, [25, 50, 100], 3200),
                  ((64.0, 8.0, 0.1), 4, [10, 20], 80), ((64.0, 8.0, 0.1), 1, [10, 20], 80)]
    for setting, m, ds, budget in flow_cases:
        model = rfdiff.RFModel(*setting)
        lc = nd.learning_curves(model, m, taus)
        key = f"{setting}_m{m}"
        rec = {"tau": [None if math.isinf(x) else x for x in taus], "theory_train": lc.train.tolist(),
               "theory_test": lc.test.tolist(), "d": {}}
        for d in (ds if not args.quick else ds[:1]):
            seeds = max(6, budget // d // q) if setting[0] < 10 else max(4, 8 // q)
            sims = np.array([losses(ge_draws(model, d, m, 70000 + s), model.constants.delta, d, taus)
                             for s in range(seeds)])
            rec["d"][d] = summary(sims, lc.train, lc.test)
            print("ge_flow", key, d, np.round(rec["d"][d]["bias_test"], 4),
                  np.round(rec["d"][d]["se_test"], 4), flush=True)
        out["ge_flow"][key] = rec
    model = rfdiff.RFModel(4.0, 1.0, 0.1)
    for m in (1, 2):
        th = nd.limit_losses_model(model, m, lams)
        rec = {"lam": lams, "theory_train": th.train.tolist(), "theory_test": th.test.tolist(), "d": {}}
        for d in ([50, 100, 200] if not args.quick else [50]):
            seeds = max(4, 3200 // d // q)
            sims = np.array([[losses(mc_draws(model, d, m, s), model.constants.delta, d, [math.inf], lam)[0]
                              for lam in lams] for s in range(seeds)])
            rec["d"][d] = summary(sims, th.train, th.test)
            print("mc_inf m", m, d, np.round(rec["d"][d]["bias_test"], 4),
                  np.round(rec["d"][d]["se_test"], 4), flush=True)
        out["mc_inf"][f"(4.0, 1.0, 0.1)_m{m}"] = rec
    lc = nd.learning_curves(model, 2, taus)
    rec = {"tau": [None if math.isinf(x) else x for x in taus], "theory_train": lc.train.tolist(),
           "theory_test": lc.test.tolist(), "d": {}}
    for d in ([50, 100] if not args.quick else [50]):
        seeds = max(4, 3200 // d // q)
        sims = np.array([losses(mc_draws(model, d, 2, s), model.constants.delta, d, taus)
                         for s in range(seeds)])
        rec["d"][d] = summary(sims, lc.train, lc.test)
        print("mc_flow", d, np.round(rec["d"][d]["bias_test"], 4), np.round(rec["d"][d]["se_test"], 4),
              flush=True)
    out["mc_flow"]["(4.0, 1.0, 0.1)_m2"] = rec
    z = np.array([0.3 + 0.2j, 0.05 + 0.05j, 2 + 1j])
    for m in (1, 4):
        th = nd.solve(nd.DrawsEquations.from_model(model, m), z)
        rec = {"z": [[v.real, v.imag] for v in z]}
        for kind, make in (("ge", ge_draws), ("mc", mc_draws)):
            vals = []
            for s in range(max(2, 8 // q)):
                mats = make(model, 100, m, 90000 + s)
                p = mats["U"].shape[0]
                row = []
                for zz in z:
                    Rz = np.linalg.inv(mats["U"] - zz * np.eye(p))
                    row.append([np.trace(Rz) / p, np.trace(mats["V"].T @ Rz @ mats["V"]) / 100,
                                np.trace(mats["W"].T @ Rz @ mats["V"]) / 100**1.5])
                vals.append(row)
            vals = np.array(vals)
            mean = vals.mean(0)
            se = np.abs(vals.std(0, ddof=1)) / math.sqrt(vals.shape[0])
            ref = np.stack([th.q, th.A, th.E], 1)
            rel = np.abs(mean - ref) / np.abs(ref)
            rec[kind] = {"rel_gap": rel.tolist(), "rel_se": (se / np.abs(ref)).tolist()}
            print("stieltjes m", m, kind, np.round(rel, 4).tolist(), flush=True)
        out["stieltjes"][f"m{m}"] = rec
    with open(args.out, "w") as fh:
        json.dump(out, fh, indent=1)


if __name__ == "__main__":
    main()
