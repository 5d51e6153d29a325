"""Analysis of trajectories: transport (MSD, velocity autocorrelation) and local structure.

Every function takes arrays in the dataset layout (``(sim, time, particle, space)`` trajectories)
and returns plain NumPy arrays, so it works on a fresh
:class:`~fieldlab.simulators.SimulationResult` and on a dataset read back from zarr alike.
"""

from fieldlab.analysis.bond_order import bond_order, global_order, local_order
from fieldlab.analysis.msd import MSD, local_exponent, log_lags, mean_squared_displacement
from fieldlab.analysis.vacf import velocity_autocorrelation

__all__ = [
    "MSD",
    "bond_order",
    "global_order",
    "local_exponent",
    "local_order",
    "log_lags",
    "mean_squared_displacement",
    "velocity_autocorrelation",
]
