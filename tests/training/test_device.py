"""The device setting: runs on the CPU through the same torch-native batches a GPU run uses, and
a model trained on any device reloads and predicts identically on the CPU."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

import mlflow
from fieldlab.cli import app
from fieldlab.errors import TrainingError
from fieldlab.training import checkpoint
from fieldlab.training.device import resolve_device, to_device
from fieldlab.training.particles.data import load_task
from fieldlab.training.run import train
from fieldlab.training.runs import load_forecaster_from_run
from tests.training.conftest import DATASET, kind_config, tiny_config

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")


def test_auto_takes_a_gpu_only_when_there_is_one() -> None:
    want = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == want
    assert resolve_device("cpu") == torch.device("cpu")


def test_a_tensor_already_on_its_device_is_not_copied() -> None:
    t = torch.arange(6.0).reshape(2, 3)
    assert to_device(t, torch.device("cpu")) is t


@cuda
def test_a_host_batch_reaches_the_gpu_whole_through_pinned_memory() -> None:
    t = torch.randn(100, 5, 3, dtype=torch.float64)
    on_gpu = to_device(t, torch.device("cuda"))
    assert on_gpu.device.type == "cuda"
    assert not t.is_pinned()  # the caller's tensor is left as it was
    torch.testing.assert_close(on_gpu.cpu(), t, rtol=0, atol=0)
    assert to_device(on_gpu, on_gpu.device) is on_gpu


@pytest.mark.parametrize(
    ("name", "says"), [("cuda:7", "not available here"), ("tpu", "choose auto, cpu")]
)
def test_a_device_that_is_not_there_is_refused_naming_it(name: str, says: str) -> None:
    if name.startswith("cuda") and torch.cuda.device_count() > 7:
        pytest.skip("this machine has 8 GPUs")
    with pytest.raises(TrainingError, match=says):
        resolve_device(name)


@pytest.mark.parametrize("device", ["cpu", "auto"])
def test_a_run_on_either_setting_trains_and_logs_it(workdir: Path, kind: str, device: str) -> None:
    result = train(kind_config(kind, epochs=1, device=device), progress=False)
    assert result.stopped == "finished"
    assert mlflow.get_run(result.run_id).data.params["device"] == device


@cuda
def test_a_model_trained_on_the_gpu_serves_identically_on_the_cpu(workdir: Path) -> None:
    result = train(tiny_config(epochs=2, device="cuda", dtype="float64"), progress=False)
    model = load_forecaster_from_run(result.run_id)
    assert next(model.parameters()).device.type == "cpu"
    best = checkpoint.load(result.checkpoint_dir / checkpoint.BEST)["model"]
    gpu = load_forecaster_from_run(result.run_id).to("cuda")
    gpu.load_state_dict(best)
    test = load_task(DATASET, "test", dtype=torch.float64)
    with torch.no_grad():
        x_cpu, v_cpu = model.predict(test.position, test.velocity, test.scalar)
        x_gpu, v_gpu = gpu.predict(test.position, test.velocity, test.scalar)
    torch.testing.assert_close(x_gpu.cpu(), x_cpu, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(v_gpu.cpu(), v_cpu, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("device", ["cpu", "auto"])
def test_fieldlab_train_takes_the_setting_from_the_command_line(workdir: Path, device: str) -> None:
    argv = ["train", "--dataset", DATASET, "--model", "egnn", "--epochs", "1", "--hidden", "16"]
    argv += ["--set", "max_train=40", "--set", f"device={device}", "--no-progress"]
    out = CliRunner().invoke(app, argv)
    assert out.exit_code == 0, out.output
    run_id = out.output.split("run ", 1)[1].split(":", 1)[0]
    mlflow.set_tracking_uri(f"sqlite:///{workdir / 'mlflow' / 'mlflow.db'}")
    run = mlflow.get_run(run_id)
    assert run.data.params["device"] == device
    assert run.info.status == "FINISHED"
