"""Timescales read off the learning curves, the memorization threshold n*(p) and phase diagrams.

docs/theory.md §6. Everything here is computed from the limit learning curves of
:func:`rfdiff.twopoint.learning_curves` (any discrete rho_Sigma; the phase maps and n* are for
isotropic data), in the paper's time units
tau = k eta / d^2, beside the spectral times of :func:`rfdiff.dynamics.timescales`.

Definitions (see ``docs/phases.md`` for the measured consequences):

* ``tau_gen_dyn``: the first tau at which E_score(tau) comes within a relative
  tolerance ``score_tol`` of its minimum over tau (default 5 %).
* ``tau_mem_dyn``: the first tau at which L_gen(tau) = L_test - L_train exceeds
  ``gen_threshold`` times its ridge-less value L_gen(inf) (default: half of it), or the
  absolute level ``gen_threshold`` when ``relative=False``. The relative level is the
  default because L_gen already rises to O(1/psi_n) in the generalization window, which
  biases any absolute level.
* ``n_star(psi_p)``: the psi_n at which the ridge-less generalization gap L_gen(inf),
  as a function of psi_n, falls most steeply on log-log axes (minimum of
  d log L_gen(inf) / d log psi_n): below it the flow ends in memorization (L_gen(inf) =
  O(1)), above it L_gen(inf) decays like a power of 1/psi_n. At t -> 0 this crossover
  sharpens into the interpolation threshold n = p.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy.optimize import brentq, minimize_scalar

from . import _mapkernels as _mk
from . import dynamics as _dynamics
from . import resolvent as _resolvent
from . import twopoint as _twopoint
from .errors import QuadratureError, UndefinedQuantityError
from .io import Serializable
from .model import _finite_positive as _check_positive
from .sweep import sweep

if TYPE_CHECKING:
    from .model import RFModel

__all__ = [
    "REGIMES",
    "DynamicalTimescales",
    "PhaseDiagram",
    "dynamical_timescales",
    "n_star",
    "phase_diagram",
]

#: Regime labels of :func:`phase_diagram`, in the order of their integer codes.
REGIMES: tuple[str, ...] = (
    "not yet generalizing",
    "generalization window",
    "memorization",
    "no memorization (n > n*)",
)

_PER_DECADE = 20
_INF = np.array([np.inf])
# rfdiff.spectrum warns when a density is resolved to less than 1e-12 (still ~1e-10): far
# below what the crossings and slopes read here need, and a grid of cells hits it often.
_QUIET = "ignore"
_QUIET_MESSAGE = r"density on .* not resolved"


def _check_fraction(name: str, value: float, upper: float = 1.0) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a real number in (0, {upper}), got {value!r}") from None
    if not math.isfinite(x) or not 0.0 < x < upper:
        raise ValueError(f"{name} must be in (0, {upper}), got {value!r}")
    return x


def _check_thresholds(gen_threshold: float, relative: bool, score_tol: float) -> tuple[float, float]:
    """Validate the reading levels shared by dynamical_timescales and phase_diagram."""
    gen_threshold = _check_positive("gen_threshold", gen_threshold)
    if relative and gen_threshold >= 1.0:
        raise ValueError(f"gen_threshold must be in (0, 1) when relative=True, got {gen_threshold!r}")
    return gen_threshold, _check_fraction("score_tol", score_tol)


def _check_grid(name: str, values: float | Sequence[float] | np.ndarray) -> np.ndarray:
    try:
        arr = np.atleast_1d(np.asarray(values, dtype=np.float64))
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a 1-d sequence of finite numbers > 0, got {values!r}") from None
    if arr.ndim != 1 or arr.size == 0 or not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise ValueError(f"{name} must be a non-empty 1-d sequence of finite numbers > 0, got {values!r}")
    return arr


def _default_grid(tau_max: float) -> np.ndarray:
    hi = max(math.ceil(math.log10(tau_max)), 3)
    return np.logspace(-2, hi, (hi + 2) * _PER_DECADE + 1)


def _crossing(tau: np.ndarray, y: np.ndarray, level: float, above: bool) -> tuple[float, int]:
    """First tau where y crosses ``level`` (upwards if ``above``), linear in log tau; nan if never."""
    hit = y > level if above else y <= level
    if not np.any(hit):
        return math.nan, -1
    j = int(np.argmax(hit))
    if j == 0:
        return float(tau[0]), 0
    x0, x1 = math.log(tau[j - 1]), math.log(tau[j])
    y0, y1 = float(y[j - 1]), float(y[j])
    frac = 0.0 if y1 == y0 else (level - y0) / (y1 - y0)
    return math.exp(x0 + min(max(frac, 0.0), 1.0) * (x1 - x0)), j


@dataclass(frozen=True, eq=False)
class DynamicalTimescales(Serializable):
    """Timescales read off the limit learning curves, beside the spectral ones.

    Attributes
    ----------
    tau_gen_dyn : float
        First tau with E_score(tau) <= (1 + score_tol) * min E_score.
    tau_mem_dyn : float
        First tau with L_gen(tau) > gen_level (nan if never, e.g. an absolute level above L_gen(inf)).
    tau_score_min, score_min : float
        Where E_score is minimal and its minimum.
    gen_inf : float
        L_gen(inf), the ridge-less generalization gap.
    gen_level : float
        The L_gen level used for tau_mem_dyn (gen_threshold * gen_inf if ``relative``).
    gen_threshold, score_tol : float
    relative : bool
    spectral : Timescales or None
        :func:`rfdiff.dynamics.timescales` of the same model (None only inside :func:`phase_diagram`).
    curves : LearningCurves
        The curves on the log grid the times were read from.
    """

    tau_gen_dyn: float
    tau_mem_dyn: float
    tau_score_min: float
    score_min: float
    gen_inf: float
    gen_level: float
    gen_threshold: float
    score_tol: float
    relative: bool
    spectral: _dynamics.Timescales | None
    curves: _twopoint.LearningCurves


def _root(f, a: float, b: float, fallback: float) -> float:
    """exp of the root of f in [a, b] (log tau); the grid interpolation if f does not change sign there.

    A single-tau curve uses its own contour, so at the ~1e-10 level it can disagree with the
    grid value that bracketed the crossing; then the interpolated crossing is kept.
    """
    fa, fb = f(a), f(b)
    if fa == 0.0:
        return math.exp(a)
    if fa * fb > 0:
        return fallback
    return math.exp(brentq(f, a, b, xtol=1e-6))


def _read_times(model: RFModel, grid: np.ndarray, lc: _twopoint.LearningCurves, gen_inf: float,
                gen_threshold: float, relative: bool, score_tol: float, refine: bool,
                spectrum=None) -> tuple[float, float, float, float, float]:
    score, gen = lc.score, lc.gen
    k = int(np.argmin(score))
    tau_min, s_min = float(grid[k]), float(score[k])

    def one(tau: float):
        return _twopoint.learning_curves(model, np.array([tau]), spectrum)

    if refine and 0 < k < grid.size - 1:
        res = minimize_scalar(lambda x: float(one(math.exp(x)).score[0]),
                              bounds=(math.log(grid[k - 1]), math.log(grid[k + 1])), method="bounded",
                              options={"xatol": 1e-4})
        if res.fun < s_min:
            tau_min, s_min = math.exp(float(res.x)), float(res.fun)
    s_level = s_min * (1.0 + score_tol)
    tau_gen, j = _crossing(grid, score, s_level, above=False)
    if refine and j > 0:
        tau_gen = _root(lambda x: float(one(math.exp(x)).score[0]) - s_level,
                        math.log(grid[j - 1]), math.log(min(grid[j], tau_min)), tau_gen)
    level = gen_threshold * gen_inf if relative else gen_threshold
    tau_mem, j = _crossing(grid, gen, level, above=True)
    if refine and j > 0:
        tau_mem = _root(lambda x: float(one(math.exp(x)).gen[0]) - level,
                        math.log(grid[j - 1]), math.log(grid[j]), tau_mem)
    return tau_gen, tau_mem, tau_min, s_min, level


def dynamical_timescales(model: RFModel, tau: Sequence[float] | np.ndarray | None = None, *,
                         gen_threshold: float = 0.5, relative: bool = True, score_tol: float = 0.05,
                         refine: bool = True) -> DynamicalTimescales:
    """tau_gen and tau_mem read off the limit learning curves (docs/theory.md §6.3).

    Parameters
    ----------
    model : RFModel
        Any discrete data spectrum (the two-point curves handle it).
    tau : array_like, optional
        Increasing log grid of flow times > 0 on which the curves are evaluated. Default:
        20 points per decade from 1e-2 to at least 10^3 times the loss-weighted spectral
        memorization time (so L_gen has reached L_gen(inf)).
    gen_threshold : float, default 0.5
        tau_mem_dyn is the first tau where L_gen exceeds ``gen_threshold * L_gen(inf)``
        (``relative=True``, threshold in (0, 1)) or ``gen_threshold`` itself (``relative=False``).
    relative : bool, default True
    score_tol : float, default 0.05
        tau_gen_dyn is the first tau where E_score <= (1 + score_tol) * min_tau E_score.
    refine : bool, default True
        Refine the grid crossings by a root-finder (and the minimum by a bounded search) in
        log tau on the curves themselves; otherwise linear interpolation in log tau.

    Returns
    -------
    DynamicalTimescales
        With the spectral :class:`~rfdiff.dynamics.Timescales` in ``.spectral``.

    Examples
    --------
    >>> import rfdiff
    >>> from rfdiff.phases import dynamical_timescales
    >>> dt = dynamical_timescales(rfdiff.RFModel(psi_p=64, psi_n=8, t=0.1))
    >>> bool(dt.tau_gen_dyn < dt.spectral.tau_gen < dt.tau_mem_dyn)
    True
    """
    gen_threshold, score_tol = _check_thresholds(gen_threshold, relative, score_tol)
    if tau is not None:
        grid = _check_grid("tau", tau)
        if grid.size < 3 or np.any(np.diff(grid) <= 0):
            raise ValueError("tau must be a strictly increasing grid of at least 3 times > 0")
    spectrum = model.spectrum()
    spectral = _dynamics.timescales(model)
    if tau is None:
        grid = _default_grid(1e3 * max(spectral.tau_mem_loss, spectral.tau_mem, spectral.tau_gen))
    lc = _twopoint.learning_curves(model, np.append(grid, np.inf), spectrum)
    gen_inf = float(lc.gen[-1])
    curves = _twopoint.LearningCurves(tau=grid, train=lc.train[:-1], test=lc.test[:-1], gen=lc.gen[:-1],
                                      score=lc.score[:-1], contour=lc.contour)
    tg, tm, tmin, smin, level = _read_times(model, grid, curves, gen_inf, gen_threshold, relative,
                                            score_tol, refine, spectrum)
    return DynamicalTimescales(tau_gen_dyn=tg, tau_mem_dyn=tm, tau_score_min=tmin, score_min=smin,
                               gen_inf=gen_inf, gen_level=level, gen_threshold=gen_threshold,
                               score_tol=score_tol, relative=relative, spectral=spectral, curves=curves)


# ---------------------------------------------------------------- n*(p)


def _gen_inf(psi_p: float, psi_n: np.ndarray, t: float, activation: str,
             accuracy: float | None = None) -> np.ndarray:
    """L_gen(inf) at psi_n: on the log-ellipse of :mod:`rfdiff._mapkernels` (absolute error
    ~``accuracy``), or with ``accuracy=None`` by :func:`rfdiff.twopoint.learning_curves` (reference)."""
    from .model import RFModel

    if accuracy is not None:
        cst = RFModel(psi_p, float(psi_n[0]), t, activation).constants
        out = []
        for x in psi_n:
            eq = _resolvent.Equations.from_constants(psi_p, float(x), cst)
            ct = _contour_checked(eq, _mk.nodes_for(eq, accuracy, _mk._INF_ANGLE), _mk._INF_ANGLE)
            test, train = _mk.losses(ct, cst, psi_p, _INF)
            out.append(test[0] - train[0])
        return np.array(out, dtype=np.float64)
    with warnings.catch_warnings():
        warnings.filterwarnings(_QUIET, message=_QUIET_MESSAGE, category=RuntimeWarning)
        out = [_twopoint.learning_curves(RFModel(psi_p, float(x), t, activation), [np.inf]).gen[0]
               for x in psi_n]
    return np.array(out, dtype=np.float64)


def _contour_checked(eq: _resolvent.Equations, n: int, angle: float = _mk._ANGLE) -> _mk.MapContour:
    """The log-ellipse contour, with its mass -sum w s checked against 1 (it encloses nu_s)."""
    ct = _mk.map_contour(eq, 1.0, n, angle)
    if not abs(ct.mass - 1.0) < 1e-8:
        raise QuadratureError(f"phase-map contour at psi_p={eq.psi_p}, psi_n={eq.psi_n} sees mass {ct.mass} "
                           "of nu_s instead of 1")
    return ct


def n_star(psi_p: float, t: float = 0.1, *, activation: str = "tanh", span: float = 4.0,
           points: int = 13, accuracy: float | None = 1e-10) -> float:
    """Memorization threshold psi_n*(psi_p): steepest log-log descent of L_gen(inf) in psi_n.

    L_gen(inf) = L_test(inf) - L_train(inf) of the min-norm (tau = inf) solution is O(1) for
    psi_n < psi_p (the flow ends in memorization) and decays as a power of 1/psi_n beyond;
    psi_n* is where d log L_gen(inf) / d log psi_n is most negative. It is located on a
    log grid of ``points`` values of psi_n in [psi_p/span, psi_p*span], then on a
    9-point grid between the neighbours of the coarse minimum, by a parabola through the
    slopes around the finer minimum. Nothing assumes psi_n* = psi_p; tests measure it
    (within ~15 % at t = 0.1, ~10 % at t = 0.01; docs/phases.md).

    Parameters
    ----------
    psi_p : float
        p/d, > 0.
    t : float, default 0.1
        Diffusion time, > 0.
    activation : str, default "tanh"
    span : float, default 4.0
        Search range factor, > 1.
    points : int, default 13
        Coarse grid size, >= 5.
    accuracy : float or None, default 1e-10
        Absolute accuracy of each L_gen(inf), computed on the spectrum-free log-ellipse contour of
        :func:`phase_diagram` (~1 ms each); None: by :func:`rfdiff.twopoint.learning_curves`
        (per-component contours at ~1e-15, 10-100x slower). The two agree to ~1e-7 in psi_n*.

    Returns
    -------
    float

    Raises
    ------
    UndefinedQuantityError
        If L_gen(inf) is not positive on the range or its steepest descent sits at an end of it
        (widen ``span``).

    Examples
    --------
    >>> from rfdiff.phases import n_star
    >>> 0.8 < n_star(256, t=0.1) / 256 < 1.0
    True
    """
    psi_p = _check_positive("psi_p", psi_p)
    t = _check_positive("t", t)
    span = _check_positive("span", span)
    if span <= 1.0:
        raise ValueError(f"span must be > 1, got {span!r}")
    if int(points) != points or points < 5:
        raise ValueError(f"points must be an integer >= 5, got {points!r}")
    if accuracy is not None:
        accuracy = _check_fraction("accuracy", accuracy, 1e-3)
    x = np.linspace(-math.log(span), math.log(span), int(points)) + math.log(psi_p)
    g = _gen_inf(psi_p, np.exp(x), t, activation, accuracy)
    if np.any(g <= 0):
        raise UndefinedQuantityError(
            "n*: L_gen(inf) is not positive on the search range "
            f"psi_n in [{psi_p / span:.4g}, {psi_p * span:.4g}] (psi_p={psi_p:g}, t={t:g}); "
            "its log-log slope is undefined"
        )
    slope = np.gradient(np.log(g), x)
    k = int(np.argmin(slope))
    if k in (0, x.size - 1):
        raise UndefinedQuantityError(
            f"n*: the steepest descent of L_gen(inf) lies at an end of the search range psi_n in "
            f"[{psi_p / span:.4g}, {psi_p * span:.4g}] (psi_p={psi_p:g}, t={t:g}); widen span (got {span})"
        )
    xf = np.linspace(x[k - 1], x[k + 1], 9)
    gf = _gen_inf(psi_p, np.exp(xf), t, activation, accuracy)
    sf = np.gradient(np.log(gf), xf)
    m = int(np.clip(np.argmin(sf), 1, xf.size - 2))
    c2, c1, _ = np.polyfit(xf[m - 1:m + 2], sf[m - 1:m + 2], 2)
    xs = -c1 / (2.0 * c2) if c2 > 0 else xf[m]
    return float(math.exp(min(max(xs, xf[0]), xf[-1])))


_n_star = n_star  # phase_diagram's n_star parameter shadows the function


# ---------------------------------------------------------------- phase diagram


@dataclass(frozen=True, eq=False)
class PhaseDiagram(Serializable):
    """L_gen maps and regimes over (psi_p, psi_n) at one or several tau.

    Attributes
    ----------
    psi_p, psi_n : ndarray
        Axes: row i is psi_p[i], column j is psi_n[j].
    tau : ndarray
        The requested times (1-d).
    gen : ndarray
        L_gen at (tau[k], psi_p[i], psi_n[j]): shape (len(tau), n_p, n_n), or (n_p, n_n)
        when a scalar tau was given. ``test`` and ``train`` alike.
    regime : ndarray of int
        Codes into :data:`REGIMES`, same shape as ``gen``: 0 if tau < tau_gen, else 3 if
        psi_n > n_star, else 1 if tau < tau_mem, else 2.
    tau_gen, tau_mem : ndarray
        Dynamical boundaries (n_p, n_n), as defined in :func:`dynamical_timescales` (fast path:
        refined to ~1e-4 in ln tau; reference path: 20-per-decade grid interpolation).
    n_star : ndarray
        psi_n*(psi_p[i]) from :func:`n_star`.
    t : float
    nodes : ndarray of int or None
        Contour nodes per cell (``method="fast"``).
    quad_error : ndarray or None
        Per cell, max |L_gen(n nodes) - L_gen(n/2 nodes)| over the requested tau and inf: the
        error of the n/2-node rule, so (geometric convergence) ~ its square bounds that of the
        n-node values (``method="fast"``).
    """

    psi_p: np.ndarray
    psi_n: np.ndarray
    tau: np.ndarray
    gen: np.ndarray
    train: np.ndarray
    test: np.ndarray
    regime: np.ndarray
    tau_gen: np.ndarray
    tau_mem: np.ndarray
    n_star: np.ndarray
    t: float
    nodes: np.ndarray | None = None
    quad_error: np.ndarray | None = None

    @property
    def labels(self) -> np.ndarray:
        """Regime labels as strings, same shape as ``regime``."""
        return np.asarray(REGIMES, dtype=object)[self.regime]


def _cell(point: list) -> list[float]:
    """Worker of :func:`phase_diagram`: [psi_p, psi_n, t, activation, gen_threshold, relative, score_tol,
    taus...] -> [tau_gen, tau_mem, (gen, train, test) per tau]."""
    from .model import RFModel

    psi_p, psi_n, t, act, thr, rel, tol, *taus = point
    model = RFModel(psi_p, psi_n, t, act)
    tau_req = np.array([math.inf if x is None else float(x) for x in taus])
    grid = _default_grid(1e9)
    with warnings.catch_warnings():
        warnings.filterwarnings(_QUIET, message=_QUIET_MESSAGE, category=RuntimeWarning)
        lc = _twopoint.learning_curves(model, np.concatenate([grid, [np.inf], tau_req]))
    n = grid.size
    curves = _twopoint.LearningCurves(tau=grid, train=lc.train[:n], test=lc.test[:n], gen=lc.gen[:n],
                                      score=lc.score[:n], contour=lc.contour)
    tg, tm, *_ = _read_times(model, grid, curves, float(lc.gen[n]), thr, bool(rel), tol, False)
    out = [tg, tm]
    for k in range(tau_req.size):
        out += [float(lc.gen[n + 1 + k]), float(lc.train[n + 1 + k]), float(lc.test[n + 1 + k])]
    return out


# 4 points per decade over the reference grid's range; crossings and the E_score minimum are then
# refined on two nested 9-point sub-grids (final spacing 0.58/64 ~ 0.009 in ln tau)
_COARSE = np.logspace(-2, 9, 45)
_SUB = 9


class _Curve:
    """L_test, L_train, L_gen, E_score of one cell at any tau, on its log-ellipse contour."""

    def __init__(self, ct: _mk.MapContour, cst, psi_p: float) -> None:
        self.ct, self.cst, self.psi_p = ct, cst, psi_p

    def __call__(self, tau: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        test, train = _mk.losses(self.ct, self.cst, self.psi_p, tau)
        cst = self.cst
        return test, train, test - train, (test - 1.0 + cst.delta / cst.gamma2) / cst.delta


def _refine_min(curve: _Curve, lo: float, hi: float) -> tuple[float, float]:
    """Minimum of E_score in [lo, hi] (ln tau): two nested 9-point grids, then the vertex of the
    parabola through the smallest value and its neighbours (spacing ~0.036: vertex value good to
    ~1e-6 relative, far below the 5 % score_tol band it sets)."""
    for _ in range(2):
        x = np.linspace(lo, hi, _SUB)
        y = curve(np.exp(x))[3]
        k = min(max(int(np.argmin(y)), 1), _SUB - 2)
        lo, hi = float(x[k - 1]), float(x[k + 1])
    best = int(np.argmin(y))
    d = x[1] - x[0]
    y0, y1, y2 = float(y[k - 1]), float(y[k]), float(y[k + 1])
    curv = y0 - 2.0 * y1 + y2
    if best == k and curv > 0:
        u = 0.5 * (y0 - y2) / curv  # vertex offset in units of d, |u| <= 1/2 when y1 is the minimum
        return float(x[k] + u * d), y1 - 0.25 * (y0 - y2) * u
    return float(x[best]), float(y[best])


def _refine_crossings(curve: _Curve, brackets: list[tuple[int, float, float, float, bool]]) -> list[float]:
    """First crossings of levels by curve()[which] in brackets [lo, hi] of ln tau, all at once:
    two nested 9-point grids each, then linear interpolation in ln tau (as :func:`_crossing`).
    Each bracket is (which, lo, hi, level, above) with the crossing known to lie in [lo, hi]."""
    spans = [(lo, hi) for _w, lo, hi, _l, _a in brackets]
    out = [math.nan] * len(brackets)
    for level_k in range(2):
        xs = [np.linspace(lo, hi, _SUB) for lo, hi in spans]
        vals = curve(np.exp(np.concatenate(xs)))
        for b, (which, _lo, _hi, level, above) in enumerate(brackets):
            x = xs[b]
            y = vals[which][b * _SUB:(b + 1) * _SUB]
            hit = y > level if above else y <= level
            j = max(int(np.argmax(hit)) if np.any(hit) else _SUB - 1, 1)
            spans[b] = (float(x[j - 1]), float(x[j]))
            if level_k == 1:
                tau, _ = _crossing(np.exp(x[j - 1:j + 1]), y[j - 1:j + 1], level, above)
                out[b] = math.exp(x[j]) if math.isnan(tau) else tau
    return out


def _cell_fast(eq: _resolvent.Equations, cst, tau_req: np.ndarray, thr: float, rel: bool, tol: float,
               accuracy: float) -> list[float]:
    """[tau_gen, tau_mem, n_nodes, error estimate, (gen, train, test) per tau] of one cell."""
    n = _mk.nodes_for(eq, accuracy)
    curve = _Curve(_contour_checked(eq, n), cst, eq.psi_p)
    nc = _COARSE.size
    test, train, gen, score = curve(np.concatenate([_COARSE, _INF, tau_req]))
    # the n/2-node rule on the same ellipse: |difference| bounds its error, hence (geometric
    # convergence) the n-node error by ~ its square
    test2, train2 = _mk.losses(curve.ct, cst, eq.psi_p, np.concatenate([_INF, tau_req]), step=2)
    err = float(np.max(np.abs((test2 - train2) - gen[nc:])))
    gen_inf = float(gen[nc])
    lx = np.log(_COARSE)
    # E_score minimum, then its first crossing of (1 + tol) min
    k = int(np.argmin(score[:nc]))
    x_min, s_min = float(lx[k]), float(score[k])
    if 0 < k < nc - 1:
        x_min, s_min = _refine_min(curve, float(lx[k - 1]), float(lx[k + 1]))
    s_level = s_min * (1.0 + tol)
    brackets = []
    xs = np.append(lx[lx < x_min], x_min)
    ys = np.append(score[:nc][lx < x_min], s_min)
    j = int(np.argmax(ys <= s_level))
    tau_gen = float(np.exp(xs[0])) if j == 0 else math.nan
    if j > 0:
        brackets.append((3, float(xs[j - 1]), float(xs[j]), s_level, False))
    # L_gen: first crossing of the level
    g_level = thr * gen_inf if rel else thr
    hit = gen[:nc] > g_level
    tau_mem = math.nan
    if np.any(hit):
        j = int(np.argmax(hit))
        if j == 0:
            tau_mem = float(_COARSE[0])
        else:
            brackets.append((2, float(lx[j - 1]), float(lx[j]), g_level, True))
    if brackets:
        roots = _refine_crossings(curve, brackets)
        for (which, *_), root in zip(brackets, roots):
            if which == 3:
                tau_gen = root
            else:
                tau_mem = root
    out = [tau_gen, tau_mem, float(n), err]
    for i in range(tau_req.size):
        out += [float(gen[nc + 1 + i]), float(train[nc + 1 + i]), float(test[nc + 1 + i])]
    return out


def _row_fast(point: list) -> list[list[float]]:
    """Worker of :func:`phase_diagram`: one psi_p row, all psi_n, and psi_n*(psi_p) if asked.

    [psi_p, [psi_n...], t, activation, gen_threshold, relative, score_tol, accuracy, want_n_star,
    taus...] -> [[n_star or nan], cell per psi_n...]."""
    from .model import RFModel

    psi_p, pns, t, act, thr, rel, tol, acc, want, *taus = point
    cst = RFModel(psi_p, pns[0], t, act).constants
    tau_req = np.array([math.inf if x is None else float(x) for x in taus])
    rows: list[list[float]] = [[_n_star(psi_p, t, activation=act, accuracy=acc) if want else math.nan]]
    for pn in pns:
        eq = _resolvent.Equations.from_constants(psi_p, pn, cst)
        rows.append(_cell_fast(eq, cst, tau_req, thr, bool(rel), tol, acc))
    return rows


def _n_star_point(point: list) -> float:
    psi_p, t, act = point
    return _n_star(psi_p, t, activation=act, accuracy=None)


def phase_diagram(psi_p: Sequence[float] | np.ndarray, psi_n: Sequence[float] | np.ndarray, t: float = 0.1,
                  tau: float | Sequence[float] | np.ndarray = 1e3, *, activation: str = "tanh",
                  gen_threshold: float = 0.5, relative: bool = True, score_tol: float = 0.05,
                  n_star: Sequence[float] | np.ndarray | None = None, executor: Executor | None = None,
                  workers: int | None = None, accuracy: float = 1e-9,
                  method: str = "fast") -> PhaseDiagram:
    """L_gen over (psi_p, psi_n) at the given tau, with regimes and boundaries (paper Fig. 5C).

    ``method="fast"`` (default): per cell, one spectrum-free contour (an ellipse in log z around
    [s_t^2, upper bound], :mod:`rfdiff._mapkernels`, ~150 nodes) gives L_gen, L_train, L_test at
    the requested tau to absolute ~``accuracy``; E_score and L_gen on 4 points per decade
    (1e-2 to 1e9) locate the E_score minimum and the crossings, refined on nested sub-grids to
    ~1e-4 in ln tau (the definitions of :func:`dynamical_timescales`). psi_n* comes from
    :func:`n_star` on the same contours. One task per psi_p row through :func:`rfdiff.sweep.sweep`.

    ``method="reference"``: the earlier path, one :func:`rfdiff.twopoint.learning_curves` per cell
    on 20 points per decade (crossings by linear interpolation in ln tau, no refinement) and
    :func:`n_star` with reference contours; 50-200x slower, kept for validation.

    Parameters
    ----------
    psi_p, psi_n : sequence of float
        Axes, each > 0.
    t : float, default 0.1
    tau : float or sequence of float, default 1e3
        Flow time(s) >= 0, ``np.inf`` allowed.
    activation : str, default "tanh"
    gen_threshold, relative, score_tol
        As in :func:`dynamical_timescales`.
    n_star : sequence of float, optional
        psi_n*(psi_p[i]) if already known (e.g. from an earlier diagram at the same t);
        default: computed by :func:`n_star` for every psi_p.
    executor : concurrent.futures.Executor, optional
        Passed to :func:`rfdiff.sweep.sweep` (default: its own process pool of ``workers``).
    workers : int, optional
    accuracy : float, default 1e-9
        Target absolute accuracy of the losses (``method="fast"``), in (0, 1e-3).
    method : {"fast", "reference"}

    Returns
    -------
    PhaseDiagram

    Examples
    --------
    >>> from concurrent.futures import ThreadPoolExecutor
    >>> from rfdiff.phases import phase_diagram
    >>> with ThreadPoolExecutor(1) as ex:
    ...     pd = phase_diagram([256], [32, 1024], t=0.1, tau=[1.0, 1e5], executor=ex)
    >>> pd.gen.shape
    (2, 1, 2)
    >>> [str(x) for x in pd.labels[:, 0, 0]], str(pd.labels[1, 0, 1])
    (['not yet generalizing', 'memorization'], 'no memorization (n > n*)')
    """
    pp = _check_grid("psi_p", psi_p)
    pn = _check_grid("psi_n", psi_n)
    t = _check_positive("t", t)
    scalar = np.ndim(tau) == 0
    tau_arr = np.atleast_1d(np.asarray(tau, dtype=np.float64))
    if tau_arr.ndim != 1 or tau_arr.size == 0 or np.any(np.isnan(tau_arr)) or np.any(tau_arr < 0):
        raise ValueError(f"tau must be >= 0 (inf allowed), got {tau!r}")
    gen_threshold, score_tol = _check_thresholds(gen_threshold, relative, score_tol)
    accuracy = _check_fraction("accuracy", accuracy, 1e-3)
    if method not in ("fast", "reference"):
        raise ValueError(f"method must be 'fast' or 'reference', got {method!r}")
    if n_star is not None:
        ns = _check_grid("n_star", n_star)
        if ns.size != pp.size:
            raise ValueError(f"n_star must have one value per psi_p ({pp.size}), got {ns.size}")
    taus = [None if math.isinf(x) else float(x) for x in tau_arr]  # JSON-friendly cache keys
    shape = (pp.size, pn.size)
    nodes = quad_error = None
    if method == "fast":
        from .model import RFModel

        RFModel(float(pp[0]), float(pn[0]), t, activation)  # validates the activation here
        grid = [[float(a), [float(b) for b in pn], t, activation, gen_threshold, bool(relative), score_tol,
                 accuracy, n_star is None, *taus] for a in pp]
        rows = sweep(_row_fast, grid, executor=executor, workers=workers)
        if n_star is None:
            ns = np.array([r[0][0] for r in rows], dtype=np.float64)
        cells = np.array([c for r in rows for c in r[1:]], dtype=np.float64)
        nodes = cells[:, 2].reshape(shape).astype(np.int64)
        quad_error = cells[:, 3].reshape(shape)
        cells = np.delete(cells, [2, 3], axis=1)
        worst = float(np.max(quad_error))
        if worst > 10.0 * math.sqrt(accuracy):
            # geometric convergence: error(n) ~ error(n/2)^2, so this may exceed ~100 accuracy
            warnings.warn(f"phase_diagram: the n/2-node rule differs by {worst:.2g} from the n-node one "
                          f"(expected < {10.0 * math.sqrt(accuracy):.2g}); losses may be less accurate than "
                          f"accuracy={accuracy:g}", RuntimeWarning, stacklevel=2)
    else:
        grid = [[float(a), float(b), t, activation, gen_threshold, bool(relative), score_tol, *taus]
                for a in pp for b in pn]
        cells = np.array(sweep(_cell, grid, executor=executor, workers=workers), dtype=np.float64)
        if n_star is None:
            ns = np.array(sweep(_n_star_point, [[float(a), t, activation] for a in pp], executor=executor,
                                workers=workers), dtype=np.float64)
    tg = cells[:, 0].reshape(shape)
    tm = cells[:, 1].reshape(shape)
    vals = cells[:, 2:].reshape(pp.size, pn.size, tau_arr.size, 3).transpose(3, 2, 0, 1)
    T = tau_arr[:, None, None]
    no_mem = (pn[None, :] > ns[:, None])[None]
    regime = np.where(T < tg[None], 0, np.where(no_mem, 3, np.where(T < tm[None], 1, 2)))
    regime = np.broadcast_to(regime, (tau_arr.size, *shape)).astype(np.int8)
    gen, train, test = vals
    if scalar:
        gen, train, test, regime = gen[0], train[0], test[0], regime[0]
    return PhaseDiagram(psi_p=pp, psi_n=pn, tau=tau_arr, gen=gen, train=train, test=test, regime=regime,
                        tau_gen=tg, tau_mem=tm, n_star=ns, t=t, nodes=nodes, quad_error=quad_error)
