"""Self-consistent resolvent equations for U (paper Theorem 3.1; docs/theory.md §4.2).

Convention: q(z) = (1/p) Tr (U - z)^{-1}, Im q > 0 for Im z > 0, q ~ -1/z.
With rho_Sigma = sum_k pi_k delta(lambda - lambda_k), the unknowns are the two
complex numbers (q, r); s follows from them:

    s_hat = b_t^2 psi_p + 1/q
    D     = 1 + (a_t^2 e^{-2t} psi_p/psi_n) r + (psi_p v_t^2/psi_n) q
    r_hat = psi_p a_t^2 e^{-2t} / D
    s = sum_k pi_k / (s_hat + lambda_k r_hat),   r = sum_k pi_k lambda_k / (s_hat + lambda_k r_hat)
    psi_p (s_t^2 - z) + psi_p v_t^2/D + (1 - psi_p)/q - s/q^2 = 0

The solver (a Numba kernel) works point by point along a vertical path
z_k = x + i y_k, y_0 large (where q ~ -1/z fixes the branch), y_k decreasing
geometrically to the target with an adaptive ratio: each step is a complex
Newton solve on (F1, G2) = (r - sum pi lambda T, q * (last equation)/psi_p),
accepted only if it converges in few iterations and satisfies the Herglotz
conditions sign Im q = sign Im r = sign Im(z q) = sign Im z. A rejected step is
retried with a smaller ratio. For real z the last step goes to Im z = 0 exactly,
giving the boundary value q(lambda + i0) of the Sokhotski–Plemelj formula.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numba
import numpy as np

from .errors import ResolventConvergenceError
from .io import Serializable

if TYPE_CHECKING:  # pragma: no cover
    from .constants import Constants
    from .model import RFModel

__all__ = ["Equations", "Resolvent", "ResolventConvergenceError", "solve"]

_EPS = np.finfo(np.float64).eps


@dataclass(frozen=True)
class Equations(Serializable):
    """Coefficients of the Theorem 3.1 system.

    Parameters
    ----------
    psi_p, psi_n : float
        p/d and n/d.
    a2e : float
        a_t^2 e^{-2t}.
    b2, v2, s2 : float
        b_t^2, v_t^2, s_t^2.
    data_values, data_weights : tuple of float
        rho_Sigma as atoms (lambda_k, pi_k).

    Any non-negative coefficients are allowed, which makes closed-form
    special cases testable (a2e = v2 = 0 gives a Marchenko–Pastur law).

    Examples
    --------
    >>> eq = Equations(psi_p=2.0, psi_n=1.0, a2e=0.0, b2=1.0, v2=0.0, s2=0.0)
    >>> round(eq.mean_eigenvalue, 12)
    1.0
    """

    psi_p: float
    psi_n: float
    a2e: float
    b2: float
    v2: float
    s2: float
    data_values: tuple[float, ...] = (1.0,)
    data_weights: tuple[float, ...] = (1.0,)

    def __post_init__(self) -> None:
        for name in ("psi_p", "psi_n"):
            val = float(getattr(self, name))
            if not (math.isfinite(val) and val > 0):
                raise ValueError(f"{name} must be a finite number > 0, got {val!r}")
        for name in ("a2e", "b2", "v2", "s2"):
            val = float(getattr(self, name))
            if not (math.isfinite(val) and val >= 0):
                raise ValueError(f"{name} must be a finite number >= 0, got {val!r}")
        if len(self.data_values) != len(self.data_weights) or not self.data_values:
            raise ValueError("data_values and data_weights must be non-empty and of equal length")

    @classmethod
    def from_constants(
        cls, psi_p: float, psi_n: float, constants: Constants,
        data_values: Sequence[float] = (1.0,), data_weights: Sequence[float] = (1.0,),
    ) -> Equations:
        """Build the system from Gaussian-equivalence constants (docs/theory.md §3)."""
        return cls(
            psi_p=float(psi_p), psi_n=float(psi_n), a2e=constants.a2e, b2=constants.b**2,
            v2=constants.v2, s2=constants.s2, data_values=tuple(map(float, data_values)),
            data_weights=tuple(map(float, data_weights)),
        )

    @classmethod
    def from_model(cls, model: RFModel) -> Equations:
        """Build the system of an :class:`~rfdiff.model.RFModel`."""
        return cls.from_constants(
            model.psi_p, model.psi_n, model.constants, model.data.values, model.data.weights
        )

    @property
    def lam(self) -> np.ndarray:
        return np.asarray(self.data_values, dtype=np.float64)

    @property
    def pi(self) -> np.ndarray:
        return np.asarray(self.data_weights, dtype=np.float64)

    @property
    def mean_eigenvalue(self) -> float:
        """(1/p) Tr U = s^2 + v^2 + b^2 + a^2 e^{-2t} sigma_x^2 (= ||sigma||^2 for a model)."""
        return self.s2 + self.v2 + self.b2 + self.a2e * float(self.lam @ self.pi)

    @property
    def upper_bound(self) -> float:
        """An upper bound on the spectrum of U in the limit, from operator norms.

        ||W||/sqrt(d) -> 1 + sqrt(psi_p), ||X||/sqrt(n) <= sqrt(lambda_max)(1 + psi_n^{-1/2}),
        ||Omega||/sqrt(n) -> 1 + sqrt(psi_p/psi_n) for the three terms of the
        Gaussian-equivalent U (docs/theory.md §3.3).
        """
        sp = math.sqrt(self.psi_p)
        g = (math.sqrt(self.a2e * max(self.data_values)) * (1 + sp) * (1 + 1 / math.sqrt(self.psi_n))
             + math.sqrt(self.v2) * (1 + math.sqrt(self.psi_p / self.psi_n)))
        return self.s2 + g * g + self.b2 * (1 + sp) ** 2

    def _args(self) -> tuple:
        c = self.psi_p * self.a2e
        return (
            self.psi_p, 1.0 / self.psi_p, c / self.psi_n, self.psi_p * self.v2 / self.psi_n, c,
            self.b2 * self.psi_p, self.v2, self.s2, self.lam, self.pi,
        )


@dataclass(frozen=True)
class Resolvent(Serializable):
    """Solution of Theorem 3.1 at an array of z, with diagnostics.

    Attributes
    ----------
    z : ndarray
        The points (complex).
    q, r, s : ndarray
        q = (1/p) Tr (U - z)^{-1} and the auxiliaries r, s of docs/theory.md §4.2.
    residual : ndarray
        Max of the relative residuals of the two equations at the returned value.
    iterations : ndarray
        Newton iterations spent along the continuation path.
    converged : ndarray of bool
        Newton converged at the target and every path step was accepted.
    branch_ok : ndarray of bool
        Herglotz check: sign Im q = sign Im r = sign Im(z q) = sign Im z (to roundoff).
    imag_used : ndarray
        Im z actually solved at: equals Im z except for real z at a square-root
        edge (within ~1e-28 relative), where the exact-axis step is ill-posed
        and the value at |Im z| ~ 1e-28 * scale is returned instead. Real z on an atom (a pole of
        q) is reported as not converged.
    """

    z: np.ndarray
    q: np.ndarray
    r: np.ndarray
    s: np.ndarray
    residual: np.ndarray
    iterations: np.ndarray
    converged: np.ndarray
    branch_ok: np.ndarray
    imag_used: np.ndarray

    @property
    def ok(self) -> np.ndarray:
        """converged & branch_ok."""
        return self.converged & self.branch_ok


# ---------------------------------------------------------------- numba kernels


@numba.njit(cache=True)
def _eval(q, r, z, pinv, alpha, beta, c, b2p, v2, s2, lam, pi):
    """F1, G2, the 2x2 Jacobian and the residual scales at (q, r, z)."""
    d = 1.0 + alpha * r + beta * q
    d2 = d * d
    rhat = c / d
    shat = b2p + 1.0 / q
    q2 = q * q
    ssum = 0j
    rsum = 0j
    dsq = 0j
    dsr = 0j
    drq = 0j
    drr = 0j
    rabs = 0.0  # sum of |terms|: the scale of rounding in the sums
    sabs = 0.0
    for k in range(lam.shape[0]):
        tk = 1.0 / (shat + lam[k] * rhat)
        t2 = tk * tk
        dtq = t2 * (1.0 / q2 + lam[k] * c * beta / d2)
        dtr = t2 * (lam[k] * c * alpha / d2)
        ssum += pi[k] * tk
        rsum += pi[k] * lam[k] * tk
        sabs += pi[k] * abs(tk)
        rabs += pi[k] * lam[k] * abs(tk)
        dsq += pi[k] * dtq
        dsr += pi[k] * dtr
        drq += pi[k] * lam[k] * dtq
        drr += pi[k] * lam[k] * dtr
    f1 = r - rsum
    t_a = (s2 - z) * q
    t_b = v2 * q / d
    t_c = pinv - 1.0
    t_d = ssum * pinv / q
    g2 = t_a + t_b + t_c - t_d
    j11 = -drq
    j12 = 1.0 - drr
    j21 = (s2 - z) + v2 / d - v2 * q * beta / d2 - dsq * pinv / q + ssum * pinv / q2
    j22 = -v2 * q * alpha / d2 - dsr * pinv / q
    sc1 = abs(r) + rabs
    sc2 = abs(t_a) + abs(t_b) + abs(t_c) + sabs * pinv / abs(q)
    return f1, g2, j11, j12, j21, j22, sc1, sc2, ssum


@numba.njit(cache=True)
def _newton(q, r, z, pinv, alpha, beta, c, b2p, v2, s2, lam, pi, maxit, rtol):
    """Complex Newton on (F1, G2) at fixed z. Returns q, r, s, residual, iterations, ok."""
    res = np.inf
    ssum = 0j
    for it in range(maxit + 1):
        f1, g2, j11, j12, j21, j22, sc1, sc2, ssum = _eval(
            q, r, z, pinv, alpha, beta, c, b2p, v2, s2, lam, pi)
        res = max(abs(f1) / max(sc1, 1e-300), abs(g2) / max(sc2, 1e-300))
        if not np.isfinite(res):
            return q, r, ssum, res, it, False
        if res <= rtol:
            # one more Newton step takes the O(rtol) residual down to rounding
            det = j11 * j22 - j12 * j21
            if det != 0:
                q2 = q + (-f1 * j22 + j12 * g2) / det
                r2 = r + (-j11 * g2 + f1 * j21) / det
                f1b, g2b, _a, _b, _c, _d, sc1b, sc2b, ssumb = _eval(
                    q2, r2, z, pinv, alpha, beta, c, b2p, v2, s2, lam, pi)
                res2 = max(abs(f1b) / max(sc1b, 1e-300), abs(g2b) / max(sc2b, 1e-300))
                if res2 <= res:
                    return q2, r2, ssumb, res2, it + 1, True
            return q, r, ssum, res, it, True
        if it == maxit:
            break
        det = j11 * j22 - j12 * j21
        if det == 0:
            return q, r, ssum, res, it, False
        dq = (-f1 * j22 + j12 * g2) / det
        dr = (-j11 * g2 + f1 * j21) / det
        q = q + dq
        r = r + dr
    return q, r, ssum, res, maxit, False


@numba.njit(cache=True)
def _branch_ok(q, r, z, sgn):
    """Herglotz: Im q, Im r, Im(z q) have the sign of Im z (to a roundoff margin)."""
    tol = 16.0 * 2.220446049250313e-16
    zq = z * q
    return (sgn * q.imag >= -tol * abs(q)
            and sgn * r.imag >= -tol * abs(r)
            and sgn * zq.imag >= -tol * abs(zq))


@numba.njit(cache=True)
def _solve_path(x, y_target, sgn, scale, mean_ev, m1, pinv, alpha, beta, c, b2p, v2, s2,
                lam, pi, rtol):
    """Continuation from x + i sgn Y down to x + i sgn y_target (y_target >= 0)."""
    y0 = 4.0 * (abs(x) + scale)
    maxit_step = 12
    total_it = 0
    if y_target >= y0:
        z = complex(x, sgn * y_target)
        q = 1.0 / (mean_ev - z)
        r = m1 * q
        q, r, s, res, it, ok = _newton(q, r, z, pinv, alpha, beta, c, b2p, v2, s2, lam, pi,
                                       60, rtol)
        good = ok and _branch_ok(q, r, z, sgn)
        return q, r, s, res, it, ok, good, y_target
    z = complex(x, sgn * y0)
    q = 1.0 / (mean_ev - z)
    r = m1 * q
    q, r, s, res, it, ok = _newton(q, r, z, pinv, alpha, beta, c, b2p, v2, s2, lam, pi, 60, rtol)
    total_it += it
    if not (ok and _branch_ok(q, r, z, sgn)):
        return q, r, s, res, total_it, False, False, y0
    y = y0
    ratio = 0.2
    y_floor = 1e-14 * scale          # last Im z tried before the exact-axis step
    real_target = y_target == 0.0
    stop = y_target if not real_target else y_floor
    n_fail = 0
    while True:
        if y <= stop:
            if not real_target:
                break
            # exact axis: Newton from the solution at the current y
            z = complex(x, 0.0)
            q1, r1, s1, res1, it, ok = _newton(q, r, z, pinv, alpha, beta, c, b2p, v2, s2,
                                               lam, pi, 60, rtol)
            total_it += it
            if ok and _branch_ok(q1, r1, z, 1.0):
                return q1, r1, s1, res1, total_it, True, True, 0.0
            if y > 1e-28 * scale:
                # near a square-root edge (distance delta) the axis step needs y << delta:
                # go further down and try again
                stop = y * 1e-3
                continue
            # at an edge itself the axis problem is singular: keep the value at this tiny y.
            # At an atom of weight w, y |q(x + iy)| -> w instead (and y |q| <= 1 always):
            # then q(x + i0) is infinite and the point is reported as not converged.
            at_pole = y * abs(q) > 1e-8
            return (q, r, s, res, total_it, not at_pole,
                    _branch_ok(q, r, complex(x, sgn * y), sgn), y)
        y_new = max(y * ratio, stop)
        z = complex(x, sgn * y_new)
        q1, r1, s1, res1, it, ok = _newton(q, r, z, pinv, alpha, beta, c, b2p, v2, s2, lam, pi,
                                           maxit_step, rtol)
        total_it += it
        if ok and _branch_ok(q1, r1, z, sgn):
            q, r, s, res, y = q1, r1, s1, res1, y_new
            ratio = max(ratio * ratio, 1e-3) if it <= 4 else ratio
        else:
            ratio = math.sqrt(ratio)
            n_fail += 1
            if ratio > 0.999 or n_fail > 200:
                return q, r, s, res, total_it, False, False, y
    return q, r, s, res, total_it, True, True, y


@numba.njit(cache=True)
def _solve_many(xs, ys, sgn, scale, mean_ev, m1, pinv, alpha, beta, c, b2p, v2, s2, lam, pi,
                rtol):
    n = xs.shape[0]
    q = np.empty(n, np.complex128)
    r = np.empty(n, np.complex128)
    s = np.empty(n, np.complex128)
    res = np.empty(n)
    its = np.empty(n, np.int64)
    conv = np.empty(n, np.bool_)
    br = np.empty(n, np.bool_)
    yused = np.empty(n)
    for i in range(n):
        out = _solve_path(xs[i], ys[i], sgn[i], scale, mean_ev, m1, pinv, alpha, beta, c, b2p,
                          v2, s2, lam, pi, rtol)
        q[i], r[i], s[i], res[i], its[i], conv[i], br[i], yused[i] = out
    return q, r, s, res, its, conv, br, yused


# ---------------------------------------------------------------- public solver


def solve(
    equations: Equations,
    z: complex | Sequence[complex] | np.ndarray,
    *,
    lower_half_plane: bool = False,
    on_failure: Literal["raise", "warn"] = "raise",
    rtol: float = 1e-14,
) -> Resolvent:
    """Solve Theorem 3.1 at every z (any shape) on the physical branch.

    Parameters
    ----------
    equations : Equations
        The system (see :meth:`Equations.from_model`).
    z : complex or array_like
        Spectral parameters. Im z > 0, or real (boundary value q(x + i0)).
        Im z < 0 is accepted only with ``lower_half_plane=True``; the solver then
        continues from x - iY, independently of the upper half plane.
    lower_half_plane : bool
        Allow Im z < 0.
    on_failure : {"raise", "warn"}
        On non-convergence or a failed branch check, raise
        :class:`ResolventConvergenceError` listing the offending z (default), or
        emit a ``RuntimeWarning`` and return the result with NaN at those z.
    rtol : float
        Relative residual at which Newton stops.

    Returns
    -------
    Resolvent
        q, r, s of the same shape as z, with diagnostics.

    Examples
    --------
    Marchenko–Pastur (only the b_t term): q solves psi q^2 z + (z + psi - 1) q + 1 = 0.

    >>> eq = Equations(psi_p=0.5, psi_n=1.0, a2e=0.0, b2=1.0, v2=0.0, s2=0.0)
    >>> res = solve(eq, 1.0 + 0.5j)
    >>> q = complex(res.q)
    >>> abs(0.5 * q * q * (1 + 0.5j) + (1 + 0.5j + 0.5 - 1) * q + 1) < 1e-13
    True
    """
    if on_failure not in ("raise", "warn"):
        raise ValueError(f"on_failure must be 'raise' or 'warn', got {on_failure!r}")
    zarr = np.asarray(z)
    if zarr.dtype == object or not np.issubdtype(zarr.dtype, np.number):
        raise ValueError(f"z must be numeric, got dtype {zarr.dtype}")
    zarr = zarr.astype(np.complex128)
    shape = zarr.shape
    flat = zarr.ravel()
    if not np.all(np.isfinite(flat)):
        raise ValueError("z must be finite (got NaN or inf)")
    if not lower_half_plane and np.any(flat.imag < 0):
        bad = flat[flat.imag < 0][0]
        raise ValueError(
            f"z must have Im z >= 0 (got Im z = {bad.imag:.3g} at z = {bad}); the lower half plane "
            "needs lower_half_plane=True (q(conj z) = conj q(z))"
        )
    sgn = np.where(flat.imag < 0, -1.0, 1.0)  # the path runs in the half plane of z: |Im z| = sgn Im z
    args = equations._args()
    lam, pi = args[8], args[9]
    scale = equations.upper_bound
    q, r, s, res, its, conv, br, yused = _solve_many(
        np.ascontiguousarray(flat.real), np.ascontiguousarray(sgn * flat.imag), sgn, scale,
        equations.mean_eigenvalue, float(lam @ pi), *args[1:8], lam, pi, float(rtol),
    )
    bad = ~(conv & br)
    if np.any(bad):
        msg = (f"resolvent solver failed at {int(bad.sum())} of {flat.size} points "
               f"(first: z = {flat[bad][0]}; converged={bool(conv[bad][0])}, "
               f"branch_ok={bool(br[bad][0])})")
        if on_failure == "raise":
            raise ResolventConvergenceError(msg, flat[bad].reshape(-1))
        warnings.warn(msg, RuntimeWarning, stacklevel=2)
        q = np.where(bad, np.nan + 0j, q)
        r = np.where(bad, np.nan + 0j, r)
        s = np.where(bad, np.nan + 0j, s)
    return Resolvent(
        z=zarr, q=q.reshape(shape), r=r.reshape(shape), s=s.reshape(shape),
        residual=res.reshape(shape), iterations=its.reshape(shape), converged=conv.reshape(shape),
        branch_ok=br.reshape(shape), imag_used=(sgn * yused).reshape(shape),
    )
