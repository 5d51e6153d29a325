"""Numba simulators: pure functions of (parameters, number of simulations, seed) -> trajectories.

Simulators know nothing of Dask, zarr or torch. Each registered :class:`System` has a pydantic
parameter schema whose defaults are a published setting, a batched run function, and, for
particles in an external field, the true field (to score fields that models discover).
"""

from fieldlab.simulators.registry import SYSTEMS, get_system, resolve_params, simulate
from fieldlab.simulators.result import SimulationResult, SimulationStatus
from fieldlab.simulators.system import Params, System
from fieldlab.simulators.variables import VARIABLES, Variable

__all__ = [
    "SYSTEMS",
    "VARIABLES",
    "Params",
    "SimulationResult",
    "SimulationStatus",
    "System",
    "Variable",
    "get_system",
    "resolve_params",
    "simulate",
]
