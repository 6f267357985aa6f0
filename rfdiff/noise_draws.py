"""A finite number m of noise draws per training point: deterministic equivalents (docs/noise_draws.md).

With m fixed draws xi^{nu,k} per training point (docs/theory.md §9) the training loss is
L_train^m = (1/(n m d)) sum_{nu,k} ||sqrt(Delta_t) s_A(x_t^{nu,k}) + xi^{nu,k}||^2, with

    U_m = (1/(n m)) sum_{nu,k} phi_{nu,k} phi_{nu,k}^T,   V_m = (1/(n m)) sum_{nu,k} phi_{nu,k} xi^{nu,k T},

while the test loss keeps the population U~, V~. m = None is the paper's m = infinity (noise average).
In the Gaussian-equivalent model phi_{nu,k} = g_nu + b_t W xi^{nu,k}/sqrt(d) + s_t z_{nu,k}, with
g_nu = e^{-t} a_t W x^nu/sqrt(d) + v_t omega_nu shared by the m draws of a point.

**Deterministic equivalent** (docs/noise_draws.md §2–§3). Given W, an orthogonal rotation of the m draws of
each point makes the N = n m columns independent Gaussians of two kinds: n with covariance
m C + C_n and n (m - 1) with covariance C_n, where C = kappa K_Sigma + v_t^2 (kappa = a_t^2 e^{-2t}) and
C_n = b_t^2 K + s_t^2. With gamma = psi_p/psi_n and the unknowns (q, delta_1, delta_2):

    eps_i = 1/(1 + delta_i),   theta = eps_1/m + (1 - 1/m) eps_2,
    alpha = -z + eps_1 v_t^2 + theta s_t^2,
    D_k = theta b_t^2 + eps_1 kappa lambda_k - zeta_1 - zeta_2 lambda_k,
    h_k = 1/(1 + psi_p q D_k),   q (alpha + <D h>) = 1,
    delta_2 = (gamma/m) q (b_t^2 <h> + s_t^2),   delta_1 = gamma q (kappa <lambda h> + v_t^2) + delta_2,

with <x> = sum_k pi_k x_k over the atoms of rho_Sigma. q = (1/p) Tr (U_m - z)^{-1}; zeta_1, zeta_2 are the
coefficients of a deterministic shift U_m - zeta_1 K - zeta_2 K_Sigma (used for the test loss). m -> infinity
(1/m = 0) gives delta_2 = 0, theta = 1 and Theorem 3.1 exactly (delta_1 = D - 1). The losses need, besides q,

    A(z) = (1/d) Tr[V_m^T (U_m - z)^{-1} V_m] = 1 - theta + b_t^2 theta^2 psi_p S,
    E(z) = (1/d) Tr[W^T (U_m - z)^{-1} V_m]/sqrt(d) = b_t theta psi_p S,      S = q <h>,

and at tau = infinity (the ridge estimator B = -Delta_t^{-1/2} V_m^T (U_m + lam)^{-1}, lam >= 0), z = -lam:

    L_train = 1 - A + lam dA/dlam,
    L_test  = 1 + (mu_1^2/Gamma_t^2)(e^{-2t} dA/dzeta_2 + Delta_t dA/dzeta_1) - mu_*^2 dA/dlam - 2 b_t E.

Derivatives are exact (implicit differentiation, each partial by complex step). When n m < p, U_m has an
atom at 0 of mass 1 - n m/p; the ridge-less limit lam -> 0 is then solved in rescaled variables
(u = lam q, e_i = eps_i/lam) that stay finite, so lam = 0 is computed exactly, not extrapolated.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._numerics.arguments import nonnegative_array
from .errors import ResolventConvergenceError
from .io import Serializable
from .model import DataSpectrum, RFModel
from .resolvent import Equations

__all__ = [
    "DrawsContour",
    "DrawsCurves",
    "DrawsEquations",
    "DrawsLimit",
    "DrawsResolvent",
    "DrawsSpectrum",
    "contour",
    "density",
    "learning_curves",
    "limit_losses",
    "limit_losses_model",
    "solve",
    "spectrum",
]

_H = 1e-30  # complex-step size: exact first derivatives of real-analytic functions at roundoff


# ---------------------------------------------------------------- the system


@dataclass(frozen=True)
class DrawsEquations(Serializable):
    """The finite-m system: Theorem 3.1's coefficients and the number m of noise draws per point.

    Parameters
    ----------
    equations : Equations
        Coefficients (psi_p, psi_n, a_t^2 e^{-2t}, b_t^2, v_t^2, s_t^2, rho_Sigma) of Theorem 3.1.
    m : int or None
        Noise draws per training point, >= 1; None is the paper's m = infinity.

    Examples
    --------
    >>> import rfdiff
    >>> eqs = DrawsEquations.from_model(rfdiff.RFModel(psi_p=4, psi_n=1, t=0.1), m=2)
    >>> eqs.samples_per_feature       # n m / p
    0.5
    >>> round(eqs.null_mass, 12)      # U_m has an atom at 0 of mass 1 - n m/p
    0.5
    """

    equations: Equations
    m: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.equations, Equations):
            raise TypeError("equations must be an rfdiff.resolvent.Equations, "
                            f"got {type(self.equations).__name__}")
        if self.m is not None:
            if isinstance(self.m, bool) or not isinstance(self.m, (int, np.integer)):
                raise TypeError(f"m must be an integer >= 1 or None, got {self.m!r}")
            if self.m < 1:
                raise ValueError(f"m must be an integer >= 1 or None (m = infinity), got {self.m!r}")
            object.__setattr__(self, "m", int(self.m))

    @classmethod
    def from_model(cls, model: RFModel, m: int | None) -> DrawsEquations:
        """The system of an :class:`~rfdiff.model.RFModel` with m draws per point."""
        return cls(Equations.from_model(model), m)

    @property
    def minv(self) -> float:
        """1/m (0 for m = infinity)."""
        return 0.0 if self.m is None else 1.0 / self.m

    @property
    def samples_per_feature(self) -> float:
        """n m / p = m psi_n/psi_p (inf for m = infinity)."""
        return math.inf if self.m is None else self.m * self.equations.psi_n / self.equations.psi_p

    @property
    def null_mass(self) -> float:
        """Mass 1 - n m/p of the atom of U_m at 0 (0 when n m >= p)."""
        return max(0.0, 1.0 - self.samples_per_feature)


def _pieces(eq: Equations, minv: float, q, d1, d2, z, zeta1, zeta2):
    """theta, alpha, D_k, h_k and the atom averages for the unscaled unknowns (q, delta_1, delta_2)."""
    e1 = 1.0 / (1.0 + d1)
    e2 = 1.0 / (1.0 + d2)
    th = minv * e1 + (1.0 - minv) * e2
    al = -z + e1 * eq.v2 + th * eq.s2
    lam = eq.lam
    zeta1, zeta2, q = np.asarray(zeta1), np.asarray(zeta2), np.asarray(q)
    D = (th * eq.b2)[..., None] + (e1 * eq.a2e)[..., None] * lam - zeta1[..., None] - zeta2[..., None] * lam
    h = 1.0 / (1.0 + eq.psi_p * q[..., None] * D)
    return e1, e2, th, al, D, h


def _residual(eq: Equations, minv: float, x, z, zeta1, zeta2):
    """(F_q, F_1, F_2) for x = (q, delta_1, delta_2) (arrays of any common shape)."""
    q, d1, d2 = x
    _e1, _e2, _th, al, D, h = _pieces(eq, minv, q, d1, d2, z, zeta1, zeta2)
    pi, lam = eq.pi, eq.lam
    g = eq.psi_p / eq.psi_n
    Hh, Hl, DH = h @ pi, h @ (pi * lam), (D * h) @ pi
    noise = g * minv * q * (eq.b2 * Hh + eq.s2)
    return (q * (al + DH) - 1.0, d1 - g * q * (eq.a2e * Hl + eq.v2) - noise, d2 - noise)


def _residual_scaled(eq: Equations, minv: float, x, lam_r, zh1, zh2):
    """The same system at z = -lam_r in u = lam q, e_i = eps_i/lam (finite as lam -> 0 when n m < p).

    zh_i = zeta_i/lam. Exact rewriting for lam > 0: alpha = lam (1 + e_1 v^2 + theta^ s^2),
    D_k = lam (theta^ b^2 + e_1 kappa lambda_k - zh_1 - zh_2 lambda_k), and the delta equations
    multiplied by lam.
    """
    u, e1, e2 = (np.asarray(v) for v in x)
    zh1, zh2 = np.asarray(zh1), np.asarray(zh2)
    th = minv * e1 + (1.0 - minv) * e2
    alh = 1.0 + e1 * eq.v2 + th * eq.s2
    lam = eq.lam
    Dh = (th * eq.b2)[..., None] + (e1 * eq.a2e)[..., None] * lam - zh1[..., None] - zh2[..., None] * lam
    h = 1.0 / (1.0 + eq.psi_p * u[..., None] * Dh)
    pi = eq.pi
    g = eq.psi_p / eq.psi_n
    Hh, Hl, DH = h @ pi, h @ (pi * lam), (Dh * h) @ pi
    noise = g * minv * u * (eq.b2 * Hh + eq.s2)
    return (u * (alh + DH) - 1.0, 1.0 - e1 * (g * u * (eq.a2e * Hl + eq.v2) + noise + lam_r),
            1.0 - e2 * (noise + lam_r))


def _functionals(eq: Equations, minv: float, x, z, zeta1, zeta2) -> tuple:
    """(q, S, A, E/b_t) from unscaled unknowns."""
    q, d1, d2 = x
    _e1, _e2, th, _al, _D, h = _pieces(eq, minv, q, d1, d2, z, zeta1, zeta2)
    S = q * (h @ eq.pi)
    return q, S, 1.0 - th + eq.b2 * th * th * eq.psi_p * S, th * eq.psi_p * S


def _functionals_scaled(eq: Equations, minv: float, x, lam_r, zh1, zh2) -> tuple:
    """(A_hat, E/b_t) from scaled unknowns: A = 1 - lam A_hat, E/b_t = theta^ psi_p u <h>."""
    u, e1, e2 = (np.asarray(v) for v in x)
    zh1, zh2 = np.asarray(zh1), np.asarray(zh2)
    th = minv * e1 + (1.0 - minv) * e2
    lam = eq.lam
    Dh = (th * eq.b2)[..., None] + (e1 * eq.a2e)[..., None] * lam - zh1[..., None] - zh2[..., None] * lam
    h = 1.0 / (1.0 + eq.psi_p * u[..., None] * Dh)
    uh = u * (h @ eq.pi)
    return th - eq.b2 * th * th * eq.psi_p * uh, th * eq.psi_p * uh


def _jacobian_analytic(eq: Equations, minv: float, x, z, zeta1, zeta2) -> np.ndarray:
    """Holomorphic Jacobian d(F_q, F_1, F_2)/d(q, delta_1, delta_2), shape (..., 3, 3)."""
    q, d1, d2 = x
    e1, e2, _th, al, D, h = _pieces(eq, minv, q, d1, d2, z, zeta1, zeta2)
    pi, lam = eq.pi, eq.lam
    pp, g, b2, s2, v2, kap = eq.psi_p, eq.psi_p / eq.psi_n, eq.b2, eq.s2, eq.v2, eq.a2e
    h2 = h * h
    dth = (-minv * e1 * e1, -(1.0 - minv) * e2 * e2)
    dal = (-e1 * e1 * v2 + s2 * dth[0], s2 * dth[1])
    dD = ((b2 * dth[0])[..., None] - (e1 * e1 * kap)[..., None] * lam, (b2 * dth[1])[..., None] + 0.0 * lam)
    dh_q = -pp * D * h2
    dh_d = tuple(-pp * q[..., None] * h2 * dDj for dDj in dD)
    wq = kap * lam + minv * b2          # weights of G = kappa <lam h> + v^2 + minv (b^2 <h> + s^2)
    G = h @ (pi * wq) + v2 + minv * s2
    G2 = minv * (b2 * (h @ pi) + s2)
    J = np.empty((*np.shape(q), 3, 3), dtype=np.result_type(q, d1, d2, z, complex))
    J[..., 0, 0] = al + (D * h) @ pi - pp * q * ((D * D * h2) @ pi)
    for j in (0, 1):
        J[..., 0, 1 + j] = q * (dal[j] + (dD[j] * h2) @ pi)
        J[..., 1, 1 + j] = (1.0 if j == 0 else 0.0) - g * q * (dh_d[j] @ (pi * wq))
        J[..., 2, 1 + j] = (1.0 if j == 1 else 0.0) - g * q * minv * b2 * (dh_d[j] @ pi)
    J[..., 1, 0] = -g * (G + q * (dh_q @ (pi * wq)))
    J[..., 2, 0] = -g * (G2 + q * minv * b2 * (dh_q @ pi))
    return J


# ---------------------------------------------------------------- complex z: continuation from above


@dataclass(frozen=True)
class DrawsResolvent(Serializable):
    """Solution of the finite-m system at an array of z, with diagnostics.

    Attributes
    ----------
    z : ndarray of complex
    q : ndarray of complex
        (1/p) Tr (U_m - z)^{-1}.
    delta1, delta2 : ndarray of complex
        The two leave-one-out traces (1/(n m)) Tr C_i R (kinds "first rotated draw" and "the others").
    S : ndarray of complex
        (1/p) Tr K (U_m - z)^{-1}.
    A : ndarray of complex
        (1/d) Tr V_m^T (U_m - z)^{-1} V_m.
    E : ndarray of complex
        (1/d) Tr W^T (U_m - z)^{-1} V_m/sqrt(d).
    residual : ndarray
        Largest absolute residual of the three equations at the returned point.
    converged, branch_ok : ndarray of bool
        Newton converged at every continuation step; Im q and Im(z q) have the sign of Im z, to the rounding
        error 64 eps |q| cond(J).
    jacobian_cond : ndarray
        Condition number of the 3 x 3 Jacobian at the solution (large near support edges).
    """

    z: np.ndarray
    q: np.ndarray
    delta1: np.ndarray
    delta2: np.ndarray
    S: np.ndarray
    A: np.ndarray
    E: np.ndarray
    residual: np.ndarray
    converged: np.ndarray
    branch_ok: np.ndarray
    jacobian_cond: np.ndarray

    @property
    def ok(self) -> np.ndarray:
        """converged & branch_ok."""
        return self.converged & self.branch_ok



def _newton_batch(eq, minv, x, z, zeta1, zeta2, maxit, tol):
    """Batched Newton with the analytic Jacobian; returns x, residual, converged."""
    conv = np.zeros(np.shape(z), bool)
    res = np.full(np.shape(z), np.inf)
    for _ in range(maxit):
        F = np.stack(_residual(eq, minv, x, z, zeta1, zeta2), -1)
        scale = np.maximum(1.0, np.abs(np.stack(x, -1)).max(-1))
        res = np.abs(F).max(-1)
        conv = res <= tol * scale
        if np.all(conv):
            break
        J = _jacobian_analytic(eq, minv, x, z, zeta1, zeta2)
        with np.errstate(all="ignore"):
            dx = np.linalg.solve(J, -F[..., None])[..., 0]
        dx = np.where(conv[..., None], 0.0, dx)
        x = tuple(x[i] + dx[..., i] for i in range(3))
    return x, res, conv


def _continue(draws: DrawsEquations, zf: np.ndarray, z1: np.ndarray, z2: np.ndarray,
              steps: int) -> tuple[tuple, np.ndarray, np.ndarray]:
    """Lock-step continuation of all points from Re z + 4i(|Re z| + scale) down to z in ``steps`` steps.

    Newton tracks the branch to 1e-10 at the intermediate steps (enough to stay on it; near a square-root edge
    the residual's rounding floor can exceed 1e-13) and converges to 1e-15 at the target, where 1e-12 is
    required. Returns the unknowns, the final residual and the convergence flags.
    """
    eq, minv = draws.equations, draws.minv
    scale = _upper_scale(draws)
    y0 = 4.0 * (np.abs(zf.real) + scale)
    ys = np.exp(np.linspace(0.0, 1.0, steps)[:, None] * np.log(zf.imag / y0)[None, :]) * y0
    zk = zf.real + 1j * ys[0]
    g = eq.psi_p / eq.psi_n
    q = 1.0 / (eq.mean_eigenvalue - zk)
    m1 = float(eq.lam @ eq.pi)
    d2 = g * minv * q * (eq.b2 + eq.s2)
    x = (q, g * q * (eq.a2e * m1 + eq.v2) + d2, d2)
    conv_all = np.ones(zf.shape, bool)
    res = np.zeros(zf.shape)
    for k in range(steps):
        zk = zf.real + 1j * ys[k]
        last = k == steps - 1
        x, res, conv = _newton_batch(eq, minv, x, zk, z1, z2, 60 if last else 20, 1e-15 if last else 1e-10)
        conv_all &= conv | last
        if last:
            conv_all &= res <= 1e-12 * np.maximum(1.0, np.abs(np.stack(x, -1)).max(-1))
    return x, res, conv_all


def solve(draws: DrawsEquations, z: complex | Sequence[complex] | np.ndarray, *,
          zeta: tuple[float, float] = (0.0, 0.0), steps: int = 60,
          on_failure: str = "raise") -> DrawsResolvent:
    """Solve the finite-m system at z with Im z > 0 (continuation from far above the spectrum).

    Each point is continued along z_k = Re z + i y_k, y_k falling geometrically from 4 (|Re z| + scale)
    to Im z in ``steps`` steps (ratio ~0.6 per step by default); Newton (analytic Jacobian) tracks the branch
    to 1e-10 at every step and converges to 1e-15 at the target (1e-12 required). The branch is checked at
    the end (Herglotz: Im q > 0, Im (z q) > 0). Points that fail are continued again with 4 and then 16
    times more steps before they are reported.

    Parameters
    ----------
    draws : DrawsEquations
    z : complex or array_like
        Points with Im z > 0 (for real z below the spectrum use :func:`limit_losses`).
    zeta : (float, float)
        Deterministic shift U_m - zeta_1 K - zeta_2 K_Sigma (default none).
    steps : int
        Continuation steps.
    on_failure : {"raise", "warn"}
        Raise :class:`~rfdiff.errors.ResolventConvergenceError` (default) or return NaN at failed points
        with ``converged``/``branch_ok`` False.

    Returns
    -------
    DrawsResolvent

    Examples
    --------
    >>> import rfdiff
    >>> eqs = DrawsEquations.from_model(rfdiff.RFModel(psi_p=4, psi_n=1, t=0.1), m=1)
    >>> res = solve(eqs, [0.3 + 0.2j, 1e-6 + 1e-9j])
    >>> bool(res.ok.all() and res.q.imag.min() > 0)
    True
    >>> round(float((-1e-6 * res.q[1]).real), 3)   # the atom of mass 1 - n m/p at 0 dominates q near 0
    0.75
    """
    if on_failure not in ("raise", "warn"):
        raise ValueError(f"on_failure must be 'raise' or 'warn', got {on_failure!r}")
    zarr = np.asarray(z, dtype=np.complex128)
    shape = zarr.shape
    zf = zarr.ravel()
    if not np.all(np.isfinite(zf)) or np.any(zf.imag <= 0):
        raise ValueError("z must be finite with Im z > 0")
    eq, minv = draws.equations, draws.minv
    z1 = np.full(zf.shape, float(zeta[0]), complex)
    z2 = np.full(zf.shape, float(zeta[1]), complex)
    x, res, conv_all = _continue(draws, zf, z1, z2, int(steps))

    def herglotz(x: tuple) -> tuple[np.ndarray, np.ndarray]:
        """Im q >= 0 and Im(z q) >= 0 to rounding: 64 eps |q| times the Jacobian's condition number (the
        computed Im q of a point a hair above the axis, outside the support, is O(eta) plus that error)."""
        with np.errstate(all="ignore"):
            cond = np.linalg.cond(_jacobian_analytic(eq, minv, x, zf, z1, z2))
        tol = 64 * np.finfo(float).eps * np.where(np.isfinite(cond), np.maximum(cond, 1.0), np.inf)
        q = x[0]
        return (q.imag >= -tol * np.abs(q)) & ((zf * q).imag >= -tol * np.abs(zf * q)), cond

    for more in (4, 16):     # points that failed: again, alone, with finer continuation steps
        bad = ~(conv_all & herglotz(x)[0])
        if not np.any(bad):
            break
        xb, rb, cb = _continue(draws, zf[bad], z1[bad], z2[bad], more * int(steps))
        x = tuple(np.where(bad, 0j, xi) for xi in x)
        for xi, xbi in zip(x, xb, strict=True):
            xi[bad] = xbi
        res = res.copy()
        res[bad] = rb
        conv_all = conv_all.copy()
        conv_all[bad] = cb
    q, S, A, Eb = _functionals(eq, minv, x, zf, z1, z2)
    branch, cond = herglotz(x)
    bad = ~(conv_all & branch)
    if np.any(bad):
        msg = (f"finite-m solver failed at {int(bad.sum())} of {zf.size} points (first: z = {zf[bad][0]}, "
               f"residual {res[bad][0]:.2e})")
        if on_failure == "raise":
            raise ResolventConvergenceError(msg, zf[bad])
        import warnings

        warnings.warn(msg, RuntimeWarning, stacklevel=2)
        nanc = np.nan + 0j
        q, S, A, Eb = (np.where(bad, nanc, a) for a in (q, S, A, Eb))
    b = math.sqrt(eq.b2)
    return DrawsResolvent(z=zarr, q=q.reshape(shape), delta1=x[1].reshape(shape), delta2=x[2].reshape(shape),
                          S=S.reshape(shape), A=A.reshape(shape), E=(b * Eb).reshape(shape),
                          residual=res.reshape(shape), converged=conv_all.reshape(shape),
                          branch_ok=branch.reshape(shape), jacobian_cond=cond.reshape(shape))


def density(draws: DrawsEquations, lam: float | Sequence[float] | np.ndarray, *, eta: float = 1e-9,
            steps: int = 60) -> np.ndarray:
    """Continuous part of the spectral density of U_m at real lam, Im q(lam + i eta)/pi, atom at 0 removed.

    The atom of mass w = 1 - n m/p at 0 (present when n m < p) contributes -w/z to q; it is subtracted
    exactly. ``eta`` (absolute) is the distance to the axis: the density is smoothed on that scale.

    Examples
    --------
    >>> import numpy as np, rfdiff
    >>> eqs = DrawsEquations.from_model(rfdiff.RFModel(psi_p=4, psi_n=1, t=0.1), m=2)
    >>> x = np.linspace(1e-4, 12, 4000)
    >>> mass = float(np.sum(density(eqs, x, eta=1e-6)) * (x[1] - x[0]))
    >>> abs(mass - (1 - eqs.null_mass)) < 0.01      # the continuous part carries n m/p
    True
    """
    if isinstance(eta, bool) or not (isinstance(eta, (int, float)) and math.isfinite(eta) and eta > 0):
        raise ValueError(f"eta must be a finite number > 0, got {eta!r}")
    x = np.asarray(lam, dtype=np.float64)
    if not np.all(np.isfinite(x)):
        raise ValueError("lam must be finite")
    z = x + 1j * float(eta)
    res = solve(draws, z, steps=steps)
    q = res.q + draws.null_mass / z
    return q.imag / math.pi


# ---------------------------------------------------------------- real z = -lam: the ridge end point


def _cstep_newton(fun, x0: np.ndarray, maxit: int = 60, tol: float = 1e-15) -> tuple[np.ndarray, float, bool]:
    """Real Newton on fun: R^3 -> R^3 with the Jacobian by complex step (exact)."""
    x = np.array(x0, dtype=np.float64)
    res = np.inf
    for _ in range(maxit):
        F = np.array(fun(x), dtype=np.float64)
        res = float(np.abs(F).max())
        if res <= tol * max(1.0, float(np.abs(x).max())):
            return x, res, True
        J = np.empty((3, 3))
        for j in range(3):
            xc = x.astype(complex)
            xc[j] += 1j * _H
            J[:, j] = np.array(fun(xc)).imag / _H
        try:
            dx = np.linalg.solve(J, -F)
        except np.linalg.LinAlgError:
            return x, res, False
        x = x + dx
        if not np.all(np.isfinite(x)):
            return x, res, False
    F = np.array(fun(x), dtype=np.float64)
    res = float(np.abs(F).max())
    return x, res, res <= 1e-13 * max(1.0, float(np.abs(x).max()))


def _implicit(fun, funct, x: np.ndarray, n_par: int) -> np.ndarray:
    """d(functionals)/d(params) at the solution x of fun(x, params0) = 0 (complex step, implicit function).

    fun(x, dp) and funct(x, dp) take a complex parameter perturbation vector dp (length n_par).
    Returns an array (n_functionals, n_par).
    """
    J = np.empty((3, 3))
    zero = np.zeros(n_par, complex)
    for j in range(3):
        xc = x.astype(complex)
        xc[j] += 1j * _H
        J[:, j] = np.array(fun(xc, zero)).imag / _H
    out = []
    for k in range(n_par):
        dp = np.zeros(n_par, complex)
        dp[k] = 1j * _H
        Fp = np.array(fun(x.astype(complex), dp)).imag / _H
        dx = np.linalg.solve(J, -Fp)
        out.append(np.array(funct(x + 1j * _H * dx, dp)).imag / _H)
    return np.array(out).T


@dataclass(frozen=True)
class DrawsLimit(Serializable):
    """Limit losses of the ridge estimator (tau = infinity) trained with m noise draws per point.

    Attributes
    ----------
    psi_p, psi_n, t : float
    m : int or None
        Draws per point (None: m = infinity, the paper's noise average).
    activation : str
    data_values, data_weights : tuple of float
    lam : ndarray
        Ridge parameters (>= 0), as given; lam = 0 is the min-norm (gradient-flow) end point.
    train, test, gen, score : ndarray
        L_train^m (the sampled-draw loss, conditional expectation over the draws' norms, no penalty),
        L_test, L_gen = L_test - L_train^m and E_score = (L_test - 1)/Delta_t + (1/d) Tr Sigma_t^{-1}.
    A, dA_dlam, dA_dzeta1, dA_dzeta2, E : ndarray
        The one-point traces at z = -lam (module notes) and their derivatives.
    scaled : bool
        The rescaled variables (u = lam q, e_i = eps_i/lam) were used (n m < p).
    max_residual : float
        Largest residual of the system along the continuation path.
    """

    psi_p: float
    psi_n: float
    t: float
    m: int | None
    activation: str
    data_values: tuple[float, ...]
    data_weights: tuple[float, ...]
    lam: np.ndarray
    train: np.ndarray
    test: np.ndarray
    gen: np.ndarray
    score: np.ndarray
    A: np.ndarray = field(repr=False)
    dA_dlam: np.ndarray = field(repr=False)
    dA_dzeta1: np.ndarray = field(repr=False)
    dA_dzeta2: np.ndarray = field(repr=False)
    E: np.ndarray = field(repr=False)
    scaled: bool = False
    max_residual: float = 0.0


def _one_lam_path(draws: DrawsEquations, lams: np.ndarray, scaled: bool) -> tuple[np.ndarray, float]:
    """Solutions (unknowns, rows) at the sorted-descending lams by continuation along z = -lam.

    Starts at lam_0 = 100 (scale + max lam) where q ~ 1/lam, and walks down geometrically (ratio 0.8),
    inserting the targets. Returns the unknowns at each target and the largest residual.
    """
    eq, minv = draws.equations, draws.minv
    g = eq.psi_p / eq.psi_n
    m1 = float(eq.lam @ eq.pi)
    lam0 = 100.0 * (eq.upper_bound + float(lams.max()))
    floor = 1e-13 * eq.upper_bound
    pos = lams[lams > 0]
    lo = max(float(pos.min()) if pos.size else floor, floor)
    grid = np.exp(np.arange(math.log(lam0), math.log(lo), math.log(0.8)))
    nodes = np.unique(np.concatenate([grid, pos, [lo]]))[::-1]
    q0 = 1.0 / (lam0 + eq.mean_eigenvalue)
    d2 = g * minv * q0 * (eq.b2 + eq.s2)
    d1 = g * q0 * (eq.a2e * m1 + eq.v2) + d2
    if scaled:
        x = np.array([lam0 * q0, 1.0 / (lam0 * (1 + d1)), 1.0 / (lam0 * (1 + d2))])
    else:
        x = np.array([q0, d1, d2])
    zero = np.zeros(1)

    def system(lam_r: float):
        if scaled:
            return lambda y: _residual_scaled(eq, minv, y, lam_r, zero[0], zero[0])
        return lambda y: _residual(eq, minv, y, -lam_r, zero[0], zero[0])

    sol: dict[float, np.ndarray] = {}
    worst = 0.0
    for lam_r in nodes:
        x, res, ok = _cstep_newton(system(float(lam_r)), x)
        if not ok:
            raise ResolventConvergenceError(
                f"finite-m system (m={draws.m}) did not converge at z = -lam = {-lam_r:.6g} "
                f"(residual {res:.2e}, scaled={scaled})", np.array([-lam_r + 0j]))
        worst = max(worst, res)
        sol[float(lam_r)] = x.copy()
    if np.any(lams == 0):
        if not scaled and draws.null_mass == 0 and draws.samples_per_feature != math.inf and \
                abs(draws.samples_per_feature - 1.0) < 1e-9:
            raise ValueError("lam = 0 at n m = p: the ridge-less test loss diverges there")
        x, res, ok = _cstep_newton(system(0.0), x)
        if not ok:
            raise ResolventConvergenceError(
                f"finite-m system (m={draws.m}) did not converge at lam = 0 "
                f"(residual {res:.2e}, scaled={scaled})",
                np.array([0j]))
        worst = max(worst, res)
        sol[0.0] = x.copy()
    return np.array([sol[float(v)] for v in lams]), worst


def limit_losses_model(model: RFModel, m: int | None, lam: float | Sequence[float] | np.ndarray = 0.0
                       ) -> DrawsLimit:
    """Like :func:`limit_losses`, for an existing :class:`~rfdiff.model.RFModel`.

    Examples
    --------
    >>> import rfdiff
    >>> res = limit_losses_model(rfdiff.RFModel(psi_p=4, psi_n=1, t=0.1), m=1)
    >>> float(res.train[()]) < 1e-12                  # n m < p: the sampled draws are interpolated
    True
    """
    if not isinstance(model, RFModel):
        raise TypeError(f"model must be an rfdiff.RFModel, got {type(model).__name__}")
    lam_arr = nonnegative_array("lam", lam)
    draws = DrawsEquations.from_model(model, m)
    if np.any(lam_arr == 0):
        if not model.constants.s2 > 0 and draws.m is None:
            raise ValueError("lam = 0 needs s_t^2 > 0 (z = 0 below the spectrum), "
                             f"got s_t^2 = {model.constants.s2!r}")
        if draws.m is not None and abs(draws.samples_per_feature - 1.0) < 1e-9:
            raise ValueError(f"lam = 0 at n m = p (m = {draws.m}): the ridge-less test loss diverges there")
    return _limit(model, draws, lam_arr, draws.null_mass > 0)


def _limit(model: RFModel, draws: DrawsEquations, lam_arr: np.ndarray, scaled: bool) -> DrawsLimit:
    """The tau = inf losses in the unscaled (q, delta_1, delta_2) or scaled (lam q, eps_i/lam) variables.

    Both are exact for lam > 0; only the scaled one reaches lam = 0 when n m < p, only the unscaled one
    when n m > p (tests compare them at lam > 0).
    """
    eq, minv = draws.equations, draws.minv
    cst = model.constants
    flat = lam_arr.ravel()
    order = np.argsort(-flat, kind="stable")
    xs, worst = _one_lam_path(draws, flat[order], scaled)
    xs_back = np.empty_like(xs)
    xs_back[order] = xs
    n = flat.size
    A = np.empty(n)
    dA = np.empty((n, 3))       # d/dlam, d/dzeta1, d/dzeta2
    Eb = np.empty(n)
    train = np.empty(n)
    for i, (lam_r, x) in enumerate(zip(flat, xs_back, strict=True)):
        lam_r = float(lam_r)
        if scaled:
            # parameters (lam, zh1, zh2); A = 1 - lam A_hat, dA/dzeta = -dA_hat/dzh
            def fun(y, dp, lam_r=lam_r):
                return _residual_scaled(eq, minv, y, lam_r + dp[0], dp[1], dp[2])

            def funct(y, dp, lam_r=lam_r):
                return _functionals_scaled(eq, minv, y, lam_r + dp[0], dp[1], dp[2])

            ah, eb = _functionals_scaled(eq, minv, x, lam_r, 0.0, 0.0)
            der = _implicit(fun, funct, x, 3)            # rows: (A_hat, E/b), cols: (lam, zh1, zh2)
            A[i] = 1.0 - lam_r * ah
            dA[i] = (-ah - lam_r * der[0, 0], -der[0, 1], -der[0, 2])
            train[i] = -lam_r * lam_r * der[0, 0]        # 1 - A + lam dA/dlam, without the cancellation
            Eb[i] = eb
        else:
            def fun(y, dp, lam_r=lam_r):
                return _residual(eq, minv, y, -(lam_r + dp[0]), dp[1], dp[2])

            def funct(y, dp, lam_r=lam_r):
                return _functionals(eq, minv, y, -(lam_r + dp[0]), dp[1], dp[2])[2:]

            a, eb = _functionals(eq, minv, x, -lam_r, 0.0, 0.0)[2:]
            der = _implicit(fun, funct, x, 3)
            A[i] = a
            dA[i] = der[0]
            train[i] = 1.0 - a + lam_r * der[0, 0]
            Eb[i] = eb
    b = cst.b
    e2t = math.exp(-2.0 * model.t)
    test = (1.0 + (cst.mu1**2 / cst.gamma2) * (e2t * dA[:, 2] + cst.delta * dA[:, 1])
            - cst.mustar2 * dA[:, 0] - 2.0 * b * b * Eb)
    offset = float(model.data.w @ (1.0 / (e2t * model.data.lam + cst.delta)))
    shp = lam_arr.shape
    return DrawsLimit(
        psi_p=model.psi_p, psi_n=model.psi_n, t=model.t, m=draws.m, activation=model.activation.name,
        data_values=model.data.values, data_weights=model.data.weights, lam=lam_arr,
        train=train.reshape(shp), test=test.reshape(shp), gen=(test - train).reshape(shp),
        score=((test - 1.0) / cst.delta + offset).reshape(shp), A=A.reshape(shp),
        dA_dlam=dA[:, 0].reshape(shp), dA_dzeta1=dA[:, 1].reshape(shp), dA_dzeta2=dA[:, 2].reshape(shp),
        E=(b * Eb).reshape(shp), scaled=scaled, max_residual=worst,
    )


def limit_losses(psi_p: float, psi_n: float, t: float, m: int | None,
                 lam: float | Sequence[float] | np.ndarray = 0.0, *, activation: Any = "tanh",
                 data: DataSpectrum | None = None) -> DrawsLimit:
    """L_train^m, L_test, L_gen, E_score at tau = infinity with m noise draws per point, in the limit.

    Parameters
    ----------
    psi_p, psi_n, t : float
        p/d, n/d and the diffusion time (> 0).
    m : int or None
        Noise draws per training point (>= 1); None is m = infinity (the paper; equals
        :func:`rfdiff.ridge.ridge_limit`).
    lam : float or array_like
        Ridge parameters >= 0 (penalty (Delta_t lam/(d p)) ||A||_F^2); 0 is the min-norm end point
        of the flow.
    activation : str, Activation or callable
    data : DataSpectrum, optional
        Any discrete rho_Sigma (default N(0, I)).

    Returns
    -------
    DrawsLimit

    Raises
    ------
    ValueError
        On bad input, or lam = 0 exactly at n m = p (the ridge-less test loss diverges there).
    ResolventConvergenceError
        If the continuation fails (never observed; reported, not hidden).

    Examples
    --------
    >>> res = limit_losses(4, 1, 0.1, m=None, lam=[0.0, 0.1])
    >>> from rfdiff.ridge import ridge_limit
    >>> bool(abs(res.test - ridge_limit(4, 1, 0.1, [0.0, 0.1]).test).max() < 1e-10)
    True
    >>> one = limit_losses(4, 1, 0.1, m=1)
    >>> bool(one.train < 1e-12 and one.test > res.test[0])   # one draw: interpolation, worse test loss
    True
    """
    model = RFModel(psi_p, psi_n, t, activation=activation,
                    data=DataSpectrum.isotropic() if data is None else data)
    return limit_losses_model(model, m, lam)


# ---------------------------------------------------------------- finite tau: contours, two-point equivalent


def _upper_scale(draws: DrawsEquations) -> float:
    """A bound on the top of U_m's spectrum: Theorem 3.1's bound plus the sampled-noise part.

    The noise features b_t W xi/sqrt(d) + s_t z, sampled n m times, form a sample covariance of population
    C_n = b_t^2 K + s_t^2 (norm <= b_t^2 (1 + sqrt(psi_p))^2 + s_t^2) and ratio p/(n m).
    """
    eq = draws.equations
    if draws.m is None:
        return eq.upper_bound
    cn = eq.b2 * (1.0 + math.sqrt(eq.psi_p)) ** 2 + eq.s2
    return eq.upper_bound + cn * (1.0 + math.sqrt(eq.psi_p / (eq.psi_n * draws.m))) ** 2


@dataclass(frozen=True)
class DrawsSpectrum(Serializable):
    """Support of the continuous spectrum of U_m (the atom at 0 of mass 1 - n m/p excluded).

    Attributes
    ----------
    support : tuple of (float, float)
        Disjoint intervals [lo, hi], increasing.
    mass : tuple of float
        Mass of each interval (Riemann sum of the density on the scan grid; a diagnostic).
    null_mass : float
        Mass of the atom at 0.
    scale : float
        The upper bound used for the scan.
    """

    support: tuple[tuple[float, float], ...]
    mass: tuple[float, ...]
    null_mass: float
    scale: float



def spectrum(draws: DrawsEquations, *, points: int = 1500, rel_threshold: float = 1e-7) -> DrawsSpectrum:
    """Support intervals of the continuous spectrum of U_m, by a density scan and bisection of the edges.

    The density Im q(x + i eta)/pi (eta = 1e-13 x, the atom at 0 subtracted) is evaluated on a log grid of
    ``points`` values between 1e-9 and 1 times the upper bound; an interval is where x rho(x) exceeds
    ``rel_threshold`` (the density is O(eta) outside the support). Each edge is then bisected to 1e-7 relative
    and moved outwards by that much, so the intervals enclose the support (what a contour needs).

    Examples
    --------
    >>> import rfdiff
    >>> sp = spectrum(DrawsEquations.from_model(rfdiff.RFModel(psi_p=4, psi_n=1, t=0.1), m=2))
    >>> len(sp.support), round(sum(sp.mass), 2)      # continuous mass n m/p = 0.5
    (1, 0.5)
    """
    if isinstance(points, bool) or int(points) != points or points < 50:
        raise ValueError(f"points must be an integer >= 50, got {points!r}")
    if not (isinstance(rel_threshold, (int, float)) and 0 < rel_threshold < 1e-2):
        raise ValueError(f"rel_threshold must be in (0, 1e-2), got {rel_threshold!r}")
    if draws.m is not None and abs(draws.samples_per_feature - 1.0) < 1e-9:
        raise ValueError(f"n m = p (m = {draws.m}): the spectrum of U_m reaches 0 (a hard edge); "
                         "the support scan and the contours need a gap above 0")
    scale = _upper_scale(draws)
    x = np.geomspace(1e-9 * scale, scale, int(points))

    def xrho(v: np.ndarray) -> np.ndarray:
        z = v + 1j * 1e-13 * v
        q = solve(draws, z).q + draws.null_mass / z
        return v * q.imag / math.pi

    on_grid = xrho(x)
    rho_on = on_grid > rel_threshold
    if rho_on[-1] or rho_on[0]:
        raise ResolventConvergenceError("the spectrum scan found density at an end of its range "
                                        f"[{x[0]:.3g}, {x[-1]:.3g}] (m={draws.m})", np.array([x[-1] + 0j]))
    starts = np.flatnonzero(~rho_on[:-1] & rho_on[1:])
    ends = np.flatnonzero(rho_on[:-1] & ~rho_on[1:])
    # bisection of every edge at once (in log x): (outside, inside) brackets
    lo_out, lo_in = x[starts].copy(), x[starts + 1].copy()
    hi_in, hi_out = x[ends].copy(), x[ends + 1].copy()
    for _ in range(40):
        if max(np.max(lo_in / lo_out, initial=1.0), np.max(hi_out / hi_in, initial=1.0)) - 1.0 < 1e-7:
            break
        mid_lo, mid_hi = np.sqrt(lo_out * lo_in), np.sqrt(hi_in * hi_out)
        ins = xrho(np.concatenate([mid_lo, mid_hi])) > rel_threshold
        k = mid_lo.size
        lo_in, lo_out = np.where(ins[:k], mid_lo, lo_in), np.where(ins[:k], lo_out, mid_lo)
        hi_in, hi_out = np.where(ins[k:], mid_hi, hi_in), np.where(ins[k:], hi_out, mid_hi)
    support = [(float(a), float(b)) for a, b in zip(lo_out, hi_out, strict=True)]
    dens = on_grid / x
    mass = tuple(float(np.trapezoid(np.where((x >= lo) & (x <= hi), dens, 0.0), x)) for lo, hi in support)
    return DrawsSpectrum(support=tuple(support), mass=mass, null_mass=draws.null_mass, scale=scale)


_LOG_TOL = 37.0  # ln(1e16): target trapezoid error
_MAX_NODES = 2048


def _bernstein_rho(w: complex, c: float, h: float) -> float:
    """Bernstein-ellipse parameter of the point w for the interval [c - h, c + h] (> 1 off the interval)."""
    s = (w - c) / h
    r = s + np.sqrt(s - 1.0) * np.sqrt(s + 1.0)
    return float(max(abs(r), 1.0 / abs(r)))


def _ellipse_plan(sp: DrawsSpectrum, a_max: float) -> list[tuple[float, float, float, int]]:
    """(centre, half-width, rho, nodes) of Bernstein ellipses in u = log z, one per group of intervals.

    The support of U_m starts close to 0 compared with its width (the sampled-noise bulk), where e^{-a z}
    varies on the scale 1/a: an ellipse in z would need ~a (hi - lo) nodes. In u = log z the interval
    [lo, hi] becomes [log lo, log hi], e^{-a z} varies by O(1) per unit of u wherever it is not negligible,
    and the node count no longer depends on hi/lo. Intervals closer than 5 % (in u) share an ellipse.
    rho = sqrt(rho_out), rho_out the parameter of the nearest point to avoid: the other groups' edges
    (branch cuts) and u = centre +- i pi/2 (where Re z = 0, beyond which e^{-a z} grows).
    """
    groups: list[list[float]] = []
    for lo, hi in sp.support:
        ulo, uhi = math.log(lo), math.log(hi)
        if groups and ulo - groups[-1][1] < 0.05 * min(uhi - ulo, groups[-1][1] - groups[-1][0]):
            groups[-1][1] = uhi
        else:
            groups.append([ulo, uhi])
    out = []
    for k, (ulo, uhi) in enumerate(groups):
        c, h = 0.5 * (ulo + uhi), 0.5 * (uhi - ulo)
        avoid = [complex(v) for j, g in enumerate(groups) if j != k for v in g]
        avoid += [complex(c, 0.5 * math.pi), complex(c, -0.5 * math.pi)]
        rho_out = min(_bernstein_rho(w, c, h) for w in avoid)
        rho = math.sqrt(rho_out)
        n_an = 2.0 * _LOG_TOL / math.log(rho_out)
        theta = np.linspace(0.0, 2.0 * math.pi, 721)
        e = np.exp(1j * theta)
        u = c + 0.5 * h * (rho * e + 1.0 / (rho * e))
        z = np.exp(u)
        du = np.abs(0.5 * h * (rho * e - 1.0 / (rho * e)))
        rate = a_max * np.abs(z) * du if math.isfinite(a_max) else np.zeros_like(du)
        live = a_max * z.real < 45.0 if math.isfinite(a_max) else np.zeros_like(du, bool)
        n_osc = 1.5 * float(np.max(np.where(live, rate, 0.0))) + 16.0
        n = int(min(_MAX_NODES, max(32, math.ceil(n_an + n_osc))))
        out.append((c, h, rho, n + (n % 2)))
    return out


@dataclass(frozen=True)
class DrawsContour(Serializable):
    """Trapezoid nodes on ellipses around the support of U_m, with the one- and two-point quantities.

    Attributes
    ----------
    z, weight : ndarray of complex
        Nodes and dz/(2 pi i) (counter-clockwise): h(U_m) = -sum_j weight_j h(z_j) (U_m - z_j)^{-1}.
    A, E : ndarray of complex
        (1/d) Tr V_m^T R V_m and (1/d^{3/2}) Tr W^T R V_m at the nodes.
    T_pop : ndarray of complex
        (1/Gamma_t^2)(1/d) Tr[V_m^T R_i K_{Sigma_t} R_j V_m] on the node grid (the U~ part of the test loss).
    mass : float
        -sum_j weight_j q_j: the continuous mass n m/p (1 for m = inf minus the invisible atom) seen by the
        contours; compare with ``1 - spectrum.null_mass``.
    spectrum : DrawsSpectrum
    a_max : float
    """

    z: np.ndarray
    weight: np.ndarray
    A: np.ndarray
    E: np.ndarray
    T_pop: np.ndarray = field(repr=False)
    mass: float = 0.0
    spectrum: DrawsSpectrum | None = None
    a_max: float = 0.0


def _node_pieces(draws: DrawsEquations, z: np.ndarray) -> dict[str, np.ndarray]:
    """One-point quantities at nodes of either half plane (the lower one by conjugation)."""
    up = z.imag > 0
    zu = np.where(up, z, np.conj(z))
    res = solve(draws, zu)
    eq, minv = draws.equations, draws.minv
    q, d1, d2 = res.q, res.delta1, res.delta2
    e1, e2 = 1.0 / (1.0 + d1), 1.0 / (1.0 + d2)
    th = minv * e1 + (1.0 - minv) * e2
    D = (th * eq.b2)[:, None] + (e1 * eq.a2e)[:, None] * eq.lam
    x = eq.psi_p * q[:, None] * D
    h = 1.0 / (1.0 + x)
    out = {"q": q, "e1": e1, "e2": e2, "th": th, "h": h, "g": x * h, "S": res.S, "A": res.A, "E": res.E}

    def cj(v: np.ndarray) -> np.ndarray:
        return np.where(up if v.ndim == 1 else up[:, None], v, np.conj(v))

    return {k: cj(v) for k, v in out.items()}


def _two_point_grid(draws: DrawsEquations, P: dict[str, np.ndarray], t: float, delta: float) -> np.ndarray:
    """(e^{-2t} T_{K Sigma} + Delta_t T_K)(z_i, z_j) on the node grid; docs/noise_draws.md §5.

    Given W: Q_1 M Q_2 ~ Qb_1 M Qb_2 + sum_g eps1_g eps2_g Phi_g(M) Qb_1 c_g Qb_2 with c_1 = C + C_n/m,
    c_2 = (1 - 1/m) C_n (the two kinds of rotated draws, weights included) and a 2 x 2 linear system for
    Phi_g(M) = (1/N) Tr C_g Q_1 M Q_2; then T_M = Psi(M) + b^2 [theta1 theta2 (1/d) Tr Q_1 M Q_2 K
    - psi_p Psi(M) (theta2 S_2 + theta1 S_1)], Psi = sum_g w_g eps1_g eps2_g Phi_g. The traces
    (1/d) Tr Qb_1 X Qb_2 Y, X, Y in span{I, K, K_Sigma}, come from the inner leave-one-out over W's columns
    (rfdiff.twopoint's anisotropic step).
    """
    eq, minv = draws.equations, draws.minv
    pp, pn, b2, s2, v2, kap = eq.psi_p, eq.psi_n, eq.b2, eq.s2, eq.v2, eq.a2e
    pi, lam = eq.pi, eq.lam
    q = P["q"]
    qq = np.multiply.outer(q, q)
    G = (P["g"] * pi) @ P["g"].T
    tau0 = pp * qq / (1.0 - G / pp)
    ee = pp * pp * qq
    A0, A1, A2 = ((P["h"] * (pi * lam**j)) @ P["h"].T for j in range(3))
    # entries of the symmetric 3 x 3 trace matrix in the basis (I, K, K_Sigma)
    T00 = tau0
    T01 = A0 * tau0
    T02 = A1 * tau0
    T11 = ee * A0 + A0 * A0 * tau0
    T12 = ee * A1 + A0 * A1 * tau0
    T22 = ee * A2 + A1 * A1 * tau0

    def bil(x: tuple[float, float, float], y: tuple[float, float, float]) -> np.ndarray:
        return (x[0] * y[0] * T00 + (x[0] * y[1] + x[1] * y[0]) * T01 + (x[0] * y[2] + x[2] * y[0]) * T02
                + x[1] * y[1] * T11 + (x[1] * y[2] + x[2] * y[1]) * T12 + x[2] * y[2] * T22)

    C = (v2, 0.0, kap)
    Cn = (s2, b2, 0.0)
    e2t = math.exp(-2.0 * t)
    Mvec = (0.0, delta, e2t)            # M = e^{-2t} K_Sigma + Delta_t K (linear in M: one pass)
    Kvec = (0.0, 1.0, 0.0)
    groups = [((C[0] + minv * Cn[0], C[1] + minv * Cn[1], C[2] + minv * Cn[2]), minv,
               np.multiply.outer(P["e1"], P["e1"]), 1.0 / pn)]
    if minv < 1.0:
        groups.append((((1 - minv) * Cn[0], (1 - minv) * Cn[1], 0.0), 1.0 - minv,
                       np.multiply.outer(P["e2"], P["e2"]), minv / ((1.0 - minv) * pn)))
    ng = len(groups)
    rhs = [groups[k][3] * bil(groups[k][0], Mvec) for k in range(ng)]
    L = [[groups[h][3] * groups[g][2] * bil(groups[h][0], groups[g][0]) for g in range(ng)]
         for h in range(ng)]
    if ng == 1:
        Phi = [rhs[0] / (1.0 - L[0][0])]
    else:
        a, b, c, d = 1.0 - L[0][0], -L[0][1], -L[1][0], 1.0 - L[1][1]
        det = a * d - b * c
        Phi = [(d * rhs[0] - b * rhs[1]) / det, (a * rhs[1] - c * rhs[0]) / det]
    Psi = sum(groups[k][1] * groups[k][2] * Phi[k] for k in range(ng))
    PMK = bil(Mvec, Kvec) + sum(groups[k][2] * Phi[k] * bil(groups[k][0], Kvec) for k in range(ng))
    th = P["th"]
    S = P["S"]
    tt = np.multiply.outer(th, th)
    return Psi + b2 * (tt * PMK - pp * Psi * (np.multiply.outer(np.ones_like(th), th * S)
                                              + np.multiply.outer(th * S, np.ones_like(th))))


def contour(model: RFModel, m: int, tau_max: float = math.inf,
            support: DrawsSpectrum | None = None) -> DrawsContour:
    """Nodes, weights, A, E and the population two-point grid for finite m (docs/noise_draws.md §5).

    The nodes are the trapezoid rule on Bernstein ellipses in u = log z around each group of support
    intervals (see ``_ellipse_plan``), shifted by half a step so that none falls on the real axis.

    Parameters
    ----------
    model : RFModel
        Any discrete rho_Sigma.
    m : int
        Noise draws per point (finite; m = infinity is :func:`rfdiff.twopoint.contour`).
    tau_max : float
        Largest finite tau the nodes must resolve.
    support : DrawsSpectrum, optional
        A precomputed :func:`spectrum` of the same model and m (it is computed otherwise, ~0.8 s).

    Returns
    -------
    DrawsContour

    Examples
    --------
    >>> import rfdiff
    >>> ct = contour(rfdiff.RFModel(psi_p=4, psi_n=1, t=0.1), m=2)
    >>> round(ct.mass, 10)          # n m/p
    0.5
    """
    draws = DrawsEquations.from_model(model, m)
    if draws.m is None:
        raise ValueError("m must be finite here (m = infinity: rfdiff.twopoint.contour)")
    sp = spectrum(draws) if support is None else support
    a_max = 2.0 * model.constants.delta * float(tau_max) / model.psi_p
    zs, ws = [], []
    for c, h, rho, n in _ellipse_plan(sp, a_max):
        e = np.exp(2j * np.pi * (np.arange(n) + 0.5) / n)     # half-step shift: no node on the real axis
        zk = np.exp(c + 0.5 * h * (rho * e + 1.0 / (rho * e)))  # ellipse in u = log z
        zs.append(zk)
        ws.append(zk * 0.5 * h * (rho * e - 1.0 / (rho * e)) / n)   # dz/(2 pi i) = z du/(2 pi i)
    z = np.concatenate(zs)
    weight = np.concatenate(ws)
    P = _node_pieces(draws, z)
    cst = model.constants
    T_pop = _two_point_grid(draws, P, model.t, cst.delta) / cst.gamma2
    mass = float((-(weight * P["q"]).sum()).real)
    return DrawsContour(z=z, weight=weight, A=P["A"], E=P["E"], T_pop=T_pop, mass=mass, spectrum=sp,
                        a_max=a_max)


@dataclass(frozen=True)
class DrawsCurves(Serializable):
    """Limit learning curves of the flow trained on m fixed noise draws per point (ridge lam).

    Attributes
    ----------
    psi_p, psi_n, t : float
    m : int or None
    lam : float
    tau : ndarray
    train, test, gen, score : ndarray
        L_train^m (sampled draws, no penalty), L_test (population), L_gen, E_score.
    contour_mass : float
        Mass seen by the contours (n m/p for finite m; a quadrature diagnostic).
    spectrum : DrawsSpectrum or None
        The support used (None for m = infinity, which delegates to the core).
    """

    psi_p: float
    psi_n: float
    t: float
    m: int | None
    lam: float
    tau: np.ndarray
    train: np.ndarray
    test: np.ndarray
    gen: np.ndarray
    score: np.ndarray
    contour_mass: float
    spectrum: DrawsSpectrum | None = field(default=None, repr=False)



def learning_curves(model: RFModel, m: int | None, tau: float | Sequence[float] | np.ndarray,
                    lam: float = 0.0, support: DrawsSpectrum | None = None) -> DrawsCurves:
    """L_train^m, L_test, L_gen, E_score of the flow with m noise draws per point, at flow times tau.

    The flow on the sampled loss ends at B(tau) = -Delta_t^{-1/2} V_m^T g(U_m),
    g(x) = (1 - e^{-2 Delta_t (x + lam) tau/psi_p})/(x + lam), so with f = -g (docs/noise_draws.md §5)::

        L_train = 1 + (1/d) Tr V_m^T (U_m f^2 + 2 f) V_m                      (one point: A),
        L_test  = 1 + (mu_1^2/Gamma_t^2)(1/d) Tr V_m^T f K_{Sigma_t} f V_m     (two point: T_pop)
                    + mu_*^2 (1/d) Tr V_m^T f^2 V_m + 2 b_t (1/d^{3/2}) Tr W^T f V_m   (one point: A, E),

    each a (double) trapezoid contour integral on :func:`contour`'s ellipses. m = None delegates to the core
    (:func:`rfdiff.twopoint.learning_curves`; with lam > 0, :func:`rfdiff.ridge.ridge_curves`).

    Parameters
    ----------
    model : RFModel
    m : int or None
        Noise draws per point.
    tau : float or array_like
        Flow times >= 0 (inf allowed: the ridge estimator, = :func:`limit_losses`).
    lam : float
        Ridge >= 0.
    support : DrawsSpectrum, optional
        A precomputed :func:`spectrum` (for repeated calls at the same model and m).

    Returns
    -------
    DrawsCurves

    Examples
    --------
    >>> import numpy as np, rfdiff
    >>> m = rfdiff.RFModel(psi_p=4, psi_n=1, t=0.1)
    >>> lc = learning_curves(m, 2, [0.0, 10.0, np.inf])
    >>> float(lc.test[0])
    1.0
    >>> bool(abs(lc.test[2] - limit_losses(4, 1, 0.1, 2).test) < 1e-8)
    True
    """
    if not isinstance(model, RFModel):
        raise TypeError(f"model must be an rfdiff.RFModel, got {type(model).__name__}")
    lam_arr = nonnegative_array("lam", lam)
    if lam_arr.ndim != 0:
        raise ValueError(f"lam must be a single number here, got shape {lam_arr.shape}")
    lam = float(lam_arr)
    try:
        tau_arr = np.asarray(tau, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"tau must be real numbers >= 0, got {tau!r}") from None
    if tau_arr.size == 0 or np.any(np.isnan(tau_arr)) or np.any(tau_arr < 0):
        raise ValueError(f"tau must be >= 0 (inf allowed), got {tau!r}")
    draws = DrawsEquations.from_model(model, m)
    shape = tau_arr.shape
    flat = tau_arr.ravel()
    common = dict(psi_p=model.psi_p, psi_n=model.psi_n, t=model.t, m=draws.m, lam=lam, tau=tau_arr)
    if draws.m is None:
        from .ridge import ridge_curves

        rc = ridge_curves(model, tau_arr, lam)
        return DrawsCurves(train=rc.train, test=rc.test, gen=rc.gen, score=rc.score,
                           contour_mass=rc.contour_mass, **common)
    if lam == 0 and np.any(np.isinf(flat)) and abs(draws.samples_per_feature - 1.0) < 1e-9:
        raise ValueError(f"tau = inf with lam = 0 at n m = p (m = {draws.m}): the test loss diverges there")
    finite = flat[np.isfinite(flat)]
    ct = contour(model, draws.m, float(finite.max()) if finite.size else 0.0, support)
    cst = model.constants
    a = 2.0 * cst.delta * flat / model.psi_p
    zl = np.broadcast_to(ct.z[:, None] + lam, (ct.z.size, flat.size))
    f = np.empty((ct.z.size, flat.size), np.complex128)
    fin = np.isfinite(a)
    f[:, fin] = np.expm1(-a[fin][None, :] * zl[:, fin]) / zl[:, fin]
    f[:, ~fin] = -1.0 / zl[:, ~fin]
    w = ct.weight
    F = w[:, None] * f
    wa = w * ct.A
    j_pop = np.einsum("it,it->t", F, ct.T_pop @ F).real
    j_f2 = -(wa @ (f * f)).real
    j_e = -((w * ct.E) @ f).real
    j_tr = -(wa @ (ct.z[:, None] * f * f + 2.0 * f)).real
    test = 1.0 + cst.mu1**2 * j_pop + cst.mustar2 * j_f2 + 2.0 * cst.b * j_e
    train = 1.0 + j_tr
    zero = flat == 0
    test[zero] = 1.0
    train[zero] = 1.0
    e2t = math.exp(-2.0 * model.t)
    offset = float(model.data.w @ (1.0 / (e2t * model.data.lam + cst.delta)))
    score = ((test - 1.0) / cst.delta + offset).reshape(shape)
    return DrawsCurves(train=train.reshape(shape), test=test.reshape(shape),
                       gen=(test - train).reshape(shape), score=score, contour_mass=ct.mass,
                       spectrum=ct.spectrum, **common)
