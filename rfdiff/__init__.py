"""rfdiff: random-matrix-theory analytics for diffusion models.

The spectrum of the random-features correlation matrix U of Bonnaire, Urfin,
Biroli & Mézard (NeurIPS 2025) from its self-consistent resolvent equations,
with the conventions of THEORY.md.
"""

from . import activations, constants, dynamics, errors, phases, resolvent, simulate, spectrum, twopoint
from .activations import Activation, centred
from .constants import Constants
from .dynamics import Timescales
from .errors import (
    NumericalError,
    QuadratureError,
    ResolventConvergenceError,
    SpectrumResolutionError,
    UndefinedQuantityError,
)
from .model import DataSpectrum, RFModel
from .phases import DynamicalTimescales, PhaseDiagram, dynamical_timescales, n_star, phase_diagram
from .resolvent import Equations, Resolvent
from .spectrum import Spectrum
from .sweep import sweep
from .twopoint import LearningCurves, learning_curves, two_point

__all__ = [
    "Activation",
    "Constants",
    "DataSpectrum",
    "DynamicalTimescales",
    "Equations",
    "LearningCurves",
    "NumericalError",
    "PhaseDiagram",
    "QuadratureError",
    "RFModel",
    "Resolvent",
    "ResolventConvergenceError",
    "Spectrum",
    "SpectrumResolutionError",
    "Timescales",
    "UndefinedQuantityError",
    "activations",
    "centred",
    "constants",
    "dynamical_timescales",
    "dynamics",
    "errors",
    "generate",
    "learning_curves",
    "n_star",
    "phase_diagram",
    "phases",
    "plot",
    "report",
    "resolvent",
    "simulate",
    "spectrum",
    "sweep",
    "two_point",
    "twopoint",
]
__version__ = "0.1.0"

_LAZY = ("generate", "plot", "report")  # loaded on first use: plot and report import matplotlib,
# generate scipy.stats; ``import rfdiff`` stays cheap


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
