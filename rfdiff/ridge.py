"""Ridge (weight decay) at tau = infinity: closed-form limit losses (docs/ridge.md).

Convention (docs/theory.md §9): the penalty (Delta_t lam/(d p)) ||A||_F^2 is added to L_train, so the
flow sees U + lam I and its end point is the ridge estimator

    B = A/sqrt(p) = -Delta_t^{-1/2} V^T (U + lam)^{-1}.

The reported L_train is the denoising part only (no penalty). With R = (U + lam)^{-1},
V = V~ = c W/sqrt(d), c^2 = mu_1^2 Delta_t/Gamma_t^2, K = W W^T/d, K_Sigma = W Sigma W^T/d and
U~ = (mu_1^2/Gamma_t^2) K_{Sigma_t} + mu_*^2 (docs/theory.md §3), U R = I - lam R gives (docs/ridge.md §2)

    L_train = 1 - (1/d) Tr[V^T R V] - lam (1/d) Tr[V^T R^2 V]
            = 1 - c^2 psi_p [ s + lam ds/dz ],
    L_test  = 1 + (1/d) Tr[V^T R U~ R V] - 2 (1/d) Tr[V^T R V~]
            = 1 + c^2 psi_p [ (mu_1^2/Gamma_t^2) d/dzeta (e^{-2t} r + Delta_t s) + mu_*^2 ds/dz - 2 s ],

all at z = -lam, where s = (1/p) Tr K (U - z)^{-1} and r = (1/p) Tr K_Sigma (U - z)^{-1} are the
auxiliaries of Theorem 3.1 and d/dzeta = -d/d(b_t^2) (U - zeta K is the model at b_t^2 - zeta, and
d/dzeta (U - zeta K - z)^{-1} = R K R). The derivatives are exact: implicit differentiation of the
Theorem 3.1 system at the solution returned by :func:`rfdiff.resolvent.solve`. At lam = 0 the train loss
reduces to docs/theory.md §7's 1 - c^2 psi_p s; with lam > 0 it has the extra term -c^2 psi_p lam ds/dz.
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
from .resolvent import Equations, solve

__all__ = [
    "OnePointDerivatives", "RidgeCurves", "RidgeLimit", "RidgeMap", "RidgeNStar", "one_point_derivatives",
    "ridge_curves", "ridge_limit", "ridge_map", "ridge_n_star",
]


@dataclass(frozen=True)
class OnePointDerivatives(Serializable):
    """Theorem 3.1 at z with the exact first derivatives of s and r in z and in zeta = -b_t^2.

    Attributes
    ----------
    z : ndarray of complex
    q, r, s : ndarray of complex
        The solution (docs/theory.md §4).
    ds_dz, dr_dz : ndarray of complex
        d s/dz = (1/p) Tr K (U - z)^{-2}, d r/dz likewise with K_Sigma.
    ds_dzeta, dr_dzeta : ndarray of complex
        d/dzeta at zeta = 0 of the traces for U - zeta K: (1/p) Tr[K R K R], (1/p) Tr[K_Sigma R K R].
    residual : ndarray
        The solver's relative residual at the solution.
    jacobian_cond : ndarray
        Condition number of the 2 x 2 Jacobian used for the implicit derivatives.
    """

    z: np.ndarray
    q: np.ndarray
    r: np.ndarray
    s: np.ndarray
    ds_dz: np.ndarray
    dr_dz: np.ndarray
    ds_dzeta: np.ndarray
    dr_dzeta: np.ndarray
    residual: np.ndarray
    jacobian_cond: np.ndarray



def one_point_derivatives(equations: Equations,
                          z: complex | Sequence[complex] | np.ndarray) -> OnePointDerivatives:
    """Solve Theorem 3.1 at z and differentiate s, r in z and zeta = -b_t^2 (implicit function theorem).

    The system in the unknowns (q, r) is F1 = r - <lam t>, F2 = psi_p (s_t^2 - z) + psi_p v_t^2/D
    + (1 - psi_p)/q - s/q^2 with t_k = 1/(s_hat + lam_k r_hat), s = <t>; b_t^2 enters only through
    s_hat = b_t^2 psi_p + 1/q. Its Jacobian J in (q, r) and the partial derivatives in (z, b_t^2) give
    d(q, r) = -J^{-1} dF, then ds = (ds/dq) dq + (ds/dr) dr + (partial ds).

    Parameters
    ----------
    equations : Equations
        The Theorem 3.1 system (:meth:`Equations.from_model`).
    z : complex or array_like
        Spectral parameters (either half plane; real z off the support gives real values).

    Returns
    -------
    OnePointDerivatives

    Examples
    --------
    >>> import rfdiff
    >>> eq = rfdiff.RFModel(psi_p=8, psi_n=2, t=0.1).equations
    >>> h = 1e-5
    >>> d = one_point_derivatives(eq, [-0.1 + h, -0.1 - h, -0.1])
    >>> fd = (d.s[0] - d.s[1]) / (2 * h)
    >>> bool(abs(fd - d.ds_dz[2]) < 1e-7 * abs(d.ds_dz[2]))
    True
    """
    zarr = np.atleast_1d(np.asarray(z, dtype=np.complex128))
    shape = np.shape(z)
    flat = zarr.ravel()
    res = solve(equations, flat, lower_half_plane=True)
    q, r = res.q, res.r
    pp, pn = equations.psi_p, equations.psi_n
    a2e, b2, v2 = equations.a2e, equations.b2, equations.v2
    lam, pi = equations.lam, equations.pi
    al = pp * a2e / pn
    be = pp * v2 / pn
    c = pp * a2e
    D = 1.0 + al * r + be * q
    rhat = c / D
    shat = b2 * pp + 1.0 / q
    t = 1.0 / (shat[:, None] + lam[None, :] * rhat[:, None])     # (N, K)
    t2 = t * t
    s = t @ pi
    # partials of t_k
    dt_dq = t2 * (1.0 / (q * q))[:, None] + t2 * lam[None, :] * (c * be / (D * D))[:, None]
    dt_dr = t2 * lam[None, :] * (c * al / (D * D))[:, None]
    dt_db = -pp * t2
    ds_dq, ds_dr, ds_db = dt_dq @ pi, dt_dr @ pi, dt_db @ pi
    dR_dq, dR_dr, dR_db = dt_dq @ (pi * lam), dt_dr @ (pi * lam), dt_db @ (pi * lam)
    # Jacobian of (F1, F2) in (q, r)
    j11 = -dR_dq
    j12 = 1.0 - dR_dr
    j21 = -pp * v2 * be / (D * D) - (1.0 - pp) / (q * q) - ds_dq / (q * q) + 2.0 * s / q**3
    j22 = -pp * v2 * al / (D * D) - ds_dr / (q * q)
    det = j11 * j22 - j12 * j21
    # parameter partials: z enters F2 only (-psi_p); b2 through t
    f1_z, f2_z = np.zeros_like(q), np.full_like(q, -pp)
    f1_b, f2_b = -dR_db, -ds_db / (q * q)

    def implicit(f1: np.ndarray, f2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        dq = -(j22 * f1 - j12 * f2) / det
        dr = -(-j21 * f1 + j11 * f2) / det
        return dq, dr

    dq_z, dr_z = implicit(f1_z, f2_z)
    dq_b, dr_b = implicit(f1_b, f2_b)
    ds_z = ds_dq * dq_z + ds_dr * dr_z
    ds_b = ds_dq * dq_b + ds_dr * dr_b + ds_db
    jac = np.stack([np.stack([j11, j12], -1), np.stack([j21, j22], -1)], -2)
    cond = np.linalg.cond(jac)
    out_shape = shape if shape else ()

    def rs(x: np.ndarray) -> np.ndarray:
        return x.reshape(out_shape)

    return OnePointDerivatives(
        z=rs(flat), q=rs(q), r=rs(r), s=rs(s), ds_dz=rs(ds_z), dr_dz=rs(dr_z), ds_dzeta=rs(-ds_b),
        dr_dzeta=rs(-dr_b), residual=rs(res.residual), jacobian_cond=rs(cond),
    )


@dataclass(frozen=True)
class RidgeLimit(Serializable):
    """Limit losses of the ridge estimator (the flow with penalty lam at tau = infinity).

    Attributes
    ----------
    psi_p, psi_n, t : float
        The setting.
    activation : str
        Name of the activation.
    data_values, data_weights : tuple of float
        rho_Sigma.
    lam : ndarray
        Ridge parameters (>= 0), as given.
    train, test, gen, score : ndarray
        L_train (denoising part, no penalty), L_test, L_gen = L_test - L_train and
        E_score = (L_test - 1)/Delta_t + (1/d) Tr Sigma_t^{-1}.
    one_point : OnePointDerivatives
        s, r and their derivatives at z = -lam.
    max_imag : float
        Largest |Im| of the complex-arithmetic losses, relative to 1 (roundoff: the values are real).
    max_residual : float
        Largest solver residual.
    """

    psi_p: float
    psi_n: float
    t: float
    activation: str
    data_values: tuple[float, ...]
    data_weights: tuple[float, ...]
    lam: np.ndarray
    train: np.ndarray
    test: np.ndarray
    gen: np.ndarray
    score: np.ndarray
    one_point: OnePointDerivatives = field(repr=False)
    max_imag: float = 0.0
    max_residual: float = 0.0


def ridge_limit(psi_p: float, psi_n: float, t: float, lam: float | Sequence[float] | np.ndarray, *,
                activation: Any = "tanh", data: DataSpectrum | None = None) -> RidgeLimit:
    """L_train, L_test, L_gen, E_score of the ridge estimator in the limit d -> infinity (tau = infinity).

    Parameters
    ----------
    psi_p, psi_n, t : float
        p/d, n/d and the diffusion time (> 0).
    lam : float or array_like
        Ridge parameter(s) lam >= 0 (penalty (Delta_t lam/(d p)) ||A||_F^2; the flow sees U + lam I).
        lam = 0 is the ridge-less (min-norm) end point of the paper's flow.
    activation : str, Activation or callable
        As in :class:`rfdiff.RFModel`.
    data : DataSpectrum, optional
        Any discrete rho_Sigma (default N(0, I)).

    Returns
    -------
    RidgeLimit
        Arrays of the shape of ``lam``.

    Raises
    ------
    ValueError
        On bad parameters, or lam = 0 with s_t^2 = 0 (z = 0 is then on the spectrum).

    Examples
    --------
    >>> res = ridge_limit(8, 2, 0.1, [0.0, 1e-2, 1e6])
    >>> bool(res.gen[0] > res.gen[1] > 0)          # the ridge shrinks the generalisation gap
    True
    >>> bool(abs(res.test[2] - 1) < 1e-5)           # lam -> infinity: A -> 0, L = 1
    True
    """
    lam_arr = nonnegative_array("lam", lam)
    model = RFModel(psi_p, psi_n, t, activation=activation,
                    data=DataSpectrum.isotropic() if data is None else data)
    cst = model.constants
    eq = model.equations
    if np.any(lam_arr == 0) and not cst.s2 > 0:
        raise ValueError(f"lam = 0 needs s_t^2 > 0 (z = 0 below the spectrum), got s_t^2 = {cst.s2!r}")
    flat = lam_arr.ravel()
    op = one_point_derivatives(eq, -flat.astype(np.complex128))
    c2 = cst.mu1**2 * cst.delta / cst.gamma2
    e2t = math.exp(-2.0 * model.t)
    pop = (cst.mu1**2 / cst.gamma2) * (e2t * op.dr_dzeta + cst.delta * op.ds_dzeta)
    train_c = 1.0 - c2 * model.psi_p * (op.s + flat * op.ds_dz)
    test_c = 1.0 + c2 * model.psi_p * (pop + cst.mustar2 * op.ds_dz - 2.0 * op.s)
    max_imag = float(max(np.abs(train_c.imag).max(), np.abs(test_c.imag).max()))
    scale = 1.0 + float(max(np.abs(train_c.real).max(), np.abs(test_c.real).max()))
    if not max_imag <= 1e-8 * scale:
        # z = -lam lies below the spectrum, where s and r are real: an imaginary part beyond rounding
        # means the solver's point is not the real boundary value, and the real part is not the loss
        raise ResolventConvergenceError(
            f"ridge_limit: the losses at z = -lam are not real (|Im| = {max_imag:.3g} against a rounding "
            f"bound 1e-8 x {scale:.3g}; psi_p={psi_p:g}, psi_n={psi_n:g}, t={t:g})")
    train, test = train_c.real, test_c.real
    lam_d, w_d = model.data.lam, model.data.w
    offset = float(w_d @ (1.0 / (e2t * lam_d + cst.delta)))
    score = (test - 1.0) / cst.delta + offset
    shp = lam_arr.shape
    return RidgeLimit(
        psi_p=model.psi_p, psi_n=model.psi_n, t=model.t, activation=model.activation.name,
        data_values=model.data.values, data_weights=model.data.weights, lam=lam_arr,
        train=train.reshape(shp), test=test.reshape(shp), gen=(test - train).reshape(shp),
        score=score.reshape(shp), one_point=op, max_imag=max_imag,
        max_residual=float(np.max(op.residual)),
    )


@dataclass(frozen=True)
class RidgeNStar(Serializable):
    """Memorization threshold of the ridge estimator: steepest log-log descent of L_gen(inf) in psi_n.

    Attributes
    ----------
    psi_p, lam, t : float
        The setting.
    n_star : float
        psi_n* (parabolic refinement of the steepest slope on the fine grid).
    slope : float
        d log L_gen / d log psi_n at psi_n* (the sharpness of the transition; -1.3 at lam = 0, t = 0.1).
    psi_n, gen : ndarray
        The coarse grid and L_gen(inf) on it.
    """

    psi_p: float
    lam: float
    t: float
    n_star: float
    slope: float
    psi_n: np.ndarray = field(repr=False)
    gen: np.ndarray = field(repr=False)



def ridge_n_star(psi_p: float, lam: float, t: float = 0.1, *, activation: Any = "tanh",
                 data: DataSpectrum | None = None, span: float = 16.0, points: int = 33,
                 max_span: float | None = None) -> RidgeNStar:
    """psi_n*(psi_p, lam): where log L_gen(inf) of the ridge estimator falls fastest with log psi_n.

    The same definition and search as :func:`rfdiff.n_star` (:func:`rfdiff.phases.steepest_descent`),
    with L_gen(inf) from the closed form :func:`ridge_limit` instead of the contour path: an independent
    computation of ``rfdiff.n_star(psi_p, t, ridge=lam)``.

    Raises
    ------
    UndefinedQuantityError
        If L_gen(inf) is not positive on the range, or the steepest descent sits at an end of it.

    Examples
    --------
    >>> r0 = ridge_n_star(64, 0.0)
    >>> import rfdiff
    >>> abs(r0.n_star / rfdiff.n_star(64, 0.1) - 1) < 0.02
    True
    >>> bool(ridge_n_star(64, 0.1).n_star < r0.n_star)     # a ridge lowers the threshold
    True
    """
    from .phases import steepest_descent

    lam = float(nonnegative_array("lam", lam))
    if not (span > 1 and math.isfinite(span)):
        raise ValueError(f"span must be a finite number > 1, got {span!r}")
    if isinstance(points, bool) or int(points) != points or points < 5:
        raise ValueError(f"points must be an integer >= 5, got {points!r}")

    def gen(psi_n: np.ndarray) -> np.ndarray:
        return np.array([float(ridge_limit(psi_p, float(v), t, lam, activation=activation, data=data).gen)
                         for v in psi_n])

    n_star, slope = steepest_descent(gen, psi_p, span=span, points=int(points),
                                     max_span=span if max_span is None else float(max_span),
                                     what=f"ridge n* (lam={lam:g}, t={t:g})")
    grid = np.exp(np.linspace(-math.log(span), math.log(span), int(points)) + math.log(psi_p))
    return RidgeNStar(psi_p=float(psi_p), lam=lam, t=float(t), n_star=n_star, slope=slope, psi_n=grid,
                      gen=gen(grid))


@dataclass(frozen=True)
class RidgeCurves(Serializable):
    """Limit learning curves of the gradient flow with a ridge, at (tau, lam) pairs.

    Attributes
    ----------
    tau, lam : ndarray
        Broadcast flow times (inf allowed) and ridge parameters.
    train, test, gen, score : ndarray
        As in :class:`rfdiff.twopoint.LearningCurves` (L_train without the penalty).
    contour_mass : float
        The contours' quadrature diagnostic farthest from 1 (:class:`rfdiff.twopoint.Contour`).
    quad_error : float
        The largest contour error estimate (:class:`rfdiff.twopoint.LearningCurves`).
    """

    tau: np.ndarray
    lam: np.ndarray
    train: np.ndarray
    test: np.ndarray
    gen: np.ndarray
    score: np.ndarray
    contour_mass: float
    quad_error: float


def ridge_curves(model: RFModel, tau: float | Sequence[float] | np.ndarray,
                 lam: float | Sequence[float] | np.ndarray) -> RidgeCurves:
    """L_train, L_test, L_gen, E_score of the flow with ridge lam at time tau (the limit d -> infinity).

    The flow sees U + lam I; the curves at each distinct lam are those of
    ``RFModel(..., ridge=lam).learning_curves`` (:func:`rfdiff.twopoint.learning_curves`, certified to its
    accuracy), gathered over broadcast (tau, lam) pairs. At tau = inf they are checked against the
    closed form :func:`ridge_limit` (docs/ridge.md §4).

    Parameters
    ----------
    model : RFModel
        Any discrete rho_Sigma (its own ``ridge`` is ignored).
    tau, lam : float or array_like
        Broadcast against each other; tau >= 0 (inf allowed), lam >= 0.

    Returns
    -------
    RidgeCurves

    Examples
    --------
    >>> import numpy as np, rfdiff
    >>> m = rfdiff.RFModel(psi_p=8, psi_n=2, t=0.1)
    >>> rc = ridge_curves(m, [0.0, np.inf, np.inf], [0.1, 0.1, 0.0])
    >>> float(rc.test[0])
    1.0
    >>> bool(abs(rc.test[1] - ridge_limit(8, 2, 0.1, 0.1).test) < 1e-9)
    True
    """
    import dataclasses

    lam_arr = nonnegative_array("lam", lam)
    try:
        tau_arr = np.asarray(tau, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"tau must be real numbers >= 0, got {tau!r}") from None
    if tau_arr.size == 0 or np.any(np.isnan(tau_arr)) or np.any(tau_arr < 0):
        raise ValueError(f"tau must be >= 0 (inf allowed), got {tau!r}")
    tb, lb = np.broadcast_arrays(tau_arr, lam_arr)
    shape = tb.shape
    tf, lf = tb.ravel(), lb.ravel()
    out = {k: np.empty(tf.size) for k in ("train", "test", "gen", "score")}
    mass, err = 1.0, 0.0
    for value in np.unique(lf):
        sel = lf == value
        lc = dataclasses.replace(model, ridge=float(value)).learning_curves(tf[sel])
        for k in out:
            out[k][sel] = getattr(lc, k)
        mass = max(mass, lc.contour.mass, key=lambda x: abs(x - 1.0))
        err = max(err, lc.quad_error)
    return RidgeCurves(tau=tb.copy(), lam=lb.copy(), **{k: v.reshape(shape) for k, v in out.items()},
                       contour_mass=float(mass), quad_error=float(err))


@dataclass(frozen=True)
class RidgeMap(Serializable):
    """Limit losses of the flow with a ridge over a psi_n x lam grid at fixed psi_p, t and tau.

    Attributes
    ----------
    psi_p, t, tau : float
        The setting (tau = inf: the ridge estimator).
    activation : str
        Name of the activation.
    data_values, data_weights : tuple of float
        rho_Sigma.
    psi_n, lam : ndarray
        The grid axes, as given (1-D).
    train, test, gen, score : ndarray
        Shape (psi_n.size, lam.size): L_train (denoising part, no penalty), L_test, L_gen = L_test - L_train
        and E_score.
    method : str
        The route used: ``"closed"`` (:func:`ridge_limit`, tau = inf only) or ``"contour"``
        (``RFModel(ridge=lam).learning_curves``).
    error_estimate : float
        The route's accuracy diagnostic, largest over the grid: for ``"closed"`` the Theorem 3.1 solver's
        relative residual plus the relative imaginary part of the complex-arithmetic losses (both roundoff);
        for ``"contour"`` the contour quadrature's error estimate (:class:`rfdiff.twopoint.LearningCurves`).
    """

    psi_p: float
    t: float
    tau: float
    activation: str
    data_values: tuple[float, ...]
    data_weights: tuple[float, ...]
    psi_n: np.ndarray
    lam: np.ndarray
    train: np.ndarray
    test: np.ndarray
    gen: np.ndarray
    score: np.ndarray
    method: str
    error_estimate: float


def _check_axis(name: str, values: Any, *, positive: bool) -> np.ndarray:
    if isinstance(values, bool) or (isinstance(values, np.ndarray) and values.dtype == bool):
        raise TypeError(f"{name} must be real numbers, not bool")
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be real numbers, got {values!r}") from None
    arr = np.atleast_1d(arr)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D sequence, got shape {arr.shape}")
    bad = ~np.isfinite(arr) | ((arr <= 0) if positive else (arr < 0))
    if np.any(bad):
        raise ValueError(f"{name} must be finite and {'> 0' if positive else '>= 0'}, got {values!r}")
    return arr


def ridge_map(psi_p: float, psi_n: Sequence[float] | np.ndarray, lams: Sequence[float] | np.ndarray,
              t: float, tau: float = math.inf, *, activation: Any = "tanh", data: DataSpectrum | None = None,
              method: str = "auto") -> RidgeMap:
    """L_train, L_test, L_gen, E_score of the flow with a ridge over a (psi_n, lam) grid (d -> infinity).

    The issue-12 phase map over (psi_n, lam) at fixed psi_p and tau. At tau = inf the default route is the
    closed form :func:`ridge_limit` (one Theorem 3.1 solve per psi_n for all lam, ~1 ms per row); at finite
    tau it is the contour path ``RFModel(..., ridge=lam).learning_curves([tau])`` per cell (a few ms to a few
    tens of ms each). The threshold line of the map is :func:`ridge_n_star`.

    Parameters
    ----------
    psi_p : float
        p/d (> 0).
    psi_n : array_like
        n/d values (> 0), the first axis of the result.
    lams : array_like
        Ridge parameters lam >= 0 (penalty (Delta_t lam/(d p)) ||A||_F^2), the second axis.
    t : float
        Diffusion time (> 0).
    tau : float
        Flow time >= 0; inf (the default) is the ridge estimator.
    activation : str, Activation or callable
        As in :class:`rfdiff.RFModel`.
    data : DataSpectrum, optional
        Any discrete rho_Sigma (default N(0, I)).
    method : {"auto", "closed", "contour"}
        ``"auto"``: closed form at tau = inf, contour otherwise. ``"closed"`` needs tau = inf;
        ``"contour"`` works at every tau (the independent route at tau = inf).

    Returns
    -------
    RidgeMap
        Arrays of shape (len(psi_n), len(lams)).

    Raises
    ------
    ValueError
        On bad parameters, ``method="closed"`` at finite tau, or lam = 0 at tau = inf with s_t^2 = 0.

    Examples
    --------
    >>> import numpy as np
    >>> m = ridge_map(16, [2.0, 8.0, 32.0], [0.0, 0.01, 0.1, 1.0], t=0.1)
    >>> m.gen.shape, m.method
    ((3, 4), 'closed')
    >>> bool(np.all(np.diff(m.gen, axis=0) < 0))   # more data, smaller gap, at every lam
    True
    >>> bool(np.all(np.diff(m.gen, axis=1) < 0))   # more ridge, smaller gap, at every psi_n
    True
    """
    pn = _check_axis("psi_n", psi_n, positive=True)
    lam = _check_axis("lams", lams, positive=False)
    if isinstance(tau, bool) or not isinstance(tau, (int, float, np.integer, np.floating)):
        raise TypeError(f"tau must be a real number >= 0 (inf allowed), got {tau!r}")
    tau = float(tau)
    if not tau >= 0:
        raise ValueError(f"tau must be >= 0 (inf allowed), got {tau!r}")
    if method not in ("auto", "closed", "contour"):
        raise ValueError(f"method must be 'auto', 'closed' or 'contour', got {method!r}")
    if method == "closed" and tau != math.inf:
        raise ValueError(f"method='closed' is the tau = inf closed form, got tau = {tau!r}")
    route = ("closed" if tau == math.inf else "contour") if method == "auto" else method
    shape = (pn.size, lam.size)
    out = {k: np.empty(shape) for k in ("train", "test", "gen", "score")}
    err = 0.0
    dat = DataSpectrum.isotropic() if data is None else data
    for i, v in enumerate(pn):
        if route == "closed":
            res = ridge_limit(psi_p, float(v), t, lam, activation=activation, data=dat)
            for k in out:
                out[k][i] = getattr(res, k)
            err = max(err, res.max_residual + res.max_imag)
        else:
            for j, lv in enumerate(lam):
                lc = RFModel(psi_p, float(v), t, activation=activation, data=dat,
                             ridge=float(lv)).learning_curves([tau])
                for k in out:
                    out[k][i, j] = getattr(lc, k)[0]
                err = max(err, float(lc.quad_error))
    model = RFModel(psi_p, float(pn[0]), t, activation=activation, data=dat)
    return RidgeMap(psi_p=model.psi_p, t=model.t, tau=tau, activation=model.activation.name,
                    data_values=model.data.values, data_weights=model.data.weights, psi_n=pn.copy(),
                    lam=lam.copy(), **out, method=route, error_estimate=float(err))
