"""Draw the figures of docs/generate.md and write summary.json from the JSON files of run.py.

    python docs/data/generate/figures.py [--out docs/img]

Reads main.json, wide.json, dims.json, grid.json, theory.json, project.json, noise.json, inf.json (those
present) beside this file (inf.json, when present, replaces main's tau = inf entries: see run.py inf);
writes docs/img/generate_*.png and docs/data/generate/summary.json (the numbers quoted in
docs/generate.md: f_mem(inf), tau_mem^gen and tau_gen^gen with intervals, the exponents, the onset rule,
the sensitivity to the grid).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))

from rfdiff import plot  # noqa: E402
from rfdiff.generate import study  # noqa: E402


def load(name: str) -> dict | None:
    path = HERE / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def _save(fig, out: Path, name: str) -> None:
    fig.savefig(out / f"{name}.png", dpi=110)
    fig.savefig(out / f"{name}.pdf")
    plt.close(fig)
    print(f"wrote {out / name}.png and .pdf", file=sys.stderr)


def _tau(v):
    return math.inf if v == "inf" else float(v)


def fig_curves(main: dict, out: Path) -> None:
    psi_ps = sorted({s["psi_p"] for s in main["settings"]})
    fig, axes = plt.subplots(len(psi_ps), 2, figsize=(13, 4.6 * len(psi_ps)), squeeze=False,
                             layout="constrained")
    for row, psi_p in zip(axes, psi_ps):
        sub = [s for s in main["settings"] if s["psi_p"] == psi_p]
        s0 = sub[0]
        plot.memorization(sub, ax=row[0], title=f"memorization fraction: d = {s0['d']}, p = {s0['p']}, "
                                                 f"{s0['seeds']} seeds (mean, s.e.)")
        plot.memorization(sub, ax=row[1], quantity="frechet",
                          title=f"sample quality: d = {s0['d']}, p = {s0['p']}")
    _save(fig, out, "generate_curves")


def fig_scaling(main: dict, out: Path, onsets: dict) -> None:
    fig, (a, b) = plt.subplots(1, 2, figsize=(13, 4.6), layout="constrained")
    fits = [dict(e["memorizing"], psi_p=e["psi_p"]) for e in onsets["exponents"] if e["definition"] == "half"]
    plot.tau_mem_scaling(main, ax=a, exponents=fits, min_f_inf=onsets["min_f_inf"],
                         title=f"onset of memorization in samples, d = {main['settings'][0]['d']} "
                               f"(fits over the settings with f_mem(inf) >= {onsets['min_f_inf']})")
    for j, psi_p in enumerate(sorted({s["psi_p"] for s in main["settings"]})):
        rows = [s for s in main["settings"] if s["psi_p"] == psi_p and s["tau_gen_gen"]["geomean"]]
        n = np.array([s["n"] for s in rows], float)
        g = np.array([s["tau_gen_gen"]["geomean"] for s in rows])
        lo = np.array([s["tau_gen_gen"]["lo"] for s in rows])
        hi = np.array([s["tau_gen_gen"]["hi"] for s in rows])
        b.errorbar(n, g, yerr=np.vstack([g - lo, hi - g]), fmt="s", mfc="none", capsize=3, color=f"C{j}",
                   label=rf"$\psi_p$ = {psi_p:g}")
    b.set_xscale("log")
    b.set_yscale("log")
    b.set_xlabel("number of training points n")
    b.set_ylabel(r"$\tau_{gen}^{gen}$ (Fréchet within noise of its best)")
    b.set_title("onset of good quality in samples", fontsize=10)
    b.legend(fontsize=8)
    _save(fig, out, "generate_scaling")


def _fit(points: list[tuple[float, float]]) -> dict:
    """OLS slope of log tau on log n with a 95 % t interval (None when fewer than 3 points / 2 distinct n)."""
    from scipy import stats

    xs = [math.log(n) for n, _ in points]
    ys = [math.log(t) for _, t in points]
    if len(xs) < 3 or len(set(xs)) < 2:
        return {"slope": None, "lo": None, "hi": None, "points": len(xs)}
    fit = stats.linregress(xs, ys)
    half = float(stats.t.ppf(0.975, len(xs) - 2) * fit.stderr)
    return {"slope": float(fit.slope), "lo": float(fit.slope - half), "hi": float(fit.slope + half),
            "intercept": float(fit.intercept), "points": len(xs), "n": sorted({int(n) for n, _ in points})}


def onset_table(main: dict, levels=(0.01, 0.05), min_f_inf: float = 0.2) -> dict:
    """tau_mem^gen per setting for the half-rise (stored) and absolute levels (read off the stored curves),
    with exponents of tau against n per psi_p: over every setting, and over the memorizing regime only
    (settings whose mean f_mem(inf) >= min_f_inf)."""
    from rfdiff.generate.metrics import _log_crossing

    rows = []
    for r in main["results"]:
        c = r["curve"]
        tau = np.array([_tau(v) for v in c["tau"]])
        f = np.array(c["f_mem"])
        fin = np.isfinite(tau)
        row = {"psi_p": r["point"]["psi_p"], "psi_n": r["point"]["psi_n"], "n": c["params"]["n"],
               "seed": r["point"]["seed"], "f_inf": float(f[-1]), "half": c["tau_mem_gen"]}
        for lev in levels:
            v = _log_crossing(tau[fin], f[fin], lev)
            row[f"level_{lev:g}"] = None if math.isnan(v) else v
        rows.append(row)
    f_inf_mean: dict = {}
    for row in rows:
        f_inf_mean.setdefault((row["psi_p"], row["psi_n"]), []).append(row["f_inf"])
    out: dict = {"rows": rows, "min_f_inf": min_f_inf, "exponents": []}
    for psi_p in sorted({row["psi_p"] for row in rows}):
        for key in ["half", *[f"level_{lev:g}" for lev in levels]]:
            sel = [row for row in rows if row["psi_p"] == psi_p and row[key] is not None]
            mem = [row for row in sel if np.mean(f_inf_mean[(row["psi_p"], row["psi_n"])]) >= min_f_inf]
            out["exponents"].append({"psi_p": psi_p, "definition": key,
                                     "all": _fit([(row["n"], row[key]) for row in sel]),
                                     "memorizing": _fit([(row["n"], row[key]) for row in mem])})
    return out


def onsets_by_setting(main: dict) -> dict:
    """Mean over seeds of the finite-size single-time onsets per (psi_p, psi_n)."""
    acc: dict = {}
    for r in main["results"]:
        if r["flow"] is None:
            continue
        fs = study.finite_size_onsets(r)
        key = (r["point"]["psi_p"], r["point"]["psi_n"])
        acc.setdefault(key, []).append(np.array(fs["tau_mem_fs"], float))
        acc[(*key, "times")] = np.array(fs["times"])
    out = {}
    for key, vals in acc.items():
        if len(key) == 2:
            arr = np.array(vals)
            with np.errstate(invalid="ignore"):
                out[key] = (acc[(*key, "times")], np.exp(np.nanmean(np.log(arr), axis=0)))
    return out


def fig_onset(main: dict, theory: dict, out: Path) -> list:
    ths = {(t["psi_p"], t["psi_n"]): t for t in theory["theories"]}
    fs = onsets_by_setting(main)
    chosen = [s for s in main["settings"] if s["tau_mem_gen"]["geomean"] is not None
              and (s["psi_p"], s["psi_n"]) in ths]
    if not chosen:
        return []
    k = len(chosen)
    cols = min(3, k)
    rows = math.ceil(k / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 4.2 * rows), squeeze=False,
                             layout="constrained")
    for ax, s in zip(axes.flat, chosen):
        tm = s["tau_mem_gen"]
        plot.onset_times(ths[(s["psi_p"], s["psi_n"])], tm["geomean"], ax=ax, interval=(tm["lo"], tm["hi"]),
                         title=rf"$\psi_p$ = {s['psi_p']:g}, $\psi_n$ = {s['psi_n']:g} (n = {s['n']})")
        if (s["psi_p"], s["psi_n"]) in fs:
            t, v = fs[(s["psi_p"], s["psi_n"])]
            ax.plot(t, v, "o", ms=3, color="C3", mfc="none",
                    label=r"finite size: $L_{gen}$ half-rise at $t_k$")
            ax.legend(fontsize=6)
    for ax in list(axes.flat)[k:]:
        ax.set_visible(False)
    _save(fig, out, "generate_onset")
    return chosen


def fig_nstar(main: dict, wide: dict | None, dims: dict | None, out: Path) -> dict:
    fig, (a, b) = plt.subplots(1, 2, figsize=(13, 4.6), layout="constrained")
    summary: dict = {"ratio": [], "dims": []}
    sets = list(main["settings"]) + (list(wide["settings"]) if wide else [])
    for j, psi_p in enumerate(sorted({s["psi_p"] for s in sets})):
        rows = sorted([s for s in sets if s["psi_p"] == psi_p and "f_mem_inf" in s], key=lambda s: s["psi_n"])
        x = np.array([s["psi_n"] / s["psi_p"] for s in rows])
        m = np.array([s["f_mem_inf"]["mean"] for s in rows])
        lo = np.array([s["f_mem_inf"]["lo"] for s in rows])
        hi = np.array([s["f_mem_inf"]["hi"] for s in rows])
        a.errorbar(x, m, yerr=np.vstack([m - lo, hi - m]), fmt="o-", mfc="none", capsize=3, color=f"C{j}",
                   label=rf"$\psi_p$ = {psi_p:g}, d = {rows[0]['d']}")
        x2 = np.array([s["n"] * s["d"] ** 2 / s["p"] for s in rows])
        b.errorbar(x2, m, yerr=np.vstack([m - lo, hi - m]),
                   fmt="o", mfc="none", capsize=3, color=f"C{j}",
                   label=rf"$\psi_p$ = {psi_p:g}, d = {rows[0]['d']}")
        summary["ratio"] += [{"psi_p": psi_p, "psi_n": s["psi_n"], "n": s["n"], "p": s["p"], "d": s["d"],
                              "f_mem_inf": s["f_mem_inf"], "seeds": s["seeds"]} for s in rows]
    if dims:
        by_d: dict = {}
        for r in dims["results"]:
            by_d.setdefault(r["point"]["d"], []).append(r)
        for k, (d, rs) in enumerate(sorted(by_d.items())):
            f = np.array([r["curve"]["f_mem"][-1] for r in rs])
            par = rs[0]["curve"]["params"]
            x = par["n"] * par["d"] ** 2 / par["p"]
            sd = f.std(ddof=1) / math.sqrt(f.size) if f.size > 1 else 0.0
            b.errorbar([x], [f.mean()], yerr=[sd], fmt="s", color="C4",
                       label=r"$\psi_p$ = 32, $\psi_n$ = 2, d = 6..24" if k == 0 else None)
            b.annotate(f"d={d}", (x, f.mean()), textcoords="offset points", xytext=(4, 4), fontsize=7)
            summary["dims"].append({"d": d, "n": par["n"], "p": par["p"], "f_mem_inf": float(f.mean()),
                                    "sem": float(sd), "seeds": int(f.size)})
    a.axvline(1.0, color="0.5", ls=":", lw=1)
    for ax in (a, b):
        ax.axhline(0.5, color="0.6", ls="--", lw=0.8,
                   label="0.5: the tanh score is odd, so half the copies land on $-x_i$")
    a.set_xscale("log")
    a.set_xlabel(r"$\psi_n/\psi_p = n/p$")
    a.set_ylabel(r"$f_{mem}$ at $\tau = \infty$")
    a.set_title(r"memorization of samples at $\tau=\infty$ against n/p (dotted: n = p)", fontsize=10)
    a.legend(fontsize=8)
    b.set_xscale("log")
    b.set_xlabel(r"$n d^2 / p$")
    b.set_ylabel(r"$f_{mem}$ at $\tau = \infty$")
    b.set_title(r"against $n d^2/p$: the d-scan (squares, fixed n/p = 1/16) joins the d = 12 curves",
                fontsize=10)
    b.legend(fontsize=8)
    _save(fig, out, "generate_nstar")
    return summary


def _variant_label(pt: dict) -> str:
    return f"t_min = {pt['t_min']:g}, {pt['n_times']} times"


def fig_grid(grid: dict, out: Path) -> list:
    groups: dict = {}
    for r in grid["results"]:
        groups.setdefault((r["point"]["t_min"], r["point"]["n_times"]), []).append(r)
    fig, (a, b) = plt.subplots(1, 2, figsize=(13, 4.6), layout="constrained")
    summary = []
    for j, (key, rs) in enumerate(sorted(groups.items())):
        tau = [_tau(v) for v in rs[0]["curve"]["tau"]]
        x = np.array([t if math.isfinite(t) else 10 * max(v for v in tau if math.isfinite(v)) for t in tau])
        f = np.array([r["curve"]["f_mem"] for r in rs])
        q = np.array([r["curve"]["frechet"] for r in rs])
        sem = f.std(0, ddof=1) / math.sqrt(len(rs)) if len(rs) > 1 else np.zeros(f.shape[1])
        a.errorbar(x, f.mean(0), yerr=sem, fmt="o-", ms=3, mfc="none", capsize=2, color=f"C{j}",
                   label=_variant_label(rs[0]["point"]))
        b.plot(x, q.mean(0), "o-", ms=3, mfc="none", color=f"C{j}", label=_variant_label(rs[0]["point"]))
        tm = [r["curve"]["tau_mem_gen"] for r in rs if r["curve"]["tau_mem_gen"] is not None]
        summary.append({"t_min": key[0], "n_times": key[1], "f_mem_inf": float(f[:, -1].mean()),
                        "f_mem_inf_sem": float(sem[-1]),
                        "tau_mem_gen": float(np.exp(np.mean(np.log(tm)))) if tm else None,
                        "tau_mem_gen_values": tm, "frechet_min": float(q.mean(0)[:-1].min()),
                        "seeds": len(rs)})
    for ax in (a, b):
        ax.set_xscale("log")
        ax.set_xlabel(r"training time $\tau$ (rightmost: $\tau = \infty$)")
        ax.legend(fontsize=7)
    b.set_yscale("log")
    a.set_ylabel(r"$f_{mem}$")
    b.set_ylabel(r"Fréchet distance $d_F^2$")
    p0 = rs[0]["curve"]["params"]
    a.set_title(rf"sensitivity to the grid: $\psi_p$ = {p0['psi_p']:g}, $\psi_n$ = {p0['psi_n']:g}, "
                f"d = {p0['d']}", fontsize=10)
    _save(fig, out, "generate_grid")
    return summary


def fig_project(project: dict, out: Path) -> None:
    r = project["results"][0]
    pr = r["projection"]
    train = np.array(pr["train"])
    keys = list(pr["samples"])
    fig, axes = plt.subplots(1, len(keys), figsize=(5 * len(keys), 4.6), layout="constrained")
    from rfdiff.generate import memorization_fraction

    for ax, key in zip(np.atleast_1d(axes), keys):
        x = np.array(pr["samples"][key])
        plot.samples_2d(x, train, ax=ax, title=rf"$\tau$ = {key}")
    p = r["curve"]["params"]
    fig.suptitle(rf"two coordinates of samples and training points: d = {p['d']}, p = {p['p']}, n = {p['n']}",
                 fontsize=10)
    _ = memorization_fraction
    _save(fig, out, "generate_samples")


def noise_summary(noise: dict) -> list:
    groups: dict = {}
    for r in noise["results"]:
        groups.setdefault(str(r["point"]["noise"]), []).append(r)
    out = []
    for key, rs in groups.items():
        f = np.array([r["curve"]["f_mem"] for r in rs])
        out.append({"noise": key, "tau": rs[0]["curve"]["tau"], "f_mem": f.mean(0).tolist(),
                    "frechet": np.mean([r["curve"]["frechet"] for r in rs], axis=0).tolist(),
                    "tau_mem_gen": [r["curve"]["tau_mem_gen"] for r in rs], "seeds": len(rs)})
    return out


def apply_inf(main: dict, inf: dict) -> dict:
    """Replace the tau = inf entries of main's curves by inf.json's (the pseudo-inverse on the resolved
    modes of U; same fits and sampler seed), re-read the half-rise and re-aggregate. Returns the changes."""
    from rfdiff.generate.metrics import _log_crossing

    new = {(r["point"]["psi_p"], r["point"]["psi_n"], r["point"]["seed"]): r["curve"] for r in inf["results"]}
    changes = []
    for r in main["results"]:
        c = r["curve"]
        key = (r["point"]["psi_p"], r["point"]["psi_n"], r["point"]["seed"])
        if key not in new or c["tau"][-1] != "inf":
            continue
        ci = new[key]
        changes.append({"psi_p": key[0], "psi_n": key[1], "seed": key[2], "old": c["f_mem"][-1],
                        "new": ci["f_mem"][-1], "unresolved_modes": ci["params"].get("unresolved_modes")})
        for k in ("f_mem", "frechet", "distinct_copied", "far_fraction"):
            if k in c and k in ci:
                c[k][-1] = ci[k][-1]
        for k in ("ci", "ci_exact"):
            c[k][-1] = ci[k][-1]
        tau = np.array([_tau(v) for v in c["tau"]])
        f = np.array(c["f_mem"])
        fin = np.isfinite(tau)
        n_samples = c["n_samples"]
        level = 0.5 * f[-1] if f[-1] * n_samples >= c.get("min_count", 20) else math.nan
        half = math.nan if math.isnan(level) else _log_crossing(tau[fin], f[fin], level)
        c["tau_mem_gen"] = None if math.isnan(half) else half
        c["mem_level"] = None if math.isnan(level) else level
    settings, exponents = study._aggregate(main["results"])
    main["settings"], main["exponents"] = settings, exponents
    return {"replaced": len(changes), "max_abs_change": max((abs(x["new"] - x["old"]) for x in changes),
                                                            default=0.0), "changes": changes}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(HERE.parents[1] / "img"))
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    main_, wide, dims, grid, theory = (load(n) for n in ("main", "wide", "dims", "grid", "theory"))
    project, noise = load("project"), load("noise")
    summary: dict = {}
    inf = load("inf")
    if main_ and inf:
        summary["inf_recomputed"] = apply_inf(main_, inf)
    if main_:
        fig_curves(main_, out)
        keys = ("psi_p", "psi_n", "n", "p", "d", "seeds", "tau_mem_gen", "tau_gen_gen", "frechet_floor",
                "frechet_train")
        summary["settings"] = [{k: s[k] for k in keys} | {"f_mem_inf": s.get("f_mem_inf"),
                                                           "frechet_min": float(np.min(s["frechet"][:-1]))}
                               for s in main_["settings"]]
        summary["exponents"] = main_["exponents"]
        summary["onsets"] = onset_table(main_)
        fig_scaling(main_, out, summary["onsets"])
        summary["nstar"] = fig_nstar(main_, wide, dims, out)
        if theory:
            chosen = fig_onset(main_, theory, out)
            ths = [study.SingleTimeTheory.from_summary(t) for t in theory["theories"]]
            measured = [(s["psi_p"], s["psi_n"], s["tau_mem_gen"]["geomean"]) for s in chosen]
            summary["onset_rule"] = study.onset_rule(measured, ths)
            summary["theory_unavailable"] = {
                f"{t.psi_p:g},{t.psi_n:g}": [float(x) for x in t.times[~t.available]] for t in ths}
            summary["theory_warned"] = {
                f"{t.psi_p:g},{t.psi_n:g}": [float(x) for x, w in zip(t.times, t.warned) if w] for t in ths}
            fs = onsets_by_setting(main_)
            fs_measured, fs_theories = [], []
            for s in chosen:
                key = (s["psi_p"], s["psi_n"])
                if key in fs:
                    t, v = fs[key]
                    fs_theories.append(study.SingleTimeTheory(
                        s["psi_p"], s["psi_n"], t, *([v] * 6), available=np.isfinite(v),
                        warned=[[]] * t.size, errors=[None] * t.size))
                    fs_measured.append((s["psi_p"], s["psi_n"], s["tau_mem_gen"]["geomean"]))
            if fs_theories:
                summary["onset_rule_finite_size"] = study.onset_rule(fs_measured, fs_theories,
                                                                     quantities=("tau_mem",))
                # the same rules for the absolute-level onsets (geometric mean over the seeds that reached),
                # in the memorizing regime only (f_mem(inf) >= 0.2: a level of 0.01-0.05 is then an onset,
                # not a point near the top of a low plateau)
                rows = summary["onsets"]["rows"]
                for lev in ("level_0.01", "level_0.05"):
                    meas, th_fs = [], []
                    for s, thf in zip([c for c in chosen if (c["psi_p"], c["psi_n"]) in fs], fs_theories):
                        if s.get("f_mem_inf", {}).get("mean", 0.0) < 0.2:
                            continue
                        vals = [r[lev] for r in rows if (r["psi_p"], r["psi_n"]) == (s["psi_p"], s["psi_n"])
                                and r[lev] is not None]
                        if vals:
                            meas.append((s["psi_p"], s["psi_n"], float(np.exp(np.mean(np.log(vals))))))
                            th_fs.append(thf)
                    if meas:
                        summary[f"onset_rule_finite_size_{lev}"] = study.onset_rule(meas, th_fs,
                                                                                    quantities=("tau_mem",))
                        summary[f"onset_rule_{lev}"] = study.onset_rule(meas, ths)
    if grid:
        summary["grid"] = fig_grid(grid, out)
    if project:
        fig_project(project, out)
    if noise:
        summary["noise"] = noise_summary(noise)
    (HERE / "summary.json").write_text(json.dumps(summary, indent=1))
    print(f"wrote {HERE / 'summary.json'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
