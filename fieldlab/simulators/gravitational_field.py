r"""Particles around one static gravitating mass (Aether's gravitational field, Kofinas et al. 2023).

Five unit-mass particles attract each other and a static source of mass :math:`M = 10` with softened
gravity (:math:`G = 1`, :math:`\epsilon = 0.1`), integrated by kick-drift-kick leapfrog. The source
position is :math:`N(0, 1)` per coordinate and *per simulation*, so every simulation has its own
field

.. math:: g(x) = G M (s - x) / (|s - x|^2 + \epsilon^2)^{3/2},

and the force the field exerts on particle ``i`` is :math:`m_i g(x_i)`. Particles start at
:math:`N(0, 1)` with velocities :math:`N(0, 1)`, centre-of-mass velocity (of the mobile particles)
removed, as in SEGNN's gravity code from which the setting derives. By default 49 frames (steps
100 .. 4900): 44 frames of context, 5 to predict.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from fieldlab.simulators.gravity import GravityParams, initial_gravity, integrate_gravity
from fieldlab.simulators.result import SimulationResult, assemble
from fieldlab.simulators.seeding import draw
from fieldlab.simulators.system import System


class GravitationalFieldParams(GravityParams):
    """Aether's gravitational-field setting (the defaults)."""

    n_particles: int = Field(5, ge=2)
    source_mass: float = Field(10.0, gt=0.0, description="mass M of the static source")
    source_std: float = Field(1.0, ge=0.0, description="std of the source position")
    save_initial: bool = False


def run(
    p: GravitationalFieldParams, n_sims: int, seed: int, first_sim: int = 0
) -> SimulationResult:
    shape = (p.n_particles, p.dim)
    spec = [
        ("position", "normal", shape),
        ("velocity", "normal", shape),
        ("source", "normal", (1, p.dim)),
    ]
    raw = draw(seed, first_sim, n_sims, spec)
    x, v, m = initial_gravity(raw, p)
    src = raw["source"] * p.source_std
    time, pos, vel = integrate_gravity(p, x, v, m, src, np.array([p.source_mass]))
    variables = {
        "position": pos,
        "velocity": vel,
        "mass": m,
        "source_position_per_sim": src,
        "source_mass": np.array([p.source_mass]),
    }
    return assemble("gravitational-field", p, seed, first_sim, time, variables)


def true_field(
    p: GravitationalFieldParams, points: np.ndarray, source_position: np.ndarray
) -> np.ndarray:
    """Acceleration field ``g(points)`` ``(..., D)`` of sources at ``source_position (K, D)``."""
    pts = np.asarray(points, dtype=np.float64)
    d = np.asarray(source_position)[None, :, :] - pts.reshape(-1, 1, p.dim)  # (N, K, D)
    r2 = (d**2).sum(-1, keepdims=True) + p.softening**2
    return (p.g * p.source_mass * d / r2**1.5).sum(-2).reshape(pts.shape)


SYSTEM = System(
    name="gravitational-field",
    params=GravitationalFieldParams,
    run=run,
    description="5 particles around a static mass placed at random per simulation (Aether)",
    reference="Kofinas et al. 2023, Latent Field Discovery in Interacting Dynamical Systems "
    "with Neural Fields",
    field=true_field,
    field_note="force on particle i = m_i g(x_i); the field differs per simulation "
    "(pass source_position)",
    field_scope="per_simulation",
)
