"""The two kinds of generation task, run on a thread of this process or a Dask worker.

- :func:`write_template`: one per split, before any chunk: simulates one probe simulation for
  shapes and shared variables, writes the split's zarr metadata, coordinates and shared variables.
- :func:`run_chunk`: simulates one chunk, validates it, writes it as a region of the template
  (exactly one zarr chunk per variable), hashes the stored chunk files, and writes the completion
  record last.

Both are pure functions of their (plain-data) arguments, so any worker can run any task.
"""

from __future__ import annotations

from typing import Any

import zarr

from fieldlab.catalog.records import HASH, combined_checksum, file_checksums, write_record
from fieldlab.pipelines.plan import ChunkJob
from fieldlab.pipelines.schema import has_sim, write_template_group
from fieldlab.pipelines.statistics import chunk_statistics
from fieldlab.pipelines.validation import repair
from fieldlab.simulators import simulate


def write_template(
    store: str,
    split: str,
    system: str,
    params: dict[str, Any],
    seed: int,
    n_sims: int,
    chunk_size: int,
    attrs: dict[str, Any],
) -> list[str]:
    """Write group ``split`` of ``store`` with no chunk data; return its per-simulation variables."""
    probe = simulate(system, 1, seed, params, threads=1, on_nonfinite="flag")
    write_template_group(store, split, probe, n_sims, chunk_size, attrs)
    return sorted(k for k in probe.variables if has_sim(k))


def run_chunk(job: ChunkJob) -> dict[str, Any]:
    """Generate, write and record one chunk; return its completion record."""
    result = simulate(
        job.system,
        job.n_sims,
        job.seed,
        job.params,
        first_sim=job.start,
        threads=job.threads,
        on_nonfinite="flag",
    )
    variables, n_resampled = repair(job, result)
    names = [k for k in variables if has_sim(k)]
    group = zarr.open_group(job.store, path=job.split, mode="r+", zarr_format=3)
    # zarr skips a chunk equal to the array's fill value unless told otherwise; every chunk must
    # have its file for its checksum to mean anything (xarray's NaN fill never equals valid data
    # today, but the record should not depend on an encoding default)
    with zarr.config.set({"array.write_empty_chunks": True}):
        for name in names:  # a region aligned to one chunk of each array
            group[name][job.start : job.stop] = variables[name]
    checksums = file_checksums(job.store, job.split, names, job.chunk)
    record = {
        "dataset": job.dataset,
        "fingerprint": job.fingerprint,
        "split": job.split,
        "chunk": job.chunk,
        "start": job.start,
        "stop": job.stop,
        "hash": HASH,
        "checksums": checksums,
        "checksum": combined_checksum(checksums),
        "resampled": n_resampled,
        "clipped": int(result.status.clipped.sum()),
        "statistics": chunk_statistics(variables) if job.statistics else None,
    }
    write_record(job.record, record)
    return record
