"""Matplotlib figures (the edge of the package: it calls the layers, never the reverse).

No global rcParams are changed; every function draws on the given Axes (or a new one) and
returns it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

    from .model import RFModel
    from .phases import PhaseDiagram
    from .simulate import EigenvalueSample, FlowCurves
    from .twopoint import LearningCurves

__all__ = ["curves", "memorization", "onset_times", "phase", "samples_2d", "spectrum", "tau_mem_scaling"]


def _axes(ax: Axes | None) -> Axes:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    return plt.figure(figsize=(7, 4.2)).add_subplot()


def spectrum(
    model: RFModel,
    ax: Axes | None = None,
    simulate: EigenvalueSample | None = None,
    *,
    bins: int = 120,
    label: str | None = None,
    **line_kwargs: Any,
) -> Axes:
    """Spectral density of U on a logarithmic lambda axis, with finite-size eigenvalues.

    The components of the spectrum span several decades (atom at s_t^2, cluster, rho_1,
    rho_2 on the scale psi_p), so the density is drawn per unit ln(lambda): lambda rho(lambda)
    (theory: line; simulation: histogram of ln(lambda) normalised to the number of
    eigenvalues, the same quantity). Atoms are marked with their weight.

    Parameters
    ----------
    model : RFModel
    ax : matplotlib Axes, optional
    simulate : EigenvalueSample, optional
        From :func:`rfdiff.simulate.eigenvalues`; drawn as a histogram.
    bins : int
        Histogram bins over the plotted range.
    label : str, optional
        Legend label of the theory line.

    Returns
    -------
    Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import rfdiff
    >>> ax = spectrum(rfdiff.RFModel(psi_p=8, psi_n=2, t=0.1))
    >>> ax.get_xscale()
    'log'
    """
    ax = _axes(ax)
    sp = model.spectrum()
    lo = min([sp.support[0][0], *[a for a, _ in sp.atoms]])
    hi = sp.support[-1][1]
    line = {"color": "C0", "lw": 1.6, **line_kwargs}
    first = True
    for comp in sp.components:
        finite = np.isfinite(comp.density)
        ax.plot(comp.lam[finite], comp.lam[finite] * comp.density[finite],
                label=(label or "theory (Theorem 3.1)") if first else None, **line)
        first = False
    top = max(float(np.max(c.lam[np.isfinite(c.density)] * c.density[np.isfinite(c.density)]))
              for c in sp.components)
    if simulate is not None:
        ev = simulate.pooled
        ev = ev[ev > 0]
        edges = np.geomspace(lo / 1.5, hi * 1.5, bins + 1)
        counts, _ = np.histogram(ev, bins=edges)
        height = counts / (simulate.values.size * np.diff(np.log(edges)))
        ax.stairs(height, edges, fill=True, alpha=0.35, color="C1",
                  label=(f"finite size: d = {simulate.d}, {len(simulate.seeds)} seed(s), "
                         f"noise = {simulate.noise}"))
    for loc, w in sp.atoms:
        ax.axvline(loc, color="C3", ls="--", lw=1)
        ax.annotate(f"atom at $s_t^2$\nweight {w:.4f}", (loc, 0.9 * top), color="C3",
                    xytext=(4, 0), textcoords="offset points", fontsize=8, va="top")
    ax.set_xscale("log")
    ax.set_xlim(lo / 1.5, hi * 1.5)
    ax.set_ylim(0, 1.15 * top)
    ax.set_xlabel(r"eigenvalue $\lambda$ of $U$")
    ax.set_ylabel(r"$\lambda\,\rho(\lambda)$  (density per unit $\ln\lambda$)")
    ax.set_title(rf"$\psi_p$ = {model.psi_p:g}, $\psi_n$ = {model.psi_n:g}, $t$ = {model.t:g}, "
                 rf"$\sigma$ = {model.activation.name}", fontsize=10)
    ax.legend(fontsize=8, loc="upper center")
    return ax


_CURVE_STYLE = {
    "train": ("C0", r"$L_{train}$"),
    "test": ("C1", r"$L_{test}$"),
    "gen": ("C2", r"$L_{gen} = L_{test} - L_{train}$"),
    "score": ("C3", r"$E_{score}$"),
}


def curves(
    lc_or_model: LearningCurves | RFModel,
    ax: Axes | None = None,
    simulate: FlowCurves | Sequence[FlowCurves] | None = None,
    *,
    quantities: Sequence[str] = ("train", "test", "gen", "score"),
    tau: Sequence[float] | np.ndarray | None = None,
    tau_scale: float = 1.0,
    value_scale: float = 1.0,
    color: Any = None,
    label: str | None = None,
    markers: int = 24,
    model: RFModel | None = None,
) -> Axes:
    """Learning curves against tau: theory as lines, finite-size gradient flow as markers.

    Parameters
    ----------
    lc_or_model : LearningCurves or RFModel
        Limit curves (:func:`rfdiff.learning_curves`), or a model whose curves are computed
        on ``tau`` (default 141 log-spaced points in [1e-1, 1e6]).
    ax : matplotlib Axes, optional
    simulate : FlowCurves or sequence of FlowCurves, optional
        From :func:`rfdiff.simulate.gradient_flow`; several draws are averaged (error bars:
        their standard deviation).
    quantities : sequence of {"train", "test", "gen", "score"}
        Which curves to draw.
    tau : array_like, optional
        Only with a model.
    tau_scale, value_scale : float
        Plot tau / tau_scale and value / value_scale (e.g. tau_mem and L_gen(inf) for a collapse).
    color : matplotlib colour, optional
        One colour for every quantity (default: one colour per quantity).
    label : str, optional
        Legend label (prefixed to the quantity's name when several are drawn).
    markers : int
        At most this many simulation markers per curve (the rest of the grid is skipped).
    model : RFModel, optional
        The model of ``lc_or_model`` when it is a LearningCurves: names psi_p, psi_n, t and sigma in
        the title (LearningCurves do not carry their parameters). Without it, and without a model as
        first argument, no title is set.

    Returns
    -------
    Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import rfdiff
    >>> ax = curves(rfdiff.RFModel(psi_p=8, psi_n=2, t=0.1), tau=np.logspace(-1, 4, 30))
    >>> ax.get_xscale(), len(ax.get_lines())  # four theory lines
    ('log', 4)
    """
    from .model import RFModel

    bad = [q for q in quantities if q not in _CURVE_STYLE]
    if bad or not quantities:
        raise ValueError(f"quantities must be a non-empty subset of {list(_CURVE_STYLE)}, got {quantities!r}")
    if not (np.isfinite(tau_scale) and tau_scale > 0 and np.isfinite(value_scale) and value_scale > 0):
        raise ValueError(f"tau_scale and value_scale must be finite numbers > 0, got {tau_scale!r}, "
                         f"{value_scale!r}")
    if isinstance(lc_or_model, RFModel):
        model = lc_or_model
        lc = lc_or_model.learning_curves(np.logspace(-1, 6, 141) if tau is None else np.asarray(tau, float))
    else:
        if tau is not None:
            raise ValueError("tau can only be given with a model (LearningCurves carry their own tau)")
        lc = lc_or_model
    ax = _axes(ax)
    flows = [] if simulate is None else ([simulate] if hasattr(simulate, "tau") else list(simulate))
    several = len(quantities) > 1
    for q in quantities:
        col, name = _CURVE_STYLE[q]
        col = col if color is None else color
        lab = name if label is None else (f"{label}: {name}" if several else label)
        x = np.asarray(lc.tau) / tau_scale
        ax.plot(x, np.asarray(getattr(lc, q)) / value_scale, "-", color=col, lw=1.5, label=lab)
        if flows:
            values = np.array([getattr(f, q) for f in flows]) / value_scale
            sim_tau = np.asarray(flows[0].tau) / tau_scale
            step = max(1, int(np.ceil(sim_tau.size / max(markers, 1))))
            sl = slice(0, None, step)
            yerr = values.std(axis=0, ddof=1)[sl] if len(flows) > 1 else None
            ax.errorbar(sim_tau[sl], values.mean(axis=0)[sl], yerr=yerr, fmt="o", ms=3.5, mfc="none",
                        color=col, elinewidth=0.8, capsize=0)
    ax.set_xscale("log")
    values = np.concatenate([np.asarray(getattr(lc, q)) for q in quantities])
    if np.all(values > 0) and values.max() / values.min() > 20:
        ax.set_yscale("log")
    ax.set_xlabel(r"$\tau$ (training time $k\eta/d^2$)" if tau_scale == 1.0 else r"$\tau / \tau_0$")
    if not several:
        ax.set_ylabel(_CURVE_STYLE[quantities[0]][1])
    else:
        ax.set_ylabel("loss" if "score" not in quantities else r"loss, $E_{score}$")
    if model is not None:
        ax.set_title(rf"$\psi_p$ = {model.psi_p:g}, $\psi_n$ = {model.psi_n:g}, $t$ = {model.t:g}, "
                     rf"$\sigma$ = {model.activation.name}" + ("" if not flows else
                                                               f"; markers: d = {flows[0].matrices.d}, "
                                                               f"{len(flows)} seed(s)"), fontsize=10)
    ax.legend(fontsize=8)
    return ax


def phase(
    pd: PhaseDiagram,
    ax: Axes | None = None,
    tau_index: int = 0,
    *,
    quantity: str = "gen",
    regimes: bool = True,
    n_star: bool = True,
    colorbar: bool = True,
    cmap: str = "viridis",
) -> Axes:
    """Map of L_gen (or L_train, L_test) over (psi_n, psi_p) at one tau, with n*(p) and regime boundaries.

    Parameters
    ----------
    pd : PhaseDiagram
        From :func:`rfdiff.phase_diagram`.
    ax : matplotlib Axes, optional
    tau_index : int
        Which of ``pd.tau``.
    quantity : {"gen", "train", "test"}
    regimes : bool
        Draw the boundaries between the regimes of ``pd.regime`` (white lines, labelled).
    n_star : bool
        Draw psi_n = n*(psi_p) (red) and psi_n = psi_p (grey, dotted).
    colorbar : bool
    cmap : str

    Returns
    -------
    Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from concurrent.futures import ThreadPoolExecutor
    >>> import rfdiff
    >>> with ThreadPoolExecutor(1) as ex:
    ...     pd = rfdiff.phase_diagram([8, 16], [2, 32], tau=1e3, n_star=[7.0, 14.0], executor=ex)
    >>> ax = phase(pd)
    >>> ax.get_xscale(), ax.get_yscale()
    ('log', 'log')
    """
    from matplotlib.colors import LogNorm

    from .phases import REGIMES

    if quantity not in ("gen", "train", "test"):
        raise ValueError(f"quantity must be 'gen', 'train' or 'test', got {quantity!r}")
    ntau = pd.tau.size
    if int(tau_index) != tau_index or not -ntau <= tau_index < ntau:
        raise ValueError(f"tau_index must be an integer in [0, {ntau}), got {tau_index!r}")
    values = np.asarray(getattr(pd, quantity))
    regime = np.asarray(pd.regime)
    if values.ndim == 3:
        values, regime = values[tau_index], regime[tau_index]
    ax = _axes(ax)
    x, y = np.asarray(pd.psi_n), np.asarray(pd.psi_p)

    def edges(v: np.ndarray) -> np.ndarray:
        if v.size == 1:
            return np.array([v[0] / 1.5, v[0] * 1.5])
        lv = np.log(v)
        mid = 0.5 * (lv[1:] + lv[:-1])
        return np.exp(np.concatenate([[2 * lv[0] - mid[0]], mid, [2 * lv[-1] - mid[-1]]]))

    positive = np.all(values > 0) and values.max() > 5 * values.min()
    norm = LogNorm(vmin=values.min(), vmax=values.max()) if positive else None
    mesh = ax.pcolormesh(edges(x), edges(y), values, cmap=cmap, norm=norm, shading="flat")
    name = {"gen": r"$L_{gen}$", "train": r"$L_{train}$", "test": r"$L_{test}$"}[quantity]
    if colorbar:
        ax.figure.colorbar(mesh, ax=ax, label=name + rf" at $\tau$ = {pd.tau[tau_index]:g}")
    if regimes and x.size > 1 and y.size > 1 and np.unique(regime).size > 1:
        ax.contour(x, y, regime, levels=np.arange(len(REGIMES) - 1) + 0.5, colors="white",
                   linewidths=1.0)
        # the regime's code at the cell of the region nearest its centroid (log axes), keyed in the title
        lx, ly = np.meshgrid(np.log(x), np.log(y))
        for k in np.unique(regime):
            inside = regime == k
            cx, cy = lx[inside].mean(), ly[inside].mean()
            j = np.argmin(np.where(inside, (lx - cx) ** 2 + (ly - cy) ** 2, np.inf))
            ax.text(np.exp(lx.flat[j]), np.exp(ly.flat[j]), str(k), color="white", fontsize=11,
                    fontweight="bold", ha="center", va="center")
    present = ", ".join(f"{k}: {lab}" for k, lab in enumerate(REGIMES) if np.any(regime == k))
    if n_star:
        ax.plot(pd.n_star, y, "-o", color="red", lw=1.8, ms=3, label=r"$n^*(p)$: $\psi_n = \psi_n^*(\psi_p)$")
        lo, hi = max(x.min(), y.min()), min(x.max(), y.max())
        if lo < hi:
            ax.plot([lo, hi], [lo, hi], ":", color="0.6", lw=1, label=r"$\psi_n = \psi_p$")
        ax.legend(fontsize=7, loc="lower right")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(edges(x)[0], edges(x)[-1])
    ax.set_ylim(edges(y)[0], edges(y)[-1])
    ax.set_xlabel(r"$\psi_n = n/d$")
    ax.set_ylabel(r"$\psi_p = p/d$")
    title = rf"{name} at $\tau$ = {pd.tau[tau_index]:g}, $t$ = {pd.t:g}"
    ax.set_title(title + f"\nregimes present: {present}", fontsize=8)
    return ax


# ----------------------------------------------------------------------------- memorization in samples


def _study_settings(study: Any) -> list[dict]:
    """Settings dicts from a MemorizationStudy, its summary(), a MemorizationCurve or a list of those."""
    if hasattr(study, "settings"):
        return list(study.settings)
    if isinstance(study, dict) and "settings" in study:
        return list(study["settings"])
    items = study if isinstance(study, (list, tuple)) else [study]
    out = []
    for c in items:
        if isinstance(c, dict) and "f_mem" in c and "psi_n" in c:
            out.append(c)
            continue
        d = c.summary() if hasattr(c, "summary") else c
        par = d["params"]
        k = len(d["f_mem"])
        out.append({"psi_p": par["psi_p"], "psi_n": par["psi_n"], "n": par["n"], "p": par["p"], "d": par["d"],
                    "seeds": 1, "tau": d["tau"], "f_mem": d["f_mem"], "f_mem_sem": [0.0] * k,
                    "f_mem_ci": d["ci"], "frechet": d["frechet"], "frechet_sem": [0.0] * k,
                    "frechet_floor": d["frechet_floor"]["mean"], "frechet_train": d.get("frechet_train")})
    return out


def _tau_axis(tau: Sequence[Any]) -> tuple[np.ndarray, float | None]:
    """Plot positions of tau values; "inf"/inf goes one decade right of the largest finite tau."""
    vals = np.array([np.inf if (isinstance(v, str) and v == "inf") else float(v) for v in tau])
    finite = np.isfinite(vals)
    inf_at = None
    if not finite.all():
        inf_at = 10.0 * float(vals[finite].max()) if finite.any() else 1.0
        vals = np.where(finite, vals, inf_at)
    return vals, inf_at


def memorization(
    study: Any,
    ax: Axes | None = None,
    *,
    quantity: str = "f_mem",
    title: str | None = None,
) -> Axes:
    """f_mem (or the Fréchet distance) of RF-diffusion samples against the training time tau, per psi_n.

    Markers with error bars (standard error over seeds, or the bootstrap interval of a single curve);
    tau = inf is drawn one decade right of the largest finite tau and labelled. For ``"frechet"`` the
    finite-sample floor (dashed) and the training set's own Fréchet distance (dotted) are drawn per psi_n.

    Parameters
    ----------
    study : MemorizationStudy, its ``summary()``, MemorizationCurve or a list of curves/settings
    ax : matplotlib Axes, optional
    quantity : {"f_mem", "frechet"}
    title : str, optional

    Returns
    -------
    Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> s = {"psi_p": 8, "psi_n": 1, "n": 4, "p": 32, "d": 4, "seeds": 2, "tau": [1, 10, "inf"],
    ...      "f_mem": [0, 0.1, 0.3], "f_mem_sem": [0, 0.02, 0.03], "frechet": [3, 1, 2],
    ...      "frechet_sem": [0.1, 0.1, 0.1], "frechet_floor": 0.05, "frechet_train": 0.5}
    >>> ax = memorization([s])
    >>> ax.get_xscale(), ax.get_ylabel()
    ('log', '$f_{mem}$')
    """
    if quantity not in ("f_mem", "frechet"):
        raise ValueError(f"quantity must be 'f_mem' or 'frechet', got {quantity!r}")
    settings = _study_settings(study)
    if not settings:
        raise ValueError("nothing to draw: the study has no settings")
    ax = _axes(ax)
    inf_pos = None
    for j, s in enumerate(sorted(settings, key=lambda s: (s["psi_p"], s["psi_n"]))):
        x, inf_at = _tau_axis(s["tau"])
        inf_pos = inf_at if inf_at is not None else inf_pos
        y = np.asarray(s[quantity], dtype=float)
        if quantity == "f_mem" and "f_mem_ci" in s:
            ci = np.asarray(s["f_mem_ci"], dtype=float)
            yerr = np.vstack([y - ci[:, 0], ci[:, 1] - y])
        else:
            yerr = np.asarray(s[f"{quantity}_sem"], dtype=float)
        col = f"C{j % 10}"
        label = (rf"$\psi_n$ = {s['psi_n']:g} (n = {s['n']}), $\psi_p$ = {s['psi_p']:g}"
                 + (f", {s['seeds']} seeds" if s.get("seeds", 1) > 1 else ""))
        ax.errorbar(x, y, yerr=yerr, fmt="o-", ms=3.5, lw=0.8, mfc="none", color=col, capsize=2,
                    elinewidth=0.8, label=label)
        if quantity == "frechet":
            ax.axhline(s["frechet_floor"], color=col, ls="--", lw=0.8)
            if s.get("frechet_train") is not None:
                ax.axhline(s["frechet_train"], color=col, ls=":", lw=1.0)
    ax.set_xscale("log")
    if quantity == "frechet":
        ax.set_yscale("log")
        ax.set_ylabel(r"Fréchet distance $d_F^2$ to $N(0, \Sigma_{t_{min}})$")
        ax.plot([], [], "k--", lw=0.8, label="finite-sample floor (fresh samples)")
        ax.plot([], [], "k:", lw=1.0, label="training set itself")
    else:
        ax.set_ylabel(r"$f_{mem}$")
        ax.set_ylim(bottom=-0.02)
    if inf_pos is not None:
        ticks = [t for t in ax.get_xticks() if 0 < t < inf_pos / 3]
        ax.set_xticks([*ticks, inf_pos])
        ax.set_xticklabels([f"$10^{{{np.log10(t):.0f}}}$" for t in ticks] + [r"$\infty$"])
        ax.set_xlim(min(x.min() for x in [_tau_axis(s["tau"])[0] for s in settings]) / 2, inf_pos * 2)
    ax.set_xlabel(r"training time $\tau$")
    s0 = settings[0]
    ax.set_title(title or f"RF diffusion samples: d = {s0['d']}, p = {s0['p']}", fontsize=10)
    ax.legend(fontsize=7)
    return ax


def tau_mem_scaling(study: Any, ax: Axes | None = None, *, title: str | None = None,
                    exponents: Sequence[dict] | None = None, min_f_inf: float | None = None) -> Axes:
    """tau_mem^gen against n per psi_p (geometric mean over seeds, 95 % interval) with the fitted power laws.

    Parameters
    ----------
    study : MemorizationStudy or its ``summary()``
    ax : matplotlib Axes, optional
    title : str, optional
    exponents : sequence of dict, optional
        Fits to draw instead of the study's own (keys psi_p, slope, lo, hi, intercept; optional ``n``, the
        n it was fitted on, which limits the line).
    min_f_inf : float, optional
        Draw settings whose mean f_mem(inf) is below this as open markers (outside a fit's regime).

    Returns
    -------
    Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> st = {"settings": [{"psi_p": 8, "psi_n": a, "n": 4 * a, "p": 32, "d": 4, "seeds": 1,
    ...                     "tau_mem_gen": {"geomean": 10.0 * a, "lo": 5.0 * a, "hi": 20.0 * a, "reached": 1}}
    ...                    for a in (1, 2)],
    ...       "exponents": [{"psi_p": 8, "slope": 1.0, "lo": 0.5, "hi": 1.5, "intercept": np.log(2.5),
    ...                      "points": 2}]}
    >>> tau_mem_scaling(st).get_xscale()
    'log'
    """
    settings = _study_settings(study)
    if exponents is None:
        exponents = study.exponents if hasattr(study, "exponents") else study.get("exponents", [])
    ax = _axes(ax)
    for j, psi_p in enumerate(sorted({s["psi_p"] for s in settings})):
        col = f"C{j}"
        rows = [s for s in settings if s["psi_p"] == psi_p and s["tau_mem_gen"]["geomean"] is not None]
        if not rows:
            continue
        n = np.array([s["n"] for s in rows], dtype=float)
        g = np.array([s["tau_mem_gen"]["geomean"] for s in rows])
        lo = np.array([s["tau_mem_gen"]["lo"] for s in rows])
        hi = np.array([s["tau_mem_gen"]["hi"] for s in rows])
        inside = np.ones(n.size, dtype=bool)
        if min_f_inf is not None:
            inside = np.array([s.get("f_mem_inf", {}).get("mean", 1.0) >= min_f_inf for s in rows])
        labels = (rf"measured, $\psi_p$ = {psi_p:g} (p = {rows[0]['p']})",
                  rf"$\psi_p$ = {psi_p:g}, $f_{{mem}}(\infty)$ < {min_f_inf}")
        for mask, fill, lab in ((inside, col, labels[0]), (~inside, "none", labels[1])):
            if mask.any():
                ax.errorbar(n[mask], g[mask], yerr=np.vstack([g - lo, hi - g])[:, mask], fmt="o", color=col,
                            capsize=3, mfc=fill, label=lab)
        for ex in exponents:
            if ex["psi_p"] == psi_p and ex.get("slope") is not None:
                span = ex.get("n") or n
                nn = np.geomspace(min(span) / 1.3, max(span) * 1.3, 50)
                ax.plot(nn, np.exp(ex["intercept"]) * nn ** ex["slope"], "-", color=col, lw=1.2,
                        label=rf"fit $\tau \propto n^{{{ex['slope']:.2f}}}$ "
                              rf"[{ex['lo']:.2f}, {ex['hi']:.2f}]")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("number of training points n")
    ax.set_ylabel(r"$\tau_{mem}^{gen}$ (half-rise of $f_{mem}$)")
    s0 = settings[0]
    ax.set_title(title or f"onset of memorization in samples, d = {s0['d']}", fontsize=10)
    ax.legend(fontsize=7)
    return ax


def samples_2d(
    samples: np.ndarray,
    train: np.ndarray,
    ax: Axes | None = None,
    *,
    title: str | None = None,
    dims: tuple[int, int] = (0, 1),
    view: float = 0.99,
) -> Axes:
    """Two coordinates of generated samples (dots) and of the training points (crosses).

    Memorized samples sit on the training points in every coordinate, so they pile up on the crosses.
    The view covers the training points and the central ``view`` quantile range of the samples in each
    coordinate (a few far outliers would otherwise shrink the cloud to a dot); the number of samples
    outside the view is written in the legend (``view=1`` shows everything).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> rng = np.random.default_rng(0)
    >>> ax = samples_2d(rng.standard_normal((50, 3)), rng.standard_normal((5, 3)))
    >>> ax.get_xlabel()
    '$x_1$'
    """
    x = np.asarray(samples, dtype=float)
    y = np.asarray(train, dtype=float)
    i, j = dims
    if x.ndim != 2 or y.ndim != 2 or max(i, j) >= min(x.shape[1], y.shape[1]):
        raise ValueError(f"samples and train must be 2-d with more than {max(i, j)} columns")
    if not 0.5 <= view <= 1.0:
        raise ValueError(f"view must be in [0.5, 1], got {view!r}")
    ax = _axes(ax)
    q = (1.0 - view) / 2.0
    lo = np.minimum(np.quantile(x[:, [i, j]], q, axis=0), y[:, [i, j]].min(axis=0))
    hi = np.maximum(np.quantile(x[:, [i, j]], 1.0 - q, axis=0), y[:, [i, j]].max(axis=0))
    pad = 0.08 * (hi - lo) + 1e-12
    lo, hi = lo - pad, hi + pad
    outside = int(np.sum(np.any((x[:, [i, j]] < lo) | (x[:, [i, j]] > hi), axis=1)))
    ax.plot(x[:, i], x[:, j], ".", ms=2.5, alpha=0.6, color="C0",
            label=f"{x.shape[0]} samples" + (f" ({outside} outside the view)" if outside else ""))
    ax.plot(y[:, i], y[:, j], "x", ms=7, mew=1.5, color="C3", label=f"{y.shape[0]} training points")
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_xlabel(f"$x_{i + 1}$")
    ax.set_ylabel(f"$x_{j + 1}$")
    if title:
        ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, loc="upper right")
    return ax


def onset_times(
    theory: Any,
    tau_mem_gen: float | None,
    ax: Axes | None = None,
    *,
    interval: tuple[float, float] | None = None,
    quantities: Sequence[str] = ("tau_mem", "tau_mem_loss", "tau_mem_dyn"),
    title: str | None = None,
) -> Axes:
    """Single-time theory timescales against the diffusion time t (lines), with the measured onset in samples.

    Times where the theory is unavailable (it raised) are gaps; times where it warned are drawn as open
    markers. The measured tau_mem^gen is a horizontal line (its interval shaded).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> th = {"psi_p": 8, "psi_n": 2, "times": [0.01, 0.1, 1.0], "tau_mem": [1e5, 1e4, 1e3],
    ...       "tau_mem_loss": [1e6, 1e5, 10.0], "tau_mem_dyn": [1e5, 1e3, 5.0], "available": [True] * 3,
    ...       "warned": [[], [], ["RuntimeWarning: x"]]}
    >>> onset_times(th, 3e3).get_yscale()
    'log'
    """
    th = theory.summary() if hasattr(theory, "summary") else theory
    t = np.asarray(th["times"], dtype=float)
    ax = _axes(ax)
    names = {"tau_mem": r"$\tau_{mem}(t)$ spectral ($\rho_1$ edge)",
             "tau_mem_loss": r"$\tau_{mem}^{loss}(t)$ (loss-weighted edge)",
             "tau_mem_dyn": r"$\tau_{mem}^{dyn}(t)$ ($L_{gen}$ rise)",
             "tau_mem_asymptotic": r"$\tau_{mem}^{asym}(t)$ (Theorem 3.2)",
             "tau_gen": r"$\tau_{gen}(t)$"}
    warned = np.array([bool(w) for w in th.get("warned", [[]] * t.size)])
    for j, q in enumerate(quantities):
        y = np.array([np.nan if v is None else float(v) for v in th[q]])
        col = f"C{j}"
        ok = ~warned
        ax.plot(t, np.where(ok, y, np.nan), "-", color=col, lw=1.5, label=names.get(q, q))
        if warned.any():
            ax.plot(t[warned], y[warned], "o", mfc="none", color=col, ms=4)
    if tau_mem_gen is not None:
        ax.axhline(tau_mem_gen, color="k", lw=1.2, label=r"measured $\tau_{mem}^{gen}$ (samples)")
        if interval is not None:
            ax.axhspan(interval[0], interval[1], color="0.6", alpha=0.3)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("diffusion time $t$ of the score model")
    ax.set_ylabel(r"training time $\tau$")
    ax.set_title(title or rf"single-time theory vs samples: $\psi_p$ = {th['psi_p']:g}, "
                          rf"$\psi_n$ = {th['psi_n']:g}", fontsize=10)
    if warned.any():
        ax.plot([], [], "o", mfc="none", color="0.4", label="theory warned (less accurate)")
    ax.legend(fontsize=7)
    return ax
