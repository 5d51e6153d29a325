"""The store record: checksums of every file of a complete store that is not a chunk of data.

Chunk files have their completion records; everything else in the store (the root and split
groups' ``zarr.json``, which hold the attributes and the normalisation statistics, each array's
metadata, the coordinates ``sim``, ``time``, ``space`` / ``x``, ``y``, and the variables shared by
all simulations) is covered by one record written when the store completes::

    <fingerprint>.records/store.json          {"hash": "blake3", "layout": {...},
                                               "files": {"zarr.json": {"checksum": ..., "kind": ...},
                                                         "train/time/c/0": {...}, ...}}
    <fingerprint>.records/store-files/<key>   a copy of each of those files

These files are small (metadata, one value per frame or per simulation, shared sources), so a copy
of each is kept beside the record: ``catalog verify --repair`` restores a damaged one from its
copy, after checking the copy against the record's checksum. ``layout`` is the store's layout
(:mod:`fieldlab.catalog.layout`), so verification does not depend on the root ``zarr.json`` it
checks.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import fsspec

from fieldlab.catalog.layout import SplitLayout, chunk_files, layout_to_json, store_files
from fieldlab.catalog.records import HASH, file_digest, write_record
from fieldlab.simulators import VARIABLES

RECORD = "store.json"
COPIES = "store-files"


def kind_of(key: str, layout: Mapping[str, SplitLayout]) -> str:
    """What the file at store key ``key`` holds, in words (``coordinate time of split train``)."""
    parts = key.split("/")
    if parts == ["zarr.json"]:
        return "root attributes and statistics"
    if len(parts) == 2 and parts[1] == "zarr.json":
        return f"attributes and statistics of split {parts[0]}"
    split, name = parts[0], parts[1] if len(parts) > 1 else ""
    if split in layout and name in layout[split].variables:
        what = "variable"
    else:
        what = "shared variable" if name in VARIABLES else "coordinate"
    if parts[-1] == "zarr.json":
        return f"metadata of {what} {name} of split {split}"
    return f"{what} {name} of split {split}"


def write_store_record(
    store: str, records: str, layout: Mapping[str, SplitLayout], algorithm: str = HASH
) -> dict[str, Any]:
    """Hash and copy every non-chunk file of ``store``; write the record last. Returns it."""
    fs, root = fsspec.core.url_to_fs(store)
    root = root.rstrip("/")
    rfs, rroot = fsspec.core.url_to_fs(records)
    rroot = rroot.rstrip("/")
    if rfs.exists(f"{rroot}/{COPIES}"):
        rfs.rm(f"{rroot}/{COPIES}", recursive=True)
    files = {}
    for key in sorted(store_files(store) - chunk_files(layout)):
        copy = f"{rroot}/{COPIES}/{key}"
        rfs.makedirs(copy.rsplit("/", 1)[0], exist_ok=True)
        rfs.pipe_file(copy, fs.cat_file(f"{root}/{key}"))
        files[key] = {
            "checksum": file_digest(fs, f"{root}/{key}", algorithm),
            "kind": kind_of(key, layout),
        }
    record = {"hash": algorithm, "layout": layout_to_json(layout), "files": files}
    write_record(f"{records.rstrip('/')}/{RECORD}", record)
    return record


def read_store_record(records: str) -> dict[str, Any] | None:
    """The store record under ``records``, or None if there is none (or it is unreadable)."""
    fs, root = fsspec.core.url_to_fs(records)
    try:
        return json.loads(fs.cat_file(f"{root.rstrip('/')}/{RECORD}"))
    except (FileNotFoundError, ValueError):
        return None


def restore_file(store: str, records: str, key: str, record: Mapping[str, Any]) -> bool:
    """Put back store file ``key`` from its copy if the copy matches the record; True if done."""
    algorithm = record.get("hash", HASH)
    rfs, rroot = fsspec.core.url_to_fs(records)
    copy = f"{rroot.rstrip('/')}/{COPIES}/{key}"
    try:
        if file_digest(rfs, copy, algorithm) != record["files"][key]["checksum"]:
            return False
        data = rfs.cat_file(copy)
    except FileNotFoundError:
        return False
    fs, root = fsspec.core.url_to_fs(store)
    target = f"{root.rstrip('/')}/{key}"
    fs.makedirs(target.rsplit("/", 1)[0], exist_ok=True)
    tmp = f"{target}.restoring"
    fs.pipe_file(tmp, data)
    fs.mv(tmp, target)
    return True
