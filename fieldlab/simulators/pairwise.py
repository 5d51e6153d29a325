"""Shared machinery of the symplectic-Euler systems (charged, springs, external fields).

A system supplies its parameters, a function that draws one simulation's initial state from that
simulation's own generator, and its :class:`~fieldlab.simulators.symplectic_euler.ForceModel`;
:func:`run_symplectic` does the batching, blocking, integration and bookkeeping.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np
from pydantic import Field

from fieldlab.simulators import symplectic_euler
from fieldlab.simulators.blocks import to_blocks
from fieldlab.simulators.result import SimulationResult, assemble
from fieldlab.simulators.seeding import DrawSpec, draw, unit_vectors
from fieldlab.simulators.system import Params

BLOCK = 32
"""Simulations per vectorised block (a multiple of every SIMD width, so no scalar remainder runs)."""

EMPTY = np.zeros(0)


class PairwiseParams(Params):
    """Initial-state and force-cap parameters common to NRI-style systems."""

    loc_std: float = Field(1.0, gt=0.0, description="std of initial positions per coordinate")
    vel_norm: float = Field(0.5, ge=0.0, description="norm of each initial velocity")
    strength: float = Field(1.0, description="interaction strength k")
    max_force: float = Field(100.0, gt=0.0, description="force cap (0.1 / dt in NRI)")


class InitialState(NamedTuple):
    """Initial states of a batch: position, velocity ``(S, P, D)``, charge ``(S, P)``,
    pair coupling ``(S, P, P)``, and the per-simulation variables to save (name -> array)."""

    position: np.ndarray
    velocity: np.ndarray
    charge: np.ndarray
    coupling: np.ndarray
    saved: dict[str, np.ndarray]


def check_probabilities(values: tuple[float, ...], probs: tuple[float, ...], what: str) -> None:
    """Raise unless ``probs`` matches ``values`` in length, is non-negative and sums to 1."""
    if len(values) != len(probs):
        raise ValueError(
            f"{what}_values has {len(values)} entries but {what}_probs has {len(probs)}"
        )
    if min(probs) < 0 or not np.isclose(sum(probs), 1.0):
        raise ValueError(f"{what}_probs must be non-negative and sum to 1, got {probs}")


def trajectory_draws(p: PairwiseParams) -> list[tuple[str, str, tuple[int, ...]]]:
    """Raw draws for positions and velocity directions (see :mod:`fieldlab.simulators.seeding`)."""
    shape = (p.n_particles, p.dim)
    return [("position", "normal", shape), ("velocity", "normal", shape)]


def fixed_norm_velocities(z: np.ndarray, p: PairwiseParams) -> np.ndarray:
    """Velocities of norm ``vel_norm`` in the directions of the Gaussian draws ``z``."""
    return unit_vectors(z) * p.vel_norm


def reflect(x: np.ndarray, v: np.ndarray, box: float) -> tuple[np.ndarray, np.ndarray]:
    """NRI's elastic wall reflection (NumPy), used to put initial states inside the box."""
    over, under = x > box, x < -box
    x = np.where(over, 2 * box - x, np.where(under, -2 * box - x, x))
    v = np.where(over, -np.abs(v), np.where(under, np.abs(v), v))
    return x, v


def run_symplectic(
    name: str,
    p: PairwiseParams,
    n_sims: int,
    seed: int,
    first_sim: int,
    spec: DrawSpec,
    initial: Callable[[dict[str, np.ndarray]], InitialState],
    model: symplectic_euler.ForceModel,
    walls: float | None,
) -> SimulationResult:
    """Draw, integrate and package ``n_sims`` simulations.

    Args:
        spec: the raw draws each simulation takes from its own stream.
        initial: turns the stacked raw draws into the batch's initial state.
        model: the force model; walls: the box half-width, or None for no walls.
    """
    state = initial(draw(seed, first_sim, n_sims, spec))
    x0 = to_blocks(state.position, BLOCK)
    v0 = to_blocks(state.velocity, BLOCK)
    charge = to_blocks(state.charge, BLOCK)
    coupling = to_blocks(state.coupling, BLOCK)
    sched = symplectic_euler.Schedule(
        dt=p.dt,
        n_steps=p.n_steps,
        sample_every=p.sample_every,
        walls=walls is not None,
        box=float(walls or 0.0),
    )
    pos, vel, clipped = symplectic_euler.integrate(x0, v0, charge, coupling, model, sched, n_sims)
    n_frames = pos.shape[1]
    time = p.dt * p.sample_every * np.arange(1, n_frames + 1)
    variables = {"position": pos, "velocity": vel, **state.saved}
    return assemble(name, p, seed, first_sim, time, variables, clipped)
