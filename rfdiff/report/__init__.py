"""The main job: the paper's random-features claims, theory tested against finite-size simulation.

``rfdiff report [--quick] [--out DIR]`` (and ``rfdiff`` with no arguments) calls :func:`run_report`.
For the settings of Bonnaire et al. (docs/theory.md §6.5) it computes:

* ``spectrum``: the spectrum of U in the Fig. 4 setting (psi_p = 64, psi_n = 8, t = 0.01) and for the
  anisotropic rho_Sigma = {0.5, 1.5}, against the eigenvalues of finite-size U (Gaussian-equivalent
  and real tanh features), and a d-scan of the real features (the atom's broadening);
* ``curves``: L_train, L_test, L_gen, E_score against tau for psi_n in {4, 8, 16, 32} at psi_p = 64,
  t = 0.1, against the exact gradient flow of Gaussian-equivalent draws, with the paper's tau/psi_n
  rescaling beside the self-rescaled collapses;
* ``exact_curves``: the real tanh model with the exact noise average at several d (psi_p = 16,
  psi_n = 4), the gaps against d;
* ``timescales``: spectral and dynamical tau_gen, tau_mem against psi_n at psi_p = 64 and 1024, with
  power-law fits of tau_mem (exponent, 95 % interval, exponent per doubling) saying where
  tau_mem ~ n holds, and the headline tau_mem flagged where it is > 3x off the time governing the loss;
* ``phase``: L_gen maps over (psi_n, psi_p) at tau = 1e3 and 1e4 with n*(p), regimes defined in the caption;
* ``regularization``: learning curves at several ridge lambda, early stopping against weight decay, the
  (psi_n, lambda) map of L_gen(inf) with n*(p, lambda) (theory), and Adam against the exact flow on one small
  simulated cell
  (:mod:`~rfdiff.report.regularization`).

Every theory-simulation gap comes with a tolerance, the argument for it and a verdict
(:class:`~rfdiff.report.sections.Gap`), in ``index.html`` and ``report.json``.

Package layout (one concern per module):

* :mod:`~rfdiff.report.config`: :class:`ReportConfig` and the presets ``full``, ``quick``, ``tiny``;
* :mod:`~rfdiff.report.sections`: the computations; each returns a frozen result dataclass
  deriving from :class:`rfdiff.io.Serializable` (so ``report.json`` stores it and ``rfdiff.load``
  returns it), with its parameters and its gaps;
* :mod:`~rfdiff.report.figures`: one builder per figure (result -> matplotlib Figure);
* :mod:`~rfdiff.report.html`: ``index.html``;
* :mod:`~rfdiff.report.files`: the writability check, the temporary directory and its atomic install;
* :mod:`~rfdiff.report.progress`: progress on stderr (tqdm on a terminal, plain lines otherwise) and
  the process pool;
* :mod:`~rfdiff.report.run`: :data:`SECTIONS`, :class:`Report` and :func:`run_report`.

**Adding a section** (e.g. memorization of generated samples, or regularization) takes three pieces:

1. a function computing one result: a ``@dataclass(frozen=True)`` class deriving from
   :class:`rfdiff.io.Serializable` whose fields hold the parameters (an ``RFModel`` or the numbers
   that define the setting), the rfdiff results it used and, if it compares theory with simulation,
   ``gaps: tuple[Gap, ...]`` built with :meth:`Gap.judged` (value, tolerance, the argument);
2. a figure builder ``results -> Figure`` (``results`` maps section names to their results, so a
   figure can combine sections) and a caption ``(results, config) -> str``;
3. one :class:`Section` entry in :data:`SECTIONS` (``run.py``): name, ``compute(cfg, ctx)``,
   ``(FigureSpec(...), ...)``, and the number of progress units it reports through
   ``ctx.progress.step``. New sizes go into :class:`ReportConfig` with their presets.

``index.html`` lists the section's gaps and figures, and ``report.json`` stores its result, without
further changes.

Everything is written into a temporary directory beside the output and moved into place at the
end, so an interruption leaves no half-written file.
"""

from .config import PRESETS, ReportConfig
from .figures import (
    figure_atom_scan,
    figure_collapse,
    figure_curves,
    figure_exact_curves,
    figure_memorization,
    figure_memorization_samples,
    figure_phase,
    figure_spectrum,
    figure_timescales,
)
from .files import load_report
from .progress import Progress, process_pool
from .regularization import (
    AdamCheck,
    RegularizationSection,
    StoppingPoint,
    figure_regularization,
    regularization_section,
)
from .run import SECTIONS, Context, FigureSpec, Report, Section, run_report
from .sections import (
    AtomScan,
    CurveGaps,
    CurveRun,
    CurvesSection,
    ExactCurvesSection,
    Gap,
    PowerFit,
    SpectrumCheck,
    SpectrumSection,
    TimescalesSection,
    TimescaleSweep,
    atom_scan,
    curves_section,
    exact_curves_section,
    governing_time,
    power_fit,
    spectrum_check,
    spectrum_section,
    timescales_section,
    timescales_sweep,
)

__all__ = [
    "PRESETS",
    "SECTIONS",
    "AdamCheck",
    "AtomScan",
    "Context",
    "CurveGaps",
    "CurveRun",
    "CurvesSection",
    "ExactCurvesSection",
    "FigureSpec",
    "Gap",
    "PowerFit",
    "Progress",
    "RegularizationSection",
    "Report",
    "ReportConfig",
    "Section",
    "SpectrumCheck",
    "SpectrumSection",
    "StoppingPoint",
    "TimescaleSweep",
    "TimescalesSection",
    "atom_scan",
    "curves_section",
    "exact_curves_section",
    "figure_atom_scan",
    "figure_collapse",
    "figure_curves",
    "figure_exact_curves",
    "figure_memorization",
    "figure_memorization_samples",
    "figure_phase",
    "figure_regularization",
    "figure_spectrum",
    "figure_timescales",
    "governing_time",
    "load_report",
    "power_fit",
    "process_pool",
    "regularization_section",
    "run_report",
    "spectrum_check",
    "spectrum_section",
    "timescales_section",
    "timescales_sweep",
]
