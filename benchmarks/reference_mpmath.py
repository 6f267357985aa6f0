"""High-precision reference for rho(lam) (mpmath), independent of rfdiff's solver.

Theorem 3.1 (docs/theory.md §4.2) with the two complex unknowns (q, r) (s follows from them) is solved
with mpmath at ``dps`` working digits (default 40, answers good to ~30 digits) by Newton's method
with a central-difference Jacobian (the equations are holomorphic in q and r, so a real step gives
the complex derivative; the h^2 error is below 10^-dps). The physical branch is reached by
continuation along the vertical line z = lam + i y, from y = 100 (where q ~ -1/z) down to
y = 1e-30 with an adaptive geometric step, and every accepted step must satisfy Herglotz:
Im q > 0, Im r > 0 and Im(z q) > 0 (the spectrum lies in [0, inf)). At y = 1e-30 the density is
Im q / pi to ~30 digits (the ε correction is O(1e-30)), and outside the support it is ~1e-30.

The equation coefficients are the double-precision numbers the other two methods use, taken
exactly, so the comparison measures the solvers and not the Gaussian-equivalence constants.
"""

from __future__ import annotations

from dataclasses import dataclass

import mpmath as mp

__all__ = ["ReferencePoint", "reference_point"]


@dataclass(frozen=True)
class ReferencePoint:
    lam: float
    rho: float                 # Im q / pi at y_final, rounded to double
    q: complex
    r: complex
    y_final: float
    residual: float            # relative residual at the final point
    steps: int                 # accepted continuation steps
    herglotz: bool             # Im q > 0, Im r > 0, Im(z q) > 0 at the final point
    rho_at: dict[float, float] # Im q / pi at the intermediate heights asked for (``also_at``)


def _system(q, r, z, cf, lk, pk):
    """Residuals (F1, F2) and their scales at (q, r, z) (mp.mpc arithmetic)."""
    s_hat = cf.b2 * cf.psi_p + 1 / q
    d = 1 + (cf.a2e * cf.psi_p / cf.psi_n) * r + (cf.psi_p * cf.v2 / cf.psi_n) * q
    r_hat = cf.psi_p * cf.a2e / d
    s_sum = mp.mpc(0)
    r_sum = mp.mpc(0)
    for lam_k, pi_k in zip(lk, pk, strict=True):
        tk = 1 / (s_hat + lam_k * r_hat)
        s_sum += pi_k * tk
        r_sum += pi_k * lam_k * tk
    f1 = r - r_sum
    terms = (cf.psi_p * (cf.s2 - z), cf.psi_p * cf.v2 / d, (1 - cf.psi_p) / q, -s_sum / (q * q))
    f2 = mp.fsum(terms)
    sc1 = abs(r) + abs(r_sum)
    sc2 = mp.fsum(abs(x) for x in terms)
    return f1, f2, sc1, sc2


def _newton(q, r, z, cf, lk, pk, tol, maxit):
    """Newton on (F1, F2); returns (q, r, relative residual, iterations, converged)."""
    h = mp.mpf(10) ** (-(mp.mp.dps // 2))
    res = mp.inf
    for it in range(maxit + 1):
        f1, f2, sc1, sc2 = _system(q, r, z, cf, lk, pk)
        res = max(abs(f1) / sc1, abs(f2) / sc2)
        if not mp.isfinite(res):
            return q, r, res, it, False
        if res <= tol:
            return q, r, res, it, True
        if it == maxit:
            break
        hq = h * (1 + abs(q))
        hr = h * (1 + abs(r))
        a1, a2, _, _ = _system(q + hq, r, z, cf, lk, pk)
        b1, b2, _, _ = _system(q - hq, r, z, cf, lk, pk)
        c1, c2, _, _ = _system(q, r + hr, z, cf, lk, pk)
        e1, e2, _, _ = _system(q, r - hr, z, cf, lk, pk)
        j11, j21 = (a1 - b1) / (2 * hq), (a2 - b2) / (2 * hq)
        j12, j22 = (c1 - e1) / (2 * hr), (c2 - e2) / (2 * hr)
        det = j11 * j22 - j12 * j21
        if det == 0:
            return q, r, res, it, False
        q = q + (-f1 * j22 + j12 * f2) / det
        r = r + (-j11 * f2 + f1 * j21) / det
    return q, r, res, maxit, False


def _herglotz(q, r, z):
    return q.imag > 0 and r.imag > 0 and (z * q).imag > 0


def reference_point(lam: float, cf, *, dps: int = 40, y_start: float = 100.0,
                    y_final: float = 1e-30, also_at: tuple[float, ...] = ()) -> ReferencePoint:
    """rho(lam) to ~30 digits by continuation from lam + i y_start to lam + i y_final.

    ``cf`` has the fields of :class:`baseline_published.Coefficients`. The path stops exactly at
    every height in ``also_at`` on the way and records Im q / pi there (e.g. 1e-9, the height at
    which the published approach reads the density).
    """
    with mp.workdps(dps):
        cfm = _MpCoefficients(cf)
        lk = [mp.mpf(x) for x in cf.data_values]
        pk = [mp.mpf(x) for x in cf.data_weights]
        mean_lam = mp.fsum(a * b for a, b in zip(lk, pk, strict=True))
        tol = mp.mpf(10) ** (-(dps - 6))
        x = mp.mpf(lam)
        y = mp.mpf(y_start)
        y_end = mp.mpf(y_final)
        z = mp.mpc(x, y)
        q, r, res, _, ok = _newton(-1 / z, -mean_lam / z, z, cfm, lk, pk, tol, 60)
        if not (ok and _herglotz(q, r, z)):
            raise RuntimeError(f"reference: no physical start at lam = {lam}")
        stops = sorted((mp.mpf(v) for v in also_at if y_final < v < y_start), reverse=True)
        rho_at = {}
        ratio = mp.mpf("0.5")
        steps = 0
        while y > y_end:
            y_new = max(y * ratio, stops[0] if stops else y_end)
            z = mp.mpc(x, y_new)
            q1, r1, res1, its, ok = _newton(q, r, z, cfm, lk, pk, tol, 12)
            if ok and _herglotz(q1, r1, z):
                q, r, res, y = q1, r1, res1, y_new
                steps += 1
                if stops and y == stops[0]:
                    rho_at[float(stops.pop(0))] = float(q.imag / mp.pi)
                if its <= 5:
                    ratio = max(ratio * ratio, mp.mpf("1e-4"))
            else:
                ratio = mp.sqrt(ratio)
                if ratio > mp.mpf("0.999"):
                    raise RuntimeError(f"reference: continuation stalled at lam = {lam}, y = {y}")
        rho = q.imag / mp.pi
        return ReferencePoint(
            lam=float(lam), rho=float(rho), q=complex(q), r=complex(r), y_final=float(y),
            residual=float(res), steps=steps, herglotz=bool(_herglotz(q, r, z)), rho_at=rho_at,
        )


class _MpCoefficients:
    """The coefficients as mpf (exact copies of the doubles)."""

    def __init__(self, cf) -> None:
        for name in ("psi_p", "psi_n", "a2e", "b2", "v2", "s2"):
            setattr(self, name, mp.mpf(getattr(cf, name)))
