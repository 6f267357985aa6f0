"""rfdiff: random-matrix-theory analytics for diffusion models.

The spectrum of the random-features correlation matrix U of Bonnaire, Urfin,
Biroli & Mézard (NeurIPS 2025) from its self-consistent resolvent equations,
its timescales and limit learning curves, with the conventions of docs/theory.md.
"""

from . import (
    activations,
    constants,
    dynamics,
    errors,
    io,
    noise_draws,
    phases,
    resolvent,
    ridge,
    simulate,
    spectrum,
    twopoint,
)
from .activations import Activation, centred
from .constants import Constants
from .dynamics import SpectralTimescales
from .errors import (
    NumericalError,
    QuadratureError,
    ResolventConvergenceError,
    SpectrumResolutionError,
    UndefinedQuantityError,
)
from .io import load
from .model import DataSpectrum, RFModel
from .phases import DynamicalTimescales, PhaseDiagram, Timescales, dynamical_timescales, n_star, phase_diagram
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
    "SpectralTimescales",
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
    "io",
    "learning_curves",
    "load",
    "n_star",
    "noise_draws",
    "phase_diagram",
    "phases",
    "plot",
    "report",
    "resolvent",
    "ridge",
    "simulate",
    "spectrum",
    "sweep",
    "two_point",
    "twopoint",
]
__version__ = "0.1.0"

_LAZY = ("plot", "report")  # they import matplotlib: loaded on first use, not by ``import rfdiff``


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
