"""The data catalog: dataset cards, their fingerprints and stores, and access to generated data.

>>> from fieldlab.catalog import open_dataset
>>> ds = open_dataset("nri-charged-2d-mini", "train")     # lazy xarray Dataset
>>> ds.position.dims
('sim', 'time', 'particle', 'space')
"""

from fieldlab.catalog.access import open_dataset, open_statistics
from fieldlab.catalog.card import SPLITS, Card, FrameWindow, SplitSpec, TaskSpec, ValidationSpec
from fieldlab.catalog.fingerprint import canonical_json, fingerprint, fingerprint_payload
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
from fieldlab.catalog.verify import RepairSummary, StoreProblem, VerifyReport, repair, verify

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
