"""Issue 12 in simulation: ridge flow, finite noise draws, SGD, Adam and sign descent.

Independent computations used here: scipy's expm and linear solves (not the eigendecomposition the
flow uses), the closed-form Euler iterate, pseudo-inverses, and a plain numpy re-implementation of
each optimizer that follows the documented algorithm and seeding contract (docs/simulate.md:
child i of a seed is SeedSequence(seed, spawn_key=(i,)); W = 0, X = 1, noise = 2, train = 3, batch = 4).
"""

import dataclasses
import json
import math

import numba
import numpy as np
import pytest
import scipy.linalg as sla

import rfdiff
from rfdiff import simulate
from rfdiff.simulate import _kernels


def _gen(seed, index):
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(index,))))


def _kappa(mats):
    return 2 * mats.delta / (mats.p / mats.d)


def _explicit_losses(mats, ridge, tau):
    """Losses of A(tau) = -sqrt(p/Delta) V^T (U + lam)^{-1} (I - expm(-kappa (U + lam) tau)) by scipy."""
    Ur = np.asarray(mats.U) + ridge * np.eye(mats.p)
    E = np.eye(mats.p) - sla.expm(-_kappa(mats) * tau * Ur) if math.isfinite(tau) else np.eye(mats.p)
    B = -np.linalg.solve(Ur, E @ mats.V).T / math.sqrt(mats.delta)  # (U+lam)^{-1} commutes with E
    return simulate.dsm_losses(mats, B * math.sqrt(mats.p))


# ------------------------------------------------------------------------------------------- ridge


@pytest.mark.parametrize("ridge", [0.03, 0.5])
def test_ridge_flow_against_expm_and_ridge_estimator(ridge):
    model = rfdiff.RFModel(psi_p=3, psi_n=1.5, t=0.1)
    mats = simulate.correlation_matrices(model, d=8, seed=0)
    fl = simulate.gradient_flow(model, [0.0, 0.7, 30.0, 2e3], matrices=mats, ridge=ridge)
    assert fl.ridge == ridge and fl.train[0] == 1.0 and fl.test[0] == 1.0
    # finite tau against the matrix exponential, tau = infinity against the ridge estimator
    # -Delta^{-1/2} V^T (U + lam)^{-1} through a linear solve. U + lam has condition < 1e4 here, so
    # both paths agree to ~1e-12 relative; 1e-10 allows the expm's own error (~1e-13 relative).
    for i, tau in enumerate(fl.tau):
        np.testing.assert_allclose([fl.train[i], fl.test[i], fl.score[i]], _explicit_losses(mats, ridge, tau),
                                   rtol=1e-10)
    np.testing.assert_allclose([fl.train_inf, fl.test_inf, fl.score_inf],
                               _explicit_losses(mats, ridge, math.inf), rtol=1e-10)
    # the reported train loss is the denoising part: adding the penalty (Delta lam/d)|B|^2 to it gives
    # the objective, which the flow decreases monotonically
    lam, Q = np.linalg.eigh(mats.U)
    curves = simulate.gradient_flow(model, np.logspace(-2, 4, 60), matrices=mats, ridge=ridge)
    mu = lam + ridge
    f = -np.expm1(-_kappa(mats) * np.outer(mu, curves.tau)) / mu[:, None]
    R = Q.T @ mats.V
    penalty = mats.delta * ridge / mats.d * np.einsum("a,at->t", np.sum(R**2, axis=1), f**2) / mats.delta
    assert np.all(np.diff(curves.train + penalty) <= 1e-14)  # rounding of O(1) sums on the plateau


@pytest.mark.parametrize("ridge", [0.0, 0.03, 0.5])
def test_ridge_estimator_is_the_flow_limit(ridge):
    # the Cholesky route (no eigh) against the flow's tau = infinity and the linear-solve estimator;
    # cond(U + lam) < 1e4 here: 1e-11 relative
    model = rfdiff.RFModel(psi_p=3, psi_n=1.5, t=0.1)
    mats = simulate.correlation_matrices(model, d=8, seed=3)
    est = simulate.ridge_estimator(model, ridge, matrices=mats)
    fl = simulate.flow_spectrum(model, matrices=mats).curves([1.0], ridge=ridge)
    np.testing.assert_allclose([est.train, est.test, est.score], [fl.train_inf, fl.test_inf, fl.score_inf],
                               rtol=1e-11)
    np.testing.assert_allclose([est.train, est.test, est.score], _explicit_losses(mats, ridge, math.inf),
                               rtol=1e-11)
    assert est.to_dict()["ridge"] == ridge


def test_ridge_zero_limit_and_singular_U():
    # U = G G^T singular with V in its range (as for U_m with n m < p): lam = 0 keeps the minimum-norm
    # (pseudo-inverse) limit; lam > 0 gives the ridge estimator, which tends to it as lam -> 0
    model = rfdiff.RFModel(psi_p=3, psi_n=1.5, t=0.1)
    mats = simulate.correlation_matrices(model, d=8, seed=0, noise="gaussian")
    rng = np.random.default_rng(0)
    G = rng.standard_normal((24, 10)) / 5
    sing = dataclasses.replace(mats, U=G @ G.T, V=G @ rng.standard_normal((10, 8)) / 10)
    spec = simulate.flow_spectrum(model, matrices=sing)
    assert spec.zero_modes == 14
    B = -(np.linalg.pinv(sing.U, rcond=1e-10) @ sing.V).T / math.sqrt(mats.delta)
    pinv = simulate.dsm_losses(sing, B * math.sqrt(mats.p))
    at0 = spec.curves([1e16])
    assert abs(at0.train_inf - pinv[0]) < 1e-10 and abs(at0.test_inf - pinv[1]) < 1e-10
    for lam in (1e-2, 1e-4):
        c = spec.curves([1e16], ridge=lam)
        ref = _explicit_losses(sing, lam, math.inf)
        # the solve with U + lam has condition ~ lambda_max / lam <= 1e5: 1e-9 relative
        np.testing.assert_allclose([c.train_inf, c.test_inf], ref[:2], rtol=1e-9)
        np.testing.assert_allclose([c.train[0], c.test[0]], ref[:2], rtol=1e-9)
    with pytest.raises(ValueError, match="ridge"):  # singular U at lam = 0: no Cholesky, say so
        simulate.ridge_estimator(model, 0.0, matrices=sing)
    # ridge -> 0: the distance to the pseudo-inverse losses is O(lam) (first-order perturbation)
    gaps = [abs(spec.curves([1e16], ridge=lam).test_inf - pinv[1]) for lam in (1e-3, 1e-4, 1e-5)]
    assert gaps[1] < 0.2 * gaps[0] and gaps[2] < 0.2 * gaps[1]


@pytest.mark.parametrize("noise", ["gaussian", 3])
@pytest.mark.parametrize("ridge", [0.0, 0.05])
def test_low_rank_route_equals_dense_eigh(noise, ridge):
    # U = c I + H H^T (Gaussian equivalent: rank n + d; U_m: rank n m < p) diagonalised through the thin
    # SVD of H against the dense eigendecomposition of U. Both are exact to rounding: the curves are sums
    # of O(p) terms of size <= |V|^2/lambda_min, so 1e-10 relative (cond(U) < 1e3 on the range; the
    # null modes carry R = 0 in one route and ~1e-16 in the other); plus 1e-12 absolute where U_m's
    # features interpolate the draws and L_train -> 0 (rounding of O(1) sums)
    model = rfdiff.RFModel(psi_p=8, psi_n=1, t=0.1)
    mats = simulate.correlation_matrices(model, d=6, seed=2, noise=noise)  # p = 48, n = 6
    fast = simulate.flow_spectrum(model, matrices=mats)
    dense = simulate.flow_spectrum(model, matrices=mats, method="eigh")
    assert fast.method == "low-rank" and dense.method == "eigh"
    assert fast.coupling.shape[0] == (6 + 6 if noise == "gaussian" else 18)
    np.testing.assert_allclose(fast.eigenvalues, dense.eigenvalues, rtol=0,
                               atol=1e-13 * dense.eigenvalues.max())
    tau = np.logspace(-2, 7, 40)
    a, b = fast.curves(tau, ridge=ridge), dense.curves(tau, ridge=ridge)
    for name in ("train", "test", "score"):
        np.testing.assert_allclose(getattr(a, name), getattr(b, name), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose([a.train_inf, a.test_inf], [b.train_inf, b.test_inf], rtol=1e-10, atol=1e-12)
    assert a.zero_modes == b.zero_modes
    # a U changed after the fact is not the rebuilt one: the dense route is taken
    other = dataclasses.replace(mats, U=np.asarray(mats.U) + 1e-6 * np.eye(mats.p))
    assert simulate.flow_spectrum(model, matrices=other).method == "eigh"


# ------------------------------------------------------------------------------ finite noise draws


def test_monte_carlo_noise_energy_is_that_of_the_fixed_draws():
    model = rfdiff.RFModel(psi_p=2, psi_n=1, t=0.1)
    mats = simulate.correlation_matrices(model, d=6, seed=4, noise=7)
    xi = simulate.montecarlo.fixed_draws(_gen(4, 2), mats.n, 7, 6)
    assert xi.shape == (7 * mats.n, 6)
    assert abs(mats.noise_norm2 - np.sum(xi**2) / xi.size) < 1e-14
    # and U_m, V_m are the averages over exactly these draws (row k n + nu = xi^{nu,k})
    Xt = math.exp(-model.t) * np.tile(np.asarray(mats.X), (7, 1)) + math.sqrt(mats.delta) * xi
    F = np.tanh(Xt @ np.asarray(mats.W).T / math.sqrt(6))
    np.testing.assert_allclose(mats.U, F.T @ F / F.shape[0], rtol=0, atol=1e-14)
    np.testing.assert_allclose(mats.V, F.T @ xi / F.shape[0], rtol=0, atol=1e-14)
    assert simulate.correlation_matrices(model, d=6, seed=4).noise_norm2 == 1.0


def _euler(mats, ridge, dtau, steps):
    """Closed-form noise-free Euler iterate of the flow: f_a = (1 - (1 - h kappa mu_a)^k) / mu_a."""
    lam, Q = np.linalg.eigh(mats.U)
    mu = lam + ridge
    out = []
    for k in steps:
        f = -np.expm1(k * np.log1p(-dtau * _kappa(mats) * mu)) / mu
        B = -(mats.V.T @ Q * f) @ Q.T / math.sqrt(mats.delta)
        out.append(simulate.dsm_losses(mats, B * math.sqrt(mats.p)))
    return np.array(out)


@pytest.mark.parametrize("ridge", [0.0, 0.2])
def test_finite_m_flow_matches_explicit_gd_on_the_same_draws(ridge):
    # GD on m fixed draws is deterministic: the explicit run must equal the closed-form Euler iterate of
    # the flow on U_m, V_m (same draws) to rounding, and the Euler iterate approaches the flow as
    # O(dtau), so the explicit run approaches gradient_flow(noise=m, ridge=lam).
    model = rfdiff.RFModel(psi_p=2, psi_n=1, t=0.1)
    m = 3
    mats = simulate.correlation_matrices(model, d=6, seed=2, noise=m)
    assert mats.noise == m and mats.noise_norm2 != 1.0
    dev = []
    for dtau in (0.1, 0.05):
        steps = round(40 / dtau)
        run = simulate.train(model, matrices=mats, steps=steps, dtau=dtau, noise=m, ridge=ridge, record=8)
        euler = _euler(mats, ridge, dtau, run.step)
        # rounding only: ~steps * 1e-16 relative on O(1) losses; 1e-11 is far below the O(dtau) terms
        np.testing.assert_allclose(np.c_[run.train, run.test, run.score], euler, rtol=0, atol=1e-11)
        # the loss seen by the steps (computed from the draws themselves) is the U_m, V_m, xi2 loss
        # of the same A at the recorded steps: the draws of train(noise=m) are those of U_m
        k = ~np.isnan(run.batch_train)
        if ridge == 0.0:
            np.testing.assert_allclose(run.batch_train[k], run.train[k], rtol=1e-12)
        fl = simulate.gradient_flow(model, run.tau, matrices=mats, ridge=ridge)
        dev.append(np.abs(run.test - fl.test).max())
        assert run.train[0] == mats.noise_norm2  # A = 0: the empirical noise energy of the draws
    assert dev[1] < 0.6 * dev[0]  # O(dtau): halving the step halves the gap (0.5 + slack)


def test_finite_m_below_rank_keeps_pseudo_inverse():
    # n m < p: U_m has an exact null space (rank <= n m) and V_m lies in its range, so tau = infinity at
    # lam = 0 is the minimum-norm solution, checked through an independent pseudo-inverse
    model = rfdiff.RFModel(psi_p=4, psi_n=1, t=0.1)
    mats = simulate.correlation_matrices(model, d=6, seed=1, noise=2)  # n m = 12 < p = 24
    fl = simulate.gradient_flow(model, [1e12], matrices=mats)
    assert fl.zero_modes == mats.p - 2 * mats.n
    B = -(np.linalg.pinv(mats.U, rcond=1e-9) @ mats.V).T / math.sqrt(mats.delta)
    ref = simulate.dsm_losses(mats, B * math.sqrt(mats.p))
    # pinv vs eigen-cut, both drop the 12 exact zeros; cond of the rest < 1e5: 1e-9 relative on L_test
    np.testing.assert_allclose(fl.test_inf, ref[1], rtol=1e-9)
    # n m <= p features interpolate the n m fixed samples: the train loss on the draws vanishes (to the
    # rounding of sums of O(1) terms, 1e-12), in both computations
    assert abs(fl.train_inf) < 1e-12 and abs(ref[0]) < 1e-12


# ------------------------------------------------------------------------------------- optimizers


def _reference(model, mats, *, optimizer, steps, lr, batch_size=None, noise="fresh", wd=0.0,
               betas=(0.9, 0.999), eps=1e-8, seed=0):
    """Plain numpy training on A, written from the documented algorithm (module docstring of train)."""
    W, X = np.asarray(mats.W), np.asarray(mats.X)
    p, d = W.shape
    n = X.shape[0]
    delta, e = mats.delta, math.exp(-model.t)
    if noise == "fresh":
        total = n
    else:
        total = n * noise
        xi_all = _gen(0 if mats.seed is None else mats.seed.entropy, 2).standard_normal((total, d))
    b = total if batch_size is None else batch_size
    train_rng, batch_rng = _gen(seed, 3), _gen(seed, 4)
    A = np.zeros((d, p))
    mom, vel = np.zeros_like(A), np.zeros_like(A)
    perm, pos = None, total // b
    for k in range(1, steps + 1):
        if b == total:
            idx = np.arange(total)
        else:
            if pos == total // b:
                perm, pos = batch_rng.permutation(total), 0
            idx = np.sort(perm[pos * b:(pos + 1) * b])
            pos += 1
        if noise == "fresh":
            xi = train_rng.standard_normal((d, b)).T  # rows: samples of the batch
            x0 = X[idx]
        else:
            xi, x0 = xi_all[idx], X[idx % n]
        F = np.tanh((e * x0 + math.sqrt(delta) * xi) @ W.T / math.sqrt(d))  # b x p
        resid = math.sqrt(delta) * F @ A.T / math.sqrt(p) + xi  # b x d
        g = 2 * math.sqrt(delta) / (b * d * math.sqrt(p)) * resid.T @ F + wd * A
        if optimizer in ("gd", "sgd"):
            A = A - lr * g
        elif optimizer == "sign":
            A = A - lr * np.sign(g)
        else:
            mom = betas[0] * mom + (1 - betas[0]) * g
            vel = betas[1] * vel + (1 - betas[1]) * g * g
            mhat = mom / (1 - betas[0] ** k)
            vhat = vel / (1 - betas[1] ** k)
            A = A - lr * mhat / (np.sqrt(vhat) + eps)
    return A


@pytest.mark.parametrize(
    "case",
    [
        dict(optimizer="adam", lr=0.02),
        dict(optimizer="adam", lr=0.02, batch_size=5, wd=3e-3, betas=(0.8, 0.99), eps=1e-6),
        dict(optimizer="adam", lr=0.02, noise=3, batch_size=7),
        dict(optimizer="sign", lr=0.01, batch_size=6, wd=1e-3),
        dict(optimizer="sgd", lr=40.0, batch_size=4, noise=2, wd=2e-3),
        dict(optimizer="gd", lr=40.0),
    ],
    ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()),
)
def test_optimizers_against_numpy_reference(case):
    model = rfdiff.RFModel(psi_p=2, psi_n=1.5, t=0.1)  # d = 8: p = 16, n = 12
    noise = case.get("noise", "fresh")
    mats = simulate.correlation_matrices(model, d=8, seed=0, noise="exact" if noise == "fresh" else noise)
    steps = 7
    kw = {k: v for k, v in case.items() if k != "wd"}
    wd = case.get("wd", 0.0)
    run = simulate.train(model, matrices=mats, steps=steps, seed=5, record=3,
                         weight_decay=wd if wd else None, **kw)
    ref = _reference(model, mats, steps=steps, seed=5, **case)
    # the kernel's tanh differs from np.tanh by <= 4e-16 and the products round differently; Adam and
    # sign descent normalise each coordinate, so the two agree to ~1e-15 of the step unless a gradient
    # entry is within ~1e-15 of 0 (probability ~1e-13 here): 1e-12 of max|A|
    scale = np.abs(ref).max()
    assert scale > 0
    assert np.abs(run.A - ref).max() <= 1e-12 * scale, np.abs(run.A - ref).max() / scale
    assert run.optimizer == case["optimizer"]
    if case["optimizer"] in ("adam", "sign"):
        assert run.tau is None and run.time_unit == "step*lr"
        np.testing.assert_array_equal(run.time, run.step * case["lr"])
    else:
        assert run.time_unit == "tau"
        np.testing.assert_allclose(run.tau, run.step * case["lr"] / 8**2, rtol=1e-15)


def test_sgd_with_the_full_batch_is_gd_bit_for_bit():
    model = rfdiff.RFModel(psi_p=2, psi_n=1, t=0.1)
    mats = simulate.correlation_matrices(model, d=8, seed=0)
    gd = simulate.train(model, matrices=mats, steps=25, dtau=0.3, seed=2, record=6)
    sgd = simulate.train(model, matrices=mats, steps=25, dtau=0.3, seed=2, record=6, optimizer="sgd",
                         batch_size=mats.n)
    assert np.array_equal(gd.A, sgd.A) and np.array_equal(gd.test, sgd.test)
    assert np.array_equal(gd.batch_train, sgd.batch_train, equal_nan=True)
    # lr = eta on A is dtau = eta / d^2
    via_lr = simulate.train(model, matrices=mats, steps=25, lr=0.3 * 64, seed=2, record=6)
    assert np.array_equal(gd.A, via_lr.A)
    # weight decay on A is the ridge lam = wd d p / (2 Delta)
    wd = 1e-3
    a = simulate.train(model, matrices=mats, steps=25, dtau=0.3, seed=2, weight_decay=wd)
    b = simulate.train(model, matrices=mats, steps=25, dtau=0.3, seed=2, ridge=wd * 8 * 16 / (2 * mats.delta))
    np.testing.assert_allclose(a.A, b.A, rtol=1e-13, atol=1e-15)
    assert a.ridge == pytest.approx(b.ridge, rel=1e-15)


def test_sgd_epochs_visit_every_sample_once():
    # with fixed draws and batch b | N, one epoch of SGD at a tiny step is one GD step on the whole set
    # to first order: the sum of the batch gradients at B ~ 0 is the full gradient
    model = rfdiff.RFModel(psi_p=2, psi_n=1, t=0.1)
    mats = simulate.correlation_matrices(model, d=6, seed=0, noise=2)  # N = 12
    h = 1e-6
    sgd = simulate.train(model, matrices=mats, steps=4, dtau=h, optimizer="sgd", batch_size=3, noise=2,
                         record=2)
    gd = simulate.train(model, matrices=mats, steps=1, dtau=h, noise=2, record=2)
    # 4 batch steps of size h/ (b = N/4) rate each sum the 12 samples' gradients once: = 4 GD steps of h
    # to O(h^2) (the batches see B moved by O(h)); relative gap ~ h * kappa lambda_max ~ 1e-6
    np.testing.assert_allclose(sgd.A, 4 * gd.A, rtol=1e-4, atol=0)


def test_adam_reproducible_across_threads_on_the_parallel_kernel():
    model = rfdiff.RFModel(psi_p=16, psi_n=0.5, t=0.1)
    mats = simulate.correlation_matrices(model, d=64, seed=0, noise="gaussian")  # p = 1024, n = 32
    assert mats.d * mats.p >= _kernels.SERIAL_BELOW  # the parallel Adam and sign kernels
    # only the steps matter here: the cheap Gaussian-equivalent matrices stand in for the exact ones
    # that fresh-noise training records its losses with
    exact = dataclasses.replace(mats, noise="exact")
    top = numba.config.NUMBA_NUM_THREADS
    for opt in ("adam", "sign"):
        runs = [simulate.train(model, matrices=exact, steps=3, lr=1e-3, optimizer=opt, seed=1, record=2,
                               threads=th) for th in (1, min(2, top))]
        assert np.array_equal(runs[0].A, runs[1].A)
        if opt == "adam":
            assert np.array_equal(runs[0].tau_equiv, runs[1].tau_equiv) and runs[0].tau_equiv[-1] > 0


def test_train_records_weights_and_to_dict():
    model = rfdiff.RFModel(psi_p=2, psi_n=1, t=0.1)
    run = simulate.train(model, d=4, steps=10, lr=0.05, optimizer="adam", record=4, record_weights=True)
    assert run.weights.shape == (run.step.size, 4, 8)
    assert np.array_equal(run.weights[-1], run.A) and not np.any(run.weights[0])
    d = run.to_dict(max_array_size=None)
    assert d["optimizer"] == "adam" and d["tau"] is None and d["time"]["shape"] == [run.step.size]
    back = simulate.TrainingRun.from_dict(json.loads(json.dumps(d)))  # rfdiff.io's one mechanism
    assert back.betas == run.betas and back.noise == run.noise and back.lr == run.lr
    assert np.array_equal(back.weights, run.weights) and np.array_equal(back.tau_equiv, run.tau_equiv)
    with pytest.raises(ValueError):
        run.weights[0, 0, 0] = 1.0


def test_bad_input_training_options():
    model = rfdiff.RFModel(psi_p=2, psi_n=1, t=0.1)
    mats = simulate.correlation_matrices(model, d=4)
    bad = [
        (dict(optimizer="rmsprop", dtau=0.1), "optimizer"),
        (dict(optimizer="adam", dtau=0.1), "dtau"),
        (dict(optimizer="adam"), "lr"),
        (dict(dtau=0.1, lr=1.0), "dtau"),
        (dict(dtau=0.1, batch_size=2), "full batch"),
        (dict(optimizer="sgd", dtau=0.1, batch_size=0), "batch_size"),
        (dict(optimizer="sgd", dtau=0.1, batch_size=5), "batch_size"),
        (dict(dtau=0.1, ridge=-1.0), "ridge"),
        (dict(dtau=0.1, ridge=1.0, weight_decay=1.0), "weight_decay"),
        (dict(dtau=0.1, weight_decay=float("nan")), "weight_decay"),
        (dict(dtau=0.1, noise="exact"), "noise"),
        (dict(dtau=0.1, noise=0), "noise"),
        (dict(dtau=0.1, noise=3), "noise=3"),  # matrices are exact, not 3 draws
        (dict(optimizer="adam", lr=0.1, betas=(0.9, 1.0)), "betas"),
        (dict(optimizer="adam", lr=0.1, betas=0.9), "betas"),
        (dict(optimizer="adam", lr=0.1, eps=0.0), "eps"),
        (dict(optimizer="adam", lr=True), "lr"),
        (dict(dtau=0.1, record_weights=1), "record_weights"),
    ]
    for kwargs, name in bad:
        with pytest.raises(ValueError, match=name):
            simulate.train(model, matrices=mats, steps=2, **kwargs)
    for ridge in (-0.1, float("inf"), "0.1", True):
        with pytest.raises(ValueError, match="ridge"):
            simulate.gradient_flow(model, 1.0, matrices=mats, ridge=ridge)


def test_issue12_results_roundtrip_through_rfdiff_io():
    # FlowSpectrum, RidgeEstimator and ridge / fixed-draw curves go through rfdiff.io like every result
    from rfdiff import io

    model = rfdiff.RFModel(psi_p=2, psi_n=1, t=0.1)
    mats = simulate.correlation_matrices(model, d=4, seed=1, noise=3)
    spec = simulate.flow_spectrum(model, matrices=mats)
    est = simulate.ridge_estimator(model, 0.2, matrices=mats)
    objs = [spec, spec.curves([0.0, 1.0, 1e9], ridge=0.2), est]
    for obj in objs:
        back = io.from_dict(json.loads(json.dumps(obj.to_dict(max_array_size=None))))
        assert type(back) is type(obj)
        for f in dataclasses.fields(obj):
            a, b = getattr(obj, f.name), getattr(back, f.name)
            if isinstance(a, np.ndarray):
                assert np.array_equal(a, b), f.name
            elif f.name != "matrices":
                assert a == b, f.name
        assert np.array_equal(back.matrices.U, mats.U) and back.matrices.noise == 3


def test_model_ridge_and_noise_draws_are_the_defaults():
    # RFModel(ridge=, noise_draws=) is the loss the theory describes: the simulator must not silently
    # drop it. Explicit arguments still override.
    plain = rfdiff.RFModel(psi_p=2, psi_n=1, t=0.1)
    model = rfdiff.RFModel(psi_p=2, psi_n=1, t=0.1, ridge=0.3, noise_draws=3)
    tau = [0.5, 1e9]
    got = simulate.gradient_flow(model, tau, d=4, seed=2)
    want = simulate.gradient_flow(plain, tau, d=4, seed=2, noise=3, ridge=0.3)
    assert got.ridge == 0.3 and got.matrices.noise == 3
    assert np.array_equal(got.test, want.test) and np.array_equal(got.train, want.train)
    assert simulate.gradient_flow(model, tau, d=4, seed=2, noise="exact", ridge=0.0).ridge == 0.0
    run = simulate.train(model, d=4, steps=3, dtau=0.1, seed=2)
    ref = simulate.train(plain, d=4, steps=3, dtau=0.1, seed=2, noise=3, ridge=0.3)
    assert run.noise == 3 and run.ridge == 0.3 and np.array_equal(run.A, ref.A)
