"""Each reference system's initial state, drawn exactly as its run function draws it, for NumPy
reference implementations (:mod:`.numpy_reference`) to start from the same state."""

from __future__ import annotations

import numpy as np

from fieldlab.simulators import charged, gravity, resolve_params, springs
from fieldlab.simulators.seeding import draw


def charged_initial(system: str, params: dict, n: int, seed: int):
    """The initial state (x0, v0, charge, coupling) the symplectic-Euler systems start from."""
    p = resolve_params(system, params)
    if system == "springs":
        raw = draw(
            seed, 0, n, [*springs.trajectory_draws(p), ("spring", "uniform", (p.n_particles,) * 2)]
        )
        return p, springs.initial_springs(raw, p)
    return p, charged.initial_charged(draw(seed, 0, n, charged.charged_draws(p)), p)


def gravity_initial(system: str, params: dict, n: int, seed: int):
    p = resolve_params(system, params)
    shape = (p.n_particles, p.dim)
    spec = [("position", "normal", shape), ("velocity", "normal", shape)]
    if system == "gravitational-field":
        spec.append(("source", "normal", (1, p.dim)))
    raw = draw(seed, 0, n, spec)
    x, v, m = gravity.initial_gravity(raw, p)
    src = raw["source"] * p.source_std if "source" in raw else np.zeros((n, 0, p.dim))
    return p, x, v, m, src
