"""Gradient-flow dynamics in the limit: train loss from the spectral measure of s, timescales.

docs/theory.md §2, §6, §7. With V ~ c W/sqrt(d), c = mu_1 sqrt(Delta_t)/Gamma_t, the train loss
needs one resolvent:

    L_train(tau) = 1 - c^2 psi_p int dnu_s(lambda) (1 - exp(-4 Delta_t lambda tau/psi_p)) / lambda,

with nu_s = Im s(lambda + i0)/pi the spectral measure of s = (1/p) Tr(W^T (U - z)^{-1} W)/d
(a probability measure with no atom at s_t^2: the atom's eigenvectors have W^T v = 0). This is an
independent computation of L_train (a real-axis quadrature on the components of the spectrum) beside
the contour path of :mod:`rfdiff.twopoint`.

Timescales (paper convention psi_p/(Delta_t lambda), dropping the factor 2 of the flow):
every support component is listed with its rho-mass, its share of the total train-loss drop
int dnu_s/lambda, and its time psi_p/(Delta_t lambda_lower).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ._numerics.arguments import finite_nonnegative, tau_array
from ._numerics.quadrature import clenshaw_curtis
from .io import Serializable
from .resolvent import Equations, solve
from .spectrum import Spectrum

if TYPE_CHECKING:  # pragma: no cover
    from .constants import Constants

__all__ = [
    "LossMeasure",
    "SpectralComponent",
    "SpectralTimescales",
    "loss_measure",
    "timescales",
    "train_loss",
]


@dataclass(frozen=True)
class LossMeasure(Serializable):
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


def _component_quadrature(eq: Equations, sp: Spectrum, nodes: int, kind: str) -> LossMeasure:
    """Clenshaw–Curtis in theta on each component of Im q/pi (kind "q") or Im s/pi (kind "s"),
    in the offsets zeta = lambda - s_t^2 (exact near s_t^2)."""
    u, w = clenshaw_curtis(nodes)
    theta = 0.5 * np.pi * (1.0 + u[1:-1])
    lams, weights, comps = [], [], []
    for k, (lo, hi) in enumerate(sp.offsets):
        half = 0.5 * (hi - lo)
        zeta = lo + half * (1.0 - np.cos(theta))
        res = solve(eq, zeta.astype(np.complex128), shifted=True)
        dens = (res.s if kind == "s" else res.q).imag / np.pi
        # d lambda = half sin(theta) d theta, d theta = (pi/2) du
        lams.append(eq.s2 + zeta)
        weights.append(half * 0.5 * np.pi * w[1:-1] * dens * np.sin(theta))
        comps.append(np.full(zeta.size, k))
    lam = np.concatenate(lams) if lams else np.empty(0)
    weight = np.concatenate(weights) if weights else np.empty(0)
    return LossMeasure(lam=lam, weight=weight, component=np.concatenate(comps) if comps else
                       np.empty(0, int), total=float(weight.sum()))


def loss_measure(eq: Equations, spectrum: Spectrum, nodes: int = 2048) -> LossMeasure:
    """Nodes and weights of nu_s = Im s(lambda + i0)/pi on each support component.

    Each component [lo, hi] is mapped by lambda = lo + (hi - lo)(1 - cos theta)/2 and
    integrated by Clenshaw–Curtis in theta (``nodes`` points), where
    nu_s(lambda(theta)) sin(theta) is smooth at square-root edges.

    Examples
    --------
    >>> import rfdiff
    >>> m = rfdiff.RFModel(psi_p=8, psi_n=2, t=0.1)
    >>> mu = loss_measure(m.equations, m.spectrum())
    >>> bool(abs(mu.total - 1) < 1e-8)
    True
    """
    return _component_quadrature(eq, spectrum, nodes, "s")


def train_loss(eq: Equations, cst: Constants, tau: float | Sequence[float] | np.ndarray, *,
               spectrum: Spectrum | None = None, measure: LossMeasure | None = None,
               ridge: float = 0.0) -> np.ndarray:
    """L_train(tau) in the limit d -> infinity (docs/theory.md §7.1); same shape as tau.

    With a ridge lam the flow sees U + lam and L_train (the denoising part, without the penalty) is
    1 + c^2 psi_p int (phi^2 lambda - 2 phi) dnu_s with
    phi = (1 - e^{-2 Delta_t (lambda + lam) tau/psi_p})/(lambda + lam).

    Parameters
    ----------
    eq, cst : Equations, Constants
        The setting.
    tau : float or array_like
        Flow times >= 0 (inf allowed).
    spectrum : Spectrum, optional
        ``rfdiff.spectrum.spectrum(eq)`` (computed if neither it nor ``measure`` is given).
    measure : LossMeasure, optional
        A precomputed :func:`loss_measure`.

    Examples
    --------
    >>> import rfdiff
    >>> m = rfdiff.RFModel(psi_p=8, psi_n=2, t=0.1)
    >>> loss = train_loss(m.equations, m.constants, [0.0, 1e2, np.inf], spectrum=m.spectrum())
    >>> bool(loss[0] == 1.0 and loss[1] > loss[2])
    True
    """
    tau = tau_array(tau)
    if measure is None:
        if spectrum is None:
            from .spectrum import spectrum as _spectrum

            spectrum = _spectrum(eq)
        measure = loss_measure(eq, spectrum)
    ridge = finite_nonnegative("ridge", ridge)
    c2 = cst.mu1**2 * cst.delta / cst.gamma2
    flat = tau.ravel()
    lam = measure.lam
    if ridge == 0.0:
        # phi^2 lambda - 2 phi = -(1 - e^{-2 a lambda})/lambda: one expm1, no cancellation
        with np.errstate(invalid="ignore"):
            decay = np.where(np.isposinf(flat)[:, None], 1.0,
                             -np.expm1(-np.outer(flat, 4.0 * cst.delta * lam / eq.psi_p)))
        drop = c2 * eq.psi_p * (decay @ (measure.weight / lam))
        return (1.0 - drop).reshape(tau.shape)
    lr = lam + ridge
    with np.errstate(invalid="ignore"):
        phi = np.where(np.isposinf(flat)[:, None], 1.0 / lr,
                       -np.expm1(-np.outer(flat, 2.0 * cst.delta * lr / eq.psi_p)) / lr)
    chi = phi * (phi * lam - 2.0)
    return (1.0 + c2 * eq.psi_p * (chi @ measure.weight)).reshape(tau.shape)


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
class SpectralTimescales(Serializable):
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
    tau_mem, lam_mem : float or None
        The paper's memorization time: lower edge of rho_1 (exact edge, not the asymptotic formula);
        of the merged "rho_1+cluster" component where the two cannot be told apart. None when the
        spectrum has no memorization component (every component is population, e.g. psi_p <= 1).
    tau_mem_loss, lam_mem_loss : float
        Loss-weighted slowest time: lower edge of the lowest component whose share of the
        train-loss drop is at least ``share_threshold`` (the cluster in the paper's settings); the time
        that governs the late rise of L_gen.
    tau_mem_asymptotic : float or None
        psi_p / (Delta_t (s_t^2 + v_t^2 (1 - sqrt(psi_p/psi_n))^2)) (Theorem 3.2); None where
        ``tau_mem`` is None.
    components : tuple of SpectralComponent
    share_threshold : float
    tau_mem_governing : float or None
        The time of the memorization component (any but rho_2) that carries the largest share of the
        train-loss drop (docs/theory.md §6.2): the time that governs the memorization rise of L_gen
        (the cluster in the paper's settings). None without a memorization component.
    tau_mem_mismatch : bool
        The headline ``tau_mem`` differs from ``tau_mem_governing`` by more than 3x (then ``flags``
        says by how much and why).
    flags : tuple of str
        Plain-language warnings about how to read these numbers, e.g. the mismatch above.
    equations : Equations
        The setting.
    ridge : float
        The ridge lam (times are those of U + lam).
    """

    tau_gen: float
    lam_gen: float
    tau_gen_edge: float
    lam_gen_edge: float
    tau_mem: float | None
    lam_mem: float | None
    tau_mem_loss: float
    lam_mem_loss: float
    tau_mem_asymptotic: float | None
    components: tuple[SpectralComponent, ...]
    share_threshold: float
    tau_mem_governing: float | None
    tau_mem_mismatch: bool
    flags: tuple[str, ...]
    equations: Equations
    ridge: float = 0.0


#: the headline tau_mem is flagged when it differs from tau_mem_loss by more than this factor
GOVERNING_RATIO = 3.0


def _labels(masses: Sequence[float], psi_p: float, psi_n: float, tol: float = 1e-6) -> list[str]:
    """Label components from the top by their masses (docs/theory.md §5); unique (a label that covers
    several components gets a suffix #1, #2, ... from the bottom)."""
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
    out = []
    for i, lab in enumerate(labels):
        count = labels.count(lab)
        out.append(lab if count == 1 else f"{lab}#{labels[:i].count(lab) + 1}")
    return out


def _base_label(label: str) -> str:
    return label.split("#")[0]


def timescales(eq: Equations, cst: Constants, spectrum: Spectrum, share_threshold: float = 0.01, *,
               ridge: float = 0.0) -> SpectralTimescales:
    """Spectral timescales of every support component (docs/theory.md §6.1).

    With a ridge lam the flow sees U + lam: every time is psi_p/(Delta_t (lambda + lam)) and a
    component's loss share is its part of the train-loss drop at tau = inf,
    int (lambda + 2 lam)/(lambda + lam)^2 dnu_s (int dnu_s/lambda at lam = 0).

    Examples
    --------
    >>> import rfdiff
    >>> m = rfdiff.RFModel(psi_p=64, psi_n=8, t=0.1)
    >>> ts = timescales(m.equations, m.constants, m.spectrum())
    >>> [c.label for c in ts.components]
    ['cluster', 'rho_1', 'rho_2']
    >>> round(ts.tau_mem_loss / ts.tau_mem, 1)
    2.7
    """
    if isinstance(share_threshold, bool) or not (isinstance(share_threshold, (int, float))
                                                 and 0 < share_threshold < 1):
        raise ValueError(f"share_threshold must be in (0, 1), got {share_threshold!r}")
    ridge = finite_nonnegative("ridge", ridge)
    sp = spectrum
    mu = loss_measure(eq, sp)
    drop = (mu.lam + 2.0 * ridge) / (mu.lam + ridge) ** 2
    per = np.bincount(mu.component, weights=mu.weight * drop, minlength=len(sp.support))
    shares = per / per.sum()
    labels = _labels(sp.masses, eq.psi_p, eq.psi_n)
    scale = eq.psi_p / cst.delta
    comps = tuple(
        SpectralComponent(label=lab, lo=lo, hi=hi, mass=mass, loss_share=float(share),
                          time=scale / (lo + ridge), time_fast=scale / (hi + ridge))
        for lab, (lo, hi), mass, share in zip(labels, sp.support, sp.masses, shares)
    )
    gen = [k for k, x in enumerate(comps) if _base_label(x.label) == "rho_2"]
    lam_gen_edge = min(comps[k].lo for k in gen)
    rho_q = _component_quadrature(eq, sp, 256, "q")
    in_gen = np.isin(rho_q.component, gen)
    lam_gen = float(np.sum(rho_q.weight[in_gen] * rho_q.lam[in_gen]) / np.sum(rho_q.weight[in_gen]))
    mem = [x for x in comps if _base_label(x.label) == "rho_1"] or \
          [x for x in comps if _base_label(x.label) == "rho_1+cluster"]
    lam_mem = min(x.lo for x in mem) if mem else None

    def rate(lam: float) -> float:
        return scale / (lam + ridge)

    heavy = [x for x in comps if x.loss_share >= share_threshold]
    lam_loss = min(heavy, key=lambda x: x.lo).lo
    flags: list[str] = []
    tau_mem = None if lam_mem is None else rate(lam_mem)
    memorizing = [x for x in comps if _base_label(x.label) != "rho_2"]
    governing = max(memorizing, key=lambda x: x.loss_share) if memorizing else None
    tau_gov = None if governing is None else rate(governing.lo)
    mismatch = False
    if tau_mem is None:
        flags.append("no memorization component in the spectrum (every component is population): tau_mem "
                     "is undefined")
    elif tau_gov is not None:
        ratio = max(tau_gov / tau_mem, tau_mem / tau_gov)
        mismatch = ratio > GOVERNING_RATIO
        if mismatch:
            flags.append(
                f"the headline tau_mem = {tau_mem:.3g} (lower edge of rho_1) differs by {ratio:.3g}x from "
                f"tau_mem_governing = {tau_gov:.3g}, the time of the component '{governing.label}' that "
                f"carries {100 * governing.loss_share:.4g} % of the train-loss drop and governs the "
                "memorization rise of L_gen")
    lam_asym = None if lam_mem is None else eq.s2 + eq.v2 * (1 - math.sqrt(eq.psi_p / eq.psi_n)) ** 2
    return SpectralTimescales(
        tau_gen=rate(lam_gen), lam_gen=lam_gen, tau_gen_edge=rate(lam_gen_edge),
        lam_gen_edge=lam_gen_edge, tau_mem=tau_mem, lam_mem=lam_mem,
        tau_mem_loss=rate(lam_loss), lam_mem_loss=lam_loss,
        tau_mem_asymptotic=None if lam_asym is None else rate(lam_asym), ridge=float(ridge),
        components=comps, share_threshold=float(share_threshold), tau_mem_governing=tau_gov,
        tau_mem_mismatch=bool(mismatch), flags=tuple(flags), equations=eq,
    )
