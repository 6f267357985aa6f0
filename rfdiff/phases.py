"""Timescales read off the learning curves, the memorization threshold n*(p) and phase diagrams.

docs/theory.md §6. Everything here is computed from the limit learning curves of
:func:`rfdiff.twopoint.learning_curves` (any discrete rho_Sigma for the dynamical times; the phase maps
and n* are for isotropic data), in the paper's time units tau = k eta / d^2, beside the spectral times
of :func:`rfdiff.dynamics.timescales`.

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

Reading the times: the curves are evaluated on a log grid (4 points per decade, 3 for the phase maps,
from 1e-2 to 20 times psi_p/(Delta_t s_t^2), 40 relaxation times of the slowest mode, U >= s_t^2 I); the
E_score minimum and the crossings are bracketed there, the curves evaluated once more at Chebyshev
points of every bracket on the same contour, and the minimum and the first crossings taken from the
interpolating polynomials (``_PLANS`` gives their error); every evaluation carries the contour's error
estimate, and the largest over all the tau read is reported.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass

import numpy as np

from . import twopoint as _twopoint
from ._numerics import chebyshev as _chebyshev
from ._numerics.arguments import finite_nonnegative
from ._numerics.arguments import finite_positive as _check_positive
from .constants import Constants
from .dynamics import SpectralComponent, SpectralTimescales
from .errors import UndefinedQuantityError
from .io import Serializable
from .model import RFModel
from .resolvent import Equations
from .sweep import sweep

__all__ = [
    "REGIMES",
    "DynamicalTimescales",
    "PhaseDiagram",
    "Timescales",
    "dynamical_timescales",
    "first_crossing",
    "n_star",
    "phase_diagram",
    "steepest_descent",
]

#: Regime labels of :func:`phase_diagram`, in the order of their integer codes.
REGIMES: tuple[str, ...] = (
    "not yet generalizing",
    "generalization window",
    "memorization",
    "no memorization (n > n*)",
)

#: reading plans: grid points per decade, Chebyshev points on the bracket of the E_score minimum (two grid
#: intervals) and on each crossing's (one interval). The curves are bounded and analytic in ln tau for
#: |Im ln tau| < pi/2 (sums of e^{-lambda tau}, lambda >= 0), so interpolation on a bracket of half-width h
#: errs by ~rho^-m, rho = pi/(2h) + sqrt(1 + (pi/(2h))^2), of the curves' scale: "precise"
#: (dynamical_timescales; h = 0.58, 0.29): 5.6^-14 ~ 3e-11 and 10.9^-10 ~ 4e-11; "map" (phase_diagram;
#: h = 0.77, 0.38): 4.6^-10 ~ 2e-7 and 8.3^-8 ~ 5e-8. Measured against Brent's root and minimum on the
#: same contour (tests/test_phases.py): the times to <= 1e-5 relative (map) and 3e-9 (precise).
_PLANS = {"precise": (4, 14, 10), "map": (3, 10, 8)}
_INF = np.array([np.inf])


def _check_fraction(name: str, value: float, upper: float = 1.0) -> float:
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a real number in (0, {upper}), got bool")
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a real number in (0, {upper}), got {value!r}") from None
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
    if isinstance(values, (bool, np.bool_)):
        raise TypeError(f"{name} must be numbers > 0, got bool")
    try:
        arr = np.atleast_1d(np.asarray(values, dtype=np.float64))
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a 1-d sequence of finite numbers > 0, got {values!r}") from None
    if arr.ndim != 1 or arr.size == 0 or not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise ValueError(f"{name} must be a non-empty 1-d sequence of finite numbers > 0, got {values!r}")
    return arr


def _grid(eq: Equations, cst: Constants, per_decade: int, ridge: float = 0.0) -> np.ndarray:
    """Log grid from 1e-2 to at least 20 psi_p/(Delta_t (s_t^2 + ridge)) and 1e3, at whole decades: every
    mode of the flow has relaxed by e^-40 there (the slowest, z = s_t^2 + ridge, decays like
    e^{-2 Delta_t (s_t^2 + ridge) tau/psi_p}, U >= s_t^2 I), so the curves sit at their tau = inf values."""
    top = max(20.0 * eq.psi_p / (cst.delta * (eq.s2 + ridge)), 1e3)
    return _log_grid(math.ceil(math.log10(top)), per_decade)


@functools.lru_cache(maxsize=64)
def _log_grid(hi: int, per_decade: int) -> np.ndarray:
    grid = np.logspace(-2, hi, (hi + 2) * per_decade + 1)
    grid.flags.writeable = False
    return grid


def first_crossing(tau: np.ndarray, y: np.ndarray, level: float, above: bool) -> tuple[float, int]:
    """First tau where y crosses ``level`` (upwards if ``above``, else downwards to <= level), linear in
    log tau between the bracketing grid points; (nan, -1) if it never does.

    Examples
    --------
    >>> round(first_crossing(np.array([1.0, 10.0, 100.0]), np.array([0.0, 0.5, 1.0]), 0.75, True)[0], 3)
    31.623
    """
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


class _Reader:
    """L_test, L_train, L_gen, E_score of one setting at any tau on one contour, with the largest error
    estimate over everything evaluated (``worst``)."""

    def __init__(self, lc: _twopoint.LearningCurves) -> None:
        self.lc = lc
        self.worst = lc.quad_error

    def __call__(self, tau: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        out = self.lc.at(tau)
        if out.contour is not self.lc.contour:  # these tau needed more nodes: keep the finer contour
            self.lc = out
        self.worst = max(self.worst, out.quad_error)
        return out.test, out.train, out.gen, out.score


def _cheb_nodes(lo: float, hi: float, m: int) -> np.ndarray:
    """The m Chebyshev points of the first kind on [lo, hi], ascending."""
    return 0.5 * (lo + hi) + 0.5 * (hi - lo) * _chebyshev.points(m)


class _Interp:
    """The polynomial interpolant, in ln tau, of values at :func:`_cheb_nodes` (lo, hi, m)."""

    def __init__(self, lo: float, hi: float, y: np.ndarray) -> None:
        self.lo, self.hi = lo, hi
        self.c = _chebyshev.coefficients(y)

    def _x(self, t: float) -> float:
        return 0.5 * (self.lo + self.hi) + 0.5 * (self.hi - self.lo) * t

    def _t(self, x: float) -> float:
        return (2.0 * x - self.lo - self.hi) / (self.hi - self.lo)

    def minimum(self) -> tuple[float, float]:
        """(x, value) of the smallest value on [lo, hi]."""
        t, v = _chebyshev.minimum(self.c)
        return self._x(t), float(v)

    def crossing(self, level: float, lo: float, hi: float) -> float:
        """The first x in [lo, hi] where the interpolant equals ``level`` (the bracket inside [self.lo,
        self.hi], with the level crossed in it); hi if rounding hides the crossing."""
        return self._x(_chebyshev.crossing(self.c, float(level), self._t(lo), self._t(hi)))


@dataclass(frozen=True, eq=False)
class _Read:
    tau_gen: float
    tau_mem: float
    tau_min: float
    score_min: float
    gen_inf: float
    level: float
    quad_error: float
    grid: np.ndarray
    lc: _twopoint.LearningCurves


def _read(eq: Equations, cst: Constants, extra: np.ndarray, thr: float, rel: bool, tol: float,
          accuracy: float, strategy: str, plan: str, refine: bool = True,
          grid: np.ndarray | None = None, ridge: float = 0.0) -> _Read:
    """tau_gen, tau_mem, the E_score minimum and L_gen(inf) of one setting (module notes), and the
    curves at ``extra`` tau (they follow the grid and inf in ``lc``)."""
    per_decade, m_min, m_cross = _PLANS[plan]
    if not refine:
        per_decade = 20
    grid = _grid(eq, cst, per_decade, ridge) if grid is None else grid
    lc = _twopoint.learning_curves(eq, cst, np.concatenate([grid, _INF, extra]), ridge=ridge,
                                   strategy=strategy, accuracy=accuracy)
    curve = _Reader(lc)
    nc = grid.size
    score, gen = lc.score[:nc], lc.gen[:nc]
    gen_inf = float(lc.gen[nc])
    lx = np.log(grid)
    k = int(np.argmin(score))
    level = thr * gen_inf if rel else thr
    hit = gen > level
    j_mem = int(hit.argmax()) if hit.any() else -1
    if not refine:
        x_min, s_min = float(lx[k]), float(score[k])
        xs, ys = np.append(lx[lx < x_min], x_min), np.append(score[lx < x_min], s_min)
        tau_gen = first_crossing(np.exp(xs), ys, s_min * (1.0 + tol), above=False)[0]
        tau_mem = math.nan if j_mem < 0 else first_crossing(grid, gen, level, above=True)[0]
        return _Read(tau_gen=tau_gen, tau_mem=tau_mem, tau_min=math.exp(x_min), score_min=s_min,
                     gen_inf=gen_inf, level=level, quad_error=curve.worst, grid=grid, lc=lc)
    # one evaluation on Chebyshev points of every bracket: the minimum's (two grid intervals), tau_gen's
    # at the grid minimum's level (the refined level is lower, so it may move right: checked below) and
    # tau_mem's; then the interpolants give the minimum and the first crossings
    spans: dict[str, tuple[float, float, int]] = {}
    if 0 < k < nc - 1:
        spans["min"] = (float(lx[k - 1]), float(lx[k + 1]), m_min)
    j0 = int(np.argmax(score[:k + 1] <= score[k] * (1.0 + tol)))
    if j0 > 0 and not (0 < k < nc - 1 and j0 >= k):
        spans["gen"] = (float(lx[j0 - 1]), float(lx[j0]), m_cross)
    if j_mem > 0:
        spans["mem"] = (float(lx[j_mem - 1]), float(lx[j_mem]), m_cross)
    interp = _interpolants(curve, spans)
    if "min" in interp:
        x_min, s_min = interp["min"].minimum()
    else:
        x_min, s_min = float(lx[k]), float(score[k])
    s_level = s_min * (1.0 + tol)
    xs = np.append(lx[lx < x_min], x_min)
    ys = np.append(score[lx < x_min], s_min)
    j = int(np.argmax(ys <= s_level))
    tau_gen = float(np.exp(xs[0]))
    if j > 0:
        lo, hi = float(xs[j - 1]), float(xs[j])
        covering = [f for f in (interp.get("gen"), interp.get("min"))
                    if f is not None and f.lo <= lo and hi <= f.hi]
        if not covering:  # the refined level moved the crossing out of the evaluated brackets
            covering = [_interpolants(curve, {"gen": (lo, hi, m_cross)})["gen"]]
        tau_gen = math.exp(covering[0].crossing(s_level, lo, hi))
    tau_mem = math.nan
    if j_mem == 0:
        tau_mem = float(grid[0])
    elif j_mem > 0:
        f = interp["mem"]
        tau_mem = math.exp(f.crossing(level, f.lo, f.hi))
    return _Read(tau_gen=tau_gen, tau_mem=tau_mem, tau_min=math.exp(x_min), score_min=s_min, gen_inf=gen_inf,
                 level=level, quad_error=curve.worst, grid=grid, lc=lc)


def _interpolants(curve: _Reader, spans: dict[str, tuple[float, float, int]]) -> dict[str, _Interp]:
    """E_score ("min", "gen") or L_gen ("mem") interpolants on Chebyshev points of each span, by one
    evaluation of the curves."""
    if not spans:
        return {}
    xs = {name: _cheb_nodes(lo, hi, m) for name, (lo, hi, m) in spans.items()}
    _test, _train, gen, score = curve(np.exp(np.concatenate(list(xs.values()))))
    out = {}
    start = 0
    for name, x in xs.items():
        y = (gen if name == "mem" else score)[start:start + x.size]
        out[name] = _Interp(spans[name][0], spans[name][1], y)
        start += x.size
    return out


@dataclass(frozen=True, eq=False)
class DynamicalTimescales(Serializable):
    """Timescales read off the limit learning curves.

    Attributes
    ----------
    tau_gen_dyn : float
        First tau with E_score(tau) <= (1 + score_tol) * min E_score.
    tau_mem_dyn : float
        First tau with L_gen(tau) > gen_level (nan if L_gen never exceeds the level, e.g. an absolute
        level above L_gen(inf): documented, not a failure).
    tau_score_min, score_min : float
        Where E_score is minimal and its minimum.
    gen_inf : float
        L_gen(inf), the ridge-less generalization gap.
    gen_level : float
        The L_gen level used for tau_mem_dyn (gen_threshold * gen_inf if ``relative``).
    gen_threshold, score_tol : float
    relative : bool
    quad_error : float
        Largest contour error estimate over every tau evaluated (grid and refinements).
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
    quad_error: float
    curves: _twopoint.LearningCurves


def dynamical_timescales(eq: Equations, cst: Constants, tau: Sequence[float] | np.ndarray | None = None, *,
                         gen_threshold: float = 0.5, relative: bool = True, score_tol: float = 0.05,
                         refine: bool = True, accuracy: float = 1e-10, ridge: float = 0.0
                         ) -> DynamicalTimescales:
    """tau_gen and tau_mem read off the limit learning curves (docs/theory.md §6.3).

    Parameters
    ----------
    eq, cst : Equations, Constants
        The setting (any discrete data spectrum).
    tau : array_like, optional
        Increasing log grid of flow times > 0 on which the curves are bracketed. Default: 4 points
        per decade (20 with ``refine=False``) from 1e-2 to at least 20 psi_p/(Delta_t (s_t^2 + ridge))
        and 1e3, at whole decades (40 relaxation times of the slowest mode: the curves have reached their
        tau = inf values).
    gen_threshold : float, default 0.5
        tau_mem_dyn is the first tau where L_gen exceeds ``gen_threshold * L_gen(inf)``
        (``relative=True``, threshold in (0, 1)) or ``gen_threshold`` itself (``relative=False``).
    relative : bool, default True
    score_tol : float, default 0.05
        tau_gen_dyn is the first tau where E_score <= (1 + score_tol) * min_tau E_score.
    refine : bool, default True
        Refine the grid crossings (and the minimum) on nested sub-grids in ln tau on the same contour;
        otherwise linear interpolation in ln tau on the grid.
    accuracy : float, default 1e-10
        Accuracy of the learning curves (:func:`rfdiff.twopoint.learning_curves`).
    ridge : float, default 0
        The flow with weight decay lam (L_gen(inf) is then that of the ridge estimator).

    Returns
    -------
    DynamicalTimescales

    Examples
    --------
    >>> import rfdiff
    >>> m = rfdiff.RFModel(psi_p=64, psi_n=8, t=0.1)
    >>> dt = dynamical_timescales(m.equations, m.constants)
    >>> bool(dt.tau_gen_dyn < 20 < 2000 < dt.tau_mem_dyn)
    True
    """
    gen_threshold, score_tol = _check_thresholds(gen_threshold, relative, score_tol)
    grid = None
    if tau is not None:
        grid = _check_grid("tau", tau)
        if grid.size < 3 or np.any(np.diff(grid) <= 0):
            raise ValueError("tau must be a strictly increasing grid of at least 3 times > 0")
    r = _read(eq, cst, np.empty(0), gen_threshold, bool(relative), score_tol, accuracy, "log", "precise",
              refine=refine, grid=grid, ridge=finite_nonnegative("ridge", ridge))
    nc = r.grid.size
    lc = r.lc
    curves = _twopoint.LearningCurves(
        tau=r.grid, train=lc.train[:nc], test=lc.test[:nc], gen=lc.gen[:nc], score=lc.score[:nc],
        ridge=lc.ridge, quad_error=lc.quad_error, accuracy=lc.accuracy, contour=lc.contour,
        constants=lc.constants, strategy=lc.strategy)
    return DynamicalTimescales(tau_gen_dyn=r.tau_gen, tau_mem_dyn=r.tau_mem, tau_score_min=r.tau_min,
                               score_min=r.score_min, gen_inf=r.gen_inf, gen_level=r.level,
                               gen_threshold=gen_threshold, score_tol=score_tol, relative=bool(relative),
                               quad_error=r.quad_error, curves=curves)


@dataclass(frozen=True, eq=False)
class Timescales(Serializable):
    """Spectral timescales of every component and, when computed, the dynamical ones.

    The spectral fields (``tau_gen``, ``tau_mem``, ``tau_mem_loss``, ``components``, ``flags``, ...) are
    those of :class:`rfdiff.dynamics.SpectralTimescales` (``.spectral``); ``tau_gen_dyn`` and
    ``tau_mem_dyn`` those of :class:`DynamicalTimescales` (``.dynamical``; nan when not computed).
    """

    spectral: SpectralTimescales
    dynamical: DynamicalTimescales | None = None

    tau_gen = property(lambda self: self.spectral.tau_gen, doc="Population time (centre of rho_2).")
    lam_gen = property(lambda self: self.spectral.lam_gen)
    tau_gen_edge = property(lambda self: self.spectral.tau_gen_edge, doc="Lower edge of rho_2's time.")
    lam_gen_edge = property(lambda self: self.spectral.lam_gen_edge)
    tau_mem = property(lambda self: self.spectral.tau_mem, doc="Lower edge of rho_1's time (or None).")
    lam_mem = property(lambda self: self.spectral.lam_mem)
    tau_mem_loss = property(lambda self: self.spectral.tau_mem_loss, doc="Loss-weighted slowest time.")
    lam_mem_loss = property(lambda self: self.spectral.lam_mem_loss)
    tau_mem_asymptotic = property(lambda self: self.spectral.tau_mem_asymptotic)
    share_threshold = property(lambda self: self.spectral.share_threshold)
    tau_mem_governing = property(lambda self: self.spectral.tau_mem_governing,
                                 doc="Time of the memorization component carrying most of the loss.")
    tau_mem_mismatch = property(lambda self: self.spectral.tau_mem_mismatch,
                                doc="The headline tau_mem differs from tau_mem_governing by > 3x.")
    flags = property(lambda self: self.spectral.flags, doc="Warnings on how to read the numbers.")

    @property
    def components(self) -> tuple[SpectralComponent, ...]:
        """Every support component with its mass, loss share and times."""
        return self.spectral.components

    @property
    def tau_gen_dyn(self) -> float:
        """Dynamical tau_gen (E_score within ``score_tol`` of its minimum); nan if not computed."""
        return math.nan if self.dynamical is None else self.dynamical.tau_gen_dyn

    @property
    def tau_mem_dyn(self) -> float:
        """Dynamical tau_mem (L_gen reaches its threshold); nan if not computed."""
        return math.nan if self.dynamical is None else self.dynamical.tau_mem_dyn


# ---------------------------------------------------------------- n*(p)


def _gen_inf(psi_p: float, psi_n: np.ndarray, cst: Constants, accuracy: float, strategy: str,
             ridge: float = 0.0) -> np.ndarray:
    """L_gen(inf) at each psi_n (isotropic data), each certified by its contour error estimate."""
    out = []
    for x in psi_n:
        eq = Equations.from_constants(psi_p, float(x), cst)
        lc = _twopoint.learning_curves(eq, cst, _INF, ridge=ridge, strategy=strategy, accuracy=accuracy)
        out.append(float(lc.gen[0]))
    return np.array(out, dtype=np.float64)


def steepest_descent(gen_inf: Callable[[np.ndarray], np.ndarray], psi_p: float, *, span: float = 4.0,
                     points: int = 13, max_span: float = 256.0, what: str = "n*") -> tuple[float, float]:
    """psi_n* where log L_gen(inf) falls fastest with log psi_n, and the slope there.

    ``gen_inf(psi_n)`` gives L_gen(inf) on an array of psi_n. The search: a log grid of ``points`` values
    in [psi_p/span, psi_p span] (widened by 4x, with 4 more points, up to ``max_span`` while the steepest
    slope sits at an end), slopes by central differences, then 9 points between the neighbours of the
    steepest coarse slope and the vertex of the parabola through the three fine slopes around the
    steepest one (it is an O(h^2) reading of the true argmin; tests/test_tables.py bounds it).

    Raises
    ------
    UndefinedQuantityError
        If L_gen(inf) is not positive on the range, or the steepest descent sits at an end of it up to
        ``max_span``.

    Examples
    --------
    >>> g = lambda n: np.exp(-2.0 * np.arctan(np.log(n / 10.0)))  # log-log slope -2/(1 + ln(n/10)^2)
    >>> x, slope = steepest_descent(g, 10.0)
    >>> round(x, 2), round(slope, 2)
    (10.0, -2.0)
    """
    while True:
        x = np.linspace(-math.log(span), math.log(span), int(points)) + math.log(psi_p)
        g = np.asarray(gen_inf(np.exp(x)), dtype=np.float64)
        if np.any(g <= 0):
            bad = float(np.exp(x[int(np.argmax(g <= 0))]))
            raise UndefinedQuantityError(
                f"{what}: L_gen(inf) = {float(g[g <= 0][0]):.3g} is not positive at psi_n = {bad:.4g} "
                f"(psi_p={psi_p:g}); its log-log slope is undefined")
        slope = np.gradient(np.log(g), x)
        k = int(np.argmin(slope))
        if 0 < k < x.size - 1:
            break
        if span * 4.0 > max_span:
            raise UndefinedQuantityError(
                f"{what}: the steepest descent of L_gen(inf) lies at an end of the search range psi_n in "
                f"[{psi_p / span:.4g}, {psi_p * span:.4g}] (psi_p={psi_p:g}) up to span {span:g}: "
                "L_gen(inf) has no interior steepest descent here")
        span *= 4.0
        points = int(points) + 4
    xf = np.linspace(x[k - 1], x[k + 1], 9)
    sf = np.gradient(np.log(np.asarray(gen_inf(np.exp(xf)), dtype=np.float64)), xf)
    m = int(np.clip(np.argmin(sf), 1, xf.size - 2))
    c2, c1, c0 = np.polyfit(xf[m - 1:m + 2], sf[m - 1:m + 2], 2)
    xs = -c1 / (2.0 * c2) if c2 > 0 else xf[m]
    xs = min(max(xs, xf[0]), xf[-1])
    return float(math.exp(xs)), float(np.polyval([c2, c1, c0], xs))


def n_star(psi_p: float, t: float = 0.1, *, activation: str = "tanh", span: float = 4.0,
           points: int = 13, accuracy: float = 1e-10, method: str = "fast", max_span: float = 256.0,
           ridge: float = 0.0) -> float:
    """Memorization threshold psi_n*(psi_p): steepest log-log descent of L_gen(inf) in psi_n.

    L_gen(inf) = L_test(inf) - L_train(inf) of the min-norm (tau = inf) solution (of the ridge estimator
    with ``ridge`` > 0) is O(1) for psi_n < psi_p (the flow ends in memorization) and decays as a power
    of 1/psi_n beyond; psi_n* is where d log L_gen(inf) / d log psi_n is most negative, located by
    :func:`steepest_descent`. Nothing assumes psi_n* = psi_p; tests measure it (within ~15 % at t = 0.1,
    ~10 % at t = 0.01).

    Parameters
    ----------
    psi_p : float
        p/d, > 0.
    t : float, default 0.1
        Diffusion time, > 0.
    activation : str, default "tanh"
    span : float, default 4.0
        Initial search range factor, > 1.
    points : int, default 13
        Coarse grid size, >= 5.
    accuracy : float, default 1e-10
        Absolute accuracy of each L_gen(inf) (certified by the contour's error estimate).
    method : {"fast", "reference"}
        Contour strategy of the L_gen(inf) values: one log ellipse ("fast") or per-component ellipses
        on the spectrum ("reference", 10-100x slower). They agree to ~1e-8 in psi_n*.
    max_span : float, default 256
        Largest search range factor.
    ridge : float, default 0
        Ridge lam >= 0 of the estimator at tau = inf (docs/ridge.md; :func:`rfdiff.ridge.ridge_n_star` is
        the same search on the closed form).

    Returns
    -------
    float

    Raises
    ------
    UndefinedQuantityError
        If L_gen(inf) is not positive on the range, or its steepest descent sits at an end of the
        range even at ``max_span`` (then n* is not defined at these parameters: e.g. at large t,
        where memorization has no sharp onset).

    Examples
    --------
    >>> 0.8 < n_star(256, t=0.1) / 256 < 1.0
    True
    """
    psi_p = _check_positive("psi_p", psi_p)
    t = _check_positive("t", t)
    span = _check_positive("span", span)
    max_span = _check_positive("max_span", max_span)
    ridge = finite_nonnegative("ridge", ridge)
    if span <= 1.0:
        raise ValueError(f"span must be > 1, got {span!r}")
    if isinstance(points, bool) or int(points) != points or points < 5:
        raise ValueError(f"points must be an integer >= 5, got {points!r}")
    accuracy = _check_fraction("accuracy", accuracy, 1e-3)
    if method not in ("fast", "reference"):
        raise ValueError(f"method must be 'fast' or 'reference', got {method!r}")
    strategy = "log" if method == "fast" else "components"
    cst = RFModel(psi_p, psi_p, t, activation).constants
    x, _slope = steepest_descent(lambda pn: _gen_inf(psi_p, pn, cst, accuracy, strategy, ridge), psi_p,
                                 span=span, points=int(points), max_span=max_span,
                                 what=f"n* (t={t:g}, ridge={ridge:g})")
    return x


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
        Dynamical boundaries (n_p, n_n), as defined in :func:`dynamical_timescales`, refined on the
        cell's contour to ~2e-5 relative (the "map" reading plan).
    n_star : ndarray
        psi_n*(psi_p[i]) from :func:`n_star`; nan where it is undefined (``n_star_error`` says why).
    n_star_error : tuple of str
        Per psi_p, "" or the reason n* is undefined there (no regime 3 in that row).
    t : float
    activation : str
    method : str
    accuracy : float
        Target absolute accuracy of every loss.
    ridge : float
        The weight decay of every cell's flow.
    nodes : ndarray of int
        Contour nodes per cell.
    quad_error : ndarray
        Per cell, the largest contour error estimate |L(n) - L(n/2)| over every tau evaluated (the
        requested ones, inf, and the grid and refinements that set tau_gen and tau_mem); <= accuracy.
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
    n_star_error: tuple[str, ...]
    t: float
    activation: str
    method: str
    accuracy: float
    nodes: np.ndarray
    quad_error: np.ndarray
    ridge: float = 0.0

    @property
    def labels(self) -> np.ndarray:
        """Regime labels as strings, same shape as ``regime``."""
        return np.asarray(REGIMES, dtype=object)[self.regime]


def _row(point: list) -> list[list]:
    """Worker of :func:`phase_diagram`: one psi_p row, all psi_n, and psi_n*(psi_p) if asked.

    [psi_p, [psi_n...], t, activation, gen_threshold, relative, score_tol, accuracy, method, want_n_star,
    taus...] -> [[n_star or nan, reason], cell per psi_n...], cell = [tau_gen, tau_mem, nodes, quad_error,
    (gen, train, test) per tau]."""
    psi_p, pns, t, act, thr, rel, tol, acc, method, want, ridge, *taus = point
    cst = RFModel(psi_p, pns[0], t, act).constants
    tau_req = np.array([math.inf if x is None else float(x) for x in taus])
    head: list = [math.nan, ""]
    if want:
        try:
            head = [_n_star(psi_p, t, activation=act, accuracy=acc, method=method, ridge=ridge), ""]
        except UndefinedQuantityError as exc:
            head = [math.nan, str(exc)]
    rows: list[list] = [head]
    strategy = "log" if method == "fast" else "components"
    for pn in pns:
        eq = Equations.from_constants(psi_p, pn, cst)
        r = _read(eq, cst, tau_req, thr, bool(rel), tol, acc, strategy, "map", ridge=ridge)
        k0 = r.grid.size + 1
        cell = [r.tau_gen, r.tau_mem, float(r.lc.contour.n), r.quad_error]
        for i in range(tau_req.size):
            cell += [float(r.lc.gen[k0 + i]), float(r.lc.train[k0 + i]), float(r.lc.test[k0 + i])]
        rows.append(cell)
    return rows


def phase_diagram(psi_p: Sequence[float] | np.ndarray, psi_n: Sequence[float] | np.ndarray, t: float = 0.1,
                  tau: float | Sequence[float] | np.ndarray = 1e3, *, activation: str = "tanh",
                  gen_threshold: float = 0.5, relative: bool = True, score_tol: float = 0.05,
                  n_star: Sequence[float] | np.ndarray | None = None, executor: Executor | None = None,
                  workers: int | None = None, accuracy: float = 1e-8,
                  method: str = "fast", ridge: float = 0.0) -> PhaseDiagram:
    """L_gen over (psi_p, psi_n) at the given tau, with regimes and boundaries (paper Fig. 5C).

    Per cell, one contour (``method="fast"``: an ellipse in log z around [s_t^2, upper bound], no
    spectrum needed; ``method="reference"``: one ellipse per group of support components of the
    spectrum) gives L_gen, L_train, L_test at the requested tau and, on a 4-per-decade grid refined on
    nested sub-grids, tau_gen and tau_mem (the definitions of :func:`dynamical_timescales`), each value
    with the contour's error estimate (``quad_error`` is the worst over everything a cell read). psi_n*
    comes from :func:`n_star` with the same strategy. One task per psi_p row through
    :func:`rfdiff.sweep.sweep`.

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
    accuracy : float, default 1e-8
        Absolute accuracy of every loss (certified by the error estimate), in (0, 1e-3).
    method : {"fast", "reference"}
    ridge : float, default 0
        Weight decay lam of every cell's flow (n* is then that of the ridge estimator).

    Returns
    -------
    PhaseDiagram

    Raises
    ------
    QuadratureError
        If a cell's contour cannot reach ``accuracy`` within its node budget.

    Examples
    --------
    >>> from concurrent.futures import ThreadPoolExecutor
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
    RFModel(float(pp[0]), float(pn[0]), t, activation)  # validates the activation here, not in a worker
    taus = [None if math.isinf(x) else float(x) for x in tau_arr]  # JSON-friendly cache keys
    shape = (pp.size, pn.size)
    ridge = finite_nonnegative("ridge", ridge)
    grid = [[float(a), [float(b) for b in pn], t, activation, gen_threshold, bool(relative), score_tol,
             accuracy, method, n_star is None, ridge, *taus] for a in pp]
    heavy_first = np.argsort(-pp, kind="stable")  # nodes grow with psi_p: the slowest rows start first
    done = sweep(_row, [grid[i] for i in heavy_first], executor=executor, workers=workers)
    rows: list = [None] * pp.size
    for i, r in zip(heavy_first, done):
        rows[i] = r
    reasons: tuple[str, ...] = tuple("" for _ in pp)
    if n_star is None:
        ns = np.array([r[0][0] for r in rows], dtype=np.float64)
        reasons = tuple(str(r[0][1]) for r in rows)
    cells = np.array([c for r in rows for c in r[1:]], dtype=np.float64)
    nodes = cells[:, 2].reshape(shape).astype(np.int64)
    quad_error = cells[:, 3].reshape(shape)
    cells = np.delete(cells, [2, 3], axis=1)
    tg = cells[:, 0].reshape(shape)
    tm = cells[:, 1].reshape(shape)
    vals = cells[:, 2:].reshape(pp.size, pn.size, tau_arr.size, 3).transpose(3, 2, 0, 1)
    T = tau_arr[:, None, None]
    with np.errstate(invalid="ignore"):
        no_mem = (pn[None, :] > ns[:, None])[None]  # nan n* (undefined): never regime 3
    before_mem = np.isnan(tm)[None] | (T < tm[None])  # nan tau_mem: L_gen never reaches its level
    regime = np.where(T < tg[None], 0, np.where(no_mem, 3, np.where(before_mem, 1, 2)))
    regime = np.broadcast_to(regime, (tau_arr.size, *shape)).astype(np.int8)
    gen, train, test = vals
    if scalar:
        gen, train, test, regime = gen[0], train[0], test[0], regime[0]
    return PhaseDiagram(psi_p=pp, psi_n=pn, tau=tau_arr, gen=gen, train=train, test=test, regime=regime,
                        tau_gen=tg, tau_mem=tm, n_star=ns, n_star_error=reasons, t=t,
                        activation=str(activation), method=method, accuracy=accuracy, nodes=nodes,
                        quad_error=quad_error, ridge=ridge)
