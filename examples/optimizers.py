"""Does Adam shrink the generalization window? tau_gen, tau_mem under the flow, SGD and Adam (issue 12).

Setting: psi_p = 64, psi_n in {2, 4, 8, 16}, t = 0.1, tanh, N(0, I) data, d = 12 (p = 768, n = 24..192),
4 seeds (one draw of W, X per seed, shared by all optimizers), and the psi_n = 8 cell again at d = 20
(p = 1280) to check that the conclusions do not move with d. For each cell:

* the exact gradient flow (``simulate.gradient_flow``, noise averaged): the reference;
* SGD, batches of n/4 points with one fresh noise draw each, clock tau = k dtau;
* Adam, full batch, one fresh draw per point per step (the paper's protocol with Adam in place of GD),
  PyTorch's defaults (betas 0.9, 0.999, eps 1e-8), clock t = k lr (docs/simulate.md: no map to tau);
* Adam on m = 4 *fixed* draws per point (deterministic gradients), against the flow on the same draws
  (``gradient_flow(noise=4)``), psi_n = 8, to separate the role of the gradient noise.

Dynamical times as in rfdiff.phases: tau_gen where E_score first comes within 5 % of its minimum,
tau_mem where L_gen first reaches half of L_gen(inf) (L_gen(inf) of the flow: the loss has one
minimiser, reached by every optimizer). Each optimizer's times are in its own clock, so only unit-free
numbers are compared: the window tau_mem/tau_gen and the exponents of tau_mem and of the window in n.
Each optimizer runs twice per cell: a short run at a small step for tau_gen (the E_score minimum is
shallow, and the iterate noise of a larger step raises it) and a long run for tau_mem; both steps are
checked to be in the small-step limit at psi_n = 8 (the JSON holds the check).

Raw numbers go to docs/data/optimizers.json; the figures are made from it:

    python examples/optimizers.py                 # figures (./optimizers*.png/pdf) from the JSON
    python examples/optimizers.py --out docs/img/optimizers       # the documentation's figures
    python examples/optimizers.py --run [--seeds 4] [--cache DIR]    # recompute (~2-3 h, one thread)

Run the computation with ``nice -n 10`` and OMP_NUM_THREADS=1 NUMBA_NUM_THREADS=1 on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np

import rfdiff
from rfdiff import simulate

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "docs" / "data" / "optimizers.json"
D, PSI_P, T = 12, 64.0, 0.1
PSI_N = [2.0, 4.0, 8.0, 16.0]
SCORE_TOL, GEN_LEVEL = 0.05, 0.5
TAU_GRID = np.logspace(-1.0, 5.5, 781)
#: steps: SGD flow-time steps (gen, mem runs), Adam learning rates (gen, mem runs); checked at psi_n = 8.
#: Adam's flow time per step grows like lr d (its noise-limited rate, docs/optimizers.md), so its rates
#: are scaled by 20/d from values checked at d = 20 (lr 5e-4 and 8e-3 there)
SGD_DTAU = (0.01, 0.5)
ADAM_LR = (5e-4 * 20 / D, 8e-3 * 20 / D)


def adam_lr(d: int) -> tuple[float, float]:
    return (5e-4 * 20 / d, 8e-3 * 20 / d)

FIXED_DRAWS = 4
ADAM_LR_FIXED = (4e-3 * 20 / D, 2e-3 * 20 / D)
ADAM_T_FIXED = 20.0
#: the transfer check: one cell recomputed at this larger d
D_TRANSFER = 20
RECORDS = 160


# ----------------------------------------------------------------------------- reading the times


def first_crossing(time_: np.ndarray, y: np.ndarray, level: float, above: bool) -> float:
    """First time y crosses ``level`` (upwards if ``above``), linear in log time; nan if never."""
    hit = y >= level if above else y <= level
    if not np.any(hit):
        return math.nan
    k = int(np.argmax(hit))
    if k == 0:
        return float(time_[0])
    t0, t1 = time_[k - 1], time_[k]
    y0, y1 = y[k - 1], y[k]
    w = (level - y0) / (y1 - y0) if y1 != y0 else 1.0
    if t0 <= 0:
        return float(t0 + w * (t1 - t0))
    return float(math.exp(math.log(t0) + w * (math.log(t1) - math.log(t0))))


def read_times(time_: np.ndarray, score: np.ndarray, gen: np.ndarray, gen_inf: float) -> dict:
    smin = float(np.min(score))
    return {"tau_gen": first_crossing(time_, score, (1 + SCORE_TOL) * smin, above=False),
            "score_min": smin, "tau_mem": first_crossing(time_, gen, GEN_LEVEL * gen_inf, above=True)}


# ----------------------------------------------------------------------------- the runs


def flow_cell(model, mats) -> tuple[dict, simulate.FlowCurves]:
    fl = simulate.gradient_flow(model, TAU_GRID, matrices=mats)
    gen_inf = fl.test_inf - fl.train_inf
    return read_times(fl.tau, fl.score, fl.gen, gen_inf) | {"gen_inf": gen_inf}, fl


def run_until(model, mats, gen_inf, *, need_mem: bool, time_end: float, step: float, opt: str, seed: int,
              batch=None, noise="fresh", record_weights=False, max_doublings=3):
    """Train until the clock reaches time_end (doubled until L_gen passes its half-rise, if needed)."""
    for _ in range(max_doublings + 1):
        steps = max(10, math.ceil(time_end / step))
        kw = dict(optimizer=opt, steps=steps, record=RECORDS, seed=seed, noise=noise,
                  record_weights=record_weights)
        if opt in ("gd", "sgd"):
            kw["dtau"] = step
        else:
            kw["lr"] = step
        if batch is not None:
            kw["batch_size"] = batch
        t0 = time.perf_counter()
        run = simulate.train(model, matrices=mats, **kw)
        sec = time.perf_counter() - t0
        times = read_times(run.time, run.score, run.gen, gen_inf)
        if not need_mem or math.isfinite(times["tau_mem"]):
            return run, times, sec
        time_end *= 2
    return run, times, sec


def curve_summary(run, every: int = 1) -> dict:
    out = {"time": run.time[::every].tolist(), "train": run.train[::every].tolist(),
           "test": run.test[::every].tolist(), "gen": run.gen[::every].tolist(),
           "score": run.score[::every].tolist()}
    if run.tau_equiv is not None:
        out["tau_equiv"] = run.tau_equiv[::every].tolist()
    return out


def mode_progress(run, mats) -> dict:
    """Per eigenmode a of U: progress h_a = <C_a, C*_a>/|C*_a|^2 of C = B Q towards the minimiser."""
    lam, Q = np.linalg.eigh(mats.U)
    R = Q.T @ mats.V  # p x d
    target = -(R / lam[:, None]) / math.sqrt(mats.delta)  # rows: C*_a (B* Q)^T
    norm2 = np.sum(target**2, axis=1)
    keep = norm2 >= 1e-6 * norm2.max()  # modes that carry the solution (not the atom)
    Bq = np.einsum("kdp,pa->kad", run.weights / math.sqrt(mats.p), Q)  # records x modes x d
    prog = np.einsum("kad,ad->ka", Bq[:, keep], target[keep]) / norm2[keep]
    half = [first_crossing(run.time, prog[:, j], 0.5, above=True) for j in range(prog.shape[1])]
    kappa = 2 * mats.delta / (mats.p / mats.d)
    return {"eigenvalue": lam[keep].tolist(), "weight": norm2[keep].tolist(),
            "flow_half": (math.log(2) / (kappa * lam[keep])).tolist(), "half": half}


def optimizer_cell(model, mats, flow: dict, opt: str, steps: tuple[float, float], seed: int,
                   record_weights: bool = False) -> tuple[dict, object]:
    """The gen run (small step) and the mem run (larger step) of one optimizer on one cell."""
    gi = flow["gen_inf"]
    psi_n = model.psi_n
    if opt == "sgd":  # clock = flow time: the gen run to 6 tau_gen, the mem run to 1.6 tau_mem
        batch, gen_end, mem_end = mats.n // 4, 6 * flow["tau_gen"], 1.6 * flow["tau_mem"]
    else:  # Adam's clock t = k lr: t_gen ~ 0.5 at psi_n = 8, d = 20, and late in the run tau grows by
        # about 60 sqrt(psi_n/8) per unit t there (pilot), both scaling as d: the mem run is doubled if short
        dim = mats.d
        batch, gen_end = None, (1.5 * math.sqrt(8 / psi_n) + 0.5) * 20 / dim
        mem_end = 1.6 * flow["tau_mem"] / (60 * math.sqrt(psi_n / 8) * dim / 20)
    _, g, sg = run_until(model, mats, gi, need_mem=False, time_end=gen_end, step=steps[0], opt=opt, seed=seed,
                         batch=batch)
    mrun, mm, sm = run_until(model, mats, gi, need_mem=True, time_end=mem_end, step=steps[1], opt=opt,
                             seed=seed, batch=batch, record_weights=record_weights)
    res = {"steps": list(steps), "batch_size": mrun.batch_size, "tau_gen": g["tau_gen"],
           "score_min": g["score_min"], "tau_mem": mm["tau_mem"], "score_min_mem_run": mm["score_min"],
           "seconds": sg + sm, "curve": curve_summary(mrun, 2)}
    return res, mrun


def fixed_draws_cell(model, seed: int) -> dict:
    """Adam with deterministic gradients: full batch on m fixed draws, against the flow on the same draws."""
    mats = simulate.correlation_matrices(model, d=D, seed=seed, noise=FIXED_DRAWS)
    fl = simulate.gradient_flow(model, TAU_GRID, matrices=mats)
    gi = fl.test_inf - fl.train_inf
    flow = read_times(fl.tau, fl.score, fl.gen, gi) | {"gen_inf": gi}
    res = {"m": FIXED_DRAWS, "flow": flow,
           "flow_curve": {"tau": fl.tau[::6].tolist(), "train": fl.train[::6].tolist(),
                          "test": fl.test[::6].tolist(), "gen": fl.gen[::6].tolist(),
                          "score": fl.score[::6].tolist()}}
    for lr in ADAM_LR_FIXED:
        run, times, sec = run_until(model, mats, gi, need_mem=True, time_end=ADAM_T_FIXED, step=lr,
                                    opt="adam", seed=seed, noise=FIXED_DRAWS)
        res[f"adam_lr_{lr:g}"] = times | {"lr": lr, "seconds": sec, "curve": curve_summary(run, 2)}
    return res


def _cached(cache: Path, key: str, fn):
    path = cache / f"{key}.json"
    if path.exists():
        return json.loads(path.read_text())
    res = fn()
    cache.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(res))
    return res


def compute_cell(psi_n: float, seed: int, cache: Path, d: int = D) -> dict:
    model = rfdiff.RFModel(psi_p=PSI_P, psi_n=psi_n, t=T)
    check = psi_n == 8 and seed == 0 and d == D
    lrs = adam_lr(d)

    def cell() -> dict:
        t0 = time.perf_counter()
        mats = simulate.correlation_matrices(model, d=d, seed=seed)
        flow, fl = flow_cell(model, mats)
        out = {"psi_n": psi_n, "seed": seed, "n": mats.n, "p": mats.p, "flow": flow,
               "flow_curve": {"tau": fl.tau[::6].tolist(), "train": fl.train[::6].tolist(),
                              "test": fl.test[::6].tolist(), "gen": fl.gen[::6].tolist(),
                              "score": fl.score[::6].tolist()}}
        out["sgd"], _ = optimizer_cell(model, mats, flow, "sgd", SGD_DTAU, seed)
        out["adam"], mrun = optimizer_cell(model, mats, flow, "adam", lrs, seed, record_weights=check)
        if check:
            modes = mode_progress(mrun, mats) | {"psi_n": psi_n, "seed": seed}
            (cache / "modes.json").write_text(json.dumps(modes))
        out["seconds"] = time.perf_counter() - t0
        print(f"psi_n={psi_n:g} seed={seed}: window flow {flow['tau_mem'] / flow['tau_gen']:.0f}, "
              f"sgd {out['sgd']['tau_mem'] / out['sgd']['tau_gen']:.0f}, "
              f"adam {out['adam']['tau_mem'] / out['adam']['tau_gen']:.0f} ({out['seconds']:.0f} s)",
              flush=True)
        return out

    cache.mkdir(parents=True, exist_ok=True)
    res = _cached(cache, f"cell_{psi_n:g}_{seed}" + ("" if d == D else f"_d{d}"), cell)
    if check:  # the small-step limit: both steps of both optimizers halved
        def halved() -> dict:
            mats = simulate.correlation_matrices(model, d=D, seed=seed)
            flow = res["flow"]
            return {"sgd_half_steps": optimizer_cell(model, mats, flow, "sgd",
                                                     tuple(h / 2 for h in SGD_DTAU), seed)[0],
                    "adam_half_steps": optimizer_cell(model, mats, flow, "adam",
                                                      tuple(h / 2 for h in ADAM_LR), seed)[0]}
        _cached(cache, "checks", halved)
    return res


def assemble(cache: Path, seeds: int) -> dict:
    cells = [json.loads((cache / f"cell_{pn:g}_{s}.json").read_text()) for pn in PSI_N for s in range(seeds)]
    return {"setting": {"d": D, "psi_p": PSI_P, "t": T, "psi_n": PSI_N, "seeds": seeds,
                        "sgd_dtau": SGD_DTAU, "adam_lr": ADAM_LR, "sgd_batch": "n/4",
                        "score_tol": SCORE_TOL, "gen_level": GEN_LEVEL, "records": RECORDS,
                        "fixed_draws": FIXED_DRAWS, "adam_lr_fixed": ADAM_LR_FIXED},
            "cells": cells, "checks": json.loads((cache / "checks.json").read_text()),
            "modes": json.loads((cache / "modes.json").read_text()),
            "fixed_draws": json.loads((cache / "fixed.json").read_text()),
            "transfer": json.loads((cache / f"cell_8_0_d{D_TRANSFER}.json").read_text())}


# ----------------------------------------------------------------------------- analysis and figures

OPTS = (("flow", "gradient flow (exact)", "k", "D"), ("sgd", "SGD, batch n/4", "C0", "o"),
        ("adam", "Adam, full batch", "C3", "s"))


def window_table(res: dict) -> dict:
    """Per optimizer and psi_n: tau_gen, tau_mem, window over seeds; exponents with 95 % intervals."""
    from scipy import stats

    seeds = res["setting"]["seeds"]
    psi = np.array(res["setting"]["psi_n"])
    out = {}
    for key, *_ in OPTS:
        gen = np.array([[c[key]["tau_gen"] for c in res["cells"] if c["psi_n"] == pn] for pn in psi])
        mem = np.array([[c[key]["tau_mem"] for c in res["cells"] if c["psi_n"] == pn] for pn in psi])
        win = mem / gen
        fits = {}
        for name, vals in (("tau_mem", mem), ("tau_gen", gen), ("window", win)):
            slopes = [np.polyfit(np.log(psi), np.log(vals[:, s]), 1)[0] for s in range(seeds)]
            half = (stats.t.ppf(0.975, seeds - 1) * np.std(slopes, ddof=1) / math.sqrt(seeds)
                    if seeds > 1 else 0.0)
            fits[name] = {"exponent": float(np.mean(slopes)), "ci95": [float(np.mean(slopes) - half),
                                                                       float(np.mean(slopes) + half)],
                          "per_seed": [float(x) for x in slopes]}
        out[key] = {"psi_n": psi.tolist(), "tau_gen": gen.tolist(), "tau_mem": mem.tolist(),
                    "window": win.tolist(), "window_mean": win.mean(axis=1).tolist(),
                    "window_sd": win.std(axis=1, ddof=1).tolist(), "fits": fits}
    # Adam's window relative to the flow's, per cell (same W, X, seed)
    ratio = np.array(out["adam"]["window"]) / np.array(out["flow"]["window"])
    out["adam_over_flow"] = {"mean": ratio.mean(axis=1).tolist(), "sd": ratio.std(axis=1, ddof=1).tolist()}
    ratio = np.array(out["sgd"]["window"]) / np.array(out["flow"]["window"])
    out["sgd_over_flow"] = {"mean": ratio.mean(axis=1).tolist(), "sd": ratio.std(axis=1, ddof=1).tolist()}
    # paired exponent: the optimizer's window over the flow's on the same draw, fitted in psi_n per seed
    for key in ("adam", "sgd"):
        ratio = np.array(out[key]["window"]) / np.array(out["flow"]["window"])
        slopes = np.array([np.polyfit(np.log(psi), np.log(ratio[:, s]), 1)[0] for s in range(seeds)])
        half = stats.t.ppf(0.975, seeds - 1) * slopes.std(ddof=1) / math.sqrt(seeds) if seeds > 1 else 0.0
        out[f"{key}_over_flow"]["exponent"] = float(slopes.mean())
        out[f"{key}_over_flow"]["ci95"] = [float(slopes.mean() - half), float(slopes.mean() + half)]
    return out


def theory_windows(res: dict) -> dict:
    """The d -> infinity flow's dynamical times (RFModel.dynamical_timescales, same definitions; ~3 s)."""
    st = res["setting"]
    gen, mem = [], []
    for pn in st["psi_n"]:
        dyn = rfdiff.RFModel(st["psi_p"], pn, st["t"]).dynamical_timescales()
        gen.append(dyn.tau_gen_dyn)
        mem.append(dyn.tau_mem_dyn)
    psi = np.log(st["psi_n"])
    win = np.array(mem) / np.array(gen)
    return {"tau_gen": gen, "tau_mem": mem, "window": win.tolist(),
            "exponents": {name: float(np.polyfit(psi, np.log(v), 1)[0])
                          for name, v in (("tau_gen", gen), ("tau_mem", mem), ("window", win))}}


def clock_map(flow_curve: dict, curve: dict) -> np.ndarray:
    """The flow time at which the flow has the same L_train as each record of ``curve`` (time-free match)."""
    tau, train = np.array(flow_curve["tau"]), np.array(flow_curve["train"])
    order = np.argsort(train)  # L_train decreases monotonically along the flow
    return np.interp(np.array(curve["train"]), train[order], tau[order], left=np.nan, right=np.nan)


def mechanism(res: dict) -> dict:
    """Is Adam the flow on another clock? Per psi_n (mean over seeds), from the clock map tau(t):

    gen_match, mem_match: tau(t_gen)/tau_gen and tau(t_mem)/tau_mem of the flow (1 for a pure change of
    clock); predicted: the window ratio Adam/flow that the clock alone gives, (tau(t_gen)/t_gen) /
    (tau(t_mem)/t_mem); measured: Adam's window over the flow's; rate_gen, rate_mem: d tau_equiv/dt at
    t_gen and t_mem.
    """
    out = {}
    for pn in res["setting"]["psi_n"]:
        rows = []
        for c in (c for c in res["cells"] if c["psi_n"] == pn):
            cur = c["adam"]["curve"]
            t = np.array(cur["time"])
            cm = clock_map(c["flow_curve"], cur)
            ok = np.isfinite(cm) & (t > 0)
            tg, tm = c["adam"]["tau_gen"], c["adam"]["tau_mem"]
            taug = math.exp(np.interp(math.log(tg), np.log(t[ok]), np.log(cm[ok])))
            taum = math.exp(np.interp(math.log(tm), np.log(t[ok]), np.log(cm[ok])))
            rate = np.gradient(np.array(cur["tau_equiv"]), t)
            rg = float(np.interp(math.log(tg), np.log(t[1:]), rate[1:]))
            rm = float(np.interp(math.log(tm), np.log(t[1:]), rate[1:]))
            fl = c["flow"]
            rows.append((taug / fl["tau_gen"], taum / fl["tau_mem"], (taug / tg) / (taum / tm),
                         (tm / tg) / (fl["tau_mem"] / fl["tau_gen"]), rg, rm))
        r = np.array(rows)
        out[pn] = dict(zip(("gen_match", "mem_match", "predicted", "measured", "rate_gen", "rate_mem"),
                           r.mean(axis=0).tolist()))
    return out


def mode_summary(res: dict) -> dict:
    """Slopes of log t_a against log tau_a (Adam's against the flow's half-time per eigenmode) by
    component, and how far the clock map puts each mode from its flow half-time."""
    md = res["modes"]
    cell = next(c for c in res["cells"] if c["psi_n"] == md["psi_n"] and c["seed"] == md["seed"])
    lam, ta, tf = np.array(md["eigenvalue"]), np.array(md["half"]), np.array(md["flow_half"])
    ok = np.isfinite(ta)
    out = {"modes": int(ok.sum()), "slopes": {}}
    for name, lo, hi in (("below 0.05 (cluster, atom tail)", 0.0, 0.05), ("0.05-0.5 (rho_1)", 0.05, 0.5),
                         ("above 1 (rho_2)", 1.0, np.inf)):
        sel = ok & (lam >= lo) & (lam < hi)
        if sel.sum() > 3:
            out["slopes"][name] = float(np.polyfit(np.log(tf[sel]), np.log(ta[sel]), 1)[0])
    cm = clock_map(cell["flow_curve"], cell["adam"]["curve"])
    t = np.array(cell["adam"]["curve"]["time"])
    good = np.isfinite(cm) & (t > 0)
    dev = np.abs(np.interp(np.log(ta[ok]), np.log(t[good]), np.log(cm[good])) - np.log(tf[ok]))
    out["clock_map_median_log_dev"] = float(np.median(dev))
    out["clock_map_90pct_log_dev"] = float(np.quantile(dev, 0.9))
    return out


def figures(res: dict, out: str, theory: dict | None = None) -> dict:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tab = window_table(res)
    st = res["setting"]
    title = (rf"$\psi_p$ = {st['psi_p']:g}, t = {st['t']:g}, d = {st['d']}, tanh, {st['seeds']} seeds; "
             rf"Adam lr = {st['adam_lr'][1]:g} (mem) / {st['adam_lr'][0]:g} (gen), "
             rf"SGD d$\tau$ = {st['sgd_dtau'][1]:g} / {st['sgd_dtau'][0]:g}")
    cell = next(c for c in res["cells"] if c["psi_n"] == 8 and c["seed"] == 0)
    fig, axes = plt.subplots(2, 2, figsize=(13, 9.5))
    ax = axes[0, 0]
    for key, label, color, marker in OPTS:
        cur = cell["flow_curve"] if key == "flow" else cell[key]["curve"]
        x = np.array(cur["tau"] if key == "flow" else cur["time"]) / cell[key]["tau_gen"]
        gen = np.array(cur["gen"]) / cell["flow"]["gen_inf"]
        ok = x > 0
        if key == "flow":
            ax.plot(x[ok], gen[ok], color=color, ls="-", label=label)
        else:
            ax.plot(x[ok], gen[ok], color=color, marker=marker, ls="none", ms=3.5, label=label)
        ax.axvline(cell[key]["tau_mem"] / cell[key]["tau_gen"], color=color, ls=":", lw=1)
    ax.axhline(0.5, color="0.6", lw=0.8)
    ax.set_xscale("log")
    ax.set_xlabel(r"own clock / own $\tau_{gen}$  ($\tau$ for flow and SGD, $t = k\,$lr for Adam)")
    ax.set_ylabel(r"$L_{gen} / L_{gen}(\infty)$")
    ax.set_title(r"A. $\psi_n$ = 8, seed 0: the window $\tau_{mem}/\tau_{gen}$ (dotted) in each clock")
    ax.legend(fontsize=8)
    ax = axes[0, 1]
    for key, label, color, marker in OPTS:
        cur = cell["flow_curve"] if key == "flow" else cell[key]["curve"]
        if key == "flow":
            ax.plot(cur["train"], cur["test"], color=color, label=label)
        else:
            ax.plot(cur["train"], cur["test"], color=color, marker=marker, ls="none", ms=3.5, label=label)
    ax.set_xlabel(r"$L_{train}$")
    ax.set_ylabel(r"$L_{test}$")
    ax.invert_xaxis()
    ax.set_title(r"B. $\psi_n$ = 8: $L_{test}$ against $L_{train}$ (no clock)")
    ax.legend(fontsize=8)
    psi = np.array(st["psi_n"])
    for ax, name, ylabel, ttl in (
        (axes[1, 0], "window", r"$\tau_{mem}/\tau_{gen}$ (own clock)", "C. the generalization window"),
        (axes[1, 1], "tau_mem", r"$\tau_{mem}$ / its value at $\psi_n$ = 8", r"D. $\tau_{mem}$ (own clock)"),
    ):
        for key, label, color, marker in OPTS:
            vals = np.array(tab[key][name])
            if name == "tau_mem":
                vals = vals / vals[list(psi).index(8.0)][None, :]
            mean = np.exp(np.log(vals).mean(axis=1))
            lo, hi = vals.min(axis=1), vals.max(axis=1)
            fit = tab[key]["fits"][name]
            lab = f"{label}: exponent {fit['exponent']:.2f} [{fit['ci95'][0]:.2f}, {fit['ci95'][1]:.2f}]"
            ax.errorbar(psi, mean, yerr=[mean - lo, hi - mean], color=color, marker=marker, ls="none",
                        capsize=3, label=lab)
            slope, icpt = np.polyfit(np.log(psi), np.log(mean), 1)
            ax.plot(psi, np.exp(icpt) * psi**slope, color=color, lw=0.8)
        if theory is not None:
            th = np.array(theory[name])
            if name == "tau_mem":
                th = th / th[list(psi).index(8.0)]
            ax.plot(psi, th, "k--", lw=1.2,
                    label=f"theory d = $\\infty$ (flow): exponent {theory['exponents'][name]:.2f}")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(r"$\psi_n = n/d$")
        ax.set_ylabel(ylabel)
        ax.set_title(ttl + " (geometric mean, bars: range over seeds)")
        ax.legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    for ext in ("png", "pdf"):
        fig.savefig(f"{out}.{ext}", dpi=130)
    plt.close(fig)

    # modes and the clock
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.8))
    modes = res["modes"]
    ax = axes[0]
    tau_a, t_a, lam = np.array(modes["flow_half"]), np.array(modes["half"]), np.array(modes["eigenvalue"])
    ok = np.isfinite(t_a)
    sc = ax.scatter(tau_a[ok], t_a[ok], c=np.log10(lam[ok]), s=8, cmap="viridis")
    fig.colorbar(sc, ax=ax, label=r"$\log_{10}\lambda_a$")
    cm = clock_map(cell["flow_curve"], cell["adam"]["curve"])
    tt = np.array(cell["adam"]["curve"]["time"])
    good = np.isfinite(cm) & (tt > 0)
    ax.plot(cm[good], tt[good], color="C3", label=r"clock map: same $L_{train}$ as the flow")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(r"flow half-time of mode $a$, $\ln 2/(\kappa\lambda_a)$")
    ax.set_ylabel(r"Adam half-time $t_a$ (projection of $B_k Q$ on $B_\infty Q$)")
    ax.set_title(r"A. per eigenmode of $U$ ($\psi_n$ = 8, seed 0)")
    ax.legend(fontsize=8)
    ax = axes[1]
    cur = cell["adam"]["curve"]
    teq, tt = np.array(cur["tau_equiv"]), np.array(cur["time"])
    rate = np.diff(teq) / np.diff(tt)
    mid = np.sqrt(tt[1:] * tt[:-1])
    ok = np.isfinite(rate) & (mid > 0)
    ax.plot(mid[ok] / cell["adam"]["tau_gen"], rate[ok], "s", color="C3", ms=3.5,
            label=r"$d\tau_{equiv}/dt$ = mean$_{ij}$ 1/(d$^2$($\sqrt{\hat v_{ij}}$+$\epsilon$))")
    ok2 = np.isfinite(cm) & (tt > 0)
    dcm = np.diff(cm[ok2]) / np.diff(tt[ok2])
    ax.plot(np.sqrt(tt[ok2][1:] * tt[ok2][:-1]) / cell["adam"]["tau_gen"], dcm, ".", color="0.4", ms=3,
            label=r"$d\tau_{match}/dt$ (clock map of panel A)")
    ax.axvline(1.0, color="0.6", lw=0.8)
    ax.axvline(cell["adam"]["tau_mem"] / cell["adam"]["tau_gen"], color="0.6", lw=0.8, ls=":")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(r"$t / t_{gen}$ (Adam)")
    ax.set_ylabel(r"flow time per unit of Adam time")
    ax.set_title(r"B. Adam's clock speeds up after $t_{gen}$ (dotted: $t_{mem}$)")
    ax.legend(fontsize=8)
    ax = axes[2]
    fx = res["fixed_draws"]
    fc = fx["flow_curve"]
    ax.plot(np.array(fc["tau"]) / fx["flow"]["tau_gen"], np.array(fc["gen"]) / fx["flow"]["gen_inf"], "k-",
            label=f"flow on m = {fx['m']} fixed draws: window "
                  f"{fx['flow']['tau_mem'] / fx['flow']['tau_gen']:.0f}")
    for i, key in enumerate(k for k in fx if k.startswith("adam_lr_")):
        r = fx[key]
        x = np.array(r["curve"]["time"]) / r["tau_gen"]
        ok = x > 0
        ax.plot(x[ok], np.array(r["curve"]["gen"])[ok] / fx["flow"]["gen_inf"], marker="sd"[i % 2], ls="none",
                ms=3.5, color=f"C{3 + i}",
                label=f"Adam lr = {r['lr']:g}: window {r['tau_mem'] / r['tau_gen']:.0f}")
    ax.axhline(0.5, color="0.6", lw=0.8)
    ax.set_xscale("log")
    ax.set_xlabel(r"own clock / own $\tau_{gen}$")
    ax.set_ylabel(r"$L_{gen}/L_{gen}(\infty)$")
    ax.set_title(r"C. deterministic gradients (fixed draws), $\psi_n$ = 8")
    ax.legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    for ext in ("png", "pdf"):
        fig.savefig(f"{out}_modes.{ext}", dpi=130)
    plt.close(fig)
    return tab


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", action="store_true", help="recompute docs/data/optimizers.json")
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--only-seeds", type=int, nargs="*", default=None,
                        help="with --run: compute only these seeds (to split the work between processes)")
    parser.add_argument("--psi-n", type=float, nargs="*", default=PSI_N, help="cells to compute (with --run)")
    parser.add_argument("--cache", type=Path, default=Path("optimizers_cache"),
                        help="directory of the per-cell results (a rerun resumes from it)")
    parser.add_argument("--fixed", action="store_true", help="with --run: the fixed-draws Adam experiment")
    parser.add_argument("--transfer", action="store_true",
                        help=f"with --run: the psi_n = 8 cell again at d = {D_TRANSFER}")
    parser.add_argument("--out", default="optimizers",
                        help="figure path without extension (PNG and PDF; '_modes' added for the second; "
                             "default: ./optimizers; docs/img/optimizers refreshes the documentation's)")
    args = parser.parse_args()
    if args.run:
        for psi_n in args.psi_n:
            for seed in range(args.seeds) if args.only_seeds is None else args.only_seeds:
                compute_cell(psi_n, seed, args.cache)
        if args.fixed:
            _cached(args.cache, "fixed", lambda: fixed_draws_cell(rfdiff.RFModel(PSI_P, 8.0, T), 0))
        if args.transfer:
            compute_cell(8.0, 0, args.cache, d=D_TRANSFER)
        try:
            res = assemble(args.cache, args.seeds)
        except FileNotFoundError as err:
            print(f"not all pieces computed yet ({err.filename}); rerun with the other cells / --fixed")
            return
        DATA.parent.mkdir(parents=True, exist_ok=True)
        DATA.write_text(json.dumps(res, indent=1))
    if not DATA.exists():
        raise SystemExit(f"{DATA} does not exist: run with --run first")
    res = json.loads(DATA.read_text())
    theory = theory_windows(res)
    tab = figures(res, args.out, theory)
    print("theory d = inf (flow): tau_gen", np.round(theory["tau_gen"], 2).tolist(), "tau_mem",
          np.round(theory["tau_mem"], 0).tolist(), "window", np.round(theory["window"], 1).tolist(),
          "exponents", {k: round(v, 3) for k, v in theory["exponents"].items()})
    for key, *_ in OPTS:
        f = tab[key]["fits"]
        print(f"{key:5s} window {np.round(tab[key]['window_mean'], 1).tolist()}  exponents: "
              + ", ".join(f"{k} {v['exponent']:.3f} [{v['ci95'][0]:.3f}, {v['ci95'][1]:.3f}]"
                          for k, v in f.items()))
    for key in ("adam", "sgd"):
        r = tab[f"{key}_over_flow"]
        print(f"{key} window / flow window:", np.round(r["mean"], 3).tolist(), "sd",
              np.round(r["sd"], 3).tolist(),
              f"exponent in psi_n {r['exponent']:.3f} [{r['ci95'][0]:.3f}, {r['ci95'][1]:.3f}]")
    for pn, row in mechanism(res).items():
        print(f"mechanism psi_n={pn:g}: " + ", ".join(f"{k} {v:.3f}" for k, v in row.items()))
    print("modes:", mode_summary(res))
    ck = res["checks"]
    cell = next(c for c in res["cells"] if c["psi_n"] == 8 and c["seed"] == 0)
    for key in ("sgd", "adam"):
        a, b = cell[key], ck[f"{key}_half_steps"]
        print(f"small-step check {key}: window {a['tau_mem'] / a['tau_gen']:.1f} -> "
              f"{b['tau_mem'] / b['tau_gen']:.1f} (tau_gen {a['tau_gen']:.4g} -> {b['tau_gen']:.4g}, "
              f"tau_mem {a['tau_mem']:.4g} -> {b['tau_mem']:.4g}, E_score min {a['score_min']:.4f} -> "
              f"{b['score_min']:.4f}; flow {cell['flow']['score_min']:.4f})")
    tr = res["transfer"]
    win = {k: tr[k]["tau_mem"] / tr[k]["tau_gen"] for k in ("flow", "sgd", "adam")}
    print(f"transfer d = {D_TRANSFER}: windows flow {win['flow']:.1f}, sgd {win['sgd']:.1f}, "
          f"adam {win['adam']:.1f}; Adam/flow {win['adam'] / win['flow']:.3f} "
          f"(d = {D}: {tab['adam_over_flow']['mean'][2]:.3f})")
    fx = res["fixed_draws"]
    print(f"fixed draws m = {fx['m']}: flow window {fx['flow']['tau_mem'] / fx['flow']['tau_gen']:.0f} "
          f"(tau_gen {fx['flow']['tau_gen']:.3g}, tau_mem {fx['flow']['tau_mem']:.4g}); "
          + "; ".join(f"Adam lr {v['lr']:.3g}: window {v['tau_mem'] / v['tau_gen']:.0f} "
                      f"(t_gen {v['tau_gen']:.3g}, t_mem {v['tau_mem']:.3g})"
                      for k, v in fx.items() if k.startswith("adam_lr_")))


if __name__ == "__main__":
    main()
