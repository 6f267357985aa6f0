"""Figure builders of the report: each takes a section's result and returns a matplotlib Figure.

Theory is drawn as lines, simulation as markers (error bars: spread over seeds); every figure's
title names psi_p, psi_n and t. The builders use :mod:`rfdiff.plot` for the single panels and are
reusable by examples and docs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from .. import plot as _plot

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

    from ..phases import PhaseDiagram
    from .sections import (
        AtomScan,
        CurvesSection,
        ExactCurvesSection,
        SpectrumCheck,
        TimescalesSection,
    )

__all__ = [
    "figure_atom_scan",
    "figure_collapse",
    "figure_curves",
    "figure_exact_curves",
    "figure_phase",
    "figure_spectrum",
    "figure_timescales",
]

_QUANTITIES = (("train", r"$L_{train}$"), ("test", r"$L_{test}$"), ("gen", r"$L_{gen}$"),
               ("score", r"$E_{score}$"))


def _new(size: tuple[float, float]) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=size)


def _colors(k: int) -> np.ndarray:
    import matplotlib

    return matplotlib.colormaps["viridis"](np.linspace(0.0, 0.85, k))


def figure_spectrum(checks: SpectrumCheck | Sequence[SpectrumCheck], title: str | None = None) -> Figure:
    """lambda rho(lambda) on log lambda (theory) with the eigenvalue histograms: one panel per check.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import rfdiff
    >>> from rfdiff.report import spectrum_check
    >>> fig = figure_spectrum(spectrum_check(rfdiff.RFModel(8, 2, 0.1), d=6, noise="gaussian"))
    >>> len(fig.axes)
    1
    """
    secs = [checks] if hasattr(checks, "model") else list(checks)
    fig = _new((7.5 * len(secs), 4.8))
    for ax, c in zip(np.atleast_1d(fig.subplots(1, len(secs))), secs):
        _plot.spectrum(c.model, ax=ax, simulate=c.sample)
        kind = ("Gaussian-equivalent U" if c.noise == "gaussian" else "real tanh features, exact noise "
                                                                      "average")
        text = (f"{kind}, d = {c.d}: masses within {c.mass_gap:.2g} "
                f"(atom merged with cluster: {c.merged_mass_gap:.2g}), "
                f"Stieltjes transform within {100 * c.stieltjes_rel_gap:.2g} %")
        ax.set_title("\n".join([*([title] if title else []), ax.get_title(), text]), fontsize=8)
    fig.tight_layout()
    return fig


def figure_atom_scan(scan: AtomScan) -> Figure:
    """Real-feature spectrum against d: the atom's width and the mass and Stieltjes gaps (log-log).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import rfdiff
    >>> from rfdiff.report import atom_scan
    >>> len(figure_atom_scan(atom_scan(rfdiff.RFModel(64, 8, 0.01), [4, 6])).axes)
    2
    """
    fig = _new((11, 4.4))
    ax_w, ax_g = fig.subplots(1, 2)
    d = np.array(scan.d, float)
    m = scan.checks[0].model
    width = np.array([c.atom_width for c in scan.checks])
    ax_w.plot(d, width, "o", color="C3", label="relative width of the atom's p - n - d eigenvalues")
    f = scan.width_fit
    dd = np.geomspace(d[0], max(d[-1], min(scan.resolved_at, 50 * d[-1])), 50)
    ax_w.plot(dd, f.prefactor * dd ** f.exponent, "-", color="C3", lw=1,
              label=rf"fit $\propto d^{{{f.exponent:.2f}}}$, exponent 95 % CI {f.text()}")
    margin = scan.checks[-1].atom_margin
    ax_w.axhline(margin, color="0.4", ls="--", lw=1, label=f"margin to the window boundary ({margin:.2f})")
    ax_w.axhline(margin / 3, color="0.4", ls=":", lw=1, label="margin / 3: split resolved")
    ax_w.set_xscale("log")
    ax_w.set_yscale("log")
    ax_w.set_xlabel("$d$")
    ax_w.set_ylabel(r"std / mean of the atom eigenvalues")
    ax_w.legend(fontsize=7)
    ax_w.set_title(f"atom resolved from the cluster for d ≳ {scan.resolved_at:.3g} (extrapolated)",
                   fontsize=9)
    ax_g.plot(d, [c.mass_gap for c in scan.checks], "o-", color="C1",
              label="mass gap, atom and cluster apart")
    ax_g.plot(d, [max(c.merged_mass_gap, 1e-6) for c in scan.checks], "s-", color="C2", mfc="none",
              label="mass gap, atom merged with cluster (0 shown at 1e-6)")
    ax_g.plot(d, [c.stieltjes_rel_gap for c in scan.checks], "^-", color="C0",
              label=f"Stieltjes rel. gap, exponent {scan.stieltjes_fit.text()}")
    ax_g.plot(d, 4.0 / d, ":", color="C0", lw=1, label="tolerance 4/d")
    ax_g.set_xscale("log")
    ax_g.set_yscale("log")
    ax_g.set_xlabel("$d$")
    ax_g.set_ylabel("theory - simulation gap")
    ax_g.legend(fontsize=7)
    fig.suptitle(rf"Real tanh features (exact noise average) against Theorem 3.1: $\psi_p$ = {m.psi_p:g}, "
                 rf"$\psi_n$ = {m.psi_n:g}, $t$ = {m.t:g}, one seed per $d$", fontsize=10)
    fig.tight_layout()
    return fig


def figure_curves(section: CurvesSection) -> Figure:
    """Four panels (L_train, L_test, L_gen, E_score against tau): theory lines, simulation markers.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from rfdiff.report import curves_section
    >>> c = curves_section(psi_n=[8], d=4, seeds=1, tau_points=10, sim_per_decade=1)
    >>> len(figure_curves(c).axes)
    4
    """
    fig = _new((11, 7.8))
    axes = fig.subplots(2, 2).ravel()
    colors = _colors(len(section.runs))
    for run, col in zip(section.runs, colors):
        for ax, (key, _) in zip(axes, _QUANTITIES):
            _plot.curves(run.theory, ax=ax, simulate=run.simulation, quantities=(key,), color=col,
                         label=rf"$\psi_n = {run.psi_n:g}$")
    for ax, (_, name) in zip(axes, _QUANTITIES):
        ax.set_ylabel(name)
        if ax.get_legend() is not None:
            ax.get_legend().remove()
    axes[0].legend(fontsize=8, title=f"lines: $d\\to\\infty$; o: $d = {section.d}$, {section.seeds} seed(s)",
                   title_fontsize=8)
    psi_n = ", ".join(f"{r.psi_n:g}" for r in section.runs)
    fig.suptitle(rf"Learning curves: $\psi_p$ = {section.psi_p:g}, $\psi_n$ = {psi_n}, $t$ = {section.t:g}; "
                 "simulation: Gaussian-equivalent gradient flow", fontsize=10)
    fig.tight_layout()
    return fig


def figure_collapse(section: CurvesSection) -> Figure:
    """L_gen against tau/psi_n (the paper's rescaling, a test of tau_mem ~ n), and the two
    self-rescaled collapses L_gen/L_gen(inf) against tau/tau_mem and E_score/min against tau/tau_gen
    (which collapse by construction at the half-rise and the minimum).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from rfdiff.report import curves_section
    >>> c = curves_section(psi_n=[8], d=4, seeds=1, tau_points=10, sim_per_decade=1)
    >>> len(figure_collapse(c).axes)
    3
    """
    fig = _new((15, 4.6))
    ax_n, ax_gen, ax_score = fig.subplots(1, 3)
    colors = _colors(len(section.runs))
    for run, col in zip(section.runs, colors):
        dyn = run.dynamical
        lab = rf"$\psi_n = {run.psi_n:g}$"
        _plot.curves(run.theory, ax=ax_n, simulate=run.simulation, quantities=("gen",), color=col,
                     tau_scale=run.psi_n, label=lab)
        _plot.curves(run.theory, ax=ax_gen, simulate=run.simulation, quantities=("gen",), color=col,
                     tau_scale=dyn.tau_mem_dyn, value_scale=dyn.gen_inf,
                     label=lab + rf", $\tau_{{mem}} = {dyn.tau_mem_dyn:.3g}$")
        _plot.curves(run.theory, ax=ax_score, simulate=run.simulation, quantities=("score",),
                     color=col, tau_scale=dyn.tau_gen_dyn, value_scale=dyn.score_min,
                     label=lab + rf", $\tau_{{gen}} = {dyn.tau_gen_dyn:.3g}$")
    ax_n.set_xlabel(r"$\tau / \psi_n$  (paper's rescaling: collapses if $\tau_{mem} \propto n$)")
    ax_n.set_ylabel(r"$L_{gen}$")
    ax_n.set_yscale("linear")
    ax_gen.set_xlabel(r"$\tau / \tau_{mem}$  (dynamical: $L_{gen}(\tau_{mem}) = L_{gen}(\infty)/2$)")
    ax_gen.set_ylabel(r"$L_{gen} / L_{gen}(\infty)$")
    ax_gen.set_yscale("linear")
    ax_gen.set_title("each curve rescaled by its own half-rise:\ncollapses at 1/2 by construction",
                     fontsize=8)
    ax_score.set_xlabel(r"$\tau / \tau_{gen}$  (dynamical: $E_{score}$ within 5% of its minimum)")
    ax_score.set_ylabel(r"$E_{score} / \min_\tau E_{score}$")
    ax_score.set_title("each curve rescaled by its own minimum", fontsize=8)
    for ax in (ax_n, ax_gen, ax_score):
        ax.legend(fontsize=7)
    fig.suptitle(rf"Rescalings: $\psi_p$ = {section.psi_p:g}, $t$ = {section.t:g}; lines $d\to\infty$, "
                 f"markers Gaussian-equivalent flow at d = {section.d}", fontsize=10)
    fig.tight_layout()
    return fig


def figure_exact_curves(section: ExactCurvesSection) -> Figure:
    """Real tanh features against the limit curves: the curves at the largest d and the gaps against d.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from rfdiff.report import exact_curves_section
    >>> len(figure_exact_curves(exact_curves_section([4, 6], sim_per_decade=1)).axes)
    2
    """
    fig = _new((12, 4.8))
    ax_c, ax_g = fig.subplots(1, 2)
    m = section.model
    for key in ("train", "test", "gen"):
        _plot.curves(section.theory, ax=ax_c, simulate=section.exact[-1], quantities=(key,),
                     label=dict(_QUANTITIES)[key],
                     color={"train": "C0", "test": "C1", "gen": "C2"}[key])
    ax_c.set_ylabel("loss")
    ax_c.set_yscale("linear")  # L_gen starts at 0: a log axis would hide the rise behind the error bars
    ax_c.set_title(f"lines: $d\\to\\infty$; o: real tanh features, exact noise average, d = {section.d[-1]}, "
                   f"{section.seeds} seed(s)", fontsize=8)
    d = np.array(section.d, float)
    for k, (key, col) in enumerate((("train", "C0"), ("test", "C1"), ("gen", "C2"))):
        fit = section.fits[k]
        ax_g.plot(d, [getattr(g, key) for g in section.gaps_exact], "o-", color=col,
                  label=f"{key}, real features: exponent {fit.text()}")
        ax_g.plot(d, [getattr(g, key) for g in section.gaps_gaussian], "s:", color=col, mfc="none",
                  label=f"{key}, Gaussian-equivalent")
    ax_g.plot(d, 1.0 / d, "-", color="0.6", lw=1, label="1/d")
    ax_g.set_xscale("log")
    ax_g.set_yscale("log")
    ax_g.set_xlabel("$d$")
    ax_g.set_ylabel(r"max$_\tau$ |simulation - theory|")
    ax_g.legend(fontsize=7)
    fig.suptitle(rf"Real features: $\psi_p$ = {m.psi_p:g}, $\psi_n$ = {m.psi_n:g}, $t$ = {m.t:g}, "
                 rf"$\sigma$ = {m.activation.name}", fontsize=10)
    fig.tight_layout()
    return fig


def figure_timescales(section: TimescalesSection, curves: CurvesSection | None = None) -> Figure:
    """tau_mem and tau_gen against psi_n at each psi_p (log-log, fits over the fit points) and the
    local exponent d log tau_mem / d log psi_n against psi_n/psi_p.

    ``curves`` adds the half-rise times of the simulated L_gen (markers, psi_p = 64).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from concurrent.futures import ThreadPoolExecutor
    >>> from rfdiff.report import timescales_section
    >>> with ThreadPoolExecutor(1) as ex:
    ...     ts = timescales_section([], psi_p=[1024], fit_psi_n=[4, 8, 16], executor=ex)
    >>> fig = figure_timescales(ts)
    >>> fig.axes[0].get_xscale()
    'log'
    """
    from matplotlib.ticker import FixedLocator, NullFormatter, ScalarFormatter

    fig = _new((16, 5.6))
    ax, ax_k = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.25, 1.0]})
    palettes = ({"spec": "C3", "dyn": "C1", "gen": "C0", "gdyn": "C2"},
                {"spec": "C4", "dyn": "C5", "gen": "C9", "gdyn": "C8"})
    for k, sw in enumerate(section.sweeps):
        cols = palettes[k % 2]
        x = sw.psi_n
        tag = rf"$\psi_p$ = {sw.psi_p:g}"
        ax.plot(x, sw.tau_mem, color=cols["spec"],
                label=rf"{tag}: $\tau_{{mem}}$ spectral ($\rho_1$ edge), exponent {sw.fit_spectral.text()}")
        ax.plot(x, sw.tau_mem_loss, ":", color=cols["spec"], label=rf"{tag}: $\tau_{{mem}}$ loss-weighted")
        mem = np.ones(x.size, bool) if sw.memorizes is None else np.asarray(sw.memorizes)
        ax.plot(x, np.where(mem, sw.tau_mem_dyn, np.nan), "--", color=cols["dyn"],
                label=rf"{tag}: $\tau_{{mem}}$ dynamical, exponent {sw.fit_dynamical.text()}")
        if sw.n_star is not None and x[0] < sw.n_star < x[-1]:
            ax.axvline(sw.n_star, color=cols["dyn"], ls=":", lw=1,
                       label=rf"{tag}: $n^*$ = {sw.n_star:.3g}: no memorization beyond")
        ax.plot(x, sw.tau_gen, "-", color=cols["gen"], label=rf"{tag}: $\tau_{{gen}}$ spectral")
        ax.plot(x, sw.tau_gen_dyn, "--", color=cols["gdyn"], label=rf"{tag}: $\tau_{{gen}}$ dynamical")
        for fit, col in ((sw.fit_spectral, cols["spec"]), (sw.fit_dynamical, cols["dyn"])):
            xf = np.array(fit.x)
            ax.plot(xf, fit.prefactor * xf ** fit.exponent, "-", color=col, lw=5, alpha=0.2)
        if np.any(sw.flagged):
            ax.plot(x[sw.flagged], sw.tau_mem[sw.flagged], "x", color=cols["spec"], ms=6,
                    label=f"{tag}: headline $\\tau_{{mem}}$ > 3x off the time governing the loss")
        for fit, col, mk, kind in ((sw.fit_spectral, cols["spec"], "o", "spectral"),
                                   (sw.fit_dynamical, cols["dyn"], "s", "dynamical")):
            xm = np.sqrt(np.array(fit.x[1:]) * np.array(fit.x[:-1])) / sw.psi_p
            ax_k.plot(xm, fit.local, mk + "-", color=col, label=f"{tag}: {kind}")
    if curves is not None:
        ax.plot([r.psi_n for r in curves.runs], [r.tau_mem_sim for r in curves.runs], "o", color="C1",
                mfc="none", ms=8,
                label=rf"$\psi_p$ = {curves.psi_p:g}: $\tau_{{mem}}$ of the simulated $L_{{gen}}$, $d = "
                      rf"{curves.d}$")
    ax.set_xscale("log")
    ax.set_yscale("log")
    lo, hi = min(sw.psi_n[0] for sw in section.sweeps), max(sw.psi_n[-1] for sw in section.sweeps)
    ticks = [v for v in (1, 2, 4, 8, 16, 32, 64, 128) if lo <= v <= hi]
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel(r"$\psi_n = n/d$")
    ax.set_ylabel(r"$\tau$ (training time $k\eta/d^2$)")
    ax.set_title(rf"timescales against $\psi_n$, $t$ = {section.sweeps[0].t:g} (fit points: thick bands)",
                 fontsize=9)
    ax.legend(fontsize=6.5, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    ax_k.axhspan(0.85, 1.15, color="0.88", label=r"linear law: exponent within 0.15 of 1")
    ax_k.set_xscale("log")
    ax_k.set_xlabel(r"$\psi_n / \psi_p$ (geometric midpoint of each doubling)")
    ax_k.set_ylabel(r"$d\log\tau_{mem} / d\log\psi_n$ per doubling")
    ax_k.set_title(r"where $\tau_{mem}\propto n$ holds: $\psi_n \ll \psi_p$", fontsize=9)
    ax_k.legend(fontsize=7)
    fig.suptitle(r"Memorization time against the number of samples: $\tau_{mem} \propto \psi_n$ ?",
                 fontsize=10)
    fig.tight_layout()
    return fig


def figure_phase(pd: PhaseDiagram) -> Figure:
    """One L_gen map per tau of ``pd``, with the n*(p) line and the regime boundaries.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from concurrent.futures import ThreadPoolExecutor
    >>> import rfdiff
    >>> with ThreadPoolExecutor(1) as ex:
    ...     pd = rfdiff.phase_diagram([8], [2, 32], tau=[1e3, 1e4], n_star=[7.0], executor=ex)
    >>> len(figure_phase(pd).axes)  # two maps, two colour bars
    4
    """
    k = pd.tau.size
    fig = _new((6.2 * k, 4.8))
    axes = np.atleast_1d(fig.subplots(1, k))
    for j, ax in enumerate(axes):
        _plot.phase(pd, ax=ax, tau_index=j)
    fig.tight_layout()
    return fig
