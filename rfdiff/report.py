"""The main job: the paper's random-features figures, theory lines against finite-size simulation.

``rfdiff report [--quick] [--out DIR]`` (and ``rfdiff`` with no arguments) calls
:func:`run_report`. It computes, for the settings of Bonnaire et al. (docs/theory.md §6):

* the spectrum of U in the Fig. 4 setting (psi_p = 64, psi_n = 8, t = 0.01) and for the
  anisotropic data spectrum rho_Sigma = {0.5, 1.5} (weights 1/2, 1/2), each against the
  eigenvalues of finite-size U (:func:`spectrum_section`, :func:`figure_spectrum`);
* L_train, L_test, L_gen, E_score against tau for psi_n in {4, 8, 16, 32} at psi_p = 64,
  t = 0.1, against the exact gradient flow of Gaussian-equivalent draws at dimension d
  (:func:`curves_section`, :func:`figure_curves`, :func:`figure_collapse`);
* tau_gen and tau_mem against psi_n, spectral and dynamical (:func:`timescales_section`,
  :func:`figure_timescales`);
* L_gen maps over (psi_n, psi_p) at tau = 1e3 and 1e4 with the n*(p) line
  (:func:`rfdiff.phases.phase_diagram`, :func:`figure_phase`).

Every figure builder takes the computed data, so examples and docs can reuse them. The
output directory gets PNG and PDF of every figure, ``report.json`` (all numbers, the
measured theory-simulation gaps, timings) and ``index.html``. Everything is written into a
temporary directory beside the output and moved into place at the end, so an interruption
leaves no half-written file.
"""

from __future__ import annotations

import dataclasses
import datetime
import html
import itertools
import json
import math
import os
import shutil
import signal
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from . import plot as _plot
from . import simulate as _simulate
from .model import DataSpectrum, RFModel
from .phases import REGIMES, PhaseDiagram, _crossing, dynamical_timescales, phase_diagram
from .sweep import sweep

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = [
    "PRESETS",
    "ReportConfig",
    "curves_section",
    "figure_collapse",
    "figure_curves",
    "figure_phase",
    "figure_spectrum",
    "figure_timescales",
    "process_pool",
    "run_report",
    "spectrum_section",
    "timescales_section",
]

#: The paper's Fig. 5 setting.
PSI_P = 64.0
PSI_N = (4.0, 8.0, 16.0, 32.0)
T_CURVES = 0.1
#: The paper's Fig. 4 setting.
PSI_N_SPECTRUM = 8.0
T_SPECTRUM = 0.01
ANISOTROPIC = DataSpectrum([0.5, 1.5], [0.5, 0.5])
PHASE_TAU = (1e3, 1e4)


@dataclass(frozen=True)
class ReportConfig:
    """Sizes of one report run (what ``--quick`` changes).

    Attributes
    ----------
    d_spectrum : int
        Dimension of the finite-size U of the spectrum figures (p = 64 d).
    spectrum_seeds : int
        Independent draws pooled in the eigenvalue histograms.
    spectrum_noise : tuple of str
        One panel per mode: ``"gaussian"`` (the Gaussian-equivalent U, whose limit is the theory:
        only O(1/d) effects remain) and/or ``"exact"`` (the real tanh features, noise average by
        the Mehler expansion: at moderate d the atom at s_t^2 is visibly broadened, docs/theory.md §8;
        Fig. 4 setting, relative Stieltjes gap 0.062, 0.022, 0.011 at d = 20, 40, 80).
    d_curves : int
        Dimension of the Gaussian-equivalent gradient flows.
    curve_seeds : int
        Draws averaged per psi_n.
    tau_points : int
        Points of the theory curves on [1e-1, 1e6].
    sim_per_decade : int
        Simulated tau per decade (the flow is exact at every tau; this only sets the reading grid).
    timescale_points : int
        psi_n values of the timescale figure, log-spaced in [2, 48].
    phase_psi_p, phase_psi_n : tuple of (float, float, int)
        Log-spaced axes (start, stop, points) of the phase maps.
    workers : int or None
        Processes for the phase map and timescale sweeps (default: all cores).
    curve_psi_n : tuple of float
        psi_n of the learning-curve figures (the paper's 4, 8, 16, 32).
    dpi : int
        Resolution of the PNG files.
    """

    d_spectrum: int = 80
    spectrum_seeds: int = 2
    spectrum_noise: tuple[str, ...] = ("gaussian", "exact")
    d_curves: int = 40
    curve_seeds: int = 4
    tau_points: int = 141
    sim_per_decade: int = 10
    timescale_points: int = 16
    phase_psi_p: tuple[float, float, int] = (4.0, 128.0, 64)
    phase_psi_n: tuple[float, float, int] = (1.0, 128.0, 64)
    workers: int | None = None
    curve_psi_n: tuple[float, ...] = PSI_N
    dpi: int = 130

    def __post_init__(self) -> None:
        if not self.curve_psi_n or not all(0 < x < math.inf for x in self.curve_psi_n):
            raise ValueError(f"curve_psi_n must be a non-empty tuple of numbers > 0, "
                             f"got {self.curve_psi_n!r}")
        for name in ("d_spectrum", "spectrum_seeds", "d_curves", "curve_seeds", "sim_per_decade", "dpi"):
            value = getattr(self, name)
            if int(value) != value or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        for name, low in (("tau_points", 3), ("timescale_points", 2)):
            value = getattr(self, name)
            if int(value) != value or value < low:
                raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
        if not self.spectrum_noise or not set(self.spectrum_noise) <= {"exact", "gaussian"}:
            raise ValueError(f"spectrum_noise must be a non-empty tuple of 'gaussian', 'exact', "
                             f"got {self.spectrum_noise!r}")
        for name in ("phase_psi_p", "phase_psi_n"):
            lo, hi, num = getattr(self, name)
            if not (0 < lo <= hi < math.inf) or int(num) != num or num < 1:
                raise ValueError(f"{name} must be (start, stop, points) with 0 < start <= stop, points >= 1, "
                                 f"got {getattr(self, name)!r}")
        if self.workers is not None and (int(self.workers) != self.workers or self.workers < 1):
            raise ValueError(f"workers must be an integer >= 1, got {self.workers!r}")

    @classmethod
    def preset(cls, name: str, **changes: Any) -> ReportConfig:
        """One of :data:`PRESETS` (``"full"``, ``"quick"``, ``"tiny"``), with optional changes.

        Examples
        --------
        >>> ReportConfig.preset("quick").d_curves
        16
        """
        if name not in PRESETS:
            raise ValueError(f"preset must be one of {sorted(PRESETS)}, got {name!r}")
        return dataclasses.replace(PRESETS[name], **changes)


#: ``full``: the default run (< 15 min on 2 cores); ``quick``: ``--quick`` (< 2 min);
#: ``tiny``: the test suite's run (seconds of simulation, a 1 x 2 phase grid).
PRESETS: dict[str, ReportConfig] = {
    "full": ReportConfig(),
    "quick": ReportConfig(d_spectrum=24, spectrum_seeds=1, spectrum_noise=("gaussian",), d_curves=16,
                          curve_seeds=2, tau_points=71, sim_per_decade=6, timescale_points=6,
                          phase_psi_p=(4.0, 128.0, 24), phase_psi_n=(1.0, 128.0, 24)),
    "tiny": ReportConfig(d_spectrum=10, spectrum_seeds=1, spectrum_noise=("gaussian",), d_curves=10,
                         curve_seeds=2, tau_points=36, sim_per_decade=4, timescale_points=2,
                         phase_psi_p=(8.0, 8.0, 1), phase_psi_n=(2.0, 16.0, 2), curve_psi_n=(8.0, 32.0),
                         dpi=50),
}


def _finite(x: Any) -> Any:
    """JSON-safe copy: arrays to lists, non-finite floats to None."""
    if isinstance(x, dict):
        return {str(k): _finite(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_finite(v) for v in x]
    if isinstance(x, np.ndarray):
        return _finite(x.tolist())
    if isinstance(x, (np.floating, float)):
        return float(x) if math.isfinite(x) else None
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, np.bool_):
        return bool(x)
    return x


# ------------------------------------------------------------------------------ spectrum


def _cells(sp: Any) -> list[tuple[float, float, float]]:
    """(lo, hi, mass) windows around each atom and support interval, split at the geometric
    midpoints of the gaps (an edge must move by half a gap before a count changes); neighbours
    closer than 5 % of the narrower one are merged (no finite-size count resolves them)."""
    items = sorted([(loc, loc, w) for loc, w in sp.atoms]
                   + [(lo, hi, m) for (lo, hi), m in zip(sp.support, sp.masses)])
    merged = [list(items[0])]
    for lo, hi, m in items[1:]:
        prev = merged[-1]
        if lo - prev[1] < 0.05 * min(hi - lo, prev[1] - prev[0]):
            prev[1], prev[2] = max(prev[1], hi), prev[2] + m
        else:
            merged.append([lo, hi, m])
    bounds = [0.0] + [math.sqrt(a[1] * b[0]) for a, b in itertools.pairwise(merged)] + [math.inf]
    return [(bounds[k], bounds[k + 1], m[2]) for k, m in enumerate(merged)]


def spectrum_section(model: RFModel, d: int, seeds: int = 1, noise: str = "exact") -> dict[str, Any]:
    """Spectrum of U (theory) and the eigenvalues of finite-size U, with their gaps.

    Gaps: ``mass_gap`` = max over windows (each atom or support interval, split at the gap
    midpoints) of |fraction of eigenvalues in it - theory mass|; ``stieltjes_rel_gap`` =
    max over z = centre + 0.5 i width of each interval of |q_emp(z) - q(z)| / |q(z)|.

    Parameters
    ----------
    model : RFModel
    d : int
        Dimension of the finite-size draws.
    seeds : int
        Number of independent draws.
    noise : {"exact", "gaussian"}

    Returns
    -------
    dict
        ``model``, ``spectrum``, ``sample`` (:class:`rfdiff.simulate.EigenvalueSample`) and ``gaps``.

    Examples
    --------
    >>> import rfdiff
    >>> s = spectrum_section(rfdiff.RFModel(psi_p=8, psi_n=2, t=0.1), d=8, noise="gaussian")
    >>> bool(s["gaps"]["mass_gap"] < 0.05)
    True
    """
    sp = model.spectrum()
    sample = _simulate.eigenvalues(model, d, seeds=range(seeds), noise=noise)
    cells = _cells(sp)
    frac = np.array([[np.mean((v > lo) & (v <= hi)) for lo, hi, _ in cells] for v in sample.values])
    mass = np.array([m for _, _, m in cells])
    z = np.array([0.5 * (lo + hi) + 0.5j * (hi - lo) for lo, hi in sp.support])
    q_theory = model.stieltjes(z)
    q_emp = np.mean(1.0 / (sample.values[..., None] - z), axis=-2).mean(axis=0)
    gaps = {
        "mass_gap": float(np.max(np.abs(frac.mean(axis=0) - mass))),
        "stieltjes_rel_gap": float(np.max(np.abs(q_emp - q_theory) / np.abs(q_theory))),
    }
    return {"model": model, "spectrum": sp, "sample": sample, "gaps": gaps,
            "cells": [{"lo": lo, "hi": hi, "mass": m, "fraction": float(f)}
                      for (lo, hi, m), f in zip(cells, frac.mean(axis=0))]}


def figure_spectrum(sections: dict[str, Any] | Sequence[dict[str, Any]], title: str | None = None) -> Figure:
    """lambda rho(lambda) on log lambda (theory) with the eigenvalue histograms: one panel per section.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import rfdiff
    >>> fig = figure_spectrum(spectrum_section(rfdiff.RFModel(8, 2, 0.1), d=6, noise="gaussian"))
    >>> len(fig.axes)
    1
    """
    from matplotlib.figure import Figure

    secs = [sections] if isinstance(sections, dict) else list(sections)
    fig = Figure(figsize=(7.5 * len(secs), 4.6))
    for ax, section in zip(np.atleast_1d(fig.subplots(1, len(secs))), secs):
        _plot.spectrum(section["model"], ax=ax, simulate=section["sample"])
        g = section["gaps"]
        text = (f"theory vs simulation: component masses within {g['mass_gap']:.2g}, "
                f"Stieltjes transform within {100 * g['stieltjes_rel_gap']:.2g} %")
        ax.set_title("\n".join([*([title] if title else []), ax.get_title(), text]), fontsize=9)
    fig.tight_layout()
    return fig


# ------------------------------------------------------------------------------ learning curves


def curves_section(psi_p: float = PSI_P, psi_n: Sequence[float] = PSI_N, t: float = T_CURVES, *,
                   d: int = 40, seeds: int = 4, tau_points: int = 141, sim_per_decade: int = 10,
                   on_step: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Limit learning curves and Gaussian-equivalent gradient flows at dimension d, with their gaps.

    For each psi_n: the theory curves on ``tau_points`` log-spaced tau in [1e-1, 1e6], the
    dynamical timescales (:func:`rfdiff.phases.dynamical_timescales`), and the mean over
    ``seeds`` draws of :func:`rfdiff.simulate.gradient_flow` (``noise="gaussian"``) on a
    log grid of ``sim_per_decade`` points per decade. Gaps (max over the simulated tau):
    |L_sim - L_theory| for train, test and gen, |E_sim/E_theory - 1| for the score, and
    |tau_mem_sim/tau_mem_dyn - 1| with tau_mem_sim the half-rise time of the simulated L_gen
    (its tau -> inf value from the simulated minimum-norm solution).

    Parameters
    ----------
    psi_p : float
    psi_n : sequence of float
    t : float
    d, seeds : int
        Simulation size and number of draws.
    tau_points, sim_per_decade : int
    on_step : callable, optional
        Called with a short description after each unit of work (progress bars).

    Returns
    -------
    dict
        ``psi_p``, ``t``, ``d``, ``seeds``, ``tau`` and per psi_n an entry of ``runs`` with
        ``theory`` (LearningCurves), ``dynamical`` (DynamicalTimescales), ``simulation``
        (list of FlowCurves), ``sim_mean`` (dict of arrays), ``tau_mem_sim``, ``gen_inf_sim``, ``gaps``.

    Examples
    --------
    >>> c = curves_section(psi_n=[8], d=4, seeds=1, tau_points=10, sim_per_decade=1)
    >>> sorted(c["runs"][0]["gaps"])
    ['gen', 'score_rel', 'tau_mem_rel', 'test', 'train']
    """
    tau = np.geomspace(1e-1, 1e6, int(tau_points))
    tau_sim = np.geomspace(1e-1, 1e6, 7 * int(sim_per_decade) + 1)
    runs = []
    for x in psi_n:
        model = RFModel(psi_p, float(x), t)
        lc = model.learning_curves(tau)
        lc_sim = model.learning_curves(tau_sim)
        dyn = dynamical_timescales(model)
        if on_step is not None:
            on_step(f"theory psi_n={x:g}")
        flows = []
        for s in range(seeds):
            flows.append(_simulate.gradient_flow(model, tau_sim, d=d, seed=s, noise="gaussian"))
            if on_step is not None:
                on_step(f"flow psi_n={x:g} seed {s}")
        mean = {k: np.mean([getattr(f, k) for f in flows], axis=0) for k in ("train", "test", "gen", "score")}
        gen_inf_sim = float(np.mean([f.test_inf - f.train_inf for f in flows]))
        tau_mem_sim = _crossing(tau_sim, mean["gen"], dyn.gen_threshold * gen_inf_sim, above=True)[0]
        gaps = {k: float(np.max(np.abs(mean[k] - getattr(lc_sim, k)))) for k in ("train", "test", "gen")}
        gaps["score_rel"] = float(np.max(np.abs(mean["score"] / lc_sim.score - 1.0)))
        gaps["tau_mem_rel"] = float(abs(tau_mem_sim / dyn.tau_mem_dyn - 1.0))
        runs.append({"psi_n": float(x), "model": model, "theory": lc, "theory_at_sim": lc_sim,
                     "dynamical": dyn, "simulation": flows, "sim_mean": mean, "tau_sim": tau_sim,
                     "gen_inf_sim": gen_inf_sim, "tau_mem_sim": tau_mem_sim, "gaps": gaps})
    return {"psi_p": float(psi_p), "t": float(t), "d": int(d), "seeds": int(seeds), "tau": tau,
            "tau_sim": tau_sim, "runs": runs}


_QUANTITIES = (("train", r"$L_{train}$"), ("test", r"$L_{test}$"), ("gen", r"$L_{gen}$"),
               ("score", r"$E_{score}$"))


def _colors(k: int) -> np.ndarray:
    import matplotlib

    return matplotlib.colormaps["viridis"](np.linspace(0.0, 0.85, k))


def figure_curves(section: dict[str, Any]) -> Figure:
    """Four panels (L_train, L_test, L_gen, E_score against tau): theory lines, simulation markers.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> c = curves_section(psi_n=[8], d=4, seeds=1, tau_points=10, sim_per_decade=1)
    >>> len(figure_curves(c).axes)
    4
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 7.5))
    axes = fig.subplots(2, 2).ravel()
    colors = _colors(len(section["runs"]))
    for run, col in zip(section["runs"], colors):
        for ax, (key, _) in zip(axes, _QUANTITIES):
            _plot.curves(run["theory"], ax=ax, simulate=run["simulation"], quantities=(key,), color=col,
                         label=rf"$\psi_n = {run['psi_n']:g}$")
    for ax, (_, name) in zip(axes, _QUANTITIES):
        ax.set_ylabel(name)
        if ax.get_legend() is not None:
            ax.get_legend().remove()
    axes[0].legend(fontsize=8, title=rf"$\psi_p = {section['psi_p']:g}$, $t = {section['t']:g}$"
                   + f"\nlines: $d\\to\\infty$; o: $d = {section['d']}$, {section['seeds']} seed(s)",
                   title_fontsize=8)
    fig.tight_layout()
    return fig


def figure_collapse(section: dict[str, Any]) -> Figure:
    """L_gen/L_gen(inf) against tau/tau_mem and E_score/min E_score against tau/tau_gen (dynamical times).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> c = curves_section(psi_n=[8], d=4, seeds=1, tau_points=10, sim_per_decade=1)
    >>> len(figure_collapse(c).axes)
    2
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 4.2))
    ax_gen, ax_score = fig.subplots(1, 2)
    colors = _colors(len(section["runs"]))
    for run, col in zip(section["runs"], colors):
        dyn = run["dynamical"]
        lab = rf"$\psi_n = {run['psi_n']:g}$"
        _plot.curves(run["theory"], ax=ax_gen, simulate=run["simulation"], quantities=("gen",), color=col,
                     tau_scale=dyn.tau_mem_dyn, value_scale=dyn.gen_inf,
                     label=lab + rf", $\tau_{{mem}} = {dyn.tau_mem_dyn:.3g}$")
        _plot.curves(run["theory"], ax=ax_score, simulate=run["simulation"], quantities=("score",),
                     color=col, tau_scale=dyn.tau_gen_dyn, value_scale=dyn.score_min,
                     label=lab + rf", $\tau_{{gen}} = {dyn.tau_gen_dyn:.3g}$")
    ax_gen.set_xlabel(r"$\tau / \tau_{mem}$  (dynamical: $L_{gen}(\tau_{mem}) = L_{gen}(\infty)/2$)")
    ax_gen.set_ylabel(r"$L_{gen} / L_{gen}(\infty)$")
    ax_gen.set_yscale("linear")
    ax_score.set_xlabel(r"$\tau / \tau_{gen}$  (dynamical: $E_{score}$ within 5% of its minimum)")
    ax_score.set_ylabel(r"$E_{score} / \min_\tau E_{score}$")
    for ax in (ax_gen, ax_score):
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


# ------------------------------------------------------------------------------ timescales


def _timescale_point(point: list) -> dict[str, float]:
    """Worker: [psi_p, psi_n, t] -> spectral and dynamical timescales (module level: picklable)."""
    psi_p, psi_n, t = point
    dyn = dynamical_timescales(RFModel(psi_p, psi_n, t))
    ts = dyn.spectral
    return {"tau_gen": ts.tau_gen, "tau_mem": ts.tau_mem, "tau_mem_loss": ts.tau_mem_loss,
            "tau_mem_asymptotic": ts.tau_mem_asymptotic, "tau_gen_dyn": dyn.tau_gen_dyn,
            "tau_mem_dyn": dyn.tau_mem_dyn}


def timescales_section(psi_n: Sequence[float], psi_p: float = PSI_P, t: float = T_CURVES, *,
                       executor: Executor | None = None,
                       progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """Spectral (tau_gen, tau_mem, loss-weighted tau_mem) and dynamical timescales against psi_n.

    Examples
    --------
    >>> from concurrent.futures import ThreadPoolExecutor
    >>> with ThreadPoolExecutor(1) as ex:
    ...     ts = timescales_section([8], executor=ex)
    >>> bool(ts["tau_gen_dyn"][0] < ts["tau_mem_dyn"][0])
    True
    """
    grid = [[float(psi_p), float(x), float(t)] for x in psi_n]
    rows = sweep(_timescale_point, grid, executor=executor, progress=progress)
    out: dict[str, Any] = {"psi_p": float(psi_p), "t": float(t), "psi_n": np.array([g[1] for g in grid])}
    for key in rows[0]:
        out[key] = np.array([r[key] for r in rows], dtype=np.float64)
    return out


def figure_timescales(section: dict[str, Any], curves: dict[str, Any] | None = None) -> Figure:
    """tau_mem and tau_gen against psi_n (log-log): spectral and dynamical lines, simulation markers.

    ``curves`` (from :func:`curves_section`) adds the half-rise times of the simulated L_gen.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from concurrent.futures import ThreadPoolExecutor
    >>> with ThreadPoolExecutor(1) as ex:
    ...     fig = figure_timescales(timescales_section([8], executor=ex))
    >>> fig.axes[0].get_xscale()
    'log'
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.5, 5))
    ax = fig.add_subplot()
    x = section["psi_n"]
    ax.plot(x, section["tau_mem"], "-", color="C3", label=r"$\tau_{mem}$ spectral (lower edge of $\rho_1$)")
    ax.plot(x, section["tau_mem_loss"], ":", color="C3",
            label=r"$\tau_{mem}$ spectral, loss-weighted (cluster)")
    ax.plot(x, section["tau_mem_dyn"], "--", color="C1",
            label=r"$\tau_{mem}$ dynamical ($L_{gen} = L_{gen}(\infty)/2$)")
    ax.plot(x, section["tau_gen"], "-", color="C0", label=r"$\tau_{gen}$ spectral (centre of $\rho_2$)")
    ax.plot(x, section["tau_gen_dyn"], "--", color="C2",
            label=r"$\tau_{gen}$ dynamical ($E_{score}$ within 5% of min)")
    if curves is not None:
        ax.plot([r["psi_n"] for r in curves["runs"]], [r["tau_mem_sim"] for r in curves["runs"]], "o",
                color="C1", mfc="none",
                label=rf"$\tau_{{mem}}$ from simulated $L_{{gen}}$, $d = {curves['d']}$")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(r"$\psi_n = n/d$")
    ax.set_ylabel(r"$\tau$")
    ax.set_title(rf"$\psi_p = {section['psi_p']:g}$, $t = {section['t']:g}$", fontsize=10)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


# ------------------------------------------------------------------------------ phase maps


def figure_phase(pd: PhaseDiagram) -> Figure:
    """One L_gen map per tau of ``pd``, with the n*(p) line and the regime boundaries.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from concurrent.futures import ThreadPoolExecutor
    >>> with ThreadPoolExecutor(1) as ex:
    ...     pd = phase_diagram([8], [2, 32], tau=[1e3, 1e4], n_star=[7.0], executor=ex)
    >>> len(figure_phase(pd).axes)  # two maps, two colour bars
    4
    """
    from matplotlib.figure import Figure

    k = pd.tau.size
    fig = Figure(figsize=(6.2 * k, 4.8))
    axes = np.atleast_1d(fig.subplots(1, k))
    for j, ax in enumerate(axes):
        _plot.phase(pd, ax=ax, tau_index=j)
    fig.tight_layout()
    return fig


# ------------------------------------------------------------------------------ the run


def _ignore_sigint() -> None:  # pragma: no cover - runs in worker processes
    """Workers leave Ctrl-C to the parent (which cancels the sweep and cleans up)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def process_pool(workers: int | None) -> ProcessPoolExecutor:
    """A process pool whose workers ignore SIGINT (the parent handles Ctrl-C alone).

    Examples
    --------
    >>> with process_pool(1) as pool:
    ...     pool.submit(abs, -2).result()
    2
    """
    return ProcessPoolExecutor(max_workers=workers, initializer=_ignore_sigint)


class _Bar:
    """tqdm on stderr when it is a terminal, silent otherwise."""

    def __init__(self, total: int, desc: str, enabled: bool | None = None) -> None:
        from tqdm import tqdm

        on = sys.stderr.isatty() if enabled is None else enabled
        self._bar = tqdm(total=total, desc=desc, file=sys.stderr, disable=not on, leave=False,
                         dynamic_ncols=True)

    def step(self, what: str = "", n: int = 1) -> None:
        if what:
            self._bar.set_postfix_str(what, refresh=False)
        self._bar.update(n)

    def close(self) -> None:
        self._bar.close()


def _save(fig: Figure, directory: Path, name: str, dpi: int = 130) -> list[str]:
    files = []
    for ext in ("png", "pdf"):
        fig.savefig(directory / f"{name}.{ext}", dpi=dpi)
        files.append(f"{name}.{ext}")
    return files


def _spectrum_json(secs: list[dict[str, Any]]) -> dict[str, Any]:
    m, sp = secs[0]["model"], secs[0]["spectrum"]
    sims = {}
    for sec in secs:
        ev = sec["sample"]
        sims[str(ev.noise)] = {"d": ev.d, "p": ev.p, "n": ev.n, "seeds": len(ev.seeds), "cells": sec["cells"],
                               "gaps": sec["gaps"]}
    return {"parameters": {"psi_p": m.psi_p, "psi_n": m.psi_n, "t": m.t, "activation": m.activation.name,
                           "data_values": list(m.data.values), "data_weights": list(m.data.weights)},
            "atoms": [list(a) for a in sp.atoms], "support": [list(s) for s in sp.support],
            "masses": list(sp.masses), "simulations": sims}


def _curves_json(sec: dict[str, Any]) -> dict[str, Any]:
    runs = []
    for r in sec["runs"]:
        lc, dyn = r["theory"], r["dynamical"]
        runs.append({
            "psi_n": r["psi_n"],
            "theory": {k: getattr(lc, k) for k in ("train", "test", "gen", "score")},
            "simulation_mean": r["sim_mean"],
            "dynamical": {"tau_gen": dyn.tau_gen_dyn, "tau_mem": dyn.tau_mem_dyn, "gen_inf": dyn.gen_inf,
                          "score_min": dyn.score_min},
            "simulation_tau_mem": r["tau_mem_sim"], "simulation_gen_inf": r["gen_inf_sim"],
            "gaps": r["gaps"],
        })
    return {"psi_p": sec["psi_p"], "t": sec["t"], "d": sec["d"], "seeds": sec["seeds"],
            "noise": "gaussian", "tau": sec["tau"], "tau_simulation": sec["tau_sim"], "runs": runs}


def _phase_json(pd: PhaseDiagram) -> dict[str, Any]:
    return {"t": pd.t, "psi_p": pd.psi_p, "psi_n": pd.psi_n, "tau": pd.tau, "gen": pd.gen,
            "train": pd.train, "test": pd.test, "regime": pd.regime, "regimes": list(REGIMES),
            "tau_gen": pd.tau_gen, "tau_mem": pd.tau_mem, "n_star": pd.n_star}


def _summary_gaps(result: dict[str, Any]) -> dict[str, float]:
    out = {}
    for key in ("fig4", "anisotropic"):
        for noise, sim in result["spectrum"][key]["simulations"].items():
            for name, value in sim["gaps"].items():
                out[f"spectrum_{key}_{noise}_{name}"] = value
    for name in ("train", "test", "gen", "score_rel", "tau_mem_rel"):
        out[f"curves_{name}"] = max(r["gaps"][name] for r in result["curves"]["runs"])
    return out


_GAP_TEXT = {
    "mass_gap": "max |eigenvalue fraction - theory mass| over the atom and support windows",
    "gaussian_mass_gap": "Gaussian-equivalent U: max |eigenvalue fraction - theory mass| per window",
    "exact_mass_gap": "real tanh features: max |eigenvalue fraction - theory mass| per window",
    "gaussian_stieltjes_rel_gap": "Gaussian-equivalent U: max rel. error of (1/p) Tr (U - z)^-1, "
                                  "z = centre + 0.5i width",
    "exact_stieltjes_rel_gap": "real tanh features: max rel. error of (1/p) Tr (U - z)^-1, "
                               "z = centre + 0.5i width",
    "stieltjes_rel_gap": "max relative error of (1/p) Tr (U - z)^-1 at z = centre + 0.5i width",
    "train": "max over tau of |L_train(sim) - L_train(theory)|",
    "test": "max over tau of |L_test(sim) - L_test(theory)|",
    "gen": "max over tau of |L_gen(sim) - L_gen(theory)|",
    "score_rel": "max over tau of |E_score(sim) / E_score(theory) - 1|",
    "tau_mem_rel": "|tau_mem(sim) / tau_mem(theory) - 1| (half-rise of L_gen)",
}


def _html(result: dict[str, Any], figures: list[tuple[str, str, str]]) -> str:
    esc = html.escape
    cfg = result["config"]
    rows = "".join(f"<tr><td>{esc(k)}</td><td>{esc(str(v))}</td></tr>" for k, v in cfg.items())
    gap_rows = []
    for key, value in result["gaps"].items():
        short = key.split("_", 1)[1] if key.startswith("curves_") else key.split("_", 2)[2]
        text = _GAP_TEXT.get(short, "")
        shown = "n/a" if value is None else f"{value:.3g}"
        gap_rows.append(f"<tr><td>{esc(key)}</td><td>{shown}</td><td>{esc(text)}</td></tr>")
    sections = []
    for name, title, caption in figures:
        sections.append(
            f'<section><h2>{esc(title)}</h2><a href="{name}.pdf"><img src="{name}.png" alt="{esc(title)}" '
            f'style="max-width:100%"></a><p>{esc(caption)}</p></section>')
    timing = ", ".join(f"{k} {v:.1f} s" for k, v in result["timing_s"].items())
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>rfdiff report</title>
<style>body{{font-family:sans-serif;max-width:1200px;margin:auto;padding:1em}}
table{{border-collapse:collapse}}td,th{{border:1px solid #bbb;padding:2px 8px;text-align:left}}</style>
</head><body>
<h1>rfdiff report: random-features diffusion model, theory against finite-size simulation</h1>
<p>Bonnaire, Urfin, Biroli &amp; Mézard (NeurIPS 2025), random-features figures. Lines: d &rarr; &infin;
theory (rfdiff); markers/histograms: finite-size simulation (rfdiff.simulate).
rfdiff {esc(result['rfdiff_version'])}, {esc(result['created'])}, preset <b>{esc(result['preset'])}</b>,
time {timing}, load average {esc(str(result['load_average']))}.</p>
<h2>Parameters</h2><table>{rows}</table>
<h2>Measured theory&ndash;simulation gaps</h2>
<p>Finite-size effects shrink like 1/d (spectra, deterministic equivalents) plus sample
fluctuations ~1/sqrt(seeds d); all numbers are in report.json.</p>
<table><tr><th>gap</th><th>value</th><th>definition</th></tr>{''.join(gap_rows)}</table>
{''.join(sections)}
</body></html>
"""


def _install(tmp: Path, out: Path) -> None:
    """Move the finished files from ``tmp`` into ``out``: one rename if ``out`` does not exist,
    else one atomic ``os.replace`` per file (other files in ``out`` are left alone)."""
    if not out.exists():
        os.replace(tmp, out)
        return
    for f in sorted(tmp.iterdir()):
        os.replace(f, out / f.name)
    tmp.rmdir()


def run_report(out: str | os.PathLike[str] = "rfdiff-report", config: ReportConfig | None = None, *,
               preset: str = "full", executor: Executor | None = None,
               progress: bool | None = None) -> dict[str, Any]:
    """Compute every section, write the figures (PNG + PDF), ``report.json`` and ``index.html``.

    Parameters
    ----------
    out : path
        Output directory (created; existing files of the same names are replaced, others kept).
    config : ReportConfig, optional
        Sizes; default ``ReportConfig.preset(preset)``.
    preset : {"full", "quick", "tiny"}
        Recorded as the run's name when ``config`` is that preset (up to ``workers``), else "custom".
    executor : concurrent.futures.Executor, optional
        For the timescale and phase sweeps (e.g. a dask ``client.get_executor()``); default a
        process pool of ``config.workers`` processes.
    progress : bool, optional
        Progress bar on stderr; default: only when stderr is a terminal.

    Returns
    -------
    dict
        The content of ``report.json`` (with ``out`` and ``files``).

    Examples
    --------
    >>> ReportConfig.preset("tiny").phase_psi_p
    (8.0, 8.0, 1)
    """
    cfg = ReportConfig.preset(preset) if config is None else config
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"out (--out) must be a directory, {str(out)!r} is a file")
    parent = out.resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=parent))
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(tmp, 0o777 & ~mask)  # mkdtemp makes 0700; the report directory gets the usual permissions
    pp = np.geomspace(cfg.phase_psi_p[0], cfg.phase_psi_p[1], int(cfg.phase_psi_p[2]))
    pn = np.geomspace(cfg.phase_psi_n[0], cfg.phase_psi_n[1], int(cfg.phase_psi_n[2]))
    psi_n_ts = np.geomspace(2.0, 48.0, cfg.timescale_points)
    units = (2 * cfg.spectrum_seeds * len(cfg.spectrum_noise) + len(cfg.curve_psi_n) * (1 + cfg.curve_seeds)
             + cfg.timescale_points + 1 + 5)
    bar = _Bar(units, "rfdiff report", progress)
    own = executor is None
    pool = process_pool(cfg.workers) if own else executor
    timing: dict[str, float] = {}
    result: dict[str, Any] = {}
    try:
        with warnings.catch_warnings():
            # rfdiff.spectrum warns when a density is resolved to < 1e-12 (still ~1e-10): irrelevant here
            warnings.filterwarnings("ignore", message=r"density on .* not resolved", category=RuntimeWarning)
            start = time.perf_counter()
            fig4, aniso = [], []
            for secs, model, what in ((fig4, RFModel(PSI_P, PSI_N_SPECTRUM, T_SPECTRUM), "Fig. 4"),
                                      (aniso, RFModel(PSI_P, PSI_N_SPECTRUM, T_SPECTRUM, data=ANISOTROPIC),
                                       "anisotropic")):
                for noise in cfg.spectrum_noise:
                    secs.append(spectrum_section(model, cfg.d_spectrum, cfg.spectrum_seeds, noise))
                    bar.step(f"spectrum ({what}, {noise})", cfg.spectrum_seeds)
            timing["spectrum"] = time.perf_counter() - start
            start = time.perf_counter()
            curves = curves_section(PSI_P, cfg.curve_psi_n, T_CURVES, d=cfg.d_curves, seeds=cfg.curve_seeds,
                                    tau_points=cfg.tau_points, sim_per_decade=cfg.sim_per_decade,
                                    on_step=bar.step)
            timing["curves"] = time.perf_counter() - start
            start = time.perf_counter()
            done = [0]

            def ts_progress(k: int, total: int) -> None:
                bar.step("timescales", k - done[0])
                done[0] = k

            ts = timescales_section(psi_n_ts, PSI_P, T_CURVES, executor=pool, progress=ts_progress)
            timing["timescales"] = time.perf_counter() - start
            start = time.perf_counter()
            bar.step(f"phase maps {pp.size} x {pn.size}", 0)
            pd = phase_diagram(pp, pn, T_CURVES, list(PHASE_TAU), executor=pool)
            bar.step("phase maps")
            timing["phase"] = time.perf_counter() - start
        start = time.perf_counter()
        figures = [
            ("fig4_spectrum", "Spectrum of U, paper Fig. 4 setting",
             f"psi_p = {PSI_P:g}, psi_n = {PSI_N_SPECTRUM:g}, t = {T_SPECTRUM:g}, tanh, data N(0, I): "
             f"lambda rho(lambda) on log lambda (theory, Theorem 3.1) with both bulks, the cluster and the "
             f"atom at s_t^2; histogram: eigenvalues of U at d = {cfg.d_spectrum} "
             f"({cfg.spectrum_seeds} seed(s)); one panel per noise mode {list(cfg.spectrum_noise)}: "
             "'gaussian' is the Gaussian-equivalent U (its limit is the theory), 'exact' the real tanh "
             "features with the noise average done exactly, whose atom is broadened at finite d "
             "(docs/theory.md §8).",
             lambda: figure_spectrum(fig4, "paper Fig. 4 setting")),
            ("spectrum_anisotropic", "Spectrum of U, anisotropic data",
             "rho_Sigma = {0.5, 1.5} with weights 1/2, 1/2, same psi_p, psi_n, t as Fig. 4.",
             lambda: figure_spectrum(aniso, r"anisotropic data: $\rho_\Sigma$ = {0.5, 1.5}")),
            ("fig5_curves", "Learning curves, paper Fig. 5 setting",
             f"psi_p = {PSI_P:g}, t = {T_CURVES:g}, psi_n in {list(cfg.curve_psi_n)}: "
             "lines are the d -> infinity "
             f"curves, markers the exact gradient flow of Gaussian-equivalent draws at d = {cfg.d_curves} "
             f"(mean of {cfg.curve_seeds} seeds, bars: spread over seeds).",
             lambda: figure_curves(curves)),
            ("fig5_collapse", "Collapse under tau/tau_mem and tau/tau_gen",
             "L_gen/L_gen(inf) against tau/tau_mem and E_score/min E_score against tau/tau_gen, with the "
             "dynamical timescales of the limit curves.", lambda: figure_collapse(curves)),
            ("timescales", "Timescales against psi_n",
             "Spectral (edges of the spectrum of U) and dynamical (read off the limit curves) tau_gen and "
             "tau_mem at psi_p = 64, t = 0.1; markers: half-rise times of the simulated L_gen.",
             lambda: figure_timescales(ts, curves)),
            ("phase_maps", "L_gen phase maps at tau = 1e3 and 1e4",
             f"psi_p in [{pp[0]:g}, {pp[-1]:g}] ({pp.size} points), psi_n in [{pn[0]:g}, {pn[-1]:g}] "
             f"({pn.size} points), t = {T_CURVES:g}: colour L_gen at tau, white lines the regime "
             "boundaries, red line n*(p).", lambda: figure_phase(pd)),
        ]
        files = []
        for name, _, _, build in figures:
            files += _save(build(), tmp, name, cfg.dpi)
            bar.step(name, 0)
        bar.step("figures")
        timing["figures"] = time.perf_counter() - start
        result = {
            "rfdiff_version": _version(),
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "preset": preset if dataclasses.replace(cfg, workers=None) == PRESETS.get(preset) else "custom",
            "config": dataclasses.asdict(cfg),
            "load_average": [round(x, 2) for x in os.getloadavg()],
            "timing_s": timing,
            "spectrum": {"fig4": _spectrum_json(fig4), "anisotropic": _spectrum_json(aniso)},
            "curves": _curves_json(curves),
            "timescales": ts,
            "phase": _phase_json(pd),
        }
        result["gaps"] = _summary_gaps(result)
        result["files"] = [*files, "report.json", "index.html"]
        result = _finite(result)
        (tmp / "index.html").write_text(_html(result, [(n, t, c) for n, t, c, _ in figures]))
        (tmp / "report.json").write_text(json.dumps(result, indent=1, allow_nan=False))
        bar.step("written", 4)
        _install(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        bar.close()
        if own:
            pool.shutdown(wait=True, cancel_futures=True)
    result["out"] = str(out)
    return result


def _version() -> str:
    from . import __version__

    return __version__
