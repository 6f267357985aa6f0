"""Finite-size simulator: exact-noise correlation matrices, exact gradient-flow curves, GD training.

The independent check of every theoretical prediction in rfdiff (docs/theory.md §1, §2, §8; docs/simulate.md):

* :func:`correlation_matrices` — U, V, U~, V~ with the noise average exact (Mehler/Hermite),
  by Monte Carlo, or Gaussian-equivalent; :func:`eigenvalues` over seeds;
* :func:`gradient_flow` — exact learning curves at every tau from one eigendecomposition;
* :func:`train` — explicit training: the paper's gradient descent with one noise draw per sample per
  step, or SGD, Adam, sign descent; fresh or m fixed noise draws per point; ridge (weight decay).

See ``docs/simulate.md`` for conventions, accuracy and measured speed.

Modules: :mod:`~rfdiff.simulate.matrices` (the public assembly and its results),
:mod:`~rfdiff.simulate.problem` (W, X and the data covariance), one module per noise average —
:mod:`~rfdiff.simulate.mehler` (exact), :mod:`~rfdiff.simulate.montecarlo` (m draws per point),
:mod:`~rfdiff.simulate.gaussian` (Gaussian equivalent) — then :mod:`~rfdiff.simulate.flow` and
:mod:`~rfdiff.simulate.train`. The private layer (``_validate``, ``_seeding``, ``_hermite``,
``_features``, ``_kernels``) is the only place modules share private code.
"""

from .flow import (
    FlowCurves,
    FlowSpectrum,
    RidgeEstimator,
    dsm_losses,
    flow_spectrum,
    gradient_flow,
    ridge_estimator,
)
from .matrices import CorrelationMatrices, EigenvalueSample, correlation_matrices, eigenvalues
from .problem import data_covariance, sample_problem
from .train import OPTIMIZERS, TrainingRun, train

__all__ = [
    "OPTIMIZERS",
    "CorrelationMatrices",
    "EigenvalueSample",
    "FlowCurves",
    "FlowSpectrum",
    "RidgeEstimator",
    "TrainingRun",
    "correlation_matrices",
    "data_covariance",
    "dsm_losses",
    "eigenvalues",
    "flow_spectrum",
    "gradient_flow",
    "ridge_estimator",
    "sample_problem",
    "train",
]
