"""Regenerate the frozen high-precision reference tables of ``tests/tables/`` (issue 9).

Usage (from the repository root)::

    python tests/tables/make_tables.py [constants] [resolvent] [mp] [ridgeless] [nstar] [selfcheck]

With no argument every table is rebuilt (about 25 minutes on one core of the project's
2-core machine, mpmath's pure-Python backend; each table's header records its own time).
The tests only read the JSON files; nothing here runs in the test suite.

This is an INDEPENDENT computation, written from the mathematics of ``docs/theory.md``
(sections "Gaussian-equivalence constants", "Theorem 3.1", "Learning curves") and
``docs/twopoint.md``; it does not import rfdiff. Everything is done in mpmath at
``DPS`` working digits or more, and every stored value carries >= 30 correct digits
(the generator checks its own accuracy as described per table below and refuses to
write a table whose check fails).

Tables
------
constants.json
    a_t, b_t, v_t^2, s_t^2, mu_1, mu_*^2, ||sigma||^2 for tanh, erf, sin (sigma_x^2 = 1, 2) and
    sincos_c(x) = sin x + cos x - e^{-1/2} (sigma_x^2 = 1 only: it is centred only for Gamma_t = 1), at
    15 t log-spaced over [1e-4, 10]. With alpha = e^{-t} sigma_x, beta = sqrt(Delta_t),
    Gamma^2 = alpha^2 + beta^2 and z, u, v ~ N(0, 1):

    * mu_1 = E[sigma(Gamma z) z], ||sigma||^2 = E sigma(Gamma z)^2 (1-D);
    * a_t = mu_1/Gamma and b_t = beta mu_1/Gamma: these are the definitions
      E[sigma(g) u]/alpha and E[sigma(g) v] after Stein's lemma, exact for jointly Gaussian (g, u);
    * mu_*^2 = E[(sigma(Gamma z) - mu_1 z)^2] (a sum of squares: no cancellation);
    * v_t^2 = E_u[(m(u) - a_t alpha u)^2], m(u) = E_v sigma(alpha u + beta v): equal to the definition
      E[sigma(g(u,v)) sigma(g(u,w))] - a_t^2 alpha^2 (expand the square, E[u m(u)] = a_t alpha), but a
      sum of squares. The subtraction m - a alpha u loses only log10(1/alpha^2) digits (8.7 at t = 10),
      while the definition's difference loses log10(cross/v_t^2) (~17 digits at t = 10);
    * s_t^2 = mu_*^2 - v_t^2 (= ||sigma||^2 - a^2 alpha^2 - v^2 - b^2 since mu_1^2 = a^2 alpha^2 + b^2);
      cross-checked against the independent sum of squares E_{u,v}[(sigma(g) - m(u) - b_t v)^2].

    Integrals over R with the Gaussian weight by the trapezoid rule (exponentially convergent for
    integrands analytic in a strip), step chosen per dimension from the strip width of the
    activation, checked against a 1.5x coarser rule (see ``_trap_step``). Closed forms
    (erf, sin, sincos_c; below) are checked to 40 digits at every t: they test the quadrature.
resolvent.json
    q, r, s of Theorem 3.1 (docs/theory.md) at z on and off the real axis, tanh, isotropic and
    rho_Sigma = 0.5 delta_0.5 + 0.5 delta_1.5, psi_p, psi_n on a 7 x 7 log grid of [1e-3, 1e5] plus
    near-degenerate cells, t in {1e-4, 0.01, 0.1, 1, 3}. The coefficients (a2e, b2, v2, s2) of each row
    are float64 numbers (stored exactly) and the reference solves the system with exactly those
    coefficients, so the table tests the solver alone. Solved by complex Newton with continuation
    from z = x + iY (Y = 4 (|x| + ub), where q ~ -1/z fixes the branch) down to the target, each step
    accepted only if Newton converges in <= 8 iterations and Im q, Im r, Im s, Im(z q) >= 0 (Herglotz)
    (the path in float64 on a twin of the system, the end point polished by Newton at 60 digits);
    real z: continuation to Im z = 1e-40 ub at 60 digits, then one exact Newton solve on Im z = 0
    from there (the boundary value q(x + i0)), checked to agree with the 1e-40 value.
mp_stieltjes.json
    m(w) = int dmu(k)/(k - w), mu = Marchenko–Pastur law of ratio y (atom 1 - 1/y at 0 when y > 1):
    the root of y w m^2 + (w - 1 + y) m + 1 = 0 selected by the Herglotz conditions (Im m and Im(w m)
    of the sign of Im w; m ~ -1/w), at 80 digits; real w: the root at w + i 1e-60 |w| (100 digits).
    Checked against quadrature of the MP density at a few points.
ridgeless.json
    L_train, L_test, L_gen at tau = inf, tanh, isotropic sigma_x^2 = 1 (derivation below).
n_star.json
    psi_n* = argmin_{psi_n} d log L_gen(inf)/d log psi_n (derivatives by mpmath.diff at 60 digits on
    the implicit solution), and the value rfdiff's documented grid + parabola algorithm returns when fed
    the exact L_gen(inf) (its discretisation bias, see ``n_star_algorithm``).

Ridge-less losses (derivation, docs/theory.md "Closed-form dynamics", §2)
----------------------------------------------------------------------------------
L_train(tau) = 1 - (1/d) Tr[V V^T U^{-1} (I - e^{-4 Delta U tau/psi_p})] -> 1 - (1/d) Tr[V V^T U^{-1}] as
tau -> inf (U >= s_t^2 I > 0). With the Gaussian equivalents V = V~ = c W/sqrt(d), c^2 = mu_1^2 Delta/Gamma^2,
V V^T = c^2 K, K = W W^T/d, and (1/d) Tr[K U^{-1}] = psi_p (1/p) Tr[W^T U^{-1} W]/d = psi_p r(0, 0) with
r(z, zeta) = (1/p) Tr(W^T (U - z - zeta K)^{-1} W)/d (the s of Theorem 3.1):

    L_train(inf) = 1 - c^2 psi_p r.

L_test(tau) = 1 + (1/d) Tr[U^{-1}(E - I) U~ (E - I) U^{-1} V V^T] + (2/d) Tr[V^T U^{-1}(E - I) V~], E -> 0:
the last term is -2 c^2 psi_p r; in the first, U~ = mu_1^2 K + mu_*^2 I (sigma_x^2 = 1, Gamma = 1) and
(1/d) Tr[U^{-1} K U^{-1} K] = d/dzeta (1/d) Tr[K (U - zeta K)^{-1}] = psi_p d_zeta r,
(1/d) Tr[U^{-2} K] = d/dz (1/d) Tr[K (U - z)^{-1}] = psi_p d_z r, so

    L_test(inf) = 1 - 2 c^2 psi_p r + c^2 psi_p (mu_1^2 d_zeta r + mu_*^2 d_z r),
    L_gen(inf) = c^2 psi_p (mu_1^2 d_zeta r + mu_*^2 d_z r - r),

all at z = 0, zeta = 0. U - zeta K is the Gaussian-equivalent U with b_t^2 replaced by b_t^2 - zeta, so
d_zeta r = -dr/d(b_t^2) from Theorem 3.1; both derivatives come from implicit differentiation of the
system at its solution (exact, no finite differences). ``selfcheck`` verifies the three traces and the
two losses against Gaussian-equivalent matrices at d = 200 (several seeds, tolerance from the standard
error of the seed mean plus the O(1/d) bias).
"""

from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path

import mpmath
from mpmath import mp, mpc, mpf

HERE = Path(__file__).resolve().parent
DPS = 60
SIG = 34  # significant digits written for high-precision values
COMMAND = "python tests/tables/make_tables.py"


def s(x, sig: int = SIG) -> str:
    """A real mpf as a decimal string with ``sig`` significant digits."""
    return mpmath.nstr(mpf(x), sig, min_fixed=-5, max_fixed=5, strip_zeros=False)


def write(name: str, header: dict, rows: list) -> None:
    header = {"generated_by": COMMAND, "script_dps": DPS, **header}
    text = json.dumps({"header": header, "rows": rows}, separators=(",", ":"))
    # one row per line: diffable and still compact
    text = text.replace('"rows":[[', '"rows":[\n[').replace("],[", "],\n[")
    (HERE / name).write_text(text + "\n")
    print(f"wrote {name}: {len(rows)} rows", flush=True)


# ====================================================================== constants (table a)

# Activations: mp function, distance of the nearest singularity from the real axis (inf: entire),
# log of the growth bound |sigma(x + i y)| <= exp(G(y)) (entire ones), closed forms (or None)

def _sincos_c(x):
    return mpmath.sin(x) + mpmath.cos(x) - mpmath.exp(mpf(-0.5))


ACTS = {
    "tanh": (mpmath.tanh, mpmath.pi / 2, None),
    "erf": (mpmath.erf, mpmath.inf, lambda y: y * y),
    "sin": (mpmath.sin, mpmath.inf, lambda y: abs(y)),
    "sincos_c": (_sincos_c, mpmath.inf, lambda y: abs(y) + 1),
}


def _trap_step(gamma, pole, growth, digits):
    """Trapezoid step h for int f(gamma x + c) e^{-x^2/2} dx with error <= 10^-digits.

    For f analytic in |Im x| < a with |f| <= M(a) there, the trapezoid error on R is
    ~ 2 M(a) e^{a^2/2} e^{-2 pi a/h}; minimised over a (a <= 0.9 of the singularity distance
    pole/gamma, growth(gamma a) = log M for entire f).
    """
    target = digits * math.log(10.0)
    g = float(gamma)
    best = 0.0
    a_max = 60.0 if pole == mpmath.inf else min(60.0, 0.9 * float(pole) / max(g, 1e-300))
    for k in range(1, 400):
        a = a_max * k / 400
        # the integrands are squares (sigma^2, (m - a alpha u)^2): twice the log of the bound
        logm = 2 * (math.log(1.0 / math.cos(0.9 * math.pi / 2)) if growth is None else float(growth(g * a)))
        # need a^2/2 + logm + log 2 - 2 pi a/h <= -target
        slack = target + a * a / 2 + logm + math.log(2.0)
        if slack > 0:
            best = max(best, 2 * math.pi * a / slack)
    return min(best, 0.5)


def _nodes(h, digits):
    """Trapezoid nodes x_j = j h, |x_j| <= L, and weights h phi(x_j) (phi the N(0,1) density)."""
    L = math.sqrt(2 * (digits * math.log(10.0) + 10))
    n = int(L / h) + 1
    c = 1 / mpmath.sqrt(2 * mpmath.pi)
    xs = [mpf(j) * h for j in range(-n, n + 1)]
    ws = [h * c * mpmath.exp(-x * x / 2) for x in xs]
    return xs, ws


def constants_quadrature(act: str, t, sigma_x2, digits: int = 48, coarse: float = 1.0):
    """The seven constants by trapezoid quadrature at working precision DPS (see module doc)."""
    sig, pole, growth = ACTS[act]
    t, sigma_x2 = mpf(t), mpf(sigma_x2)
    alpha = mpmath.exp(-t) * mpmath.sqrt(sigma_x2)
    delta = -mpmath.expm1(-2 * t)
    beta = mpmath.sqrt(delta)
    gamma = mpmath.sqrt(alpha**2 + delta)
    # 1-D integrals in z
    hz = mpf(_trap_step(gamma, pole, growth, digits)) * coarse
    zs, wz = _nodes(hz, digits)
    vals = [sig(gamma * z) for z in zs]
    mu1 = mpmath.fsum(w * f * z for w, f, z in zip(wz, vals, zs))
    norm2 = mpmath.fsum(w * f * f for w, f in zip(wz, vals))
    mustar2 = mpmath.fsum(w * (f - mu1 * z) ** 2 for w, f, z in zip(wz, vals, zs))
    a = mu1 / gamma
    b = beta * mu1 / gamma
    # 2-D: inner over v (coefficient beta), outer over u (coefficient alpha)
    hu = mpf(_trap_step(alpha, pole, growth, digits)) * coarse
    hv = mpf(_trap_step(beta, pole, growth, digits)) * coarse
    us, wu = _nodes(hu, digits)
    vs, wv = _nodes(hv, digits)
    m_u, var_part = [], []
    if act == "tanh":  # tanh(x + y) from e^{2x} e^{2y}: one product and one division per node
        eu = [mpmath.exp(2 * alpha * u) for u in us]
        ev = [mpmath.exp(2 * beta * v) for v in vs]
    for iu, u in enumerate(us):
        if act == "tanh":
            row = [1 - 2 / (eu[iu] * e + 1) for e in ev]
        else:
            row = [sig(alpha * u + beta * v) for v in vs]
        m = mpmath.fdot(wv, row)
        m_u.append(m)
        # E_v[(sigma - m - b v)^2] at this u: the independent s_t^2 check
        var_part.append(mpmath.fsum(w * (f - m - b * v) ** 2 for w, f, v in zip(wv, row, vs)))
    a_alpha = a * alpha
    v2 = mpmath.fsum(w * (m - a_alpha * u) ** 2 for w, m, u in zip(wu, m_u, us))
    s2_direct = mpmath.fdot(wu, var_part)
    s2 = mustar2 - v2
    return {
        "a": a, "b": b, "v2": v2, "s2": s2, "mu1": mu1, "mustar2": mustar2, "norm2": norm2,
        "_s2_direct": s2_direct, "_a_grid": mpmath.fdot(wu, [u * m for u, m in zip(us, m_u)]) / alpha,
        "_nodes": (len(zs), len(us), len(vs)),
    }


def constants_closed_form(act: str, t, sigma_x2):
    """Closed forms (erf, sin, sincos_c) from Gaussian integrals of exponentials; None for tanh.

    With X, Y ~ N(0, Gamma^2) of covariance alpha^2 = E[X Y] (X = g(u, v), Y = g(u, w)):
    erf: E erf(X) erf(Y) = (2/pi) asin(2 alpha^2/(1 + 2 Gamma^2)),
    E erf'(Gamma z) = 2/sqrt(pi (1 + 2 Gamma^2));
    sin: E sin X sin Y = e^{-Gamma^2} sinh(alpha^2), E cos(Gamma z) = e^{-Gamma^2/2};
    sincos_c (Gamma = 1): E[(sin + cos)(X) (sin + cos)(Y)] = e^{-Gamma^2 + alpha^2},
    E (sin + cos)(Gamma z) = e^{-1/2}.
    v^2 = cross - a^2 alpha^2 is evaluated at 3 DPS digits (its cancellation is then harmless).
    """
    with mpmath.workdps(3 * DPS):
        t, sigma_x2 = mpf(t), mpf(sigma_x2)
        al2 = mpmath.exp(-2 * t) * sigma_x2
        delta = -mpmath.expm1(-2 * t)
        g2 = al2 + delta
        gamma = mpmath.sqrt(g2)
        if act == "erf":
            mu1 = gamma * 2 / mpmath.sqrt(mpmath.pi * (1 + 2 * g2))
            norm2 = 2 / mpmath.pi * mpmath.asin(2 * g2 / (1 + 2 * g2))
            cross = 2 / mpmath.pi * mpmath.asin(2 * al2 / (1 + 2 * g2))
        elif act == "sin":
            mu1 = gamma * mpmath.exp(-g2 / 2)
            norm2 = -mpmath.expm1(-2 * g2) / 2
            cross = mpmath.exp(-g2) * mpmath.sinh(al2)
        elif act == "sincos_c":
            if sigma_x2 != 1:
                return None
            c = mpmath.exp(mpf(-0.5))
            mu1 = gamma * mpmath.exp(-g2 / 2)
            # E(sin + cos)^2(Gz) = 1 + E sin(2 G z) = 1; minus 2 c E(sin + cos) + c^2
            norm2 = 1 - 2 * c * mpmath.exp(-g2 / 2) + c * c
            cross = mpmath.exp(-g2 + al2) - 2 * c * mpmath.exp(-g2 / 2) + c * c
        else:
            return None
        a = mu1 / gamma
        b = mpmath.sqrt(delta) * mu1 / gamma
        v2 = cross - a * a * al2
        mustar2 = norm2 - mu1 * mu1
        out = {"a": a, "b": b, "v2": v2, "s2": mustar2 - v2, "mu1": mu1, "mustar2": mustar2, "norm2": norm2}
    return {k: +v for k, v in out.items()}


CONST_T = [float(x) for x in mpmath.linspace(-4, 1, 15)]  # log10 t
CONST_T = [float(mpmath.mpf(10) ** e) for e in CONST_T]
CONST_CASES = [("tanh", 1.0), ("erf", 1.0), ("sin", 1.0), ("sincos_c", 1.0),
               ("tanh", 2.0), ("erf", 2.0), ("sin", 2.0)]
CONST_COLS = ["a", "b", "v2", "s2", "mu1", "mustar2", "norm2"]


def relerr(x, y):
    return abs(x - y) / abs(y) if y != 0 else abs(x - y)


QUAD_VALIDATION_T = [1e-4, 0.1, 10.0]


def make_constants():
    """tanh by quadrature (step-h vs step-0.8h check); erf, sin, sincos_c by their closed forms, and
    the same quadrature code checked against those closed forms at t in QUAD_VALIDATION_T."""
    mp.dps = DPS
    t0 = time.time()
    rows = []
    worst = {"coarse": mpf(0), "closed": mpf(0), "s2_direct": mpf(0), "a_grid": mpf(0)}

    def quad_checked(act, t, sx2):
        crude = constants_quadrature(act, t, sx2)
        fine = constants_quadrature(act, t, sx2, coarse=0.8)
        # exponential convergence (error ~ e^{-c/h} or e^{-c/h^2}): the 0.8x finer rule's error is
        # far below the difference to the standard rule, which must be < 1e-40 relative
        for k in CONST_COLS:
            e = relerr(crude[k], fine[k])
            worst["coarse"] = max(worst["coarse"], e)
            assert e < mpf("1e-40"), (act, sx2, t, k, e)
        e = relerr(fine["_s2_direct"], fine["s2"])
        worst["s2_direct"] = max(worst["s2_direct"], e)
        assert e < mpf("1e-36"), (act, sx2, t, "s2 direct", e)
        e = relerr(fine["_a_grid"], fine["a"])
        worst["a_grid"] = max(worst["a_grid"], e)
        assert e < mpf("1e-40"), (act, sx2, t, "a grid", e)
        return fine

    for act, sx2 in CONST_CASES:
        for t in CONST_T:
            if act == "tanh":
                vals, how = quad_checked(act, t, sx2), "quadrature"
            else:
                vals, how = constants_closed_form(act, t, sx2), "closed form"
                if t in QUAD_VALIDATION_T:
                    fine = quad_checked(act, t, sx2)
                    for k in CONST_COLS:
                        e = relerr(fine[k], vals[k])
                        worst["closed"] = max(worst["closed"], e)
                        assert e < mpf("1e-40"), (act, sx2, t, k, e)
            rows.append([act, sx2, t] + [s(vals[k]) for k in CONST_COLS])
            print(f"  {act} sx2={sx2} t={t:.3g} ({how}) v2={mpmath.nstr(vals['v2'], 8)} "
                  f"{time.time() - t0:.0f} s", flush=True)
    header = {
        "table": "Gaussian-equivalence constants (docs/theory.md)",
        "columns": ["activation", "sigma_x2", "t", *CONST_COLS],
        "activations": {"tanh": "tanh(x)", "erf": "erf(x)", "sin": "sin(x)",
                        "sincos_c": "sin(x) + cos(x) - exp(-1/2) (centred for Gamma_t = 1, sigma_x2 = 1)"},
        "dps": DPS,
        "method": "tanh: trapezoid quadrature (make_tables.constants_quadrature); erf, sin, sincos_c: closed "
                  "forms at 180 digits (constants_closed_form)",
        "digits": "values to >= 40 significant digits relative to each quantity (written with 34)",
        "checks": {"max rel. change of tanh quadrature, step 0.8 h (stored) vs step h":
                   mpmath.nstr(worst["coarse"], 3),
                   f"max rel. diff quadrature vs closed forms (erf, sin, sincos_c, t = {QUAD_VALIDATION_T})":
                   mpmath.nstr(worst["closed"], 3),
                   "max rel. diff s2 = mustar2 - v2 vs E(sigma - m - b v)^2":
                   mpmath.nstr(worst["s2_direct"], 3),
                   "max rel. diff a from Stein vs grid E[u m(u)]/alpha": mpmath.nstr(worst["a_grid"], 3)},
        "seconds": round(time.time() - t0, 1),
        "command": f"{COMMAND} constants",
    }
    write("constants.json", header, rows)


# ====================================================================== Theorem 3.1 solver

class System:
    """Theorem 3.1 with coefficients taken exactly from float64 numbers.

    Unknowns (q, r); with s_hat = b2 psi_p + 1/q, D = 1 + alpha r + beta q (alpha = a2e psi_p/psi_n,
    beta = v2 psi_p/psi_n), r_hat = c/D (c = psi_p a2e), T_k = 1/(s_hat + lam_k r_hat):
    F1 = r - sum pi_k lam_k T_k,  F2 = psi_p (s2 - z) + psi_p v2/D + (1 - psi_p)/q - s/q^2, s = sum pi_k T_k.
    """

    def __init__(self, psi_p, psi_n, a2e, b2, v2, s2, lam=(1.0,), pi=(1.0,), kind="mp"):
        num, sqrt = (mpf, mpmath.sqrt) if kind == "mp" else (float, math.sqrt)
        self.kind = kind
        self.zero = mpc(0) if kind == "mp" else 0j
        self.pp, self.pn = num(psi_p), num(psi_n)
        self.a2e, self.b2, self.v2, self.s2 = num(a2e), num(b2), num(v2), num(s2)
        self.lam = [num(x) for x in lam]
        self.pi = [num(x) for x in pi]
        self.alpha = self.a2e * self.pp / self.pn
        self.beta = self.v2 * self.pp / self.pn
        self.c = self.pp * self.a2e
        self.m1 = sum(p * x for p, x in zip(self.pi, self.lam))
        self.mean_ev = self.s2 + self.v2 + self.b2 + self.a2e * self.m1
        sp = sqrt(self.pp)
        lmax = max(self.lam)
        g = (sqrt(self.a2e * lmax) * (1 + sp) * (1 + 1 / sqrt(self.pn))
             + sqrt(self.v2) * (1 + sqrt(self.pp / self.pn)))
        self.ub = self.s2 + g * g + self.b2 * (1 + sp) ** 2  # operator-norm bound of the spectrum
        # the continuation path runs in float64 (a twin system); the end point is polished in mpmath
        self.path = None if kind != "mp" else System(float(psi_p), float(psi_n), float(a2e), float(b2),
                                                     float(v2), float(s2), [float(x) for x in lam],
                                                     [float(x) for x in pi], kind="float")

    def evaluate(self, q, r, z, b2=None):
        """F1, F2, the Jacobian d(F1, F2)/d(q, r), s, and the pieces for derivatives."""
        b2 = self.b2 if b2 is None else b2
        pp = self.pp
        D = 1 + self.alpha * r + self.beta * q
        shat = b2 * pp + 1 / q
        rhat = self.c / D
        ssum = rsum = dsq = dsr = drq = drr = dsb = drb = self.zero
        for lam, pi in zip(self.lam, self.pi):
            T = 1 / (shat + lam * rhat)
            T2 = T * T
            dtq = T2 * (1 / (q * q) + lam * self.c * self.beta / (D * D))
            dtr = T2 * lam * self.c * self.alpha / (D * D)
            dtb = -T2 * pp
            ssum += pi * T
            rsum += pi * lam * T
            dsq += pi * dtq
            dsr += pi * dtr
            drq += pi * lam * dtq
            drr += pi * lam * dtr
            dsb += pi * dtb
            drb += pi * lam * dtb
        F1 = r - rsum
        F2 = pp * (self.s2 - z) + pp * self.v2 / D + (1 - pp) / q - ssum / (q * q)
        J = [[-drq, 1 - drr],
             [-pp * self.v2 * self.beta / (D * D) - (1 - pp) / (q * q) - dsq / (q * q) + 2 * ssum / q**3,
              -pp * self.v2 * self.alpha / (D * D) - dsr / (q * q)]]
        extra = {"dsq": dsq, "dsr": dsr, "dsb": dsb, "drb": drb}
        return F1, F2, J, ssum, extra

    def newton(self, q, r, z, maxit=40, tol=None):
        """Newton on (F1, F2); returns (q, r, s, iterations) or None if no convergence."""
        if tol is None:
            tol = mpf(10) ** (-(mp.dps - 8)) if self.kind == "mp" else 1e-13
        tiny = mpf(10) ** (-mp.dps) if self.kind == "mp" else 1e-300
        for it in range(maxit):
            F1, F2, J, ssum, _ = self.evaluate(q, r, z)
            det = J[0][0] * J[1][1] - J[0][1] * J[1][0]
            if det == 0:
                return None
            dq = (-F1 * J[1][1] + J[0][1] * F2) / det
            dr = (-J[0][0] * F2 + F1 * J[1][0]) / det
            q, r = q + dq, r + dr
            if not (mpmath.isfinite(q) and mpmath.isfinite(r)):
                return None
            if abs(dq) <= tol * abs(q) and abs(dr) <= tol * max(abs(r), tiny):
                F1, F2, J, ssum, _ = self.evaluate(q, r, z)
                return q, r, ssum, it + 1
        return None

    def herglotz(self, q, r, s, z):
        """sign Im q = sign Im r = sign Im s = sign Im(z q) = sign Im z (to 1e-(dps-10) relative)."""
        sg = 1 if z.imag >= 0 else -1
        tol = mpf(10) ** (-(mp.dps - 10)) if self.kind == "mp" else 1e-12
        return all(sg * x.imag >= -tol * abs(x) for x in (q, r, s, z * q))

    def solve(self, z, y_final_real=None):
        """q, r, s at z (Im z >= 0) on the physical branch, by continuation from x + iY.

        The path runs in float64 on the twin system (Newton to 1e-13, Herglotz checked at every accepted
        step, step ratio adapted); its end point is then polished by Newton at the full working
        precision, which must stay within 1e-8 of it and on the Herglotz side. Real z (Im z = 0):
        continuation to Im z = y_final_real (default 1e-40 ub), then Newton on the axis itself;
        returns the axis value and the 1e-40 value for the caller's check.
        """
        dps = mp.dps
        z = mpc(z)
        x, y_t = mpmath.re(z), mpmath.im(z)
        assert y_t >= 0
        real = y_t == 0
        if real:
            y_t = mpf("1e-40") * self.ub if y_final_real is None else y_final_real
        zt = mpc(x, y_t)
        sol = None
        for kind in ("float", "mp"):
            # float64 cannot hold some extreme systems (psi_p = 1e-3: the terms of F2 cancel to
            # ~1e-13): then the same path at 30 digits
            try:
                if kind == "float":
                    q, r = self._path(self.path, float(x), float(y_t), 0.3, 1e-4, 0.9999)
                else:
                    with mpmath.workdps(30):
                        q, r = self._path(self, x, y_t, mpf("0.3"), mpf("1e-4"), mpf("0.9999"))
            except (RuntimeError, ZeroDivisionError):
                continue
            q, r = mpc(q), mpc(r)
            sol = self.newton(q, r, zt)
            if sol is not None and self.herglotz(sol[0], sol[1], sol[2], zt) \
                    and abs(sol[0] - q) <= 1e-8 * abs(q):
                break
            sol = None
        assert mp.dps == dps
        if sol is None:
            raise RuntimeError(f"no solution at z = {zt}")
        q, r, s_, _ = sol
        if not real:
            return q, r, s_, None
        near = (q, r, s_)
        sol = self.newton(q, r, mpc(x, 0))
        if sol is None:
            raise RuntimeError(f"axis Newton failed at x = {x}")
        q0, r0, s0, _ = sol
        assert self.herglotz(q0, r0, s0, mpc(x, 0))
        return q0, r0, s0, near

    @staticmethod
    def _path(ps, x, y_t, ratio, min_ratio, max_ratio):
        """Continuation from x + iY (Y = 4 (|x| + ub)) down to x + i y_t on the system ``ps`` (float64
        or mpmath), each step accepted only if Newton converges in <= 8 iterations on the Herglotz side
        and moves q and r by less than their size; the ratio y_new/y adapts."""
        Y = 4 * (abs(x) + ps.ub)
        y = max(Y, y_t)
        cplx = complex if ps.kind == "float" else mpc
        zz = cplx(x, y)
        q = 1 / (ps.mean_ev - zz)
        r = ps.m1 * q
        sol = ps.newton(q, r, zz)
        if sol is None or not ps.herglotz(sol[0], sol[1], sol[2], zz):
            raise RuntimeError("start failed")
        q, r, _s, _ = sol
        steps = 0
        while y > y_t:
            y_new = max(y * ratio, y_t)
            zz = cplx(x, y_new)
            sol = ps.newton(q, r, zz, maxit=8)
            if sol is not None and ps.herglotz(sol[0], sol[1], sol[2], zz) \
                    and abs(sol[0] - q) <= abs(q) and abs(sol[1] - r) <= abs(r):
                q, r, _s, it = sol
                y = y_new
                if it <= 4:
                    ratio = max(ratio * ratio, min_ratio)
            else:
                ratio = ratio ** 0.5
                if ratio > max_ratio:
                    raise RuntimeError(f"continuation stalled at z = {zz}")
            steps += 1
            if steps > 5000:
                raise RuntimeError("too many continuation steps")
        return q, r

    def derivatives(self, q, r, z):
        """(s, ds/dz, ds/db2) at a solution, by implicit differentiation."""
        _f1, _f2, J, ssum, ex = self.evaluate(q, r, z)
        det = J[0][0] * J[1][1] - J[0][1] * J[1][0]

        def lin(f1, f2):  # J^{-1} (f1, f2)
            return ((f1 * J[1][1] - J[0][1] * f2) / det, (J[0][0] * f2 - f1 * J[1][0]) / det)

        # d/dz: dF1/dz = 0, dF2/dz = -psi_p
        dqz, drz = lin(0, self.pp)
        dsz = ex["dsq"] * dqz + ex["dsr"] * drz
        # d/db2: dF1/db2 = -drb, dF2/db2 = -dsb/q^2
        dqb, drb_ = lin(ex["drb"], ex["dsb"] / (q * q))
        dsb = ex["dsq"] * dqb + ex["dsr"] * drb_ + ex["dsb"]
        return ssum, dsz, dsb



def tanh_coefficients(t):
    """(a2e, b2, v2, s2) of tanh at sigma_x^2 = 1, rounded to float64 (the coefficients of the system)."""
    with mpmath.workdps(DPS):
        c = constants_quadrature("tanh", t, 1.0)
        e2 = mpmath.exp(-2 * mpf(t))
        return (float(c["a"] ** 2 * e2), float(c["b"] ** 2), float(c["v2"]), float(c["s2"])), c


def condition(sysm, q, r, z):
    """Relative sensitivity of (q, r, s) to relative perturbations of the terms of F1, F2.

    A solver whose residual is eps relative to the sum of |terms| of each equation returns the exact
    solution of a system perturbed by that much: dx = J^{-1} dF, so |dq|/|q| <= eps kappa_q etc.
    """
    _f1, _f2, J, ssum, ex = sysm.evaluate(q, r, z)
    pp = sysm.pp
    D = 1 + sysm.alpha * r + sysm.beta * q
    shat = sysm.b2 * pp + 1 / q
    rhat = sysm.c / D
    sabs = mpmath.fsum(p * abs(1 / (shat + lam * rhat)) for lam, p in zip(sysm.lam, sysm.pi))
    rabs = mpmath.fsum(p * lam * abs(1 / (shat + lam * rhat)) for lam, p in zip(sysm.lam, sysm.pi))
    sc1 = abs(r) + rabs
    sc2 = pp * abs(sysm.s2 - z) + pp * sysm.v2 / abs(D) + abs(1 - pp) / abs(q) + sabs / abs(q) ** 2
    det = J[0][0] * J[1][1] - J[0][1] * J[1][0]
    inv = [[J[1][1] / det, -J[0][1] / det], [-J[1][0] / det, J[0][0] / det]]
    dq = abs(inv[0][0]) * sc1 + abs(inv[0][1]) * sc2
    dr = abs(inv[1][0]) * sc1 + abs(inv[1][1]) * sc2
    ds = abs(ex["dsq"]) * dq + abs(ex["dsr"]) * dr + sabs  # s also carries its own sum's rounding
    return max(dq / abs(q), dr / abs(r) if r != 0 else 0, ds / abs(ssum))


PSI_GRID = [float(10.0 ** k) for k in (-3, -3 + 4 / 3, -3 + 8 / 3, 1, 1 + 4 / 3, 1 + 8 / 3, 5)]
PSI_EXTRA = [(64.0, 64.0 * (1 - 1e-6)), (64.0, 64.0 * (1 + 1e-6)), (64.0, 62.9999999), (64.0, 63.0000001),
             (16.0, 14.9), (16.0, 14.998), (65536.0, 65535.0), (65536.0, 65536.0 * (1 - 1e-6)),
             (65536.0, 1024.0), (1e5, 1e5 - 1.0)]
RES_T = [1e-4, 0.01, 0.1, 1.0, 3.0]
RES_T_ANISO = [0.01, 1.0]
DATA = {"iso": ((1.0,), (1.0,)), "aniso": ((0.5, 1.5), (0.5, 0.5))}


def resolvent_points(sysm):
    """Real and complex z per cell (see module doc): gaps below, above and at -1, the rho_1-like
    centre x4 = s2 + v2 (1 + psi_p/psi_n) and the mean eigenvalue (inside a component or in a gap,
    the row says which), off the axis at moderate and small Im z."""
    s2, v2, ub, mev = sysm.s2, sysm.v2, sysm.ub, sysm.mean_ev
    x4 = s2 + v2 * (1 + sysm.pp / sysm.pn)
    real = [mpf(-1), s2 / 2, x4, mev, 2 * ub]
    cplx = [x4 * mpc(1, 0.5), x4 * mpc(1, 1e-8), mev * mpc(1, 1e-3), ub * mpc(0.5, 0.25)]
    return [mpc(float(mpmath.re(z)), float(mpmath.im(z))) for z in real + cplx]


def compact_resolvent_row(row):
    """30 significant digits; the imaginary parts of real boundary values in gaps (exactly 0 there,
    ~1e-150 of roundoff) written as "0"; s = r for isotropic data, written as null."""
    with mpmath.workdps(50):
        vals = [mpf(x) for x in row[11:17]]
        if row[10] == "gap":
            vals[1] = vals[3] = vals[5] = mpf(0)
        out = [s(v, 30) if v != 0 else "0" for v in vals]
    if row[0] == "iso":
        out[4] = out[5] = None
    # the coefficients (a2e, b2, v2, s2) depend on t only: they go to the header (coefficients_by_t)
    return row[:4] + row[8:11] + out + [float(f"{row[17]:.3g}")]


def make_resolvent(ts=RES_T, out="resolvent.json"):
    mp.dps = DPS
    t0 = time.time()
    rows = []
    worst_axis = mpf(0)
    cells = [(a, b) for a in PSI_GRID for b in PSI_GRID] + PSI_EXTRA
    for t in ts:
        coef, _ = tanh_coefficients(t)
        for data, (lam, pi) in DATA.items():
            if data == "aniso" and t not in RES_T_ANISO:
                continue
            for pp, pn in cells:
                sysm = System(pp, pn, *coef, lam=lam, pi=pi)
                for z in resolvent_points(sysm):
                    q, r, s_, near = sysm.solve(z)
                    if near is not None:
                        e = max(relerr(near[0], q), relerr(near[1], r), relerr(near[2], s_))
                        worst_axis = max(worst_axis, e)
                        assert e < mpf("1e-25"), (t, data, pp, pn, z, e)
                    kappa = condition(sysm, q, r, z)
                    where = "offaxis" if mpmath.im(z) != 0 else (
                        "support" if mpmath.im(q) > mpf(10) ** -40 * abs(q) else "gap")
                    rows.append(compact_resolvent_row(
                        [data, t, pp, pn, *coef, float(mpmath.re(z)), float(mpmath.im(z)), where,
                         s(mpmath.re(q)), s(mpmath.im(q)), s(mpmath.re(r)), s(mpmath.im(r)),
                         s(mpmath.re(s_)), s(mpmath.im(s_)), float(kappa)]))
            print(f"  t={t} {data}: {len(rows)} rows, {time.time() - t0:.0f} s", flush=True)
    header = {
        "table": "Theorem 3.1 (docs/theory.md): q, r, s at z; tanh coefficients at sigma_x2 = 1",
        "columns": ["data", "t", "psi_p", "psi_n", "z_re", "z_im", "where",
                    "q_re", "q_im", "r_re", "r_im", "s_re", "s_im", "kappa"],
        "coefficients_by_t": {repr(t): list(tanh_coefficients(t)[0]) for t in ts},
        "data": {"iso": "rho_Sigma = delta_1", "aniso": "rho_Sigma = 0.5 delta_0.5 + 0.5 delta_1.5"},
        "dps": DPS,
        "digits": ">= 40 (Newton to 1e-52 relative at 60 digits); real z: exact axis solution, agreeing "
                  f"with Im z = 1e-40 ub to {mpmath.nstr(worst_axis, 3)}",
        "coefficients": "coefficients_by_t[t] = [a2e, b2, v2, s2]: a_t^2 e^{-2t}, b_t^2, v_t^2, s_t^2 "
                        "of tanh "
                        "(sigma_x^2 = 1) rounded to float64; "
                        "the reference solves the system with exactly these numbers",
        "kappa": "relative condition number of (q, r, s) w.r.t. relative perturbations of the terms of the "
                 "two equations (see condition()): a solver with residual eps is good to ~ eps * kappa",
        "where": "offaxis, or for real z: support (Im q(x + i0) > 0) or gap",
        "storage": "30 significant digits; Im of gap rows (exactly 0) written as 0; "
                   "s = r for iso rows: null; "
                   "kappa to 3 digits",
        "seconds": round(time.time() - t0, 1),
        "command": f"{COMMAND} resolvent",
    }
    write(out, header, rows)



# ====================================================================== Marchenko–Pastur (table c)


def mp_roots(w, y):
    """Both roots of y w m^2 + (w - 1 + y) m + 1 = 0."""
    bq = w - 1 + y
    disc = mpmath.sqrt(bq * bq - 4 * y * w)
    return (-bq + disc) / (2 * y * w), (-bq - disc) / (2 * y * w)


def mp_stieltjes_ref(w, y):
    """m(w) on the physical branch (module doc): Herglotz selection, real w as the boundary value."""
    w, y = mpc(w), mpf(y)
    if mpmath.im(w) < 0:
        return mpmath.conj(mp_stieltjes_ref(mpmath.conj(w), y))
    if mpmath.im(w) == 0:
        eps = mpf(10) ** -60 * abs(w)
        above = mp_stieltjes_ref(w + mpc(0, eps), y)
        m1, m2 = mp_roots(w, y)
        m = m1 if abs(m1 - above) < abs(m2 - above) else m2
        assert abs(m - above) < mpf(10) ** -25 * abs(m), (w, y)
        if mpmath.im(m) < 0:  # roundoff of a real root
            assert abs(mpmath.im(m)) < mpf(10) ** -(mp.dps - 10) * abs(m)
            m = mpc(mpmath.re(m), 0)
        return m
    m1, m2 = mp_roots(w, y)
    good = [m for m in (m1, m2) if mpmath.im(m) > 0 and mpmath.im(w * m) >= 0]
    assert len(good) == 1, (w, y, m1, m2)
    return good[0]


def mp_stieltjes_quad(w, y):
    """int dmu(k)/(k - w) by quadrature of the MP density (check of the branch), w off [a, b]."""
    y = mpf(y)
    a, b = (1 - mpmath.sqrt(y)) ** 2, (1 + mpmath.sqrt(y)) ** 2
    atom = max(0, 1 - 1 / y)

    def dens(k):  # continuous part, total mass min(1, 1/y)
        return mpmath.sqrt((b - k) * (k - a)) / (2 * mpmath.pi * y * k)

    # k = a + (b - a)(1 - cos th)/2 removes the square-root edges
    half = (b - a) / 2
    def f(th):
        k = a + half * (1 - mpmath.cos(th))
        return dens(k) * half * mpmath.sin(th) / (k - w)

    val = mpmath.quad(f, [0, mpmath.pi / 2, mpmath.pi])
    return val + (atom / (0 - w) if atom else 0)


MP_Y = [0.1, 0.5, 0.999, 1.0, 2.0, 10.0, 1000.0, 65536.0, 1e5]
MP_ABS = [float(10.0 ** k) for k in range(-6, 7)]
MP_ANGLE = [0.0, 1e-6, math.pi / 4, math.pi / 2, 3 * math.pi / 4, math.pi - 1e-6, math.pi,
            -1e-6, -math.pi / 2, -(math.pi - 1e-6)]


def make_mp():
    t0 = time.time()
    rows = []
    with mpmath.workdps(100):
        for y in MP_Y:
            for rad in MP_ABS:
                for ang in MP_ANGLE:
                    wc = rad * complex(math.cos(ang), math.sin(ang))
                    w = mpc(wc.real, 0.0 if ang in (0.0, math.pi) else wc.imag)
                    m = mp_stieltjes_ref(w, y)
                    F_m = 2 * y * w * m + w - 1 + y
                    kappa = (abs(w * (y * m * m + m) / F_m) + abs(y * (w * m * m + m) / F_m)) / abs(m)
                    rows.append([y, float(mpmath.re(w)), float(mpmath.im(w)), s(mpmath.re(m)),
                                 s(mpmath.im(m)),
                                 float(kappa)])
        # branch check by quadrature of the density at points off the support
        worst = mpf(0)
        for y in (0.5, 2.0, 65536.0):
            for w in (mpc(-1e-3, 0), mpc(0.3, 0.2), mpc(-5, -1), mpc(1e3, 1e-3), mpc(1e-6, 1e-6)):
                with mpmath.workdps(40):
                    e = relerr(mp_stieltjes_quad(w, y), mp_stieltjes_ref(w, y))
                worst = max(worst, e)
                assert e < mpf("1e-30"), (y, w, e)
    header = {
        "table": "Marchenko–Pastur Stieltjes transform m(w) = int dmu(k)/(k - w), ratio y "
                 "(atom 1 - 1/y at 0 if y > 1)",
        "columns": ["y", "w_re", "w_im", "m_re", "m_im", "kappa"],
        "dps": 100,
        "digits": ">= 60 (root of the quadratic at 100 digits); real w: boundary value m(w + i0)",
        "branch": "Herglotz: Im m > 0 and Im(w m) >= 0 for Im w > 0 (exactly one root qualifies), "
                  "m(conj w) = "
                  f"conj m(w); checked against quadrature of the density at 15 points (max rel. diff "
                  f"{mpmath.nstr(worst, 3)})",
        "kappa": "(|w dm/dw| + |y dm/dy|)/|m|: relative condition number w.r.t. relative changes of w and y",
        "seconds": round(time.time() - t0, 1),
        "command": f"{COMMAND} mp",
    }
    write("mp_stieltjes.json", header, rows)



# ====================================================================== ridge-less losses (table d)

_TANH = {}


def tanh_exact(t):
    """tanh constants at sigma_x^2 = 1 (mpf, DPS digits), cached."""
    if t not in _TANH:
        with mpmath.workdps(DPS):
            c = constants_quadrature("tanh", t, 1.0)
            c["delta"] = -mpmath.expm1(-2 * mpf(t))
            c["a2e"] = c["a"] ** 2 * mpmath.exp(-2 * mpf(t))
        _TANH[t] = c
    return _TANH[t]


def ridgeless(psi_p, psi_n, t, start=None):
    """(L_train, L_test, L_gen) at tau = inf (module doc) and the solution (q, r) at z = 0.

    ``start``: a solution (q, r) at nearby parameters to Newton from (z = 0 is in the gap below the
    spectrum, where the physical solution is real and varies smoothly with psi_n); otherwise the
    solution comes from the continuation of System.solve.
    """
    c = tanh_exact(t)
    sysm = System(psi_p, psi_n, c["a2e"], c["b"] ** 2, c["v2"], c["s2"])
    z0 = mpc(0)
    if start is None:
        q, r, _, _ = sysm.solve(z0)
    else:
        sol = sysm.newton(mpc(start[0]), mpc(start[1]), z0)
        assert sol is not None
        q, r = sol[0], sol[1]
    s_, dsz, dsb = sysm.derivatives(q, r, z0)
    s_, dsz, dsb = mpmath.re(s_), mpmath.re(dsz), mpmath.re(dsb)
    c2 = c["mu1"] ** 2 * c["delta"]  # Gamma_t = 1
    pp = sysm.pp
    train = 1 - c2 * pp * s_
    gen = c2 * pp * (c["mu1"] ** 2 * (-dsb) + c["mustar2"] * dsz - s_)
    return train, train + gen, gen, (q, r)


RIDGELESS_CELLS = (
    [(16.0, pn, 0.1) for pn in (14.9, 14.98, 14.998)]
    + [(pp, pn, t) for t in (1e-4, 0.01, 0.1, 1.0)
       for pp, pn in ((64.0, 8.0), (8.0, 2.0), (4.0, 16.0), (64.0, 62.9999999), (1024.0, 1000.0),
                      (65536.0, 1024.0), (65536.0, 65535.0), (65536.0, 65535.99), (65536.0, 65536.0),
                      (65536.0, 70000.0))]
)


def make_ridgeless(check=None):
    mp.dps = DPS
    t0 = time.time()
    rows = []
    for pp, pn, t in RIDGELESS_CELLS:
        train, test, gen, _ = ridgeless(pp, pn, t)
        rows.append([pp, pn, t, s(train), s(test), s(gen)])
        print(f"  {pp} {pn} {t}: L_gen(inf) = {mpmath.nstr(gen, 12)}", flush=True)
    header = {
        "table": "ridge-less (tau = inf) limit losses, tanh, isotropic sigma_x^2 = 1 "
                 "(derivation: make_tables.py)",
        "columns": ["psi_p", "psi_n", "t", "L_train", "L_test", "L_gen"],
        "dps": DPS,
        "digits": ">= 40: Theorem 3.1 at z = 0 by Newton to 1e-52 and exact implicit derivatives; "
                  "the constants "
                  "from the constants-table quadrature at full precision (not rounded to float64)",
        "validated_by_selfcheck": check,
        "seconds": round(time.time() - t0, 1),
        "command": f"{COMMAND} ridgeless",
    }
    write("ridgeless.json", header, rows)


# ====================================================================== n* (table e)


def log_gen_function(psi_p, t):
    """x -> log L_gen(inf)(psi_n = e^x), Newton-continued from the last solution it computed."""
    state = {}

    def g(x):
        with mpmath.workdps(mp.dps + 10):
            start = state.get("sol")
            _, _, gen, sol = ridgeless(psi_p, mpmath.exp(x), t, start=start)
            state["sol"] = sol
            return mpmath.log(gen)

    with mpmath.workdps(DPS):
        ridgeless_start = ridgeless(psi_p, psi_p, t)[3]
    state["sol"] = ridgeless_start
    return g


def np_gradient(y, x):
    """numpy.gradient on a uniform grid: central differences inside, one-sided at the ends."""
    h = x[1] - x[0]
    n = len(y)
    inner = [(y[i + 1] - y[i - 1]) / (2 * h) for i in range(1, n - 1)]
    return [(y[1] - y[0]) / h, *inner, (y[-1] - y[-2]) / h]


def n_star_algorithm(g, psi_p, span=4, points=13):
    """rfdiff.n_star's documented algorithm (docstring of rfdiff.n_star) applied to the exact g.

    Coarse log grid of ``points`` psi_n in [psi_p/span, psi_p span], slope by numpy.gradient, then a
    9-point grid between the neighbours of the coarse minimum, and the vertex of the parabola through
    the slopes at the finer minimum and its neighbours.
    """
    L = mpmath.log(span)
    x = [mpmath.log(psi_p) - L + 2 * L * k / (points - 1) for k in range(points)]
    sl = np_gradient([g(v) for v in x], x)
    k = min(range(points), key=lambda i: sl[i])
    xf = [x[k - 1] + (x[k + 1] - x[k - 1]) * j / 8 for j in range(9)]
    sf = np_gradient([g(v) for v in xf], xf)
    m = min(max(min(range(9), key=lambda i: sf[i]), 1), 7)
    x0, x1 = xf[m - 1], xf[m]
    y0, y1, y2 = sf[m - 1], sf[m], sf[m + 1]
    h = x1 - x0
    c2 = (y0 - 2 * y1 + y2) / (2 * h * h)
    c1 = (y2 - y0) / (2 * h)  # derivative at x1
    xs = x1 - c1 / (2 * c2) if c2 > 0 else x1
    return mpmath.exp(min(max(xs, xf[0]), xf[-1]))


NSTAR_CELLS = [(pp, t) for t in (0.01, 0.1) for pp in (4.0, 64.0, 1024.0, 65536.0)]


def make_nstar():
    mp.dps = 40
    t0 = time.time()
    rows = []
    for pp, t in NSTAR_CELLS:
        g = log_gen_function(pp, t)

        def slope(x, g=g):
            return mpmath.diff(g, x, 1)

        def curv(x, g=g):
            return mpmath.diff(g, x, 2)

        # bracket the minimum of the slope on a fine log grid over [psi_p/4, 4 psi_p]
        xs = [mpmath.log(pp) - mpmath.log(4) + 2 * mpmath.log(4) * k / 24 for k in range(25)]
        sl = [slope(x) for x in xs]
        k = min(range(1, 24), key=lambda i: sl[i])
        x_star = mpmath.findroot(curv, (xs[k - 1], xs[k + 1]), solver="anderson", tol=mpf(10) ** -30)
        assert xs[k - 1] <= x_star <= xs[k + 1]
        third = mpmath.diff(g, x_star, 3)
        assert third > 0  # a minimum of the slope
        n_true = mpmath.exp(x_star)
        n_algo = n_star_algorithm(g, pp)
        gen_star = ridgeless(pp, n_true, t)[2]
        rows.append([pp, t, s(n_true, 30), s(n_algo, 30), s(slope(x_star), 20), s(third, 20),
                     s(gen_star, 20)])
        print(f"  psi_p={pp} t={t}: n* = {mpmath.nstr(n_true, 15)}, algorithm on exact values "
              f"{mpmath.nstr(n_algo, 15)} (rel. bias {mpmath.nstr(n_algo / n_true - 1, 3)})", flush=True)
    header = {
        "table": "psi_n* = argmin_{psi_n} d log L_gen(inf)/d log psi_n (tanh, isotropic sigma_x^2 = 1), "
                 "psi_n searched in [psi_p/4, 4 psi_p]",
        "columns": ["psi_p", "t", "n_star", "n_star_algorithm_exact", "min_slope", "g3_at_n_star",
                    "L_gen_at_n_star"],
        "dps": 40,
        "digits": ">= 30 for n_star: root of d^2 g/dx^2 (g = log L_gen(inf), x = log psi_n) by "
                  "mpmath.findroot "
                  "to 1e-30 with mpmath.diff derivatives (evaluated at 50 digits)",
        "n_star_algorithm_exact": "what rfdiff.n_star's grid + parabola algorithm (span 4, 13 + 9 points) "
                                  "returns when fed exact L_gen(inf): its discretisation bias, independent "
                                  "of float64",
        "g3_at_n_star": "d^3 g/dx^3 at the minimum (> 0): sets how slope errors move the vertex",
        "seconds": round(time.time() - t0, 1),
        "command": f"{COMMAND} nstar",
    }
    write("n_star.json", header, rows)



# ====================================================================== finite-size check of table d


def selfcheck(d=200, seeds=8):
    """Ridge-less traces and losses of Gaussian-equivalent matrices at size d vs the limit formulas.

    U = G G^T/n + b^2 K + s^2 I, G = e^{-t} a W X/sqrt(d) + v Omega, K = W W^T/d, V = V~ = c W/sqrt(d),
    U~ = mu_1^2 K + mu_*^2 I (docs/theory.md): the traces (1/d) Tr[K U^-1], (1/d) Tr[U^-1 K U^-1 K],
    (1/d) Tr[U^-2 K] and the exact finite-size L_train(inf), L_test(inf) of docs/theory.md "Closed-form
    dynamics", against psi_p r, psi_p d_zeta r, psi_p d_z r and the table's formulas. Tolerance:
    4 standard errors of the seed mean plus an O(1/d) bias allowance 3/d (relative).
    """
    import numpy as np

    mp.dps = 30
    out = {}
    for pp, pn, t in ((4.0, 2.0, 0.1), (2.0, 4.0, 0.1), (8.0, 2.0, 0.01)):
        c = tanh_exact(t)
        sysm = System(pp, pn, c["a2e"], c["b"] ** 2, c["v2"], c["s2"])
        q, r, _, _ = sysm.solve(mpc(0))
        s_, dsz, dsb = (mpmath.re(x) for x in sysm.derivatives(q, r, mpc(0)))
        train, test, gen, _ = ridgeless(pp, pn, t)
        theory = [float(pp * s_), float(pp * -dsb), float(pp * dsz), float(train), float(test), float(gen)]
        a, b, v, s2 = (float(x) for x in (c["a"], c["b"], mpmath.sqrt(c["v2"]), c["s2"]))
        mu1, mus2 = float(c["mu1"]), float(c["mustar2"])
        c2 = mu1 ** 2 * float(c["delta"])
        p, n = int(pp * d), int(pn * d)
        vals = []
        for seed in range(seeds):
            rng = np.random.default_rng(np.random.SeedSequence([2025, seed, p, n]))
            W = rng.standard_normal((p, d))
            X = rng.standard_normal((d, n))
            G = math.exp(-t) * a * W @ X / math.sqrt(d) + v * rng.standard_normal((p, n))
            K = W @ W.T / d
            U = G @ G.T / n + b * b * K + s2 * np.eye(p)
            Ui = np.linalg.inv(U)
            UiK = Ui @ K
            t1 = np.trace(UiK) / d
            t2 = np.trace(UiK @ UiK) / d
            t3 = np.trace(Ui @ UiK) / d
            Ut = mu1 ** 2 * K + mus2 * np.eye(p)
            tr_ = 1 - c2 * t1
            te_ = 1 + c2 * np.trace(Ui @ Ut @ UiK) / d - 2 * c2 * t1
            vals.append([t1, t2, t3, tr_, te_, te_ - tr_])
        vals = np.array(vals)
        mean, se = vals.mean(0), vals.std(0, ddof=1) / math.sqrt(seeds)
        z = (mean - np.array(theory)) / se
        ok = np.abs(mean - np.array(theory)) <= 4 * se + 3.0 / d * np.abs(theory)
        out[f"{pp},{pn},{t}"] = {"theory": [round(x, 6) for x in theory], "mean": [round(x, 6) for x in mean],
                                 "se": [float(f"{x:.2g}") for x in se], "z": [round(x, 2) for x in z]}
        print(f"  selfcheck {pp, pn, t}: z = {np.round(z, 2)}", flush=True)
        assert np.all(ok), (pp, pn, t, mean, theory, se)
    return {"d": d, "seeds": seeds, "quantities": ["(1/d)Tr K U^-1", "(1/d)Tr U^-1 K U^-1 K",
                                                    "(1/d)Tr U^-2 K",
                                                    "L_train", "L_test", "L_gen"], "cells": out}


if __name__ == "__main__":  # pragma: no cover
    which = set(sys.argv[1:]) or {"constants", "resolvent", "mp", "ridgeless", "nstar"}
    if "constants" in which:
        make_constants()
    if "resolvent" in which:
        make_resolvent()
    if "mp" in which:
        make_mp()
    if "ridgeless" in which:
        check = selfcheck()
        make_ridgeless(check)
    if "nstar" in which:
        make_nstar()
