"""One draw of the problem: the weights W and the data X (docs/simulate.md, "Conventions").

Data. x^nu ~ N(0, Sigma) with Sigma **diagonal in the standard basis**: the
eigenvalues lambda_k of ``model.data`` are assigned to consecutive coordinates, in
the order given, with multiplicities round(w_k d) (largest remainders, summing to
d). Because W has i.i.d. Gaussian entries its law is rotation invariant, so this is
equivalent in distribution to a random orthogonal basis.
"""

from __future__ import annotations

import numpy as np

from ..model import RFModel
from ._seeding import stream
from ._validate import check_int, check_model, sizes

__all__ = ["data_covariance", "sample_problem"]


def data_covariance(model: RFModel, d: int) -> np.ndarray:
    """Diagonal of the data covariance Sigma used at dimension d (see module notes).

    Atom k of ``model.data`` gets round(w_k d) consecutive coordinates (largest
    remainders, total d).

    Examples
    --------
    >>> import rfdiff
    >>> m = rfdiff.RFModel(2, 1, 0.1, data=rfdiff.DataSpectrum([0.5, 1.5], [0.5, 0.5]))
    >>> data_covariance(m, 4).tolist()
    [0.5, 0.5, 1.5, 1.5]
    """
    check_model(model)
    d = check_int("d", d, 1)
    lam, w = model.data.lam, model.data.w
    raw = w * d
    counts = np.floor(raw).astype(np.int64)
    short = d - int(counts.sum())
    if short > 0:
        counts[np.argsort(-(raw - counts), kind="stable")[:short]] += 1
    return np.repeat(lam, counts)


def sample_problem(
    model: RFModel, d: int, seed: int | np.random.SeedSequence = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Draw W (p x d, N(0, 1) entries) and X (n x d, rows ~ N(0, Sigma)) for ``seed``.

    p = round(psi_p d), n = round(psi_n d) (halves round up).

    Examples
    --------
    >>> import rfdiff
    >>> W, X = sample_problem(rfdiff.RFModel(psi_p=2, psi_n=1, t=0.1), d=5, seed=0)
    >>> W.shape, X.shape
    ((10, 5), (5, 5))
    """
    check_model(model)
    d = check_int("d", d, 1)
    p, n = sizes(model, d)
    W = stream(seed, "W").standard_normal((p, d))
    X = stream(seed, "X").standard_normal((n, d)) * np.sqrt(data_covariance(model, d))
    return W, X
