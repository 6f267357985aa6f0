"""Gaussian-equivalence constants (docs/theory.md §3) against mpmath and exact identities."""

import math

import mpmath
import numpy as np
import pytest

import rfdiff
from rfdiff.activations import Activation, centred, get_activation
from rfdiff.constants import compute_constants, constants_mpmath

FIELDS = ("delta", "gamma2", "a", "b", "v2", "s2", "mu1", "mustar2", "norm2")


def he3(x):
    """Hermite polynomial He_3: centred, and evaluable on mpmath numbers."""
    return x**3 - 3 * x


ACTIVATIONS = [
    get_activation("tanh"),
    get_activation("erf"),
    Activation(he3, "he3"),
    # an entire, odd (so centred) callable with a separate mpmath version
    Activation(lambda x: np.sin(2 * x) + 0.5 * x * np.exp(-x * x / 2), "sin+gauss",
               mp_fn=lambda x: mpmath.sin(2 * x) + 0.5 * x * mpmath.exp(-x * x / 2)),
]


@pytest.mark.parametrize("act", ACTIVATIONS, ids=lambda a: a.name)
@pytest.mark.parametrize("sigma_x2", [1.0, 0.7])
def test_gauss_hermite_matches_mpmath_30_digits(act, sigma_x2):
    # float64 Gauss-Hermite (order 200) vs mpmath at 30 digits. The GH error for tanh-like
    # activations decays like exp(-2a sqrt(N)) (a = pole distance ~ pi/2): < 1e-20 at N = 200,
    # so only float64 rounding of O(1) sums (~1e-15) remains; 1e-12 leaves margin.
    t = 0.01
    ref = constants_mpmath(act, t, sigma_x2, precision=30)
    c = compute_constants(act, t, sigma_x2)
    for name in FIELDS:
        assert getattr(c, name) == pytest.approx(float(ref[name]), rel=1e-12, abs=1e-13), name


@pytest.mark.slow
@pytest.mark.parametrize("name", ["tanh", "erf"])
def test_gauss_hermite_matches_mpmath_t01(name):
    act = get_activation(name)
    ref = constants_mpmath(act, 0.1, precision=30)
    ref_hi = constants_mpmath(act, 0.1, precision=30, inner_order=260)
    c = compute_constants(act, 0.1)
    for key in FIELDS:
        # the mpmath path is self-consistent to 30 digits when its inner order is raised
        assert abs(ref[key] - ref_hi[key]) < mpmath.mpf(10) ** -28, key
        assert getattr(c, key) == pytest.approx(float(ref[key]), rel=1e-12, abs=1e-13), key


@pytest.mark.parametrize("act", ACTIVATIONS[:2] + ACTIVATIONS[3:], ids=lambda a: a.name)
@pytest.mark.parametrize("t", [0.01, 0.1, 1.0])
@pytest.mark.parametrize("sigma_x2", [1.0, 2.5])
def test_stein_identities(act, t, sigma_x2):
    # a_t and b_t are computed from their 2-d definitions; Stein's lemma gives them in
    # terms of the 1-d mu_1: a_t = mu_1 / Gamma_t, b_t = sqrt(Delta_t) mu_1 / Gamma_t.
    c = compute_constants(act, t, sigma_x2)
    gamma = math.sqrt(c.gamma2)
    assert c.a == pytest.approx(c.mu1 / gamma, rel=1e-12)
    assert c.b == pytest.approx(math.sqrt(c.delta) * c.mu1 / gamma, rel=1e-12)
    # mu_1^2 = e^{-2t} sigma_x^2 a_t^2 + b_t^2 and mu_*^2 = s_t^2 + v_t^2
    assert c.mu1**2 == pytest.approx(math.exp(-2 * t) * sigma_x2 * c.a**2 + c.b**2, rel=1e-12)
    assert c.mustar2 == pytest.approx(c.s2 + c.v2, rel=1e-10)


def test_reference_values_theory_md():
    # docs/theory.md §3 quotes these to 6 digits (tanh, sigma_x = 1); they come from an independent
    # computation, so a 6-digit match is a real check of the definitions.
    for t, b, v2, s2 in [(0.01, 0.085233, 0.025542, 0.001874), (0.1, 0.257884, 0.013841, 0.013574)]:
        c = rfdiff.RFModel(psi_p=2, psi_n=1, t=t).constants
        assert c.mu1 == pytest.approx(0.605706, abs=1e-6)
        assert c.norm2 == pytest.approx(0.394294, abs=1e-6)
        assert c.mustar2 == pytest.approx(0.027415, abs=1e-6)
        assert c.b == pytest.approx(b, abs=1e-6)
        assert c.v2 == pytest.approx(v2, abs=1e-6)
        assert c.s2 == pytest.approx(s2, abs=1e-6)


def test_linear_activation_closed_form():
    # sigma(x) = x: a = 1, b = sqrt(Delta), v^2 = 0, s^2 = 0, mu_* = 0 exactly.
    t, sx2 = 0.3, 1.7
    c = compute_constants(Activation(lambda x: x, "linear"), t, sx2)
    assert c.a == pytest.approx(1.0, rel=1e-13)
    assert c.b == pytest.approx(math.sqrt(-math.expm1(-2 * t)), rel=1e-13)
    assert abs(c.v2) < 1e-13 and abs(c.s2) < 1e-13 and abs(c.mustar2) < 1e-13


def test_he3_closed_form():
    # sigma = He_3(x) = x^3 - 3x at Gamma = 1 (sigma_x = 1): E sigma(z)^2 = 3! = 6, mu_1 = E[He3(z) z] = 0.
    c = compute_constants(Activation(he3, "he3"), 0.2, 1.0)
    assert c.norm2 == pytest.approx(6.0, rel=1e-13)
    assert abs(c.mu1) < 1e-13


def test_non_centred_activation_refused():
    with pytest.raises(ValueError, match="not centred"):
        rfdiff.RFModel(psi_p=2, psi_n=1, t=0.1, activation=lambda x: np.maximum(x, 0.0))
    gamma = math.sqrt(rfdiff.RFModel(psi_p=2, psi_n=1, t=0.1).gamma2)
    relu = centred(lambda x: np.maximum(x, 0.0), gamma)
    m = rfdiff.RFModel(psi_p=2, psi_n=1, t=0.1, activation=relu, quad_order=400)
    # ReLU: mu_1 = E[relu(z) z] Gamma... = Gamma/2 for z ~ N(0,1) scaled; GH is only
    # algebraically accurate for the kink, so a loose tolerance is honest here.
    assert m.constants.mu1 == pytest.approx(0.5 * gamma, rel=1e-4)
