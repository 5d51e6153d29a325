r"""Charged particles in a static electrostatic field (Aether's electrostatic setting, Kofinas et al. 2023).

Five mobile unit-mass particles with charges +-1 (probability 1/2 each), positions :math:`N(0, 1)`,
velocities of norm 0.5, move in 2-D under Coulomb forces from each other and from 20 *static*
source charges placed uniformly in :math:`[-5, 5]^2` with charges :math:`\pm 1 \times` strength.
The sources are drawn once from their own ``field_seed``, so one field is shared by every
simulation of a dataset:

.. math:: E(x) = k \sum_s Q_s (x - x_s) / |x - x_s|^3, \qquad F_i^{field} = q_i E(x_i).

The total force on a particle is capped by its *norm* at ``max_force`` (not per component), and
the loop is NRI's symplectic Euler without walls; 49 frames (29 of context, 20 to predict).
"""

from __future__ import annotations

import numpy as np
from pydantic import Field, model_validator

from fieldlab.simulators.charged import ChargedParams, charged_draws, coulomb_model, initial_charged
from fieldlab.simulators.pairwise import check_probabilities, run_symplectic
from fieldlab.simulators.result import SimulationResult
from fieldlab.simulators.seeding import categorical
from fieldlab.simulators.system import System


class ElectrostaticFieldParams(ChargedParams):
    """Aether's electrostatic setting (the defaults)."""

    charge_values: tuple[float, ...] = Field((-1.0, 1.0), min_length=1)
    charge_probs: tuple[float, ...] = Field((0.5, 0.5), min_length=1)
    walls: bool = False
    n_sources: int = Field(20, ge=1, description="number of static source charges")
    source_box: float = Field(5.0, gt=0.0, description="sources uniform in [-source_box, +]^dim")
    source_charge_values: tuple[float, ...] = Field((-1.0, 1.0), min_length=1)
    source_charge_probs: tuple[float, ...] = Field((0.5, 0.5), min_length=1)
    source_strength: float = Field(1.0, description="multiplies every source charge")
    field_seed: int = Field(1, ge=0, description="seed of the source draw (one field per dataset)")

    @model_validator(mode="after")
    def _source_probabilities(self) -> ElectrostaticFieldParams:
        check_probabilities(self.source_charge_values, self.source_charge_probs, "source_charge")
        return self


def sources(p: ElectrostaticFieldParams) -> tuple[np.ndarray, np.ndarray]:
    """The static sources: positions ``(K, D)`` and charges ``(K,)``, from ``field_seed`` alone."""
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(p.field_seed)))
    pos = rng.uniform(-p.source_box, p.source_box, size=(p.n_sources, p.dim))
    q = categorical(rng.random(p.n_sources), p.source_charge_values, p.source_charge_probs)
    return pos, q * p.source_strength


def run(
    p: ElectrostaticFieldParams, n_sims: int, seed: int, first_sim: int = 0
) -> SimulationResult:
    src_pos, src_q = sources(p)

    def initial(raw: dict[str, np.ndarray]):
        state = initial_charged(raw, p)
        state.saved.update(source_position=src_pos, source_charge=src_q)
        return state

    model = coulomb_model(p, src_pos=src_pos, src_charge=src_q, clip_norm=True)
    return run_symplectic(
        "electrostatic-field", p, n_sims, seed, first_sim, charged_draws(p), initial, model, None
    )


def true_field(p: ElectrostaticFieldParams, points: np.ndarray) -> np.ndarray:
    """Electric field ``E(points)`` ``(..., D)``; the force on charge q is ``q E``."""
    src_pos, src_q = sources(p)
    pts = np.asarray(points, dtype=np.float64)
    d = pts.reshape(-1, 1, p.dim) - src_pos[None]  # (N, K, D)
    r2 = (d**2).sum(-1, keepdims=True)
    return (p.strength * src_q[None, :, None] * d / r2**1.5).sum(-2).reshape(pts.shape)


SYSTEM = System(
    name="electrostatic-field",
    params=ElectrostaticFieldParams,
    run=run,
    description="5 charges among 20 static source charges, one field per dataset (Aether)",
    reference="Kofinas et al. 2023, Latent Field Discovery in Interacting Dynamical Systems "
    "with Neural Fields",
    field=true_field,
    field_note="force on particle i = q_i E(x_i), before the norm cap",
    field_scope="shared",
)
