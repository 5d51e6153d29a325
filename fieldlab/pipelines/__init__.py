"""Pipelines: a dataset card -> chunked generation tasks -> a zarr store with statistics.

:func:`generate` is the entry point; the stages live in their own modules: :mod:`.plan` (chunk
jobs), :mod:`.schema` (the xarray schema and zarr layout), :mod:`.tasks` (what a task runs),
:mod:`.validation` (invalid simulations), :mod:`.statistics` (normalisation statistics) and
:mod:`.cluster` (where tasks run: threads of this process or a Dask cluster). The on-disk
contract the pipeline writes (completion records, seeds, the writer lock) lives below it, in
:mod:`fieldlab.catalog`, where readers find it too. ``generate`` is imported on first use, so
planning loads neither zarr nor the executors.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fieldlab.pipelines.plan import ChunkJob, plan

if TYPE_CHECKING:
    from fieldlab.pipelines.pipeline import GenerationSummary, generate

__all__ = ["ChunkJob", "GenerationSummary", "generate", "plan"]


def __getattr__(name: str) -> Any:
    if name in ("generate", "GenerationSummary"):
        from fieldlab.pipelines import pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module 'fieldlab.pipelines' has no attribute {name!r}")
