"""Seeds of the simulator (private layer).

A ``seed`` (int >= 0 or a numpy ``SeedSequence``) is spawned into independent streams, one per
use: W, X, the noise of :func:`rfdiff.simulate.correlation_matrices` (Monte Carlo draws or the
Gaussian-equivalent Omega), the fresh noise of :func:`rfdiff.simulate.train` and its mini-batch
order. So W and X are the same for every noise mode and every optimizer, the fixed draws of
``train(noise=m)`` are those of ``correlation_matrices(noise=m)``, and nothing depends on the
thread count. Child i of a seed is SeedSequence(entropy, spawn_key=(*spawn_key, i)), which is what
``SeedSequence(seed).spawn(k)[i]`` gives for an int seed.
"""

from __future__ import annotations

import numpy as np

__all__ = ["STREAM_INDEX", "check_seed", "child", "stream"]

#: position of each use among the children of the seed's SeedSequence (never reorder: it fixes the draws)
STREAM_INDEX = {"W": 0, "X": 1, "noise": 2, "train": 3, "batch": 4}


def check_seed(seed: object) -> np.random.SeedSequence:
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0 or a numpy SeedSequence, got {seed!r}")
    return np.random.SeedSequence(int(seed))


def child(seed: object, index: int) -> np.random.SeedSequence:
    """The ``index``-th child of ``seed``'s SeedSequence, without mutating it.

    ``SeedSequence.spawn`` advances the parent's child counter, so spawning from a caller's
    SeedSequence at every use would give other draws on each call. The child is built from the
    parent's entropy and spawn key instead: the same as ``SeedSequence(seed).spawn(k)[index]`` for
    an int seed, and a pure function of the parent for a SeedSequence.
    """
    ss = check_seed(seed)
    return np.random.SeedSequence(ss.entropy, spawn_key=(*ss.spawn_key, index), pool_size=ss.pool_size)


def stream(seed: object, name: str) -> np.random.Generator:
    """Independent generator for one use of ``seed`` (W, X, noise or train)."""
    return np.random.Generator(np.random.PCG64(child(seed, STREAM_INDEX[name])))
