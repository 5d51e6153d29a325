r"""Self-gravitating particles with softening (SEGNN's gravity, Brandstetter et al. 2022).

:math:`a_i = G \sum_j m_j (x_j - x_i) / (|x_j - x_i|^2 + \epsilon^2)^{3/2}` with unit masses,
:math:`G = 1`, :math:`\epsilon = 0.1`; positions and velocities :math:`N(0, 1)` per coordinate with
the centre-of-mass velocity removed; kick-drift-kick leapfrog
(:mod:`fieldlab.simulators.leapfrog`), ``dt = 0.001``, 5000 steps, a frame every 100 steps
*including* frame 0 (50 frames).

The conserved energy is
:math:`E = \sum_i m_i |v_i|^2 / 2 - G \sum_{i<j} m_i m_j / \sqrt{|x_i - x_j|^2 + \epsilon^2}`,
see :func:`energy`.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from fieldlab.simulators import leapfrog
from fieldlab.simulators.blocks import to_blocks
from fieldlab.simulators.conservation import Conserved
from fieldlab.simulators.result import SimulationResult, assemble
from fieldlab.simulators.seeding import draw
from fieldlab.simulators.system import Params, System

BLOCK = 32
"""Simulations per block. Smaller blocks fall below the compiler's vector width times its unroll
factor and run the scalar remainder loop (measured 3x slower at 8); 100 particles x 3-D x 32
lanes still keeps a block's state (x, v, a: 230 kB) in L2."""


class GravityParams(Params):
    """SEGNN's gravity setting (the defaults)."""

    dim: int = Field(3, ge=2, le=3)
    n_particles: int = Field(100, ge=2)
    g: float = Field(1.0, gt=0.0, description="gravitational constant G")
    softening: float = Field(0.1, gt=0.0, description="softening length epsilon")
    mass: float = Field(1.0, gt=0.0, description="mass of every particle")
    loc_std: float = Field(1.0, gt=0.0)
    vel_std: float = Field(1.0, ge=0.0)
    remove_com_velocity: bool = True
    save_initial: bool = Field(True, description="save frame 0 (the initial state)")


def initial_gravity(raw: dict[str, np.ndarray], p: GravityParams) -> tuple[np.ndarray, ...]:
    """Gaussian positions and velocities ``(S, P, D)``; masses ``(S, P)``."""
    x = raw["position"] * p.loc_std
    v = raw["velocity"] * p.vel_std
    m = np.full(x.shape[:2], p.mass)
    if p.remove_com_velocity:
        v = v - (m[..., None] * v).sum(axis=1, keepdims=True) / m.sum(axis=1)[:, None, None]
    return x, v, m


def integrate_gravity(
    p: GravityParams,
    x0: np.ndarray,
    v0: np.ndarray,
    mass: np.ndarray,
    src_pos: np.ndarray,
    src_mass: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Blocked leapfrog run; ``src_pos (S, K, D)`` per simulation. Returns time, pos, vel."""
    n_sims = x0.shape[0]
    pos, vel = leapfrog.integrate(
        to_blocks(x0, BLOCK),
        to_blocks(v0, BLOCK),
        to_blocks(mass, BLOCK),
        to_blocks(src_pos, BLOCK),
        np.ascontiguousarray(src_mass, dtype=np.float64),
        p.g,
        p.softening,
        p.dt,
        p.n_steps,
        p.sample_every,
        p.save_initial,
        n_sims,
    )
    first = 0 if p.save_initial else 1
    time = p.dt * p.sample_every * np.arange(first, first + pos.shape[1])
    return time, pos, vel


def run(p: GravityParams, n_sims: int, seed: int, first_sim: int = 0) -> SimulationResult:
    shape = (p.n_particles, p.dim)
    raw = draw(
        seed, first_sim, n_sims, [("position", "normal", shape), ("velocity", "normal", shape)]
    )
    x, v, m = initial_gravity(raw, p)
    no_src = np.zeros((n_sims, 0, p.dim))
    time, pos, vel = integrate_gravity(p, x, v, m, no_src, np.zeros(0))
    variables = {"position": pos, "velocity": vel, "mass": m}
    return assemble("gravity", p, seed, first_sim, time, variables)


def energy(
    x: np.ndarray, v: np.ndarray, mass: np.ndarray, g: float, softening: float
) -> np.ndarray:
    """Total energy ``(...)`` of states ``x, v (..., P, D)`` with masses ``(..., P)``."""
    kinetic = 0.5 * (mass * (v**2).sum(-1)).sum(-1)
    r2 = ((x[..., :, None, :] - x[..., None, :, :]) ** 2).sum(-1) + softening**2
    mm = mass[..., :, None] * mass[..., None, :]
    iu = np.triu_indices(x.shape[-2], k=1)
    potential = -g * (mm / np.sqrt(r2))[..., iu[0], iu[1]].sum(-1)
    return kinetic + potential


def conserved(p: GravityParams) -> Conserved:
    """Softened Newtonian energy of equal masses, and momentum."""

    def total(x: np.ndarray, v: np.ndarray, q: np.ndarray | None) -> np.ndarray:
        return energy(x, v, np.full(x.shape[:-1], p.mass), p.g, p.softening)

    return Conserved(total, momentum=True, mass=p.mass)


SYSTEM = System(
    name="gravity",
    params=GravityParams,
    run=run,
    description="100 self-gravitating particles with softening (SEGNN), leapfrog",
    reference="Brandstetter et al. 2022, Geometric and Physical Quantities Improve E(3) "
    "Equivariant Message Passing",
    conserved=conserved,
)
