"""Where datasets live: ``<data root>/<name>/<fingerprint>.zarr``.

The data root is, in order: the ``data_root`` argument, ``$FIELDLAB_DATA``, ``./data``. It is a
local path or any fsspec URL (``s3://bucket/prefix``, ``gs://...``, ``memory://``); local paths are
made absolute so that workers on other processes resolve them the same way. Completion records
of the chunks sit beside the store in ``<fingerprint>.records/<split>/<chunk>.json``, outside the
zarr hierarchy, with the store record (``store.json``, :mod:`fieldlab.catalog.store_record`); the
writer lock is ``<fingerprint>.lock`` (:mod:`fieldlab.catalog.lock`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import fsspec

from fieldlab.catalog.card import Card
from fieldlab.catalog.fingerprint import fingerprint


def data_root(root: str | os.PathLike[str] | None = None) -> str:
    """The resolved data root, as an absolute path or a URL."""
    value = os.fspath(root) if root is not None else os.environ.get("FIELDLAB_DATA", "data")
    value = value.removeprefix("file://")  # a local path either way
    if "://" in value:
        return value.rstrip("/")
    return str(Path(value).expanduser().resolve())


@dataclass(frozen=True)
class DatasetLocation:
    """The store of one card under one data root.

    Attributes:
        name: dataset name; fingerprint: its 64 hex digits.
        store: URL or path of the zarr store; records: URL or path of the completion records.
    """

    name: str
    fingerprint: str
    store: str
    records: str

    @property
    def lock(self) -> str:
        """URL or path of the store's writer lock."""
        return self.store.removesuffix(".zarr") + ".lock"

    def record(self, split: str, chunk: int) -> str:
        """Path of the completion record of chunk ``chunk`` of ``split``."""
        return f"{self.records}/{split}/{chunk:06d}.json"

    def filesystem(self) -> tuple[fsspec.AbstractFileSystem, str]:
        """The fsspec filesystem of the store and the store's path on it."""
        return on_filesystem(self.store)


def on_filesystem(url: str) -> tuple[fsspec.AbstractFileSystem, str]:
    """The fsspec filesystem of ``url`` (a path or URL) and the path on it."""
    return fsspec.core.url_to_fs(url)


def locate(card: Card, root: str | os.PathLike[str] | None = None) -> DatasetLocation:
    """Where ``card``'s dataset is (or will be) stored."""
    fp = fingerprint(card)
    base = f"{data_root(root)}/{card.name}/{fp}"
    return DatasetLocation(card.name, fp, f"{base}.zarr", f"{base}.records")
