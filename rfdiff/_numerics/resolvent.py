"""Theorem 3.1 kernels: residuals, Newton, Herglotz test, continuation (docs/theory.md §4.4).

The system is written in the shifted variable zeta = z - s_t^2 (U >= s_t^2 I, so all the structure of
the spectrum lives at zeta >= 0 and stays resolvable in float64 when it is far below the resolution of
lambda near s_t^2, as at t >= 3 where v_t^2 ~ 1e-16 s_t^2) and in the well-scaled form

    D   = 1 + gamma (a2e r + v2 q),                  gamma = psi_p / psi_n
    D_k = b2 + lambda_k a2e / D,   h_k = 1 / (1 + psi_p q D_k)
    F1  = r - q sum_k pi_k lambda_k h_k                                     (= 0)
    G2  = -zeta q + v2 q / D - 1 + q sum_k pi_k D_k h_k                     (= 0)
    s   = q sum_k pi_k h_k,

obtained from Theorem 3.1 by multiplying its last equation by q/psi_p and writing
1 - s/q = sum_k pi_k psi_p q D_k h_k exactly: no term of order 1/psi_p is left to cancel (the original
form loses eps/psi_p relative precision as psi_p -> 0). Every function is a Numba kernel; the equation
coefficients travel as one :data:`Coefficients` named tuple.
"""

from __future__ import annotations

import math
from collections import namedtuple

import numba
import numpy as np

#: Coefficients of the system as the kernels read them (built by ``Equations.coefficients()``).
#: ``scale``: an upper bound of the spectrum of U (sets the start of the continuation);
#: ``mean_shift``: (1/p) Tr U - s_t^2 and ``m1``: sum_k pi_k lambda_k (the large-|z| initial guess).
Coefficients = namedtuple(
    "Coefficients", ["psi_p", "gamma", "a2e", "b2", "v2", "lam", "pi", "scale", "mean_shift", "m1"]
)

_TOL_BRANCH = 16.0 * 2.220446049250313e-16


@numba.njit(cache=True)
def evaluate(q, r, zeta, co):
    """F1, G2, the Jacobian d(F1, G2)/d(q, r), the residual scales and s at (q, r, zeta)."""
    psi_p = co.psi_p
    gamma = co.gamma
    a2e = co.a2e
    b2 = co.b2
    v2 = co.v2
    lam = co.lam
    pi = co.pi
    D = 1.0 + gamma * (a2e * r + v2 * q)
    D2 = D * D
    L = 0j
    dLq = 0j
    dLr = 0j
    H = 0j
    Us = 0j
    dUq = 0j
    dUr = 0j
    labs = 0.0
    uabs = 0.0
    for k in range(lam.shape[0]):
        Dk = b2 + lam[k] * a2e / D
        dDk_q = -lam[k] * a2e * gamma * v2 / D2
        dDk_r = -lam[k] * a2e * gamma * a2e / D2
        h = 1.0 / (1.0 + psi_p * q * Dk)
        hh = h * h
        dh_q = -hh * psi_p * (Dk + q * dDk_q)
        dh_r = -hh * psi_p * q * dDk_r
        u = Dk * h
        L += pi[k] * lam[k] * h
        dLq += pi[k] * lam[k] * dh_q
        dLr += pi[k] * lam[k] * dh_r
        H += pi[k] * h
        Us += pi[k] * u
        dUq += pi[k] * (hh * dDk_q - psi_p * Dk * Dk * hh)
        dUr += pi[k] * hh * dDk_r
        labs += pi[k] * lam[k] * abs(h)
        uabs += pi[k] * abs(u)
    f1 = r - q * L
    t_v = v2 * q / D
    g2 = -zeta * q + t_v - 1.0 + q * Us
    j11 = -L - q * dLq
    j12 = 1.0 - q * dLr
    j21 = -zeta + v2 / D - t_v * gamma * v2 / D + Us + q * dUq
    j22 = -t_v * gamma * a2e / D + q * dUr
    sc1 = abs(r) + abs(q) * labs
    sc2 = abs(zeta * q) + abs(t_v) + 1.0 + abs(q) * uabs
    return f1, g2, j11, j12, j21, j22, sc1, sc2, q * H


@numba.njit(cache=True)
def zeta_of(q, r, co):
    """The zeta at which (q, r) solves G2 = 0 given F1 = 0 (the inverse map): v2/D - 1/q + sum pi D_k h_k."""
    D = 1.0 + co.gamma * (co.a2e * r + co.v2 * q)
    Us = 0j
    for k in range(co.lam.shape[0]):
        Dk = co.b2 + co.lam[k] * co.a2e / D
        Us += co.pi[k] * Dk / (1.0 + co.psi_p * q * Dk)
    return co.v2 / D - 1.0 / q + Us


@numba.njit(cache=True)
def newton(q, r, zeta, co, maxit, rtol):
    """Complex Newton on (F1, G2) at fixed zeta. Returns q, r, s, residual, iterations, converged."""
    res = np.inf
    s = 0j
    for it in range(maxit + 1):
        f1, g2, j11, j12, j21, j22, sc1, sc2, s = evaluate(q, r, zeta, co)
        res = max(abs(f1) / max(sc1, 1e-300), abs(g2) / max(sc2, 1e-300))
        if not np.isfinite(res):
            return q, r, s, res, it, False
        if res <= rtol:
            # one more step takes the O(rtol) residual down to rounding
            det = j11 * j22 - j12 * j21
            if det != 0:
                q2 = q + (-f1 * j22 + j12 * g2) / det
                r2 = r + (-j11 * g2 + f1 * j21) / det
                f1b, g2b, _a, _b, _c, _d, sc1b, sc2b, s2b = evaluate(q2, r2, zeta, co)
                res2 = max(abs(f1b) / max(sc1b, 1e-300), abs(g2b) / max(sc2b, 1e-300))
                if res2 <= res:
                    return q2, r2, s2b, res2, it + 1, True
            return q, r, s, res, it, True
        if it == maxit:
            break
        det = j11 * j22 - j12 * j21
        if det == 0:
            return q, r, s, res, it, False
        q = q + (-f1 * j22 + j12 * g2) / det
        r = r + (-j11 * g2 + f1 * j21) / det
    return q, r, s, res, maxit, False


@numba.njit(cache=True)
def branch_ok(q, r, zeta, sgn):
    """Herglotz: Im q, Im r and Im(zeta q) carry the sign of Im z (to a roundoff margin).

    Im(zeta q) >= 0 because the spectrum of U - s_t^2 I is >= 0; it implies Im(z q) >= 0.
    """
    zq = zeta * q
    return (sgn * q.imag >= -_TOL_BRANCH * abs(q)
            and sgn * r.imag >= -_TOL_BRANCH * abs(r)
            and sgn * zq.imag >= -_TOL_BRANCH * abs(zq))


#: status codes of :func:`solve_path`
OK = 0
NOT_CONVERGED = 1
BRANCH = 2
INFINITE = 3  # the boundary value on the real axis is infinite (an atom, or a 1/sqrt hard edge)


@numba.njit(cache=True)
def solve_path(x, y_target, sgn, co, rtol):
    """Continuation from zeta = x + i sgn Y down to x + i sgn y_target (y_target >= 0).

    Returns q, r, s, residual, iterations, status, imag_used. For a real target the last step goes to
    Im zeta = 0 exactly (the boundary value q(x + i0)); next to a square-root edge it is retried at
    smaller Im zeta, and at an edge itself the value at Im zeta ~ 1e-28 |x| is kept (``imag_used``).
    If |q| keeps growing as Im zeta -> 0 (an atom: |q| ~ w/y, or a 1/sqrt hard edge), the boundary
    value is infinite and the status is INFINITE.
    """
    y0 = 4.0 * (abs(x) + co.scale)
    total_it = 0
    if y_target >= y0:
        zeta = complex(x, sgn * y_target)
        q = 1.0 / (co.mean_shift - zeta)
        r = co.m1 * q
        q, r, s, res, it, ok = newton(q, r, zeta, co, 60, rtol)
        if not ok:
            return q, r, s, res, it, NOT_CONVERGED, y_target
        if not branch_ok(q, r, zeta, sgn):
            return q, r, s, res, it, BRANCH, y_target
        return q, r, s, res, it, OK, y_target
    zeta = complex(x, sgn * y0)
    q = 1.0 / (co.mean_shift - zeta)
    r = co.m1 * q
    q, r, s, res, it, ok = newton(q, r, zeta, co, 60, rtol)
    total_it += it
    if not ok:
        return q, r, s, res, total_it, NOT_CONVERGED, y0
    if not branch_ok(q, r, zeta, sgn):
        return q, r, s, res, total_it, BRANCH, y0
    y = y0
    ratio = 0.2
    real_target = y_target == 0.0
    # below this Im zeta a real x cannot be told from its float64 neighbours any more (x itself is exact)
    ref = abs(x) if x != 0.0 else co.scale * 1e-30
    y_floor = 1e-14 * ref
    y_last = 1e-28 * ref
    stop = y_target if not real_target else y_floor
    q_prev = q
    y_prev = y
    n_fail = 0
    while True:
        if y <= stop:
            if not real_target:
                break
            zeta = complex(x, 0.0)
            q1, r1, s1, res1, it, ok = newton(q, r, zeta, co, 60, rtol)
            total_it += it
            if ok and branch_ok(q1, r1, zeta, 1.0):
                return q1, r1, s1, res1, total_it, OK, 0.0
            if y > y_last:
                stop = max(y * 1e-3, y_last)
                continue
            # the axis problem is singular here: an edge (q finite) or an infinite boundary value.
            # |q| ~ y^-e between the last two accepted steps: e ~ 1 at an atom, 1/2 at a hard edge,
            # e ~ 0 at a square-root edge (the value at this tiny y is then kept).
            growth = math.log(abs(q) / abs(q_prev)) / math.log(y_prev / y) if y_prev > y else 0.0
            if growth > 0.25:
                return q, r, s, res, total_it, INFINITE, y
            if not branch_ok(q, r, complex(x, sgn * y), sgn):
                return q, r, s, res, total_it, BRANCH, y
            return q, r, s, res, total_it, OK, y
        y_new = max(y * ratio, stop)
        zeta = complex(x, sgn * y_new)
        q1, r1, s1, res1, it, ok = newton(q, r, zeta, co, 12, rtol)
        total_it += it
        if ok and branch_ok(q1, r1, zeta, sgn):
            q_prev, y_prev = q, y
            q, r, s, res, y = q1, r1, s1, res1, y_new
            ratio = max(ratio * ratio, 1e-3) if it <= 4 else ratio
        else:
            ratio = math.sqrt(ratio)
            n_fail += 1
            if ratio > 0.999 or n_fail > 200:
                return q, r, s, res, total_it, NOT_CONVERGED, y
    return q, r, s, res, total_it, OK, y


@numba.njit(cache=True)
def solve_many(xs, ys, sgn, co, rtol):
    """:func:`solve_path` at every (xs[i], ys[i]) with Im sign sgn[i]."""
    n = xs.shape[0]
    q = np.empty(n, np.complex128)
    r = np.empty(n, np.complex128)
    s = np.empty(n, np.complex128)
    res = np.empty(n)
    its = np.empty(n, np.int64)
    status = np.empty(n, np.int64)
    yused = np.empty(n)
    for i in range(n):
        out = solve_path(xs[i], ys[i], sgn[i], co, rtol)
        q[i], r[i], s[i], res[i], its[i], status[i], yused[i] = out
    return q, r, s, res, its, status, yused


@numba.njit(cache=True)
def march(zeta, co, rtol):
    """Theorem 3.1 along nodes zeta[0..m-1] of an upper half-contour (Im zeta >= 0).

    Newton from the previous node's solution; :func:`solve_path` (continuation from far above) at the
    first node and wherever Newton fails or leaves the physical branch. Returns q, r, s, the residuals,
    the number of fallbacks and the index of the first node where the fallback failed too (-1 if none).
    """
    m = zeta.shape[0]
    q = np.empty(m, np.complex128)
    r = np.empty(m, np.complex128)
    s = np.empty(m, np.complex128)
    res = np.empty(m)
    fallbacks = 0
    for k in range(m):
        ok = False
        if k > 0:
            q1, r1, s1, res1, _it, conv = newton(q[k - 1], r[k - 1], zeta[k], co, 12, rtol)
            ok = conv and branch_ok(q1, r1, zeta[k], 1.0)
        if not ok:
            if k > 0:
                fallbacks += 1
            out = solve_path(zeta[k].real, zeta[k].imag, 1.0, co, rtol)
            q1, r1, s1, res1 = out[0], out[1], out[2], out[3]
            if out[5] != OK:
                return q, r, s, res, fallbacks, k
        q[k] = q1
        r[k] = r1
        s[k] = s1
        res[k] = res1
    return q, r, s, res, fallbacks, -1
