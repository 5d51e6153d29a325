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

:func:`template` states the layout as a lazy xarray Dataset; :func:`write_template_group` writes
that same layout (the same metadata and coordinate bytes as ``template(...).to_zarr(...,
compute=False)``, which the tests check) with zarr alone, so that generation imports neither
xarray, pandas nor dask.array (about a second of a small card's run).
"""

from __future__ import annotations

import base64
import struct
from typing import TYPE_CHECKING, Any

import numpy as np

from fieldlab.simulators import VARIABLES, SimulationResult

if TYPE_CHECKING:
    import xarray as xr

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
    import dask.array as da
    import xarray as xr

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
        name: xr.Variable(name, values, coord_attrs)
        for name, (values, coord_attrs) in coordinates(probe, n_sims).items()
    }
    return xr.Dataset(data_vars, coords=coords, attrs=attrs), encoding


def coordinates(
    probe: SimulationResult, n_sims: int
) -> dict[str, tuple[np.ndarray, dict[str, Any]]]:
    """The split's coordinates, ``{name: (values, attributes)}``: ``sim``, ``time`` and
    ``space`` (particles) or the grid's own (grids)."""
    coords = {
        "sim": (np.arange(n_sims, dtype=np.int64), {"long_name": "simulation"}),
        "time": (
            np.asarray(probe.time, dtype=np.float64),
            {"units": "1", "long_name": "time", "standard_name": "time"},
        ),
    }
    if probe.is_grid:
        for name, values in probe.coords.items():
            coord_attrs = {**GRID_COORD_ATTRS.get(name, {}), **probe.coord_attrs.get(name, {})}
            coords[name] = (np.asarray(values), coord_attrs)
    else:
        dim = probe.position.shape[-1]
        coords["space"] = (
            np.array(SPACE_LABELS[:dim], dtype=object),
            {"long_name": "spatial axis"},
        )
    return coords


def write_template_group(
    store: str,
    split: str,
    probe: SimulationResult,
    n_sims: int,
    chunk_size: int,
    attrs: dict[str, Any],
) -> None:
    """Write group ``split`` of ``store`` as ``template(probe, n_sims, chunk_size, attrs)``
    would be written by xarray (``mode="w"``, ``compute=False``, zarr format 3, not
    consolidated): the group and its attributes, every array's metadata, the coordinates and
    the shared variables; no chunk of a per-simulation variable."""
    import zarr

    group = zarr.open_group(store, path=split, mode="w", zarr_format=3, attributes=attrs)
    for name, arr in probe.variables.items():
        shared = not has_sim(name)
        shape = arr.shape if shared else (n_sims, *arr.shape[1:])
        chunks = shape if shared else (min(chunk_size, n_sims), *arr.shape[1:])
        array = _create(
            group, name, shape, chunks, arr.dtype, storage_dims(name), variable_attrs(name), None
        )
        if shared:
            array[...] = np.asarray(arr)
    for name, (values, coord_attrs) in coordinates(probe, n_sims).items():
        array = _create(group, name, values.shape, values.shape, values.dtype, (name,),
                        coord_attrs, "auto")  # fmt: skip
        array[...] = values


def _create(
    group: Any,
    name: str,
    shape: tuple[int, ...],
    chunks: tuple[int, ...],
    dtype: np.dtype,
    dims: tuple[str, ...],
    attrs: dict[str, Any],
    compressors: Any,
) -> Any:
    """An array as xarray creates it: floats get NaN as fill value, also recorded (base64, as
    xarray's ``FillValueCoder``) in the ``_FillValue`` attribute; text is variable-length."""
    attrs = dict(attrs)
    fill_value = None
    if dtype.kind == "f":
        fill_value = np.nan
        attrs["_FillValue"] = base64.standard_b64encode(struct.pack("<d", np.nan)).decode()
    if dtype.kind == "O":
        dtype = np.dtype(str)
    return group.create_array(
        name,
        shape=shape,
        chunks=chunks,
        dtype=str if dtype.kind == "U" else dtype,
        fill_value=fill_value,
        compressors=compressors,
        dimension_names=dims,
        attributes=attrs,
        overwrite=True,
    )
