"""Issue 4 validation against finite-size simulation beyond the Gaussian equivalent.

* The real tanh model with the exact noise average (``noise="exact"``) converges to the d -> inf
  learning curves (which are the Gaussian-equivalent limit).
* Which spectral time the rise of L_gen follows: rho_1 as a band (its fastest-mode time), not the
  cluster below rho_1 that dominates the late train loss, and not the lower edge of rho_1 alone.
"""

import math

import numpy as np
import pytest

import rfdiff
from rfdiff import simulate


def _mean_curves(model, tau, d, seeds, noise):
    fls = [simulate.gradient_flow(model, tau, d=d, seed=s, noise=noise) for s in range(seeds)]
    gen = np.mean([f.gen for f in fls], axis=0)
    gen_inf = float(np.mean([f.test_inf - f.train_inf for f in fls]))
    return gen, gen_inf


@pytest.mark.slow
@pytest.mark.ci
def test_exact_noise_tanh_model_converges_to_the_limit_curves():
    """max_tau |<L_gen>_seeds(d) - L_gen(inf d)| for the real tanh model with exact noise average.

    Measured (psi_p=8, psi_n=2, t=0.1, 4 seeds): 0.315, 0.179, 0.096, 0.044 at d = 20, 40, 80, 160
    (Gaussian-equivalent matrices: 0.064, 0.011, 0.002, 0.002): a bias of order 1/d from the
    non-Gaussian part of the tanh features, much larger than the seed scatter (sd of the mean
    <= 0.015 at d >= 40). The test fits the exponent on d = 20, 40, 80 (expect 1; accept
    0.6-1.4, the seed scatter moves it by < 0.15) and bounds the d = 80 gap (0.096 + 4 sd).
    """
    model = rfdiff.RFModel(8, 2, 0.1)
    tau = np.geomspace(1e-1, 1e5, 60)
    theory = model.learning_curves(tau).gen
    ds = np.array([20, 40, 80])
    gaps = [float(np.max(np.abs(_mean_curves(model, tau, d, 4, "exact")[0] - theory))) for d in ds]
    slope = -np.polyfit(np.log(ds), np.log(gaps), 1)[0]
    assert 0.6 < slope < 1.4, (gaps, slope)
    assert gaps[-1] < 0.13, gaps


def _half_rise(tau, gen, gen_inf):
    j = int(np.argmax(gen > 0.5 * gen_inf))
    assert j > 0
    x0, x1 = math.log(tau[j - 1]), math.log(tau[j])
    frac = (0.5 * gen_inf - gen[j - 1]) / (gen[j] - gen[j - 1])
    return math.exp(x0 + frac * (x1 - x0))


def _spread(a, b):
    r = np.asarray(a) / np.asarray(b)
    return float(r.max() / r.min())


@pytest.mark.slow
@pytest.mark.ci
def test_gen_rise_follows_rho1_not_the_cluster():
    """The half-rise of L_gen on simulated curves keeps a fixed ratio to rho_1's fastest-mode time.

    psi_p = 64, psi_n = 2, 4, 8, 16, t = 0.1. In the limit theory the ratio of the half-rise time
    to each candidate spectral time varies over psi_n by a factor (max/min): 1.27 for rho_1's
    upper edge psi_p/(Delta lambda_hi), 2.53 for its lower edge (the paper's tau_mem), 2.08 for the
    cluster's lower edge (the loss-weighted tau_mem_loss); at psi_p = 256 1.37, 2.05, 2.44. The
    simulated half-rise (Gaussian equivalent, d = 30, 2 seeds) is within ~2 % of the theory's
    (tests/test_phases.py), which moves a spread by < 5 %: the bounds 1.5 and 1.8 separate the cases.
    """
    psi_p, psi_ns = 64, [2, 4, 8, 16]
    tau = np.geomspace(1e1, 1e6, 400)
    rise, fast, lower, cluster = [], [], [], []
    for pn in psi_ns:
        model = rfdiff.RFModel(psi_p, pn, 0.1)
        gen, gen_inf = _mean_curves(model, tau, 30, 2, "gaussian")
        rise.append(_half_rise(tau, gen, gen_inf))
        ts = model.timescales(dynamical=False)
        rho1 = [c for c in ts.components if c.label == "rho_1"]
        assert len(rho1) == 1, ts.components
        fast.append(rho1[0].time_fast)
        lower.append(ts.tau_mem)
        cluster.append(ts.tau_mem_loss)
    assert _spread(rise, fast) < 1.5, (rise, fast)
    assert _spread(rise, lower) > 1.8, (rise, lower)
    assert _spread(rise, cluster) > 1.8, (rise, cluster)
    # and the rise grows with n (tau_mem increases with psi_n), roughly linearly
    slope = np.polyfit(np.log(psi_ns), np.log(rise), 1)[0]
    assert 0.6 < slope < 1.3, slope
