r"""Charged particles under a uniform force (Aether's "gravity" variant of EGNN's n-body).

EGNN's 3-D charged n-body plus the same constant force on every (unit-mass) particle,
by default :math:`F = (0, 0, 0.098)`, added before the per-component cap.
"""

from __future__ import annotations

import numpy as np
from pydantic import model_validator

from fieldlab.simulators.charged import (
    EGNNChargedParams,
    coulomb_model,
    run_charged,
)
from fieldlab.simulators.result import SimulationResult
from fieldlab.simulators.system import System


class UniformForceParams(EGNNChargedParams):
    """EGNN's charged setting plus a constant force vector (one entry per dimension)."""

    force: tuple[float, ...] = (0.0, 0.0, 0.098)

    @model_validator(mode="after")
    def _force_matches_dim(self) -> UniformForceParams:
        if len(self.force) != self.dim:
            raise ValueError(f"force has {len(self.force)} components but dim is {self.dim}")
        return self


def run(p: UniformForceParams, n_sims: int, seed: int, first_sim: int = 0) -> SimulationResult:
    return run_charged(
        "uniform-force", p, coulomb_model(p, uniform=np.array(p.force)), n_sims, seed, first_sim
    )


def true_field(p: UniformForceParams, points: np.ndarray) -> np.ndarray:
    """The force field at ``points (..., D)``: the same vector everywhere."""
    return np.broadcast_to(np.array(p.force), np.shape(points)).copy()


SYSTEM = System(
    name="uniform-force",
    params=UniformForceParams,
    run=run,
    description="EGNN's charged n-body under a uniform force",
    reference="Kofinas et al. 2023, Latent Field Discovery in Interacting Dynamical Systems "
    "with Neural Fields",
    field=true_field,
    field_note="force on particle i = F (the same for every particle)",
    field_scope="shared",
)
