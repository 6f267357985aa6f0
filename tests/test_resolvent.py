"""The Theorem 3.1 solver against closed forms, independent scalar equations and bad input."""

import math

import numpy as np
import pytest

import rfdiff
from rfdiff.resolvent import Equations, ResolventConvergenceError, solve


def mp_stieltjes(z, ratio, scale=1.0, shift=0.0):
    """Closed-form Stieltjes transform of shift + scale * MP(ratio), (1/p) Tr convention.

    q solves ratio * w * q'^2 + (w + ratio - 1) q' + 1 = 0 with w = (z - shift)/scale, q = q'/scale;
    the root with Im q > 0 (Im z > 0) is the physical one.
    """
    w = (np.asarray(z, dtype=complex) - shift) / scale
    a, b, c = ratio * w, w + ratio - 1, 1.0
    disc = np.sqrt(b * b - 4 * a * c)
    r1, r2 = (-b + disc) / (2 * a), (-b - disc) / (2 * a)
    return np.where(r1.imag > 0, r1, r2) / scale


Z_OFF_AXIS = np.array(
    [0.3 + 1e-12j, 1.0 + 1e-9j, 2.5 + 0.3j, -1.0 + 2.0j, 7.0 + 1e-6j, 100.0 + 50j, 0.05 + 1e-3j]
)


@pytest.mark.parametrize("psi", [0.3, 1.0, 2.0, 5.0])
def test_marchenko_pastur_from_the_b_term(psi):
    # a = v = 0: U = b^2 W W^T/d + s^2 I, a Marchenko–Pastur law of ratio psi_p (exact).
    b2, s2 = 0.7, 0.2
    eq = Equations(psi_p=psi, psi_n=3.0, a2e=0.0, b2=b2, v2=0.0, s2=s2)
    z = s2 + b2 * Z_OFF_AXIS
    res = solve(eq, z)
    assert np.all(res.converged) and np.all(res.branch_ok)
    # both sides are float64 roots of the same quadratic: agreement limited by conditioning ~1e-13
    np.testing.assert_allclose(res.q, mp_stieltjes(z, psi, b2, s2), rtol=1e-10)


@pytest.mark.parametrize("psi_p,psi_n", [(2.0, 8.0), (6.0, 2.0), (64.0, 8.0)])
def test_marchenko_pastur_from_the_v_term(psi_p, psi_n):
    # a = b = 0: U = v^2 Omega Omega^T/n + s^2 I, Marchenko–Pastur of ratio psi_p/psi_n.
    v2, s2 = 0.03, 0.01
    eq = Equations(psi_p=psi_p, psi_n=psi_n, a2e=0.0, b2=0.0, v2=v2, s2=s2)
    z = s2 + v2 * Z_OFF_AXIS
    np.testing.assert_allclose(solve(eq, z).q, mp_stieltjes(z, psi_p / psi_n, v2, s2), rtol=1e-10)


def test_density_on_the_axis_matches_marchenko_pastur():
    # exact-axis solve (Im z = 0) inside the support vs the closed-form density
    psi = 0.5
    eq = Equations(psi_p=psi, psi_n=1.0, a2e=0.0, b2=1.0, v2=0.0, s2=0.0)
    lo, hi = (1 - math.sqrt(psi)) ** 2, (1 + math.sqrt(psi)) ** 2
    lam = np.linspace(lo, hi, 203)[1:-1]
    rho = rfdiff.spectrum.density(eq, lam)
    exact = np.sqrt((hi - lam) * (lam - lo)) / (2 * np.pi * psi * lam)
    np.testing.assert_allclose(rho, exact, rtol=1e-10, atol=1e-13)
    assert np.all(solve(eq, lam).imag_used == 0)


def bai_silverstein(z, psi, lam, pi):
    """Independent scalar equation for W Sigma W^T/d: q = -1/(z - sum pi l/(1 + psi q l)).

    Solved by damped fixed-point iteration from large Im z down to z (its own continuation).
    """
    out = []
    for zz in np.atleast_1d(z):
        q = -1 / zz
        for y in np.geomspace(100.0, zz.imag, 200):
            zy = complex(zz.real, y)
            for _ in range(20000):
                new = -1 / (zy - np.sum(pi * lam / (1 + psi * q * lam)))
                if abs(new - q) < 1e-15 * abs(q):
                    q = new
                    break
                q = 0.5 * q + 0.5 * new
        out.append(q)
    return np.array(out)


def test_population_limit_anisotropic():
    # psi_n -> infinity with only the a-term: X X^T/n -> Sigma, U -> a2e W Sigma W^T/d + s^2,
    # whose Stieltjes transform solves the scalar Bai–Silverstein equation. Corrections are
    # O(1/psi_n) = 1e-12 here.
    lam, pi = np.array([0.5, 1.5]), np.array([0.5, 0.5])
    a2e, s2, psi = 0.8, 0.05, 3.0
    eq = Equations(psi_p=psi, psi_n=1e12, a2e=a2e, b2=0.0, v2=0.0, s2=s2,
                   data_values=tuple(lam), data_weights=tuple(pi))
    w = np.array([0.5 + 0.5j, 2.0 + 0.1j, 5.0 + 0.01j, -1 + 1j])
    z = s2 + a2e * w
    ref = bai_silverstein(w, psi, lam, pi) / a2e
    np.testing.assert_allclose(solve(eq, z).q, ref, rtol=1e-9)


def test_real_z_below_the_spectrum_is_real_and_continuous():
    m = rfdiff.RFModel(psi_p=8, psi_n=2, t=0.1)
    x = np.array([-5.0, -0.1, 0.0, 0.5 * m.constants.s2])
    res = m.resolvent(x)
    assert np.all(res.imag_used == 0)
    assert np.all(np.abs(res.q.imag) <= 1e-14 * np.abs(res.q))
    assert np.all(res.q.real > 0)  # q(x) = int rho/(lambda - x) > 0 below the spectrum
    near = m.stieltjes(x + 1e-9j)
    np.testing.assert_allclose(res.q.real, near.real, rtol=1e-7)


def test_diagnostics_and_shape():
    m = rfdiff.RFModel(psi_p=64, psi_n=8, t=0.01)
    z = np.array([[0.1 + 1e-10j, 20 + 1e-12j], [1 + 1j, 0.005 + 0.0j]])
    res = m.resolvent(z)
    assert res.q.shape == z.shape and res.r.shape == z.shape and res.s.shape == z.shape
    assert np.all(res.ok) and np.all(res.residual < 1e-13) and np.all(res.iterations > 0)
    assert m.stieltjes(1.0 + 1.0j).shape == ()


def test_equations_are_satisfied_at_the_returned_value():
    # recompute the Theorem 3.1 residual in plain numpy, independently of the kernel
    m = rfdiff.RFModel(psi_p=8, psi_n=2, t=0.1, data=rfdiff.DataSpectrum([0.5, 1.5], [0.5, 0.5]))
    eq = m.equations
    z = np.array([0.05 + 1e-8j, 1.0 + 0.1j, 3.0 + 1e-11j])
    res = m.resolvent(z)
    q, r, s = res.q, res.r, res.s
    lam, pi = eq.lam, eq.pi
    shat = eq.b2 * eq.psi_p + 1 / q
    d = 1 + eq.a2e * eq.psi_p / eq.psi_n * r + eq.psi_p * eq.v2 / eq.psi_n * q
    rhat = eq.psi_p * eq.a2e / d
    s_new = np.sum(pi / (shat[:, None] + lam * rhat[:, None]), axis=1)
    r_new = np.sum(pi * lam / (shat[:, None] + lam * rhat[:, None]), axis=1)
    last = eq.psi_p * (eq.s2 - z) + eq.psi_p * eq.v2 / d + (1 - eq.psi_p) / q - s / q**2
    np.testing.assert_allclose(s, s_new, rtol=1e-12)
    np.testing.assert_allclose(r, r_new, rtol=1e-12)
    assert np.all(np.abs(last) < 1e-11 * eq.psi_p * np.abs(z))


def test_bad_input():
    m = rfdiff.RFModel(psi_p=4, psi_n=2, t=0.1)
    with pytest.raises(ValueError, match="Im z"):
        m.stieltjes(1.0 - 0.1j)
    with pytest.raises(ValueError, match="finite"):
        m.stieltjes(np.array([1.0 + np.nan * 1j]))
    with pytest.raises(TypeError, match="z must be numbers"):
        m.stieltjes("1+1j")
    with pytest.raises(TypeError, match="bool"):
        m.stieltjes(True)
    with pytest.raises(ValueError, match="on_failure"):
        m.stieltjes(1j, on_failure="ignore")
    with pytest.raises(ValueError, match="lam"):
        m.density([0.1, np.nan])
    with pytest.raises(ValueError, match="psi_p"):
        Equations(psi_p=0.0, psi_n=1.0, a2e=0, b2=1, v2=0, s2=0)
    with pytest.raises(ValueError, match="v2"):
        Equations(psi_p=1.0, psi_n=1.0, a2e=0, b2=1, v2=-1, s2=0)


def test_failure_is_reported_with_the_offending_z():
    # real z exactly on the atom at s_t^2 is a pole of q: the solver must not return a number
    m = rfdiff.RFModel(psi_p=64, psi_n=8, t=0.1)
    z = np.array([1.0 + 1j, m.constants.s2 + 0j])
    with pytest.raises(ResolventConvergenceError) as info:
        m.stieltjes(z)
    assert info.value.z.tolist() == [m.constants.s2 + 0j]
    with pytest.warns(RuntimeWarning, match="failed at 1 of 2"):
        q = m.stieltjes(z, on_failure="warn")
    assert np.isfinite(q[0]) and np.isnan(q[1])
