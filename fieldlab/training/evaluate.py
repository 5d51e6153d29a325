"""Evaluate a tracked run's model on a dataset's test split, and log the results to that run.

Metrics (prefixed ``test/``, or ``test/<dataset>/`` when the dataset is not the one the run
trained on):

- ``mse``, ``velocity_mse``: at the task's target frame, over the whole test split;
- ``rollout_mse`` (one value per step): the position MSE of multi-step rollouts
  (:mod:`fieldlab.training.rollout`), also drawn as ``figures/rollout_mse.png``. They start at
  frame 0, or, where the task shows several frames before its input frame (Aether's cards), at
  that input frame for every model (:func:`~fieldlab.training.data.forecast_start`), so runs
  are scored alike;
- ``equivariance_error``: :func:`fieldlab.testing.equivariance_error` on a test batch;
- ``energy_drift``, ``momentum_drift`` (per step, and the data's own ``*_data``) for systems that
  conserve them (:mod:`fieldlab.training.conservation`), drawn as ``figures/conservation.png``.

A grid forecaster on a grid dataset is scored by
:func:`fieldlab.training.grid_evaluate.evaluate_grid` instead (a rollout from the task's first
frame: ``test_mse_inside``, ``test_mse_outside`` and the persistence baseline), the same function
a grid training run ends with.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import torch

import mlflow
from fieldlab.catalog import load_card
from fieldlab.errors import TrainingError
from fieldlab.testing import equivariance_error
from fieldlab.training.conservation import conservation_for
from fieldlab.training.data import (
    forecast_window,
    load_task,
    load_trajectories,
    task_context_frames,
    task_frames,
)
from fieldlab.training.figures import curve_figure, trajectory_figure
from fieldlab.training.forecaster import Forecaster
from fieldlab.training.grid_data import is_grid_card
from fieldlab.training.grid_evaluate import evaluate_grid
from fieldlab.training.grid_forecaster import GridForecaster
from fieldlab.training.loop import evaluate_mse
from fieldlab.training.rollout import conservation_drift, rollout
from fieldlab.training.store import default_tracking_uri

PathLike = str | os.PathLike[str]


def load_forecaster_from_run(
    run_id: str, *, tracking_uri: str | None = None
) -> Forecaster | GridForecaster:
    """The forecaster logged as run ``run_id``'s model."""
    mlflow.set_tracking_uri(tracking_uri or default_tracking_uri())
    try:
        mlflow.get_run(run_id)
    except mlflow.exceptions.MlflowException:
        raise TrainingError(
            f"no MLflow run {run_id!r} in the tracking store {mlflow.get_tracking_uri()}; "
            "pass --tracking-uri (or set MLFLOW_TRACKING_URI) to the store the run was logged to"
        ) from None
    try:
        model = mlflow.pyfunc.load_model(f"runs:/{run_id}/model")
    except (mlflow.exceptions.MlflowException, OSError):
        raise TrainingError(
            f"run {run_id!r} has no logged model (it may still be training, or was paused: "
            f"resume it with `fieldlab train --resume {run_id}`)"
        ) from None
    return model.unwrap_python_model().forecaster


def latest_run(dataset: str, *, experiment: str = "fieldlab") -> str:
    """The id of the most recent completed training run on ``dataset`` in ``experiment``."""
    exp = mlflow.get_experiment_by_name(experiment)
    runs = (
        []
        if exp is None
        else mlflow.search_runs(
            [exp.experiment_id],
            filter_string=f"params.dataset = '{dataset}' and tags.`fieldlab.state` = 'complete'",
            order_by=["attributes.start_time DESC"],
            max_results=1,
            output_format="list",
        )
    )
    if not runs:
        raise TrainingError(
            f"no completed training run on dataset {dataset!r} in experiment {experiment!r} of "
            f"{mlflow.get_tracking_uri()}; train one with `fieldlab train --dataset {dataset}`"
        )
    return runs[0].info.run_id


def evaluate(
    run_id: str,
    dataset: str,
    *,
    tracking_uri: str | None = None,
    data_root: PathLike | None = None,
    rollout_sims: int = 200,
    seed: int = 0,
) -> dict[str, Any]:
    """Score run ``run_id``'s model on ``dataset``'s test split and log it to the run.

    ``run_id`` may be ``latest``: the most recent completed run on ``dataset``. Returns the run
    id, the scalar metrics (final-step values for the per-step curves) and the curves.
    """
    card = load_card(dataset)
    task_frames(card, card.n_frames("test"))
    if run_id == "latest":
        mlflow.set_tracking_uri(tracking_uri or default_tracking_uri())
        run_id = latest_run(dataset)
    model = load_forecaster_from_run(run_id, tracking_uri=tracking_uri)
    dtype = next(model.parameters()).dtype
    trained_on = mlflow.get_run(run_id).data.params.get("dataset")
    prefix = "test/" if trained_on == dataset else f"test/{dataset}/"
    grid = is_grid_card(card)
    if grid != isinstance(model, GridForecaster):
        kinds = ("particle", "grid fields") if grid else ("grid", "particle trajectories")
        raise TrainingError(
            f"run {run_id!r} trained a {kinds[0]} forecaster, but dataset {dataset!r} holds "
            f"{kinds[1]}; evaluate it on a dataset of the kind it was trained on ({trained_on!r})"
        )
    if isinstance(model, GridForecaster):
        return evaluate_grid(
            run_id,
            model,
            dataset,
            same_dataset=trained_on == dataset,
            data_root=data_root,
            limit=rollout_sims,
        )

    # a field conditioned on the observed history reads the task's frames before the input
    n_context = task_context_frames(card) if getattr(model.net, "encoder", None) else 0
    test = load_task(dataset, "test", data_root=data_root, dtype=dtype, context_frames=n_context)
    mse, vmse = evaluate_mse(model, test, 500)
    batch = test.subset(torch.arange(min(len(test), 100)))
    g = model.graph(batch.position, batch.velocity, batch.scalar, batch.context)
    equi = equivariance_error(model, g, seed=seed)

    traj = load_trajectories(dataset, "test", data_root=data_root, limit=rollout_sims)
    traj = forecast_window(traj, card, n_context)
    roll = rollout(model, traj, test.frames)
    curves: dict[str, np.ndarray] = {"rollout_mse": roll.mse()}
    law = conservation_for(card)
    if law is not None:
        curves.update(conservation_drift(roll, law))
    scalars = {"mse": mse, "velocity_mse": vmse, "equivariance_error": equi}
    metrics = {**scalars, **{k: float(v[-1]) for k, v in curves.items()}}

    with mlflow.start_run(run_id=run_id):
        mlflow.log_metrics({prefix + k: v for k, v in scalars.items()})
        for key, values in curves.items():
            for step, value in zip(roll.frames, values, strict=True):
                mlflow.log_metric(prefix + key, float(value), step=int(step))
        where = "" if trained_on == dataset else f"{dataset}_"
        mlflow.log_figure(
            curve_figure(
                roll.frames,
                {"model": curves["rollout_mse"]},
                ylabel="position MSE",
                title=f"{dataset}: rollout error ({roll.steps} steps)",
                log=True,
            ),
            f"figures/{where}rollout_mse.png",
        )
        mlflow.log_figure(
            trajectory_figure(roll, title=f"{dataset} test: true (solid) vs rollout (dashed)"),
            f"figures/{where}test_trajectories.png",
        )
        drift = {k: v for k, v in curves.items() if k.endswith(("drift", "drift_data"))}
        if drift:
            mlflow.log_figure(
                curve_figure(
                    roll.frames, drift, ylabel="mean |change| from start",
                    title=f"{dataset}: conservation along rollouts", log=False,
                ),
                f"figures/{where}conservation.png",
            )  # fmt: skip
    return {
        "run_id": run_id,
        "metrics": metrics,
        "curves": curves,
        "frames": roll.frames,
        "prefix": prefix,
    }
