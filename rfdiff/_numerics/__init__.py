"""Private numerics layer of rfdiff: the kernels that the public layers share.

Nothing here is public API. The public modules (resolvent, spectrum, dynamics, twopoint, phases) import
from this package and from nothing else that is private:

* :mod:`.resolvent` — Theorem 3.1 in the shifted variable zeta = z - s_t^2, in the well-scaled form of
  ``docs/theory.md`` §4.4: the residuals and Jacobian, complex Newton, the Herglotz test, continuation
  from large Im z (one point, many points, along a contour).
* :mod:`.mp` — the Marchenko–Pastur Stieltjes transform and its divided differences, free of cancellation
  near w = 0 and at large |w|.
* :mod:`.twopoint` — the two-point kernels T(z1, z2) (isotropic closed form, anisotropic nested form).
* :mod:`.contours` — contour node strategies (Bernstein ellipses around support groups; one ellipse in
  log z around [s_t^2, upper bound]).
* :mod:`.losses` — the one loss assembly: L_train, L_test from nodes, weights, s and T.
* :mod:`.quadrature` — Clenshaw–Curtis and Gauss–Hermite rules.
* :mod:`.threads` — the Numba thread count for a block of kernel calls (``simulate``, ``generate``).
"""
