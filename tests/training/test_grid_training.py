"""The grid forecasting baseline end to end: pairs inside the training horizon, a tracked run
that pauses, resumes, learns and logs the MSE inside and outside the horizon, evaluation, and
errors for models and datasets of different kinds."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

import mlflow
from fieldlab.catalog import open_dataset
from fieldlab.cli import app
from fieldlab.errors import TrainingError
from fieldlab.models import Mesh, MeshSpec
from fieldlab.training.evaluate import evaluate
from fieldlab.training.grid.data import is_periodic, load_grid_training
from fieldlab.training.grid.forecaster import build_grid_forecaster
from fieldlab.training.grid.problem import Problem as GridProblem
from fieldlab.training.run import train
from fieldlab.training.tracking import iter_metric, run_model_uri
from tests.training.conftest import DATASET, GRID, grid_config


def test_pairs_lie_inside_the_training_horizon_and_validation_is_held_out(
    grid_root: Path,
) -> None:
    data = load_grid_training(GRID, data_root=grid_root)
    task = data.task
    assert task.fields == ("concentration",)
    assert (task.start, task.horizon_stop, task.stop) == (0, 10, 20)
    assert task.mesh.periodic is False  # diffusion-plane has Dirichlet walls
    assert data.val_source == "train[18:20]"
    assert (len(data.train), len(data.val)) == (18 * 9, 2 * 9)
    u = open_dataset(GRID, "train", data_root=grid_root)["concentration"].values
    state, target = data.train.state.double().numpy(), data.train.target.double().numpy()
    np.testing.assert_allclose(state[:9, ..., 0], u[0, 0:9], rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(target[:9, ..., 0], u[0, 1:10], rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(data.val.target[-1, ..., 0].numpy(), u[19, 9], rtol=1e-6, atol=1e-12)
    limited = load_grid_training(GRID, data_root=grid_root, limit=3)
    assert (len(limited.train), limited.val_source) == (27, "train[18:20]")


def test_periodicity_comes_from_the_system_or_the_boundary() -> None:
    assert is_periodic("navier-stokes-torus", {})
    assert is_periodic("diffusion-plane", {"boundary": "periodic"})
    assert not is_periodic("diffusion-plane", {"boundary": "dirichlet"})


def test_batches_are_capped_in_grid_points(workdir: Path, grid_root: Path) -> None:
    with pytest.warns(UserWarning, match="training with batch_size 8"):
        plan = GridProblem(grid_config(batch_size=100), grid_root)
    assert plan.config.batch_size == 8  # 8 fields of 64 x 64 points
    assert GridProblem(grid_config(batch_size=5), grid_root).config.batch_size == 5


def test_grid_forecaster_is_equivariant_unless_it_sees_positions() -> None:
    mesh = Mesh(8, 8, hy=0.1, hx=0.1, y0=0.0, x0=0.0, periodic=True)
    common = {
        "mesh": mesh, "fields": ("vorticity",), "mean": (0.1,), "std": (2.0,),
        "delta_std": (0.5,), "static": torch.zeros(8, 8, 0), "hidden": 8, "layers": 2,
    }  # fmt: skip
    u = torch.randn(1, 8, 8, 1, dtype=torch.float64)
    for positions, equivariant in ((False, True), (True, False)):
        torch.manual_seed(0)
        spec = MeshSpec(positions=positions)
        model = build_grid_forecaster("mesh-gnn", spec=spec, **common).double()
        with torch.no_grad():
            err = float((model(u.roll(3, dims=2)) - model(u).roll(3, dims=2)).abs().max())
        assert (err < 1e-12) is equivariant, (positions, err)
        assert model.node_features == 1 + 2 * positions


def test_a_tiny_run_learns_and_logs_the_mse_inside_and_outside_the_horizon(
    workdir: Path, grid_root: Path
) -> None:
    paused = train(grid_config(max_epochs_per_session=6), progress=False)
    assert paused.stopped == "epoch_budget"
    assert "test/mse_inside" not in mlflow.get_run(paused.run_id).data.metrics
    result = train(resume=paused.run_id, progress=False)
    assert (result.run_id, result.stopped, result.epochs) == (paused.run_id, "finished", 12)
    assert "test/mse_inside" not in mlflow.get_run(result.run_id).data.metrics  # not read yet
    out = evaluate(result.run_id, GRID)
    run = mlflow.get_run(result.run_id)
    losses = [v for _, v in iter_metric(result.run_id, "train_loss")]
    assert len(losses) == 12
    assert losses[-1] < losses[0] / 5, losses  # normalised increments: from about 1
    m = run.data.metrics
    for key in ("test/mse_inside", "test/mse_outside"):
        assert math.isfinite(m[key])
    assert m["test/mse_inside"] < m["test/persistence_mse_inside"]
    assert m["test/mse_outside"] < m["test/persistence_mse_outside"]
    frames = list(iter_metric(result.run_id, "test/rollout_mse"))
    assert [s for s, _ in frames] == list(range(20))
    assert frames[0][1] == 0.0  # the rollout starts from the true frame 0
    inside = np.mean([v for s, v in frames if 1 <= s <= 9])
    assert inside == pytest.approx(m["test/mse_inside"])
    assert run.data.params["val_source"] == "train[18:20]"
    assert run.data.params["n_train"] == "18"
    assert run.data.tags["fieldlab.state"] == "complete"
    artifacts = {a.path for a in mlflow.MlflowClient().list_artifacts(result.run_id, "figures")}
    assert {"figures/test_fields.png", "figures/rollout_mse.png"} <= artifacts

    # the logged model serves the next frame
    served = mlflow.pyfunc.load_model(run_model_uri(result.run_id))
    u0 = open_dataset(GRID, "test", data_root=grid_root)["concentration"].values[:1, 0]
    nxt = served.predict({"concentration": u0.astype(np.float32)})["concentration"]
    assert nxt.shape == (1, 64, 64)
    assert not np.allclose(nxt, u0)
    assert out["metrics"]["mse_inside"] == pytest.approx(m["test/mse_inside"], rel=1e-6)
    with pytest.raises(TrainingError, match=f"'{DATASET}' holds particle trajectories"):
        evaluate(result.run_id, DATASET)


def test_models_and_datasets_of_different_kinds_are_refused(workdir: Path, grid_root: Path) -> None:
    with pytest.raises(
        TrainingError,
        match=f"'{DATASET}' holds particle trajectories .* choose one of: egnn, gnn, linear",
    ):
        train(grid_config(dataset=DATASET), progress=False)
    with pytest.raises(
        TrainingError, match=f"'{GRID}' holds grid fields .* choose one of: mesh-gnn"
    ):
        train(grid_config(model="egnn"), progress=False)
    assert not (workdir / "mlflow").exists()  # refused before a run was opened
    out = CliRunner().invoke(app, ["train", "--dataset", GRID, "--model", "gnn"])
    assert out.exit_code == 2
    assert f"error: dataset '{GRID}' holds grid fields" in out.output
