"""What a simulator is: a parameter schema, a batched run function and, for field systems, the truth.

Parameters are pydantic models that forbid unknown fields, so a typo is an error that lists the
valid names instead of a silently ignored keyword.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from fieldlab.simulators.conservation import Conserved
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
"""``field(params, points (..., D)[, source_position (K, D)][, velocity=(..., D)]) -> (..., D)``:
the true external force per unit charge or mass. A per-simulation field takes that simulation's
sources; a velocity-dependent one takes the velocities at ``points``."""

Kind = Literal["particles", "grid"]
"""What a system's datasets hold: particle trajectories ``(sim, time, particle, space)`` or grid
fields ``(sim, time, y, x[, component])``."""

FieldScope = Literal["none", "shared", "per_simulation"]
"""Whether a system has an external field, one for the whole dataset or drawn per simulation."""

Domain = Literal["plane", "torus", "sphere"]
"""The manifold a system lives on: a flat region, the flat torus, or the unit sphere."""


def _never(params: Any) -> bool:
    return False


def _nothing(params: Any) -> Conserved | None:
    return None


def _from_periodic(params: Any) -> Domain:
    """Placeholder default of :attr:`System.domain`, replaced by ``"torus"`` if periodic else
    ``"plane"`` when the system is declared."""
    raise NotImplementedError("System.__post_init__ replaces this default")


@dataclass(frozen=True)
class System:
    """A registered simulator.

    Attributes:
        name: registry key, e.g. ``"charged"``.
        version: ``"1"`` at first, bumped whenever the numbers a given seed produces change; part of a dataset's
            fingerprint.
        params: the pydantic parameter model (its defaults are the published settings).
        run: the batched run function.
        description: one line for listings.
        reference: the paper whose setting the defaults reproduce.
        kind: particles or grid: which training problem reads its datasets.
        field: the true external field, for systems that have one.
        field_note: how the field acts on a particle (e.g. "force = q E").
        field_scope: ``"shared"`` (one field per dataset), ``"per_simulation"`` (sources drawn
            per simulation, stored as ``source_position``) or ``"none"``.
        field_needs_velocity: the force depends on the particle's velocity (``q v x B``).
        periodic: ``periodic(params)``: whether the domain wraps around (grids: a torus).
        conserved: ``conserved(params)``: what the parametrised system conserves, or None.
        domain: ``domain(params)``: the manifold the system lives on, ``"plane"``, ``"torus"`` or
            ``"sphere"``. Models that build meshes or relative positions read it (a grid's
            ``periodic`` flag means a torus; a latitude-longitude grid of the sphere wraps in
            longitude only and has poles). By default ``"torus"`` where ``periodic(params)``,
            else ``"plane"`` (particles move in open Euclidean space of any dimension).
    """

    name: str
    params: type[Params]
    run: RunFn
    description: str
    reference: str
    version: str = "1"
    kind: Kind = "particles"
    field: FieldFn | None = None
    field_note: str = ""
    field_scope: FieldScope = "none"
    field_needs_velocity: bool = False
    periodic: Callable[[Any], bool] = _never
    conserved: Callable[[Any], Conserved | None] = _nothing
    domain: Callable[[Any], Domain] = _from_periodic

    def __post_init__(self) -> None:
        if self.domain is _from_periodic:
            periodic = self.periodic
            object.__setattr__(
                self, "domain", lambda params: "torus" if periodic(params) else "plane"
            )
        if (self.field is None) != (self.field_scope == "none"):
            raise ValueError(
                f"system {self.name!r}: give a field function exactly when field_scope is not 'none'"
            )
