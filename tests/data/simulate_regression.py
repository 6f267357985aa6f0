"""Record fixed-seed outputs of ``rfdiff.simulate`` (regression data for tests/test_simulate_regression.py).

Run once at a commit whose behaviour is to be preserved (it was run at 2d7e22b, before
``simulate/matrices.py`` was split into focused modules, and re-run on the tree of branch ``integrate``
when branch ``train`` merged it: the new numerics core changed the Gaussian-equivalence constants and
Gamma_t at rounding level — U~, V~ by ~1e-15 relative, the Gaussian-equivalent U by ~1e-11, Mehler
truncation orders by one — and the merged, split simulator reproduces that tree's un-split one bit for
bit)::

    python tests/data/simulate_regression.py     # writes tests/data/simulate_regression.json

Every array is stored by its sha256 and, when small, in full as float.hex strings (exact), together with a
fingerprint of the numerical stack (numpy, BLAS, machine): bit-identity is only promised on the
same stack, see the test.
"""

from __future__ import annotations

import hashlib
import json
import platform
from pathlib import Path

import numpy as np

import rfdiff
from rfdiff import simulate
from rfdiff.activations import Activation

OUT = Path(__file__).with_suffix(".json")


def fingerprint() -> dict:
    cfg = np.show_config(mode="dicts")
    blas = cfg["Build Dependencies"]["blas"]
    return {"numpy": np.__version__, "blas": f"{blas.get('name')} {blas.get('version')}",
            "machine": platform.machine()}


def _sincos(x):
    return np.sin(1.3 * x) + 0.2 * np.tanh(x)


def cases() -> dict[str, dict[str, np.ndarray]]:
    """name -> {array name: array}; the same calls as the test replays."""
    out = {}
    iso = rfdiff.RFModel(psi_p=4, psi_n=2, t=0.1)
    two = rfdiff.RFModel(psi_p=4, psi_n=2, t=0.3, data=rfdiff.DataSpectrum([0.5, 1.5], [0.5, 0.5]))
    cal = rfdiff.RFModel(psi_p=4, psi_n=2, t=0.1, activation=Activation(_sincos, "sin+tanh"))
    for name, model, kw in [
        ("exact_iso", iso, dict(d=6, seed=0)),
        ("exact_two_level", two, dict(d=6, seed=4)),
        ("exact_callable", cal, dict(d=5, seed=2)),
        ("monte_carlo_50", iso, dict(d=6, seed=3, noise=50)),
        ("gaussian", iso, dict(d=6, seed=1, noise="gaussian")),
        ("exact_erf_t1", rfdiff.RFModel(psi_p=4, psi_n=2, t=1.0, activation="erf"), dict(d=6, seed=5)),
        # big enough for the dense/sparse split of the Mehler sum and the blocked products
        ("exact_sparse", rfdiff.RFModel(psi_p=16, psi_n=4, t=0.3), dict(d=30, seed=0, block=128)),
    ]:
        m = simulate.correlation_matrices(model, **kw)
        out[name] = {k: np.asarray(getattr(m, k)) for k in ("U", "V", "U_pop", "V_pop", "W", "X")}
        out[name]["diag"] = np.array([m.order or -1, m.order_pop or -1, m.order_dense or -1, m.sparse_pairs,
                                      m.truncation_bound, m.truncation_bound_pop, m.rho_max, m.rho_pop_max,
                                      m.quad_order or -1, m.quad_order_pop or -1, m.quad_error,
                                      m.quad_error_pop], dtype=float)
    ev = simulate.eigenvalues(iso, 6, seeds=[0, 1], noise=7)
    out["eigenvalues_mc7"] = {"values": np.asarray(ev.values)}
    W, X = simulate.sample_problem(two, 7, seed=11)
    out["sample_problem"] = {"W": W, "X": X, "sigma": simulate.data_covariance(two, 7)}
    fl = simulate.gradient_flow(iso, np.logspace(-2, 6, 9), d=8, seed=0)
    out["flow"] = {"train": fl.train, "test": fl.test, "score": fl.score,
                   "inf": np.array([fl.train_inf, fl.test_inf, fl.score_inf])}
    run = simulate.train(iso, d=8, steps=30, dtau=0.2, seed=3, record=6)
    out["train"] = {"A": run.A, "train": run.train, "test": run.test, "score": run.score,
                    "batch_train": run.batch_train}
    return out


#: arrays up to this size are stored in full; larger ones by hash plus a few summaries
FULL = 2000


def summary(a: np.ndarray) -> np.ndarray:
    """Sum, sum of squares and the first 8 entries: the fallback comparison of a large array."""
    flat = a.ravel()
    return np.concatenate([[flat.sum(), (flat * flat).sum()], flat[:8]])


def encode(arr: np.ndarray) -> dict:
    a = np.ascontiguousarray(arr, dtype=np.float64)
    rec = {"shape": list(a.shape), "sha256": hashlib.sha256(a.tobytes()).hexdigest()}
    if a.size <= FULL:
        rec["hex"] = [float(x).hex() for x in a.ravel()]
    else:
        rec["summary"] = [float(x).hex() for x in summary(a)]
    return rec


def decode(rec: dict) -> np.ndarray:
    """The stored array (small ones) or its :func:`summary` (large ones)."""
    key = "hex" if "hex" in rec else "summary"
    vals = np.array([float.fromhex(h) for h in rec[key]], dtype=np.float64)
    return vals.reshape(rec["shape"]) if key == "hex" else vals


if __name__ == "__main__":
    data = {"fingerprint": fingerprint(),
            "cases": {c: {k: encode(v) for k, v in arrs.items()} for c, arrs in cases().items()}}
    OUT.write_text(json.dumps(data, indent=0) + "\n")
