"""``fieldlab generate NAME``: generate a catalogued dataset, in threads of this process or on a
Dask cluster."""

from __future__ import annotations

from typing import Annotated

import typer

from fieldlab.cli.errors import fail
from fieldlab.cli.options import DataRoot

LOCAL = ("threads", "processes")


def generate(
    name: Annotated[str, typer.Argument(help="A dataset name from `fieldlab catalog list`.")],
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            "-w",
            min=1,
            help="Local threads or worker processes (default: one per core).",
        ),
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(
            "--scheduler",
            help="Where tasks run: 'threads' (this process), 'processes' (a local Dask "
            "cluster) or the address of an existing Dask scheduler, e.g. tcp://host:8786. "
            "Default: threads for a card of a few seconds' work, else processes.",
        ),
    ] = None,
    data_root: DataRoot = None,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Delete the dataset's store first.")
    ] = False,
) -> None:
    """Generate dataset NAME; a rerun resumes, skipping the chunks already written."""
    from fieldlab.pipelines.pipeline import generate as run

    if workers is not None and scheduler is not None and scheduler not in LOCAL:
        raise fail("--workers sizes a local pool or cluster; omit it with --scheduler ADDRESS")
    s = run(name, workers=workers, scheduler=scheduler, data_root=data_root, overwrite=overwrite)
    resampled = sum(s.resampled.values())
    typer.echo(
        f"{name}: {s.written} chunk(s) written, {s.skipped} already done, "
        f"{resampled} simulation(s) resampled, in {s.seconds:.1f} s -> {s.store}"
    )
