"""Matplotlib figures (the edge of the package: it calls the layers, never the reverse).

No global rcParams are changed; every function draws on the given Axes (or a new one) and
returns it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

    from .model import RFModel
    from .simulate import EigenvalueSample

__all__ = ["spectrum"]


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
