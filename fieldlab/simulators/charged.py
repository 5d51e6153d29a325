r"""Charged particles (NRI, Kipf et al. 2018; EGNN, Satorras et al. 2021).

Unit masses move under pairwise Coulomb forces
:math:`F_i = k \sum_{j \ne i} q_i q_j (x_i - x_j) / |x_i - x_j|^3` (like charges repel), each force
component clipped to ``[-max_force, max_force]``, integrated by
:mod:`fieldlab.simulators.symplectic_euler`.

Two published variants, two registered systems:

- ``charged`` (NRI): 2-D, positions :math:`N(0, 1)`, velocities of norm 0.5 in a random direction,
  charges from {-1, 0, +1} with probabilities {1/2, 0, 1/2}, elastic walls at +-5 every step.
- ``charged-egnn`` (EGNN's n-body): 3-D, charges +-1, no walls in the loop (only the initial
  positions are reflected into the box), position std scaled by :math:`(n/5)^{1/3}`.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field, model_validator

from fieldlab.simulators import forces
from fieldlab.simulators.conservation import Conserved, coulomb
from fieldlab.simulators.pairwise import (
    EMPTY,
    InitialState,
    PairwiseParams,
    check_probabilities,
    fixed_norm_velocities,
    reflect,
    run_symplectic,
    trajectory_draws,
)
from fieldlab.simulators.result import SimulationResult
from fieldlab.simulators.seeding import categorical
from fieldlab.simulators.symplectic_euler import ForceModel
from fieldlab.simulators.system import System


class ChargedParams(PairwiseParams):
    """NRI's charged-particle setting (the defaults)."""

    charge_values: tuple[float, ...] = Field((-1.0, 0.0, 1.0), min_length=1)
    charge_probs: tuple[float, ...] = Field((0.5, 0.0, 0.5), min_length=1)
    walls: bool = Field(True, description="reflect at +-box_size every step")
    box_size: float = Field(5.0, gt=0.0)
    reflect_initial: bool = Field(False, description="reflect the initial positions into the box")
    scale_loc_std: bool = Field(False, description="multiply loc_std by (n_particles / 5)^(1/3)")

    @model_validator(mode="after")
    def _probabilities(self) -> ChargedParams:
        check_probabilities(self.charge_values, self.charge_probs, "charge")
        return self

    @property
    def effective_loc_std(self) -> float:
        return self.loc_std * ((self.n_particles / 5) ** (1 / 3) if self.scale_loc_std else 1.0)


class EGNNChargedParams(ChargedParams):
    """EGNN's 3-D n-body setting."""

    dim: int = Field(3, ge=2, le=3)
    charge_values: tuple[float, ...] = Field((-1.0, 1.0), min_length=1)
    charge_probs: tuple[float, ...] = Field((0.5, 0.5), min_length=1)
    walls: bool = False
    reflect_initial: bool = True
    scale_loc_std: bool = True


def charged_draws(p: ChargedParams) -> list[tuple[str, str, tuple[int, ...]]]:
    """Per simulation: positions, velocity directions, then one uniform per charge."""
    return [*trajectory_draws(p), ("charge", "uniform", (p.n_particles,))]


def initial_charged(raw: dict[str, np.ndarray], p: ChargedParams) -> InitialState:
    """Positions ``N(0, loc_std^2)``, velocities of norm ``vel_norm``, categorical charges."""
    x = raw["position"] * p.effective_loc_std
    v = fixed_norm_velocities(raw["velocity"], p)
    q = categorical(raw["charge"], p.charge_values, p.charge_probs)
    if p.reflect_initial:
        x, v = reflect(x, v, p.box_size)
    return InitialState(x, v, q, q[:, :, None] * q[:, None, :], {"charge": q})


def coulomb_model(
    p: ChargedParams,
    *,
    src_pos: np.ndarray | None = None,
    src_charge: np.ndarray | None = None,
    bfield: np.ndarray | None = None,
    uniform: np.ndarray | None = None,
    clip_norm: bool = False,
) -> ForceModel:
    """The force model of charged systems; each external term is off unless given."""
    return ForceModel(
        law=forces.COULOMB,
        strength=p.strength,
        max_force=p.max_force,
        clip_norm=clip_norm,
        src_pos=EMPTY.reshape(0, p.dim) if src_pos is None else np.asarray(src_pos, float),
        src_charge=EMPTY if src_charge is None else np.asarray(src_charge, float),
        bfield=EMPTY if bfield is None else np.asarray(bfield, float),
        uniform=EMPTY if uniform is None else np.asarray(uniform, float),
    )


def run_charged(
    name: str, p: ChargedParams, model: ForceModel, n_sims: int, seed: int, first_sim: int
) -> SimulationResult:
    """Charged particles drawn as in :func:`initial_charged`, integrated under ``model``."""
    return run_symplectic(
        name,
        p,
        n_sims,
        seed,
        first_sim,
        charged_draws(p),
        lambda raw: initial_charged(raw, p),
        model,
        p.box_size if p.walls else None,
    )


def run(p: ChargedParams, n_sims: int, seed: int, first_sim: int = 0) -> SimulationResult:
    name = "charged-egnn" if isinstance(p, EGNNChargedParams) else "charged"
    return run_charged(name, p, coulomb_model(p), n_sims, seed, first_sim)


def conserved(p: ChargedParams) -> Conserved | None:
    """Coulomb energy and momentum, unless walls reflect the particles."""
    return None if p.walls else coulomb(p.strength)


NRI = System(
    name="charged",
    params=ChargedParams,
    run=run,
    description="charged particles with walls (NRI): Coulomb pairs, symplectic Euler",
    reference="Kipf et al. 2018, Neural Relational Inference for Interacting Systems",
    conserved=conserved,
)

EGNN = System(
    name="charged-egnn",
    params=EGNNChargedParams,
    run=run,
    description="3-D charged n-body without walls (EGNN)",
    reference="Satorras et al. 2021, E(n) Equivariant Graph Neural Networks",
    conserved=conserved,
)
