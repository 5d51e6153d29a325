"""``fieldlab train``, ``fieldlab evaluate`` and ``fieldlab ui``.

Thin wrappers: parse, call :mod:`fieldlab.training`, print.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import subprocess
from pathlib import Path
from typing import Annotated

import typer

from fieldlab.cli.options import DataRoot, Settings, TrackingUri
from fieldlab.overrides import parse_overrides


def train_command(
    dataset: Annotated[str | None, typer.Option(help="catalogued dataset name")] = None,
    model: Annotated[
        str | None,
        typer.Option(help="particles: egnn, gnn, linear, field, ...; grids: mesh-gnn, ..."),
    ] = None,
    epochs: Annotated[int | None, typer.Option(help="epochs (length of the schedule)")] = None,
    lr: Annotated[float | None, typer.Option(help="Adam learning rate")] = None,
    batch_size: Annotated[int | None, typer.Option(help="samples per batch")] = None,
    seed: Annotated[int | None, typer.Option(help="initialisation and shuffling seed")] = None,
    hidden: Annotated[int | None, typer.Option(help="hidden units per layer")] = None,
    layers: Annotated[int | None, typer.Option(help="message-passing layers")] = None,
    config: Annotated[Path | None, typer.Option(help="YAML file of training settings")] = None,
    study: Annotated[str | None, typer.Option(help="a group in the MLflow runs table")] = None,
    set_: Settings = None,
    minutes: Annotated[
        float | None, typer.Option(help="wall-time budget; sets the schedule")
    ] = None,
    max_epochs: Annotated[int | None, typer.Option(help="stop after N epochs (resumable)")] = None,
    resume: Annotated[
        str | None, typer.Option(help="continue run RUN_ID from its checkpoint")
    ] = None,
    checkpoint_dir: Annotated[
        Path | None, typer.Option(help="checkpoints root (default: mlflow/artifacts/checkpoints)")
    ] = None,
    tracking_uri: TrackingUri = None,
    data_root: DataRoot = None,
    progress: Annotated[bool, typer.Option(help="show a progress bar")] = True,
) -> None:
    """Train a forecaster on a dataset's task and track the run in MLflow.

    Any other setting goes in --set KEY=VALUE, e.g. --set schedule=constant, or, for one kind of
    data, --set particles.rollout_steps=4.
    """
    from fieldlab.training.store import default_tracking_uri, sqlite_path
    from fieldlab.training.store_process import StoreProcess, routed

    uri = tracking_uri or default_tracking_uri()
    # a SQLite store opens in a process of its own while torch imports and the data loads
    store = StoreProcess.start(uri) if sqlite_path(uri) is not None else None

    from fieldlab.training.config import load_config
    from fieldlab.training.run import Interrupted, train

    session = {
        "time_budget_s": None if minutes is None else minutes * 60.0,
        "max_epochs_per_session": max_epochs,
    }
    cfg = None
    with routed(store) if store is not None else contextlib.nullcontext():
        try:
            if resume is None:
                cfg = load_config(
                    config,
                    settings=parse_overrides(set_ or []),
                    dataset=dataset,
                    model=model,
                    epochs=epochs,
                    lr=lr,
                    batch_size=batch_size,
                    seed=seed,
                    hidden=hidden,
                    layers=layers,
                    study=study,
                    **session,
                )
            result = train(
                cfg,
                resume=resume,
                tracking_uri=uri,
                data_root=data_root,
                checkpoint_root=checkpoint_dir,
                progress=progress,
                session={k: v for k, v in session.items() if v is not None},
            )
        except Interrupted as stop:
            typer.echo(f"\ninterrupted; resume with: fieldlab train --resume {stop.run_id}")
            raise typer.Exit(130) from None
    typer.echo(
        f"run {result.run_id}: {result.stopped} after {result.epochs} epochs "
        f"({result.wall_s:.0f} s); best validation MSE {result.best_val_mse:.4g} "
        f"at epoch {result.best_epoch}"
    )
    if result.model_uri is None:
        typer.echo(f"paused; continue with: fieldlab train --resume {result.run_id}")
    else:
        typer.echo(f"evaluate: fieldlab evaluate {result.run_id} --dataset {result.dataset}")
        typer.echo("browse:   fieldlab ui")


def evaluate_command(
    run_id: Annotated[
        str,
        typer.Argument(help="MLflow run id of a finished training run, or 'latest' on DATASET"),
    ],
    dataset: Annotated[str, typer.Option(help="dataset whose test split to score")],
    rollout_sims: Annotated[int, typer.Option(help="test simulations to roll out")] = 200,
    tracking_uri: TrackingUri = None,
    data_root: DataRoot = None,
) -> None:
    """Score a run's model on a dataset's test split (test MSE, rollouts, equivariance,
    conservation; for grids MSE, nRMSE and VRMSE inside and outside the training horizon) and log
    the scores to the run, whose status is left as it is."""
    from fieldlab.training.evaluate import evaluate

    out = evaluate(
        run_id, dataset, tracking_uri=tracking_uri, data_root=data_root, rollout_sims=rollout_sims
    )
    typer.echo(f"run {out['run_id']} on {dataset} (test split):")
    for key, value in out["metrics"].items():
        typer.echo(f"{out['prefix']}{key:<24} {value:.4g}")
    curve = ", ".join(f"{v:.3g}" for v in out["curves"]["rollout_mse"][1:])
    typer.echo(f"rollout MSE per step (frames {list(map(int, out['frames']))}): {curve}")


def _experiment_id(store: str, experiment: str) -> str | None:
    """The id of ``experiment`` in the tracking store ``store``, if it exists there (a server
    that does not answer at once is not waited for)."""
    import mlflow

    quick = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "MLFLOW_HTTP_REQUEST_TIMEOUT": "3"}
    saved = {k: os.environ.get(k) for k in quick}
    os.environ.update(quick)
    try:
        client = mlflow.tracking.MlflowClient(tracking_uri=store)
        found = client.get_experiment_by_name(experiment)
    except Exception:
        return None
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return None if found is None else found.experiment_id


def _wait_for(url: str, process: subprocess.Popen[bytes], timeout_s: float = 120.0) -> bool:
    """Whether ``url`` answers before ``timeout_s`` while ``process`` (its server) runs."""
    import time
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and process.poll() is None:
        with (
            contextlib.suppress(urllib.error.URLError, OSError),
            urllib.request.urlopen(url, timeout=2),
        ):
            return True
        time.sleep(0.5)
    return False


def ui_command(
    port: Annotated[int, typer.Option(help="port of the UI")] = 5000,
    backend_store_uri: Annotated[
        str | None, typer.Option(help="store to browse (default: the local mlflow/mlflow.db)")
    ] = None,
    experiment: Annotated[
        str, typer.Option(help="experiment whose runs table the printed link opens")
    ] = "fieldlab",
    open_browser: Annotated[
        bool, typer.Option("--open", help="open the link in a browser once the UI answers")
    ] = False,
    dry_run: Annotated[bool, typer.Option(help="print the command instead of running it")] = False,
) -> None:
    """Start the MLflow UI on the runs' store (http://127.0.0.1:PORT): --backend-store-uri, else
    $MLFLOW_TRACKING_URI, else the local mlflow/mlflow.db, and print a link straight to the runs
    table of the experiment. A tracking server has its own UI: the link into it is printed."""
    from fieldlab.training.store import DEFAULT_ARTIFACTS, DEFAULT_STORE, sqlite_path
    from fieldlab.training.tracking import runs_table_url

    tracked = os.environ.get("MLFLOW_TRACKING_URI")
    if backend_store_uri is None and tracked and tracked.startswith(("http://", "https://")):
        url = runs_table_url(tracked, _experiment_id(tracked, experiment))
        typer.echo(f"runs are tracked by the server {tracked}: open {url}")
        if open_browser:
            import webbrowser

            webbrowser.open(url)
        return
    store = backend_store_uri or tracked or f"sqlite:///{DEFAULT_STORE.resolve()}"
    cmd = [
        "mlflow", "ui", "--backend-store-uri", store,
        "--default-artifact-root", DEFAULT_ARTIFACTS.resolve().as_uri(),
        "--host", "127.0.0.1", "--port", str(port),
    ]  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    database = sqlite_path(store)
    exists = database is None or database.is_file()
    url = runs_table_url(base, _experiment_id(store, experiment) if exists else None)
    typer.echo(f"MLflow UI on {store} (Ctrl-C stops it); the runs of {experiment!r}:")
    typer.echo(url)
    typer.echo(shlex.join(cmd))
    if dry_run:
        return
    import sys

    cmd[0] = str(Path(sys.executable).with_name("mlflow"))
    with subprocess.Popen(cmd) as server:
        try:
            if open_browser and _wait_for(f"{base}/health", server):
                import webbrowser

                webbrowser.open(url)
            server.wait()
        except KeyboardInterrupt:
            server.terminate()
            with contextlib.suppress(KeyboardInterrupt, subprocess.TimeoutExpired):
                server.wait(timeout=10)
