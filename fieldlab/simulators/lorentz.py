r"""Charged particles in a uniform magnetic field (Aether's Lorentz-force setting).

EGNN's 3-D charged n-body (:mod:`fieldlab.simulators.charged`) plus the Lorentz force
:math:`F_i = q_i\, v_i \times B` with constant :math:`B = (0.5, 0.5, 0.5)`, added to the Coulomb
forces before the per-component cap and integrated by the same symplectic-Euler loop (the
velocity in :math:`v \times B` is the one of the current half-step).
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from fieldlab.simulators.charged import (
    EGNNChargedParams,
    coulomb_model,
    run_charged,
)
from fieldlab.simulators.conservation import Conserved, coulomb
from fieldlab.simulators.result import SimulationResult
from fieldlab.simulators.system import System


class LorentzParams(EGNNChargedParams):
    """EGNN's charged setting plus a uniform magnetic field (3-D only)."""

    dim: int = Field(3, ge=3, le=3, description="the Lorentz force needs 3-D")
    magnetic_field: tuple[float, float, float] = (0.5, 0.5, 0.5)


def run(p: LorentzParams, n_sims: int, seed: int, first_sim: int = 0) -> SimulationResult:
    return run_charged(
        "lorentz", p, coulomb_model(p, bfield=np.array(p.magnetic_field)), n_sims, seed, first_sim
    )


def true_field(p: LorentzParams, points: np.ndarray, *, velocity: np.ndarray) -> np.ndarray:
    """The force per unit charge ``v x B`` at ``points (..., 3)`` with velocities ``(..., 3)``;
    ``B`` is uniform."""
    b = np.broadcast_to(np.array(p.magnetic_field), np.shape(points))
    return np.cross(np.broadcast_to(velocity, np.shape(points)), b)


def conserved(p: LorentzParams) -> Conserved | None:
    """Coulomb energy (the magnetic force does no work); momentum is not conserved."""
    return None if p.walls else coulomb(p.strength, conserves_momentum=False)


SYSTEM = System(
    name="lorentz",
    params=LorentzParams,
    run=run,
    description="EGNN's charged n-body in a uniform magnetic field (Lorentz force)",
    reference="Kofinas et al. 2023, Latent Field Discovery in Interacting Dynamical Systems "
    "with Neural Fields",
    field=true_field,
    field_note="force on particle i = q_i v_i x B(x_i)",
    field_scope="shared",
    field_needs_velocity=True,
    conserved=conserved,
)
