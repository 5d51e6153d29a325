"""Lay simulations out so that the compiler vectorises across them.

Kernels work on *blocks*: ``B`` simulations stored on the innermost (contiguous) axis, e.g. a
position block has shape ``(particle, space, B)``. Every arithmetic loop in a kernel then runs over
``B`` independent lanes with no reduction between them, which LLVM turns into SIMD code, and blocks
are independent, so ``prange`` spreads them over threads. A batch is padded to a whole number of
blocks by repeating its last simulation; padded lanes are computed and discarded.

Because every lane performs exactly the same IEEE operations, a simulation's result does not depend
on its block, its lane, or the number of threads.
"""

from __future__ import annotations

import numpy as np
from numba import njit


def to_blocks(a: np.ndarray, block: int) -> np.ndarray:
    """``(sim, *rest)`` -> ``(n_blocks, *rest, block)``, C-contiguous, padded with the last sim."""
    n = a.shape[0]
    n_blocks = -(-n // block)
    pad = n_blocks * block - n
    if pad:
        a = np.concatenate([a, np.repeat(a[-1:], pad, axis=0)], axis=0)
    a = a.reshape((n_blocks, block, *a.shape[1:]))
    return np.ascontiguousarray(np.moveaxis(a, 1, -1))


def from_blocks(a: np.ndarray, n_sims: int) -> np.ndarray:
    """Inverse of :func:`to_blocks`: ``(n_blocks, *rest, block)`` -> ``(n_sims, *rest)``."""
    a = np.moveaxis(a, -1, 1)
    return np.ascontiguousarray(a.reshape((-1, *a.shape[2:]))[:n_sims])


@njit(cache=True, error_model="numpy", inline="always")
def save_frame(pos, vel, x, v, b, k, n_sims):
    """Write block ``b``'s state ``x, v (P, D, B)`` as frame ``k`` of ``pos, vel (S, T, P, D)``,
    skipping the padded lanes of the last block."""
    n_p, n_d, n_b = x.shape
    for s in range(n_b):
        g = b * n_b + s
        if g < n_sims:
            for i in range(n_p):
                for d in range(n_d):
                    pos[g, k, i, d] = x[i, d, s]
                    vel[g, k, i, d] = v[i, d, s]
