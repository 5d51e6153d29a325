"""``fieldlab leaderboard``: several models and seeds on one dataset, as one tracked study.

A thin wrapper: parse, call :func:`fieldlab.training.leaderboard.leaderboard`, print.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fieldlab.cli.options import DataRoot, Settings, TrackingUri
from fieldlab.overrides import parse_overrides


def leaderboard_command(
    dataset: Annotated[str, typer.Argument(help="catalogued dataset name")],
    models: Annotated[
        str, typer.Option(help="comma-separated models, the baseline first")
    ] = "egnn,ponita,empcn,fa-gnn",
    seeds: Annotated[int, typer.Option(min=1, help="seeds per model: 0 .. N-1")] = 3,
    epochs: Annotated[int | None, typer.Option(help="epochs of every run")] = None,
    set_: Settings = None,
    study: Annotated[
        str | None,
        typer.Option(help="the study's name (default leaderboard-DATASET); reruns resume it"),
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(help="address of an existing Dask scheduler (default: a local cluster)"),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(min=1, help="local worker processes, one thread each (default: one per core)"),
    ] = None,
    rollout_sims: Annotated[
        int, typer.Option(help="test simulations each evaluation rolls out")
    ] = 200,
    checkpoint_dir: Annotated[
        Path | None, typer.Option(help="checkpoints root (default: mlflow/artifacts/checkpoints)")
    ] = None,
    tracking_uri: TrackingUri = None,
    data_root: DataRoot = None,
) -> None:
    """Train every model with every seed on DATASET (each its own MLflow run, tagged with the
    study), evaluate each on the test split, and log and print the study's table: mean and
    standard deviation of the test MSE over seeds, parameters, samples/s, training time and
    equivariance error.

    Runs are trained as tasks on a Dask cluster. A rerun keeps finished runs, resumes interrupted
    ones from their checkpoints and trains only what is missing. Any other training setting goes
    in --set KEY=VALUE, e.g. --set max_train=3000 --set lr=5e-4.
    """
    from fieldlab.training.leaderboard import leaderboard

    board = leaderboard(
        dataset,
        [m.strip() for m in models.split(",")],
        seeds,
        epochs=epochs,
        settings=parse_overrides(set_ or []),
        study=study,
        scheduler=scheduler,
        workers=workers,
        tracking_uri=tracking_uri,
        data_root=data_root,
        checkpoint_root=checkpoint_dir,
        rollout_sims=rollout_sims,
        report=typer.echo,
    )
    done = list(board.actions.values())
    typer.echo(
        f"study {board.study!r} on {board.dataset}: {done.count('train')} trained, "
        f"{done.count('resume')} resumed, {done.count('evaluate')} evaluated, "
        f"{done.count('keep')} kept"
    )
    if board.pending:
        paused = ", ".join(f"{m} seed {s}" for m, s in board.pending)
        typer.echo(f"paused at their epoch budget: {paused}; run the same command to continue")
        return
    typer.echo(board.text)
    typer.echo(f"logged as run {board.study_run_id}; browse: fieldlab ui")
