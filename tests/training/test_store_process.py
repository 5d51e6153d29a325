"""The SQLite tracking store served by a process of its own (``fieldlab train``'s start-up): a
run tracked through it is the run MLflow records in-process, errors come back as MLflow's, a
store process that dies fails the next request clearly, and the command's own process never
imports the SQL store."""

from __future__ import annotations

import json
import os
import pickle
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

import mlflow
from fieldlab.training.run import train
from fieldlab.training.runs import load_forecaster_from_run
from fieldlab.training.store_process import StoreProcess, StoreProxy, routed
from tests.training.conftest import tiny_config


def _uri(directory: Path) -> str:
    return f"sqlite:///{directory / 'mlflow' / 'mlflow.db'}"


def test_a_run_tracked_through_the_store_process_is_recorded_in_the_store(
    workdir: Path,
) -> None:
    uri = _uri(workdir)
    with routed(StoreProcess.start(uri)) as process:
        result = train(tiny_config(epochs=2), tracking_uri=uri, progress=False)
        store = MlflowClient(uri)._tracking_client.store
        assert isinstance(store, StoreProxy), "the run did not go through the store process"
    assert process.proc.returncode == 0
    # read back in this process, straight from the database
    client = MlflowClient(uri)
    assert not isinstance(client._tracking_client.store, StoreProxy)
    run = client.get_run(result.run_id)
    assert run.info.status == "FINISHED"
    assert run.data.tags["fieldlab.state"] == "complete"
    assert [m.step for m in client.get_metric_history(result.run_id, "val_mse")] == [0, 1]
    assert run.data.params["dataset_fingerprint"]
    assert {i.dataset.name for i in run.inputs.dataset_inputs} == {"egnn-charged-3d-mini"}
    assert result.model_uri is not None
    assert run.outputs.model_outputs
    mlflow.set_tracking_uri(uri)
    assert load_forecaster_from_run(result.run_id) is not None


def test_the_stores_errors_come_back_as_mlflows(tmp_path: Path) -> None:
    uri = _uri(tmp_path)
    with routed(StoreProcess.start(uri)):
        client = MlflowClient(uri)
        with pytest.raises(MlflowException) as err:
            client.get_run("0" * 32)
        assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"
        with pytest.raises(MlflowException, match="already exists"):
            client.create_experiment("Default")


def test_the_store_process_ignores_ctrl_c_which_is_the_commands(tmp_path: Path) -> None:
    uri = _uri(tmp_path)
    with routed(StoreProcess.start(uri)) as process:
        client = MlflowClient(uri)
        client.search_experiments()  # the store is open
        process.proc.send_signal(signal.SIGINT)
        experiment = client.create_experiment("after-ctrl-c")
        assert client.get_experiment(experiment).name == "after-ctrl-c"


def test_a_store_process_that_dies_fails_the_next_request_naming_the_store(
    tmp_path: Path,
) -> None:
    uri = _uri(tmp_path)
    with routed(StoreProcess.start(uri)) as process:
        client = MlflowClient(uri)
        client.search_experiments()
        process.proc.kill()
        process.proc.wait()
        with pytest.raises(MlflowException, match=r"process serving the tracking store .* ended"):
            client.create_experiment("lost")


CLI = """
import json, sys
from fieldlab.cli.train import train_command
train_command(dataset="egnn-charged-3d-mini", model="egnn", epochs=2, hidden=16, layers=2,
              set_=["max_train=40", "figure_every=1"], progress=False)
print(json.dumps({m: m in sys.modules for m in ("sqlalchemy", "alembic", "mlflow")}))
"""


def test_fieldlab_train_never_opens_the_sql_store_in_its_own_process(
    tmp_path: Path, data_root: Path
) -> None:
    repo = Path(__file__).resolve().parents[2]
    env = {"FIELDLAB_DATA": str(data_root), "PYTHONPATH": str(repo), "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [sys.executable, "-c", CLI], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "finished after 2 epochs" in out.stdout
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen == {"sqlalchemy": False, "alembic": False, "mlflow": True}
    client = MlflowClient(_uri(tmp_path))
    (run,) = client.search_runs([client.get_experiment_by_name("fieldlab").experiment_id])
    assert run.info.status == "FINISHED"
    assert len(client.get_metric_history(run.info.run_id, "train_loss")) == 2


def test_a_command_that_fails_on_its_inputs_leaves_no_store(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-c", "from fieldlab.cli import app; app()", "train", "--dataset", "nope"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 2
    assert out.stderr.startswith("error: no dataset card named 'nope'")
    assert not (tmp_path / "mlflow").exists()


def test_a_request_that_cannot_be_sent_leaves_the_channel_whole(tmp_path: Path) -> None:
    uri = _uri(tmp_path)
    with routed(StoreProcess.start(uri)) as process:
        proxy = StoreProxy(process)
        with pytest.raises((pickle.PicklingError, AttributeError, TypeError)):
            proxy.get_experiment(lambda: "0")  # a local function does not pickle
        assert proxy.get_experiment("0").name == "Default"  # the next request is answered
    with pytest.raises(MlflowException, match="ended"):  # and none after the process ended
        proxy.get_experiment("0")


def test_ctrl_c_at_the_terminal_stops_the_run_resumably_and_ends_the_store_process(
    tmp_path: Path, data_root: Path
) -> None:
    """A terminal's Ctrl-C reaches the command's whole process group, the store process too."""
    repo = Path(__file__).resolve().parents[2]
    env = {**os.environ, "FIELDLAB_DATA": str(data_root), "PYTHONPATH": str(repo)}
    env.pop("MLFLOW_TRACKING_URI", None)
    argv = ["train", "--dataset", "egnn-charged-3d-mini", "--model", "egnn", "--epochs", "500"]
    argv += ["--hidden", "16", "--set", "max_train=40", "--no-progress"]
    proc = subprocess.Popen(
        [sys.executable, "-c", "from fieldlab.cli import main; main()", *argv],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal gives it
    )
    deadline = time.monotonic() + 180
    while not list(tmp_path.glob("mlflow/**/last.pt")):  # training, an epoch checkpointed
        assert proc.poll() is None, proc.communicate()[1][-2000:]
        assert time.monotonic() < deadline, "no epoch was checkpointed in 3 minutes"
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=180)
    assert proc.returncode == 130, err[-2000:]
    found = re.search(r"fieldlab train --resume ([0-9a-f]{32})", out)
    assert found is not None, out
    client = MlflowClient(_uri(tmp_path))
    run = client.get_run(found.group(1))
    assert run.info.status == "KILLED"
    assert run.data.tags["fieldlab.state"] == "interrupted"
    assert len(client.get_metric_history(run.info.run_id, "val_mse")) >= 1
    leftover = subprocess.run(["pgrep", "-g", str(proc.pid)], capture_output=True, text=True)
    assert leftover.stdout.strip() == "", "a process of the command outlived it"
