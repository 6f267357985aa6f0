"""Sizes of a report run: :class:`ReportConfig` and the presets ``full``, ``quick``, ``tiny``."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from ..io import Serializable
from ..model import DataSpectrum

__all__ = ["ANISOTROPIC", "PHASE_TAU", "PRESETS", "PSI_N", "PSI_P", "ReportConfig"]

#: The paper's Fig. 5 setting.
PSI_P = 64.0
PSI_N = (4.0, 8.0, 16.0, 32.0)
T_CURVES = 0.1
#: The paper's Fig. 4 setting.
PSI_N_SPECTRUM = 8.0
T_SPECTRUM = 0.01
ANISOTROPIC = DataSpectrum([0.5, 1.5], [0.5, 0.5])
PHASE_TAU = (1e3, 1e4)
#: The real-feature learning-curve check (exact noise average): psi_p/psi_n = 4 as psi_n = 16 of Fig. 5,
#: at a psi_p where d = 80 (p = 1280) costs seconds.
EXACT_PSI_P, EXACT_PSI_N = 16.0, 4.0
#: psi_n of the tau_mem power-law fits (the paper's Fig. 5 values) and the psi_p they are made at.
FIT_PSI_N = (4.0, 8.0, 16.0, 32.0)
SCALING_PSI_P = (64.0, 1024.0)


@dataclass(frozen=True)
class ReportConfig(Serializable):
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
        the Mehler expansion, docs/theory.md §8.1).
    spectrum_dscan : tuple of int
        Dimensions of the real-feature (exact noise) spectrum d-scan in the Fig. 4 setting, one seed
        each (``d_spectrum`` is added when ``"exact"`` is among the panels).
    d_curves : int
        Dimension of the Gaussian-equivalent gradient flows.
    curve_seeds : int
        Draws averaged per psi_n.
    exact_curves_d : tuple of int
        Dimensions of the real-feature gradient-flow d-scan (psi_p = 16, psi_n = 4, t = 0.1).
    exact_curve_seeds : int
        Draws per dimension of that scan.
    tau_points : int
        Points of the theory curves on [1e-1, 1e6].
    sim_per_decade : int
        Simulated tau per decade (the flow is exact at every tau; this only sets the reading grid).
    timescale_points : int
        psi_n values of the timescale sweeps, log-spaced in [2, 64] (the fit points 4, 8, 16, 32 are
        always added), at psi_p = 64 and 1024; 0: the fit points only.
    fit_psi_n : tuple of float
        psi_n of the power-law fits of tau_mem (at least 3: the fit's confidence interval needs a
        residual).
    phase_psi_p, phase_psi_n : tuple of (float, float, int)
        Log-spaced axes (start, stop, points) of the phase maps.
    workers : int or None
        Processes for the phase map and timescale sweeps (default: all cores).
    curve_psi_n : tuple of float
        psi_n of the learning-curve figures (the paper's 4, 8, 16, 32).
    dpi : int
        Resolution of the PNG files.
    regularization_lams : tuple of float
        Ridge parameters lambda >= 0 of the regularization section's curves (psi_p = 64, psi_n = 8).
    regularization_map : tuple of int
        (psi_n points, lambda points) of the regularization section's (psi_n, lambda) phase map at tau = inf.
    regularization_psi_n : tuple of float
        psi_n of the early-stopping-against-weight-decay comparison at psi_p = 64.
    adam_d : int
        Dimension of the Adam-against-flow cell (psi_p = 16, psi_n = 4); 0 skips it.
    adam_seeds : int
        Draws of that cell.
    mem_d, mem_psi_p, mem_psi_n, mem_seeds : int, float, tuple of float, int
        Memorization in samples (:mod:`rfdiff.generate`): dimension, p/d, the n/d values and the seeds of
        the RF diffusion models (tanh, N(0, I) data, exact noise average).
    mem_times, mem_samples, mem_tau_per_decade : int
        Diffusion times of the sampling grid (geometric on [1e-3, 5]), samples per training time, training
        times per decade on [1, 1e9] (plus tau = inf).
    mem_theory_t : tuple of float
        Diffusion times at which the single-time theory's tau_mem is drawn beside the samples' onset.
    """

    d_spectrum: int = 80
    spectrum_seeds: int = 2
    spectrum_noise: tuple[str, ...] = ("gaussian", "exact")
    spectrum_dscan: tuple[int, ...] = (10, 20, 40)
    d_curves: int = 40
    curve_seeds: int = 4
    exact_curves_d: tuple[int, ...] = (20, 40, 80)
    exact_curve_seeds: int = 2
    tau_points: int = 141
    sim_per_decade: int = 10
    timescale_points: int = 16
    fit_psi_n: tuple[float, ...] = FIT_PSI_N
    phase_psi_p: tuple[float, float, int] = (4.0, 128.0, 64)
    phase_psi_n: tuple[float, float, int] = (1.0, 128.0, 64)
    workers: int | None = None
    curve_psi_n: tuple[float, ...] = PSI_N
    dpi: int = 130
    regularization_lams: tuple[float, ...] = (0.0, 1e-3, 1e-2, 1e-1)
    regularization_psi_n: tuple[float, ...] = (2.0, 4.0, 8.0, 16.0, 32.0)
    regularization_map: tuple[int, int] = (48, 40)
    adam_d: int = 8
    adam_seeds: int = 4
    mem_d: int = 8
    mem_psi_p: float = 32.0
    mem_psi_n: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0)
    mem_seeds: int = 3
    mem_times: int = 30
    mem_samples: int = 1000
    mem_tau_per_decade: int = 2
    mem_theory_t: tuple[float, ...] = (0.005, 0.02, 0.06)

    def __post_init__(self) -> None:
        if not self.curve_psi_n or not all(0 < x < math.inf for x in self.curve_psi_n):
            raise ValueError(f"curve_psi_n must be a non-empty tuple of numbers > 0, "
                             f"got {self.curve_psi_n!r}")
        for name in ("d_spectrum", "spectrum_seeds", "d_curves", "curve_seeds", "sim_per_decade", "dpi",
                     "exact_curve_seeds"):
            value = getattr(self, name)
            if isinstance(value, bool) or int(value) != value or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        for name, low in (("tau_points", 3), ("timescale_points", 0)):
            value = getattr(self, name)
            if isinstance(value, bool) or int(value) != value or value < low or value == 1:
                raise ValueError(f"{name} must be an integer >= {max(low, 2)}{' or 0' if low == 0 else ''}, "
                                 f"got {value!r}")
        for name in ("spectrum_dscan", "exact_curves_d"):
            value = getattr(self, name)
            if (len(value) < 2 or any(isinstance(v, bool) or int(v) != v or v < 2 for v in value)
                    or list(value) != sorted(set(value))):
                raise ValueError(f"{name} must be at least two increasing integers >= 2, got {value!r}")
        if len(self.fit_psi_n) < 3 or list(self.fit_psi_n) != sorted(set(self.fit_psi_n)) or not all(
                0 < x < math.inf for x in self.fit_psi_n):
            raise ValueError(f"fit_psi_n must be at least three increasing numbers > 0, "
                             f"got {self.fit_psi_n!r}")
        if not self.spectrum_noise or not set(self.spectrum_noise) <= {"exact", "gaussian"}:
            raise ValueError(f"spectrum_noise must be a non-empty tuple of 'gaussian', 'exact', "
                             f"got {self.spectrum_noise!r}")
        for name in ("phase_psi_p", "phase_psi_n"):
            lo, hi, num = getattr(self, name)
            if not (0 < lo <= hi < math.inf) or int(num) != num or num < 1:
                raise ValueError(f"{name} must be (start, stop, points) with 0 < start <= stop, points >= 1, "
                                 f"got {getattr(self, name)!r}")
        if (not self.regularization_lams or not all(0 <= x < math.inf for x in self.regularization_lams)
                or not self.regularization_psi_n
                or not all(0 < x < math.inf for x in self.regularization_psi_n)):
            raise ValueError("regularization_lams must be numbers >= 0 and regularization_psi_n numbers > 0, "
                             f"both non-empty, got {self.regularization_lams!r}, "
                             f"{self.regularization_psi_n!r}")
        if len(self.regularization_map) != 2 or any(isinstance(k, bool) or int(k) != k or k < 2
                                                    for k in self.regularization_map):
            raise ValueError(f"regularization_map must be two integers >= 2, got {self.regularization_map!r}")
        ad, seeds = self.adam_d, self.adam_seeds
        if isinstance(ad, bool) or int(ad) != ad or ad < 0 or ad == 1:
            raise ValueError(f"adam_d must be an integer >= 2 or 0, got {self.adam_d!r}")
        if isinstance(seeds, bool) or int(seeds) != seeds or seeds < 1:
            raise ValueError(f"adam_seeds must be an integer >= 1, got {self.adam_seeds!r}")
        for name, low in (("mem_d", 1), ("mem_seeds", 1), ("mem_times", 2), ("mem_samples", 2),
                          ("mem_tau_per_decade", 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or int(value) != value or value < low:
                raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
        if not 0 < self.mem_psi_p < math.inf:
            raise ValueError(f"mem_psi_p must be a finite number > 0, got {self.mem_psi_p!r}")
        if (not self.mem_psi_n or list(self.mem_psi_n) != sorted(set(self.mem_psi_n))
                or not all(0 < x < math.inf for x in self.mem_psi_n)
                or round(self.mem_psi_n[0] * self.mem_d) < 2):
            raise ValueError(f"mem_psi_n must be increasing numbers > 0 with n = psi_n mem_d >= 2, "
                             f"got {self.mem_psi_n!r}")
        if not all(0 < t < math.inf for t in self.mem_theory_t):
            raise ValueError(f"mem_theory_t must be diffusion times > 0, got {self.mem_theory_t!r}")
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

    @property
    def dscan_spectrum(self) -> tuple[int, ...]:
        """Every d of the real-feature spectrum scan (the exact panel's d included)."""
        extra = (self.d_spectrum,) if "exact" in self.spectrum_noise else ()
        return tuple(sorted(set(self.spectrum_dscan) | set(extra)))


#: ``full``: the default run (< 20 min on 2 cores); ``quick``: ``--quick`` (< 2 min);
#: ``tiny``: the test suite's run (seconds of simulation, a 1 x 2 phase grid).
PRESETS: dict[str, ReportConfig] = {
    "full": ReportConfig(),
    "quick": ReportConfig(d_spectrum=24, spectrum_seeds=1, spectrum_noise=("gaussian",),
                          spectrum_dscan=(10, 20), d_curves=16, curve_seeds=2, exact_curves_d=(10, 20, 40),
                          exact_curve_seeds=1, tau_points=71, sim_per_decade=6, timescale_points=0,
                          phase_psi_p=(4.0, 128.0, 24), phase_psi_n=(1.0, 128.0, 24),
                          regularization_psi_n=(2.0, 8.0, 32.0), regularization_map=(16, 12), adam_seeds=1,
                          mem_d=4, mem_psi_p=8.0, mem_psi_n=(1.0, 2.0, 4.0), mem_seeds=1, mem_times=12,
                          mem_samples=300, mem_tau_per_decade=1),
    "tiny": ReportConfig(d_spectrum=10, spectrum_seeds=1, spectrum_noise=("gaussian",), spectrum_dscan=(4, 6),
                         d_curves=10, curve_seeds=2, exact_curves_d=(6, 12), exact_curve_seeds=1,
                         tau_points=36, sim_per_decade=4, timescale_points=0, fit_psi_n=(4.0, 8.0, 16.0),
                         phase_psi_p=(8.0, 8.0, 1), phase_psi_n=(2.0, 16.0, 2), curve_psi_n=(8.0, 32.0),
                         dpi=50, regularization_lams=(0.0, 0.1), regularization_psi_n=(2.0, 8.0), adam_d=6,
                         regularization_map=(16, 12),
                         adam_seeds=1, mem_d=4, mem_psi_p=8.0, mem_psi_n=(1.0, 2.0), mem_seeds=1,
                         mem_times=10, mem_samples=200, mem_tau_per_decade=1, mem_theory_t=(0.05,)),
}
