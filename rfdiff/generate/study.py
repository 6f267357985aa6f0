"""Sweeps and theory tie-back for memorization in samples (docs/generate.md, issue 11).

* :func:`curve_point` — one fit of :class:`~rfdiff.generate.RFDiffusion` and its memorization curve, as a
  pure function of a JSON point (picklable: runs on any executor through :func:`rfdiff.sweep.sweep`).
* :func:`memorization_study` — a sweep over (psi_p, psi_n, seed) with the curves aggregated over seeds,
  tau_mem^gen per setting with its interval, and the fitted exponent of tau_mem^gen against n.
* :func:`single_time_theory` — the single-time theory at every time of the grid:
  ``RFModel(psi_p, psi_n, t).timescales()`` (spectral tau_mem, loss-weighted tau_mem_loss, dynamical
  tau_mem_dyn). A time where the theory raises :class:`rfdiff.NumericalError` is marked unavailable
  (never replaced by a number); a time where it warns keeps its numbers with ``warned`` set.
* :func:`onset_rule` — which single-time quantity predicts the onset in samples: the time t* at which
  each theory curve tau_mem^X(t) crosses the measured tau_mem^gen, its spread, and the accuracy of the
  rule tau_mem^gen ~ tau_mem^X(t*) with t* fixed (leave-one-out).
* :func:`report_data` — the data of the report section "memorization in samples".

Intervals over seeds: geometric mean of tau_mem^gen with a Student-t 95 % interval of log tau over the
seeds that reached the level (the count that did not is reported beside it). Exponent: ordinary least
squares of log tau_mem^gen on log n over every (psi_n, seed) that reached the level, 95 % t interval of
the slope.
"""

from __future__ import annotations

import math
import time as _time
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from ..errors import NumericalError
from ..io import Serializable
from ..model import DataSpectrum, RFModel
from ..sweep import sweep
from .metrics import _log_crossing, frechet_distance
from .model import RFDiffusion

__all__ = [
    "MemorizationReport",
    "MemorizationStudy",
    "SingleTimeTheory",
    "curve_point",
    "finite_size_onsets",
    "memorization_study",
    "onset_rule",
    "report_data",
    "single_time_theory",
]

#: defaults of a point (anything not given in a point takes these values)
POINT_DEFAULTS: dict[str, Any] = {
    "psi_p": 32.0, "psi_n": 8.0, "d": 16, "seed": 0, "t_min": 1e-3, "t_max": 5.0, "n_times": 50,
    "noise": "exact", "activation": "tanh", "data_values": None, "data_weights": None,
    "tau": [10.0 ** k for k in range(0, 9)] + ["inf"], "n_samples": 2000, "sample_seed": 1,
    "method": "sde", "integrator": "heun", "threshold": 1.0 / 3.0, "level": "half", "min_count": 20,
    "flow": False, "project": [],
}


def _tau_values(raw: Sequence[Any]) -> np.ndarray:
    return np.array([math.inf if (isinstance(v, str) and v == "inf") else float(v) for v in raw])


def _json_num(v: float) -> float | str | None:
    return None if math.isnan(v) else "inf" if math.isinf(v) else float(v)


def _model_from_point(pt: dict) -> RFDiffusion:
    data = None
    if pt["data_values"] is not None:
        data = DataSpectrum(tuple(pt["data_values"]), tuple(pt["data_weights"]))
    times = np.geomspace(pt["t_min"], pt["t_max"], int(pt["n_times"]))
    flow_tau = _tau_values([v for v in pt["tau"] if v != "inf"]) if pt["flow"] else None
    return RFDiffusion(psi_p=pt["psi_p"], psi_n=pt["psi_n"], d=int(pt["d"]), times=times,
                       activation=pt["activation"], data=data, noise=pt["noise"], seed=int(pt["seed"]),
                       flow_tau=flow_tau)


def curve_point(point: dict) -> dict:
    """Fit one :class:`RFDiffusion` and measure its memorization curve: a pure function of a JSON point.

    Parameters
    ----------
    point : dict
        Any keys of ``POINT_DEFAULTS`` (psi_p, psi_n, d, seed, t_min, t_max, n_times, noise, activation,
        data_values/data_weights, tau (``"inf"`` allowed), n_samples, sample_seed, method, integrator,
        threshold, level, flow, project); missing keys take the defaults. ``flow=True`` adds the
        single-time learning curves of every grid time on the finite tau; ``project`` lists tau at which
        the first two coordinates of 300 samples are returned (for the 2-D figure).

    Returns
    -------
    dict
        ``point`` (completed), ``curve`` (:meth:`MemorizationCurve.summary`), ``frechet_train`` (the
        training set's own Fréchet distance to the law: the best a model that reproduces X can do),
        ``fit`` (seconds, bytes, per-time diagnostics), ``flow`` (optional), ``projection`` (optional).

    Examples
    --------
    >>> out = curve_point({"psi_p": 4, "psi_n": 2, "d": 4, "n_times": 6, "noise": "gaussian",
    ...                    "tau": [1, "inf"], "n_samples": 200})
    >>> sorted(out), len(out["curve"]["f_mem"])
    (['curve', 'fit', 'flow', 'frechet_train', 'point', 'projection'], 2)
    """
    unknown = set(point) - set(POINT_DEFAULTS)
    if unknown:
        raise ValueError(f"unknown point keys {sorted(unknown)}; allowed: {sorted(POINT_DEFAULTS)}")
    pt = {**POINT_DEFAULTS, **point}
    gm = _model_from_point(pt)
    mc = gm.memorization_curve(_tau_values(pt["tau"]), n_samples=int(pt["n_samples"]),
                               seed=int(pt["sample_seed"]), method=pt["method"], integrator=pt["integrator"],
                               threshold=float(pt["threshold"]),
                               level=pt["level"] if pt["level"] == "half" else float(pt["level"]),
                               min_count=int(pt["min_count"]))
    out: dict[str, Any] = {
        "point": pt, "curve": mc.summary(),
        "frechet_train": frechet_distance(gm.train_data, np.diag(gm.target_covariance())),
        "fit": {"seconds": gm.fit_seconds, "memory_bytes": gm.memory_bytes, "info": gm.fit_info},
        "flow": None, "projection": None,
    }
    if pt["flow"]:
        fl = gm.flow_curves
        out["flow"] = {"tau": gm.flow_tau.tolist(), "times": gm.times.tolist(),
                       **{k: np.asarray(fl[k]).tolist() for k in ("train", "test", "gen", "score",
                                                                  "train_inf", "test_inf")}}
    if pt["project"]:
        proj = {}
        for tau in _tau_values(pt["project"]):
            x = gm.sample(300, tau, method=pt["method"], integrator=pt["integrator"],
                          seed=int(pt["sample_seed"]))
            proj[str(_json_num(tau))] = x[:, :2].tolist()
        out["projection"] = {"samples": proj, "train": gm.train_data[:, :2].tolist()}
    return out


def _t_interval(values: np.ndarray) -> tuple[float, float, float]:
    """(mean, lo, hi): Student-t 95 % interval of the mean (lo = hi = mean for one value)."""
    m = float(values.mean())
    if values.size < 2:
        return m, m, m
    half = float(stats.t.ppf(0.975, values.size - 1) * values.std(ddof=1) / math.sqrt(values.size))
    return m, m - half, m + half


@dataclass(frozen=True)
class MemorizationStudy(Serializable):
    """Memorization curves over (psi_p, psi_n, seed), aggregated over seeds.

    Attributes
    ----------
    results : list of dict
        :func:`curve_point` outputs, grid order.
    settings : list of dict
        Per (psi_p, psi_n): ``tau``, ``f_mem`` / ``frechet`` (mean over seeds) with ``f_mem_sem`` /
        ``frechet_sem``, ``f_mem_inf`` (mean and t interval at tau = inf when in the grid),
        ``tau_mem_gen`` (geometric mean, t interval; ``reached`` of ``seeds``), ``tau_gen_gen`` likewise,
        ``frechet_floor``, ``frechet_train`` (mean).
    exponents : list of dict
        Per psi_p: slope of log tau_mem^gen on log n with its 95 % interval, points used, intercept.
    level : float or "half"
    seconds : float
    """

    results: list
    settings: list
    exponents: list
    level: float | str
    seconds: float

    def summary(self) -> dict:
        """Plain JSON-ready dictionary of the fields (the form of ``docs/data/generate/*.json``)."""
        return {"results": self.results, "settings": self.settings, "exponents": self.exponents,
                "level": self.level, "seconds": self.seconds}


def _aggregate(results: list[dict]) -> tuple[list[dict], list[dict]]:
    groups: dict[tuple[float, float], list[dict]] = {}
    for r in results:
        groups.setdefault((float(r["point"]["psi_p"]), float(r["point"]["psi_n"])), []).append(r)
    settings = []
    for (psi_p, psi_n), rs in sorted(groups.items()):
        tau = rs[0]["curve"]["tau"]
        f = np.array([r["curve"]["f_mem"] for r in rs])
        fd = np.array([r["curve"]["frechet"] for r in rs])
        k = len(rs)

        def sem(a: np.ndarray, k: int = k) -> np.ndarray:
            return a.std(axis=0, ddof=1) / math.sqrt(k) if k > 1 else np.zeros(a.shape[1])

        entry: dict[str, Any] = {
            "psi_p": psi_p, "psi_n": psi_n, "n": rs[0]["curve"]["params"]["n"],
            "p": rs[0]["curve"]["params"]["p"], "d": rs[0]["curve"]["params"]["d"], "seeds": k, "tau": tau,
            "f_mem": f.mean(0).tolist(), "f_mem_sem": sem(f).tolist(),
            "frechet": fd.mean(0).tolist(), "frechet_sem": sem(fd).tolist(),
            "frechet_floor": float(np.mean([r["curve"]["frechet_floor"]["mean"] for r in rs])),
            "frechet_train": float(np.mean([r["frechet_train"] for r in rs])),
        }
        if tau[-1] == "inf":
            m, lo, hi = _t_interval(f[:, -1])
            entry["f_mem_inf"] = {"mean": m, "lo": lo, "hi": hi}
        for key in ("tau_mem_gen", "tau_gen_gen"):
            vals = np.array([r["curve"][key] for r in rs if r["curve"][key] is not None], dtype=float)
            if vals.size:
                m, lo, hi = _t_interval(np.log(vals))
                entry[key] = {"geomean": math.exp(m), "lo": math.exp(lo), "hi": math.exp(hi),
                              "reached": int(vals.size), "values": vals.tolist()}
            else:
                entry[key] = {"geomean": None, "lo": None, "hi": None, "reached": 0, "values": []}
        settings.append(entry)
    exponents = []
    for psi_p in sorted({s["psi_p"] for s in settings}):
        xs, ys = [], []
        for r in results:
            if float(r["point"]["psi_p"]) == psi_p and r["curve"]["tau_mem_gen"] is not None:
                xs.append(math.log(r["curve"]["params"]["n"]))
                ys.append(math.log(r["curve"]["tau_mem_gen"]))
        ex: dict[str, Any] = {"psi_p": psi_p, "points": len(xs), "distinct_n": len(set(xs))}
        if len(set(xs)) >= 2 and len(xs) >= 3:
            fit = stats.linregress(xs, ys)
            half = float(stats.t.ppf(0.975, len(xs) - 2) * fit.stderr)
            ex.update(slope=float(fit.slope), lo=float(fit.slope - half), hi=float(fit.slope + half),
                      intercept=float(fit.intercept), r2=float(fit.rvalue**2))
        else:
            ex.update(slope=None, lo=None, hi=None, intercept=None, r2=None)
        exponents.append(ex)
    return settings, exponents


def memorization_study(
    psi_p: Sequence[float],
    psi_n: Sequence[float],
    seeds: Sequence[int],
    *,
    executor: Executor | None = None,
    workers: int | None = None,
    cache: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    **point: Any,
) -> MemorizationStudy:
    """Memorization curves on the grid psi_p x psi_n x seeds (one :func:`curve_point` each), aggregated.

    Parameters
    ----------
    psi_p, psi_n, seeds : sequences
        The grid (every combination).
    executor, workers, cache, progress
        As in :func:`rfdiff.sweep.sweep` (process pool by default, any Executor, dask; resumable cache).
    **point
        Other keys of a point (d, t_min, t_max, n_times, noise, tau, n_samples, level, ...).

    Returns
    -------
    MemorizationStudy

    Examples
    --------
    >>> from concurrent.futures import ThreadPoolExecutor
    >>> with ThreadPoolExecutor(1) as ex:
    ...     st = memorization_study([4], [1, 2], [0, 1], d=4, n_times=6, noise="gaussian",
    ...                             tau=[1, 1e6], n_samples=100, executor=ex)
    >>> [s["seeds"] for s in st.settings]
    [2, 2]
    """
    start = _time.perf_counter()
    grid = [{**point, "psi_p": float(a), "psi_n": float(b), "seed": int(s)}
            for a in psi_p for b in psi_n for s in seeds]
    if not grid:
        raise ValueError("the grid psi_p x psi_n x seeds is empty")
    results = sweep(curve_point, grid, executor=executor, workers=workers, cache=cache, progress=progress)
    settings, exponents = _aggregate(results)
    level = point.get("level", POINT_DEFAULTS["level"])
    return MemorizationStudy(results=results, settings=settings, exponents=exponents, level=level,
                             seconds=_time.perf_counter() - start)


def _theory_point(point: dict) -> dict:
    """Single-time theory at one t (picklable for sweeps): timescales or the failure, never a stand-in."""
    data = None
    if point.get("data_values") is not None:
        data = DataSpectrum(tuple(point["data_values"]), tuple(point["data_weights"]))
    out: dict[str, Any] = {"t": point["t"], "available": False, "warned": [], "error": None}
    keys = ("tau_mem", "tau_mem_loss", "tau_mem_asymptotic", "tau_gen", "tau_mem_dyn", "tau_gen_dyn")
    for key in keys:
        out[key] = None
    try:
        extra = {} if data is None else {"data": data}
        model = RFModel(point["psi_p"], point["psi_n"], point["t"],
                        activation=point.get("activation", "tanh"), **extra)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            ts = model.timescales(dynamical=False)
            # the dynamical times read on 10 points per decade by linear interpolation in log tau
            # (refine=False: one vectorised evaluation of the curves; the root-finding refinement costs
            # ~17 more at ~5 s each at small t; interpolation error a few % in tau), from 1e-2 to
            # 1e3 x the slowest spectral time, as the default grid
            slow = max(ts.tau_mem_loss, ts.tau_mem) if math.isfinite(ts.tau_mem) else ts.tau_mem_loss
            lo, hi = min(1e-2, ts.tau_gen / 1e3), 1e3 * slow
            grid = np.geomspace(lo, hi, max(3, math.ceil(10 * math.log10(hi / lo)) + 1))
            dyn = model.dynamical_timescales(grid, refine=False)
        out["warned"] = sorted({f"{w.category.__name__}: {w.message}" for w in caught})
        for key in keys:
            value = float(getattr(dyn, key) if key in ("tau_mem_dyn", "tau_gen_dyn") else getattr(ts, key))
            out[key] = None if math.isnan(value) else value
        out["available"] = True
    except NumericalError as exc:
        out["error"] = f"{type(exc).__name__}: {exc}"
    return out


@dataclass(frozen=True)
class SingleTimeTheory(Serializable):
    """The single-time theory at every time of a grid (spectral and dynamical timescales).

    Attributes
    ----------
    psi_p, psi_n : float
    times : ndarray
    tau_mem, tau_mem_loss, tau_mem_asymptotic, tau_gen, tau_mem_dyn, tau_gen_dyn : ndarray
        nan where ``available`` is False (the theory raised; see ``errors``) or the quantity is undefined.
    available : ndarray of bool
    warned : list of list of str
        Warnings the theory emitted at each t (its numbers are kept but less accurate there).
    errors : list of str or None
        The NumericalError of each unavailable t.
    """

    psi_p: float
    psi_n: float
    times: np.ndarray
    tau_mem: np.ndarray
    tau_mem_loss: np.ndarray
    tau_mem_asymptotic: np.ndarray
    tau_gen: np.ndarray
    tau_mem_dyn: np.ndarray
    tau_gen_dyn: np.ndarray
    available: np.ndarray
    warned: list = field(default_factory=list)
    errors: list = field(default_factory=list)

    @classmethod
    def from_summary(cls, data: dict) -> SingleTimeTheory:
        """Rebuild from :meth:`summary` output (e.g. read back from JSON)."""
        def col(key: str) -> np.ndarray:
            return np.array([math.nan if v is None else float(v) for v in data[key]])

        return cls(psi_p=float(data["psi_p"]), psi_n=float(data["psi_n"]),
                   times=np.asarray(data["times"], float),
                   tau_mem=col("tau_mem"), tau_mem_loss=col("tau_mem_loss"),
                   tau_mem_asymptotic=col("tau_mem_asymptotic"), tau_gen=col("tau_gen"),
                   tau_mem_dyn=col("tau_mem_dyn"), tau_gen_dyn=col("tau_gen_dyn"),
                   available=np.asarray(data["available"], dtype=bool),
                   warned=[list(w) for w in data["warned"]], errors=list(data["errors"]))

    @property
    def reliable(self) -> np.ndarray:
        """available and no warning."""
        return self.available & np.array([not w for w in self.warned], dtype=bool)

    def summary(self) -> dict:
        """Plain JSON-ready dictionary (nan as None); :meth:`from_summary` reads it back."""
        out: dict[str, Any] = {"psi_p": self.psi_p, "psi_n": self.psi_n, "times": self.times.tolist()}
        for key in ("tau_mem", "tau_mem_loss", "tau_mem_asymptotic", "tau_gen", "tau_mem_dyn", "tau_gen_dyn"):
            out[key] = [_json_num(v) for v in getattr(self, key)]
        out.update(available=self.available.tolist(), warned=self.warned, errors=self.errors)
        return out


def single_time_theory(
    psi_p: float,
    psi_n: float,
    times: Sequence[float] | np.ndarray,
    *,
    activation: str = "tanh",
    data: DataSpectrum | None = None,
    executor: Executor | None = None,
    workers: int | None = None,
    cache: str | None = None,
) -> SingleTimeTheory:
    """``RFModel(psi_p, psi_n, t).timescales()`` at every t of the grid; failures marked, never filled in.

    Examples
    --------
    >>> from concurrent.futures import ThreadPoolExecutor
    >>> with ThreadPoolExecutor(1) as ex:
    ...     th = single_time_theory(8, 2, [0.1], executor=ex)
    >>> bool(th.available[0]), bool(th.tau_gen[0] < th.tau_mem[0])
    (True, True)
    """
    times = np.asarray(times, dtype=np.float64)
    base: dict[str, Any] = {"psi_p": float(psi_p), "psi_n": float(psi_n), "activation": activation}
    if data is not None:
        base.update(data_values=list(data.values), data_weights=list(data.weights))
    rows = sweep(_theory_point, [{**base, "t": float(t)} for t in times], executor=executor, workers=workers,
                 cache=cache)

    def col(key: str) -> np.ndarray:
        return np.array([math.nan if r[key] is None else r[key] for r in rows], dtype=float)

    return SingleTimeTheory(
        psi_p=float(psi_p), psi_n=float(psi_n), times=times, tau_mem=col("tau_mem"),
        tau_mem_loss=col("tau_mem_loss"), tau_mem_asymptotic=col("tau_mem_asymptotic"),
        tau_gen=col("tau_gen"), tau_mem_dyn=col("tau_mem_dyn"), tau_gen_dyn=col("tau_gen_dyn"),
        available=np.array([r["available"] for r in rows], dtype=bool),
        warned=[list(r["warned"]) for r in rows], errors=[r["error"] for r in rows],
    )


def finite_size_onsets(result: dict, fraction: float = 0.5) -> dict:
    """Single-time onsets of the fitted model itself, per grid time, from a :func:`curve_point` with ``flow``.

    At each t_k: ``tau_mem_fs`` is the first tau of the flow grid where the finite-size L_gen(tau) reaches
    ``fraction`` x L_gen(inf) (linear in log tau; nan if L_gen(inf) <= 0 or never reached), the same
    reading as the theory's tau_mem_dyn; ``tau_score_min`` is where the finite-size E_score is smallest.

    Examples
    --------
    >>> r = {"flow": {"tau": [1.0, 10.0, 100.0], "times": [0.1], "gen": [[0.0, 0.1, 0.4]],
    ...               "score": [[3.0, 1.0, 2.0]], "train_inf": [0.2], "test_inf": [0.6]}}
    >>> round(finite_size_onsets(r)["tau_mem_fs"][0], 6)
    21.544347
    """
    fl = result["flow"]
    if fl is None:
        raise ValueError("the result has no flow curves (curve_point with flow=True)")
    tau = np.asarray(fl["tau"], dtype=float)
    pos = tau > 0
    gen = np.asarray(fl["gen"], dtype=float)
    score = np.asarray(fl["score"], dtype=float)
    gen_inf = np.asarray(fl["test_inf"], dtype=float) - np.asarray(fl["train_inf"], dtype=float)
    onsets, best = [], []
    for k in range(gen.shape[0]):
        if gen_inf[k] > 0:
            onsets.append(_log_crossing(tau[pos], gen[k][pos], fraction * gen_inf[k]))
        else:
            onsets.append(math.nan)
        best.append(float(tau[pos][int(np.argmin(score[k][pos]))]))
    return {"times": list(fl["times"]), "tau_mem_fs": onsets, "tau_score_min": best,
            "gen_inf": gen_inf.tolist()}


def _crossing_time(times: np.ndarray, curve: np.ndarray, target: float) -> float:
    """The t where log curve(t) (decreasing in t) equals log target, linear in log t; nan if not bracketed."""
    ok = np.isfinite(curve) & (curve > 0)
    lt, lc = np.log(times[ok]), np.log(curve[ok])
    if lt.size < 2:
        return math.nan
    y = lc - math.log(target)
    for j in range(lt.size):
        if y[j] == 0.0:
            return float(math.exp(lt[j]))
        if j + 1 < lt.size and y[j] * y[j + 1] < 0:
            frac = y[j] / (y[j] - y[j + 1])
            return float(math.exp(lt[j] + frac * (lt[j + 1] - lt[j])))
    return math.nan


def onset_rule(
    measured: Sequence[tuple[float, float, float]],
    theories: Sequence[SingleTimeTheory],
    quantities: Sequence[str] = ("tau_mem", "tau_mem_loss", "tau_mem_dyn", "tau_mem_asymptotic"),
) -> dict:
    """Which single-time quantity predicts tau_mem^gen: crossing times t* and a fixed-t* rule's accuracy.

    Parameters
    ----------
    measured : sequence of (psi_p, psi_n, tau_mem_gen)
        Measured onsets in samples (tau_mem_gen > 0).
    theories : sequence of SingleTimeTheory
        One per (psi_p, psi_n) of ``measured`` (matched by psi_p, psi_n).
    quantities : sequence of str
        Theory curves to test.

    Returns
    -------
    dict
        Per quantity: ``t_star`` per setting (where tau^X(t) = tau_mem^gen; only reliable times used),
        ``t_star_geomean`` and the spread (max/min), and the rule tau_mem^gen ~ tau^X(t_fixed) with
        t_fixed = geometric mean of the other settings' t* (leave-one-out): ``loo_log10_errors``,
        ``loo_rms_log10`` and ``loo_max_factor``.

    Examples
    --------
    >>> th = SingleTimeTheory(8.0, 2.0, np.array([0.01, 0.1, 1.0]), *([np.array([1e4, 1e3, 1e2])] * 6),
    ...                       available=np.ones(3, bool), warned=[[], [], []], errors=[None] * 3)
    >>> round(onset_rule([(8.0, 2.0, 1e3)], [th])["tau_mem"]["t_star"][0], 6)
    0.1
    """
    index = {(th.psi_p, th.psi_n): th for th in theories}
    out: dict[str, Any] = {}
    for q in quantities:
        t_star = []
        for psi_p, psi_n, tau in measured:
            th = index[(float(psi_p), float(psi_n))]
            curve = np.where(th.reliable, getattr(th, q), np.nan)
            t_star.append(_crossing_time(th.times, curve, float(tau)))
        ts = np.array(t_star)
        ok = np.isfinite(ts)
        entry: dict[str, Any] = {"t_star": [_json_num(v) for v in ts], "found": int(ok.sum())}
        if ok.sum() >= 1:
            entry["t_star_geomean"] = float(np.exp(np.mean(np.log(ts[ok]))))
            entry["t_star_spread"] = float(ts[ok].max() / ts[ok].min())
        errs = []
        for i, (psi_p, psi_n, tau) in enumerate(measured):
            others = [j for j in range(len(measured)) if j != i and ok[j]]
            if not others:
                errs.append(math.nan)
                continue
            t_fix = float(np.exp(np.mean(np.log(ts[others]))))
            th = index[(float(psi_p), float(psi_n))]
            curve = np.where(th.reliable, getattr(th, q), np.nan)
            good = np.isfinite(curve) & (curve > 0)
            if good.sum() < 2 or not (th.times[good][0] <= t_fix <= th.times[good][-1]):
                errs.append(math.nan)
                continue
            pred = float(np.exp(np.interp(np.log(t_fix), np.log(th.times[good]), np.log(curve[good]))))
            errs.append(math.log10(float(tau) / pred))
        e = np.array(errs)
        fin = np.isfinite(e)
        entry["loo_log10_errors"] = [_json_num(v) for v in e]
        entry["loo_rms_log10"] = float(np.sqrt(np.mean(e[fin] ** 2))) if fin.any() else None
        entry["loo_max_factor"] = float(10 ** np.abs(e[fin]).max()) if fin.any() else None
        out[q] = entry
    return out


@dataclass(frozen=True)
class MemorizationReport(Serializable):
    """The data of the report section "memorization in samples".

    Attributes
    ----------
    study : MemorizationStudy
        f_mem and quality against tau per psi_n, tau_mem^gen against n with the fit.
    theory : list of SingleTimeTheory
        The single-time theory on the grid for each psi_n.
    onset : dict
        :func:`onset_rule` of the measured onsets.
    projection : dict
        2-D projections of samples (tau in the window and beyond tau_mem) and training points.
    config : dict
    seconds : float
    """

    study: MemorizationStudy
    theory: list
    onset: dict
    projection: dict
    config: dict
    seconds: float

    def summary(self) -> dict:
        """Plain JSON-ready dictionary."""
        return {"study": self.study.summary(), "theory": [th.summary() for th in self.theory],
                "onset": self.onset, "projection": self.projection, "config": self.config,
                "seconds": self.seconds}


#: report sizes: "tiny" for tests (seconds), "quick" (seconds: d = 4), "report" (the default report section,
#: ~1-2 min on 2 cores), "full" (the setting of the numbers in docs/generate.md, docs/data/generate/run.py
#: main: about an hour on 2 loaded cores). ``theory_times``: the diffusion times of the single-time theory
#: (None: every other time of the sampling grid; empty: no theory).
REPORT_PRESETS: dict[str, dict[str, Any]] = {
    "tiny": {"psi_p": [8.0], "psi_n": [1.0, 2.0], "seeds": [0], "d": 4, "n_times": 10,
             "noise": "exact", "tau": [1.0, 1e2, 1e4, 1e6, "inf"], "n_samples": 200, "theory_times": [0.05]},
    "quick": {"psi_p": [8.0], "psi_n": [1.0, 2.0, 4.0], "seeds": [0], "d": 4, "n_times": 12,
              "noise": "exact", "tau": [10.0 ** k for k in range(0, 9)] + ["inf"], "n_samples": 300,
              "theory_times": [0.005, 0.02, 0.06]},
    "report": {"psi_p": [32.0], "psi_n": [0.5, 1.0, 2.0, 4.0], "seeds": [0, 1, 2], "d": 8, "n_times": 30,
               "noise": "exact", "tau": [10.0 ** (k / 2) for k in range(0, 19)] + ["inf"],
               "n_samples": 1000, "theory_times": [0.005, 0.02, 0.06]},
    "full": {"psi_p": [32.0, 64.0], "psi_n": [0.5, 1.0, 2.0, 4.0, 8.0], "seeds": [0, 1, 2], "d": 12,
             "n_times": 50, "noise": "exact", "tau": [10.0 ** (k / 2) for k in range(0, 19)] + ["inf"],
             "n_samples": 2000, "theory_times": None},
}


def _window_tau(setting: dict) -> float:
    """A training time in the generalization window of a setting: the first grid tau at or after its
    tau_gen^gen (sample quality within noise of its best; geometric mean over seeds), else the finite tau
    of the best Fréchet distance."""
    taus = _tau_values(setting["tau"])
    finite = np.isfinite(taus)
    gen = setting.get("tau_gen_gen", {}).get("geomean")
    if gen is not None and np.any(finite & (taus >= gen * (1 - 1e-9))):
        return float(taus[finite & (taus >= gen * (1 - 1e-9))][0])
    q = np.asarray(setting["frechet"], dtype=float)
    return float(taus[finite][int(np.argmin(q[finite]))])


def report_data(
    preset: str | None = "quick",
    *,
    executor: Executor | None = None,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    **sizes: Any,
) -> MemorizationReport:
    """Compute the report section "memorization in samples".

    Parameters
    ----------
    preset : {"tiny", "quick", "report", "full"} or None
        Sizes from ``REPORT_PRESETS[preset]``; None: all of them from ``sizes``.
    executor, workers, progress
        As in :func:`memorization_study` (``progress(done, total)`` counts the curve points, then the
        theory times, then the projection).
    **sizes
        Changes to the preset: psi_p, psi_n, seeds (lists), d, n_times, noise, tau, n_samples,
        theory_times (list of t, None: every other grid time, []: no theory).

    Examples
    --------
    >>> from concurrent.futures import ThreadPoolExecutor
    >>> with ThreadPoolExecutor(1) as ex:
    ...     rep = report_data("tiny", executor=ex)
    >>> sorted(rep.summary())
    ['config', 'onset', 'projection', 'seconds', 'study', 'theory']
    """
    keys = set(REPORT_PRESETS["full"])
    if preset is not None and preset not in REPORT_PRESETS:
        raise ValueError(f"preset must be one of {sorted(REPORT_PRESETS)} or None, got {preset!r}")
    unknown = set(sizes) - keys
    if unknown:
        raise ValueError(f"unknown sizes {sorted(unknown)}; allowed: {sorted(keys)}")
    cfg = {**({} if preset is None else REPORT_PRESETS[preset]), **sizes}
    missing = keys - set(cfg)
    if missing:
        raise ValueError(f"sizes {sorted(missing)} are needed without a preset")
    config = {"preset": preset, **cfg}
    start = _time.perf_counter()
    cfg = dict(cfg)
    theory_times = cfg.pop("theory_times")
    psi_p, psi_n, seeds = cfg.pop("psi_p"), cfg.pop("psi_n"), cfg.pop("seeds")
    n_curves = len(psi_p) * len(psi_n) * len(seeds)
    times = (np.geomspace(POINT_DEFAULTS["t_min"], POINT_DEFAULTS["t_max"], cfg["n_times"])[::2]
             if theory_times is None else np.asarray(theory_times, dtype=float))
    total = n_curves + len(psi_p) * len(psi_n) * times.size + 1
    study = memorization_study(psi_p, psi_n, seeds, executor=executor, workers=workers, progress=(
        None if progress is None else lambda done, _: progress(done, total)), **cfg)
    theory = []
    if times.size:
        for a in psi_p:
            for b in psi_n:
                theory.append(single_time_theory(a, b, times, executor=executor, workers=workers))
                if progress is not None:
                    progress(n_curves + len(theory) * times.size, total)
    measured = [(s["psi_p"], s["psi_n"], s["tau_mem_gen"]["geomean"]) for s in study.settings
                if s["tau_mem_gen"]["geomean"] is not None]
    onset = onset_rule(measured, theory) if theory and measured else {}
    # 2-D projection: the smallest psi_n (it memorizes most), one tau in the window (where the sample
    # quality has reached its best: tau_gen^gen) and tau = inf (far beyond tau_mem)
    s0 = study.settings[0]
    window = _window_tau(s0)
    proj_point = {**cfg, "psi_p": s0["psi_p"], "psi_n": s0["psi_n"], "seed": int(seeds[0]),
                  "tau": [window, "inf"], "n_samples": 200, "project": [window, "inf"]}
    projection = curve_point(proj_point)["projection"]
    projection["tau"] = [window, "inf"]
    projection["psi_n"], projection["psi_p"] = s0["psi_n"], s0["psi_p"]
    if progress is not None:
        progress(total, total)
    return MemorizationReport(study=study, theory=theory, onset=onset, projection=projection,
                              config=config, seconds=_time.perf_counter() - start)
