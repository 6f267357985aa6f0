"""A finite number m of noise draws per training point: spectrum, learning curves, memorization time and n*.

Theory (lines, rfdiff.noise_draws, d -> infinity) against finite-size simulations (markers with standard
errors): Gaussian-equivalent draws (the single-draw feature e^{-t} a W x/sqrt(d) + b W xi/sqrt(d) + v omega_nu
+ s z_{nu,k}) and, in panel C, the real tanh model with m Monte Carlo draws per point (rfdiff.simulate,
noise=m). Panels:

A. density of U_m at psi_p = 64, psi_n = 8, t = 0.1 for several m (the atom at s_t^2 of m = inf becomes a
   sampled-noise bulk; for n m < p an atom at 0 of mass 1 - n m/p, not drawn);
B. L_test and L_gen against tau at the same setting, m = 1, 4, 32, inf, with GE flow simulations (d = 20);
C. tau = inf (min-norm) L_test and L_gen against m at psi_p = 4, psi_n = 1 (p = 4n): George et al.'s finding
   (more draws per point, more memorization when p > n) and the peak at n m = p;
D. the memorization time tau_mem (L_gen reaches half of L_gen(inf)) against psi_n for m = 1, 4, inf.

Writes <out>.json and <out>.png/.pdf. About 2 minutes on 2 cores.

    python examples/noise_draws.py [--out noise_draws] [--d 20] [--seeds 4]
"""

import argparse
import json
import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import rfdiff
from rfdiff import noise_draws as nd
from rfdiff import simulate


def ge_draws(model: rfdiff.RFModel, d: int, m: int, seed: int) -> dict:
    """U_m, V_m, U~, V~ from Gaussian-equivalent single-draw features (omega shared by the m draws)."""
    c = model.constants
    rng = np.random.default_rng(seed)
    p, n = round(model.psi_p * d), round(model.psi_n * d)
    W = rng.standard_normal((p, d))
    X = rng.standard_normal((n, d))
    G = (math.exp(-model.t) * c.a / math.sqrt(d)) * (W @ X.T) + math.sqrt(c.v2) * rng.standard_normal((p, n))
    Xi = rng.standard_normal((d, n * m))
    Phi = (np.repeat(G, m, axis=1) + (c.b / math.sqrt(d)) * (W @ Xi)
           + math.sqrt(c.s2) * rng.standard_normal((p, n * m)))
    U_pop = (c.mu1**2 / d) * (W @ W.T) + c.mustar2 * np.eye(p)
    return dict(U=Phi @ Phi.T / (n * m), V=Phi @ Xi.T / (n * m), U_pop=U_pop, V_pop=(c.b / math.sqrt(d)) * W)


def flow_losses(mats: dict, delta: float, d: int, taus: np.ndarray) -> np.ndarray:
    """(L_train, L_test) of the flow at each tau (inf: the min-norm end point)."""
    w, Q = np.linalg.eigh(mats["U"])
    R = Q.T @ mats["V"]
    p = w.size
    pos = w > 1e-9 * w.max()
    out = []
    for tau in taus:
        if math.isinf(tau):
            filt = np.where(pos, 1.0 / np.where(pos, w, 1.0), 0.0)
        else:
            a = 2 * delta * tau / (p / d)
            filt = np.where(pos, -np.expm1(-a * w) / np.where(pos, w, 1.0), a)
        B = -((R * filt[:, None]).T @ Q.T) / math.sqrt(delta)
        out.append([1 + (delta / d) * np.sum((B @ U) * B) + (2 * math.sqrt(delta) / d) * np.sum(B * V.T)
                    for U, V in ((mats["U"], mats["V"]), (mats["U_pop"], mats["V_pop"]))])
    return np.array(out)


def half_rise(tau: np.ndarray, gen: np.ndarray, target: float) -> float:
    """First tau where gen reaches target/2 (log-linear interpolation)."""
    k = np.flatnonzero(gen >= 0.5 * target)
    if k.size == 0 or k[0] == 0:
        return float("nan")
    k = int(k[0])
    x0, x1 = math.log(tau[k - 1]), math.log(tau[k])
    y0, y1 = gen[k - 1], gen[k]
    return float(math.exp(x0 + (0.5 * target - y0) * (x1 - x0) / (y1 - y0)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="noise_draws")
    parser.add_argument("--d", type=int, default=20, help="dimension of the panel-B simulations")
    parser.add_argument("--seeds", type=int, default=4)
    args = parser.parse_args()
    t = 0.1
    big = rfdiff.RFModel(64, 8, t)
    record: dict = {"t": t}

    # A: spectra
    x = np.geomspace(1e-4, 60.0, 1500)
    dens = {}
    for m in (1, 4, 32):
        dens[str(m)] = nd.density(nd.DrawsEquations.from_model(big, m), x, eta=1e-9).tolist()
    dens["None"] = big.density(x).tolist()          # m = inf: Theorem 3.1 on the axis, atom at s_t^2 excluded
    record["A"] = {"psi_p": 64, "psi_n": 8, "x": x.tolist(), "density": dens}

    # B: curves at the Fig. 5 setting, theory and GE flow
    tau = np.geomspace(0.1, 1e7, 161)
    taus_sim = np.array([1.0, 10.0, 100.0, 1e3, 1e4, 1e5, math.inf])
    curves = {}
    for m in (1, 4, 32, None):
        lc = nd.learning_curves(big, m, np.append(tau, np.inf))
        entry = {"test": lc.test.tolist(), "gen": lc.gen.tolist(), "train": lc.train.tolist()}
        if m in (1, 4):
            sims = np.array([flow_losses(ge_draws(big, args.d, m, 4242 + s), big.constants.delta, args.d,
                                         taus_sim) for s in range(args.seeds)])
            mean = sims.mean(0)
            se = sims.std(0, ddof=1) / math.sqrt(args.seeds)
            entry["sim"] = {"d": args.d, "seeds": args.seeds,
                            "tau": [v if math.isfinite(v) else None for v in taus_sim],
                            "train": mean[:, 0].tolist(), "test": mean[:, 1].tolist(),
                            "se_train": se[:, 0].tolist(), "se_test": se[:, 1].tolist()}
        entry["tau_mem_half"] = half_rise(tau, np.asarray(lc.gen[:-1]), float(lc.gen[-1]))
        k = int(np.argmin(lc.test[:-1]))
        entry["best_test"] = float(lc.test[k])
        entry["tau_best"] = float(tau[k])
        curves[str(m)] = entry
    record["B"] = {"psi_p": 64, "psi_n": 8, "tau": tau.tolist(), "curves": curves}

    # C: tau = inf against m at psi_p = 4, psi_n = 1 (theory; GE and tanh draws at d = 50)
    small = rfdiff.RFModel(4, 1, t)
    ms = [1, 2, 3, 5, 6, 8, 12, 16, 32, 64, 128]
    th = [nd.limit_losses_model(small, m, 0.0) for m in ms]
    inf = nd.limit_losses_model(small, None, 0.0)
    sim_c = {}
    for kind in ("ge", "tanh"):
        rows = []
        for m in (1, 2, 3, 8):
            vals = []
            for s in range(8):
                if kind == "ge":
                    mats = ge_draws(small, 50, m, 777 + s)
                else:
                    cm = simulate.correlation_matrices(small, 50, seed=s, noise=m)
                    mats = dict(U=cm.U, V=cm.V, U_pop=cm.U_pop, V_pop=cm.V_pop)
                vals.append(flow_losses(mats, small.constants.delta, 50, np.array([math.inf]))[0])
            vals = np.array(vals)
            rows.append({"m": m, "train": float(vals[:, 0].mean()), "test": float(vals[:, 1].mean()),
                         "se_train": float(vals[:, 0].std(ddof=1) / math.sqrt(8)),
                         "se_test": float(vals[:, 1].std(ddof=1) / math.sqrt(8))})
        sim_c[kind] = rows
    record["C"] = {"psi_p": 4, "psi_n": 1, "m": ms, "test": [float(r.test) for r in th],
                   "gen": [float(r.gen) for r in th], "train": [float(r.train) for r in th],
                   "test_inf": float(inf.test), "gen_inf": float(inf.gen), "sim": sim_c}

    # D: tau_mem against psi_n for several m (psi_p = 64)
    psi_ns = [2.0, 4.0, 8.0, 32.0]
    tmem = {}
    for m in (1, 4, None):
        vals = []
        for pn in psi_ns:
            if m is not None and abs(m * pn / 64 - 1) < 1e-9:
                vals.append(None)
                continue
            lc = nd.learning_curves(rfdiff.RFModel(64, pn, t), m, np.append(tau, np.inf))
            vals.append(half_rise(tau, np.asarray(lc.gen[:-1]), float(lc.gen[-1])))
        tmem[str(m)] = vals
    record["D"] = {"psi_p": 64, "psi_n": psi_ns, "tau_mem_half": tmem}

    with open(f"{args.out}.json", "w") as fh:
        json.dump(record, fh, indent=1)

    fig, axes = plt.subplots(2, 2, figsize=(13, 9.5))
    ax = axes[0, 0]
    for k, m in enumerate((1, 4, 32, None)):
        ax.plot(x, dens[str(m)], color=f"C{k}", lw=1.2, label=f"m = {m}" if m else r"m = $\infty$")
    ax.axvline(big.constants.s2, color="0.5", ls=":", lw=1, label=r"$s_t^2$ (atom at $m = \infty$)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylim(1e-4, 1e3)
    ax.set_xlabel(r"eigenvalue $\lambda$ of $U_m$")
    ax.set_ylabel(r"density $\rho(\lambda)$ (continuous part)")
    ax.set_title(r"A. spectrum of $U_m$, $\psi_p = 64$, $\psi_n = 8$, $t = 0.1$")
    ax.legend(fontsize=8)
    ax = axes[0, 1]
    for k, m in enumerate((1, 4, 32, None)):
        e = curves[str(m)]
        lab = f"m = {m if m else 'inf'}"
        ax.plot(tau, e["test"][:-1], color=f"C{k}", lw=1.5, label=rf"$L_{{test}}$, {lab}")
        ax.plot(tau, e["gen"][:-1], color=f"C{k}", lw=1, ls="--")
        if "sim" in e:
            ts = np.array([v if v is not None else 3e7 for v in e["sim"]["tau"]])
            ax.errorbar(ts, e["sim"]["test"], yerr=e["sim"]["se_test"], fmt="o", color=f"C{k}", ms=4,
                        capsize=2)
            gen = np.array(e["sim"]["test"]) - np.array(e["sim"]["train"])
            ax.errorbar(ts, gen, yerr=np.hypot(e["sim"]["se_test"], e["sim"]["se_train"]), fmt="s",
                        mfc="none", color=f"C{k}", ms=4, capsize=2)
    ax.set_xscale("log")
    ax.set_xlabel(r"$\tau$ (markers at $3\cdot 10^7$: $\tau = \infty$)")
    ax.set_ylabel(r"$L_{test}$ (solid), $L_{gen}$ (dashed)")
    ax.set_title(rf"B. curves, $\psi_p = 64$, $\psi_n = 8$; GE draws at $d = {args.d}$ (markers)")
    ax.legend(fontsize=8)
    ax = axes[1, 0]
    for sel, lab in (([m < 4 for m in ms], True), ([m > 4 for m in ms], False)):   # n m = p (m = 4) diverges
        mm = [m for m, keep in zip(ms, sel, strict=True) if keep]
        ax.plot(mm, [v for v, keep in zip(record["C"]["test"], sel, strict=True) if keep], "-", color="C0",
                label=r"$L_{test}(\infty)$ theory" if lab else None)
        ax.plot(mm, [v for v, keep in zip(record["C"]["gen"], sel, strict=True) if keep], "--", color="C3",
                label=r"$L_{gen}(\infty)$ theory" if lab else None)
    ax.axhline(record["C"]["test_inf"], color="C0", ls=":", lw=1, label=r"$m = \infty$")
    for kind, mk in (("ge", "o"), ("tanh", "^")):
        rows = sim_c[kind]
        ax.errorbar([r["m"] for r in rows], [r["test"] for r in rows], yerr=[r["se_test"] for r in rows],
                    fmt=mk, color="C0", mfc="none" if kind == "tanh" else None, capsize=2,
                    label=f"{'GE' if kind == 'ge' else 'tanh, Monte Carlo'} draws, d = 50")
    ax.axvline(4, color="0.5", ls=":", lw=1)
    ax.text(4.2, 0.04, r"$n m = p$ (diverges)", color="0.4", transform=ax.get_xaxis_transform())
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("noise draws per training point m")
    ax.set_ylabel(r"min-norm ($\tau = \infty$) loss")
    ax.set_title(r"C. $\tau = \infty$ against m, $\psi_p = 4$, $\psi_n = 1$, $t = 0.1$")
    ax.legend(fontsize=8)
    ax = axes[1, 1]
    for k, m in enumerate((1, 4, None)):
        vals = [v if v is not None else np.nan for v in tmem[str(m)]]
        ax.plot(psi_ns, vals, "o-", color=f"C{k}", label=f"m = {m}" if m else r"m = $\infty$")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(r"$\psi_n = n/d$")
    ax.set_ylabel(r"$\tau_{mem}$ ($L_{gen}$ at half its $\tau = \infty$ value)")
    ax.set_title(r"D. memorization time, $\psi_p = 64$, $t = 0.1$")
    ax.legend(fontsize=8)
    fig.tight_layout()
    for ext in ("png", "pdf"):
        fig.savefig(f"{args.out}.{ext}", dpi=130)
    print("tau_mem (half L_gen) at psi_p = 64, psi_n = 8:",
          {k: round(v["tau_mem_half"], 1) for k, v in curves.items()})


if __name__ == "__main__":
    main()
