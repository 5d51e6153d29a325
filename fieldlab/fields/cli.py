"""``fieldlab fields``: compare discovered fields across runs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

fields_app = typer.Typer(help="Discovered force fields: compare runs against the true field.")


@fields_app.command("compare")
def compare_command(
    run_ids: Annotated[list[str], typer.Argument(help="runs of --model field on one dataset")],
    parent: Annotated[
        str | None, typer.Option(help="log to this run (default: a new 'fields compare' run)")
    ] = None,
    out: Annotated[Path, typer.Option(help="where to save the figure")] = Path(
        "field_comparison.png"
    ),
    tracking_uri: Annotated[str | None, typer.Option(help="MLflow store or server")] = None,
    data_root: Annotated[str | None, typer.Option(help="where datasets are generated")] = None,
) -> None:
    """Draw the true field beside each run's learned field, with scores; log to a parent run."""
    from fieldlab.errors import FieldlabError
    from fieldlab.fields.compare import compare_runs

    try:
        result = compare_runs(
            run_ids, parent=parent, out=out, tracking_uri=tracking_uri, data_root=data_root
        )
    except FieldlabError as err:
        typer.secho(f"error: {err}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    for rid, s in result.scores.items():
        typer.echo(f"{rid}: cosine {s.cosine:.3f}  relative error {s.relative_error:.3f}")
    typer.echo(f"figure: {result.figure_path}  (logged to run {result.parent_run_id})")
