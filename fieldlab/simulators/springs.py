r"""Particles joined by random springs (NRI, Kipf et al. 2018).

Unit masses, :math:`F_i = -k \sum_j c_{ij} (x_i - x_j)` with :math:`k = 0.1` and spring constants
:math:`c_{ij} = c_{ji}` drawn per pair from {0, 0.5, 1} with probabilities {1/2, 0, 1/2}
(:math:`c_{ii} = 0`), positions :math:`N(0, 0.5^2)`, velocities of norm 0.5, elastic walls at +-5,
force components clipped to +-100, NRI's symplectic-Euler loop
(:mod:`fieldlab.simulators.symplectic_euler`).
"""

from __future__ import annotations

import numpy as np
from pydantic import Field, model_validator

from fieldlab.simulators import forces
from fieldlab.simulators.pairwise import (
    EMPTY,
    InitialState,
    PairwiseParams,
    check_probabilities,
    fixed_norm_velocities,
    run_symplectic,
    trajectory_draws,
)
from fieldlab.simulators.result import SimulationResult
from fieldlab.simulators.seeding import categorical
from fieldlab.simulators.symplectic_euler import ForceModel
from fieldlab.simulators.system import System


class SpringsParams(PairwiseParams):
    """NRI's springs setting (the defaults)."""

    loc_std: float = Field(0.5, gt=0.0)
    strength: float = 0.1
    spring_values: tuple[float, ...] = Field((0.0, 0.5, 1.0), min_length=1)
    spring_probs: tuple[float, ...] = Field((0.5, 0.0, 0.5), min_length=1)
    walls: bool = True
    box_size: float = Field(5.0, gt=0.0)

    @model_validator(mode="after")
    def _probabilities(self) -> SpringsParams:
        check_probabilities(self.spring_values, self.spring_probs, "spring")
        return self


def initial_springs(raw: dict[str, np.ndarray], p: SpringsParams) -> InitialState:
    """Symmetric spring constants from the lower triangle of a ``(P, P)`` categorical draw."""
    x = raw["position"] * p.loc_std
    v = fixed_norm_velocities(raw["velocity"], p)
    c = np.tril(categorical(raw["spring"], p.spring_values, p.spring_probs), k=-1)
    c = c + np.swapaxes(c, 1, 2)
    ones = np.ones(x.shape[:2])
    return InitialState(x, v, ones, c, {"spring_constant": c})


def run(p: SpringsParams, n_sims: int, seed: int, first_sim: int = 0) -> SimulationResult:
    spec = [*trajectory_draws(p), ("spring", "uniform", (p.n_particles, p.n_particles))]
    model = ForceModel(
        law=forces.HOOKE,
        strength=p.strength,
        max_force=p.max_force,
        clip_norm=False,
        src_pos=EMPTY.reshape(0, p.dim),
        src_charge=EMPTY,
        bfield=EMPTY,
        uniform=EMPTY,
    )
    return run_symplectic(
        "springs",
        p,
        n_sims,
        seed,
        first_sim,
        spec,
        lambda raw: initial_springs(raw, p),
        model,
        p.box_size if p.walls else None,
    )


SYSTEM = System(
    name="springs",
    params=SpringsParams,
    run=run,
    description="particles joined by random springs, with walls (NRI)",
    reference="Kipf et al. 2018, Neural Relational Inference for Interacting Systems",
)
