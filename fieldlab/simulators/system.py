"""What a simulator is: a parameter schema, a batched run function and, for field systems, the truth.

Parameters are pydantic models that forbid unknown fields, so a typo is an error that lists the
valid names instead of a silently ignored keyword.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from fieldlab.simulators.result import SimulationResult


class Params(BaseModel):
    """Parameters every simulator has: time stepping and system size."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    dim: int = Field(2, ge=2, le=3, description="spatial dimension")
    n_particles: int = Field(5, ge=2, description="number of mobile particles")
    dt: float = Field(0.001, gt=0.0, description="integration step")
    n_steps: int = Field(5000, ge=2, description="integration steps, including the first")
    sample_every: int = Field(100, ge=1, description="save one frame every this many steps")

    @model_validator(mode="after")
    def _at_least_one_frame(self) -> Params:
        if self.n_steps <= self.sample_every:
            raise ValueError(
                f"n_steps ({self.n_steps}) must exceed sample_every ({self.sample_every}) "
                "to save at least one frame"
            )
        return self


RunFn = Callable[[Any, int, int, int], SimulationResult]
"""``run(params, n_sims, seed, first_sim) -> SimulationResult``."""

FieldFn = Callable[..., np.ndarray]
"""``field(params, points (..., D), **sources) -> (..., D)``: the true external field."""


@dataclass(frozen=True)
class System:
    """A registered simulator.

    Attributes:
        name: registry key, e.g. ``"charged"``.
        version: bumped whenever the numbers a given seed produces change; part of a dataset's
            fingerprint.
        params: the pydantic parameter model (its defaults are the published settings).
        run: the batched run function.
        description: one line for listings.
        reference: the paper whose setting the defaults reproduce.
        field: the true external field, for systems that have one.
        field_note: how the field acts on a particle (e.g. "force = q E").
    """

    name: str
    version: str
    params: type[Params]
    run: RunFn
    description: str
    reference: str
    field: FieldFn | None = None
    field_note: str = ""
