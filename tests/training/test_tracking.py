"""A training run lands in the embedded MLflow store with everything the issue lists, its logged
model reloads and predicts exactly as the trained weights do, and ``evaluate`` scores it."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from mlflow.exceptions import MlflowException
from typer.testing import CliRunner

import mlflow
from fieldlab.catalog import fingerprint, load_card
from fieldlab.cli import app
from fieldlab.training import checkpoint
from fieldlab.training.evaluate import evaluate
from fieldlab.training.particles.data import load_task
from fieldlab.training.run import TrainResult, train
from fieldlab.training.runs import load_forecaster_from_run
from fieldlab.training.tracking import log_dataset_inputs, run_model_uri
from tests.training.conftest import DATASET, tiny_config


@pytest.fixture(scope="module")
def tracked(
    tmp_path_factory: pytest.TempPathFactory, data_root: Path
) -> Iterator[tuple[TrainResult, Path]]:
    """One tiny run in the default local store of a fresh working directory."""
    work = tmp_path_factory.mktemp("work")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(work)
        mp.setenv("FIELDLAB_DATA", str(data_root))
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        # MLflow publishes a sample only once its interval has passed inside a running run,
        # and this run can end within a second on a fast machine: sample far more often.
        mp.setenv("MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL", "0.05")
        mp.setenv("MLFLOW_SYSTEM_METRICS_SAMPLES_BEFORE_LOGGING", "1")
        result = train(tiny_config(epochs=3), progress=False)
        yield result, work


def test_run_is_in_the_embedded_store(tracked: tuple[TrainResult, Path]) -> None:
    result, work = tracked
    assert (work / "mlflow" / "mlflow.db").is_file()
    assert result.stopped == "finished"
    assert result.epochs == 3
    run = mlflow.get_run(result.run_id)
    assert mlflow.get_tracking_uri() == f"sqlite:///{(work / 'mlflow' / 'mlflow.db').resolve()}"
    assert run.info.artifact_uri.startswith((work / "mlflow" / "artifacts").resolve().as_uri())
    params = run.data.params
    assert params["dataset"] == DATASET
    assert params["model"] == "egnn"
    assert params["hidden"] == "16"
    assert params["epochs"] == "3"
    assert params["n_train"] == "40"

    fp = fingerprint(load_card(DATASET))
    assert params["dataset_fingerprint"] == fp
    inputs = {
        {t.key: t.value for t in i.tags}["mlflow.data.context"]: i
        for i in run.inputs.dataset_inputs
    }
    assert set(inputs) == {"training", "validation"}  # each split with its context
    inp = inputs["training"]
    assert inputs["validation"].dataset.digest != fp[:12]  # other data, another digest
    assert inp.dataset.name == DATASET
    assert inp.dataset.digest == fp[:12]
    assert fp in inp.dataset.source
    assert {t.key: t.value for t in inp.tags}["fingerprint"] == fp

    client = mlflow.tracking.MlflowClient()
    for key in ("train_loss", "train_mse", "val_mse", "lr"):
        steps = [m.step for m in client.get_metric_history(result.run_id, key)]
        assert sorted(steps) == [0, 1, 2], key
    assert any(k.startswith("system/") for k in run.data.metrics)

    config = json.loads(Path(mlflow.artifacts.download_artifacts(
        run_id=result.run_id, artifact_path="config.json"
    )).read_text())  # fmt: skip
    assert config["dataset"] == DATASET
    assert config["hidden"] == 16
    names = {a.path for a in client.list_artifacts(result.run_id, "figures")}
    assert "figures/val_trajectories_best.png" in names
    images = {a.path for a in client.list_artifacts(result.run_id, "images")}
    assert any("val_trajectories+step+2+" in p for p in images)  # keyed by name and step


def test_each_new_best_is_logged_at_its_epoch_with_that_epochs_validation(
    tracked: tuple[TrainResult, Path],
) -> None:
    result, _ = tracked
    client = mlflow.tracking.MlflowClient()
    val = {m.step: m.value for m in client.get_metric_history(result.run_id, "val_mse")}
    improving, best = [], float("inf")
    for step in sorted(val):
        if val[step] < best:
            improving.append(step)
            best = val[step]
    history = client.get_metric_history(result.run_id, "best_val_mse")
    assert sorted(m.step for m in history) == improving
    assert all(m.value == pytest.approx(val[m.step]) for m in history)
    epochs = client.get_metric_history(result.run_id, "best_epoch")
    assert sorted((m.step, m.value) for m in epochs) == [(s, float(s)) for s in improving]
    assert result.best_epoch == improving[-1]


def test_the_logged_model_is_named_after_the_model_and_the_run(
    tracked: tuple[TrainResult, Path],
) -> None:
    result, _ = tracked
    client = mlflow.tracking.MlflowClient()
    run = client.get_run(result.run_id)
    (output,) = run.outputs.model_outputs
    logged = client.get_logged_model(output.model_id)
    assert logged.name == f"egnn-{run.info.run_name}" == logged.tags["fieldlab.name"]
    assert run_model_uri(result.run_id) == f"models:/{logged.model_id}"
    by_name = mlflow.pyfunc.load_model(f"runs:/{result.run_id}/{logged.name}")
    assert by_name.model_id == logged.model_id  # MLflow finds a run's model by its name too


def test_logged_model_predicts_like_the_best_weights(tracked: tuple[TrainResult, Path]) -> None:
    result, _ = tracked
    pyfunc = mlflow.pyfunc.load_model(run_model_uri(result.run_id))
    sig = pyfunc.metadata.signature
    assert sig is not None
    assert {s.name for s in sig.inputs.inputs} == {"position", "velocity", "scalar"}

    model = load_forecaster_from_run(result.run_id)
    best = checkpoint.load(result.checkpoint_dir / checkpoint.BEST)
    reference = load_forecaster_from_run(result.run_id)
    reference.load_state_dict(best["model"])
    test = load_task(DATASET, "test")
    inputs = {
        "position": test.position.numpy(),
        "velocity": test.velocity.numpy(),
        "scalar": test.scalar.numpy(),
    }
    got = pyfunc.predict(inputs)
    with torch.no_grad():
        x, v = reference.predict(test.position, test.velocity, test.scalar)
    np.testing.assert_array_equal(got["position"], x.numpy())
    np.testing.assert_array_equal(got["velocity"], v.numpy())
    for a, b in zip(model.state_dict().values(), best["model"].values(), strict=True):
        assert torch.equal(a, b)


def test_logged_model_is_served_from_code_in_a_fresh_process(
    tracked: tuple[TrainResult, Path], tmp_path: Path
) -> None:
    """No pickled class: MLflow runs fieldlab's served-model code, in a process of its own."""
    result, _ = tracked
    flavor = mlflow.pyfunc.load_model(run_model_uri(result.run_id)).metadata.flavors
    assert flavor["python_function"]["loader_module"] == "mlflow.pyfunc.loaders.code_model"
    assert flavor["python_function"]["config"] == {"kind": "particles"}
    test = load_task(DATASET, "test", limit=5)
    inputs = {"position": test.position, "velocity": test.velocity, "scalar": test.scalar}
    np.savez(tmp_path / "in.npz", **{k: v.numpy() for k, v in inputs.items()})
    script = (
        "import sys, numpy as np, mlflow\n"
        "mlflow.set_tracking_uri(sys.argv[1])\n"
        "from fieldlab.training.tracking import run_model_uri\n"
        "m = mlflow.pyfunc.load_model(run_model_uri(sys.argv[2]))\n"
        "out = m.predict(dict(np.load(sys.argv[3])))\n"
        "np.save(sys.argv[4], out['position'])\n"
    )
    out = tmp_path / "out.npy"
    uri = mlflow.get_tracking_uri()
    subprocess.run(
        [sys.executable, "-c", script, uri, result.run_id, str(tmp_path / "in.npz"), str(out)],
        check=True,
        capture_output=True,
    )
    with torch.no_grad():
        x, _ = load_forecaster_from_run(result.run_id).predict(
            test.position, test.velocity, test.scalar
        )
    np.testing.assert_array_equal(np.load(out), x.numpy())


def test_evaluate_logs_test_metrics(tracked: tuple[TrainResult, Path]) -> None:
    result, _ = tracked
    out = evaluate(result.run_id, DATASET, rollout_sims=20)
    m = out["metrics"]
    assert out["prefix"] == "test/"
    assert 0 < m["mse"] < 10
    assert m["equivariance_error"] < 1e-4  # float32 EGNN
    assert list(out["frames"]) == [0, 10, 20, 30, 40]  # through the task's own 30 -> 40
    rollout_mse = out["curves"]["rollout_mse"]
    assert rollout_mse[0] == 0
    assert np.all(rollout_mse[1:] > 0)
    # charged-egnn conserves energy and momentum: both drifts are reported, beside the data's
    for key in ("energy_drift", "energy_drift_data", "momentum_drift", "momentum_drift_data"):
        assert key in out["curves"]
    assert out["curves"]["momentum_drift_data"].max() < 1e-3  # only force caps break it
    run = mlflow.get_run(result.run_id)
    assert run.data.metrics["test/mse"] == pytest.approx(m["mse"])
    client = mlflow.tracking.MlflowClient()
    steps = [x.step for x in client.get_metric_history(result.run_id, "test/rollout_mse")]
    assert sorted(steps) == [0, 10, 20, 30, 40]
    figures = {a.path for a in client.list_artifacts(result.run_id, "figures")}
    assert {"figures/rollout_mse.png", "figures/conservation.png"} <= figures


def test_the_run_lists_each_split_it_read_as_a_dataset_input(
    tracked: tuple[TrainResult, Path],
) -> None:
    """Training logs the train and validation splits; evaluation adds the test split, once."""
    result, _ = tracked
    for _ in range(2):  # evaluating again links the same test input, not a second one
        evaluate(result.run_id, DATASET, rollout_sims=2)
    run = mlflow.get_run(result.run_id)
    inputs = {
        {t.key: t.value for t in i.tags}["mlflow.data.context"]: i
        for i in run.inputs.dataset_inputs
    }
    assert len(run.inputs.dataset_inputs) == 3
    assert set(inputs) == {"training", "validation", "test"}
    test = inputs["test"]
    assert test.dataset.name == DATASET
    assert {t.key: t.value for t in test.tags}["split"] == "test"
    assert {t.key: t.value for t in test.tags}["fingerprint"] == fingerprint(load_card(DATASET))
    assert len({i.dataset.digest for i in inputs.values()}) == 3  # three splits, three digests
    assert run.info.status == "FINISHED"  # logged through the client: the run is unchanged


def test_evaluate_command_finds_the_latest_run(tracked: tuple[TrainResult, Path]) -> None:
    result, _ = tracked
    out = CliRunner().invoke(
        app, ["evaluate", "latest", "--dataset", DATASET, "--rollout-sims", "5"]
    )
    assert out.exit_code == 0, out.output
    assert f"run {result.run_id} on {DATASET}" in out.output
    assert "test/mse" in out.output
    assert "rollout MSE per step" in out.output


def test_evaluate_on_another_dataset_keeps_its_own_keys(
    tracked: tuple[TrainResult, Path], data_root: Path
) -> None:
    from fieldlab.pipelines.pipeline import generate

    other = "lorentz-charged-3d-mini"
    generate(other, workers=1, data_root=str(data_root), progress=False)
    result, _ = tracked
    out = evaluate(result.run_id, other, rollout_sims=5)
    assert out["prefix"] == f"test/{other}/"
    assert "energy_drift" in out["curves"]  # a magnetic field does no work
    assert "momentum_drift" not in out["curves"]  # but it does turn the total momentum
    run = mlflow.get_run(result.run_id)
    metrics = run.data.metrics
    assert f"test/{other}/mse" in metrics
    tested = {
        i.dataset.name
        for i in run.inputs.dataset_inputs
        if {t.key: t.value for t in i.tags}["mlflow.data.context"] == "test"
    }
    assert other in tested  # the split it was scored on, beside its own
    assert metrics["test/mse"] != metrics[f"test/{other}/mse"]


def test_a_dataset_another_process_registered_meanwhile_is_linked(
    tmp_path: Path,
    data_root: Path,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    """Two runs log one new dataset at once: the store registers it for one, refuses the
    other's insert, and the other's second try links its run to the registered dataset."""
    request.addfinalizer(partial(mlflow.set_tracking_uri, mlflow.get_tracking_uri()))
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    client = mlflow.MlflowClient()
    experiment = client.create_experiment("race")
    other, mine = (client.create_run(experiment).info.run_id for _ in range(2))
    log_inputs = mlflow.MlflowClient.log_inputs
    tries: list[str] = []

    def racing(self: mlflow.MlflowClient, run_id: str, datasets: Any = None) -> None:
        tries.append(run_id)
        if len(tries) == 1:  # the other process wins the insert between look-up and write
            log_inputs(self, other, datasets=datasets)
            raise MlflowException("UNIQUE constraint failed: datasets.experiment_id")
        log_inputs(self, run_id, datasets=datasets)

    monkeypatch.setattr(mlflow.MlflowClient, "log_inputs", racing)
    log_dataset_inputs(mine, DATASET, ("test",), data_root=data_root)
    assert tries == [mine, mine]
    linked = [client.get_run(r).inputs.dataset_inputs for r in (other, mine)]
    assert [len(i) for i in linked] == [1, 1]
    assert linked[0][0].dataset.digest == linked[1][0].dataset.digest
