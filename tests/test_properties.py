"""Property tests of the Stieltjes convention (docs/theory.md §4.1) over random models and z."""

import warnings

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rfdiff
from rfdiff.resolvent import solve

psi = st.floats(min_value=0.3, max_value=100.0)
times = st.floats(min_value=0.005, max_value=2.0)
acts = st.sampled_from(["tanh", "erf"])
datas = st.sampled_from([None, ([0.5, 1.5], [0.5, 0.5]), ([0.2, 1.0, 3.0], [0.3, 0.5, 0.2])])


def make(psi_p, psi_n, t, act, data):
    kwargs = {} if data is None else {"data": rfdiff.DataSpectrum(*data)}
    return rfdiff.RFModel(psi_p=psi_p, psi_n=psi_n, t=t, activation=act, **kwargs)


# derandomize: the same examples every run (CI must not turn red on a new random draw; run with
# --hypothesis-seed=<n> and derandomize off locally to explore further)
SETTINGS = settings(max_examples=40, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(psi, psi, times, acts, datas,
       st.floats(min_value=-5.0, max_value=60.0), st.floats(min_value=-12.0, max_value=2.0))
def test_herglotz_and_conjugate_symmetry(psi_p, psi_n, t, act, data, x, log_y):
    m = make(psi_p, psi_n, t, act, data)
    z = complex(x, 10.0**log_y)
    res = m.resolvent(z)
    assert res.ok and res.residual < 1e-12
    q, r = complex(res.q), complex(res.r)
    # Herglotz: Im q > 0, Im r >= 0 and, U >= 0, Im(z q) >= 0 (up to roundoff)
    assert q.imag > 0 or abs(q.imag) <= 1e-14 * abs(q)
    assert r.imag >= -1e-14 * abs(r)
    assert (z * q).imag >= -1e-13 * abs(z * q)
    # |q| <= 1/Im z for a probability measure
    assert abs(q) <= (1 + 1e-12) / z.imag
    # the lower half plane, solved independently (continuation from x - iY), is the mirror
    low = m.resolvent(z.conjugate(), lower_half_plane=True)
    assert low.ok
    np.testing.assert_allclose(complex(low.q), q.conjugate(), rtol=1e-10, atol=0)


@SETTINGS
@given(psi, psi, times, acts, datas, st.floats(min_value=0.0, max_value=2 * np.pi))
def test_large_z_asymptotics(psi_p, psi_n, t, act, data, angle):
    # z q(z) = -1 - m1/z + O(m2/z^2), m1 = (1/p) Tr U = ||sigma||^2 (the mean eigenvalue)
    m = make(psi_p, psi_n, t, act, data)
    eq = m.equations
    radius = 1e4 * eq.upper_bound
    z = radius * np.exp(1j * min(max(angle, 1e-3), np.pi - 1e-3))
    q = complex(m.stieltjes(z))
    m1 = eq.mean_eigenvalue
    assert abs(m1 - m.constants.norm2) < 1e-12
    assert abs(z * q + 1 + m1 / z) <= 2 * eq.upper_bound**2 / abs(z) ** 2


@settings(max_examples=12, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(st.floats(min_value=1.0, max_value=80.0), st.floats(min_value=0.5, max_value=40.0), times, acts, datas)
def test_total_mass_is_one(psi_p, psi_n, t, act, data):
    m = make(psi_p, psi_n, t, act, data)
    with warnings.catch_warnings():
        # near psi_p = psi_n the lower edge of rho_1 approaches a hard (1/sqrt) edge and the
        # Chebyshev series may stop short of its 1e-12 target: allowed, the mass must still be right
        warnings.filterwarnings("ignore", "density on .* not resolved", RuntimeWarning)
        sp = m.spectrum()
    assert abs(sp.total_mass - 1.0) < 1e-8
    assert abs(sum(w for _, w in sp.atoms) - sp.atom_weight_formula) < 1e-8
    # the CDF is 0 below the spectrum and 1 above it
    assert sp.cdf(-1.0) == 0.0
    assert abs(sp.cdf(2 * m.equations.upper_bound) - 1.0) < 1e-8


def test_explicit_lower_half_plane_solver_path():
    eq = rfdiff.RFModel(psi_p=8, psi_n=2, t=0.1).equations
    z = np.array([0.05 - 1e-9j, 2.0 - 0.5j])
    res = solve(eq, z, lower_half_plane=True)
    assert np.all(res.q.imag < 0) and np.all(res.branch_ok)
