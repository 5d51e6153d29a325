"""The particle-dataset schema: a simulator's output as an xarray Dataset, and its zarr layout.

One zarr group per split holds (the dataset contract; see docs/datasets.md):

- every variable the simulator returns, with dimensions from
  :data:`fieldlab.simulators.VARIABLES` (``position``, ``velocity`` are
  ``(sim, time, particle, space)``; per-particle attributes ``(sim, particle)``; pair couplings
  ``(sim, particle, particle_j)``; sources shared by all simulations have no ``sim`` dimension);
- coordinates ``sim`` (global simulation index), ``time`` (physical time) and ``space``
  (``"x"``, ``"y"``[, ``"z"``]); grid (PDE) datasets have ``x``, ``y`` (grid points) and, for
  vector fields, ``component`` instead of ``space``;
- per variable ``units``, ``long_name`` and ``tensor_order`` (0 scalar, 1 vector);
- dataset attributes: simulator, its version, resolved params, seed, fingerprint, fieldlab
  version, CF ``Conventions`` and ``history``.

Variables with a ``sim`` dimension are chunked ``chunk_size`` along ``sim`` and whole along every
other dimension, so one generation task writes exactly one zarr chunk (one file) per variable.
Chunks are stored uncompressed: trajectories are float64 noise to a compressor, and plain bytes make
the stored chunk a direct image of the array.
"""

from __future__ import annotations

from typing import Any

import dask.array as da
import numpy as np
import xarray as xr

from fieldlab.simulators import VARIABLES, SimulationResult

CONVENTIONS = "CF-1.11"
SPACE_LABELS = ("x", "y", "z")
GRID_COORD_ATTRS: dict[str, dict[str, Any]] = {
    "x": {"units": "1", "long_name": "x coordinate of the grid point", "axis": "X"},
    "y": {"units": "1", "long_name": "y coordinate of the grid point", "axis": "Y"},
    "component": {"long_name": "vector component"},
}


def variable_attrs(name: str) -> dict[str, Any]:
    """``units``, ``long_name`` and ``tensor_order`` of simulator variable ``name``."""
    v = VARIABLES[name]
    return {"units": v.units, "long_name": v.long_name, "tensor_order": v.tensor_order}


def storage_dims(name: str) -> tuple[str, ...]:
    """Dimensions of variable ``name`` in the store: those of ``VARIABLES``, with a repeated
    dimension renamed ``<dim>_j`` because xarray needs distinct names (a pair coupling
    ``(sim, particle, particle)`` is stored as ``(sim, particle, particle_j)``)."""
    out: list[str] = []
    for d in VARIABLES[name].dims:
        out.append(f"{d}_j" if d in out else d)
    return tuple(out)


def has_sim(name: str) -> bool:
    """Whether variable ``name`` has one entry per simulation (else it is shared, written once)."""
    return "sim" in VARIABLES[name].dims


def template(
    probe: SimulationResult, n_sims: int, chunk_size: int, attrs: dict[str, Any]
) -> tuple[xr.Dataset, dict[str, dict[str, Any]]]:
    """The split's lazy template and its zarr encoding.

    Args:
        probe: a result of the split's simulator (any number of simulations) giving shapes,
            the time axis and the shared variables.
        n_sims: simulations in the split; chunk_size: simulations per chunk.
        attrs: the dataset attributes.

    Returns:
        ``(dataset, encoding)``: per-simulation variables are lazy dask zeros ``(n_sims, ...)``
        (written as metadata only), shared variables hold their values.
    """
    data_vars, encoding = {}, {}
    for name, arr in probe.variables.items():
        dims = storage_dims(name)
        if has_sim(name):
            chunks = (min(chunk_size, n_sims), *arr.shape[1:])
            # one dask chunk: never computed, so a graph of one task per zarr chunk would only
            # cost its construction (60 ms a split for 50 chunks, on the run's critical path)
            data = da.zeros((n_sims, *arr.shape[1:]), chunks=-1, dtype=arr.dtype)
            encoding[name] = {"chunks": chunks, "compressors": None}
        else:
            data = np.asarray(arr)
            encoding[name] = {"compressors": None}
        data_vars[name] = xr.Variable(dims, data, attrs=variable_attrs(name))
    coords = {
        "sim": xr.Variable("sim", np.arange(n_sims, dtype=np.int64), {"long_name": "simulation"}),
        "time": xr.Variable(
            "time",
            np.asarray(probe.time, dtype=np.float64),
            {"units": "1", "long_name": "time", "standard_name": "time"},
        ),
    }
    if probe.is_grid:
        for name, values in probe.coords.items():
            coord_attrs = {**GRID_COORD_ATTRS.get(name, {}), **probe.coord_attrs.get(name, {})}
            coords[name] = xr.Variable(name, np.asarray(values), coord_attrs)
    else:
        dim = probe.position.shape[-1]
        coords["space"] = xr.Variable(
            "space", np.array(SPACE_LABELS[:dim], dtype=object), {"long_name": "spatial axis"}
        )
    return xr.Dataset(data_vars, coords=coords, attrs=attrs), encoding
