"""From losses to samples: a random-features diffusion model that generates (docs/generate.md).

* :class:`RFDiffusion` — one RF score per diffusion time of a grid, each trained by the exact gradient
  flow for the same training time tau (one eigendecomposition per time, kept: any tau, inf included,
  is a spectral filter); ``.sample``, ``.memorization_curve``;
* :func:`sample` — reverse SDE / probability-flow ODE samplers (exponential integrator, Heun or Euler)
  for any score callable; :func:`discretization_error` — their exact error for Gaussian data;
* :func:`gaussian_score`, :func:`empirical_score` — the generalizing and the memorizing reference scores;
* :func:`memorization_fraction`, :func:`frechet_distance`, :func:`frechet_floor`,
  :func:`nearest_neighbours` — sample metrics;
* :func:`single_time_theory`, :func:`memorization_study`, :func:`report_data` — the theory per
  diffusion time, sweeps over (psi_n, seed) on any executor, and the report section's data.
"""

from .metrics import (
    FrechetFloor,
    MemorizationFraction,
    frechet_distance,
    frechet_floor,
    memorization_fraction,
    nearest_neighbours,
)
from .model import MemorizationCurve, RFDiffusion, RFScore, TimeFit
from .samplers import DiscretizationError, check_times, discretization_error, sample
from .scores import EmpiricalScore, GaussianScore, empirical_score, gaussian_score

__all__ = [
    "DiscretizationError",
    "EmpiricalScore",
    "FrechetFloor",
    "GaussianScore",
    "MemorizationCurve",
    "MemorizationFraction",
    "RFDiffusion",
    "RFScore",
    "TimeFit",
    "check_times",
    "discretization_error",
    "empirical_score",
    "frechet_distance",
    "frechet_floor",
    "gaussian_score",
    "memorization_fraction",
    "nearest_neighbours",
    "sample",
]
