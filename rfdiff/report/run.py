"""The report run: the list of sections, the :class:`Report` result and :func:`run_report`."""

from __future__ import annotations

import dataclasses
import datetime
import math
import os
import shutil
import time
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..io import Serializable, to_dict
from ..phases import REGIMES, phase_diagram
from . import config as _cfg
from . import figures as _fig
from . import regularization as _reg
from . import sections as _sec
from .files import install, make_temporary, save_figure
from .html import render
from .progress import Progress, process_pool

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["SECTIONS", "Context", "FigureSpec", "Report", "Section", "run_report"]

#: report.json keeps arrays up to this size (eigenvalues, curves, contours, maps); larger ones (the
#: simulations' p x p matrices, two-point tables) are omitted with a note (see rfdiff.io).
JSON_MAX_ARRAY = 20_000


@dataclass
class Context:
    """What a section's ``compute`` gets besides the config: the executor for sweeps, the progress
    reporter and the results of the sections computed before it."""

    executor: Executor
    progress: Progress
    results: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class FigureSpec:
    """One figure: file stem, title, builder (all results -> Figure) and caption (results, config -> str)."""

    name: str
    title: str
    build: Callable[[dict[str, Any]], Figure]
    caption: Callable[[dict[str, Any], _cfg.ReportConfig], str]


@dataclass(frozen=True)
class Section:
    """One report section: ``compute(cfg, ctx)`` returns a serializable result (stored under ``name`` in
    report.json), ``figures`` draw it, ``units(cfg)`` is its share of the progress count."""

    name: str
    compute: Callable[[_cfg.ReportConfig, Context], Serializable]
    figures: tuple[FigureSpec, ...]
    units: Callable[[_cfg.ReportConfig], int]


@dataclass(frozen=True)
class Report(Serializable):
    """A finished report: what ``report.json`` holds and ``rfdiff.load`` returns.

    Attributes
    ----------
    version : str
        rfdiff version that computed it.
    created : str
        UTC time (ISO 8601).
    preset : str
        ``"full"``, ``"quick"``, ``"tiny"`` or ``"custom"``.
    config : ReportConfig
    load_average : tuple of float
        1, 5, 15-minute load averages at the end of the run (timings depend on them).
    timing_s : dict
        Wall time of each section and of the figures.
    sections : dict
        Section name -> its result object (see :data:`SECTIONS`).
    files : tuple of str
        The files written.
    """

    version: str
    created: str
    preset: str
    config: _cfg.ReportConfig
    load_average: tuple[float, ...]
    timing_s: dict[str, float]
    sections: dict[str, Any]
    files: tuple[str, ...]

    @property
    def gaps(self) -> tuple[_sec.Gap, ...]:
        """Every theory-simulation gap of every section, in section order."""
        return tuple(g for s in self.sections.values() for g in getattr(s, "gaps", ()))

    def config_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self.config)


# ------------------------------------------------------------------------------ the sections


def _spectrum(cfg: _cfg.ReportConfig, ctx: Context) -> Any:
    return _sec.spectrum_section(cfg, on_step=ctx.progress.step)


def _curves(cfg: _cfg.ReportConfig, ctx: Context) -> Any:
    return _sec.curves_section(_cfg.PSI_P, cfg.curve_psi_n, _cfg.T_CURVES, d=cfg.d_curves,
                               seeds=cfg.curve_seeds, tau_points=cfg.tau_points,
                               sim_per_decade=cfg.sim_per_decade, on_step=ctx.progress.step)


def _exact(cfg: _cfg.ReportConfig, ctx: Context) -> Any:
    return _sec.exact_curves_section(cfg.exact_curves_d, cfg.exact_curve_seeds,
                                     sim_per_decade=cfg.sim_per_decade, on_step=ctx.progress.step)


def _ts_grid(cfg: _cfg.ReportConfig) -> np.ndarray:
    return np.geomspace(2.0, 64.0, cfg.timescale_points) if cfg.timescale_points else np.array([])


def _timescales(cfg: _cfg.ReportConfig, ctx: Context) -> Any:
    done = [0]

    def progress(k: int, total: int) -> None:
        ctx.progress.step("timescales", k - done[0])
        done[0] = k

    sweeps = []
    for psi_p in _cfg.SCALING_PSI_P:
        done[0] = 0
        sweeps.append(_sec.timescales_sweep(_ts_grid(cfg), psi_p, _cfg.T_CURVES, fit_psi_n=cfg.fit_psi_n,
                                            executor=ctx.executor, progress=progress))
    return _sec.TimescalesSection(tuple(sweeps))


def _ts_units(cfg: _cfg.ReportConfig) -> int:
    grid = {float(f"{x:.12g}") for x in _ts_grid(cfg)} | {float(x) for x in cfg.fit_psi_n}
    return len(_cfg.SCALING_PSI_P) * len(grid)


def _phase_axes(cfg: _cfg.ReportConfig) -> tuple[np.ndarray, np.ndarray]:
    return (np.geomspace(cfg.phase_psi_p[0], cfg.phase_psi_p[1], int(cfg.phase_psi_p[2])),
            np.geomspace(cfg.phase_psi_n[0], cfg.phase_psi_n[1], int(cfg.phase_psi_n[2])))


def _phase(cfg: _cfg.ReportConfig, ctx: Context) -> Any:
    pp, pn = _phase_axes(cfg)
    ctx.progress.step(f"phase maps {pp.size} x {pn.size}", 0)
    pd = phase_diagram(pp, pn, _cfg.T_CURVES, list(_cfg.PHASE_TAU), executor=ctx.executor)
    ctx.progress.step("phase maps")
    return pd


def _regularization(cfg: _cfg.ReportConfig, ctx: Context) -> Any:
    return _reg.regularization_section(cfg.regularization_lams, cfg.regularization_psi_n, cfg.adam_d,
                                       cfg.adam_seeds, tau_points=cfg.tau_points,
                                       map_shape=cfg.regularization_map, on_step=ctx.progress.step)


def _mem_sizes(cfg: _cfg.ReportConfig) -> dict[str, Any]:
    k = cfg.mem_tau_per_decade
    return {"psi_p": [cfg.mem_psi_p], "psi_n": list(cfg.mem_psi_n), "seeds": list(range(cfg.mem_seeds)),
            "d": cfg.mem_d, "n_times": cfg.mem_times, "noise": "exact",
            "tau": [10.0 ** (j / k) for j in range(0, 9 * k + 1)] + ["inf"], "n_samples": cfg.mem_samples,
            "theory_times": list(cfg.mem_theory_t)}


def _mem_units(cfg: _cfg.ReportConfig) -> int:
    return len(cfg.mem_psi_n) * (cfg.mem_seeds + len(cfg.mem_theory_t)) + 1


def _memorization(cfg: _cfg.ReportConfig, ctx: Context) -> Any:
    from ..generate import study

    done = [0]

    def progress(k: int, total: int) -> None:
        ctx.progress.step("memorization in samples", k - done[0])
        done[0] = k

    return study.report_data(None, executor=ctx.executor, progress=progress, **_mem_sizes(cfg))


def _fmt_tau(x: Any) -> str:
    return "none" if x is None else f"{x:.3g}"


def _memorization_caption(results: dict[str, Any], cfg: _cfg.ReportConfig) -> str:
    rep = results["memorization"]
    st = rep.study
    s0 = st.settings[0]
    parts = []
    for s in st.settings:
        f_inf = s.get("f_mem_inf", {}).get("mean")
        parts.append(f"n = {s['n']}: tau_mem^gen {_fmt_tau(s['tau_mem_gen']['geomean'])}"
                     + ("" if f_inf is None else f", f_mem(inf) {f_inf:.3g}"))
    fits = "; ".join(f"psi_p = {e['psi_p']:g}: tau_mem^gen ~ n^{e['slope']:.2f} (95 % CI [{e['lo']:.2f}, "
                     f"{e['hi']:.2f}], {e['points']} points)" for e in st.exponents
                     if e.get("slope") is not None and math.isfinite(e["slope"]))
    rule = ""
    dyn = rep.onset.get("tau_mem_dyn") if rep.onset else None
    if dyn and dyn.get("t_star_geomean") is not None:
        rule = (f" The theory's tau_mem^dyn(t) equals the measured onset at t* = "
                f"{dyn['t_star_geomean']:.3g} (geometric mean over the {dyn['found']} settings where it "
                f"crosses; spread {dyn['t_star_spread']:.3g}x)")
        if dyn.get("loo_rms_log10") is not None:
            rule += (f"; a fixed-t* rule predicts the left-out onsets within a factor "
                     f"{10 ** dyn['loo_rms_log10']:.2g} (rms)")
        rule += "."
    head = (f"RF diffusion models (rfdiff.generate, docs/generate.md): d = {s0['d']}, psi_p = "
            f"{s0['psi_p']:g} (p = {s0['p']}), psi_n in {list(cfg.mem_psi_n)}, tanh, N(0, I) data, exact "
            f"noise average, {cfg.mem_times} diffusion times on [1e-3, 5], reverse SDE (Heun), "
            f"{cfg.mem_samples} samples per tau, {cfg.mem_seeds} seed(s). ")
    body = ("Left: the memorization fraction (nearest training point closer than 1/3 of the second "
            "nearest), markers: mean, bars: standard error over seeds (one seed: bootstrap 95 % interval); "
            "tau = inf drawn right of the last tau. Middle: squared Fréchet distance of the samples to the "
            "data law with its finite-sample floor (dashed) and the training set's own distance (dotted). "
            "Right: tau_mem^gen (f_mem reaches half of f_mem(inf)), geometric mean and 95 % interval over "
            "seeds, with the power-law fit; dashed lines: the single-time theory's dynamical tau_mem "
            "(half-rise of L_gen at one diffusion time t, d -> inf) at t = "
            f"{', '.join(f'{t:g}' for t in cfg.mem_theory_t)}. ")
    return (head + body + "; ".join(parts) + ". " + (fits + "." if fits else "") + rule
            + " At this d the memorization of samples need not follow the single-time tau_mem ~ n "
              "(docs/generate.md Q2).")


def _memorization_samples_caption(results: dict[str, Any], cfg: _cfg.ReportConfig) -> str:
    pr = results["memorization"].projection
    return (f"The first two coordinates of 300 samples (dots) and of the n = {len(pr['train'])} training "
            f"points (crosses) of one model (psi_p = {pr['psi_p']:g}, psi_n = {pr['psi_n']:g}, seed 0), at a "
            f"training time in the generalization window (tau = {float(pr['tau'][0]):g}: the first tau at "
            "which the sample quality is within noise of its best, tau_gen^gen) and at tau = inf, far "
            "beyond tau_mem^gen: memorized samples sit on the crosses.")


def _spectrum_caption(results: dict[str, Any], cfg: _cfg.ReportConfig) -> str:
    return (f"psi_p = {_cfg.PSI_P:g}, psi_n = {_cfg.PSI_N_SPECTRUM:g}, t = {_cfg.T_SPECTRUM:g}, tanh, data "
            f"N(0, I): "
            "lambda rho(lambda) on log lambda (theory: Theorem 3.1, docs/theory.md §4.2, with both bulks, "
            "the "
            "cluster of §5.2 and the atom at s_t^2); histograms: eigenvalues of U at "
            f"d = {cfg.d_spectrum} ({cfg.spectrum_seeds} seed(s)); one panel per noise mode "
            f"{list(cfg.spectrum_noise)}: 'gaussian' is the Gaussian-equivalent U (its limit is the theory), "
            "'exact' the real tanh features with the noise average done exactly, whose atom is broadened at "
            "finite d (docs/theory.md §8.4; see the d-scan).")


def _atom_caption(results: dict[str, Any], cfg: _cfg.ReportConfig) -> str:
    scan = results["spectrum"].atom_scan
    return (f"Real tanh features at d = {', '.join(map(str, scan.d))} (one seed each), Fig. 4 setting. "
            f"Left: the "
            f"relative width of the p - n - d eigenvalues that form the atom at s_t^2 falls like d^"
            f"{scan.width_fit.exponent:.2f} (95 % CI {scan.width_fit.text()}); while it is not small "
            f"against the "
            f"distance to the window boundary, atom eigenvalues are counted in the cluster's window and the "
            f"per-window mass gap stays O(0.1); extrapolated, the split is resolved for d ≳ "
            f"{scan.resolved_at:.3g}. Right: with the atom merged into the cluster the masses agree to a "
            f"couple of "
            f"eigenvalues, and the Stieltjes transform gap falls like d^{scan.stieltjes_fit.exponent:.2f}.")


def _curves_caption(results: dict[str, Any], cfg: _cfg.ReportConfig) -> str:
    c = results["curves"]
    return (f"psi_p = {c.psi_p:g}, t = {c.t:g}, psi_n in {[r.psi_n for r in c.runs]}: lines are the d -> "
            f"infinity "
            f"curves (two-point deterministic equivalent, docs/theory.md §7), markers the exact gradient "
            f"flow of "
            f"Gaussian-equivalent draws at d = {c.d} (mean of {c.seeds} seeds, bars: spread over seeds).")


def _collapse_caption(results: dict[str, Any], cfg: _cfg.ReportConfig) -> str:
    c = results["curves"]
    return ("Left: L_gen against tau/psi_n, the paper's rescaling. If tau_mem were proportional to n the "
            "rises "
            "would coincide; at psi_p = 64 they do not (the rise moves by less than psi_n: see the timescale "
            "figure), because psi_n is not small against psi_p. Middle and right: each curve rescaled by "
            "its own "
            "dynamical tau_mem (half-rise of L_gen) and tau_gen (E_score within 5 % of its minimum). These "
            "collapse at 1/2 and at the minimum by construction, so they show the shape of the rise, not how "
            f"tau_mem scales with n. Markers: Gaussian-equivalent flow at d = {c.d}.")


def _exact_caption(results: dict[str, Any], cfg: _cfg.ReportConfig) -> str:
    s = results["exact_curves"]
    fits = ", ".join(f"{k} {f.text()}" for k, f in zip(("train", "test", "gen"), s.fits))
    return (f"The real model: tanh features with the noise expectation done exactly (Mehler expansion, "
            f"docs/theory.md §8.1), psi_p = {s.model.psi_p:g}, psi_n = {s.model.psi_n:g}, t = {s.model.t:g}, "
            f"at d = {', '.join(map(str, s.d))} ({s.seeds} seed(s) each), against the limit curves. Left: "
            f"curves "
            f"at d = {s.d[-1]}. Right: the largest gap over tau against d, for the real features (filled) "
            f"and "
            f"the Gaussian-equivalent model at the same d (open): the real-feature gap is larger at a given "
            f"d and "
            f"shrinks with exponents (95 % CI) {fits}; 1/d is the expected law.")


def _timescales_caption(results: dict[str, Any], cfg: _cfg.ReportConfig) -> str:
    ts = results["timescales"]
    parts = []
    for sw in ts.sweeps:
        parts.append(f"psi_p = {sw.psi_p:g}: dynamical tau_mem exponent {sw.fit_dynamical.text()} "
                     f"(per doubling {', '.join(f'{k:.2f}' for k in sw.fit_dynamical.local)}): "
                     f"{sw.verdict('dynamical')}; spectral {sw.fit_spectral.text()}: "
                     f"{sw.verdict('spectral')}")
    return ("Left: spectral times (edges of the spectrum of U, paper convention psi_p/(Delta_t lambda), "
            "docs/theory.md §6.1) and dynamical times (read off the limit curves, §6.3) against psi_n at "
            f"psi_p = {', '.join(f'{sw.psi_p:g}' for sw in ts.sweeps)}, t = {ts.sweeps[0].t:g}; power laws "
            f"fitted "
            f"at psi_n = {', '.join(f'{x:g}' for x in cfg.fit_psi_n)} (thick bands), exponent with its 95 % "
            "interval in the legend; crosses: the headline tau_mem is more than 3x away from the time that "
            "governs the loss (§6.2); open circles: half-rise times of the simulated L_gen. Right: the "
            "exponent "
            "per doubling of psi_n against psi_n/psi_p. " + " | ".join(parts) + ".")


def _phase_caption(results: dict[str, Any], cfg: _cfg.ReportConfig) -> str:
    pd = results["phase"]
    pp, pn = pd.psi_p, pd.psi_n
    return (f"L_gen at tau = {', '.join(f'{x:g}' for x in pd.tau)} over psi_p in [{pp[0]:g}, {pp[-1]:g}] "
            f"({pp.size} points) and psi_n in [{pn[0]:g}, {pn[-1]:g}] ({pn.size} points), t = {pd.t:g}; "
            f"colour: "
            "L_gen; white lines: regime boundaries, numbered as follows. "
            f"0 '{REGIMES[0]}': tau < tau_gen, E_score has not yet come within 5 % of its minimum. "
            f"1 '{REGIMES[1]}': tau_gen <= tau < tau_mem, the model generalizes and L_gen is still below "
            f"half "
            "of its final value. "
            f"2 '{REGIMES[2]}': tau >= tau_mem, L_gen has risen past half of L_gen(inf). "
            f"3 '{REGIMES[3]}': psi_n > n*(psi_p), L_gen(inf) itself is small and falls as a power of "
            f"1/psi_n, so "
            "the flow does not memorize at any tau (docs/theory.md §6.4-§6.5). Red line: n*(p), the steepest "
            "log-log fall of L_gen(inf); grey dotted: psi_n = psi_p.")


#: The sections, in order. To add one: a compute function returning a Serializable result (with a
#: ``gaps`` tuple if it compares theory and simulation), figure builders and captions, and an entry here.
SECTIONS: tuple[Section, ...] = (
    Section("spectrum", _spectrum, (
        FigureSpec("fig4_spectrum", "Spectrum of U, paper Fig. 4 setting",
                   lambda r: _fig.figure_spectrum(r["spectrum"].fig4, "paper Fig. 4 setting"),
                   _spectrum_caption),
        FigureSpec("spectrum_anisotropic", "Spectrum of U, anisotropic data",
                   lambda r: _fig.figure_spectrum(r["spectrum"].anisotropic,
                                                  r"anisotropic data: $\rho_\Sigma$ = {0.5, 1.5}"),
                   lambda r, c: "rho_Sigma = {0.5, 1.5} with weights 1/2, 1/2, same psi_p, psi_n, t as Fig. "
                                "4; "
                                "the data anisotropy splits the cluster and rho_2 in two."),
        FigureSpec("spectrum_dscan", "Real-feature spectrum against d",
                   lambda r: _fig.figure_atom_scan(r["spectrum"].atom_scan), _atom_caption),
    ), lambda cfg: 2 * cfg.spectrum_seeds * len(cfg.spectrum_noise) + len(cfg.dscan_spectrum)),
    Section("curves", _curves, (
        FigureSpec("fig5_curves", "Learning curves, paper Fig. 5 setting",
                   lambda r: _fig.figure_curves(r["curves"]), _curves_caption),
        FigureSpec("fig5_collapse", "Rescalings: tau/psi_n (paper) and the self-rescaled collapses",
                   lambda r: _fig.figure_collapse(r["curves"]), _collapse_caption),
    ), lambda cfg: len(cfg.curve_psi_n) * (1 + cfg.curve_seeds)),
    Section("exact_curves", _exact, (
        FigureSpec("exact_curves", "Learning curves of the real tanh model (exact noise average), d-scan",
                   lambda r: _fig.figure_exact_curves(r["exact_curves"]), _exact_caption),
    ), lambda cfg: len(cfg.exact_curves_d)),
    Section("timescales", _timescales, (
        FigureSpec("timescales", "tau_mem against psi_n at psi_p = 64 and 1024: where tau_mem ~ n holds",
                   lambda r: _fig.figure_timescales(r["timescales"], r.get("curves")), _timescales_caption),
    ), _ts_units),
    Section("phase", _phase, (
        FigureSpec("phase_maps", "L_gen phase maps at tau = 1e3 and 1e4",
                   lambda r: _fig.figure_phase(r["phase"]), _phase_caption),
    ), lambda cfg: 1),
    Section("regularization", _regularization, (
        FigureSpec("regularization", "Regularization and optimizers: weight decay, early stopping, Adam",
                   lambda r: _reg.figure_regularization(r["regularization"]), _reg.regularization_caption),
    ), lambda cfg: 2 + len(cfg.regularization_psi_n) + (cfg.adam_seeds if cfg.adam_d else 0)),
    Section("memorization", _memorization, (
        FigureSpec("memorization_curves", "Memorization in samples: f_mem and quality against tau, onset "
                                          "against n beside the single-time theory",
                   lambda r: _fig.figure_memorization(r["memorization"]), _memorization_caption),
        FigureSpec("memorization_samples", "Memorization in samples: samples and training points in 2-D",
                   lambda r: _fig.figure_memorization_samples(r["memorization"]),
                   _memorization_samples_caption),
    ), _mem_units),
)


def _version() -> str:
    from .. import __version__

    return __version__


def run_report(out: str | os.PathLike[str] = "rfdiff-report", config: _cfg.ReportConfig | None = None, *,
               preset: str = "full", executor: Executor | None = None, progress: bool | str | None = None,
               sections: Sequence[str] | None = None) -> Report:
    """Compute every section, write the figures (PNG + PDF), ``report.json`` and ``index.html``.

    The output directory is checked (created and written to) before any computation; everything is
    written into a temporary directory beside it and moved into place at the end.

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
    progress : bool or {"auto", "bar", "lines", "off"}, optional
        Default ``"auto"``: a bar when stderr is a terminal, plain lines otherwise; False: none.
    sections : sequence of str, optional
        Names of :data:`SECTIONS` to run (default all; a figure needs its sections).

    Returns
    -------
    Report
        What ``report.json`` holds (``rfdiff.load(out / "report.json")`` gives it back).

    Examples
    --------
    >>> ReportConfig = _cfg.ReportConfig
    >>> ReportConfig.preset("tiny").phase_psi_p
    (8.0, 8.0, 1)
    """
    cfg = _cfg.ReportConfig.preset(preset) if config is None else config
    chosen = [s for s in SECTIONS if sections is None or s.name in sections]
    if sections is not None and len(chosen) != len(set(sections)):
        raise ValueError(f"sections must be names among {[s.name for s in SECTIONS]}, got {list(sections)!r}")
    out = Path(out)
    tmp = make_temporary(out, option="out (--out)")
    mode = progress if isinstance(progress, str) else {None: "auto", True: "bar", False: "off"}[progress]
    bar = Progress(sum(s.units(cfg) for s in chosen) + 1, "rfdiff report", mode=mode)
    own = executor is None
    pool = process_pool(cfg.workers) if own else executor
    timing: dict[str, float] = {}
    try:
        ctx = Context(pool, bar)
        with warnings.catch_warnings():
            # rfdiff.spectrum warns when a density is resolved to < 1e-12 (still ~1e-10): irrelevant here
            warnings.filterwarnings("ignore", message=r"density on .* not resolved", category=RuntimeWarning)
            for sec in chosen:
                start = time.perf_counter()
                ctx.results[sec.name] = sec.compute(cfg, ctx)
                timing[sec.name] = time.perf_counter() - start
        start = time.perf_counter()
        files: list[str] = []
        shown = []
        for sec in chosen:
            for spec in sec.figures:
                fig = spec.build(ctx.results)
                files += save_figure(fig, tmp, spec.name, cfg.dpi)
                shown.append((spec.name, spec.title, spec.caption(ctx.results, cfg)))
        timing["figures"] = time.perf_counter() - start
        same = dataclasses.replace(cfg, workers=None) == _cfg.PRESETS.get(preset)
        report = Report(version=_version(),
                        created=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                        preset=preset if same else "custom", config=cfg,
                        load_average=tuple(round(x, 2) for x in os.getloadavg()), timing_s=timing,
                        sections=dict(ctx.results), files=(*files, "report.json", "index.html"))
        import json

        (tmp / "report.json").write_text(json.dumps(to_dict(report, max_array_size=JSON_MAX_ARRAY),
                                                    allow_nan=False))
        (tmp / "index.html").write_text(render(report, shown))
        bar.step("written")
        install(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        bar.close()
        if own:
            pool.shutdown(wait=True, cancel_futures=True)
    return report
