"""The data catalog: dataset cards, their fingerprints and stores, and access to generated data.

>>> from fieldlab.catalog import open_dataset
>>> ds = open_dataset("nri-charged-2d-mini", "train")     # lazy xarray Dataset
>>> ds.position.dims
('sim', 'time', 'particle', 'space')

Names are re-exported lazily (on first use), so that importing one module of the catalog, e.g.
:mod:`fieldlab.catalog.card` for the generation of a dataset, does not import xarray and the
readers' stack with it. ``fingerprint`` and ``verify`` are bound at once: they share their names
with their modules, which an import of the module would otherwise leave bound here.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from fieldlab.catalog.fingerprint import fingerprint
from fieldlab.catalog.verify import verify

if TYPE_CHECKING:
    from fieldlab.catalog.access import open_dataset, open_statistics
    from fieldlab.catalog.card import SPLITS, Card, FrameWindow, SplitSpec, TaskSpec, ValidationSpec
    from fieldlab.catalog.fingerprint import canonical_json, fingerprint_payload
    from fieldlab.catalog.loading import (
        CatalogScan,
        card_names,
        card_path,
        catalog_dir,
        check_name,
        load_card,
        read_card,
        scan_cards,
    )
    from fieldlab.catalog.location import DatasetLocation, data_root, locate
    from fieldlab.catalog.lock import LockHolder, WriterLock
    from fieldlab.catalog.verify import RepairSummary, StoreProblem, VerifyReport, repair

__all__ = [
    "SPLITS",
    "Card",
    "CatalogScan",
    "DatasetLocation",
    "FrameWindow",
    "LockHolder",
    "RepairSummary",
    "SplitSpec",
    "StoreProblem",
    "TaskSpec",
    "ValidationSpec",
    "VerifyReport",
    "WriterLock",
    "canonical_json",
    "card_names",
    "card_path",
    "catalog_dir",
    "check_name",
    "data_root",
    "fingerprint",
    "fingerprint_payload",
    "load_card",
    "locate",
    "open_dataset",
    "open_statistics",
    "read_card",
    "repair",
    "scan_cards",
    "verify",
]

_MODULES = {
    "open_dataset": "access",
    "open_statistics": "access",
    "SPLITS": "card",
    "Card": "card",
    "FrameWindow": "card",
    "SplitSpec": "card",
    "TaskSpec": "card",
    "ValidationSpec": "card",
    "canonical_json": "fingerprint",
    "fingerprint_payload": "fingerprint",
    "CatalogScan": "loading",
    "card_names": "loading",
    "card_path": "loading",
    "catalog_dir": "loading",
    "check_name": "loading",
    "load_card": "loading",
    "read_card": "loading",
    "scan_cards": "loading",
    "DatasetLocation": "location",
    "data_root": "location",
    "locate": "location",
    "LockHolder": "lock",
    "WriterLock": "lock",
    "RepairSummary": "verify",
    "StoreProblem": "verify",
    "VerifyReport": "verify",
    "repair": "verify",
}


def __getattr__(name: str) -> Any:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module 'fieldlab.catalog' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"fieldlab.catalog.{module}"), name)
    globals()[name] = value
    return value
