"""Reading generated datasets: :func:`open_dataset` and :func:`open_statistics`.

Models read datasets only through these: they resolve the card, its fingerprint and the store, and
refuse a store that was not generated completely.
"""

from __future__ import annotations

import os
from typing import Any

import xarray as xr
import zarr

from fieldlab.catalog.card import Card
from fieldlab.catalog.loading import load_card
from fieldlab.catalog.location import DatasetLocation, locate
from fieldlab.errors import DatasetError, DatasetNotFoundError

PathLike = str | os.PathLike[str]


def open_dataset(
    name: str,
    split: str = "train",
    *,
    data_root: PathLike | None = None,
    catalog: PathLike | None = None,
) -> xr.Dataset:
    """The lazy (dask-backed) xarray Dataset of ``split`` of dataset ``name``.

    Variables are ``position``, ``velocity`` ``(sim, time, particle, space)`` and the system's
    per-particle, pair and source variables; ``attrs["normalisation"]`` holds the training split's
    statistics.

    Raises:
        UnknownDatasetError: no card is named ``name``.
        DatasetNotFoundError: the dataset has not been generated (completely) under the data root.
        DatasetError: the card has no split ``split``.
    """
    card, loc = _complete(name, data_root, catalog)
    if split not in card.splits:
        raise DatasetError(
            f"dataset {name!r} has no split {split!r}; choose one of: {', '.join(card.split_names())}"
        )
    return xr.open_zarr(loc.store, group=split, consolidated=False, zarr_format=3)


def open_statistics(
    name: str, *, data_root: PathLike | None = None, catalog: PathLike | None = None
) -> dict[str, dict[str, float]]:
    """Normalisation statistics of ``name``'s training split: quantity -> mean, std, min, max."""
    _, loc = _complete(name, data_root, catalog)
    return dict(zarr.open_group(loc.store, mode="r", zarr_format=3).attrs["statistics"])


def store_state(loc: DatasetLocation) -> dict[str, Any] | None:
    """The root attributes of the store at ``loc``, or None if there is no store."""
    try:
        return dict(zarr.open_group(loc.store, mode="r", zarr_format=3).attrs)
    except (FileNotFoundError, zarr.errors.GroupNotFoundError, zarr.errors.NodeNotFoundError):
        return None


def _complete(
    name: str, data_root: PathLike | None, catalog: PathLike | None
) -> tuple[Card, DatasetLocation]:
    card = load_card(name, catalog)
    loc = locate(card, data_root)
    state = store_state(loc)
    if state is None or state.get("state") != "complete":
        how = "has not been generated" if state is None else "was not generated completely"
        raise DatasetNotFoundError(
            f"dataset {name!r} {how} at {loc.store}; run `fieldlab generate {name}` "
            "(with the same --data-root / FIELDLAB_DATA)"
        )
    return card, loc
