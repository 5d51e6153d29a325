"""The same tracking against a real ``mlflow server`` process on 127.0.0.1 (a free port, its own
temporary backend store and artifact destination), started and stopped by the test."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

import mlflow
from fieldlab.catalog import fingerprint, load_card
from fieldlab.training import checkpoint
from fieldlab.training.particles.data import load_task
from fieldlab.training.run import train
from fieldlab.training.runs import load_forecaster_from_run, mark_dead_runs
from fieldlab.training.tracking import run_model_uri
from tests.training.conftest import DATASET, tiny_config


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """A real ``mlflow server`` on 127.0.0.1 with its own backend store, which a test may stop
    and start again on the same port and store."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        cmd = [
            str(Path(sys.executable).with_name("mlflow")), "server",
            "--backend-store-uri", f"sqlite:///{self.tmp_path / 'server.db'}",
            "--artifacts-destination", (self.tmp_path / "server-artifacts").as_uri(),
            "--host", "127.0.0.1", "--port", str(self.port), "--workers", "1",
        ]  # fmt: skip
        log = self.tmp_path / "server.log"
        with log.open("a") as out:
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"mlflow server did not start: {log.read_text()}")
            time.sleep(0.5)

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None


@pytest.fixture
def tracking_server(tmp_path: Path) -> Iterator[Server]:
    server = Server(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def server(tracking_server: Server) -> str:
    return tracking_server.url


def test_training_run_reaches_a_tracking_server(workdir: Path, server: str) -> None:
    result = train(tiny_config(epochs=2), tracking_uri=server, progress=False)
    assert not (workdir / "mlflow" / "mlflow.db").exists()  # nothing in the local store
    assert mlflow.get_tracking_uri() == server
    run = mlflow.get_run(result.run_id)
    assert run.data.params["dataset"] == DATASET
    assert run.data.params["dataset_fingerprint"] == fingerprint(load_card(DATASET))
    assert {"train_mse", "val_mse"} <= run.data.metrics.keys()
    assert run.inputs.dataset_inputs[0].dataset.name == DATASET

    pyfunc = mlflow.pyfunc.load_model(run_model_uri(result.run_id))
    assert pyfunc.metadata.signature is not None
    reference = load_forecaster_from_run(result.run_id, tracking_uri=server)
    reference.load_state_dict(checkpoint.load(result.checkpoint_dir / checkpoint.BEST)["model"])
    test = load_task(DATASET, "test")
    inputs = {k: getattr(test, k).numpy() for k in ("position", "velocity", "scalar")}
    with torch.no_grad():
        x, v = reference.predict(test.position, test.velocity, test.scalar)
    got = pyfunc.predict(inputs)
    np.testing.assert_array_equal(got["position"], x.numpy())
    np.testing.assert_array_equal(got["velocity"], v.numpy())


def test_a_server_that_goes_away_fails_the_run_fast_and_it_resumes_when_it_is_back(
    workdir: Path, tracking_server: Server
) -> None:
    """Stop the server under a training process: the process ends within a bound, in one line,
    with its checkpoint; the next command marks the run as died; the run resumes once the server
    is back."""
    cmd = [
        str(Path(sys.executable).with_name("fieldlab")), "train", "--dataset", DATASET,
        "--hidden", "8", "--layers", "1", "--batch-size", "20", "--epochs", "4000",
        "--set", "max_train=20", "--set", "figure_every=1000", "--set", "patience=null",
        "--tracking-uri", tracking_server.url, "--no-progress",
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    root = workdir / "mlflow" / "artifacts" / "checkpoints"
    deadline = time.monotonic() + 120
    while not list(root.glob("*/last.pt")) and time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.2)
    tracking_server.stop()
    stopped_at = time.monotonic()
    out, err = proc.communicate(timeout=180)
    assert time.monotonic() - stopped_at < 120  # bounded: 15 s a request, 2 retries
    assert proc.returncode == 2, out + err
    lines = err.strip().splitlines()
    assert "Traceback" not in out + err
    assert [line for line in lines if line.startswith("error:")] == lines[-1:], err  # MLflow's
    # own log lines about the failed requests may come before fieldlab's one line
    (last,) = root.glob("*/last.pt")
    run_id = last.parent.name
    assert "stopped answering" in lines[-1]
    assert f"fieldlab train --resume {run_id}" in lines[-1]
    done = checkpoint.load(last)["loop"]["epoch"]
    assert done >= 1

    tracking_server.start()
    mlflow.set_tracking_uri(tracking_server.url)
    assert mlflow.get_run(run_id).info.status == "RUNNING"  # as the dead process left it
    assert mark_dead_runs() == [run_id]
    died = mlflow.get_run(run_id)
    assert died.info.status == "KILLED"
    assert died.data.tags["fieldlab.state"] == "died"
    resumed = train(
        resume=run_id,
        tracking_uri=tracking_server.url,
        progress=False,
        session={"max_epochs_per_session": 2},
    )
    assert resumed.epochs == done + 2
    steps = sorted(m.step for m in mlflow.MlflowClient().get_metric_history(run_id, "train_loss"))
    assert steps[-1] == done + 1
    assert len(set(steps)) == len(steps)  # no epoch logged twice
