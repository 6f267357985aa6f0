"""Spectrum of U: edges, atoms, masses, CDF and the asymptotic forms of Theorem 3.2."""

import math

import numpy as np
import pytest
from scipy import integrate

import rfdiff
from rfdiff.resolvent import Equations
from rfdiff.spectrum import (
    atom_weight_formula,
    marchenko_pastur_density,
    rho1_asymptotic,
    rho1_edges,
    rho2_density,
    spectrum,
)


@pytest.mark.parametrize("psi", [0.25, 0.5, 2.0, 6.0])
def test_marchenko_pastur_limit_exact(psi):
    # a = v = 0: U = b^2 W W^T/d + s^2, MP of ratio psi: closed-form edges, atom 1 - 1/psi at s^2
    b2, s2 = 0.6, 0.1
    eq = Equations(psi_p=psi, psi_n=2.0, a2e=0.0, b2=b2, v2=0.0, s2=s2)
    sp = spectrum(eq)
    lo, hi = s2 + b2 * (1 - math.sqrt(psi)) ** 2, s2 + b2 * (1 + math.sqrt(psi)) ** 2
    assert len(sp.support) == 1
    np.testing.assert_allclose(sp.support[0], (lo, hi), rtol=1e-12)
    w = max(0.0, 1 - 1 / psi)
    assert atom_weight_formula(eq) == pytest.approx(w, abs=1e-15)
    if w > 0:
        (loc, weight), = sp.atoms
        assert loc == s2 and weight == pytest.approx(w, abs=1e-10)
    else:
        assert sp.atoms == ()
    assert sp.masses[0] == pytest.approx(min(1.0, 1 / psi), abs=1e-12)
    # CDF against the closed-form density integrated by adaptive quadrature
    for x in np.linspace(lo, hi, 7)[1:-1]:
        cont, _ = integrate.quad(lambda y: marchenko_pastur_density((y - s2) / b2, psi) / b2, lo, x,
                                 epsabs=1e-14, epsrel=1e-12)
        assert sp.cdf(x) == pytest.approx(w + min(1.0, 1 / psi) * cont, abs=1e-10)


FIG = [
    # docs/theory.md §5.2 values (an independent computation, quoted to 3-4 digits)
    (0.1, 0.8594, [(0.0231, 0.0463), (0.0626, 0.2076), (11.7, 41.5)]),
    (0.01, 1 - 9 / 64, [(0.00368, 0.0102), (0.0913, 0.3594), (9.84, 44.7)]),
]


@pytest.mark.parametrize("t,weight,support", FIG)
def test_paper_fig4_fig5_setting(t, weight, support):
    sp = rfdiff.RFModel(psi_p=64, psi_n=8, t=t).spectrum()
    (loc, w), = sp.atoms
    assert loc == pytest.approx(rfdiff.RFModel(psi_p=64, psi_n=8, t=t).constants.s2)
    assert w == pytest.approx(1 - 9 / 64, abs=1e-10)
    assert w == pytest.approx(weight, abs=1e-4)
    assert len(sp.support) == 3
    for (lo, hi), (rlo, rhi) in zip(sp.support, support):
        # quoted values were read at Im z = 1e-10 with a density threshold: ~1e-3 relative
        assert lo == pytest.approx(rlo, rel=2e-3) and hi == pytest.approx(rhi, rel=2e-3)
    # cluster 1/psi_p, rho_1 (psi_n - 1)/psi_p, rho_2 1/psi_p (docs/theory.md §5.2)
    np.testing.assert_allclose(sp.masses, [1 / 64, 7 / 64, 1 / 64], atol=1e-12)
    assert sp.total_mass == pytest.approx(1.0, abs=1e-8)


def test_merged_cluster_when_psi_ratio_near_one():
    sp = rfdiff.RFModel(psi_p=64, psi_n=32, t=0.1).spectrum()
    assert len(sp.support) == 2
    assert sp.support[0] == pytest.approx((0.0149, 0.0925), rel=3e-3)


@pytest.mark.parametrize("params", [
    dict(psi_p=64, psi_n=8, t=0.01),
    dict(psi_p=8, psi_n=2, t=0.1, activation="erf", data=rfdiff.DataSpectrum([0.5, 1.5], [0.5, 0.5])),
    dict(psi_p=3, psi_n=5, t=0.5),
])
def test_edges_are_square_root_points_located_to_1e8(params):
    m = rfdiff.RFModel(**params)
    sp = m.spectrum()
    for lo, hi in sp.support:
        width = hi - lo
        for edge, inward in ((lo, 1.0), (hi, -1.0)):
            # just outside (1e-9 relative) the density vanishes, just inside it does not
            outside = m.density(edge - inward * 1e-9 * edge)
            assert outside == 0.0 or outside < 1e-12 * np.max(sp.density)
            assert m.density(edge + inward * 1e-8 * edge) > 0
            # square-root behaviour: rho(e + 4 delta) / rho(e + delta) -> 2
            delta = 1e-7 * width
            ratio = m.density(edge + inward * 4 * delta) / m.density(edge + inward * delta)
            assert ratio == pytest.approx(2.0, rel=1e-3)


def test_edges_against_bisection_of_the_density():
    # an independent, slower edge locator: bisection on "Im q(x + i0) > 0"
    m = rfdiff.RFModel(psi_p=16, psi_n=4, t=0.1)
    sp = m.spectrum()

    def inside(x):
        q = m.stieltjes(x)
        return q.imag > 1e-10 * abs(q)

    bounds = [m.constants.s2, *np.ravel(sp.support), np.inf]
    assert len(sp.support) == 3  # this setting has a gap of width 6e-6 between cluster and rho_1
    for k, (lo, hi) in enumerate(sp.support):
        for edge, sign, neighbour in ((lo, -1, bounds[2 * k]), (hi, 1, bounds[2 * k + 3])):
            step = min(0.01 * (hi - lo), 0.4 * abs(neighbour - edge))
            a, b = edge - sign * step, edge + sign * step  # a inside, b in the gap
            for _ in range(60):
                mid = 0.5 * (a + b)
                a, b = (mid, b) if inside(mid) else (a, mid)
            # the bisection only resolves the edge to where rho ~ sqrt(x - e) exceeds the
            # classification threshold: |x - e| ~ (1e-10)^2 relative, far below 1e-9
            assert edge == pytest.approx(0.5 * (a + b), rel=1e-9)


@pytest.mark.parametrize("eq,expected", [
    (Equations(psi_p=5.0, psi_n=2.0, a2e=0.3, b2=0.1, v2=0.05, s2=0.02), 1 - 3 / 5),
    (Equations(psi_p=5.0, psi_n=2.0, a2e=0.3, b2=0.0, v2=0.05, s2=0.02), 1 - 2 / 5),
    (Equations(psi_p=5.0, psi_n=2.0, a2e=0.3, b2=0.1, v2=0.0, s2=0.02), 1 - 1 / 5),
    (Equations(psi_p=5.0, psi_n=0.5, a2e=0.3, b2=0.0, v2=0.0, s2=0.02), 1 - 0.5 / 5),
    (Equations(psi_p=2.0, psi_n=2.0, a2e=0.3, b2=0.1, v2=0.05, s2=0.02), 0.0),
])
def test_atom_weight_from_the_solution_matches_the_rank(eq, expected):
    sp = spectrum(eq)
    assert atom_weight_formula(eq) == pytest.approx(expected, abs=1e-15)
    got = sum(w for _, w in sp.atoms)
    assert got == pytest.approx(expected, abs=1e-9)
    assert sp.total_mass == pytest.approx(1.0, abs=1e-8)


def test_cdf_properties():
    sp = rfdiff.RFModel(psi_p=8, psi_n=2, t=0.1).spectrum()
    x = np.linspace(-1, sp.support[-1][1] * 1.1, 2001)
    f = sp.cdf(x)
    assert f[0] == 0.0 and f[-1] == pytest.approx(1.0, abs=1e-8)
    assert np.all(np.diff(f) >= -1e-12)
    # the CDF series integrates the sampled density: compare with trapezoid on a fine grid
    comp = sp.components[1]
    lam = np.linspace(comp.lo, comp.hi, 20001)
    rho = rfdiff.RFModel(psi_p=8, psi_n=2, t=0.1).density(lam[1:-1])
    trap = np.trapezoid(np.concatenate([[0], rho, [0]]), lam)
    # trapezoid on a square-root edge converges like h^1.5: ~1e-6 relative at 2e4 points
    assert comp.mass == pytest.approx(trap, rel=1e-5)
    with pytest.raises(ValueError, match="x"):
        sp.cdf([np.nan])


def test_rho1_marchenko_pastur_limit():
    # psi_p > psi_n at fixed ratio 8: the exact rho_1 edges approach the MP edges of
    # Theorem 3.2 with an O(1/psi_n) error (docs/theory.md §5)
    errs = []
    for n in (8, 32, 128):
        m = rfdiff.RFModel(psi_p=8 * n, psi_n=n, t=0.1)
        lo, hi = m.spectrum().support[1]
        elo, ehi = rho1_edges(m.equations)
        errs.append(max(abs(lo - elo) / elo, abs(hi - ehi) / ehi))
    assert errs[1] < errs[0] / 3 and errs[2] < errs[1] / 3
    assert errs[2] < 3e-3
    # psi_n > psi_p: the density itself, normalised, against MP(psi_p/psi_n); the error
    # shrinks like 1/psi_p
    diffs = []
    for p in (16, 64):
        m = rfdiff.RFModel(psi_p=p, psi_n=4096, t=0.1)
        comp = m.spectrum().components[0]
        lam = np.linspace(comp.lo, comp.hi, 60)[1:-1]
        exact = m.density(lam) / (1 - 1 / p)
        diffs.append(np.max(np.abs(exact - rho1_asymptotic(m.equations, lam))) / np.max(exact))
    assert diffs[1] < diffs[0] / 2 and diffs[1] < 0.03


def test_rho2_bai_silverstein_limit():
    # rho_2 is the Bai–Silverstein law of U~ once the data fluctuations X X^T/n -> Sigma,
    # i.e. for psi_n >> psi_p; the error shrinks roughly like psi_p/psi_n
    diffs = []
    for n in (256, 1024, 4096):
        m = rfdiff.RFModel(psi_p=16, psi_n=n, t=0.1)
        comp = m.spectrum().components[-1]
        lam = np.linspace(comp.lo, comp.hi, 60)[1:-1]
        exact = m.density(lam) * m.psi_p
        diffs.append(np.max(np.abs(exact - rho2_density(m.equations, m.constants, lam))) / np.max(exact))
    assert diffs[1] < diffs[0] / 3 and diffs[2] < diffs[1] / 3 and diffs[2] < 0.01


def test_bad_parameters():
    for kwargs, name in [
        (dict(psi_p=-1, psi_n=1, t=0.1), "psi_p"),
        (dict(psi_p=1, psi_n=0, t=0.1), "psi_n"),
        (dict(psi_p=1, psi_n=1, t=0), "t"),
        (dict(psi_p=1, psi_n=1, t=float("nan")), "t"),
        (dict(psi_p=float("inf"), psi_n=1, t=0.1), "psi_p"),
    ]:
        with pytest.raises(ValueError, match=name):
            rfdiff.RFModel(**kwargs)
    with pytest.raises(ValueError, match="weights"):
        rfdiff.DataSpectrum([0.5, 1.5], [0.5, 0.6])
    with pytest.raises(ValueError, match="weights"):
        rfdiff.DataSpectrum([0.5, 1.5], [1.5, -0.5])
    with pytest.raises(ValueError, match="weights"):
        rfdiff.DataSpectrum([0.5, 1.5], [1.0])
    with pytest.raises(ValueError, match="values"):
        rfdiff.DataSpectrum([-0.5, 1.5], [0.5, 0.5])
    with pytest.raises(ValueError, match="activation"):
        rfdiff.RFModel(psi_p=1, psi_n=1, t=0.1, activation="softplus")
    with pytest.raises(ValueError, match="n_scan"):
        rfdiff.RFModel(psi_p=1, psi_n=1, t=0.1).spectrum(n_scan=3)
