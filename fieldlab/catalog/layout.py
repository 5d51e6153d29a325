"""A store's layout as written: per split, its per-simulation variables and how many chunks each has.

The layout comes from the store (the root group's attributes, written with the template), never
from the card: ``chunk_size`` does not enter the fingerprint, so after a card's chunk size is
edited the card and an existing store disagree, and the store is what is on disk.

:func:`missing_chunks` is the readers' completeness check: a chunk is missing when it has no
completion record or one of its chunk files is gone (zarr would read a missing chunk file back as
the fill value, NaN, without a word).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import fsspec

from fieldlab.catalog.records import chunk_key


@dataclass(frozen=True)
class SplitLayout:
    """One split group: its per-simulation variables and the number of chunks along ``sim``."""

    variables: tuple[str, ...]
    n_sims: int
    chunk_size: int

    @property
    def n_chunks(self) -> int:
        return -(-self.n_sims // self.chunk_size)


@dataclass(frozen=True)
class MissingChunk:
    """A chunk that a complete store must have but this one lacks: ``what`` says which part."""

    split: str
    chunk: int
    what: str


def stored_layout(attrs: Mapping[str, Any]) -> dict[str, SplitLayout]:
    """The layout recorded in a store's root attributes (``variables``, ``chunk_size``, ``card``).

    Raises:
        KeyError: the attributes predate the template (the store was never templated).
    """
    chunk_size = int(attrs["chunk_size"])
    splits = attrs["card"]["splits"]
    return {
        s: SplitLayout(tuple(names), int(splits[s]["n_sims"]), chunk_size)
        for s, names in attrs["variables"].items()
    }


def layout_to_json(layout: Mapping[str, SplitLayout]) -> dict[str, Any]:
    """``layout`` as plain JSON (for the store record)."""
    return {
        s: {"variables": list(sl.variables), "n_sims": sl.n_sims, "chunk_size": sl.chunk_size}
        for s, sl in layout.items()
    }


def layout_from_json(raw: Mapping[str, Any]) -> dict[str, SplitLayout]:
    """The inverse of :func:`layout_to_json`."""
    return {
        s: SplitLayout(tuple(v["variables"]), int(v["n_sims"]), int(v["chunk_size"]))
        for s, v in raw.items()
    }


def chunk_files(layout: Mapping[str, SplitLayout]) -> set[str]:
    """Keys (relative to the store) of every chunk file a complete store holds."""
    return {
        chunk_key(split, name, chunk)
        for split, sl in layout.items()
        for name in sl.variables
        for chunk in range(sl.n_chunks)
    }


def store_files(store: str) -> set[str]:
    """Keys (relative to the store) of every file in the store; one listing."""
    fs, root = fsspec.core.url_to_fs(store)
    root = root.rstrip("/")
    if not fs.exists(root):
        return set()
    return {p.removeprefix(root).lstrip("/") for p in fs.find(root)}


def recorded_chunks(records: str) -> set[tuple[str, int]]:
    """``(split, chunk)`` of every completion record under ``records``, from one listing."""
    fs, root = fsspec.core.url_to_fs(records)
    root = root.rstrip("/")
    if not fs.exists(root):
        return set()
    out = set()
    for path in fs.find(root):
        split, _, name = path.removeprefix(root).strip("/").rpartition("/")
        if name.endswith(".json") and "/" not in split and name[:-5].isdigit():
            out.add((split, int(name[:-5])))
    return out


def missing_chunks(
    store: str, records: str, layout: Mapping[str, SplitLayout]
) -> list[MissingChunk]:
    """Every chunk of ``layout`` without a completion record or with a chunk file gone."""
    files = store_files(store)
    recorded = recorded_chunks(records)
    out = []
    for split, sl in layout.items():
        for chunk in range(sl.n_chunks):
            if (split, chunk) not in recorded:
                out.append(MissingChunk(split, chunk, "no completion record"))
                continue
            gone = [n for n in sl.variables if chunk_key(split, n, chunk) not in files]
            if gone:
                out.append(MissingChunk(split, chunk, f"chunk file of {', '.join(gone)} gone"))
    return out


def describe_missing(missing: list[MissingChunk], limit: int = 8) -> str:
    """``train chunk 3 (no completion record), test chunk 1 (chunk file of charge gone)``."""
    parts = [f"{m.split} chunk {m.chunk} ({m.what})" for m in missing[:limit]]
    more = f" and {len(missing) - limit} more" if len(missing) > limit else ""
    return ", ".join(parts) + more
