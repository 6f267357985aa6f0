"""Issue 4 benchmark: one limit learning curve and a phase map, beside the finite-size flow.

    python benchmarks/bench_dynamics.py [--skip-baseline] [--grid 8]

* rfdiff: ``RFModel.learning_curves`` on 200 tau in [1e-1, 1e6] at the Fig. 5 setting
  (psi_p = 64, psi_n = 8, t = 0.1), after a warm-up call (Numba compiled); goal <= 0.2 s.
* baseline: ``simulate.gradient_flow`` at d = 100 (p = 6400, n = 800), Gaussian-equivalent matrices,
  the same 200 tau (one eigendecomposition, then closed form): the finite-size way to get a curve.
* phase map: ``phase_diagram`` on a grid x grid of (psi_p, psi_n) at one tau, timed and extrapolated
  to 64 x 64 (goal <= 10 s).
"""

import argparse
import os
import time

import numpy as np

import rfdiff
from rfdiff import simulate


def timed(fn, repeat=1):
    best = np.inf
    out = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--grid", type=int, default=8)
    args = parser.parse_args()
    tau = np.geomspace(1e-1, 1e6, 200)
    model = rfdiff.RFModel(psi_p=64, psi_n=8, t=0.1)
    model.learning_curves(tau[:3])  # warm-up: Numba, constants
    fresh = [rfdiff.RFModel(psi_p=64, psi_n=8, t=0.1, quad_order=400 + k) for k in range(5)]
    t_curve, lc = timed(lambda: fresh.pop().learning_curves(tau), repeat=5)
    print(f"learning_curves, 200 tau, psi_p=64 psi_n=8 t=0.1: {t_curve * 1e3:.1f} ms "
          "(best of 5, fresh models; goal 200 ms)")
    if not args.skip_baseline:
        t_flow, fl = timed(lambda: simulate.gradient_flow(model, tau, d=100, seed=0, noise="gaussian"))
        gap = np.max(np.abs(fl.gen - lc.gen))
        print(f"baseline simulate.gradient_flow d=100 (GE): {t_flow:.1f} s -> ratio {t_flow / t_curve:.0f}x; "
              f"max |L_gen(sim) - L_gen(theory)| = {gap:.3g} (one seed, finite size)")
    g = args.grid
    psi_p = np.geomspace(4, 128, g)
    psi_n = np.geomspace(2, 64, g)
    t_map, _ = timed(lambda: rfdiff.phase_diagram(psi_p=psi_p, psi_n=psi_n, t=0.1, tau=1e3))
    print(f"phase_diagram {g}x{g} at tau=1e3 ({os.cpu_count()} cores): {t_map:.1f} s -> "
          f"64x64 extrapolated {t_map * (64 / g) ** 2:.0f} s (goal 10 s)")
    print(f"machine load {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
