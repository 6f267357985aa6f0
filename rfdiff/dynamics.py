"""Gradient-flow dynamics in the limit: train loss from the spectral measure of s, timescales.

docs/theory.md §2, §6, §7. With V ~ c W/sqrt(d), c = mu_1 sqrt(Delta_t)/Gamma_t, the train loss
needs one resolvent:

    L_train(tau) = 1 - c^2 psi_p int dnu_s(lambda) (1 - exp(-4 Delta_t lambda tau/psi_p)) / lambda,

with nu_s = Im s(lambda + i0)/pi the spectral measure of s = (1/p) Tr(W^T (U - z)^{-1} W)/d
(a probability measure with no atom at s_t^2: the atom's eigenvectors have W^T v = 0).

Timescales (paper convention psi_p/(Delta_t lambda), dropping the factor 2 of the flow):
every support component is listed with its rho-mass, its share of the total train-loss drop
int dnu_s/lambda, and its time psi_p/(Delta_t lambda_lower).

L_test, L_gen and E_score need the two-point deterministic equivalent: :mod:`rfdiff.twopoint`.
Not here yet (issue 4, in progress): the dynamical timescales read off those curves, n_star and
phase diagrams.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .io import Serializable
from .resolvent import solve
from .spectrum import Spectrum

if TYPE_CHECKING:  # pragma: no cover
    from .model import RFModel
    from .phases import DynamicalTimescales

__all__ = ["LossMeasure", "SpectralComponent", "Timescales", "loss_measure", "timescales", "train_loss"]


def _clenshaw_curtis(m: int) -> tuple[np.ndarray, np.ndarray]:
    """Clenshaw–Curtis nodes u_j = -cos(j pi/m) (ascending) and weights on [-1, 1]."""
    theta = np.pi * np.arange(m + 1) / m
    w = np.zeros(m + 1)
    v = np.ones(m - 1)
    if m % 2 == 0:
        w[0] = w[m] = 1.0 / (m * m - 1)
        for k in range(1, m // 2):
            v -= 2.0 * np.cos(2 * k * theta[1:-1]) / (4 * k * k - 1)
        v -= np.cos(m * theta[1:-1]) / (m * m - 1)
    else:
        w[0] = w[m] = 1.0 / (m * m)
        for k in range(1, (m - 1) // 2 + 1):
            v -= 2.0 * np.cos(2 * k * theta[1:-1]) / (4 * k * k - 1)
    w[1:-1] = 2.0 * v / m
    return -np.cos(theta), w


@dataclass(frozen=True)
class LossMeasure:
    """Quadrature of the spectral measure nu_s: int f dnu_s ~= sum_j weight_j f(lam_j).

    Attributes
    ----------
    lam, weight : ndarray
        Nodes (dense near the edges) and weights, all components together.
    component : ndarray of int
        Index of the support component of each node.
    total : float
        sum of the weights (nu_s is a probability measure: 1 up to quadrature error).
    """

    lam: np.ndarray
    weight: np.ndarray
    component: np.ndarray
    total: float


def _component_quadrature(model: RFModel, sp: Spectrum, nodes: int, kind: str) -> LossMeasure:
    """Clenshaw–Curtis in theta on each component of Im q/pi (kind "q") or Im s/pi (kind "s")."""
    u, w = _clenshaw_curtis(nodes)
    theta = 0.5 * np.pi * (1.0 + u[1:-1])
    lams, weights, comps = [], [], []
    for k, (lo, hi) in enumerate(sp.support):
        half = 0.5 * (hi - lo)
        lam = lo + half * (1.0 - np.cos(theta))
        res = solve(model.equations, lam.astype(np.complex128))
        dens = (res.s if kind == "s" else res.q).imag / np.pi
        # d lambda = half sin(theta) d theta, d theta = (pi/2) du
        lams.append(lam)
        weights.append(half * 0.5 * np.pi * w[1:-1] * dens * np.sin(theta))
        comps.append(np.full(lam.size, k))
    lam = np.concatenate(lams) if lams else np.empty(0)
    weight = np.concatenate(weights) if weights else np.empty(0)
    return LossMeasure(lam=lam, weight=weight, component=np.concatenate(comps) if comps else
                       np.empty(0, int), total=float(weight.sum()))


def loss_measure(model: RFModel, spectrum: Spectrum | None = None, nodes: int = 2048) -> LossMeasure:
    """Nodes and weights of nu_s = Im s(lambda + i0)/pi on each support component.

    Each component [lo, hi] is mapped by lambda = lo + (hi - lo)(1 - cos theta)/2 and
    integrated by Clenshaw–Curtis in theta (``nodes`` points), where
    nu_s(lambda(theta)) sin(theta) is smooth at square-root edges.

    Examples
    --------
    >>> import rfdiff
    >>> mu = loss_measure(rfdiff.RFModel(psi_p=8, psi_n=2, t=0.1))
    >>> bool(abs(mu.total - 1) < 1e-8)
    True
    """
    return _component_quadrature(model, model.spectrum() if spectrum is None else spectrum, nodes, "s")


def _tau_array(tau: float | Sequence[float] | np.ndarray) -> np.ndarray:
    tau = np.asarray(tau, dtype=np.float64)
    if not np.all(np.isfinite(tau) | np.isposinf(tau)) or np.any(tau < 0):
        raise ValueError("tau must be >= 0 (inf allowed), got NaN or a negative value")
    return tau


def train_loss(model: RFModel, tau: float | Sequence[float] | np.ndarray,
               measure: LossMeasure | None = None) -> np.ndarray:
    """L_train(tau) in the limit d -> infinity (docs/theory.md §7.1); same shape as tau.

    Examples
    --------
    >>> import rfdiff
    >>> m = rfdiff.RFModel(psi_p=8, psi_n=2, t=0.1)
    >>> loss = train_loss(m, [0.0, 1e2, np.inf])
    >>> bool(loss[0] == 1.0 and loss[1] > loss[2])
    True
    """
    tau = _tau_array(tau)
    mu = loss_measure(model) if measure is None else measure
    c = model.constants
    c2 = c.mu1**2 * c.delta / c.gamma2
    rate = 4.0 * c.delta * mu.lam / model.psi_p
    flat = tau.ravel()
    with np.errstate(invalid="ignore"):
        decay = np.where(np.isposinf(flat)[:, None], 1.0, -np.expm1(-np.outer(flat, rate)))
    drop = c2 * model.psi_p * (decay @ (mu.weight / mu.lam))
    return (1.0 - drop).reshape(tau.shape)


@dataclass(frozen=True)
class SpectralComponent(Serializable):
    """One support component of rho with its role in the dynamics.

    label: "rho_2" (population bulk, top mass 1/psi_p), "rho_1" (memorization bulk),
    "cluster" (the component of mass 1/psi_p below rho_1 that Theorem 3.2 misses) or
    "rho_1+cluster" when they are merged or cannot be told apart by mass.
    ``time`` = psi_p/(Delta_t lo) is the component's slowest mode (paper convention),
    ``time_fast`` = psi_p/(Delta_t hi) its fastest.
    """

    label: str
    lo: float
    hi: float
    mass: float
    loss_share: float
    time: float
    time_fast: float


@dataclass(frozen=True)
class Timescales(Serializable):
    """Spectral timescales (paper convention psi_p/(Delta_t lambda)).

    Attributes
    ----------
    tau_gen, lam_gen : float
        Population time from the centre of rho_2: lam_gen = mean eigenvalue of rho_2
        (~ psi_p mu_1^2, independent of psi_n up to O(1/psi_p)).
    tau_gen_edge, lam_gen_edge : float
        Slowest population mode: lower edge of rho_2. For psi_p > psi_n this edge moves with
        psi_n (data fluctuations X X^T/n widen rho_2 by ~sqrt(psi_p/psi_n)), so it is not the
        n-independent time of the paper.
    tau_mem, lam_mem : float
        The paper's memorization time: lower edge of rho_1 (exact edge, not the asymptotic formula).
    tau_mem_loss, lam_mem_loss : float
        Loss-weighted slowest time: lower edge of the lowest component whose share of the
        train-loss drop is at least ``share_threshold`` (the cluster in the paper's settings).
    tau_mem_asymptotic : float
        psi_p / (Delta_t (s_t^2 + v_t^2 (1 - sqrt(psi_p/psi_n))^2)) (Theorem 3.2).
    components : tuple of SpectralComponent
    share_threshold : float
    dynamical : DynamicalTimescales or None
        The times read off the limit learning curves (:func:`rfdiff.phases.dynamical_timescales`),
        attached by :meth:`rfdiff.RFModel.timescales` (None from this module's :func:`timescales`).
    """

    tau_gen: float
    lam_gen: float
    tau_gen_edge: float
    lam_gen_edge: float
    tau_mem: float
    lam_mem: float
    tau_mem_loss: float
    lam_mem_loss: float
    tau_mem_asymptotic: float
    components: tuple[SpectralComponent, ...]
    share_threshold: float
    dynamical: DynamicalTimescales | None = None

    @property
    def tau_gen_dyn(self) -> float:
        """Dynamical tau_gen (E_score within ``score_tol`` of its minimum); nan if not attached."""
        return math.nan if self.dynamical is None else self.dynamical.tau_gen_dyn

    @property
    def tau_mem_dyn(self) -> float:
        """Dynamical tau_mem (L_gen reaches its threshold); nan if not attached."""
        return math.nan if self.dynamical is None else self.dynamical.tau_mem_dyn


def _labels(masses: Sequence[float], psi_p: float, psi_n: float, tol: float = 1e-6) -> list[str]:
    """Label components from the top by their masses (docs/theory.md §5)."""
    labels = ["rho_1+cluster"] * len(masses)
    k = len(masses) - 1
    acc = 0.0
    target2 = min(1.0, 1.0 / psi_p)
    while k >= 0 and acc < target2 - tol:
        acc += masses[k]
        labels[k] = "rho_2"
        k -= 1
    if psi_p > psi_n:
        target1 = (psi_n - 1.0) / psi_p
        acc1, j = 0.0, k
        while j >= 0 and acc1 < target1 - tol:
            acc1 += masses[j]
            j -= 1
        rest = sum(masses[: j + 1])
        if target1 > 0 and abs(acc1 - target1) < tol and abs(rest - 1.0 / psi_p) < tol:
            for i in range(j + 1, k + 1):
                labels[i] = "rho_1"
            for i in range(j + 1):
                labels[i] = "cluster"
    else:
        for i in range(k + 1):
            labels[i] = "rho_1"
    return labels


def timescales(model: RFModel, share_threshold: float = 0.01) -> Timescales:
    """Spectral timescales of every support component (docs/theory.md §6.1).

    Examples
    --------
    >>> import rfdiff
    >>> ts = timescales(rfdiff.RFModel(psi_p=64, psi_n=8, t=0.1))
    >>> [c.label for c in ts.components]
    ['cluster', 'rho_1', 'rho_2']
    >>> round(ts.tau_mem_loss / ts.tau_mem, 1)
    2.7
    """
    if not 0 < share_threshold < 1:
        raise ValueError(f"share_threshold must be in (0, 1), got {share_threshold}")
    sp = model.spectrum()
    mu = loss_measure(model, sp)
    per = np.bincount(mu.component, weights=mu.weight / mu.lam, minlength=len(sp.support))
    shares = per / per.sum()
    labels = _labels(sp.masses, model.psi_p, model.psi_n)
    c = model.constants
    comps = tuple(
        SpectralComponent(label=lab, lo=lo, hi=hi, mass=mass, loss_share=float(share),
                          time=model.psi_p / (c.delta * lo), time_fast=model.psi_p / (c.delta * hi))
        for lab, (lo, hi), mass, share in zip(labels, sp.support, sp.masses, shares)
    )
    gen = [x for x in comps if x.label == "rho_2"]
    mem = [x for x in comps if x.label in ("rho_1", "rho_1+cluster")]
    lam_gen_edge = min(x.lo for x in gen)
    rho_q = _component_quadrature(model, sp, 256, "q")
    in_gen = np.isin(rho_q.component, [k for k, x in enumerate(comps) if x.label == "rho_2"])
    lam_gen = float(np.sum(rho_q.weight[in_gen] * rho_q.lam[in_gen]) / np.sum(rho_q.weight[in_gen]))
    lam_mem = min(x.lo for x in mem) if mem else math.nan
    heavy = [x for x in comps if x.loss_share >= share_threshold]
    lam_loss = min(x.lo for x in heavy)
    lam_asym = c.s2 + c.v2 * (1 - math.sqrt(model.psi_p / model.psi_n)) ** 2
    scale = model.psi_p / c.delta
    return Timescales(
        tau_gen=scale / lam_gen, lam_gen=lam_gen, tau_gen_edge=scale / lam_gen_edge,
        lam_gen_edge=lam_gen_edge, tau_mem=scale / lam_mem, lam_mem=lam_mem,
        tau_mem_loss=scale / lam_loss, lam_mem_loss=lam_loss, tau_mem_asymptotic=scale / lam_asym,
        components=comps, share_threshold=share_threshold,
    )
