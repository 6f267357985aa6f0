"""Finite-size simulator: exact-noise correlation matrices, exact gradient-flow curves, GD training.

The independent check of every theoretical prediction in rfdiff (docs/theory.md §1, §2, §8):

* :func:`correlation_matrices` — U, V, U~, V~ with the noise average exact (Mehler/Hermite),
  by Monte Carlo, or Gaussian-equivalent; :func:`eigenvalues` over seeds;
* :func:`gradient_flow` — exact learning curves at every tau from one eigendecomposition;
* :func:`train` — explicit gradient descent with one noise draw per sample per step.

See ``docs/simulate.md`` for conventions, accuracy and measured speed.
"""

from .flow import FlowCurves, dsm_losses, gradient_flow
from .matrices import (
    CorrelationMatrices,
    EigenvalueSample,
    correlation_matrices,
    data_covariance,
    eigenvalues,
    sample_problem,
)
from .train import TrainingRun, train

__all__ = [
    "CorrelationMatrices",
    "EigenvalueSample",
    "FlowCurves",
    "TrainingRun",
    "correlation_matrices",
    "data_covariance",
    "dsm_losses",
    "eigenvalues",
    "gradient_flow",
    "sample_problem",
    "train",
]
