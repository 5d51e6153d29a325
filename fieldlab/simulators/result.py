"""What every simulator returns: trajectories, per-particle attributes and a status per simulation.

Array layout follows the dataset contract (``../DESIGN.md``): simulations first, then time, then
particles, then space. Each variable's dimension names, units and tensor order live in
:data:`fieldlab.simulators.variables.VARIABLES`, so writers never guess what an axis means.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fieldlab.simulators.variables import VARIABLES


@dataclass(frozen=True)
class SimulationStatus:
    """Health of each simulation in a batch.

    Attributes:
        finite: ``(sim,)`` bool, True where every saved value is finite.
        clipped: ``(sim,)`` int64, how many times a force (a component, or a norm, depending on the
            system) hit the cap over the whole run.
    """

    finite: np.ndarray
    clipped: np.ndarray

    @property
    def all_finite(self) -> bool:
        return bool(self.finite.all())


@dataclass(frozen=True)
class SimulationResult:
    """A batch of simulations of one system.

    Attributes:
        system: registered name of the simulator.
        params: the resolved parameters (every default filled in), as plain JSON-able values.
        seed: the seed the batch was drawn from.
        first_sim: global index of the first simulation; simulation ``first_sim + i`` is the same
            whatever batch it was simulated in.
        time: ``(time,)`` physical time of each saved frame.
        variables: arrays keyed by variable name; their dimensions are ``VARIABLES[name].dims``.
            Always ``position`` and ``velocity`` ``(sim, time, particle, space)``.
        status: finiteness and force clipping per simulation.
    """

    system: str
    params: dict[str, Any]
    seed: int
    first_sim: int
    time: np.ndarray
    variables: dict[str, np.ndarray]
    status: SimulationStatus = field(repr=False)

    @property
    def position(self) -> np.ndarray:
        return self.variables["position"]

    @property
    def velocity(self) -> np.ndarray:
        return self.variables["velocity"]

    @property
    def n_sims(self) -> int:
        return int(self.position.shape[0])

    def dims(self, name: str) -> tuple[str, ...]:
        """Dimension names of variable ``name``."""
        return VARIABLES[name].dims


def assemble(
    system: str,
    params: Any,
    seed: int,
    first_sim: int,
    time: np.ndarray,
    variables: dict[str, np.ndarray],
    clipped: np.ndarray | None = None,
) -> SimulationResult:
    """Build a result, computing each simulation's finiteness from its saved trajectories."""
    pos, vel = variables["position"], variables["velocity"]
    finite = np.isfinite(pos).all(axis=(1, 2, 3)) & np.isfinite(vel).all(axis=(1, 2, 3))
    if clipped is None:
        clipped = np.zeros(pos.shape[0], dtype=np.int64)
    return SimulationResult(
        system=system,
        params=params.model_dump(mode="json"),
        seed=seed,
        first_sim=first_sim,
        time=time,
        variables=variables,
        status=SimulationStatus(finite=finite, clipped=clipped),
    )
