"""What every simulator returns: trajectories, per-particle attributes and a status per simulation.

Array layout follows the dataset contract (docs/datasets.md): simulations first, then time, then
particles, then space. Each variable's dimension names, units and tensor order live in
:data:`fieldlab.simulators.variables.VARIABLES`, so writers never guess what an axis means.

Grid (PDE) results hold fields ``(sim, time, y, x[, component])`` instead of trajectories, and
their grid coordinates in :attr:`SimulationResult.coords`; :func:`assemble` builds both kinds.
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
            Particle systems always have ``position`` and ``velocity``
            ``(sim, time, particle, space)``; grid systems have fields ``(sim, time, y, x[, ...])``.
        status: finiteness and force clipping per simulation.
        coords: grid coordinates of grid results, e.g. ``x`` ``(x,)``, ``y`` ``(y,)`` and
            ``component`` labels; empty for particle systems.
        coord_attrs: attributes of those coordinates where they differ from plain lengths, e.g.
            ``{"y": {"units": "radians", "long_name": "latitude ..."}}`` on the sphere.
    """

    system: str
    params: dict[str, Any]
    seed: int
    first_sim: int
    time: np.ndarray
    variables: dict[str, np.ndarray]
    status: SimulationStatus = field(repr=False)
    coords: dict[str, np.ndarray] = field(default_factory=dict)
    coord_attrs: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def is_grid(self) -> bool:
        """True for grid (PDE) results, whose variables are fields rather than trajectories."""
        return "position" not in self.variables

    @property
    def state_names(self) -> tuple[str, ...]:
        """The variables that carry the evolving state: ``position`` and ``velocity`` for
        particles, every per-simulation field for grids."""
        if not self.is_grid:
            return ("position", "velocity")
        return tuple(k for k in self.variables if is_field(k))

    @property
    def position(self) -> np.ndarray:
        return self.variables["position"]

    @property
    def velocity(self) -> np.ndarray:
        return self.variables["velocity"]

    @property
    def n_sims(self) -> int:
        return int(self.variables[self.state_names[0]].shape[0])

    def dims(self, name: str) -> tuple[str, ...]:
        """Dimension names of variable ``name``."""
        return VARIABLES[name].dims


def is_field(name: str) -> bool:
    """Whether variable ``name`` is a per-simulation grid field (dimensions ``sim`` and ``x``)."""
    dims = VARIABLES[name].dims
    return "sim" in dims and "x" in dims


def assemble(
    system: str,
    params: Any,
    seed: int,
    first_sim: int,
    time: np.ndarray,
    variables: dict[str, np.ndarray],
    clipped: np.ndarray | None = None,
    coords: dict[str, np.ndarray] | None = None,
    coord_attrs: dict[str, dict[str, str]] | None = None,
) -> SimulationResult:
    """Build a result, computing each simulation's finiteness from its saved trajectories.

    Particle results need ``position`` and ``velocity``; grid results pass their fields and their
    grid ``coords`` (and, where they are not plain lengths, their ``coord_attrs``) instead, and
    every field is checked.
    """
    if "position" in variables:
        states = [variables["position"], variables["velocity"]]
    else:
        states = [v for k, v in variables.items() if is_field(k)]
    n = states[0].shape[0]
    finite = np.ones(n, dtype=bool)
    for x in states:
        finite &= np.isfinite(x.reshape(n, -1)).all(axis=1)
    if clipped is None:
        clipped = np.zeros(n, dtype=np.int64)
    return SimulationResult(
        system=system,
        params=params.model_dump(mode="json"),
        seed=seed,
        first_sim=first_sim,
        time=time,
        variables=variables,
        status=SimulationStatus(finite=finite, clipped=clipped),
        coords=dict(coords or {}),
        coord_attrs={k: dict(v) for k, v in (coord_attrs or {}).items()},
    )
