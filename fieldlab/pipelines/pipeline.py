"""``generate``: a card -> a template store -> one task per chunk -> statistics.

Tasks run on threads of this process or on a Dask cluster (:mod:`~fieldlab.pipelines.cluster`
chooses from the card's size, or the caller does); the stages and the bytes are the same.

Stages (each a pure function elsewhere; this module only wires them):

1. prepare the root group of ``<data root>/<name>/<fingerprint>.zarr`` (attributes: the card,
   fingerprint, state) and, per split, the template (:func:`~fieldlab.pipelines.tasks.write_template`);
2. submit :func:`~fieldlab.pipelines.tasks.run_chunk` for every chunk without a completion record,
   showing progress as they finish;
3. merge the records in chunk order: normalisation statistics of the training split, counts of
   resampled simulations; mark the store complete.

The whole run holds the store's writer lock (:class:`~fieldlab.catalog.lock.WriterLock`), taken
before the store is read or removed, so two runs of one card never write one store at once; the
lock of a run that died (``kill -9``, a lost node) is taken over by the next run.

A crash loses at most the chunks in flight: a rerun finds the template and the records, and
submits only the missing chunks (also those whose chunk file was lost since). It resumes with the
store's chunk size, whatever the card now says (``chunk_size`` is not in the fingerprint). Because
every chunk's numbers depend only on (card seed, split, chunk index), a resumed run writes the same
bytes as an uninterrupted one. On completion the store record
(:mod:`fieldlab.catalog.store_record`) checksums everything that is not chunk data.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import zarr
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from fieldlab import __version__
from fieldlab.catalog.access import store_state
from fieldlab.catalog.card import Card
from fieldlab.catalog.layout import missing_chunks, stored_layout
from fieldlab.catalog.loading import load_card
from fieldlab.catalog.location import DatasetLocation, locate, on_filesystem
from fieldlab.catalog.lock import WriterLock
from fieldlab.catalog.records import read_records
from fieldlab.catalog.seeds import split_seed
from fieldlab.catalog.store_record import RECORD as STORE_RECORD
from fieldlab.catalog.store_record import read_store_record, write_store_record
from fieldlab.errors import DatasetError
from fieldlab.pipelines.cluster import DaskTasks, Tasks, choose, tasks
from fieldlab.pipelines.plan import ChunkJob, plan, work
from fieldlab.pipelines.schema import CONVENTIONS
from fieldlab.pipelines.statistics import combine
from fieldlab.pipelines.tasks import run_chunk, write_template

if TYPE_CHECKING:
    from distributed import Client


@dataclass
class GenerationSummary:
    """What a call to :func:`generate` did."""

    dataset: str
    store: str
    chunks: int
    skipped: int
    written: int
    resampled: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def generate(
    name: str,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    data_root: str | None = None,
    overwrite: bool = False,
    catalog: str | None = None,
    client: Client | None = None,
    progress: bool = True,
) -> GenerationSummary:
    """Generate (or finish generating) dataset ``name``.

    Args:
        workers: local threads or worker processes (default: one per core); ignored with an
            address or ``client``.
        scheduler: where tasks run (:mod:`fieldlab.pipelines.cluster`): ``"threads"`` of this
            process, a local cluster of ``"processes"``, or the address of an existing
            dask.distributed scheduler, e.g. ``tcp://host:8786``. Default: threads for a card of
            a few seconds' work (:func:`~fieldlab.pipelines.plan.work`), else processes.
        data_root: local path or fsspec URL (default ``$FIELDLAB_DATA`` or ``./data``).
        overwrite: delete the store and its records first.
        catalog: the card directory (default ``$FIELDLAB_CATALOG`` or the repository's).
        client: an existing Dask client to use (takes precedence over ``scheduler``).
        progress: show a progress bar.
    """
    t0 = time.perf_counter()
    card = load_card(name, catalog)
    loc = locate(card, data_root)
    with WriterLock(loc.lock, name) as lock:  # before anything is read or removed
        if overwrite:
            _remove(loc)
        state = _read_state(loc)
        resume = state is not None and state.get("state") in ("chunks", "complete")
        if resume and state.get("state") == "complete" and _still_complete(loc, state):
            if read_store_record(loc.records) is None:  # a crash right after completion
                write_store_record(loc.store, loc.records, stored_layout(state))
            n = sum(sl.n_chunks for sl in stored_layout(state).values())
            return GenerationSummary(name, loc.store, n, n, 0, dict(state.get("resampled", {})))
        if resume:
            _reopen(loc, state)
        session = (
            nullcontext(DaskTasks(client))
            if client is not None
            else tasks(choose(scheduler, work(card)), workers)
        )
        with session as c:
            if not resume:
                _write_templates(c, card, loc)
            else:
                # the store's chunking wins: chunk_size does not enter the fingerprint, so an
                # edited card must resume the store as it was laid out
                card = card.model_copy(update={"chunk_size": int(state["chunk_size"])})
            done = read_records(loc.records)
            jobs = [j for j in plan(card, loc) if (j.split, j.chunk) not in done]
            total = sum(card.n_chunks(s) for s in card.split_names())
            with _progress(progress, name, total, total - len(jobs)) as advance:
                _run(c, jobs, advance, lock)
        lock.check()  # never mark complete a store that another writer has taken over
        resampled = _finalise(card, loc)
    return GenerationSummary(
        name, loc.store, total, total - len(jobs), len(jobs), resampled, time.perf_counter() - t0
    )


def dataset_attrs(card: Card, loc: DatasetLocation, split: str) -> dict[str, Any]:
    """The attributes of split ``split``'s xarray Dataset."""
    attrs = {
        "title": card.description,
        "dataset": card.name,
        "split": split,
        "simulator": card.simulator,
        "simulator_version": card.simulator_version,
        "params": card.resolved_params(split),
        "seed": card.seed,
        "split_seed": split_seed(card.seed, split),
        "fingerprint": loc.fingerprint,
        "fieldlab_version": __version__,
        "references": card.reference,
        "Conventions": CONVENTIONS,
        "history": f"{_now()}: fieldlab {__version__} generate {card.name}",
    }
    if card.task is not None:
        attrs["task"] = card.task.model_dump(mode="json")
    return attrs


def _write_templates(client: Tasks, card: Card, loc: DatasetLocation) -> None:
    _remove(loc)
    root = zarr.open_group(
        loc.store,
        mode="w",
        zarr_format=3,
        attributes={
            "dataset": card.name,
            "fingerprint": loc.fingerprint,
            "card": card.model_dump(mode="json"),
            "chunk_size": card.chunk_size,
            "splits": card.split_names(),
            "fieldlab_version": __version__,
            "Conventions": CONVENTIONS,
            "state": "template",
        },
    )
    futures = {
        s: client.submit(
            write_template,
            loc.store,
            s,
            card.simulator,
            card.resolved_params(s),
            split_seed(card.seed, s),
            card.splits[s].n_sims,
            card.chunk_size,
            dataset_attrs(card, loc, s),
            key=f"template-{card.name}-{s}-{uuid.uuid4().hex[:8]}",
        )
        for s in card.split_names()
    }
    variables = {s: f.result() for s, f in futures.items()}
    root.update_attributes({"variables": variables, "state": "chunks"})


def _run(client: Tasks, jobs: list[ChunkJob], advance: Any, lock: WriterLock) -> None:
    """Run ``jobs``, longest first (earlier submissions get higher priority), so the run does
    not end waiting on one long chunk; raise the first task error after cancelling the rest,
    and stop if the writer lock is lost."""
    jobs = sorted(jobs, key=lambda j: -j.cost)
    if client.threads_per_task != 1:
        jobs = [replace(j, threads=client.threads_per_task) for j in jobs]
    futures = [
        client.submit(
            run_chunk, j, key=f"{j.dataset}-{j.split}-{j.chunk:06d}-{uuid.uuid4().hex[:8]}"
        )
        for j in jobs
    ]
    try:
        for fut in client.as_completed(futures):
            fut.result()  # raises the task's error, e.g. invalid simulations
            advance()
            if lock.lost:
                lock.check()  # raises, naming the new holder
    finally:
        client.cancel(futures)


def _finalise(card: Card, loc: DatasetLocation) -> dict[str, int]:
    records = read_records(loc.records)
    missing = [
        (s, i) for s in card.split_names() for i in range(card.n_chunks(s)) if (s, i) not in records
    ]
    if missing:
        raise DatasetError(
            f"dataset {card.name!r}: chunks {missing[:10]} have no completion record"
        )
    stats = combine(records[("train", i)]["statistics"] for i in range(card.n_chunks("train")))
    resampled = {
        s: sum(records[(s, i)]["resampled"] for i in range(card.n_chunks(s)))
        for s in card.split_names()
    }
    for s in card.split_names():
        group = zarr.open_group(loc.store, path=s, mode="r+", zarr_format=3)
        group.update_attributes({"normalisation": stats, "resampled": resampled[s]})
    root = zarr.open_group(loc.store, mode="r+", zarr_format=3)
    root.update_attributes(
        {
            "statistics": stats,
            "resampled": resampled,
            "state": "complete",
            "history": f"{_now()}: fieldlab {__version__} generate {card.name}",
        }
    )
    write_store_record(loc.store, loc.records, stored_layout(dict(root.attrs)))
    return resampled


def _read_state(loc: DatasetLocation) -> dict[str, Any] | None:
    """The store's root attributes; None if there is no store or its root is unreadable (then
    the templates are written again)."""
    try:
        return store_state(loc)
    except DatasetError:
        return None


def _still_complete(loc: DatasetLocation, state: dict[str, Any]) -> bool:
    """Whether a store marked complete still has every chunk's record and files."""
    try:
        layout = stored_layout(state)
    except KeyError:
        return False
    return not missing_chunks(loc.store, loc.records, layout)


def _reopen(loc: DatasetLocation, state: dict[str, Any]) -> None:
    """Make a store ready to resume: forget the records of chunks whose files are gone, drop the
    store record (the attributes are about to change) and mark the store unfinished, so the run
    rewrites exactly the missing chunks."""
    for m in missing_chunks(loc.store, loc.records, stored_layout(state)):
        fs, path = on_filesystem(loc.record(m.split, m.chunk))
        if fs.exists(path):
            fs.rm(path)
    fs, path = on_filesystem(f"{loc.records}/{STORE_RECORD}")
    if fs.exists(path):
        fs.rm(path)
    if state.get("state") != "chunks":
        zarr.open_group(loc.store, mode="r+", zarr_format=3).attrs["state"] = "chunks"


def _remove(loc: DatasetLocation) -> None:
    for url in (loc.store, loc.records):
        fs, path = on_filesystem(url)
        if fs.exists(path):
            fs.rm(path, recursive=True)


@contextmanager
def _progress(show: bool, name: str, total: int, done: int) -> Iterator[Any]:
    if not show:
        yield lambda: None
        return
    columns = (
        TextColumn(f"generating {name}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("chunks"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, transient=False) as bar:
        task = bar.add_task(name, total=total, completed=done)
        yield lambda: bar.advance(task)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
