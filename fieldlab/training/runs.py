"""Finding tracked runs and their models: the one place that looks runs up in MLflow.

Every look-up fails with a :class:`~fieldlab.errors.TrainingError` that names the run or dataset,
the store searched, and what to do (train one, pass ``--tracking-uri``, resume it).
"""

from __future__ import annotations

import socket

import psutil
from mlflow.entities import Run
from torch import nn

import mlflow
from fieldlab.errors import TrainingError
from fieldlab.training.store import default_tracking_uri
from fieldlab.training.tracking import run_model_uri

PROCESS_TAGS = ("fieldlab.host", "fieldlab.pid", "fieldlab.process_started")
"""Tags naming the process that trains a run, so a later command can tell that it died."""

COMPLETE = "tags.`fieldlab.state` = 'complete'"


def use_store(tracking_uri: str | None) -> str:
    """Point MLflow at ``tracking_uri`` (default: :func:`default_tracking_uri`); the URI."""
    uri = tracking_uri or default_tracking_uri()
    mlflow.set_tracking_uri(uri)
    return uri


def get_run(run_id: str) -> Run:
    """Run ``run_id`` of the current store, or an error naming the store to point at."""
    try:
        return mlflow.get_run(run_id)
    except mlflow.exceptions.MlflowException:
        raise TrainingError(
            f"no MLflow run {run_id!r} in the tracking store {mlflow.get_tracking_uri()}; "
            "pass --tracking-uri (or set MLFLOW_TRACKING_URI) to the store the run was logged to"
        ) from None


def search_complete(
    dataset: str, *, n: int, experiment: str = "fieldlab", model: str | None = None
) -> list[Run]:
    """The ``n`` most recent completed training runs on ``dataset`` (of ``model``), newest first."""
    exp = mlflow.get_experiment_by_name(experiment)
    query = f"params.dataset = '{dataset}' and {COMPLETE}"
    if model is not None:
        query += f" and tags.model = '{model}'"
    runs = (
        []
        if exp is None
        else mlflow.search_runs(
            [exp.experiment_id],
            filter_string=query,
            order_by=["attributes.start_time DESC"],
            max_results=n,
            output_format="list",
        )
    )
    if not runs:
        what = "training" if model is None else f"{model}"
        flag = "" if model is None else f" --model {model}"
        raise TrainingError(
            f"no completed {what} run on dataset {dataset!r} in experiment {experiment!r} of "
            f"{mlflow.get_tracking_uri()}; train one with `fieldlab train --dataset {dataset}{flag}`"
        )
    return runs


def latest_run(dataset: str, *, experiment: str = "fieldlab") -> str:
    """The id of the most recent completed training run on ``dataset`` in ``experiment``."""
    return search_complete(dataset, n=1, experiment=experiment)[0].info.run_id


def load_forecaster_from_run(run_id: str, *, tracking_uri: str | None = None) -> nn.Module:
    """The forecaster logged as run ``run_id``'s model.

    MLflow's warnings on loading are suppressed: the one it would give, a check of the model's
    declared requirements against this environment, first maps every installed distribution
    to its modules (about 1.4 s), and a model fieldlab logged is loaded by fieldlab itself.
    """
    use_store(tracking_uri)
    get_run(run_id)
    try:
        model = mlflow.pyfunc.load_model(run_model_uri(run_id), suppress_warnings=True)
    except (mlflow.exceptions.MlflowException, OSError):
        raise TrainingError(
            f"run {run_id!r} has no logged model (it may still be training, or was paused: "
            f"resume it with `fieldlab train --resume {run_id}`)"
        ) from None
    return model.unwrap_python_model().forecaster


def process_tags() -> dict[str, str]:
    """The :data:`PROCESS_TAGS` of this process."""
    me = psutil.Process()
    return dict(
        zip(
            PROCESS_TAGS,
            (socket.gethostname(), str(me.pid), f"{me.create_time():.3f}"),
            strict=True,
        )
    )


def _alive(pid: int, started: float) -> bool:
    try:
        return abs(psutil.Process(pid).create_time() - started) < 1e-2
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def mark_dead_runs(experiment: str = "fieldlab") -> list[str]:
    """Mark the runs of ``experiment`` that MLflow shows as RUNNING but whose training process,
    on this host, is gone (killed, or lost its tracking server): status KILLED, tag
    ``fieldlab.state = died``. Their checkpoints are untouched: ``fieldlab train --resume``
    continues them. Returns their ids."""
    exp = mlflow.get_experiment_by_name(experiment)
    if exp is None:
        return []
    host = socket.gethostname()
    runs = mlflow.search_runs(
        [exp.experiment_id],
        filter_string=f"attributes.status = 'RUNNING' and tags.`fieldlab.host` = '{host}'",
        output_format="list",
    )
    client = mlflow.MlflowClient()
    dead = []
    for run in runs:
        tags = run.data.tags
        try:
            pid, started = int(tags["fieldlab.pid"]), float(tags["fieldlab.process_started"])
        except (KeyError, ValueError):
            continue
        if not _alive(pid, started):
            client.set_tag(run.info.run_id, "fieldlab.state", "died")
            client.set_terminated(run.info.run_id, status="KILLED")
            dead.append(run.info.run_id)
    return dead
