"""rfdiff.phases: the paper's three claims (tau_gen constant, tau_mem ∝ n, n* = p) on the limit curves."""

import functools
import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import rfdiff
from rfdiff.phases import REGIMES, first_crossing, n_star, phase_diagram

PSI_P = 1024.0  # psi_p >> psi_n
PSI_N = np.array([4.0, 8.0, 16.0, 32.0])


@pytest.fixture(scope="module")
def times():
    return [rfdiff.RFModel(PSI_P, pn, 0.1).timescales() for pn in PSI_N]


def _exponent(y):
    return float(np.polyfit(np.log(PSI_N), np.log(y), 1)[0])


def test_tau_mem_dyn_linear_in_psi_n(times):
    # measured: 0.990 (psi_p = 1024, t = 0.1); a sqrt or quadratic law would fail
    b = _exponent([x.tau_mem_dyn for x in times])
    assert 0.9 < b < 1.1, b


def test_spectral_tau_mem_grows_with_psi_n(times):
    # the paper's tau_mem (lower edge of rho_1): measured exponent 1.11
    b = _exponent([x.tau_mem for x in times])
    assert 0.9 < b < 1.25, b


def test_tau_gen_dyn_roughly_independent_of_psi_n(times):
    # measured exponent 0.23 (E_score's minimum drifts from tau ~13 to ~22); tau_mem grows ~40x more
    tg = np.array([x.tau_gen_dyn for x in times])
    tm = np.array([x.tau_mem_dyn for x in times])
    assert abs(_exponent(tg)) < 0.3
    assert np.all(tm / tg > 100)
    assert np.all((tg > 3) & (tg < 40))
    assert _exponent(tm / tg) > 0.65


def test_definitions_hold_on_the_curves(times):
    for x in (ts.dynamical for ts in times):
        lc = x.curves
        assert x.score_min <= lc.score.min() + 1e-12
        before = lc.tau < x.tau_gen_dyn * (1 - 1e-6)
        assert np.all(lc.score[before] > x.score_min * (1 + x.score_tol) - 1e-12)
        assert x.gen_level == pytest.approx(0.5 * x.gen_inf)
        early = lc.tau < x.tau_mem_dyn * (1 - 1e-6)
        assert np.all(lc.gen[early] <= x.gen_level + 1e-12)
        assert float(rfdiff.RFModel(PSI_P, 8.0, 0.1).learning_curves([x.tau_mem_dyn]).gen[0]) > 0


def test_gen_collapses_when_tau_is_rescaled_by_tau_mem_dyn(times):
    # L_gen(x tau_mem) / L_gen(inf) at x = 0.25 and 4: the same for every psi_n within 0.12
    vals = []
    for x in (ts.dynamical for ts in times):
        lc = x.curves
        r = np.interp(np.log([0.25, 4.0]), np.log(lc.tau / x.tau_mem_dyn), lc.gen / x.gen_inf)
        vals.append(r)
    vals = np.array(vals)
    assert np.ptp(vals[:, 0]) < 0.12 and np.ptp(vals[:, 1]) < 0.12, vals


def test_absolute_threshold():
    m = rfdiff.RFModel(256, 8, 0.1)
    a = m.dynamical_timescales(gen_threshold=0.5, relative=False, refine=False)
    b = m.dynamical_timescales(gen_threshold=1.0, relative=False, refine=False)
    assert a.gen_level == 0.5 and a.tau_mem_dyn < b.tau_mem_dyn
    c = m.dynamical_timescales(gen_threshold=100.0, relative=False, refine=False)
    assert np.isnan(c.tau_mem_dyn)


@functools.lru_cache
def _n_star(psi_p, t):
    return n_star(psi_p, t=t)


@pytest.mark.parametrize("psi_p", [64.0, 256.0])
def test_n_star_close_to_psi_p(psi_p):
    # measured psi_n*/psi_p = 0.894 (64), 0.900 (256) at t = 0.1
    r = _n_star(psi_p, 0.1) / psi_p
    assert 0.82 < r < 0.97, r


def test_n_star_rank_cross_check():
    # the atom of U at s_t^2 (rank deficit of U - s_t^2 I) disappears at psi_n = psi_p - 1,
    # within the measured offset of n* from psi_p
    psi_p = 64.0
    assert rfdiff.RFModel(psi_p, psi_p - 1.5, 0.1).spectrum().atoms
    assert not rfdiff.RFModel(psi_p, psi_p - 0.5, 0.1).spectrum().atoms
    assert abs(_n_star(psi_p, 0.1) / (psi_p - 1) - 1) < 0.15


@pytest.mark.slow
@pytest.mark.parametrize("psi_p", [64.0, 1024.0])
def test_n_star_sharpens_at_small_t(psi_p):
    # measured psi_n*/psi_p = 1.079 (64), 1.08 (256) at t = 0.01
    r = n_star(psi_p, t=0.01) / psi_p
    assert 1.0 < r < 1.15, r


def test_regimes_consistent():
    pp = [64.0, 256.0]
    pn = [4.0, 32.0, 200.0, 1000.0]
    taus = [1.0, 1e2, 1e3, 1e4, 1e5, np.inf]
    ns = [57.2, 230.5]  # n_star(64), n_star(256) at t = 0.1 (test_n_star_close_to_psi_p)
    with ThreadPoolExecutor(2) as ex:
        pd = phase_diagram(pp, pn, t=0.1, tau=taus, n_star=ns, executor=ex)
    assert pd.gen.shape == pd.regime.shape == (len(taus), 2, 4)
    assert np.allclose(pd.gen, pd.test - pd.train)
    over = np.asarray(pn)[None, :] > np.asarray(ns)[:, None]
    assert not np.any((pd.regime == 2) & over[None])
    assert np.all(pd.regime[-1][over] == 3)
    assert np.all(pd.regime[-1][~over] == 2)
    assert np.all(pd.regime[0] == 0)  # tau = 1 < tau_gen everywhere
    # along tau each cell goes 0 -> 1 -> 2 or 0 -> 3, never back
    for k in range(1, len(taus)):
        prev, cur = pd.regime[k - 1], pd.regime[k]
        assert np.all(cur >= prev)
        assert not np.any((prev == 3) & (cur != 3))
    # memorization cells have a larger gap than window cells at the same psi
    assert np.all(np.isfinite(pd.tau_mem[:, :2]))
    assert np.all(pd.tau_mem[:, 1] > pd.tau_mem[:, 0])
    assert set(np.unique(pd.labels)) <= set(REGIMES)
    # scalar tau gives 2-d maps
    with ThreadPoolExecutor(1) as ex:
        one = phase_diagram([256.0], [32.0], t=0.1, tau=1e3, n_star=[230.5], executor=ex)
    assert one.gen.shape == (1, 1)
    assert one.gen[0, 0] == pytest.approx(pd.gen[2, 1, 1], rel=1e-8)


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: n_star(-1.0), "psi_p"),
        (lambda: n_star(64.0, t=0.0), "t"),
        (lambda: n_star(64.0, span=1.0), "span"),
        (lambda: n_star(64.0, points=3), "points"),
        (lambda: phase_diagram([], [1.0]), "psi_p"),
        (lambda: phase_diagram([1.0], [np.nan]), "psi_n"),
        (lambda: phase_diagram([1.0], [1.0], tau=-1.0), "tau"),
        (lambda: phase_diagram([1.0], [1.0], score_tol=2.0), "score_tol"),
        (lambda: phase_diagram([1.0], [1.0], n_star=[1.0, 2.0]), "n_star"),
        (lambda: rfdiff.RFModel(8, 2, 0.1).dynamical_timescales(gen_threshold=1.5), "gen_threshold"),
        (lambda: rfdiff.RFModel(8, 2, 0.1).dynamical_timescales(gen_threshold=-1, relative=False),
         "gen_threshold"),
        (lambda: rfdiff.RFModel(8, 2, 0.1).dynamical_timescales(tau=[1.0, 0.5, 2.0]), "tau"),
    ],
)
def test_bad_input_names_the_parameter(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_refinement_agrees_with_grid_interpolation():
    m = rfdiff.RFModel(256, 8, 0.1)
    a = m.dynamical_timescales(refine=True)
    b = m.dynamical_timescales(refine=False)
    # 20 points per decade: linear interpolation in log tau is good to a few per cent
    assert a.tau_mem_dyn == pytest.approx(b.tau_mem_dyn, rel=0.03)
    assert a.tau_gen_dyn == pytest.approx(b.tau_gen_dyn, rel=0.03)
    assert a.score_min <= b.score_min
    lc = m.learning_curves([a.tau_mem_dyn])
    assert float(lc.gen[0]) == pytest.approx(a.gen_level, rel=1e-6)


@pytest.mark.slow
@pytest.mark.parametrize("psi_n", [8.0, 16.0])
def test_tau_mem_dyn_matches_simulation(psi_n):
    # Fig. 5 setting, one Gaussian-equivalent draw at d = 30: the half-rise time of the simulated
    # L_gen is within 1.5 % of the limit one (measured 4994 vs 4923 at psi_n = 8, 6952 vs 6960 at 16)
    from rfdiff import simulate

    m = rfdiff.RFModel(64.0, psi_n, 0.1)
    dyn = m.dynamical_timescales()
    tau = np.logspace(-1, 7, 161)
    fl = simulate.gradient_flow(m, tau, d=30, seed=0, noise="gaussian")
    tm, _ = first_crossing(tau, fl.gen, 0.5 * (fl.test_inf - fl.train_inf), above=True)
    assert tm == pytest.approx(dyn.tau_mem_dyn, rel=0.08)
    assert tau[np.argmin(fl.score)] == pytest.approx(dyn.tau_score_min, rel=0.15)


# ---------------------------------------------------------------- fast phase-map path vs the reference

# Hard cells: psi_n just below / above psi_p - 1 (the atom of U at s_t^2 disappears at psi_n = psi_p - 1,
# and the lowest support component touches s_t^2), psi_n < 1, psi_p < psi_n, small and large t.
# (16, 14.8) is slow-marked: its reference contour needs ~4500 nodes (10 s) because of the atom.
HARD = [pytest.param(16.0, 14.8, 0.1, marks=pytest.mark.slow), (16.0, 15.2, 0.1), (4.0, 0.5, 0.1),
        (4.0, 64.0, 0.1), (64.0, 8.0, 0.01), (8.0, 2.0, 1.0), (128.0, 2.0, 0.1)]


@pytest.mark.parametrize(("psi_p", "psi_n", "t"), HARD)
def test_fast_losses_match_learning_curves(psi_p, psi_n, t):
    # The map's contour (log-ellipse, no spectrum) against the per-component ellipses
    # (strategy="components"): independent node sets, each certified by its own n/2-rule difference
    # (<= accuracy 1e-9 for the map, 1e-10 for the reference), so they must agree to the sum.
    taus = [1.0, 1e2, 1e3, np.inf]
    with ThreadPoolExecutor(1) as ex:
        pd = phase_diagram([psi_p], [psi_n], t=t, tau=taus, n_star=[psi_p], executor=ex)
    ref = rfdiff.RFModel(psi_p, psi_n, t).learning_curves(taus, strategy="components")
    bound = pd.accuracy + ref.accuracy
    assert np.max(np.abs(pd.gen[:, 0, 0] - ref.gen)) < 2 * bound
    assert np.max(np.abs(pd.test[:, 0, 0] - ref.test)) < bound
    assert np.max(np.abs(pd.train[:, 0, 0] - ref.train)) < bound
    # the error estimate covers every tau the cell read and meets the requested accuracy
    assert 0 < pd.quad_error[0, 0] <= pd.accuracy


def test_map_contour_sees_unit_mass_with_and_without_the_atom():
    # the atom at s_t^2 sits inside the log-ellipse but carries no mass of nu_s (W^T v = 0):
    # -sum w s = 1 to rounding both with the atom (psi_n < psi_p - 1) and without it
    for psi_n, has_atom in [(8.0, True), (62.5, True), (63.5, False), (200.0, False)]:
        m = rfdiff.RFModel(64.0, psi_n, 0.1)
        assert bool(rfdiff.spectrum.atom_weight_formula(m.equations) > 0) == has_atom
        ct = rfdiff.twopoint.contour(m.equations, m.constants, strategy="log", accuracy=1e-9)
        assert abs(ct.mass - 1.0) < 1e-12


@pytest.mark.parametrize(("psi_p", "psi_n", "t"), [(64.0, 8.0, 0.1), (16.0, 30.0, 0.01)])
def test_fast_timescales_match_refined_dynamical_timescales(psi_p, psi_n, t):
    # dynamical_timescales(refine=True) roots E_score and L_gen on the curves themselves (brentq,
    # xtol 1e-6 in ln tau; E_score minimum by a bounded search, xatol 1e-4). The fast path ends on
    # a sub-grid of spacing 0.58/64 = 0.009 in ln tau with linear interpolation (error ~ spacing^2
    # |y''/y'| / 8 ~ 1e-5) and a parabola for the minimum: 1e-3 relative is a safe margin.
    ref = rfdiff.RFModel(psi_p, psi_n, t).dynamical_timescales()
    with ThreadPoolExecutor(1) as ex:
        pd = phase_diagram([psi_p], [psi_n], t=t, tau=1e3, n_star=[psi_p], executor=ex)
    assert pd.tau_gen[0, 0] == pytest.approx(ref.tau_gen_dyn, rel=1e-3)
    assert pd.tau_mem[0, 0] == pytest.approx(ref.tau_mem_dyn, rel=1e-3)


def test_fast_path_agrees_with_reference_path_on_a_grid():
    # The whole map both ways (cells only): the same reading of the times on two independent contours.
    # L_gen to the sum of the two certified accuracies; tau_gen, tau_mem to the refinement's ~1e-5
    # (a loss error of 1e-9 moves a crossing by ~1e-9/|d L/d ln tau| ~ 1e-8); so regimes may differ only
    # for cells with tau within 1e-3 of one of the two boundaries.
    pp = [16.0, 64.0]
    pn = [0.5, 5.0, 15.2, 100.0]
    taus = [10.0, 1e3, 1e4]
    ns = [14.0, 57.2]
    with ThreadPoolExecutor(2) as ex:
        fast = phase_diagram(pp, pn, t=0.1, tau=taus, n_star=ns, executor=ex)
        ref = phase_diagram(pp, pn, t=0.1, tau=taus, n_star=ns, executor=ex, method="reference")
    assert np.max(np.abs(fast.gen - ref.gen)) < 2 * (fast.accuracy + ref.accuracy)
    assert np.allclose(fast.tau_gen, ref.tau_gen, rtol=1e-3)
    assert np.allclose(fast.tau_mem, ref.tau_mem, rtol=1e-3)
    T = np.asarray(taus)[:, None, None]
    near = (np.abs(T / ref.tau_gen - 1) < 1e-3) | (np.abs(T / ref.tau_mem - 1) < 1e-3)
    assert np.all((fast.regime == ref.regime) | near)
    assert fast.nodes.shape == (2, 4) and np.all(fast.nodes < 600)
    assert np.all(fast.quad_error <= fast.accuracy) and np.all(ref.quad_error <= ref.accuracy)


def test_fast_gen_inf_matches_reference_around_n_star():
    # n_star's default evaluates L_gen(inf) on the log contour (taller ellipse: no e^{-a z}); against
    # the per-component contours at the psi_n where the slope is read, each certified to 1e-10.
    for x in (50.0, 57.0, 64.0):
        m = rfdiff.RFModel(64.0, x, 0.1)
        fast = m.learning_curves([np.inf]).gen[0]
        ref = m.learning_curves([np.inf], strategy="components").gen[0]
        assert abs(fast - ref) < 2e-10


@pytest.mark.slow
@pytest.mark.parametrize(("psi_p", "t"), [(16.0, 0.1), (64.0, 0.1)])
def test_n_star_fast_matches_reference(psi_p, t):
    # the same search on reference contours (~1 s each): measured agreement ~1e-13 relative
    assert n_star(psi_p, t=t) == pytest.approx(n_star(psi_p, t=t, method="reference"), rel=1e-6)


@pytest.mark.slow
def test_n_star_reference_raises_where_its_contours_exceed_the_budget():
    # At t = 0.01 the search passes psi_n = 57.02 (psi_p = 64), where a support component sits 1e-4 above
    # s_t^2: its Bernstein ellipse needs 14400 nodes for 1e-10 (> 8192). The reference path says so and
    # points to the log contours; it never returns a capped value.
    from rfdiff.errors import QuadratureError

    with pytest.raises(QuadratureError, match="strategy='log'"):
        n_star(64.0, t=0.01, method="reference")
    assert 50.0 < n_star(64.0, t=0.01) < 80.0


def test_fast_path_bad_input():
    with pytest.raises(ValueError, match="accuracy"):
        phase_diagram([1.0], [1.0], accuracy=0.1)
    with pytest.raises(ValueError, match="method"):
        phase_diagram([1.0], [1.0], method="slow")
    with pytest.raises(ValueError, match="accuracy"):
        n_star(64.0, accuracy=-1.0)


def test_phase_diagram_with_ridge_matches_the_model():
    # the map's cell with a ridge is the model's flow on U + lam: L_gen at tau from the same contour
    # family (both certified to their accuracies), the times by the map's cheaper reading (~2e-5), n* of the
    # ridge estimator (the same search and contour: identical)
    lam = 0.01
    with ThreadPoolExecutor(1) as ex:
        pd = phase_diagram([64.0], [8.0], t=0.1, tau=[1e3, np.inf], ridge=lam, executor=ex)
    m = rfdiff.RFModel(64.0, 8.0, 0.1, ridge=lam)
    lc = m.learning_curves([1e3, np.inf])
    np.testing.assert_allclose(pd.gen[:, 0, 0], lc.gen, atol=pd.accuracy + lc.accuracy)
    dyn = m.dynamical_timescales()
    assert pd.tau_mem[0, 0] == pytest.approx(dyn.tau_mem_dyn, rel=1e-3)
    assert pd.n_star[0] == pytest.approx(rfdiff.n_star(64.0, 0.1, ridge=lam, accuracy=pd.accuracy), rel=1e-12)
    assert pd.ridge == lam


@pytest.mark.parametrize("plan, rtol", [("map", 3e-5), ("precise", 1e-8)])
@pytest.mark.parametrize("psi_p, psi_n", [(64.0, 8.0), (1e4, 30.0), (1e5, 1e3), (1.5, 1.2)])
def test_reading_the_times_matches_brent_on_the_same_curves(plan, rtol, psi_p, psi_n):
    # The times are read from polynomial interpolants on Chebyshev points of each grid bracket; here the
    # same curves (same contour, certified to 1e-10) are minimised and solved by scipy's Brent methods to
    # ~1e-10. The interpolation errors (phases._PLANS) are ~2e-7 (map, minimum) and ~3e-11 (precise) of
    # the curves' scale; a crossing moves by that over the log-slope, measured up to ~1e-5 (map) and 3e-9
    # (precise) relative in tau over these cells: rtol 3e-5 and 1e-8.
    from scipy.optimize import brentq, minimize_scalar

    from rfdiff.phases import _read

    m = rfdiff.RFModel(psi_p, psi_n, 0.1)
    r = _read(m.equations, m.constants, np.array([1e3]), 0.5, True, 0.05, 1e-10, "log", plan)

    def f(x, which):
        return float(getattr(r.lc.at([math.exp(x)]), which)[0])

    x0 = math.log(r.tau_min)
    xm = minimize_scalar(lambda x: f(x, "score"), bracket=(x0 - 0.3, x0, x0 + 0.3), tol=1e-10).x
    s_min = f(xm, "score")
    assert r.score_min == pytest.approx(s_min, rel=rtol)
    xg = math.log(r.tau_gen)
    tau_gen = math.exp(brentq(lambda x: f(x, "score") - 1.05 * s_min, xg - 0.5, min(xg + 0.5, xm)))
    assert r.tau_gen == pytest.approx(tau_gen, rel=rtol)
    xt = math.log(r.tau_mem)
    tau_mem = math.exp(brentq(lambda x: f(x, "gen") - r.level, xt - 0.3, xt + 0.3, xtol=1e-13))
    assert r.tau_mem == pytest.approx(tau_mem, rel=rtol)


def test_chebyshev_reading_kernels_against_numpy_and_closed_forms():
    # The interpolation layer of the time reading (rfdiff._numerics.chebyshev): coefficients and
    # derivatives against numpy.polynomial.chebyshev, the minimum of (t - 0.3)^2 + 1 and the first root
    # of sin(3 t) - 0.5 on [-1, 1] (degree-23 interpolant: error ~ 3^24/(2^23 24!) < 1e-15; the closed
    # forms to 1e-9, the polishing's own tolerance being rounding).
    from numpy.polynomial import chebyshev as C

    from rfdiff._numerics import chebyshev as cheb

    rng = np.random.default_rng(5)
    c = rng.standard_normal(9)
    np.testing.assert_allclose(cheb.derivative(c), C.chebder(c), rtol=1e-13, atol=1e-13)
    t = cheb.points(9)
    np.testing.assert_allclose(cheb.coefficients(C.chebval(t, c)), c, atol=1e-13)
    assert cheb.value(c, 0.37) == pytest.approx(C.chebval(0.37, c), abs=1e-13)
    t = cheb.points(12)
    tm, vm = cheb.minimum(cheb.coefficients((t - 0.3) ** 2 + 1.0))
    assert tm == pytest.approx(0.3, abs=1e-9) and vm == pytest.approx(1.0, abs=1e-13)
    t = cheb.points(24)
    c = cheb.coefficients(np.sin(3.0 * t) - 0.5)
    assert cheb.crossing(c, 0.0, -1.0, 1.0) == pytest.approx(math.asin(0.5) / 3.0, abs=1e-9)
    assert cheb.crossing(c, 0.0, 0.5, 1.0) == pytest.approx(5.0 * math.pi / 18.0, abs=1e-9)  # downwards
    assert cheb.crossing(c, 0.0, 0.9, 1.0) == 1.0  # none in [0.9, 1]: the end, as documented
