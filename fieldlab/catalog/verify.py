"""``verify``: recompute every chunk's checksums and report what is missing or corrupted."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import zarr

from fieldlab.catalog.access import store_state
from fieldlab.catalog.loading import load_card
from fieldlab.catalog.location import locate, on_filesystem
from fieldlab.catalog.records import file_checksums, read_records
from fieldlab.errors import DatasetNotFoundError


@dataclass(frozen=True)
class ChunkProblem:
    """A chunk that failed verification: ``problem`` says how."""

    split: str
    chunk: int
    problem: str


@dataclass
class VerifyReport:
    """The outcome of :func:`verify`: chunks checked, and the ones with problems."""

    dataset: str
    store: str
    checked: int = 0
    problems: list[ChunkProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(
    name: str,
    *,
    data_root: str | os.PathLike[str] | None = None,
    catalog: str | os.PathLike[str] | None = None,
) -> VerifyReport:
    """Rehash every chunk file of dataset ``name`` and compare with its completion record.

    A chunk is reported as ``missing`` (no completion record, or a chunk file is gone) or
    ``corrupted`` (a file's digest, with the record's algorithm, differs from the record), naming the variables concerned.
    """
    card = load_card(name, catalog)
    loc = locate(card, data_root)
    state = store_state(loc)
    if state is None or "variables" not in state:
        raise DatasetNotFoundError(
            f"dataset {name!r} has not been generated at {loc.store}; run `fieldlab generate {name}`"
        )
    records = read_records(loc.records)
    report = VerifyReport(name, loc.store)
    for split in card.split_names():
        names = state["variables"][split]
        for chunk in range(card.n_chunks(split)):
            report.checked += 1
            rec = records.get((split, chunk))
            if rec is None:
                report.problems.append(ChunkProblem(split, chunk, "missing: no completion record"))
                continue
            now = file_checksums(loc.store, split, names, chunk, rec.get("hash", "sha256"))
            gone = [k for k in names if now[k] == "missing"]
            bad = [k for k in names if now[k] not in ("missing", rec["checksums"].get(k))]
            if gone:
                report.problems.append(ChunkProblem(split, chunk, f"missing: {', '.join(gone)}"))
            if bad:
                report.problems.append(ChunkProblem(split, chunk, f"corrupted: {', '.join(bad)}"))
    return report


def forget_bad_chunks(
    report: VerifyReport,
    *,
    data_root: str | os.PathLike[str] | None = None,
    catalog: str | os.PathLike[str] | None = None,
) -> int:
    """Delete the records of ``report``'s bad chunks and mark the store unfinished.

    The next ``fieldlab generate`` then rewrites exactly those chunks. Returns how many records
    were deleted.
    """
    if report.ok:
        return 0
    loc = locate(load_card(report.dataset, catalog), data_root)
    deleted = 0
    for chunk in {(p.split, p.chunk) for p in report.problems}:
        fs, path = on_filesystem(loc.record(*chunk))
        if fs.exists(path):
            fs.rm(path)
            deleted += 1
    root = zarr.open_group(loc.store, mode="r+", zarr_format=3)
    root.attrs["state"] = "chunks"
    return deleted
