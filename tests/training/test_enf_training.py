"""The ENF forecaster in the grid training pipeline: a tracked run in two stages that resumes
exactly, evaluation with sparse observations, a logged model that serves the trained weights,
the translation equivariance of a trained torus forecast (which the ablation lacks), and the
rotation equivariance of a trained sphere forecast."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

import mlflow
from fieldlab.catalog import open_dataset
from fieldlab.models.enf import ENFOptions
from fieldlab.training.config import TrainConfig
from fieldlab.training.evaluate import evaluate
from fieldlab.training.grid.enf import GridENF
from fieldlab.training.grid.enf_problem import ENFProblem
from fieldlab.training.grid.problem import MeshProblem, Problem
from fieldlab.training.run import train
from fieldlab.training.tracking import iter_metric, run_model_uri
from tests.training.conftest import GRID, grid_config

TORUS = "navier-stokes-torus-mini"
SPHERE = "heat-sphere-mini"


def enf_config(**updates: object) -> TrainConfig:
    """A tiny ENF run: two training trajectories, 4 epochs (2 per stage)."""
    options = ENFOptions.small(**updates.pop("options", {})).model_dump()  # type: ignore[arg-type]
    base = {
        "model": "enf", "epochs": 4, "lr": 3e-3, "batch_size": 2,
        "enf": {"options": options, "points": 256, "observed_fractions": [0.1, 0.05]},
    }  # fmt: skip
    return grid_config(**{**base, **updates})


def history(run_id: str, key: str) -> list[float]:
    return [v for _, v in iter_metric(run_id, key)]


def test_the_grid_kind_builds_the_problem_of_the_models_family(
    workdir: Path, grid_root: Path
) -> None:
    assert isinstance(Problem(enf_config(), grid_root), ENFProblem)
    assert isinstance(Problem(grid_config(), grid_root), MeshProblem)
    plan = Problem(enf_config(hidden=8), grid_root)
    assert plan.model.options.hidden == 8  # the common size settings reach the ENF
    assert [plan.stage(e) for e in range(4)] == [1, 1, 2, 2]
    assert plan.train_data.values.shape == (2, 10, 64 * 64, 1)  # frames 0-9: the horizon


def test_the_stages_share_the_epochs_a_wall_time_budget_allows(
    workdir: Path, grid_root: Path
) -> None:
    plan = Problem(enf_config(epochs=10), grid_root)  # stage 1: 5 of 10 epochs
    history: list[dict[str, float]] = []

    def run_epoch(epoch: int, planned: int) -> int:
        plan.plan_epoch(epoch, planned, history)
        history.append({"epoch": epoch, **plan.epoch_metrics(epoch)})
        return plan.stage(epoch)

    # the budget re-fits the schedule: 10 planned, then 4 (stage 2 from epoch 2), then 10 again
    stages = [run_epoch(e, planned) for e, planned in enumerate((10, 10, 4, 10, 10, 10))]
    assert stages == [1, 1, 2, 2, 2, 2]  # begun, stage 2 never ends
    # shrunk below the epochs already run, the plan ends stage 1 at once
    history.clear()
    assert [run_epoch(e, planned) for e, planned in enumerate((10, 10, 10, 2))] == [1, 1, 1, 2]
    # a resumed run decides from the checkpointed history alone, as the first did
    resumed = Problem(enf_config(epochs=10), grid_root)
    resumed.plan_epoch(4, 10, history)
    assert resumed.stage(4) == 2
    # without a budget the plan is the epochs setting: the first half is stage 1
    plan.plan_epoch(4, 10, [])
    assert (plan.stage(4), plan.stage(5)) == (1, 2)


def test_a_run_trains_stage_by_stage_resumes_exactly_evaluates_and_serves_its_weights(
    workdir: Path, grid_root: Path
) -> None:
    paused = train(enf_config(max_epochs_per_session=3), progress=False)
    assert paused.stopped == "epoch_budget"
    resumed = train(resume=paused.run_id, progress=False)
    assert (resumed.stopped, resumed.epochs) == ("finished", 4)
    whole = train(enf_config(), progress=False)
    assert history(resumed.run_id, "stage") == [1.0, 1.0, 2.0, 2.0]
    for key in ("train_loss", "val_mse"):
        np.testing.assert_allclose(
            history(resumed.run_id, key), history(whole.run_id, key), rtol=1e-6
        )
    assert all(math.isfinite(v) for v in history(whole.run_id, "val_mse"))

    evaluate(whole.run_id, GRID)
    m = mlflow.get_run(whole.run_id).data.metrics
    for key in ("mse_inside", "mse_outside", "persistence_mse_inside", "nrmse_inside"):
        assert math.isfinite(m[f"test/{key}"]), key
    for fraction in ("10", "5"):
        for key in ("mse_inside", "mse_outside", "vrmse_inside"):
            assert math.isfinite(m[f"test/observed_{fraction}/{key}"]), (fraction, key)
    assert m["test/observed_5/mse_inside"] != m["test/mse_inside"]  # fewer points, another fit

    served = mlflow.pyfunc.load_model(run_model_uri(whole.run_id))
    model = served.unwrap_python_model().forecaster
    assert isinstance(model, GridENF)
    best = min(history(whole.run_id, "val_mse"))
    check = ENFProblem(enf_config(), grid_root)
    assert check.val_metrics(model)["val_mse"] == pytest.approx(best, rel=1e-5)
    u0 = open_dataset(GRID, "test", data_root=grid_root)["concentration"].values[:2, 0]
    nxt = served.predict({"concentration": u0.astype(np.float32)})["concentration"]
    with torch.no_grad():
        direct = model(torch.as_tensor(u0[..., None], dtype=torch.float32))[..., 0].numpy()
    assert nxt.shape == (2, 64, 64)
    np.testing.assert_array_equal(nxt, direct)


def _briefly_trained(config: TrainConfig, root: Path) -> tuple[GridENF, np.ndarray]:
    """A float64 ENF after two Adam steps of each stage, and a test field ``(1, ny, nx, 1)``."""
    plan = ENFProblem(config, root)
    model = plan.model
    params = list(model.enf.parameters())
    optimiser = torch.optim.Adam(params, lr=1e-2)
    for epoch in (0, 0, 1, 1):
        optimiser.zero_grad()
        plan.batch_loss(model, plan.train_data, epoch)[0].backward()
        optimiser.step()
    for p in params:
        p.requires_grad_(True)
    field = model.fields[0]
    u0 = open_dataset(config.dataset, "test", data_root=root)[field].values[:1, 0]
    return model, u0[..., None]


@pytest.mark.parametrize("equivariant", [True, False])
def test_a_trained_torus_forecast_shifts_with_its_field_unless_it_is_the_ablation(
    workdir: Path, mini_data: Callable[[str], Path], equivariant: bool
) -> None:
    root = mini_data(TORUS)
    config = enf_config(
        dataset=TORUS, dtype="float64", epochs=2, max_train=1,
        options={"equivariant": equivariant},
    )  # fmt: skip
    model, u0 = _briefly_trained(config, root)
    shifted = np.roll(u0, (5, 3), axis=(1, 2))  # whole cells along y and x
    a = model.rollout(u0, 4)
    b = model.rollout(shifted, 4)
    err = np.abs(b - np.roll(a, (5, 3), axis=(2, 3))).max() / np.abs(a).max()
    assert bool(err < 1e-6) is equivariant, err
    if not equivariant:
        assert err > 1e-3


def test_a_trained_sphere_forecast_rotates_with_its_field_about_the_pole(
    workdir: Path, mini_data: Callable[[str], Path]
) -> None:
    root = mini_data(SPHERE)
    config = enf_config(dataset=SPHERE, dtype="float64", epochs=2, max_train=1)
    model, u0 = _briefly_trained(config, root)
    assert model.domain == "sphere"
    np.testing.assert_allclose(model.coords.norm(dim=-1).numpy(), 1.0, rtol=1e-12)
    a = model.rollout(u0, 3)
    b = model.rollout(np.roll(u0, 7, axis=2), 3)  # 7 longitude cells: a rotation about z
    err = np.abs(b - np.roll(a, 7, axis=3)).max() / np.abs(a).max()
    assert err < 1e-6, err
