"""Reading generated datasets: :func:`open_dataset` and :func:`open_statistics`.

Models read datasets only through these: they resolve the card, its fingerprint and the store, and
refuse a store that was not generated completely: one not marked complete, or one with a chunk
that has no completion record or whose chunk file is gone (zarr would read it back as NaN). The
check costs one listing of the store and one of its records; ``catalog verify`` rehashes the bytes.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from fieldlab.catalog.card import Card
from fieldlab.catalog.layout import describe_missing, missing_chunks, stored_layout
from fieldlab.catalog.loading import load_card
from fieldlab.catalog.location import DatasetLocation, locate
from fieldlab.catalog.lock import read_holder
from fieldlab.errors import DatasetError, DatasetIncompleteError, DatasetNotFoundError

if TYPE_CHECKING:
    import xarray as xr

PathLike = str | os.PathLike[str]


def open_dataset(
    name: str,
    split: str = "train",
    *,
    data_root: PathLike | None = None,
    catalog: PathLike | None = None,
    dask: bool = True,
) -> xr.Dataset:
    """The lazy xarray Dataset of ``split`` of dataset ``name``: dask-backed, or with
    ``dask=False`` backed by xarray's lazily indexed zarr arrays, which read what is indexed when
    it is asked for (for callers that read whole variables at once, such as the training loaders:
    importing dask and scheduling its graph cost them about half a second a run).

    Variables are ``position``, ``velocity`` ``(sim, time, particle, space)`` and the system's
    per-particle, pair and source variables; ``attrs["normalisation"]`` holds the training split's
    statistics.

    Raises:
        UnknownDatasetError: no card is named ``name``.
        DatasetNotFoundError: the dataset has not been generated under the data root.
        DatasetIncompleteError: the store is unfinished or lost chunks; the message names them.
        DatasetError: the card has no split ``split``, or the store's metadata is unreadable.
    """
    card, loc = _complete(name, data_root, catalog)
    if split not in card.splits:
        raise DatasetError(
            f"dataset {name!r} has no split {split!r}; choose one of: {', '.join(card.split_names())}"
        )
    import xarray as xr  # here, not at import: generation and listings never need it

    chunking = {} if dask else {"chunks": None}  # dask's chunks are the stored ones
    return xr.open_zarr(loc.store, group=split, consolidated=False, zarr_format=3, **chunking)


def open_statistics(
    name: str, *, data_root: PathLike | None = None, catalog: PathLike | None = None
) -> dict[str, dict[str, float]]:
    """Normalisation statistics of ``name``'s training split: quantity -> mean, std, min, max."""
    import zarr

    _, loc = _complete(name, data_root, catalog)
    return dict(zarr.open_group(loc.store, mode="r", zarr_format=3).attrs["statistics"])


def store_state(loc: DatasetLocation) -> dict[str, Any] | None:
    """The root attributes of the store at ``loc``, or None if there is no store.

    Raises:
        DatasetError: the root ``zarr.json`` exists but cannot be read.
    """
    import zarr

    try:
        return dict(zarr.open_group(loc.store, mode="r", zarr_format=3).attrs)
    except (FileNotFoundError, zarr.errors.GroupNotFoundError, zarr.errors.NodeNotFoundError):
        return None
    except (ValueError, TypeError, KeyError) as err:
        raise DatasetError(
            f"dataset {loc.name!r}: the root metadata of {loc.store} is unreadable ({err}); run "
            f"`fieldlab catalog verify {loc.name} --repair` to restore it from the store record"
        ) from None


def _complete(
    name: str, data_root: PathLike | None, catalog: PathLike | None
) -> tuple[Card, DatasetLocation]:
    card = load_card(name, catalog)
    loc = locate(card, data_root)
    state = store_state(loc)
    finish = f"run `fieldlab generate {name}` (with the same --data-root / FIELDLAB_DATA)"
    holder = read_holder(loc.lock)
    if holder is not None and holder.stale_reason() is None:
        finish = f"it is being generated now ({holder.describe()}): wait for that run to finish"
    if state is None:
        raise DatasetNotFoundError(
            f"dataset {name!r} has not been generated at {loc.store}; {finish}"
        )
    try:
        layout = stored_layout(state)
    except KeyError:  # the template was never finished
        raise DatasetIncompleteError(
            f"dataset {name!r} was not generated completely at {loc.store}: its template is "
            f"unfinished; {finish}"
        ) from None
    missing = missing_chunks(loc.store, loc.records, layout)
    if state.get("state") != "complete" or missing:
        which = f"missing {describe_missing(missing)}" if missing else "it is not marked complete"
        if state.get("state") == "complete":
            finish = f"run `fieldlab generate {name}` (same --data-root) to rewrite them"
        raise DatasetIncompleteError(
            f"dataset {name!r} was not generated completely at {loc.store}: {which}; {finish}"
        )
    return card, loc
