"""``index.html`` of the report: parameters, the gap table with tolerances and verdicts, the
tau_mem scaling table, and every figure with its caption."""

from __future__ import annotations

import html
from typing import Any

import numpy as np

__all__ = ["render"]

_STYLE = """body{font-family:sans-serif;max-width:1250px;margin:auto;padding:1em;line-height:1.35}
table{border-collapse:collapse;margin:0.5em 0}td,th{border:1px solid #bbb;padding:2px 8px;text-align:left;
vertical-align:top}td.num{text-align:right;white-space:nowrap}.ok{color:#17692b}.bad{color:#b00020;font-weight:bold}
.nr{color:#8a5a00}figure{margin:1.5em 0}figcaption{max-width:1100px}"""


def _num(x: Any) -> str:
    if x is None:
        return "&ndash;"
    return f"{x:.3g}"


def _verdict_class(verdict: str) -> str:
    return {"within tolerance": "ok", "outside tolerance": "bad"}.get(verdict, "nr")


def render(report: Any, figures: list[tuple[str, str, str]]) -> str:
    """The page of a :class:`~rfdiff.report.Report` with its figures ``(file stem, title, caption)``."""
    esc = html.escape
    cfg_rows = "".join(f"<tr><td>{esc(k)}</td><td>{esc(str(v))}</td></tr>"
                       for k, v in report.config_dict().items())
    gaps = report.gaps
    bad = [g for g in gaps if g.verdict == "outside tolerance"]
    unresolved = [g for g in gaps if g.verdict not in ("within tolerance", "outside tolerance")]
    summary = (f"{len(gaps)} gaps: {len(gaps) - len(bad) - len(unresolved)} within tolerance, "
               f"{len(bad)} outside, {len(unresolved)} not resolved or not computed")
    gap_rows = "".join(
        f'<tr><td>{esc(g.name)}</td><td class="num">{_num(g.value)}</td><td '
        f'class="num">{_num(g.tolerance)}</td>'
        f'<td class="{_verdict_class(g.verdict)}">{esc(g.verdict)}</td><td>{esc(g.description)}. '
        f"<i>Tolerance: {esc(g.argument)}</i></td></tr>" for g in gaps)
    scaling_rows = []
    ts = report.sections.get("timescales")
    if ts is not None:
        for sw in ts.sweeps:
            for kind, fit in (("spectral (rho_1 edge)", sw.fit_spectral), ("dynamical (L_gen half-rise)",
                                                                           sw.fit_dynamical)):
                local = ", ".join(f"{k:.2f}" for k in fit.local)
                verdict = sw.verdict("dynamical" if kind.startswith("dyn") else "spectral")
                scaling_rows.append(
                    f"<tr><td>{sw.psi_p:g}</td><td>{esc(kind)}</td>"
                    f"<td>{', '.join(f'{x:g}' for x in fit.x)}</td>"
                    f'<td class="num">{esc(fit.text())}</td><td>{local}</td><td>{esc(verdict)}</td></tr>')
    flags = []
    if ts is not None:
        for sw in ts.sweeps:
            for x, tm, gov, flag in zip(sw.psi_n, sw.tau_mem, sw.governing, sw.flagged):
                if flag:
                    flags.append(f"psi_p = {sw.psi_p:g}, psi_n = {x:.3g}: headline tau_mem {tm:.3g}, "
                                 f"time governing the loss {gov:.3g} ({gov / tm:.2g}x)")
    if ts is not None:
        for sw in ts.sweeps:
            if sw.memorizes is not None and not np.all(sw.memorizes):
                none = ", ".join(f"{x:.3g}" for x, m in zip(sw.psi_n, sw.memorizes) if not m)
                nstar = "n* not computed" if sw.n_star is None else f"n* = {sw.n_star:.3g}"
                flags.append(f"psi_p = {sw.psi_p:g}: no memorization at psi_n = {none} (above n*, or "
                             f"L_gen(inf) ~ 0; {nstar}): there tau_mem_dyn is not a memorization time and is "
                             "not drawn")
            if sw.n_star is None:
                flags.append(f"psi_p = {sw.psi_p:g}: n* not computed ({sw.n_star_error})")
    flag_html = ("" if not flags else
                 "<p><b>Flags</b>: a headline tau_mem (the lower edge of rho_1) more than 3x away from the "
                 "time of the memorization component that carries the loss (docs/theory.md §6.2), and "
                 "where there is no memorization (§6.4):</p><ul>"
                 + "".join(f"<li>{esc(f)}</li>" for f in flags) + "</ul>")
    sections = "".join(
        f'<figure id="{esc(name)}"><h2>{esc(title)}</h2><a href="{name}.pdf"><img src="{name}.png" '
        f'alt="{esc(title)}" style="max-width:100%"></a><figcaption>{esc(caption)}</figcaption></figure>'
        for name, title, caption in figures)
    timing = ", ".join(f"{k} {v:.1f} s" for k, v in report.timing_s.items())
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>rfdiff report</title>
<style>{_STYLE}</style>
</head><body>
<h1>rfdiff report: the random-features diffusion model, theory tested against finite-size simulation</h1>
<p>Bonnaire, Urfin, Biroli &amp; Mézard (NeurIPS 2025), random-features setting. Lines: the d &rarr; &infin;
theory (rfdiff); markers and histograms: finite-size simulation (rfdiff.simulate). Times are in the paper's
units &tau; = k&eta;/d&sup2; (docs/theory.md §1.6). rfdiff {esc(report.version)}, {esc(report.created)},
preset <b>{esc(report.preset)}</b>, time {timing}, load average {esc(str(report.load_average))}.
All numbers are in report.json (<code>rfdiff.load("report.json")</code> returns them as rfdiff objects).</p>
<h2>Claims tested</h2>
<table><tr><th>&psi;<sub>p</sub></th><th>&tau;<sub>mem</sub></th><th>fitted at &psi;<sub>n</sub></th>
<th>exponent [95 % CI]</th><th>exponent per doubling</th><th>linear law &tau;<sub>mem</sub> &prop; n</th></tr>
{''.join(scaling_rows)}</table>
<p>The paper's claim is &tau;<sub>mem</sub> &prop; n with &tau;<sub>gen</sub> independent of n.
The confidence interval of a fit to theory values measures their departure from a pure power law
(there is no noise), so an interval that excludes 1 means the law does not hold over that range.</p>
{flag_html}
<h2>Theory&ndash;simulation gaps</h2>
<p>{esc(summary)}. Each tolerance is C/d<sup>a</sup> with the exponent from theory (1/d for deterministic
equivalents, d<sup>-2/3</sup> for a spectral edge) and the constant three times the one measured when the
check was set up; a gap that has no such law at the accessible d is reported as not resolved, with the
reason.</p>
<table><tr><th>gap</th><th>value</th><th>tolerance</th><th>verdict</th><th>definition and argument</th></tr>
{gap_rows}</table>
{sections}
<h2>Parameters</h2><table>{cfg_rows}</table>
</body></html>
"""
