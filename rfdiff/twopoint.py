"""Two-point deterministic equivalent and the limit curves L_test, L_gen, E_score (issue 4).

THEORY.md §2, §7; the derivation and its numerical checks are in ``docs/twopoint.md``.
Isotropic data only (Sigma = sigma_x^2 I); a data spectrum with several atoms is refused.

**Conditional structure.** In the Gaussian-equivalent model (THEORY.md §3) the columns of
G = e^{-t} a_t W X/sqrt(d) + v_t Omega are, given W, i.i.d. N(0, C) with
C = A K + v_t^2 I, K = W W^T/d, A = a_t^2 e^{-2t} sigma_x^2. So, given W,

    U = G G^T/n + b_t^2 K + s_t^2 I

is a sample covariance matrix whose population C and shift are functions of K. With
gamma = psi_p/psi_n and delta(z) = (1/n) Tr C (U - z)^{-1} = gamma (a_t^2 e^{-2t} r + v_t^2 q)
(= D - 1 of Theorem 3.1), the one-point deterministic equivalent is R(z) ~ g_z(K) with

    g_z(k) = 1/(beta k - beta w),  beta = b_t^2 + A/(1 + delta),  w = (z - s_t^2 - v_t^2/(1 + delta))/beta,

and the two-point one (second-order leave-one-out identity, applied once more to Q1 M Q2):

    (1/d) Tr[R1 K R2 K] = psi_p [ I_kk + gamma I_kc^2 / ((1 + delta_1)(1 + delta_2) - gamma I_cc) ],

with I_xy = int x(k) y(k) g_1(k) g_2(k) dmu_K(k), c(k) = A k + v_t^2, mu_K the Marchenko–Pastur law
of ratio psi_p (K's spectrum). The I_xy are closed forms in the MP Stieltjes transform m_K
at w_1, w_2 (cancellation-free divided differences, see :func:`two_point`).

**Learning curves.** With f(lambda) = (e^{-2 Delta_t lambda tau/psi_p} - 1)/lambda (entire),
V = V~ = c W/sqrt(d), c^2 = mu_1^2 Delta_t/Gamma_t^2 and U~ = mu_1^2 K + mu_*^2 I (isotropic):

    L_test = 1 + c^2 [ mu_1^2 (1/d) Tr fKfK + mu_*^2 (1/d) Tr f^2 K + 2 (1/d) Tr f K ],

each trace a (double) contour integral, e.g. (1/d) Tr fKfK = oint oint f f T dz1 dz2/(2 pi i)^2,
on Bernstein ellipses around each support component of rho (the atom at s_t^2 has W^T v = 0 and
is left outside), discretised by the trapezoid rule (geometric convergence; the number of nodes
is set from the distance to the nearest singularity and the oscillation of f at the largest tau).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .dynamics import _tau_array
from .resolvent import solve

if TYPE_CHECKING:  # pragma: no cover
    from .model import RFModel
    from .spectrum import Spectrum

__all__ = [
    "Contour",
    "LearningCurves",
    "contour",
    "learning_curves",
    "score_error",
    "test_loss",
    "two_point",
]


def _check_isotropic(model: RFModel) -> float:
    """sigma_x^2 of an isotropic model; ValueError otherwise."""
    vals = model.data.values
    if len(vals) != 1:
        raise ValueError(
            f"model.data must be isotropic (one eigenvalue of Sigma) for the two-point equivalent; "
            f"got {len(vals)} atoms {vals}"
        )
    return float(vals[0])


# ---------------------------------------------------------------- Marchenko–Pastur pieces


def _mp_stieltjes(w: np.ndarray, y: float) -> np.ndarray:
    """m(w) = int dmu(k)/(k - w) for mu = MP law of ratio y (atom 1 - 1/y at 0 if y > 1).

    The root of y w m^2 + (w - 1 + y) m + 1 = 0 with m ~ -1/w, written as
    2/(-(w - 1 + y) - sqrt(w - a) sqrt(w - b)) (no cancellation at large |w|; the
    product of principal square roots has its cut on [a, b] only).
    """
    sy = math.sqrt(y)
    a, b = (1.0 - sy) ** 2, (1.0 + sy) ** 2
    root = np.sqrt(w - a) * np.sqrt(w - b)
    return 2.0 / (-(w - 1.0 + y) - root)


def _divided_differences(w1: np.ndarray, w2: np.ndarray, m1: np.ndarray, m2: np.ndarray,
                         y: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """J_j = int k^j dmu(k)/((k - w1)(k - w2)), j = 0, 1, 2, without cancellation.

    Subtracting the MP quadratic at w1 and w2 gives the divided difference
    (m1 - m2)/(w1 - w2) = -(y m1^2 + m1)/(y w2 (m1 + m2) + w2 + y - 1), which is also its
    limit m'(w) at w1 = w2. Then J_1 = m1 + w2 J_0 and J_2 = 1 + (w1 + w2) m1 + w2^2 J_0.
    """
    j0 = -(y * m1 * m1 + m1) / (y * w2 * (m1 + m2) + w2 + y - 1.0)
    j1 = m1 + w2 * j0
    j2 = 1.0 + (w1 + w2) * m1 + w2 * w2 * j0
    return j0, j1, j2


@dataclass(frozen=True)
class _OnePoint:
    q: np.ndarray
    s: np.ndarray
    delta: np.ndarray
    beta: np.ndarray
    w: np.ndarray
    m: np.ndarray


def _one_point(model: RFModel, z: np.ndarray) -> _OnePoint:
    """Theorem 3.1 at z (either half plane) and the conditional quantities delta, beta, w, m_K(w)."""
    sx2 = _check_isotropic(model)
    eq = model.equations
    res = solve(eq, z, lower_half_plane=True)
    gamma = eq.psi_p / eq.psi_n
    delta = gamma * (eq.a2e * res.r + eq.v2 * res.q)
    beta = eq.b2 + eq.a2e * sx2 / (1.0 + delta)
    w = (z - eq.s2 - eq.v2 / (1.0 + delta)) / beta
    return _OnePoint(q=res.q, s=res.s, delta=delta, beta=beta, w=w, m=_mp_stieltjes(w, eq.psi_p))


def _two_point_from(model: RFModel, o1: _OnePoint, o2: _OnePoint, sl1: tuple, sl2: tuple) -> np.ndarray:
    eq = model.equations
    y, gamma, v2 = eq.psi_p, eq.psi_p / eq.psi_n, eq.v2
    A = eq.a2e * _check_isotropic(model)
    w1, w2, m1, m2 = o1.w[sl1], o2.w[sl2], o1.m[sl1], o2.m[sl2]
    j0, j1, j2 = _divided_differences(w1, w2, m1, m2, y)
    bb = o1.beta[sl1] * o2.beta[sl2]
    i_kk = j2 / bb
    i_kc = (A * j2 + v2 * j1) / bb
    i_cc = (A * A * j2 + 2.0 * A * v2 * j1 + v2 * v2 * j0) / bb
    den = (1.0 + o1.delta[sl1]) * (1.0 + o2.delta[sl2]) - gamma * i_cc
    return y * (i_kk + gamma * i_kc * i_kc / den)


def _as_complex(name: str, z: complex | Sequence[complex] | np.ndarray) -> np.ndarray:
    arr = np.asarray(z)
    if arr.dtype == object or not np.issubdtype(arr.dtype, np.number):
        raise ValueError(f"{name} must be numeric, got dtype {arr.dtype}")
    arr = arr.astype(np.complex128)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite (got NaN or inf)")
    return arr


def two_point(model: RFModel, z1: complex | Sequence[complex] | np.ndarray,
              z2: complex | Sequence[complex] | np.ndarray) -> np.ndarray:
    """T(z1, z2) = (1/d) Tr[(U - z1)^{-1} K (U - z2)^{-1} K] in the limit, K = W W^T/d.

    Parameters
    ----------
    model : RFModel
        Isotropic data only.
    z1, z2 : complex or array_like
        Spectral parameters off the support of rho (either half plane; real z gives the
        boundary value from above). Broadcast against each other.

    Returns
    -------
    ndarray of complex
        T on the broadcast shape. T(z, z) = d/dzeta (1/d) Tr[K (U - zeta K - z)^{-1}] at zeta = 0,
        and T(conj z1, conj z2) = conj T(z1, z2).

    Examples
    --------
    >>> import rfdiff
    >>> m = rfdiff.RFModel(psi_p=8, psi_n=2, t=0.1)
    >>> T = two_point(m, [1 + 1j, 1 - 1j], 2 + 0.5j)
    >>> T.shape
    (2,)
    >>> bool(abs(two_point(m, 1 - 1j, 2 - 0.5j) - T[0].conjugate()) < 1e-12)
    True
    """
    a1 = _as_complex("z1", z1)
    a2 = _as_complex("z2", z2)
    b1, b2 = np.broadcast_arrays(a1, a2)
    shape = b1.shape
    u1, inv1 = np.unique(b1.ravel(), return_inverse=True)
    u2, inv2 = np.unique(b2.ravel(), return_inverse=True)
    o1 = _one_point(model, u1)
    o2 = _one_point(model, u2)
    return _two_point_from(model, o1, o2, (inv1.ravel(),), (inv2.ravel(),)).reshape(shape)


# ---------------------------------------------------------------- contours


@dataclass(frozen=True)
class Contour:
    """Trapezoid discretisation of counter-clockwise ellipses around the support of rho.

    Attributes
    ----------
    z : ndarray of complex
        Nodes (all components together).
    weight : ndarray of complex
        dz/(2 pi i) at each node: h(U) = -sum_j weight_j h(z_j) (U - z_j)^{-1} for h analytic
        inside the ellipses.
    component : ndarray of int
        Support component of each node.
    s : ndarray of complex
        s(z_j) of Theorem 3.1.
    T : ndarray of complex
        T(z_i, z_j) (see :func:`two_point`).
    mass : float
        -sum_j weight_j s_j, the mass of nu_s seen by the contours (1 when they enclose all of it).
    a_max : float
        Largest 2 Delta_t tau/psi_p the node counts were chosen for.
    """

    z: np.ndarray
    weight: np.ndarray
    component: np.ndarray
    s: np.ndarray
    T: np.ndarray
    mass: float
    a_max: float


_LOG_TOL = 37.0  # ln(1e16): target trapezoid error of the analytic part
_MAX_NODES = 4096


def _ellipses(sp: Spectrum, a_max: float) -> list[tuple[float, float, float, int]]:
    """(centre, half-width, rho, nodes) per group of support components.

    Components separated by a gap smaller than 5 % of the narrower one (and no atom in it) share
    one ellipse: the integrands are analytic in the gap, so enclosing it is exact, while an
    ellipse squeezed between them would need ~1/sqrt(gap) nodes (psi_p = 16, psi_n = 4, t = 0.1
    has a gap of 6e-6 between the cluster and rho_1).
    """
    support: list[tuple[float, float]] = []
    for lo, hi in sp.support:
        if support:
            plo, phi = support[-1]
            gap = lo - phi
            atom_in_gap = any(phi < x < lo for x, _w in sp.atoms)
            if gap < 0.05 * min(hi - lo, phi - plo) and not atom_in_gap:
                support[-1] = (plo, hi)
                continue
        support.append((lo, hi))
    if not support:
        raise ValueError("the spectrum has no continuous support component")
    singular = [0.0] + [float(x) for x, _w in sp.atoms]
    for lo, hi in support:
        singular += [lo, hi]
    out = []
    for lo, hi in support:
        c, h = 0.5 * (lo + hi), 0.5 * (hi - lo)
        dist = min(abs(x - c) for x in singular if x < lo - 1e-15 * c or x > hi + 1e-15 * c)
        u = dist / h
        rho_out = u + math.sqrt(u * u - 1.0)
        rho = math.sqrt(rho_out)
        n_an = 2.0 * _LOG_TOL / math.log(rho_out)
        x_left = c - 0.5 * h * (rho + 1.0 / rho)
        # e^{-a z} matters only while a x_left < ~40; its trapezoid bandwidth is ~ a h (rho + 1/rho)/2
        a_eff = min(a_max, 40.0 / x_left)
        n_osc = 1.5 * a_eff * 0.5 * h * (rho + 1.0 / rho) + 16.0
        n = int(min(_MAX_NODES, max(32, math.ceil(n_an + n_osc))))
        out.append((c, h, rho, n + (n % 2)))
    return out


def contour(model: RFModel, tau_max: float = math.inf, spectrum: Spectrum | None = None) -> Contour:
    """Nodes, weights, s and T on ellipses around each support component of rho.

    Parameters
    ----------
    model : RFModel
        Isotropic data only.
    tau_max : float
        Largest finite flow time the nodes must resolve (e^{-2 Delta_t lambda tau/psi_p} oscillates
        along the contour); inf means "any" (the exponential is then negligible wherever it
        oscillates fast).
    spectrum : Spectrum, optional
        ``model.spectrum()`` if already computed.

    Returns
    -------
    Contour

    Examples
    --------
    >>> import rfdiff
    >>> ct = contour(rfdiff.RFModel(psi_p=8, psi_n=2, t=0.1))
    >>> bool(abs(ct.mass - 1) < 1e-10)
    True
    """
    _check_isotropic(model)
    tau_max = float(tau_max)
    if math.isnan(tau_max) or tau_max < 0:
        raise ValueError(f"tau_max must be >= 0, got {tau_max!r}")
    sp = model.spectrum() if spectrum is None else spectrum
    a_max = 2.0 * model.constants.delta * tau_max / model.psi_p
    zs, ws, comps = [], [], []
    for k, (c, h, rho, n) in enumerate(_ellipses(sp, a_max)):
        e = np.exp(2j * np.pi * np.arange(n) / n)
        zs.append(c + 0.5 * h * (rho * e + 1.0 / (rho * e)))
        ws.append(0.5 * h * (rho * e - 1.0 / (rho * e)) / n)
        comps.append(np.full(n, k))
    z = np.concatenate(zs)  # the real crossing theta = 0 (outside the support): q real there
    weight = np.concatenate(ws)
    o = _one_point(model, z)
    T = _two_point_from(model, o, o, (slice(None), None), (None, slice(None)))
    mass = float((-(weight * o.s).sum()).real)
    return Contour(z=z, weight=weight, component=np.concatenate(comps), s=o.s, T=T, mass=mass,
                   a_max=a_max)


# ---------------------------------------------------------------- learning curves


def _f_on(z: np.ndarray, a: np.ndarray) -> np.ndarray:
    """(e^{-a z} - 1)/z on nodes z (rows) for rates a (columns; inf gives -1/z)."""
    fin = np.isfinite(a)
    out = np.empty((z.size, a.size), np.complex128)
    out[:, fin] = np.expm1(-np.outer(z, a[fin])) / z[:, None]
    out[:, ~fin] = -1.0 / z[:, None]
    return out


@dataclass(frozen=True)
class LearningCurves:
    """Limit learning curves of the gradient flow (THEORY.md §1–§2, §7).

    Attributes
    ----------
    tau : ndarray
    train, test, gen, score : ndarray
        L_train, L_test, L_gen = L_test - L_train and E_score = (L_test - 1 + Delta_t/Gamma_t^2)/Delta_t.
    contour : Contour
        The quadrature used (its ``mass`` is a diagnostic: 1 to ~1e-12).
    """

    tau: np.ndarray
    train: np.ndarray
    test: np.ndarray
    gen: np.ndarray
    score: np.ndarray
    contour: Contour


def learning_curves(model: RFModel, tau: float | Sequence[float] | np.ndarray,
                    spectrum: Spectrum | None = None) -> LearningCurves:
    """L_train, L_test, L_gen and E_score at every tau in the limit d -> infinity.

    Parameters
    ----------
    model : RFModel
        Isotropic data only.
    tau : float or array_like
        Flow times >= 0 (inf allowed: the min-norm interpolator's limit).
    spectrum : Spectrum, optional
        ``model.spectrum()`` if already computed.

    Returns
    -------
    LearningCurves
        Arrays of the shape of tau.

    Examples
    --------
    >>> import rfdiff
    >>> m = rfdiff.RFModel(psi_p=8, psi_n=2, t=0.1)
    >>> lc = learning_curves(m, [0.0, 1e2, np.inf])
    >>> float(lc.test[0])
    1.0
    >>> bool(lc.gen[2] > lc.gen[1] > 0)
    True
    """
    tau = _tau_array(tau)
    flat = tau.ravel()
    finite = flat[np.isfinite(flat)]
    ct = contour(model, float(finite.max()) if finite.size else 0.0, spectrum)
    cst = model.constants
    c2 = cst.mu1**2 * cst.delta / cst.gamma2
    a = 2.0 * cst.delta * flat / model.psi_p
    F = ct.weight[:, None] * _f_on(ct.z, a)                     # N x n_tau
    ws = ct.weight * ct.s
    j_kk = np.einsum("it,it->t", F, ct.T @ F).real               # (1/d) Tr f K f K
    j_k2 = -model.psi_p * (ws @ (_f_on(ct.z, a) ** 2)).real     # (1/d) Tr f^2 K
    j_k1 = -model.psi_p * (ws @ _f_on(ct.z, a)).real            # (1/d) Tr f K
    j_tr = -model.psi_p * (ws @ _f_on(ct.z, 2.0 * a)).real      # (1/d) Tr[(e^{-2 a U} - 1) U^{-1} K]
    test = 1.0 + c2 * (cst.mu1**2 * j_kk + cst.mustar2 * j_k2 + 2.0 * j_k1)
    train = 1.0 + c2 * j_tr
    zero = flat == 0
    test[zero] = 1.0
    train[zero] = 1.0
    score = (test - 1.0 + cst.delta / cst.gamma2) / cst.delta
    shp = tau.shape
    return LearningCurves(tau=tau, train=train.reshape(shp), test=test.reshape(shp),
                          gen=(test - train).reshape(shp), score=score.reshape(shp), contour=ct)


def test_loss(model: RFModel, tau: float | Sequence[float] | np.ndarray) -> np.ndarray:
    """L_test(tau) in the limit (see :func:`learning_curves`); same shape as tau.

    Examples
    --------
    >>> import rfdiff
    >>> loss = test_loss(rfdiff.RFModel(psi_p=8, psi_n=2, t=0.1), [0.0, 10.0])
    >>> bool(loss[0] == 1.0 and loss[1] < 1.0)
    True
    """
    return learning_curves(model, tau).test


test_loss.__test__ = False  # type: ignore[attr-defined]  # not a pytest test despite the name


def score_error(model: RFModel, tau: float | Sequence[float] | np.ndarray) -> np.ndarray:
    """E_score(tau) = (L_test - 1 + Delta_t/Gamma_t^2)/Delta_t in the limit; same shape as tau.

    Examples
    --------
    >>> import rfdiff
    >>> m = rfdiff.RFModel(psi_p=8, psi_n=2, t=0.1)
    >>> e = score_error(m, [0.0, 10.0])
    >>> bool(abs(e[0] - 1 / m.gamma2) < 1e-12 and e[1] < e[0])
    True
    """
    return learning_curves(model, tau).score
