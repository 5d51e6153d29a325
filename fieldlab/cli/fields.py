"""``fieldlab fields``: compare discovered fields across runs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fieldlab.cli.options import DataRoot, TrackingUri

fields_app = typer.Typer(help="Discovered force fields: compare runs against the true field.")


@fields_app.command("compare")
def compare_command(
    run_ids: Annotated[
        list[str] | None, typer.Argument(help="runs of --model field on one dataset")
    ] = None,
    dataset: Annotated[
        str | None, typer.Option(help="instead of run ids: the latest field runs on this dataset")
    ] = None,
    last: Annotated[int, typer.Option(help="how many of the latest runs (with --dataset)")] = 2,
    comparison: Annotated[
        str | None,
        typer.Option(help="record into this run (default: a new 'fields compare' run)"),
    ] = None,
    out: Annotated[Path, typer.Option(help="where to save the figure")] = Path(
        "field_comparison.png"
    ),
    tracking_uri: TrackingUri = None,
    data_root: DataRoot = None,
) -> None:
    """Score each run's learned field against the true one: the scores go onto each run
    (compared/field_*), a table and a figure into a 'fields compare' run; no run is moved."""
    from fieldlab.training.field_comparison import compare_runs, latest_field_runs
    from fieldlab.training.runs import use_store

    if not run_ids and dataset:
        use_store(tracking_uri)
        run_ids = latest_field_runs(dataset, last)
    result = compare_runs(
        run_ids or [],
        comparison=comparison,
        out=out,
        tracking_uri=tracking_uri,
        data_root=data_root,
    )
    for rid, s in result.scores.items():
        typer.echo(
            f"{result.names[rid]}: cosine {s.cosine:.3f}  relative error {s.relative_error:.3f}"
        )
    typer.echo(f"figure: {result.figure_path}  (logged with a table to run {result.run_id})")
    if result.saved_view is not None:
        typer.echo(f"no saved view: {result.saved_view}")
