"""The meaning of every array a simulator returns: dimensions, units, long name, tensor order.

Simulations run in nondimensional units (unit masses, unit charges, G = 1), so the CF unit string is
``"1"`` throughout; ``tensor_order`` is 0 for scalars and 1 for vectors (The Well's convention).
Variables without a ``sim`` dimension (a field shared by every simulation) are written once.
Grid (PDE) fields are ``(sim, time, y, x[, component])``; their coordinates ``x``, ``y`` come
with the result.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Variable:
    dims: tuple[str, ...]
    long_name: str
    tensor_order: int
    units: str = "1"


_TRAJ = ("sim", "time", "particle", "space")
_GRID = ("sim", "time", "y", "x")

VARIABLES: dict[str, Variable] = {
    "position": Variable(_TRAJ, "particle position", 1),
    "velocity": Variable(_TRAJ, "particle velocity", 1),
    "charge": Variable(("sim", "particle"), "particle charge", 0),
    "mass": Variable(("sim", "particle"), "particle mass", 0),
    "spring_constant": Variable(
        ("sim", "particle", "particle"), "spring constant between particles i and j", 0
    ),
    "source_position": Variable(("source", "space"), "position of a static source", 1),
    "source_charge": Variable(("source",), "charge of a static source", 0),
    "source_position_per_sim": Variable(
        ("sim", "source", "space"), "position of a static source, drawn per simulation", 1
    ),
    "source_mass": Variable(("source",), "mass of a static source", 0),
    "delay": Variable(("sim",), "feedback delay of the simulation", 0),
    "concentration": Variable(_GRID, "concentration of the diffusing quantity", 0),
    "vorticity": Variable(_GRID, "vorticity (z component of the curl of the velocity)", 0),
    "velocity_field": Variable((*_GRID, "component"), "fluid velocity", 1),
    "forcing": Variable(("y", "x"), "forcing of the vorticity equation", 0),
    "temperature": Variable(_GRID, "temperature on the unit sphere", 0),
}
