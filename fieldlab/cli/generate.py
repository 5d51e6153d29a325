"""``fieldlab generate NAME``: generate a catalogued dataset on a Dask cluster."""

from __future__ import annotations

from typing import Annotated

import typer

from fieldlab.cli.errors import fail
from fieldlab.cli.options import DataRoot


def generate(
    name: Annotated[str, typer.Argument(help="A dataset name from `fieldlab catalog list`.")],
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers", "-w", min=1, help="Local worker processes (default: one per core)."
        ),
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(
            "--scheduler", help="Address of an existing Dask scheduler, e.g. tcp://host:8786."
        ),
    ] = None,
    data_root: DataRoot = None,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Delete the dataset's store first.")
    ] = False,
) -> None:
    """Generate dataset NAME; a rerun resumes, skipping the chunks already written."""
    from fieldlab.pipelines.pipeline import generate as run

    if workers is not None and scheduler is not None:
        raise fail("--workers sizes the local cluster; omit it with --scheduler")
    s = run(name, workers=workers, scheduler=scheduler, data_root=data_root, overwrite=overwrite)
    resampled = sum(s.resampled.values())
    typer.echo(
        f"{name}: {s.written} chunk(s) written, {s.skipped} already done, "
        f"{resampled} simulation(s) resampled, in {s.seconds:.1f} s -> {s.store}"
    )
