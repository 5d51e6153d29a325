"""Settings of particle problems: the ``particles`` section of a training config."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from fieldlab.models import PARTICLE_MODELS
from fieldlab.models.field_forecaster import FieldOptions
from fieldlab.models.graphs import GraphSpec
from fieldlab.training.kind import Kind


class ParticleSettings(BaseModel):
    """How particle trajectories become samples, and the loss on them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    graph: GraphSpec = Field(default_factory=GraphSpec, description="topology and node features")
    field: FieldOptions = Field(
        default_factory=FieldOptions,
        description="the neural field of --model field (horizon and scales come from the data)",
    )
    scalar: Literal["auto", "charge", "mass", "none"] = Field(
        "auto",
        description="per-particle scalar for the edge attribute s_i s_j (auto: charge, mass)",
    )
    all_frames: bool = Field(
        False, description="train on every (t, t + horizon) frame pair, not only the task's frame"
    )
    normalise: bool = Field(True, description="divide positions and velocities by a global scale")
    velocity_weight: float = Field(
        1.0, ge=0.0, description="weight of the target-velocity MSE in the loss (rollouts need it)"
    )
    rollout_steps: int = Field(
        1, ge=1, description="train on K-step rollouts: the loss averaged over K fed-back steps"
    )
    rollout_warmup: int = Field(
        0,
        ge=0,
        description="grow the fed-back steps from 1 to rollout_steps over the first N epochs",
    )


PARTICLES = Kind(
    "particles",
    "particle trajectories",
    ParticleSettings,
    PARTICLE_MODELS,
    "fieldlab.training.particles.problem",
)
