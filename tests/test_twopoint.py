"""Tests of rfdiff.twopoint: the two-point deterministic equivalent and the limit learning curves.

Checks, from the most to the least exact:
* T(z, z) against the zeta-derivative of the one-point solver (exact identity, ~1e-11);
* the one-point reconstruction q = m_K(w)/beta, s = (1 + w m_K(w))/beta (exact, ~1e-13);
* contour L_train against rfdiff.dynamics.train_loss (two independent quadratures, ~1e-12);
* tau = inf against docs/theory.md §7.3's ridge-less formula (zeta- and z-derivatives at z = 0);
* small-tau moment expansions of L_test (order 2) and L_gen (order 3), derived independently;
* finite-size Gaussian-equivalent matrices (T off the diagonal, and the whole curves).
The last section repeats these checks for anisotropic data (rho_Sigma with several atoms), plus
continuity to the isotropic case and the nested formula against the Marchenko–Pastur closed form.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

import rfdiff
from rfdiff import simulate
from rfdiff import twopoint as tp
from rfdiff.resolvent import solve


@pytest.fixture(scope="module")
def small() -> rfdiff.RFModel:
    return rfdiff.RFModel(psi_p=4, psi_n=2, t=0.1)


@pytest.fixture(scope="module")
def fig5() -> rfdiff.RFModel:
    return rfdiff.RFModel(psi_p=64, psi_n=8, t=0.1)


ZS = np.array([0.0, 0.05 + 0.02j, 0.3 - 0.1j, 2 + 1j, 20 + 3j, -1.0])
TWO = rfdiff.DataSpectrum([0.5, 1.5], [0.5, 0.5])        # the paper's second case
THREE = rfdiff.DataSpectrum([0.2, 1.0, 3.0], [0.3, 0.5, 0.2])


@pytest.mark.parametrize("setting", [(8, 2, 0.1), (64, 8, 0.1), (4, 8, 0.01), (64, 32, 0.1)])
def test_diagonal_equals_zeta_derivative(setting):
    # U - zeta K is the same model with b_t^2 -> b_t^2 - zeta, so
    # T(z, z) = d/dzeta (1/d) Tr[K (U - zeta K - z)^{-1}] = -psi_p ds/d(b_t^2).
    # Richardson-extrapolated central differences (step 1e-4 b_t^2): error ~h^4 plus the
    # solver's 1e-14 residual amplified by 1/h, ~1e-10; measured 1e-11 .. 1e-9.
    m = rfdiff.RFModel(*setting[:2], t=setting[2])
    eq = m.equations
    T = tp.two_point(m.equations, m.constants, ZS, ZS)
    h = 1e-4 * eq.b2

    def s_at(dh: float) -> np.ndarray:
        return solve(dataclasses.replace(eq, b2=eq.b2 + dh), ZS, lower_half_plane=True).s

    d1 = (s_at(h) - s_at(-h)) / (2 * h)
    d2 = (s_at(2 * h) - s_at(-2 * h)) / (4 * h)
    expected = -m.psi_p * (4 * d1 - d2) / 3
    np.testing.assert_allclose(T, expected, rtol=1e-8)


def test_one_point_reconstruction(fig5):
    # The conditional (given W) deterministic equivalent R ~ g_z(K) must reproduce Theorem 3.1.
    z = np.array([0.03 + 0.01j, 0.1 + 0.05j, 20 + 5j, 0.5 - 0.2j])
    eq = fig5.equations
    o = tp._solve_points(eq, z - eq.s2)
    y = eq.psi_p  # > 1: the pieces hold m~ of W^T W/d, and m_K = -(1 - 1/y)/w + m~/y
    m_k = -(1 - 1 / y) / o.w + o.p / y
    np.testing.assert_allclose(m_k / o.beta, o.q, rtol=1e-12)
    np.testing.assert_allclose((1 + o.w * m_k) / o.beta, o.s, rtol=1e-12)


def test_symmetries_and_broadcasting(small):
    z1 = np.array([0.1 + 0.1j, 2 + 1j, -0.5])
    z2 = np.array([[0.5 + 0.3j], [0.2 - 0.2j]])
    T = tp.two_point(small.equations, small.constants, z1, z2)
    assert T.shape == (2, 3)
    np.testing.assert_allclose(T, tp.two_point(small.equations, small.constants, z2, z1), rtol=1e-13)
    np.testing.assert_allclose(np.conj(T), tp.two_point(small.equations, small.constants, np.conj(z1),
                                                        np.conj(z2)), rtol=1e-13)
    # real z below the spectrum: T real and positive ((1/d) Tr[(U^{-1/2}... K ...)^2] > 0 at z = z')
    assert abs(complex(tp.two_point(small.equations, small.constants, -0.5, -0.5)).imag) < 1e-14
    assert complex(tp.two_point(small.equations, small.constants, -0.5, -0.5)).real > 0


def _ge_two_point(model: rfdiff.RFModel, d: int, seed: int, z: np.ndarray) -> np.ndarray:
    """(1/d) Tr[(U - z_a)^{-1} K (U - z_b)^{-1} K] on one Gaussian-equivalent draw (docs/theory.md §3.3)."""
    eq = model.equations
    rng = np.random.default_rng(seed)
    p, n = round(eq.psi_p * d), round(eq.psi_n * d)
    W = rng.standard_normal((p, d))
    X = rng.standard_normal((d, n))
    G = math.sqrt(eq.a2e) * W @ X / math.sqrt(d) + math.sqrt(eq.v2) * rng.standard_normal((p, n))
    K = W @ W.T / d
    U = G @ G.T / n + eq.b2 * K + eq.s2 * np.eye(p)
    lam, Q = np.linalg.eigh(U)
    Kt = Q.T @ K @ Q
    R = 1.0 / (lam[None, :] - z[:, None])
    return R @ (Kt * Kt) @ R.T / d


def test_off_diagonal_against_finite_size(small):
    # Measured (psi_p = 4, psi_n = 2, t = 0.1, 6 seeds): max relative error of the seed mean
    # 0.067 (d = 60), 0.033 (d = 120), 0.004 (d = 240); per-seed rms 0.052, 0.029, 0.0095, i.e.
    # ~1/d. The second (gamma) term of T is 13-40 % of T at these z, so dropping it or getting
    # its coefficient wrong fails the 0.08 tolerance at d = 120 by a wide margin.
    z = np.array([0.1 + 0.1j, 0.5 + 0.3j, 2 + 1j, 0.2 - 0.2j, -0.5])
    T = tp.two_point(small.equations, small.constants, z[:, None], z[None, :])
    sim = np.mean([_ge_two_point(small, 120, seed, z) for seed in range(4)], axis=0)
    assert np.max(np.abs(sim - T) / np.abs(T)) < 0.08


def test_train_matches_dynamics(fig5):
    # Two independent quadratures of the same one-point integral: contour trapezoid vs
    # Clenshaw–Curtis on the real axis (rfdiff.dynamics, 512 nodes). Measured 1e-15 here.
    tau = np.array([0.0, 1.0, 1e2, 1e4, 1e6, np.inf])
    lc = fig5.learning_curves(tau)
    np.testing.assert_allclose(lc.train, fig5.train_loss(tau), atol=1e-11)
    assert abs(lc.contour.mass - 1) < 1e-12
    np.testing.assert_array_equal(lc.gen, lc.test - lc.train)


def test_tau_infinity_matches_ridgeless_formula(fig5):
    # docs/theory.md §7.3 at lambda = 0: L_test = 1 - 2 mu1^2 psi_p Delta s + mu1^2 psi_p Delta
    # (mu1^2 d_zeta s + mu*^2 d_z s) at z = 0, from the one-point solver alone; the contour
    # result uses T at O(500^2) off-diagonal pairs. Finite differences (h = 1e-5): ~1e-8.
    m, eq, c = fig5, fig5.equations, fig5.constants
    h = 1e-5
    s0 = solve(eq, 0.0).s.real
    dzeta = -(solve(dataclasses.replace(eq, b2=eq.b2 + h), 0.0).s
              - solve(dataclasses.replace(eq, b2=eq.b2 - h), 0.0).s).real / (2 * h)
    dz = (solve(eq, h + 0j).s - solve(eq, -h + 0j).s).real / (2 * h)
    expected = 1 - 2 * c.mu1**2 * m.psi_p * c.delta * s0 + c.mu1**2 * m.psi_p * c.delta * (
        c.mu1**2 * dzeta + c.mustar2 * dz)
    assert abs(tp.test_loss(m.equations, m.constants, np.inf) - expected) < 1e-6


@pytest.mark.parametrize("setting", [(8, 2, 0.1), (64, 8, 0.1), (8, 2, 0.1, "aniso")])
def test_small_tau_expansion(setting):
    # With a = 2 Delta tau/psi_p, f(lambda) = -a + a^2 lambda/2 - ..., Gaussian moments of
    # U = Y Y^T/n + b^2 K + s^2 (Y ~ N(0, C), C = A K + v^2) and (1/p) Tr K^2 = 1 + psi_p give
    #   L_test = 1 - 2 c^2 psi_p a + 2 c^2 psi_p (mu1^2 (1 + psi_p) + mu*^2) a^2 + O(a^3),
    #   L_gen  = c^2 psi_p (psi_p/psi_n) (A + v^2) (A (1 + psi_p) + v^2) a^3 + O(a^4)
    # (E U = U~ kills the a^2 term of L_gen). Relative corrections are O(a ||U||) <= 0.4 %
    # at a = 1e-4 (measured 0.03-0.3 %). For anisotropic data with sigma_x^2 = 1 the same formulas
    # hold (these moments involve Sigma only through Tr Sigma/d, e.g. E W^T W Sigma W^T W =
    # p(p+1) Sigma + p Tr(Sigma) I); here they exercise the nested path and the Sigma_t weighting.
    data = TWO if len(setting) > 3 else rfdiff.DataSpectrum.isotropic()
    m = rfdiff.RFModel(*setting[:2], t=setting[2], data=data)
    c, eq = m.constants, m.equations
    c2 = c.mu1**2 * c.delta / c.gamma2
    A, v2, pp = eq.a2e * m.data.sigma_x2, eq.v2, m.psi_p
    a = 1e-4
    lc = m.learning_curves([a * pp / (2 * c.delta)])
    second = (lc.test[0] - 1 + 2 * c2 * pp * a) / a**2
    assert second == pytest.approx(2 * c2 * pp * (c.mu1**2 * (1 + pp) + c.mustar2), rel=5e-3)
    third = lc.gen[0] / a**3
    assert third == pytest.approx(c2 * pp * (pp / m.psi_n) * (A + v2) * (A * (1 + pp) + v2), rel=5e-3)


def test_score_relation_and_shapes(small):
    tau = np.array([[0.0, 1.0], [1e3, np.inf]])
    lc = small.learning_curves(tau)
    assert lc.test.shape == lc.score.shape == tau.shape
    c = small.constants
    np.testing.assert_allclose(tp.score_error(small.equations, small.constants, tau),
                               (lc.test - 1 + c.delta / c.gamma2) / c.delta)
    assert lc.test[0, 0] == 1.0 and lc.train[0, 0] == 1.0


def test_bad_input(small):
    with pytest.raises(ValueError, match="right"):
        tp.two_point(small.equations, small.constants, 1j, 1j, right="U")
    with pytest.raises(ValueError, match="tau"):
        tp.test_loss(small.equations, small.constants, -1.0)
    with pytest.raises(ValueError, match="tau"):
        tp.score_error(small.equations, small.constants, [np.nan])
    with pytest.raises(ValueError, match="z1"):
        tp.two_point(small.equations, small.constants, np.nan, 1j)
    with pytest.raises(TypeError, match="z2"):
        tp.two_point(small.equations, small.constants, 1j, "a")
    with pytest.raises(ValueError, match="tau_max"):
        tp.contour(small.equations, small.constants, tau_max=-1.0)


def _sim_mean(model: rfdiff.RFModel, tau: np.ndarray, d: int, seeds: range) -> tuple[np.ndarray, np.ndarray]:
    rows = []
    for seed in seeds:
        fl = simulate.gradient_flow(model, tau, d=d, seed=seed, noise="gaussian")
        rows.append(np.r_[fl.test, fl.test_inf, fl.gen, fl.test_inf - fl.train_inf, fl.score])
    rows = np.array(rows)
    return rows.mean(0), rows.std(0, ddof=1) / math.sqrt(len(rows))


TAUS = np.array([1.0, 10.0, 100.0, 1e3, 1e4, 1e5])


@pytest.mark.slow
@pytest.mark.ci
def test_curves_against_simulation_small():
    # psi_p = 8, psi_n = 2, t = 0.1, d = 50, 8 seeds (~15 s). Measured with 64 seeds at d = 50:
    # |bias| <= 0.005 (L_test, L_gen) with standard errors 0.002-0.003 of the mean, per-seed sd
    # up to 0.027; with 8 seeds the standard error of the mean is ~0.01, so the tolerance
    # 0.03 (~3 sigma) rejects any O(0.05) error of the theory (e.g. a 5 % error in T).
    m = rfdiff.RFModel(psi_p=8, psi_n=2, t=0.1)
    th = m.learning_curves(np.r_[TAUS, np.inf])
    mean, _se = _sim_mean(m, TAUS, 50, range(8))
    k = TAUS.size + 1
    np.testing.assert_allclose(mean[:k], th.test, atol=0.03)
    np.testing.assert_allclose(mean[k:2 * k], th.gen, atol=0.03)
    np.testing.assert_allclose(mean[2 * k:], th.score[:-1], atol=0.03 / m.constants.delta)


@pytest.mark.slow
def test_curves_against_simulation_fig5():
    # The paper's Fig. 5 setting psi_p = 64, psi_n = 8, t = 0.1 at d = 40 (p = 2560), 3 seeds
    # (~1-2 min). Measured (bias +- standard error of the mean): d = 40 (12 seeds) |bias| <= 0.0074
    # +- 0.0057 (per-seed sd ~0.02), d = 80 (6 seeds) |bias| <= 0.0009 +- 0.0049, largest at
    # tau >= 1e4 where L_gen ~ 2. Tolerance 0.04 ~ 3 standard errors at 3 seeds plus the bias.
    m = rfdiff.RFModel(psi_p=64, psi_n=8, t=0.1)
    th = m.learning_curves(np.r_[TAUS, np.inf])
    mean, _se = _sim_mean(m, TAUS, 40, range(3))
    k = TAUS.size + 1
    np.testing.assert_allclose(mean[:k], th.test, atol=0.04)
    np.testing.assert_allclose(mean[k:2 * k], th.gen, atol=0.04)


# ---------------------------------------------------------------- anisotropic data

@pytest.fixture(scope="module")
def aniso() -> rfdiff.RFModel:
    return rfdiff.RFModel(psi_p=4, psi_n=2, t=0.1, data=TWO)


def _d_b2(eq, z: np.ndarray, name: str) -> np.ndarray:
    """d/d(b_t^2) of the one-point auxiliary ``name`` (s or r), Richardson central differences."""
    h = 1e-4 * eq.b2

    def at(dh: float) -> np.ndarray:
        return getattr(solve(dataclasses.replace(eq, b2=eq.b2 + dh), z, lower_half_plane=True), name)

    return (4 * (at(h) - at(-h)) / (2 * h) - (at(2 * h) - at(-2 * h)) / (4 * h)) / 3


@pytest.mark.parametrize("setting", [(8, 2, 0.1, TWO), (64, 8, 0.1, TWO), (4, 8, 0.01, TWO),
                                     (64, 32, 0.1, THREE), (16, 4, 0.1, THREE)])
def test_aniso_diagonal_equals_zeta_derivative(setting):
    # U - zeta K is the model at b_t^2 - zeta for any rho_Sigma, and (1/d) Tr K R = psi_p s,
    # (1/d) Tr K_Sigma R = psi_p r (Theorem 3.1's auxiliaries), so exactly
    #   T_KK(z, z) = -psi_p ds/d(b_t^2),   T_{K K_Sigma}(z, z) = -psi_p dr/d(b_t^2),
    # the right sides from the independent one-point solver. Error of the differences: h^4 plus the
    # 1e-14 solver residual over h = 1e-4 b_t^2 (smallest at t = 0.01); measured 3e-12 .. 4e-10.
    m = rfdiff.RFModel(*setting[:2], t=setting[2], data=setting[3])
    eq = m.equations
    cst = m.constants
    np.testing.assert_allclose(tp.two_point(eq, cst, ZS, ZS), -m.psi_p * _d_b2(eq, ZS, "s"), rtol=5e-9)
    np.testing.assert_allclose(tp.two_point(eq, cst, ZS, ZS, right="K_sigma"), -m.psi_p * _d_b2(eq, ZS, "r"),
                               rtol=5e-9)


@pytest.mark.parametrize("setting", [(8, 2, 0.1), (64, 8, 0.1), (4, 8, 0.01), (64, 32, 0.1)])
def test_nested_formula_on_isotropic_data(setting):
    # Two derivations of the same T for Sigma = I: the nested leave-one-out over the columns of W
    # (per-atom sums) and the Marchenko–Pastur closed form (divided differences of m_K).
    # Roundoff only; measured 2e-12 .. 5e-12.
    m = rfdiff.RFModel(*setting[:2], t=setting[2])
    z = np.r_[ZS, 0.01 + 0.5j, 5 - 2j]
    eq, cst = m.equations, m.constants
    o = tp._solve_points(eq, z - eq.s2, nested=True)
    i, j = (x.ravel() for x in np.meshgrid(np.arange(z.size), np.arange(z.size), indexing="ij"))
    take = lambda p, k: tp._Pieces(**{n: (None if v is None else v[k]) for n, v in p.__dict__.items()})  # noqa: E731
    t_kk, t_ks = tp._t_pairs(eq, cst, take(o, i), take(o, j))
    ref = tp.two_point(eq, cst, z[:, None], z[None, :]).ravel()
    np.testing.assert_allclose(t_kk, ref, rtol=2e-11)
    np.testing.assert_allclose(t_ks, ref, rtol=2e-11)  # K_Sigma = K for Sigma = I
    # Theorem 3.1's s is q <h> (per-atom terms q h_k = 1/(s_hat + lambda_k r_hat)): exact.
    np.testing.assert_allclose(o.q * o.h.sum(1), o.s, rtol=1e-13)


def test_aniso_one_point_reconstruction():
    # The inner (W) equivalent Qbar ~ q I with h_k = 1/(1 + psi_p q D_k) must be Theorem 3.1 itself:
    # q (alpha + <D h>) = 1, s = q <h>, r = q <lambda h> (exact identities, roundoff; measured 2e-16).
    m = rfdiff.RFModel(psi_p=8, psi_n=2, t=0.1, data=THREE)
    eq = m.equations
    z = np.array([0.3 + 0.2j, 2 - 1j, -1.0, 20 + 3j])
    o = tp._solve_points(eq, z - eq.s2)
    res = m.resolvent(z, lower_half_plane=True)
    alpha = eq.s2 - z + eq.v2 / (1 + o.delta)
    D = eq.b2 + eq.a2e * eq.lam[None, :] / (1 + o.delta[:, None])
    np.testing.assert_allclose(o.q * (alpha + (D * o.h) @ eq.pi), 1.0, atol=1e-14)
    np.testing.assert_allclose(o.q * (o.h @ eq.pi), res.s, rtol=1e-13)
    np.testing.assert_allclose(o.q * (o.h @ (eq.pi * eq.lam)), res.r, rtol=1e-13)
    np.testing.assert_allclose(o.g + o.h, 1.0, atol=1e-14)


def test_aniso_kernel_symmetries_and_weights(aniso):
    # The numba grid kernel against the numpy pairwise formula, symmetry in (z1, z2), conjugation,
    # and K_Sigma_t = e^{-2t} K_Sigma + Delta_t K: identities up to roundoff.
    eq, c = aniso.equations, aniso.constants
    ct = tp.contour(eq, c)
    rows = np.array([0, 3, 17, ct.rule.upper.size - 1])  # positions among the upper-half nodes
    cols = np.array([0, 5, 40, ct.n // 2 + 7, ct.n - 1])  # any nodes (lower half included)
    z1 = ct.rule.z[ct.rule.upper[rows]]
    z2 = ct.rule.z[cols]
    pop = tp.two_point(eq, c, z1[:, None], z2[None, :], right="K_sigma_t") / c.gamma2
    np.testing.assert_allclose(ct.T[np.ix_(rows, cols)], pop, rtol=1e-12)
    z1 = np.array([0.1 + 0.1j, 2 + 1j, -0.5])
    z2 = np.array([[0.5 + 0.3j], [0.2 - 0.2j]])
    for right in ("K", "K_sigma", "K_sigma_t"):
        T = tp.two_point(aniso.equations, aniso.constants, z1, z2, right=right)
        assert T.shape == (2, 3)
        eq, cst = aniso.equations, aniso.constants
        np.testing.assert_allclose(T, tp.two_point(eq, cst, z2, z1, right=right), rtol=1e-13)
        np.testing.assert_allclose(np.conj(T), tp.two_point(eq, cst, np.conj(z1), np.conj(z2), right=right),
                                   rtol=1e-13)
    assert complex(tp.two_point(aniso.equations, aniso.constants, -0.5, -0.5, right="K_sigma")).real > 0


def test_aniso_continuity_to_isotropic():
    # Atoms 1 -/+ eps (sigma_x^2 = 1, so the constants are those of Sigma = I): the curves differ from
    # the isotropic ones by O(eps^2) (the first order is linear in Sigma - I and, W being rotation
    # invariant, proportional to Tr(Sigma - I) = 0), and by roundoff at eps = 0 (two equal atoms
    # through the nested path vs the Marchenko–Pastur path). Measured: |diff|/eps^2 = 2.784 at
    # eps = 0.02 and 0.01 (ratio 1 + 3e-4), 1.6e-13 at eps = 0.
    tau = np.r_[np.logspace(-1, 6, 15), np.inf]
    iso = rfdiff.RFModel(8, 2, 0.1).learning_curves(tau)

    def gap(eps: float) -> float:
        m = rfdiff.RFModel(8, 2, 0.1, data=rfdiff.DataSpectrum([1 - eps, 1 + eps], [0.5, 0.5]))
        lc = m.learning_curves(tau)
        keys = ("train", "test", "gen", "score")
        return max(np.max(np.abs(getattr(lc, k) - getattr(iso, k))) for k in keys)

    assert gap(0.0) < 1e-11
    g2, g1 = gap(0.02), gap(0.01)
    assert 0 < g1 < 1e-3
    assert g2 / g1 == pytest.approx(4.0, rel=0.01)


@pytest.mark.parametrize("data", [TWO, THREE, rfdiff.DataSpectrum([0.0, 2.0], [0.5, 0.5])])
def test_aniso_tau_infinity_from_one_point(data):
    # At tau = inf, f(U) = -U^{-1} (s_t^2 > 0), so with K_{Sigma_t} = e^{-2t} K_Sigma + Delta_t K:
    #   L_test = 1 + c^2 psi_p [(mu1^2/Gamma_t^2) d_zeta(e^{-2t} r + Delta_t s) + mu*^2 d_z s - 2 s] (z = 0),
    #   L_train = 1 - c^2 psi_p s(0)
    # (docs/theory.md §7 for general Sigma), from the one-point solver alone; the contour result uses T at
    # ~10^5 off-diagonal pairs. Richardson differences (h = 1e-5): measured <= 5e-10.
    m = rfdiff.RFModel(psi_p=64, psi_n=8, t=0.1, data=data)
    eq, c = m.equations, m.constants
    h = 1e-5
    res0 = solve(eq, 0.0)

    def d_b2(name: str) -> float:
        def at(dh: float) -> float:
            return getattr(solve(dataclasses.replace(eq, b2=eq.b2 + dh), 0.0), name).real
        return (4 * (at(h) - at(-h)) / (2 * h) - (at(2 * h) - at(-2 * h)) / (4 * h)) / 3

    def s_at(x: float) -> float:
        return solve(eq, x + 0j).s.real

    dz = (4 * (s_at(h) - s_at(-h)) / (2 * h) - (s_at(2 * h) - s_at(-2 * h)) / (4 * h)) / 3
    dzeta = -(math.exp(-2 * m.t) * d_b2("r") + c.delta * d_b2("s"))
    c2 = c.mu1**2 * c.delta / c.gamma2
    s0 = res0.s.real
    expected = 1 + c2 * m.psi_p * (c.mu1**2 / c.gamma2 * dzeta + c.mustar2 * dz - 2 * s0)
    lc = m.learning_curves([np.inf])
    assert abs(lc.test[0] - expected) < 1e-8
    assert abs(lc.train[0] - (1 - c2 * m.psi_p * s0)) < 1e-12
    assert abs(lc.contour.mass - 1) < 1e-12
    offset = float(np.dot(data.w, 1 / (math.exp(-2 * m.t) * data.lam + c.delta)))
    np.testing.assert_allclose(lc.score, (lc.test - 1) / c.delta + offset, rtol=1e-14)


def test_aniso_train_matches_dynamics():
    # As for isotropic data: contour trapezoid vs Clenshaw–Curtis for the one-point train loss.
    m = rfdiff.RFModel(psi_p=64, psi_n=8, t=0.1, data=TWO)
    tau = np.array([0.0, 1.0, 1e2, 1e4, 1e6, np.inf])
    lc = m.learning_curves(tau)
    np.testing.assert_allclose(lc.train, m.train_loss(tau), atol=1e-11)


def _ge_two_point_sigma(model: rfdiff.RFModel, d: int, seed: int, z: np.ndarray) -> tuple[np.ndarray, ...]:
    """(1/d) Tr[R_a K R_b M], M = K and K_Sigma, on one Gaussian-equivalent draw with diagonal Sigma."""
    eq = model.equations
    rng = np.random.default_rng(seed)
    p, n = round(eq.psi_p * d), round(eq.psi_n * d)
    sig = simulate.data_covariance(model, d)
    W = rng.standard_normal((p, d))
    X = rng.standard_normal((d, n)) * np.sqrt(sig)[:, None]
    G = math.sqrt(eq.a2e) * W @ X / math.sqrt(d) + math.sqrt(eq.v2) * rng.standard_normal((p, n))
    K, KS = W @ W.T / d, (W * sig) @ W.T / d
    U = G @ G.T / n + eq.b2 * K + eq.s2 * np.eye(p)
    lam, Q = np.linalg.eigh(U)
    Kt, KSt = Q.T @ K @ Q, Q.T @ KS @ Q
    R = 1.0 / (lam[None, :] - z[:, None])
    return R @ (Kt * Kt) @ R.T / d, R @ (Kt * KSt) @ R.T / d


def test_aniso_off_diagonal_against_finite_size(aniso):
    # psi_p = 4, psi_n = 2, t = 0.1, rho_Sigma = (delta_0.5 + delta_1.5)/2. Measured max relative error
    # of the 6-seed mean: 0.066, 0.027, 0.010 (T_KK) and 0.065, 0.030, 0.012 (T_{K K_Sigma}) at
    # d = 60, 120, 240 (~1/d); 4 seeds at d = 120: 0.027 and 0.032. Tolerance 0.08 as for Sigma = I.
    # At these z the anisotropic T differs from the isotropic one (same sigma_x^2, hence the same
    # constants) by up to 39 % (T_KK) and 21 % (T_{K K_Sigma}), so the test resolves the anisotropy.
    z = np.array([0.1 + 0.1j, 0.5 + 0.3j, 2 + 1j, 0.2 - 0.2j, -0.5])
    zz = (z[:, None], z[None, :])
    sims = [_ge_two_point_sigma(aniso, 120, seed, z) for seed in range(4)]
    for k, right in enumerate(("K", "K_sigma")):
        T = tp.two_point(aniso.equations, aniso.constants, *zz, right=right)
        sim = np.mean([s[k] for s in sims], axis=0)
        assert np.max(np.abs(sim - T) / np.abs(T)) < 0.08


@pytest.mark.slow
@pytest.mark.ci
def test_aniso_curves_against_simulation_small():
    # psi_p = 8, psi_n = 2, t = 0.1, rho_Sigma = (delta_0.5 + delta_1.5)/2, d = 50, 8 seeds (~5 s idle).
    # Measured at d = 50 with 128 seeds (docs/twopoint.md §6.5): |bias| <= 0.0035 (L_test, L_gen),
    # per-seed sd <= 0.021; with 8 seeds the standard error of the mean is <~ 0.008 (<~ 0.045 for
    # E_score = L_test/Delta_t + const), so 0.03 and 0.03/Delta_t are ~3.5 se plus the bias.
    m = rfdiff.RFModel(psi_p=8, psi_n=2, t=0.1, data=TWO)
    th = m.learning_curves(np.r_[TAUS, np.inf])
    mean, _se = _sim_mean(m, TAUS, 50, range(8))
    k = TAUS.size + 1
    np.testing.assert_allclose(mean[:k], th.test, atol=0.03)
    np.testing.assert_allclose(mean[k:2 * k], th.gen, atol=0.03)
    np.testing.assert_allclose(mean[2 * k:], th.score[:-1], atol=0.03 / m.constants.delta)


@pytest.mark.slow
def test_aniso_curves_against_simulation_large():
    # Same setting at d = 200, 8 seeds (~1 min idle, 2.7 min at load 7). Measured at d = 200
    # (32 seeds): |bias| <= 0.001, per-seed sd 0.0053, so 8 seeds give se ~0.002 and the
    # tolerance 0.01 is ~5 se; an error of the theory of 1 % of L_test would fail it.
    m = rfdiff.RFModel(psi_p=8, psi_n=2, t=0.1, data=TWO)
    th = m.learning_curves(np.r_[TAUS, np.inf])
    mean, _se = _sim_mean(m, TAUS, 200, range(8))
    k = TAUS.size + 1
    np.testing.assert_allclose(mean[:k], th.test, atol=0.01)
    np.testing.assert_allclose(mean[k:2 * k], th.gen, atol=0.01)


@pytest.mark.parametrize("case", ["iso", "aniso"])
def test_contour_T_mirrored_entries_equal_direct_evaluation(case, aniso):
    # T_rows evaluates about half of the entries and mirrors the rest by T(z1, z2) = T(z2, z1) and
    # T(conj z1, conj z2) = conj T(z1, z2); every entry (all rows, all columns, both halves of the
    # contour) against the pairwise formula at the same points: roundoff (1e-12 relative).
    if case == "iso":
        m = rfdiff.RFModel(psi_p=16, psi_n=4, t=0.1)
        eq, c = m.equations, m.constants
    else:
        eq, c = aniso.equations, aniso.constants
    ct = tp.contour(eq, c, n=64)
    z1 = ct.rule.z[ct.rule.upper]
    pop = tp.two_point(eq, c, z1[:, None], ct.rule.z[None, :], right="K_sigma_t") / c.gamma2
    np.testing.assert_allclose(ct.T, pop, rtol=1e-12)


@pytest.mark.parametrize("psi_p, psi_n", [(16.0, 4.0), (3000.0, 20.0), (0.5, 2.0)])
def test_iso_triangles_split_path_equals_general_path(psi_p, psi_n):
    # For psi_p > 1 with no node in the series region the triangles come from a split real/imaginary
    # loop (vectorised); the general complex path (any psi_p, series included) on the same pieces must
    # agree to roundoff (1e-13 of the largest entry: ~30 operations per entry). psi_p = 0.5 takes the
    # general path in both calls.
    from rfdiff._numerics import mp as _mp
    from rfdiff._numerics import twopoint as _tpk

    m = rfdiff.RFModel(psi_p=psi_p, psi_n=psi_n, t=0.1)
    eq, c = m.equations, m.constants
    ct = tp.contour(eq, c, n=96)
    up, _ = tp._march(eq, ct.rule)
    u = ct.rule.up_rule
    w, p, beta, delta = (np.ascontiguousarray(getattr(up, k)[u]) for k in ("w", "p", "beta", "delta"))
    y = float(eq.psi_p)
    args = (y, y / eq.psi_n, float(eq.a2e * eq.data_values[0]), float(eq.v2), _mp.moments(y))
    fast_r, fast_i = _tpk.iso_triangles(w, p, beta, delta, ct.rule.real_rule, *args)
    big, ib, iw, dl = _tpk._iso_nodes(w, beta, delta, y)
    gen_r, gen_i = np.zeros_like(fast_r), np.zeros_like(fast_i)
    _tpk._iso_triangles_general(gen_r, gen_i, w, p, big, ib, iw, dl, *args)
    gen_r[1][:, ct.rule.real_rule] = 0.0
    gen_i[1][:, ct.rule.real_rule] = 0.0
    scale = np.max(np.abs(gen_r + 1j * gen_i))
    assert np.max(np.abs((fast_r - gen_r) + 1j * (fast_i - gen_i))) <= 1e-13 * scale


@pytest.mark.parametrize("psi_p, psi_n", [(16.0, 4.0), (3000.0, 20.0), (0.5, 2.0)])
def test_fused_isotropic_log_contour_equals_the_general_path(psi_p, psi_n):
    # contour() builds isotropic log contours in one kernel; the general path (nodes, march, pieces,
    # triangles as separate steps, used for anisotropic data) on the same ellipse must give the same
    # nodes, s and T to roundoff (the same operations, in the same order up to compiler choices).
    from rfdiff._numerics import contours as _ctm

    m = rfdiff.RFModel(psi_p=psi_p, psi_n=psi_n, t=0.1)
    eq, c = m.equations, m.constants
    ct = tp.contour(eq, c, n=96)
    nodes = _ctm.log_ellipse(eq.s2, eq.upper_bound, 96, _ctm.LOG_ANGLE)  # contour(): tau_max = inf
    up, _ = tp._march(eq, nodes)
    T_re, T_im = tp._t_triangles(eq, c, nodes, up)
    pairs = ((ct.rule.z, nodes.z), (ct.rule.zeta, nodes.zeta), (ct.rule.weight, nodes.weight), (ct.s, up.s))
    for a, b in pairs:
        np.testing.assert_allclose(a, b, rtol=1e-14, atol=0)
    scale = np.max(np.abs(T_re + 1j * T_im))
    assert np.max(np.abs(ct.T_re - T_re) + np.abs(ct.T_im - T_im)) <= 1e-13 * scale
