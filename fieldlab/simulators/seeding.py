"""Per-simulation random streams.

Simulation ``i`` of a batch seeded with ``seed`` draws from
``SeedSequence(seed, spawn_key=(i,))``: its initial state depends on ``(seed, i)`` alone, never on
how many simulations share its batch, which batch it is in, or how many threads run.

A system declares the raw draws it needs per simulation (a :data:`DrawSpec`); :func:`draw` makes
them, stacked along a leading ``sim`` axis, and the system turns them into an initial state with
vectorised NumPy. Keeping the per-simulation Python work to a generator and a couple of calls keeps
drawing cheap next to the kernels (a few microseconds per simulation).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

DrawSpec = Sequence[tuple[str, Literal["normal", "uniform"], tuple[int, ...]]]
"""``(name, distribution, shape)`` per raw draw, in the order they are taken from the stream."""


def simulation_rng(seed: int, sim: int) -> np.random.Generator:
    """The generator of simulation ``sim`` of the batch seeded with ``seed``."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(sim,))))


def draw(seed: int, first_sim: int, n_sims: int, spec: DrawSpec) -> dict[str, np.ndarray]:
    """Raw draws for simulations ``first_sim .. first_sim + n_sims - 1``, each ``(n_sims, *shape)``.

    ``normal`` is the standard normal, ``uniform`` is uniform on ``[0, 1)``.
    """
    out = {name: np.empty((n_sims, *shape)) for name, _, shape in spec}
    for k in range(n_sims):
        rng = simulation_rng(seed, first_sim + k)
        for name, dist, shape in spec:
            out[name][k] = rng.standard_normal(shape) if dist == "normal" else rng.random(shape)
    return out


def unit_vectors(z: np.ndarray) -> np.ndarray:
    """Normalise Gaussian draws ``(..., dim)`` to directions uniform on the sphere."""
    return z / np.linalg.norm(z, axis=-1, keepdims=True)


def categorical(u: np.ndarray, values: Sequence[float], probs: Sequence[float]) -> np.ndarray:
    """Map uniforms ``u`` to ``values`` with probabilities ``probs`` (inverse CDF).

    A value of probability zero is never drawn.
    """
    cdf = np.cumsum(probs)
    cdf[-1] = 1.0
    idx = np.searchsorted(cdf, u, side="right")
    return np.asarray(values, dtype=np.float64)[np.minimum(idx, len(values) - 1)]
