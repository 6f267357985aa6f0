"""Baseline: the published way of computing the density of U (re-implemented, not copied).

The script that accompanies Bonnaire, Urfin, Biroli & Mézard (NeurIPS 2025), which draws the
theory curves of the paper's Fig. 4, solves Theorem 3.1 (docs/theory.md §4.2) point by point:

* three complex unknowns (q, r, s), written as 6 real equations: the real and imaginary parts of
  ``s - sum_k pi_k / (s_hat + lam_k r_hat)``, ``r - sum_k pi_k lam_k / (s_hat + lam_k r_hat)`` and
  ``psi_p (s_t^2 - z) + psi_p v_t^2 / D + (1 - psi_p)/q - s/q^2``;
* ``scipy.optimize.root(..., method="lm")`` (MINPACK Levenberg–Marquardt, default tolerances);
* a ladder of Im z values: 100, then 100, 99, ..., 1, then 0.9, 0.7, 0.5, 0.3, 0.1 and
  1e-2 ... 1e-9 (114 solves per point), each one started from the solution at the previous rung;
  the first one from the large-|z| guess;
* the density is read from Im q at the last rung, Im z = 1e-9, with no convergence check and no
  branch check.

Differences from the published script, all deliberate:

* It works at z = lam - i eps, starts from q = r = s = 1/(lam + 100 i) and returns |Im q|/pi, so a
  wrong branch is hidden by the absolute value. Here everything is mirrored to the upper half
  plane (q(conj z) = conj q(z)): z = lam + i eps, the same start conjugated, q = r = s =
  1/(lam - 100 i) (``start="published"``; ``start="asymptotic"`` uses the physical -1/z instead),
  and rho = Im q / pi *without* abs(), so a wrong branch shows as a wrong (possibly negative)
  density. Every point also reports whether the last solve converged and whether it ended with
  Im q < 0.
* The Gaussian-equivalence constants are taken from rfdiff (Gauss–Hermite, ~1e-14) instead of a
  500 000-sample Monte Carlo estimate, so that both methods solve the same equations and the
  comparison measures the solvers only.

Public entry point: :func:`density`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.optimize import root

__all__ = ["BaselineResult", "Coefficients", "density", "epsilon_ladder", "solve_point"]


def epsilon_ladder(top: int = 100) -> np.ndarray:
    """The published ladder of Im z: top, top, top-1, ..., 1, 0.9, ..., 0.1, 1e-2, ..., 1e-9.

    >>> lad = epsilon_ladder()
    >>> len(lad), float(lad[0]), float(lad[-1])
    (114, 100.0, 1e-09)
    """
    tail = [0.9, 0.7, 0.5, 0.3, 0.1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9]
    return np.array([float(top), *map(float, range(top, 0, -1)), *tail])


@dataclass(frozen=True)
class Coefficients:
    """Coefficients of Theorem 3.1 (docs/theory.md §4 names)."""

    psi_p: float
    psi_n: float
    a2e: float          # a_t^2 e^{-2t}
    b2: float           # b_t^2
    v2: float           # v_t^2
    s2: float           # s_t^2
    data_values: tuple[float, ...] = (1.0,)
    data_weights: tuple[float, ...] = (1.0,)

    @classmethod
    def from_model(cls, model) -> Coefficients:
        """Coefficients of an :class:`rfdiff.RFModel` (its Gauss–Hermite constants)."""
        c = model.constants
        return cls(
            psi_p=float(model.psi_p), psi_n=float(model.psi_n), a2e=float(c.a2e), b2=float(c.b) ** 2,
            v2=float(c.v2), s2=float(c.s2), data_values=tuple(model.data.values),
            data_weights=tuple(model.data.weights),
        )


def _residual6(x: np.ndarray, lam: float, eps: float, cf: Coefficients, lk: np.ndarray,
               pk: np.ndarray) -> np.ndarray:
    """The 6 real equations at z = lam + i eps, unknowns x = (Re q, Im q, Re r, Im r, Re s, Im s)."""
    q = complex(x[0], x[1])
    r = complex(x[2], x[3])
    s = complex(x[4], x[5])
    z = complex(lam, eps)
    s_hat = cf.b2 * cf.psi_p + 1.0 / q
    d = 1.0 + (cf.a2e * cf.psi_p / cf.psi_n) * r + (cf.psi_p * cf.v2 / cf.psi_n) * q
    r_hat = cf.psi_p * cf.a2e / d
    t = 1.0 / (s_hat + lk * r_hat)
    e1 = s - complex(np.dot(pk, t))
    e2 = r - complex(np.dot(pk * lk, t))
    e3 = cf.psi_p * (cf.s2 - z) + cf.psi_p * cf.v2 / d + (1.0 - cf.psi_p) / q - s / (q * q)
    return np.array([e1.real, e1.imag, e2.real, e2.imag, e3.real, e3.imag])


@dataclass(frozen=True)
class PointSolution:
    q: complex
    r: complex
    s: complex
    converged: bool          # scipy's success flag at the last rung
    failures: int            # rungs where scipy reported failure
    residual: float          # max |equation| at the returned point
    nfev: int                # function evaluations over the whole ladder


def solve_point(lam: float, cf: Coefficients, ladder: np.ndarray | None = None,
                start: Literal["published", "asymptotic"] = "published") -> PointSolution:
    """Walk the ladder of Im z at one real lam, warm-starting every rung from the previous one."""
    if ladder is None:
        ladder = epsilon_ladder()
    lk = np.asarray(cf.data_values, dtype=np.float64)
    pk = np.asarray(cf.data_weights, dtype=np.float64)
    z0 = complex(lam, ladder[0])
    g = 1.0 / z0.conjugate() if start == "published" else -1.0 / z0
    x = np.array([g.real, g.imag] * 3)
    failures = 0
    nfev = 0
    sol = None
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for eps in ladder:
            sol = root(_residual6, x, args=(float(lam), float(eps), cf, lk, pk), method="lm")
            x = sol.x
            failures += int(not sol.success)
            nfev += int(sol.nfev)
        res = float(np.max(np.abs(_residual6(x, float(lam), float(ladder[-1]), cf, lk, pk))))
    return PointSolution(
        q=complex(x[0], x[1]), r=complex(x[2], x[3]), s=complex(x[4], x[5]),
        converged=bool(sol.success) and bool(np.isfinite(res)), failures=failures, residual=res,
        nfev=nfev,
    )


@dataclass(frozen=True)
class BaselineResult:
    """Density and diagnostics of the published approach on an array of lam."""

    lam: np.ndarray
    rho: np.ndarray            # Im q / pi at Im z = eps_min (no abs)
    q: np.ndarray
    converged: np.ndarray      # scipy success at the last rung
    wrong_branch: np.ndarray   # Im q < 0 at the end (Herglotz violated)
    failures: np.ndarray       # rungs reported as failed along the ladder
    residual: np.ndarray
    nfev: np.ndarray
    eps_min: float

    @property
    def n_wrong_branch(self) -> int:
        return int(self.wrong_branch.sum())

    @property
    def n_not_converged(self) -> int:
        return int((~self.converged).sum())


def density(lam, model=None, *, coefficients: Coefficients | None = None,
            ladder: np.ndarray | None = None,
            start: Literal["published", "asymptotic"] = "published") -> BaselineResult:
    """The published approach on every lam (1-d array): rho = Im q(lam + 1e-9 i) / pi.

    Give either an :class:`rfdiff.RFModel` or :class:`Coefficients`.
    """
    if coefficients is None:
        if model is None:
            raise ValueError("give a model or coefficients")
        coefficients = Coefficients.from_model(model)
    if ladder is None:
        ladder = epsilon_ladder()
    lam = np.atleast_1d(np.asarray(lam, dtype=np.float64))
    sols = [solve_point(float(x), coefficients, ladder, start) for x in lam]
    q = np.array([p.q for p in sols])
    return BaselineResult(
        lam=lam, rho=q.imag / np.pi, q=q,
        converged=np.array([p.converged for p in sols], dtype=bool),
        wrong_branch=q.imag < 0,
        failures=np.array([p.failures for p in sols]),
        residual=np.array([p.residual for p in sols]),
        nfev=np.array([p.nfev for p in sols]),
        eps_min=float(ladder[-1]),
    )
