"""Bad arguments get clear errors that name the input, before any run is opened."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch
import yaml
from typer.testing import CliRunner

import mlflow
from fieldlab.catalog import catalog_dir
from fieldlab.cli import app
from fieldlab.errors import DatasetNotFoundError, TrainingError, UnknownDatasetError
from fieldlab.models import UnknownModelError
from fieldlab.training.config import load_config
from fieldlab.training.loop import Trainer
from fieldlab.training.particles.data import load_task
from fieldlab.training.particles.forecaster import build_forecaster
from fieldlab.training.particles.objective import ParticleObjective
from fieldlab.training.run import train
from tests.training.conftest import DATASET, tiny_config

runner = CliRunner()


def test_unknown_dataset_is_named(workdir: Path) -> None:
    with pytest.raises(UnknownDatasetError, match="'no-such-set'"):
        train(tiny_config(dataset="no-such-set"), progress=False)
    assert not (workdir / "mlflow").exists()  # no run was opened


def test_unknown_model_is_named_with_the_choices(workdir: Path) -> None:
    with pytest.raises(UnknownModelError, match=r"'transformer'.*egnn, gnn, linear"):
        train(tiny_config(model="transformer"), progress=False)


def test_dataset_without_task_frames(
    workdir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    catalog = tmp_path / "catalog"
    catalog.mkdir()
    card = yaml.safe_load((catalog_dir() / f"{DATASET}.yaml").read_text())
    del card["task"]
    card["name"] = "charged-no-task"
    (catalog / "charged-no-task.yaml").write_text(yaml.safe_dump(card))
    monkeypatch.setenv("FIELDLAB_CATALOG", str(catalog))
    with pytest.raises(TrainingError, match="'charged-no-task' has no forecasting task"):
        train(tiny_config(dataset="charged-no-task"), progress=False)


def test_dataset_not_generated(
    workdir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FIELDLAB_DATA", str(tmp_path / "empty"))
    with pytest.raises(DatasetNotFoundError, match=f"fieldlab generate {DATASET}"):
        train(tiny_config(), progress=False)


def test_unknown_setting_lists_the_valid_ones(tmp_path: Path) -> None:
    path = tmp_path / "train.yaml"
    path.write_text("dataset: x\nlearning_rate: 0.1\n")
    with pytest.raises(
        TrainingError, match=r"train.yaml: 'learning_rate' is not a training setting"
    ):
        load_config(path)


def test_resume_without_checkpoint(workdir: Path) -> None:
    with pytest.raises(TrainingError, match=r"no checkpoint at .*0123abcd"):
        train(resume="0123abcd", progress=False)


def test_cli_reports_errors_without_a_traceback(workdir: Path) -> None:
    out = runner.invoke(app, ["train", "--dataset", DATASET, "--model", "mlp"])
    assert out.exit_code == 2
    assert "error: unknown model 'mlp'" in out.output
    out = runner.invoke(app, ["train", "--dataset", "nope"])
    assert out.exit_code == 2
    assert "'nope'" in out.output
    out = runner.invoke(app, ["evaluate", "0123abcd", "--dataset", DATASET])
    assert out.exit_code == 2
    assert "no MLflow run '0123abcd'" in out.output


def test_ui_prints_the_url_and_command(workdir: Path) -> None:
    out = runner.invoke(app, ["ui", "--port", "5123", "--dry-run"])
    assert out.exit_code == 0
    assert "http://127.0.0.1:5123/#/" in out.output  # the experiments list: no store yet
    assert f"--backend-store-uri sqlite:///{workdir / 'mlflow' / 'mlflow.db'}" in out.output
    assert "--host 127.0.0.1" in out.output


def test_ui_browses_the_store_that_mlflow_tracking_uri_names(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{workdir / 'other.db'}")
    out = runner.invoke(app, ["ui", "--dry-run"])
    assert f"--backend-store-uri sqlite:///{workdir / 'other.db'}" in out.output
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5999")
    out = runner.invoke(app, ["ui", "--dry-run"])
    assert out.exit_code == 0
    assert "tracked by the server http://127.0.0.1:5999" in out.output


def test_a_finished_run_is_not_resumed_and_logs_no_second_model(workdir: Path) -> None:
    done = train(tiny_config(epochs=1), progress=False)
    with pytest.raises(TrainingError, match=f"run {done.run_id} has finished"):
        train(resume=done.run_id, progress=False)
    models = mlflow.search_logged_models(
        experiment_ids=[mlflow.get_run(done.run_id).info.experiment_id], output_format="list"
    )
    assert len(models) == 1


def test_the_dataset_source_is_the_data_root_the_run_read(
    workdir: Path, data_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FIELDLAB_DATA", str(workdir / "elsewhere"))  # not where the data are
    done = train(tiny_config(epochs=1), data_root=data_root, progress=False)
    (source,) = {i.dataset.source for i in mlflow.get_run(done.run_id).inputs.dataset_inputs}
    assert str(data_root) in source
    assert "elsewhere" not in source


def test_cli_train_then_resume_prints_the_next_steps(workdir: Path) -> None:
    args = ["--hidden", "8", "--layers", "1", "--epochs", "2", "--batch-size", "20"]
    out = runner.invoke(app, ["train", "--dataset", DATASET, *args, "--max-epochs", "1"])
    assert out.exit_code == 0, out.output
    run_id = out.output.split("run ", 1)[1].split(":", 1)[0]
    assert f"paused; continue with: fieldlab train --resume {run_id}" in out.output
    out = runner.invoke(app, ["train", "--resume", run_id, "--no-progress"])
    assert out.exit_code == 0, out.output
    assert f"run {run_id}: finished after 2 epochs" in out.output
    assert f"evaluate: fieldlab evaluate {run_id} --dataset {DATASET}" in out.output


@pytest.mark.parametrize(
    ("updates", "lr", "advice"),
    [
        (
            {"rollout_steps": 3, "all_frames": True},
            1e-3,
            "before the first update; train on fewer fed-back steps",
        ),
        ({}, 1e-3, "before the first update; keep normalisation on"),
        ({}, 1e12, "epoch 0; lower the learning rate (--lr, now 1e+12) or keep normalisation on"),
    ],
)
def test_a_diverging_loss_stops_training_with_advice_that_fits(
    workdir: Path, updates: dict, lr: float, advice: str
) -> None:
    """A model that diverges by itself needs other advice than one that a large step threw off."""
    config = tiny_config(lr=lr, **updates)
    data = load_task(
        DATASET,
        "train",
        limit=40,
        all_frames=config.particles.all_frames,
        rollout_steps=config.particles.rollout_steps,
    )
    torch.manual_seed(0)
    model = build_forecaster("egnn", dim=3, spec=config.particles.graph, hidden=16, layers=2)
    if lr < 1:  # weights so large that the initial model's prediction overflows
        with torch.no_grad():
            for p in model.parameters():
                p.mul_(1e30)
    with pytest.raises(TrainingError, match=re.escape(advice)):
        Trainer(config, model, data, data, ParticleObjective(config, data)).fit(progress=False)
