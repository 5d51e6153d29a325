"""``verify``: rehash every file of a store against its records and report what is missing or
corrupted; :func:`repair` puts back what can be put back.

Two kinds of record cover the whole store:

- each chunk's completion record (:mod:`fieldlab.catalog.records`) holds the checksums of its chunk
  files, one per per-simulation variable;
- the store record (:mod:`fieldlab.catalog.store_record`), written when the store completes, holds
  the checksums of everything else: the root and split attributes (with the normalisation
  statistics), every array's metadata, the coordinates and the shared variables.

The chunking checked is the store's (from the store record, else the store's root attributes),
never the card's: ``chunk_size`` does not change the fingerprint, so an edited card must not change
what is verified.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from fieldlab.catalog.access import store_state
from fieldlab.catalog.layout import SplitLayout, layout_from_json, stored_layout
from fieldlab.catalog.loading import load_card
from fieldlab.catalog.location import DatasetLocation, locate, on_filesystem
from fieldlab.catalog.lock import WriterLock
from fieldlab.catalog.records import HASH, file_checksums, file_digest, read_records
from fieldlab.catalog.store_record import read_store_record, restore_file
from fieldlab.errors import DatasetError, DatasetNotFoundError


@dataclass(frozen=True)
class StoreProblem:
    """A part of a store that failed verification.

    Attributes:
        split: the split group concerned (``""`` for the root group).
        chunk: the chunk index for chunk data, None for any other file.
        problem: ``missing: ...`` or ``corrupted: ...``, naming the variables or the file.
        key: the store key of the file concerned, where there is one file.
    """

    split: str
    chunk: int | None
    problem: str
    key: str = ""

    @property
    def where(self) -> str:
        """``chunk 3`` or the file's key, for tables."""
        return f"chunk {self.chunk}" if self.chunk is not None else self.key


@dataclass
class VerifyReport:
    """The outcome of :func:`verify`: chunks and other files checked, and the problems found."""

    dataset: str
    store: str
    checked: int = 0
    files_checked: int = 0
    problems: list[StoreProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class RepairSummary:
    """What :func:`repair` did: files restored, chunks forgotten (to be regenerated), and the
    problems it could not repair."""

    restored: list[str] = field(default_factory=list)
    forgotten: list[tuple[str, int]] = field(default_factory=list)
    unrepaired: list[StoreProblem] = field(default_factory=list)


def verify(
    name: str,
    *,
    data_root: str | os.PathLike[str] | None = None,
    catalog: str | os.PathLike[str] | None = None,
) -> VerifyReport:
    """Rehash every file of dataset ``name``'s store and compare with its records.

    A chunk is reported as ``missing`` (no completion record, or a chunk file is gone) or
    ``corrupted`` (a file's digest, with the record's algorithm, differs from the record), naming
    the variables concerned; any other file (attributes and statistics, array metadata,
    coordinates, shared variables) as ``missing`` or ``corrupted``, naming what it holds.

    Raises:
        DatasetNotFoundError: there is no store.
    """
    card = load_card(name, catalog)
    loc = locate(card, data_root)
    record = read_store_record(loc.records)
    report = VerifyReport(name, loc.store)
    layout = _layout(loc, record, report)
    if record is not None:
        _verify_files(loc, record, report)
    records = read_records(loc.records)
    for split, sl in layout.items():
        for chunk in range(sl.n_chunks):
            report.checked += 1
            rec = records.get((split, chunk))
            if rec is None:
                report.problems.append(StoreProblem(split, chunk, "missing: no completion record"))
                continue
            now = file_checksums(loc.store, split, sl.variables, chunk, rec.get("hash", "sha256"))
            gone = [k for k in sl.variables if now[k] == "missing"]
            bad = [k for k in sl.variables if now[k] not in ("missing", rec["checksums"].get(k))]
            if gone:
                report.problems.append(StoreProblem(split, chunk, f"missing: {', '.join(gone)}"))
            if bad:
                report.problems.append(StoreProblem(split, chunk, f"corrupted: {', '.join(bad)}"))
    return report


def repair(
    report: VerifyReport,
    *,
    data_root: str | os.PathLike[str] | None = None,
    catalog: str | os.PathLike[str] | None = None,
) -> RepairSummary:
    """Repair what ``report`` found, holding the store's writer lock.

    A damaged file other than chunk data is restored from its copy beside the store record (after
    checking the copy against the record). A bad chunk's completion record is deleted, so readers
    refuse the store until ``fieldlab generate NAME`` rewrites exactly those chunks, with the same
    bytes as before. Nothing else changes: a store without problems is left as it is.

    Raises:
        DatasetLockedError: a generation of the dataset is running.
    """
    summary = RepairSummary()
    if report.ok:
        return summary
    loc = locate(load_card(report.dataset, catalog), data_root)
    with WriterLock(loc.lock, report.dataset):
        record = read_store_record(loc.records)
        for p in report.problems:
            if p.chunk is not None:
                continue
            if p.key and record is not None and restore_file(loc.store, loc.records, p.key, record):
                summary.restored.append(p.key)
            else:
                summary.unrepaired.append(p)
        for chunk in sorted({(p.split, p.chunk) for p in report.problems if p.chunk is not None}):
            fs, path = on_filesystem(loc.record(*chunk))
            if fs.exists(path):
                fs.rm(path)
            summary.forgotten.append(chunk)
    return summary


def _layout(
    loc: DatasetLocation, record: dict[str, Any] | None, report: VerifyReport
) -> dict[str, SplitLayout]:
    """The store's layout: from its store record, else from its root attributes."""
    if record is not None:
        return layout_from_json(record["layout"])
    try:
        state = store_state(loc)
    except DatasetError:
        state = {}
    if state is None:
        raise DatasetNotFoundError(
            f"dataset {loc.name!r} has not been generated at {loc.store}; "
            f"run `fieldlab generate {loc.name}`"
        )
    try:
        layout = stored_layout(state)
    except KeyError:
        raise DatasetError(
            f"dataset {loc.name!r}: the store at {loc.store} has no readable layout (its template "
            f"is unfinished or its root metadata damaged) and no store record; run "
            f"`fieldlab generate {loc.name} --overwrite`"
        ) from None
    if state.get("state") == "complete":
        report.problems.append(
            StoreProblem(
                "",
                None,
                "missing: store record (checksums of attributes, coordinates and shared "
                f"variables); run `fieldlab generate {loc.name}` to write it",
                "store.json",
            )
        )
    return layout


def _verify_files(loc: DatasetLocation, record: dict[str, Any], report: VerifyReport) -> None:
    fs, root = on_filesystem(loc.store)
    algorithm = record.get("hash", HASH)
    for key, entry in sorted(record["files"].items()):
        report.files_checked += 1
        split = key.split("/", 1)[0] if "/" in key else ""
        try:
            now = file_digest(fs, f"{root.rstrip('/')}/{key}", algorithm)
        except FileNotFoundError:
            report.problems.append(StoreProblem(split, None, f"missing: {entry['kind']}", key))
            continue
        if now != entry["checksum"]:
            report.problems.append(StoreProblem(split, None, f"corrupted: {entry['kind']}", key))
