"""Tests of rfdiff.noise_draws: m noise draws per training point (deterministic equivalent, tau = inf losses).

Checks, from the most to the least exact:
* m = infinity against Theorem 3.1 (rfdiff.resolvent.solve) and against rfdiff.ridge.ridge_limit: a different
  system (three unknowns) and different derivatives (complex step), so agreement to ~1e-12 checks both;
* internal identities: the analytic Jacobian against complex-step differentiation, the rescaled (lam q,
  eps/lam) and unscaled variables against each other at lam > 0, the implicit zeta-derivative against finite
  differences of the complex-z solver with a deterministic shift, the density's mass 1 - null mass;
* limits: m -> infinity at rate 1/m; interpolation of the sampled draws (L_train = 0) when n m < p;
* finite-size Gaussian-equivalent matrices built here from the single-draw feature
  e^{-t} a W x/sqrt(d) + b W xi/sqrt(d) + v omega_nu + s z_{nu,k} (not from the library), at growing d;
* slow: the real tanh model with Monte Carlo draws (rfdiff.simulate, noise=m) against the theory.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import rfdiff
from rfdiff import noise_draws as nd
from rfdiff import simulate
from rfdiff.resolvent import solve as solve_31
from rfdiff.ridge import ridge_limit

TWO = rfdiff.DataSpectrum([0.5, 1.5], [0.5, 0.5])


@pytest.mark.parametrize("setting,data", [((4, 1, 0.1), None), ((64, 8, 0.01), None), ((8, 2, 0.1), TWO)])
def test_m_infinity_is_theorem_31(setting, data):
    # 1/m = 0: delta_2 = 0, theta = 1 and the system is Theorem 3.1 in other unknowns. The two solvers share
    # no code; both converge to ~1e-15 residuals: tolerance 1e-11 relative.
    model = rfdiff.RFModel(*setting, data=data or rfdiff.DataSpectrum.isotropic())
    eqs = nd.DrawsEquations.from_model(model, None)
    z = np.array([0.3 + 0.2j, 0.02 + 0.01j, 5 + 3j, 40 + 1j])
    res = nd.solve(eqs, z)
    ref = solve_31(model.equations, z)
    np.testing.assert_allclose(res.q, ref.q, rtol=1e-11)
    np.testing.assert_allclose(res.S, ref.s, rtol=1e-11)
    c = model.constants
    np.testing.assert_allclose(res.A, c.b**2 * model.psi_p * ref.s, rtol=1e-11)


@pytest.mark.parametrize("setting,data", [((4, 1, 0.1), None), ((64, 8, 0.1), None), ((8, 2, 0.1), TWO),
                                          ((2, 4, 0.01), None)])
def test_m_infinity_losses_equal_ridge_closed_form(setting, data):
    # Independent implementations (Theorem 3.1 + analytic implicit derivatives vs this module's system +
    # complex-step implicit derivatives): tolerance 1e-10 absolute on losses of order 1.
    lam = np.array([0.0, 1e-3, 0.1, 3.0])
    a = nd.limit_losses(*setting, None, lam, data=data)
    b = ridge_limit(*setting, lam, data=data)
    np.testing.assert_allclose(a.train, b.train, atol=1e-10, rtol=0)
    np.testing.assert_allclose(a.test, b.test, atol=1e-10, rtol=0)
    np.testing.assert_allclose(a.score, b.score, atol=1e-9, rtol=0)


def test_large_m_converges_like_one_over_m():
    # U_m and V_m differ from their m = inf limits by O(1/m) in every trace used, so the gaps at m and 2m
    # must have ratio 2 (to O(1/m): 1 % at m = 400).
    inf = nd.limit_losses(4, 1, 0.1, None, 0.01)
    g1 = nd.limit_losses(4, 1, 0.1, 400, 0.01)
    g2 = nd.limit_losses(4, 1, 0.1, 800, 0.01)
    for key in ("train", "test"):
        d1 = float(getattr(g1, key) - getattr(inf, key))
        d2 = float(getattr(g2, key) - getattr(inf, key))
        assert abs(d1 / d2 - 2) < 0.02, (key, d1, d2)


def test_analytic_jacobian_matches_complex_step():
    model = rfdiff.RFModel(8, 2, 0.1, data=TWO)
    for m in (1, 3, None):
        eqs = nd.DrawsEquations.from_model(model, m)
        x = (np.array(7.3), np.array(0.4), np.array(0.05))      # any real point: an identity of the formulas
        z, z1, z2 = np.array(-0.02), np.array(0.01), np.array(-0.003)
        J = nd._jacobian_analytic(eqs.equations, eqs.minv, x, z, z1, z2)
        h = 1e-30
        for j in range(3):
            xc = [v.astype(complex) for v in x]
            xc[j] = xc[j] + 1j * h
            col = np.array(nd._residual(eqs.equations, eqs.minv, tuple(xc), z, z1, z2)).imag / h
            np.testing.assert_allclose(J[:, j].real, col, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("m", [1, 2, 3])
def test_scaled_and_unscaled_variables_agree(m):
    # n m < p here (psi_p = 4, psi_n = 1): the library uses the rescaled variables; at lam > 0 the unscaled
    # system is exact too. Both are solved to ~1e-15: tolerance 1e-10.
    model = rfdiff.RFModel(4, 1, 0.1)
    draws = nd.DrawsEquations.from_model(model, m)
    lam = np.array([1e-3, 0.03, 1.0])
    a = nd._limit(model, draws, lam, True)
    b = nd._limit(model, draws, lam, False)
    for key in ("train", "test", "A", "dA_dlam", "dA_dzeta1", "dA_dzeta2", "E"):
        np.testing.assert_allclose(getattr(a, key), getattr(b, key), rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("m,data", [(1, None), (3, TWO), (16, None)])
def test_implicit_derivatives_against_complex_solver(m, data):
    # dA/dzeta_i and dA/dlam at z = -lam (complex-step implicit differentiation, real arithmetic) against
    # central finite differences of the complex-z continuation solver at z = -lam + 1e-13 i with the shift
    # U_m - zeta_1 K - zeta_2 K_Sigma: error ~h^2 A''' + 1e-15/h ~ 1e-9 at h = 1e-5; tolerance 1e-7 relative.
    model = rfdiff.RFModel(4, 1, 0.1, data=data or rfdiff.DataSpectrum.isotropic())
    lam = 0.05
    lim = nd.limit_losses_model(model, m, lam)
    eqs = nd.DrawsEquations.from_model(model, m)
    z = -lam + 1e-13j
    h = 1e-5

    def A(dz=0.0, zeta=(0.0, 0.0)):
        return complex(nd.solve(eqs, z + dz, zeta=zeta).A).real

    assert abs(A() - float(lim.A)) < 1e-11
    fd_l = -(A(h) - A(-h)) / (2 * h)                   # d/dlam = -d/dz
    fd_1 = (A(zeta=(h, 0.0)) - A(zeta=(-h, 0.0))) / (2 * h)
    fd_2 = (A(zeta=(0.0, h)) - A(zeta=(0.0, -h))) / (2 * h)
    for fd, an in ((fd_l, lim.dA_dlam), (fd_1, lim.dA_dzeta1), (fd_2, lim.dA_dzeta2)):
        assert abs(fd - float(an)) < 1e-7 * max(1.0, abs(fd)), (fd, float(an))


def test_density_mass_and_m_infinity_density():
    model = rfdiff.RFModel(4, 1, 0.1)
    # continuous mass n m/p (the atom 1 - n m/p at 0 is removed): Riemann sum on a fine grid, error ~1e-3
    for m in (1, 2):
        eqs = nd.DrawsEquations.from_model(model, m)
        x = np.linspace(1e-5, 14.0, 3000)
        mass = float(np.sum(nd.density(eqs, x, eta=1e-7)) * (x[1] - x[0]))
        assert abs(mass - (1 - eqs.null_mass)) < 5e-3
    # m = inf: the continuous density is Theorem 3.1's (rfdiff.RFModel.density), off the atom at s_t^2
    eqs = nd.DrawsEquations.from_model(model, None)
    x = np.array([0.1, 0.2, 1.0, 3.0])
    np.testing.assert_allclose(nd.density(eqs, x, eta=1e-12), model.density(x), rtol=1e-6, atol=1e-9)


def test_interpolation_when_draws_are_fewer_than_features():
    # n m < p: the min-norm estimator fits every sampled draw, L_train^m(lam = 0) = 0, and L_train = O(lam^2).
    res = nd.limit_losses(4, 1, 0.1, 2, [0.0, 1e-6, 2e-6])
    assert res.scaled and float(res.train[0]) == 0.0
    assert abs(res.train[2] / res.train[1] - 4) < 1e-3
    # n m > p: no interpolation
    assert float(nd.limit_losses(4, 1, 0.1, 8, 0.0).train) > 0.1


def _ge_draws(model: rfdiff.RFModel, d: int, m: int, seed: int) -> dict:
    """U_m, V_m, U~, V~ of the Gaussian-equivalent single-draw features (built here, independently)."""
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
    return dict(U=Phi @ Phi.T / (n * m), V=Phi @ Xi.T / (n * m), U_pop=U_pop, V_pop=(c.b / math.sqrt(d)) * W)


def _ridge_losses(mats: dict, delta: float, d: int, lams) -> np.ndarray:
    """(L_train, L_test) of B = -V^T (U + lam)^+ /sqrt(Delta) (pseudo-inverse at lam = 0)."""
    w, Q = np.linalg.eigh(mats["U"])
    R = Q.T @ mats["V"]
    out = []
    for lam in lams:
        if lam == 0:
            keep = w > 1e-9 * w.max()
            inv = np.where(keep, 1.0 / np.where(keep, w, 1.0), 0.0)
        else:
            inv = 1.0 / (w + lam)
        B = -((R * inv[:, None]).T @ Q.T) / math.sqrt(delta)

        def loss(U, V, B=B):
            return 1 + (delta / d) * np.sum((B @ U) * B) + (2 * math.sqrt(delta) / d) * np.sum(B * V.T)

        out.append((loss(mats["U"], mats["V"]), loss(mats["U_pop"], mats["V_pop"])))
    return np.array(out)


def _check_ge(setting, m, d, seeds, lams, allowance, data=None):
    model = rfdiff.RFModel(*setting, data=data or rfdiff.DataSpectrum.isotropic())
    th = nd.limit_losses_model(model, m, lams)
    sims = np.array([_ridge_losses(_ge_draws(model, d, m, 1000 + s), model.constants.delta, d, lams)
                     for s in range(seeds)])
    mean, se = sims.mean(0), sims.std(0, ddof=1) / math.sqrt(seeds)
    for k, theory in enumerate((th.train, th.test)):
        gap = np.abs(mean[:, k] - theory)
        assert np.all(gap < 3 * se[:, k] + np.asarray(allowance) / d), (k, gap, se[:, k])


def test_against_gaussian_equivalent_draws():
    # psi_p = 4, psi_n = 1, t = 0.1, m = 2 (n m = p/2: interpolation regime), d = 50, 32 seeds. Measured
    # (docs/noise_draws.md §6): |seed mean - theory| <= 0.9/d (L_test at lam = 0, where the pseudo-inverse is
    # sensitive to the smallest eigenvalues) and <= 0.3/d at lam > 0, with standard errors 0.002-0.01.
    # Tolerance: 3 se + twice those allowances.
    _check_ge((4, 1, 0.1), 2, 50, 32, [0.0, 0.01, 0.1], [2.0, 0.6, 0.6])


@pytest.mark.slow
@pytest.mark.parametrize("setting,m,d,seeds,data", [
    ((4, 1, 0.1), 1, 200, 32, None), ((4, 1, 0.1), 3, 200, 32, None), ((4, 1, 0.1), 8, 100, 16, None),
    ((2, 4, 0.1), 1, 100, 64, None), ((4, 1, 0.1), 2, 100, 64, TWO)])
def test_against_gaussian_equivalent_draws_large(setting, m, d, seeds, data):
    # Same argument and allowances at larger d and in more regimes (n m < p, n m = 2p, n > p, anisotropic).
    _check_ge(setting, m, d, seeds, [0.0, 0.01, 0.1], [4.0, 0.6, 0.6], data)


@pytest.mark.slow
@pytest.mark.parametrize("m", [1, 4])
def test_stieltjes_against_real_tanh_draws(m):
    # The Gaussian equivalent of a single draw against the real model: q, A = (1/d)Tr V^T R V and
    # E = (1/d^{3/2}) Tr W^T R V of simulate's Monte Carlo mode (tanh, m draws per point) at d = 100, 8 seeds.
    # Measured gaps 0.1-1.5 % (docs/noise_draws.md §6); tolerance 3 se + 3 %.
    model = rfdiff.RFModel(4, 1, 0.1)
    eqs = nd.DrawsEquations.from_model(model, m)
    z = np.array([0.3 + 0.2j, 0.05 + 0.05j, 2 + 1j])
    th = nd.solve(eqs, z)
    d = 100
    vals = []
    for seed in range(8):
        mats = simulate.correlation_matrices(model, d, seed=seed, noise=m)
        row = []
        for zz in z:
            Rz = np.linalg.inv(mats.U - zz * np.eye(mats.p))
            row.append([np.trace(Rz) / mats.p, np.trace(mats.V.T @ Rz @ mats.V) / d,
                        np.trace(mats.W.T @ Rz @ mats.V) / d**1.5])
        vals.append(row)
    vals = np.array(vals)
    mean, se = vals.mean(0), np.abs(vals.std(0, ddof=1)) / math.sqrt(8)
    for k, theory in enumerate((th.q, th.A, th.E)):
        assert np.all(np.abs(mean[:, k] - theory) < 3 * se[:, k] + 0.03 * np.abs(theory)), k


@pytest.mark.parametrize("setting,m,lam,data", [
    ((4, 1, 0.1), 1, 0.0, None), ((4, 1, 0.1), 3, 0.0, TWO), ((2, 4, 0.1), 2, 0.05, None),
    pytest.param((64, 8, 0.1), 4, 0.0, None, marks=pytest.mark.slow),
    pytest.param((64, 8, 0.01), 32, 1e-3, None, marks=pytest.mark.slow)])
def test_contour_at_infinity_equals_closed_form(setting, m, lam, data):
    # tau = inf through the contours (double trapezoid integral of the finite-m two-point equivalent,
    # one-point A and E) against the closed form (implicit derivatives at z = -lam): different formulas and
    # numerics, each ~1e-13; tolerance 1e-9. Also the contour mass n m/p (the atom at 0 is outside).
    model = rfdiff.RFModel(*setting, data=data or rfdiff.DataSpectrum.isotropic())
    lc = nd.learning_curves(model, m, [0.0, np.inf], lam)
    lim = nd.limit_losses_model(model, m, lam)
    assert lc.test[0] == 1.0 and lc.train[0] == 1.0
    assert abs(lc.test[1] - float(lim.test)) < 1e-9
    assert abs(lc.train[1] - float(lim.train)) < 1e-9
    draws = nd.DrawsEquations.from_model(model, m)
    assert abs(lc.contour_mass - (1 - draws.null_mass)) < 1e-10


def test_finite_m_curves_converge_to_the_core_curves():
    # Large m through this module's contours and two-point equivalent against rfdiff.learning_curves (m = inf,
    # the core's code): the gap must shrink like 1/m (ratio 2 between m = 2000 and 4000, to 5 %) and be small.
    model = rfdiff.RFModel(8, 2, 0.1)
    tau = np.array([1.0, 30.0, 1e3, 1e5])
    core = model.learning_curves(tau)
    g = [nd.learning_curves(model, m, tau) for m in (2000, 4000)]
    gaps = [np.abs(x.test - core.test).max() for x in g]
    assert gaps[0] < 2e-3
    assert abs(gaps[0] / gaps[1] - 2) < 0.1, gaps
    np.testing.assert_allclose(nd.learning_curves(model, None, tau).test, core.test, atol=1e-13, rtol=0)


def _ge_flow(mats: dict, delta: float, d: int, taus) -> np.ndarray:
    """(L_train, L_test) of the flow B(tau) = -V^T Q diag((1 - e^{-a w})/w) Q^T/sqrt(Delta)."""
    w, Q = np.linalg.eigh(mats["U"])
    R = Q.T @ mats["V"]
    p = w.size
    pos = w > 1e-12 * w.max()
    out = []
    for tau in taus:
        a = 2 * delta * tau / (p / d)
        filt = np.where(pos, -np.expm1(-a * w) / np.where(pos, w, 1.0), a)
        B = -((R * filt[:, None]).T @ Q.T) / math.sqrt(delta)
        out.append([1 + (delta / d) * np.sum((B @ U) * B) + (2 * math.sqrt(delta) / d) * np.sum(B * V.T)
                    for U, V in ((mats["U"], mats["V"]), (mats["U_pop"], mats["V_pop"]))])
    return np.array(out)


def test_finite_tau_against_gaussian_equivalent_flow():
    # psi_p = 4, psi_n = 1, t = 0.1, m = 2, d = 50, 32 seeds, tau = 10, 100, 1e3. Measured
    # (docs/noise_draws.md §6) |seed mean - theory| <= 0.015 at d = 50 with standard errors up to 0.008
    # (L_test at tau = 1e3), falling with d. Tolerance 3 se + 0.5/d.
    model = rfdiff.RFModel(4, 1, 0.1)
    taus = [10.0, 100.0, 1e3]
    lc = nd.learning_curves(model, 2, taus)
    d = 50
    sims = np.array([_ge_flow(_ge_draws(model, d, 2, 2000 + s), model.constants.delta, d, taus)
                     for s in range(32)])
    mean, se = sims.mean(0), sims.std(0, ddof=1) / math.sqrt(32)
    assert np.all(np.abs(mean[:, 0] - lc.train) < 3 * se[:, 0] + 0.5 / d)
    assert np.all(np.abs(mean[:, 1] - lc.test) < 3 * se[:, 1] + 0.5 / d)


def test_spectrum_support_and_masses():
    # psi_p = 64, psi_n = 8, t = 0.1, m = 32: the atom at s_t^2 of m = inf becomes a sampled-noise bulk
    # around it (edges ~ s_t^2 (1 -+ sqrt(p/(n m)))^2, up to the b_t^2 K part), and the masses are those of
    # m = inf: 1 - (1 + psi_n)/psi_p, 1/psi_p (cluster), (psi_n - 1)/psi_p (rho_1), 1/psi_p (rho_2), to the
    # scan's quadrature error (1e-3).
    model = rfdiff.RFModel(64, 8, 0.1)
    sp = nd.spectrum(nd.DrawsEquations.from_model(model, 32))
    assert len(sp.support) == 4
    np.testing.assert_allclose(sp.mass, [1 - 9 / 64, 1 / 64, 7 / 64, 1 / 64], atol=1.5e-3)
    s2 = model.constants.s2
    assert sp.support[0][0] < s2 < sp.support[0][1]


def test_to_dict_and_shapes():
    res = nd.limit_losses(4, 1, 0.1, 2, [[0.0, 0.1], [1.0, 10.0]])
    assert res.test.shape == (2, 2)
    out = json.loads(json.dumps(res.to_dict()))
    assert out["m"] == 2 and out["scaled"] is True
    assert nd.limit_losses(4, 1, 0.1, 2, 0.1).test.shape == ()


@pytest.mark.parametrize("m,err", [(0, ValueError), (-1, ValueError), (True, TypeError), (1.5, TypeError),
                                   ("2", TypeError)])
def test_bad_m(m, err):
    with pytest.raises(err, match="m must be"):
        nd.limit_losses(4, 1, 0.1, m, 0.1)


def test_result_dictionaries_are_json():
    eqs = nd.DrawsEquations.from_model(rfdiff.RFModel(4, 1, 0.1), 2)
    json.dumps(nd.solve(eqs, [0.3 + 0.2j, 1 + 1j]).to_dict())
    json.dumps(nd.spectrum(eqs).to_dict())
    json.dumps(nd.learning_curves(rfdiff.RFModel(4, 1, 0.1), 2, [1.0, np.inf]).to_dict())


def test_bad_inputs_of_the_spectral_functions():
    eqs = nd.DrawsEquations.from_model(rfdiff.RFModel(4, 1, 0.1), 2)
    with pytest.raises(ValueError, match="eta"):
        nd.density(eqs, [0.1], eta=0.0)
    with pytest.raises(ValueError, match="points"):
        nd.spectrum(eqs, points=3)
    with pytest.raises(ValueError, match="n m = p"):
        nd.spectrum(nd.DrawsEquations.from_model(rfdiff.RFModel(4, 1, 0.1), 4))
    with pytest.raises(TypeError, match="model"):
        nd.learning_curves("model", 2, [1.0])
    with pytest.raises(ValueError, match="single number"):
        nd.learning_curves(rfdiff.RFModel(4, 1, 0.1), 2, [1.0], lam=[0.1, 0.2])
    with pytest.raises(TypeError, match="equations"):
        nd.DrawsEquations("eq", 2)


def test_bad_lam_and_singular_point():
    with pytest.raises(ValueError, match="lam"):
        nd.limit_losses(4, 1, 0.1, 2, -0.1)
    with pytest.raises(TypeError, match="lam"):
        nd.limit_losses(4, 1, 0.1, 2, True)
    with pytest.raises(ValueError, match="n m = p"):
        nd.limit_losses(4, 1, 0.1, 4, 0.0)                   # n m = p exactly: the ridge-less loss diverges
    with pytest.raises(ValueError, match="Im z"):
        nd.solve(nd.DrawsEquations.from_model(rfdiff.RFModel(4, 1, 0.1), 2), 0.5)
