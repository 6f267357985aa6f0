"""Benchmark: the generating RF diffusion model (issue 11) against plain numpy versions of the same steps.

Setting of the issue's goals: d = 32, psi_p = 32, psi_n = 8 (p = 1024, n = 256), tanh, N(0, I) data,
50 diffusion times geomspace(1e-3, 5), exact noise average.

1. **Fit** (``RFDiffusion(...)``: exact U, V at every time, one ``eigh`` each, kept). Baseline: the same
   Mehler expansion in plain numpy (``bench_simulate.numpy_exact``, the same orders and quadrature rfdiff
   chose) + ``numpy.linalg.eigh``, on every 5th time, x5 (stated). Goal: <= 30 s on 2 cores.
2. **Sampling**: 10^4 samples through the 50-time grid (49 steps), SDE, Heun (98 score evaluations) and
   Euler (49). Baseline: the same scheme in plain numpy (``np.tanh(x @ W.T / sqrt(d)) @ B.T`` on all
   samples at once, no chunking, no Numba); the outputs agree to rounding. Goal: <= 5 s for 50 steps.
3. **f_mem** of 10^4 samples against 256 training points (exact two nearest neighbours, Numba). Baseline:
   numpy, exact differences in chunks of 256 samples (bounded memory), ``np.partition`` for the two
   smallest. Goal: <= 1 s.
4. **Memorization curve**: 15 tau, 2000 samples each, after the fit (spectral filter per tau and time,
   sampler, f_mem, Fréchet distance). Baseline: the same with the numpy sampler and numpy f_mem. Goal:
   <= 60 s. The note also gives the cost of refitting instead of filtering (one ``scipy.linalg.expm`` of
   a p x p matrix per (tau, time), timed once and multiplied by 15 x 50).

Memory: tracemalloc peak of numpy allocations inside each call, and the bytes the fit keeps.
Numba kernels are compiled (warm-up on a tiny problem) before any timing.

    python benchmarks/bench_generate.py [--quick] [--no-baseline] [--json]

``--quick``: d = 16 (p = 512, n = 128), 25 times; the goals are stated for the full size. Writes
``benchmarks/results/bench_generate.json``; ``--json`` ends the output with the ``{"records": [...]}`` line
of ``benchmarks/run_all.py``.
"""

from __future__ import annotations

import json
import math
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

_HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(_HERE.parent))  # this checkout's rfdiff
sys.path.insert(0, str(_HERE))
import bench_simulate  # noqa: E402  (its plain-numpy Mehler expansion is the fit baseline)

import rfdiff  # noqa: E402
from rfdiff import generate, simulate  # noqa: E402

RESULTS = _HERE / "results" / "bench_generate.json"
PSI_P, PSI_N = 32.0, 8.0


def _timed(fn, *args, **kwargs):
    """bench_simulate.timed with the peak in MiB (this benchmark's unit)."""
    out, seconds, peak_gib = bench_simulate.timed(fn, *args, **kwargs)
    return out, seconds, peak_gib * 1024


def warm_up() -> None:
    gm = generate.RFDiffusion(psi_p=4, psi_n=2, d=6, times=[0.01, 0.5, 3.0], seed=0)
    gm.memorization_curve([1.0, np.inf], n_samples=50, floor_reps=2)


# ---------------------------------------------------------------- plain numpy baselines


def numpy_fit(gm: generate.RFDiffusion, every: int) -> tuple[float, int]:
    """Seconds of the plain-numpy fit on every ``every``-th time (matrices + eigh), and the count."""
    W, X = np.asarray(gm.W), np.asarray(gm.train_data)
    seconds, count = 0.0, 0
    for k in range(0, gm.times.size, every):
        m = rfdiff.RFModel(gm.psi_p, gm.psi_n, float(gm.times[k]))
        mats = simulate.correlation_matrices(m, W=W, X=X)  # only for the orders and quadrature it chose
        t0 = time.perf_counter()
        U, V, _, _ = bench_simulate.numpy_exact(m, W, X, mats.order, mats.order_pop, mats.quad_order,
                                                mats.quad_order_pop)
        _, Q = np.linalg.eigh(U)
        _ = (Q.T @ V).T
        seconds += time.perf_counter() - t0
        count += 1
    return seconds, count


def numpy_sample(W: np.ndarray, Bs: list[np.ndarray], times: np.ndarray, n: int, seed: int,
                 start_sd: np.ndarray, integrator: str) -> np.ndarray:
    """The SDE scheme of rfdiff.generate.samplers written plainly (same random stream, same coefficients)."""
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed)))
    d = W.shape[1]
    x = rng.standard_normal((n, d)) * start_sd

    def rem(y: np.ndarray, k: int) -> np.ndarray:
        return np.tanh(y @ W.T / math.sqrt(d)) @ Bs[k].T + y

    for k in range(times.size - 1, 0, -1):
        h = times[k] - times[k - 1]
        lin, noise, total = math.exp(-h), math.sqrt(-math.expm1(-2 * h)), -math.expm1(-h)
        z = rng.standard_normal((n, d))
        base = lin * x + noise * z
        rb = rem(x, k)
        if integrator == "euler":
            x = base + 2 * total * rb
        else:
            cb = (total - h * math.exp(-h)) / h
            ra = rem(base + 2 * total * rb, k - 1)
            x = base + 2 * cb * rb + 2 * (total - cb) * ra
    return x


def numpy_fmem(x: np.ndarray, train: np.ndarray, chunk: int = 256) -> float:
    """f_mem with exact differences, chunked, np.partition for the two smallest distances."""
    mem = 0
    for lo in range(0, x.shape[0], chunk):
        diff = x[lo: lo + chunk, None, :] - train[None, :, :]
        dist = np.sqrt(np.einsum("ijk,ijk->ij", diff, diff))
        two = np.partition(dist, 1, axis=1)[:, :2]
        mem += int(np.sum(two[:, 0] < two[:, 1] / 3))
    return mem / x.shape[0]


# ---------------------------------------------------------------- measurements


def run_all(d: int, n_times: int, baseline: bool = True) -> dict:
    warm_up()
    env = {"date": time.strftime("%Y-%m-%d %H:%M"), "python": platform.python_version(),
           "numpy": np.__version__, "cpus": os.cpu_count(), "load1": os.getloadavg()[0], "d": d,
           "n_times": n_times}
    times = np.geomspace(1e-3, 5.0, n_times)
    gm, fit_s, fit_peak = _timed(generate.RFDiffusion, psi_p=PSI_P, psi_n=PSI_N, d=d, times=times, seed=0)
    res: dict = {"env": env, "fit": {
        "rfdiff_s": fit_s, "peak_MiB": fit_peak, "kept_MiB": gm.memory_bytes / 2**20, "p": gm.p, "n": gm.n,
        "converged": all(i["converged"] for i in gm.fit_info)}}
    if baseline:
        every = 5
        base_s, count = numpy_fit(gm, every)
        res["fit"].update(numpy_s=base_s * n_times / count, numpy_times=count,
                          ratio=base_s * n_times / count / fit_s)

    # sampling: 1e4 samples through the grid
    tau = 1e4
    score = gm.score(tau)
    Bs = [np.asarray(b) for b in score.B]
    start_sd = np.sqrt(gm.start_covariance())
    res["sample"] = {}
    for integ in ("heun", "euler"):
        x, s, peak = _timed(gm.sample, 10_000, tau, seed=3, integrator=integ)
        row = {"rfdiff_s": s, "peak_MiB": peak, "evaluations": (2 if integ == "heun" else 1) * (n_times - 1)}
        if baseline:
            ref, bs, bpeak = _timed(numpy_sample, np.asarray(gm.W), Bs, gm.times, 10_000, 3, start_sd, integ)
            row.update(numpy_s=bs, numpy_peak_MiB=bpeak, ratio=bs / s,
                       max_abs_diff=float(np.abs(ref - x).max()))
        res["sample"][integ] = row

    # f_mem: 1e4 samples vs the 256 (or n) training points
    x = gm.sample(10_000, 1e8, seed=4)
    generate.memorization_fraction(x[:10], gm.train_data)  # warm
    fm, s, peak = _timed(generate.memorization_fraction, x, gm.train_data)
    row = {"rfdiff_s": s, "peak_MiB": peak, "n_train": gm.n, "fraction": fm.fraction}
    if baseline:
        f_np, bs, bpeak = _timed(numpy_fmem, x, np.asarray(gm.train_data))
        row.update(numpy_s=bs, numpy_peak_MiB=bpeak, ratio=bs / s, agree=bool(f_np == fm.fraction))
    res["fmem"] = row

    # the memorization curve after the fit
    taus = np.geomspace(1e1, 1e8, 15)
    mc, s, peak = _timed(gm.memorization_curve, taus, n_samples=2000, seed=1)
    row = {"rfdiff_s": s, "peak_MiB": peak, "tau_mem_gen": mc.tau_mem_gen, "f_mem_max": float(mc.f_mem.max())}
    if baseline:
        t0 = time.perf_counter()
        for tau in taus:
            sc = gm.score(tau)
            xs = numpy_sample(np.asarray(gm.W), [np.asarray(b) for b in sc.B], gm.times, 2000, 5, start_sd,
                              "heun")
            numpy_fmem(xs, np.asarray(gm.train_data))
            generate.frechet_distance(xs, gm.target_covariance())
        row.update(numpy_s=time.perf_counter() - t0)
        row["ratio"] = row["numpy_s"] / s
        # refitting instead of filtering: A(tau) = -V^T U^{-1} (I - expm(-2 Delta U tau / psi_p)) per (tau, t)
        from scipy import linalg

        m = rfdiff.RFModel(PSI_P, PSI_N, float(gm.times[25 if n_times > 25 else 0]))
        mats = simulate.correlation_matrices(m, W=np.asarray(gm.W), X=np.asarray(gm.train_data))
        t0 = time.perf_counter()
        E = linalg.expm(-2 * mats.delta * np.asarray(mats.U) * 1e4 / (gm.p / gm.d))
        np.linalg.solve(np.asarray(mats.U), np.eye(gm.p) - E)
        row["refit_s_estimate"] = (time.perf_counter() - t0) * taus.size * n_times
    res["curve"] = row
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(res, indent=2))
    return res


def table(res: dict) -> str:
    env = res["env"]
    f, c, fm = res["fit"], res["curve"], res["fmem"]
    lines = [f"rfdiff generate benchmarks: d = {env['d']}, psi_p = {PSI_P:g}, psi_n = {PSI_N:g} "
             f"(p = {f['p']}, n = {f['n']}), {env['n_times']} times; load {env['load1']:.2f} on "
             f"{env['cpus']} cores",
             "| stage | rfdiff | numpy baseline | ratio | memory |", "|---|---|---|---|---|"]

    def cell(row: dict, key: str = "numpy_s") -> str:
        return f"{row[key]:.2f} s" if key in row else "-"

    def ratio(row: dict) -> str:
        return f"{row['ratio']:.1f}x" if "ratio" in row else "-"

    lines.append(f"| fit (matrices + eigh, {env['n_times']} times) | {f['rfdiff_s']:.1f} s | {cell(f)} | "
                 f"{ratio(f)} | peak {f['peak_MiB']:.0f} MiB, kept {f['kept_MiB']:.0f} MiB |")
    for integ, row in res["sample"].items():
        lines.append(f"| 1e4 samples, {env['n_times'] - 1} steps, SDE {integ} ({row['evaluations']} evals) | "
                     f"{row['rfdiff_s']:.2f} s | {cell(row)} | {ratio(row)} | "
                     f"peak {row['peak_MiB']:.0f} MiB |")
    lines.append(f"| f_mem, 1e4 samples vs {fm['n_train']} | {fm['rfdiff_s'] * 1e3:.1f} ms | {cell(fm)} | "
                 f"{ratio(fm)} | peak {fm['peak_MiB']:.1f} MiB |")
    lines.append(f"| curve, 15 tau x 2000 samples | {c['rfdiff_s']:.1f} s | {cell(c)} | {ratio(c)} | "
                 f"peak {c['peak_MiB']:.0f} MiB |")
    if "refit_s_estimate" in c:
        lines.append(f"refitting A per (tau, t) with expm instead of the kept eigendecomposition: "
                     f"~{c['refit_s_estimate']:.0f} s for the curve's 15 x {env['n_times']} fits")
    return "\n".join(lines)


def records(res: dict) -> list[dict]:
    """The results as records for ``run_all.py`` (times in seconds; ratio = baseline / rfdiff)."""
    env = res["env"]
    full = env["d"] == 32 and env["n_times"] == 50
    load = env["load1"]
    size = f"d = {env['d']}, psi_p = 32, psi_n = 8, {env['n_times']} times"
    f = res["fit"]
    out = [{"benchmark": f"generate: fit, exact noise ({size})", "rfdiff_s": f["rfdiff_s"],
            "baseline_s": f.get("numpy_s"), "baseline": "plain numpy Mehler + eigh (every 5th time, x5)",
            "ratio": f.get("ratio"), "goal": "<= 30 s (d = 32, 50 times)",
            "goal_met": (f["rfdiff_s"] <= 30) if full else None, "load": load,
            "note": f"peak {f['peak_MiB']:.0f} MiB, kept {f['kept_MiB']:.0f} MiB"}]
    for integ, row in res["sample"].items():
        out.append({"benchmark": f"generate: 1e4 samples, SDE {integ} ({size})", "rfdiff_s": row["rfdiff_s"],
                    "baseline_s": row.get("numpy_s"), "baseline": "plain numpy, same scheme and stream",
                    "ratio": row.get("ratio"), "goal": "<= 5 s (50 steps)",
                    "goal_met": (row["rfdiff_s"] <= 5) if full else None, "load": load,
                    "note": f"{row['evaluations']} score evaluations, peak {row['peak_MiB']:.0f} MiB"})
    fm = res["fmem"]
    out.append({"benchmark": f"generate: f_mem, 1e4 samples vs {fm['n_train']} training points",
                "rfdiff_s": fm["rfdiff_s"], "baseline_s": fm.get("numpy_s"),
                "baseline": "plain numpy, exact differences in chunks, np.partition",
                "ratio": fm.get("ratio"),
                "goal": "<= 1 s (256 training points)", "goal_met": (fm["rfdiff_s"] <= 1) if full else None,
                "load": load, "note": f"peak {fm['peak_MiB']:.1f} MiB"})
    c = res["curve"]
    out.append({"benchmark": f"generate: memorization curve, 15 tau x 2000 samples ({size})",
                "rfdiff_s": c["rfdiff_s"], "baseline_s": c.get("numpy_s"),
                "baseline": "plain numpy sampler and f_mem, same filter", "ratio": c.get("ratio"),
                "goal": "<= 60 s after the fit", "goal_met": (c["rfdiff_s"] <= 60) if full else None,
                "load": load, "note": (f"refit by expm instead: ~{c['refit_s_estimate']:.0f} s"
                                       if "refit_s_estimate" in c else "")})
    return out


if __name__ == "__main__":
    quick = "--quick" in sys.argv
    out = run_all(16 if quick else 32, 25 if quick else 50, baseline="--no-baseline" not in sys.argv)
    print(table(out))
    if "--json" in sys.argv:
        print(json.dumps({"records": records(out)}))
