"""Score a particle forecaster on a dataset's test split.

Metrics (logged by :func:`fieldlab.training.evaluate.evaluate` as ``test/<name>``):

- ``mse``, ``velocity_mse``: at the task's target frame, over the whole test split;
- ``rollout_mse``: the position MSE of multi-step rollouts
  (:mod:`fieldlab.training.particles.rollout`) at their last step, and as a curve per step.
  Rollouts start at frame 0, or, where the task shows several frames before its input frame
  (Aether's cards), at that input frame for every model
  (:func:`~fieldlab.training.particles.data.forecast_start`), so runs are scored alike;
- ``equivariance_error``: :func:`fieldlab.testing.equivariance_error` on a test batch;
- ``energy_drift``, ``momentum_drift`` (per step, and the data's own ``*_data``) for systems that
  conserve them (``System.conserved``).

Figures: ``rollout_mse.png``, ``test_trajectories.png`` and ``conservation.png``.
"""

from __future__ import annotations

import os

import numpy as np
import torch

from fieldlab.catalog import load_card
from fieldlab.errors import TrainingError
from fieldlab.testing import equivariance_error
from fieldlab.training.particles.conservation import conservation_for
from fieldlab.training.particles.data import (
    forecast_window,
    horizon_time,
    load_task,
    load_trajectories,
    task_context_frames,
    task_frames,
)
from fieldlab.training.particles.forecaster import Forecaster
from fieldlab.training.particles.objective import evaluate_mse
from fieldlab.training.particles.rollout import conservation_drift, rollout
from fieldlab.training.problem import Scores
from fieldlab.viz.curves import conservation_figure, rollout_error_figure
from fieldlab.viz.forecasts import trajectory_figure

PathLike = str | os.PathLike[str]


def _conditioned(model: Forecaster) -> bool:
    return getattr(model.net, "encoder", None) is not None


def check_compatible(model: Forecaster, dataset: str, data_root: PathLike | None) -> None:
    """The dataset must have the model's space dimension and the model's horizon.

    Raises:
        TrainingError: naming the dataset, what it holds and what the model needs.
    """
    card = load_card(dataset)
    dim = int(card.resolved_params("test")["dim"])
    if model.dim is not None and dim != model.dim:
        raise TrainingError(
            f"dataset {dataset!r} holds {dim}-D trajectories, but the model forecasts "
            f"{model.dim}-D ones; evaluate it on a {model.dim}-D dataset"
        )
    frames = task_frames(card, card.n_frames("test"))
    tau = horizon_time(card, frames)
    if model.horizon_time is not None and not np.isclose(tau, model.horizon_time, rtol=1e-9):
        raise TrainingError(
            f"dataset {dataset!r}'s task forecasts {tau:g} time units ahead, but the model was "
            f"trained to forecast {model.horizon_time:g}; evaluate it on a dataset with the same "
            "horizon"
        )


def score(
    model: Forecaster,
    dataset: str,
    *,
    data_root: PathLike | None = None,
    limit: int = 200,
    seed: int = 0,
    label: str = "",
) -> Scores:
    """Score ``model`` on ``dataset``'s test split (see the module docstring)."""
    card = load_card(dataset)
    dtype = next(model.parameters()).dtype
    # a field conditioned on the observed history reads the task's frames before the input
    n_context = task_context_frames(card) if _conditioned(model) else 0
    test = load_task(dataset, "test", data_root=data_root, dtype=dtype, context_frames=n_context)
    mse, vmse = evaluate_mse(model, test, 500)
    batch = test.subset(torch.arange(min(len(test), 100)))
    g = model.graph(batch.position, batch.velocity, batch.scalar, batch.context)
    equi = equivariance_error(model, g, seed=seed)

    traj = load_trajectories(dataset, "test", data_root=data_root, limit=limit)
    traj = forecast_window(traj, card, n_context)
    roll = rollout(model, traj, test.frames)
    curves: dict[str, np.ndarray] = {"rollout_mse": roll.mse()}
    law = conservation_for(card)
    if law is not None:
        curves.update(conservation_drift(roll, law))
    metrics = {"mse": mse, "velocity_mse": vmse, "equivariance_error": equi}
    metrics.update({k: float(v[-1]) for k, v in curves.items()})
    name = label or dataset
    figures = {
        "rollout_mse.png": rollout_error_figure(
            roll.frames, {"model": curves["rollout_mse"]}, title=f"{name}: rollout error",
            ylabel="position MSE",
        ),
        "test_trajectories.png": trajectory_figure(roll.true_position, roll.position, title=f"{name} test"),
    }  # fmt: skip
    drift = {k: v for k, v in curves.items() if "drift" in k}
    if drift:
        figures["conservation.png"] = conservation_figure(
            roll.frames, drift, title=f"{name}: conservation along rollouts"
        )
    return Scores(metrics, curves, roll.frames, figures)
