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

__all__ = ["curves", "phase", "spectrum"]


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
