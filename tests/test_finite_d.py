"""Finite-d theory of the spectrum of U (rfdiff.finite_d, issue 13; docs/finite_d.md).

Independent checks: closed-form moments of the quadrature laws and Gegenbauer identities; the d -> infinity
limit against Theorem 3.1 (rfdiff.RFModel.stieltjes); and the real tanh U with the noise average done exactly
(rfdiff.simulate, Mehler expansion) at finite d, several seeds. Tolerances come from the measured
seed-to-seed scatter (standard error of the seed mean) and are stated at each assertion.
"""

import math
import os

import numpy as np
import pytest

import rfdiff
from rfdiff import finite_d as fd
from rfdiff import simulate


def empirical_q(values, z):
    """(1/p) Tr (U - z)^{-1} per seed (rows) from eigenvalues."""
    return np.mean(1.0 / (np.asarray(values)[:, :, None] - z[None, None, :]), axis=1)


# ----------------------------------------------------------------------------- quadrature laws (closed forms)


@pytest.mark.parametrize("d", [8, 50, 1000, 10**6])
def test_chi_rule_moments(d):
    # r^2 = chi^2_d / d: E r^2 = 1, E r^4 = 1 + 2/d, E r^6 = (1 + 2/d)(1 + 4/d) (Gauss: exact to degree 2N-1)
    r, w = fd.chi_rule(d, 12)
    assert abs(w.sum() - 1) < 1e-14
    assert abs(w @ r**2 - 1) < 1e-13
    assert abs(w @ r**4 - (1 + 2 / d)) < 1e-13
    assert abs(w @ r**6 - (1 + 2 / d) * (1 + 4 / d)) < 1e-12


@pytest.mark.parametrize("d", [8, 50, 10**6])
def test_sphere_rule_moments(d):
    # u = sqrt(d) cos(theta) of two uniform directions:
    # E u^2 = 1, E u^4 = 3d/(d+2), E u^6 = 15 d^2/((d+2)(d+4))
    u, w = fd.sphere_rule(d, 20)
    assert abs(w @ u**2 - 1) < 1e-13
    assert abs(w @ u**4 - 3 * d / (d + 2)) < 1e-12
    assert abs(w @ u**6 - 15 * d * d / ((d + 2) * (d + 4))) < 1e-11
    # and it is the law of sqrt(d) x_1/|x| (Monte Carlo check of the density, 4 sigma)
    if d == 8:
        x = np.random.default_rng(0).standard_normal((200_000, d))
        uu = math.sqrt(d) * x[:, 0] / np.linalg.norm(x, axis=1)
        m4 = np.mean(uu**4)
        assert abs(m4 - w @ u**4) < 4 * np.std(uu**4) / math.sqrt(uu.size)


@pytest.mark.parametrize("d", [8, 50, 400])
def test_monomial_gegenbauer(d):
    a = fd.monomial_gegenbauer(d, 6)
    assert np.allclose(a.sum(axis=1), 1.0, atol=1e-13)  # G_k(1) = 1
    # closed forms: rho^2 = 1/d + (d-1)/d G_2, rho^3 = 3/(d+2) rho + (d-1)/(d+2) G_3
    assert abs(a[2, 0] - 1 / d) < 1e-14 and abs(a[2, 2] - (d - 1) / d) < 1e-13
    assert abs(a[3, 1] - 3 / (d + 2)) < 1e-14 and abs(a[3, 3] - (d - 1) / (d + 2)) < 1e-13
    # G_3(t) = ((d+2) t^3 - 3t)/(d-1): the identity rho^3 = a31 rho + a33 G_3(rho) at any rho
    t = np.linspace(-1, 1, 7)
    assert np.allclose(t**3, a[3, 1] * t + a[3, 3] * ((d + 2) * t**3 - 3 * t) / (d - 1), atol=1e-13)
    # parity: odd monomials have only odd degrees
    assert np.all(a[5, ::2] == 0) and np.all(a[4, 1::2] == 0)


# ----------------------------------------------------------------------------- coefficients


def test_coefficients_budget_and_limit():
    m = rfdiff.RFModel(psi_p=16, psi_n=4, t=0.1)
    c = m.constants
    co = fd.coefficients(m, 40, r_nodes=16)
    assert co.min_white >= -1e-12 and co.s_quadrature_error < 1e-5
    # the diagonal budget of a row type is E tanh(Gamma_t r z)^2: against mpmath (tanh-sinh, 30 digits) at
    # the smallest, a central and the largest node (r = 2.04: where Gauss-Hermite in 1-d still errs by 1e-8)
    import mpmath

    for i in (0, 8, co.r.size - 1):
        g = math.sqrt(c.gamma2) * co.r[i]
        with mpmath.workdps(30):
            ref = mpmath.quad(lambda x, g=g: mpmath.tanh(g * x) ** 2 * mpmath.exp(-x * x / 2),
                              [-mpmath.inf, 0, mpmath.inf]) / mpmath.sqrt(2 * mpmath.pi)
        assert abs(co.norm2[i] - float(ref)) < 1e-13
    # d -> infinity: the row types collapse to r = 1 and the noise-response coefficient kappa_10 -> b_t
    big = fd.coefficients(m, 10**6, r_nodes=8, s_nodes=2)
    b1 = big._blocks[0]
    assert abs(big.r_weights @ b1.vecs[b1.v_index] ** 2 - c.b**2) < 5e-6 * c.b**2 * 10
    assert abs(big.r_weights @ big.norm2 - c.norm2) < 1e-5


def test_bad_input():
    m = rfdiff.RFModel(psi_p=4, psi_n=2, t=0.1)
    with pytest.raises(ValueError, match="d must be an integer"):
        fd.coefficients(m, 4)
    with pytest.raises(ValueError, match="d must be an integer"):
        fd.coefficients(m, 50.0)
    with pytest.raises(ValueError, match="d must be an integer"):
        fd.coefficients(m, True)
    with pytest.raises(TypeError, match="RFModel"):
        fd.coefficients("model", 50)
    aniso = rfdiff.RFModel(4, 2, 0.1, data=rfdiff.DataSpectrum([0.5, 1.5], [0.5, 0.5]))
    with pytest.raises(ValueError, match="isotropic"):
        fd.coefficients(aniso, 50)
    even = rfdiff.RFModel(4, 2, 0.1, activation=rfdiff.centred(lambda x: x**2 + np.tanh(x), 1.0))
    with pytest.raises(ValueError, match="odd activation"):
        fd.coefficients(even, 50)
    co = fd.coefficients(m, 20, r_nodes=8)
    with pytest.raises(ValueError, match="Im z > 0"):
        fd.solve(co, [0.1 + 0.0j])
    with pytest.raises(ValueError, match="Im z > 0"):
        fd.solve(co, 0.1 - 0.1j)
    with pytest.raises(ValueError, match="finite"):
        fd.solve(co, np.nan + 1j)
    with pytest.raises(TypeError, match="FiniteDCoefficients"):
        fd.solve(m, 0.1 + 0.1j)
    with pytest.raises(ValueError, match="on_failure"):
        fd.solve(co, 0.1 + 0.1j, on_failure="ignore")
    with pytest.raises(ValueError, match="damping"):
        fd.solve(co, 0.1 + 0.1j, damping=0.0)
    with pytest.raises(ValueError, match="lam"):
        fd.density(co, [0.0, 1.0])
    with pytest.raises(ValueError, match="apply to finite d"):
        fd.stieltjes(m, 0.1 + 0.1j, d=None, r_nodes=8)


def test_failure_is_reported_not_silent():
    co = fd.coefficients(rfdiff.RFModel(psi_p=4, psi_n=2, t=0.1), 20, r_nodes=8)
    with pytest.raises(rfdiff.ResolventConvergenceError, match="finite-d solver failed"):
        fd.solve(co, [0.05 + 0.01j], maxit=2)
    with pytest.warns(RuntimeWarning, match="finite-d solver failed"):
        res = fd.solve(co, [0.05 + 0.01j, 3.0 + 3.0j], maxit=2, on_failure="warn")
    assert np.isnan(res.q[0]) and not res.converged[0]


# ----------------------------------------------------------------------------- solver properties


def test_herglotz_shapes_and_to_dict():
    m = rfdiff.RFModel(psi_p=8, psi_n=2, t=0.1)
    co = fd.coefficients(m, 30, r_nodes=16)
    z = np.array([[0.01 + 0.001j, 0.1 + 0.05j], [1.0 + 1e-4j, 40.0 + 3.0j]])
    res = fd.solve(co, z)
    assert res.q.shape == z.shape and res.R.shape == (*z.shape, 16) and res.delta_h.shape == (*z.shape, 4)
    assert res.ok.all() and np.all(res.q.imag > 0) and np.all((z * res.q).imag >= 0)
    assert np.all(np.abs(res.q) <= 1 / z.imag)  # |q| <= 1/Im z for a Stieltjes transform
    assert np.max(res.residual) <= 1e-11
    # q ~ -1/z - m1/z^2 at large |z|, m1 = (1/p) Tr U = E_r norm2 (the diagonal budget)
    big = 1e5 * (1 + 1j)
    qb = fd.solve(co, big).q
    m1 = co.r_weights @ co.norm2
    assert abs(qb + 1 / big + m1 / big**2) < 50 / abs(big) ** 3
    # io round trip (JSON): the coefficients come back solvable, the result equal field by field
    import json

    dd = json.loads(json.dumps(res.to_dict()))
    assert dd["type"] == "FiniteDResolvent" and dd["coefficients"]["d"] == 30
    back = rfdiff.io.from_dict(dd)
    assert np.array_equal(back.q, res.q) and np.array_equal(back.converged, res.converged)
    assert back.coefficients.block_dims == co.block_dims
    assert np.array_equal(fd.solve(back.coefficients, z).q, res.q)
    # the same point alone or in a batch: identical to the iteration tolerance
    alone = fd.solve(co, z[0, 1]).q
    assert abs(alone - res.q[0, 1]) < 1e-10 * abs(alone)


def test_d_to_infinity_recovers_theorem_3_1():
    # the finite-d equations reduce to Theorem 3.1 as d -> infinity (docs/finite_d.md §6); the corrections
    # are O(1/d): the difference falls by ~10 per decade of d (measured ratios 9.6-10.2)
    m = rfdiff.RFModel(psi_p=16, psi_n=4, t=0.1)
    z = np.array([0.005 + 0.002j, 0.03 + 0.01j, 0.2 + 0.05j, 10.0 + 2.0j])
    q_inf = m.stieltjes(z)
    diffs = []
    for d in (10**4, 10**5):
        q = fd.stieltjes(m, z, d=d, r_nodes=16, s_nodes=2)
        diffs.append(np.abs(q - q_inf) / np.abs(q_inf))
    assert np.all(diffs[1] < 2e-4), diffs
    assert np.all(diffs[0] / diffs[1] > 6) and np.all(diffs[0] / diffs[1] < 16), diffs
    assert np.allclose(fd.stieltjes(m, z), q_inf, rtol=0, atol=0)  # d=None is Theorem 3.1 itself


# ----------------------------------------------------------------------------- against the real U (bounded)


def test_real_tanh_U_small_setting():
    # psi_p = 16, psi_n = 4, t = 0.1, d = 40 (p = 640, n = 160): the exact U of 4 seeds. At z = lam (1 + 0.2i)
    # over the whole spectrum (atom, cluster, rho_1, rho_2 and the gaps) Theorem 3.1 is off by up to 125 %;
    # the finite-d theory is within 3.8 % (measured), the standard error of the 4-seed mean is <= 2 %:
    # tolerance 8 % = measured + 2 standard errors
    m = rfdiff.RFModel(psi_p=16, psi_n=4, t=0.1)
    d = 40
    ev = simulate.eigenvalues(m, d, seeds=range(4), noise="exact").values
    lam = np.geomspace(0.2 * m.constants.s2, 3 * m.spectrum().support[-1][1], 40)
    z = lam * (1 + 0.2j)
    qs = empirical_q(ev, z)
    qe = qs.mean(axis=0)
    se = qs.std(axis=0, ddof=1) / 2 / np.abs(qe)
    err = np.abs(fd.stieltjes(m, z, d=d) - qe) / np.abs(qe)
    err_lim = np.abs(m.stieltjes(z) - qe) / np.abs(qe)
    assert err_lim.max() > 0.8  # the test can fail: the limit theory misses the smeared atom
    assert err.max() < 0.08, (err.max(), se.max())
    # the spread of the atom: the theory's 5-50-95 % mass quantiles against the eigenvalues (1.5 % here)
    th = fd.spectrum_features(m, d, points=300)  # 300 vs 600 points: quantiles move < 1 % (measured)
    em = fd.empirical_features(ev, m.psi_p, m.psi_n)
    for name in ("atom_q05", "atom_q50", "atom_q95", "rho1_lower", "rho1_upper"):
        a, b = getattr(th, name), getattr(em, name)
        assert abs(a - b) < 0.06 * b + 3 * em.spread[name], (name, a, b, em.spread[name])


def test_spectrum_features_limit_and_empirical():
    m = rfdiff.RFModel(psi_p=16, psi_n=4, t=0.1)
    lim = fd.spectrum_features(m)
    assert lim.atom_width == 0.0 and lim.atom_q50 == m.constants.s2
    lo, hi = m.spectrum().support[1]  # rho_1 of Theorem 3.1 (the cluster is support[0])
    assert lo <= lim.rho1_lower < lim.rho1_upper <= hi
    ev = np.sort(np.random.default_rng(1).uniform(0, 1, (3, 160)), axis=1)
    f = fd.empirical_features(ev, 16.0, 4.0)  # p = 160: d = 10, n = 40, atom = 110 eigenvalues
    assert f.atom_mass == 110 / 160 and f.diagnostics["seeds"] == 3
    assert abs(f.atom_q50 - np.mean([np.median(v[:110]) for v in ev])) < 1e-15
    assert set(f.to_dict()) >= {"atom_q05", "rho1_lower", "spread"}
    assert fd.SpectrumFeatures.from_dict(f.to_dict()) == f


# ----------------------------------------------------------------------------- the paper's settings (slow)

# Measured largest relative error of q at z = lam (1 + 0.2i), lam in [0.2 s_t^2, 100] (docs/finite_d.md
# §7.1): d = 50, 4 seeds: Fig. 4 (t = 0.01) 3.5 %; Fig. 5 (t = 0.1) psi_n = 4, 8, 16, 32: 4.4, 3.8, 2.8,
# 2.4 %; standard error of the seed mean <= 0.7 % (single seeds <= 1.4 %). d = 100, 2 seeds: 0.9; 1.0, 1.0,
# 0.8, 0.8 %, se <= 0.8 %.
# Tolerances: the 5 % at d = 50 (3 seeds: measured + 1 se of 3 seeds, 0.8 %) and 2.5 % at d = 100
# (measured + 2 se).
PAPER = [(0.01, 8), (0.1, 4), (0.1, 8), (0.1, 16), (0.1, 32)]


@pytest.mark.slow
@pytest.mark.parametrize("t, psi_n", PAPER)
@pytest.mark.parametrize("d, seeds, tol", [(50, (0, 1, 2), 0.05), (100, (0, 1), 0.025)])
def test_paper_settings_stieltjes(t, psi_n, d, seeds, tol):
    if d == 100 and not os.environ.get("RFDIFF_SLOW_D100"):
        pytest.skip("d = 100 takes ~5 min per seed: set RFDIFF_SLOW_D100=1")
    m = rfdiff.RFModel(psi_p=64, psi_n=psi_n, t=t)
    ev = simulate.eigenvalues(m, d, seeds=seeds, noise="exact").values
    lam = np.geomspace(0.2 * m.constants.s2, 100, 121)  # from below the smeared atom (Fig. 4: s_t^2 = 1.9e-3)
    z = lam * (1 + 0.2j)
    qe = empirical_q(ev, z).mean(axis=0)
    err = np.abs(fd.stieltjes(m, z, d=d) - qe) / np.abs(qe)
    assert err.max() < tol, (err.max(), lam[err.argmax()])


# Atom quantiles (5/50/95 %), its width and the rho_1 edges (2/98 % quantiles of rho_1) at d = 50, 3 seeds
# (docs/finite_d.md §7.2; 4 seeds measured): the atom quantiles and width within 2.7 %, the rho_1 lower edge
# within 0.9 %, the upper within 1.5 % except psi_n = 4 (7.4 %, 4 standard errors: not met at 5 %). Seed
# scatter of single seeds: <= 1 % (atom), <= 3.5 % (rho_1 edges). Tolerance: 4 % (10 % for the rho_1 upper
# edge) + 3 standard errors of the seed mean.
@pytest.mark.slow
@pytest.mark.parametrize("t, psi_n", PAPER)
def test_paper_settings_features(t, psi_n):
    m = rfdiff.RFModel(psi_p=64, psi_n=psi_n, t=t)
    d, seeds = 50, (0, 1, 2)
    em = fd.empirical_features(simulate.eigenvalues(m, d, seeds=seeds, noise="exact").values, 64.0, psi_n)
    th = fd.spectrum_features(m, d, points=400)
    for name in ("atom_q05", "atom_q50", "atom_q95", "rho1_lower", "rho1_upper"):
        a, b = getattr(th, name), getattr(em, name)
        tol = 0.10 if name == "rho1_upper" else 0.04
        assert abs(a - b) < tol * b + 3 * em.spread[name] / math.sqrt(len(seeds)), (name, a, b)
    assert abs(th.atom_width - em.atom_width) < 0.04 * em.atom_width + 3 * (
        em.spread["atom_q05"] + em.spread["atom_q95"]) / math.sqrt(len(seeds))


# ------------------------------------------------------------------------ RFModel(d=...) and the switches


def test_rfmodel_d_delegates_and_validates(monkeypatch):
    import json

    m = rfdiff.RFModel(psi_p=16, psi_n=4, t=0.1, d=40)
    lim = rfdiff.RFModel(psi_p=16, psi_n=4, t=0.1)
    z = np.array([0.01 + 0.002j, 1.0 + 0.1j])
    # the facade gives exactly the module's numbers; d=None keeps Theorem 3.1 bit for bit
    assert np.array_equal(m.stieltjes(z), fd.stieltjes(lim, z, d=40))
    assert np.array_equal(fd.stieltjes(m, z), lim.stieltjes(z))  # explicit d=None: the limit, whatever m.d
    assert m.equations == lim.equations and m.constants == lim.constants
    assert isinstance(m.resolvent(z), fd.FiniteDResolvent)
    assert np.array_equal(m.density([0.05]), fd.density(fd.coefficients(lim, 40), [0.05]))
    # spectrum() hands the model, d, its cached coefficients and the options to spectrum_features (a real
    # run of it is in test_real_tanh_U_small_setting; here the call is recorded, a finite-d read costs ~10 s)
    calls = []
    monkeypatch.setattr(fd, "spectrum_features", lambda *a, **k: calls.append((a, k)) or "features")
    assert m.spectrum(points=200) == "features" and m.spectrum() == "features"
    assert calls[0] == ((m, 40), {"coefs": m._finite_d, "points": 200})
    assert calls[1][1] == {"coefs": m._finite_d}
    assert rfdiff.io.from_dict(json.loads(json.dumps(m.to_dict()))) == m
    for what in ("learning_curves", "train_loss", "timescales", "dynamical_timescales"):
        with pytest.raises(NotImplementedError, match="finite d"):
            getattr(m, what)(*([[1.0]] if what in ("learning_curves", "train_loss") else []))
    for bad, err in ((True, TypeError), (50.0, TypeError), ("50", TypeError), (7, ValueError),
                     (-1, ValueError)):
        with pytest.raises(err, match="d must be an integer >= 8"):
            rfdiff.RFModel(16, 4, 0.1, d=bad)
    with pytest.raises(ValueError, match="noise_draws"):
        rfdiff.RFModel(16, 4, 0.1, d=40, noise_draws=2)
    with pytest.raises(ValueError, match="isotropic"):
        rfdiff.RFModel(16, 4, 0.1, d=40, data=rfdiff.DataSpectrum([0.5, 1.5], [0.5, 0.5]))
    with pytest.raises(ValueError, match="lower_half_plane"):
        m.resolvent(z, shifted=True)
    assert rfdiff.RFModel(16, 4, 0.1, d=np.int64(40)).d == 40


def test_white_degree3_switch_keeps_the_diagonal():
    # the decomposition switches (docs/finite_d.md §8) move energy between blocks and white parts only:
    # (1/p) Tr U = E_r norm2 is the same, read off the large-|z| expansion q ~ -1/z - m1/z^2 (err ~ 1/|z|^3)
    m = rfdiff.RFModel(psi_p=16, psi_n=4, t=0.1)
    big = 1e5 * (1 + 1j)
    for opts in ({}, {"white_degree3": True}, {"r_nodes": 1, "white_degree3": True}):
        co = fd.coefficients(m, 40, **{"r_nodes": 16, **opts})
        assert co.min_white >= -1e-12
        m1 = co.r_weights @ co.norm2
        qb = fd.solve(co, big).q
        assert abs(qb + 1 / big + m1 / big**2) < 50 / abs(big) ** 3
    with pytest.raises(TypeError, match="white_degree3"):
        fd.coefficients(m, 40, white_degree3=1)
    # the switch changes the answer where the degree-3 ratio p/N_3 matters (the rho_1 bulk)
    z = 0.05 + 0.01j
    a = fd.stieltjes(m, z, d=40, r_nodes=16)
    b = fd.stieltjes(m, z, d=40, r_nodes=16, white_degree3=True)
    assert abs(a - b) > 1e-3 * abs(a)


def test_pair_trace_against_exact_matrices():
    # the two-point building block of the (not yet assembled) finite-d learning curves (docs/finite_d.md §9):
    # (1/p) Tr[R(z1) V V^T R(z2) U~] of the exact-noise tanh matrices, psi_p = 8, psi_n = 2, t = 0.1, d = 40,
    # 12 seeds (p = 320: ~1 s). Measured: within 0.2-4.4 % with standard errors of the mean 1.2-2.5 %;
    # Theorem 3.1's structure (one row type) is not involved. Tolerance: 3 standard errors + 3 % (the
    # one-point s_v differs from the same matrices by up to 3 % at this d).
    m = rfdiff.RFModel(psi_p=8, psi_n=2, t=0.1)
    d = 40
    z1 = np.array([0.05 + 0.03j, 0.3 + 0.2j, 2.0 + 1.0j, 0.01 + 0.01j])
    z2 = np.array([0.05 - 0.03j, 0.3 + 0.2j, 0.5 - 0.4j, 2.0 + 1.0j])
    ex = []
    for seed in range(12):
        c = simulate.correlation_matrices(m, d, seed=seed, noise="exact")
        lam, Q = np.linalg.eigh(c.U)
        A = Q.T @ (c.V @ c.V.T) @ Q
        B = Q.T @ c.U_pop @ Q
        r1, r2 = 1 / (lam[:, None] - z1), 1 / (lam[:, None] - z2)
        ex.append(np.einsum("iz,ij,jz,ji->z", r1, A, r2, B) / c.p)
    ex = np.array(ex)
    mean = ex.mean(axis=0)
    se = np.abs(ex.std(axis=0, ddof=1)) / np.sqrt(len(ex))
    th = fd._pair_trace(fd.coefficients(m, d, r_nodes=24), z1, z2)
    assert np.all(np.abs(th - mean) < 3 * se + 0.03 * np.abs(mean)), (th, mean, se)


def test_learning_curves_small_setting():
    # finite-d L_train / L_gen of the gradient flow (docs/finite_d.md §9.4) against simulate.gradient_flow
    # with the exact matrices: psi_p = 8, psi_n = 2, t = 0.1, d = 40, 6 seeds (p = 320, ~2 s). Measured
    # (default quadrature): late-time L_gen 1.440 vs 1.378 +- 0.010 (4.5 %), Theorem 3.1 1.505 (9.2 %);
    # L_train within 0.5 %. With r_nodes = 16, nodes = 40 the values move by < 1e-4 (measured 4e-5).
    # Tolerances: L_train 1 % + 3 se; L_gen 6 % + 3 se (the measured 4.5 % plus margin), and closer than
    # Theorem 3.1 by 1.5x at the plateau (the test can fail: Theorem 3.1 is 9 % off there).
    m = rfdiff.RFModel(psi_p=8, psi_n=2, t=0.1)
    d = 40
    tau = np.array([25.0, 250.0, 2500.0, 1e5])
    sims = np.array([[getattr(fl, k) for k in ("train", "gen")] for fl in (
        simulate.gradient_flow(m, tau, d=d, seed=s, noise="exact") for s in range(6))])
    mean, se = sims.mean(axis=0), sims.std(axis=0, ddof=1) / math.sqrt(6)
    th = fd.learning_curves(m, tau, d=d, nodes=40, accuracy=1e-2, coefs=fd.coefficients(m, d, r_nodes=16))
    assert th.quadrature_error < 1e-2 and th.d == d
    assert np.array_equal(fd.FiniteDCurves.from_dict(th.to_dict()).gen, th.gen)  # io round trip
    assert np.all(np.abs(th.train - mean[0]) < 0.01 * mean[0] + 3 * se[0]), (th.train, mean[0])
    assert np.all(np.abs(th.gen - mean[1]) < 0.06 * mean[1] + 3 * se[1]), (th.gen, mean[1])
    lim = m.learning_curves(tau).gen
    assert abs(lim[-1] - mean[1, -1]) > 1.5 * abs(th.gen[-1] - mean[1, -1])


# L_gen at the setting (docs/finite_d.md §9.5): psi_p = 64, t = 0.1, d = 50, 2 seeds, where
# L_gen > 0.05: largest relative errors of the finite-d curves and of Theorem 3.1 are in the docs' table
# (psi_n = 4: 7.1 % vs 23 %). The 5 % target is NOT met at psi_n = 4; this test pins the present
# accuracy (8 % + 3 standard errors of the seed mean) and that the finite-d curves are at least 1.5x closer
# than Theorem 3.1 at the plateau.
@pytest.mark.slow
@pytest.mark.parametrize("psi_n", [4, 8, 16, 32])
def test_paper_settings_learning_curves(psi_n):
    m = rfdiff.RFModel(psi_p=64, psi_n=psi_n, t=0.1)
    d, seeds = 50, (0, 1)
    tau = np.geomspace(0.1, 1e5, 13) * 64
    gens = np.array([simulate.gradient_flow(m, tau, d=d, seed=s, noise="exact").gen for s in seeds])
    mean, se = gens.mean(axis=0), gens.std(axis=0, ddof=1) / math.sqrt(len(seeds))
    th = fd.learning_curves(m, tau, d=d).gen
    sel = mean > 0.05
    assert np.all(np.abs(th - mean)[sel] < 0.08 * mean[sel] + 3 * se[sel]), (th, mean)
    lim = m.learning_curves(tau).gen
    assert abs(lim[-1] - mean[-1]) > 1.5 * abs(th[-1] - mean[-1])


def test_pair_trace_ward_identity():
    # with U~ replaced by the identity, the pencil must reproduce the resolvent identity
    # R1 V V^T R2 traced = (s_v(z1) - s_v(z2))/(z1 - z2) of the one-point solution (an independent
    # computation: only solve() enters the right side); measured agreement ~1e-12 relative
    import dataclasses

    m = rfdiff.RFModel(psi_p=8, psi_n=2, t=0.1)
    co = fd.coefficients(m, 40, r_nodes=16)
    blocks = []
    for b in co._blocks:
        v = np.array(b.vecs)
        v[b.y_index] = 0.0
        blocks.append(dataclasses.replace(b, vecs=v))
    ci = dataclasses.replace(co, upop_white=np.ones_like(co.upop_white), _blocks=tuple(blocks))
    s2 = m.constants.s2
    z1 = np.array([s2 * (1 + 0.5j), 0.05 + 0.03j, 0.3 + 0.2j])
    z2 = np.array([s2 * (1 - 0.5j), 0.3 + 0.2j, 2.0 - 1.0j])
    th = fd._pair_trace(ci, z1, z2)
    sv1 = fd.solve(co, z1, tol=1e-13).s_v
    low = z2.imag < 0
    sv2 = fd.solve(co, np.where(low, z2.conj(), z2), tol=1e-13).s_v
    sv2 = np.where(low, sv2.conj(), sv2)
    dd = (sv1 - sv2) / (z1 - z2)
    assert np.all(np.abs(th - dd) < 1e-8 * np.abs(dd)), np.abs(th - dd) / np.abs(dd)
