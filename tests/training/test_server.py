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
from fieldlab.training.runs import load_forecaster_from_run
from tests.training.conftest import DATASET, tiny_config


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    port = _free_port()
    cmd = [
        str(Path(sys.executable).with_name("mlflow")), "server",
        "--backend-store-uri", f"sqlite:///{tmp_path / 'server.db'}",
        "--artifacts-destination", (tmp_path / "server-artifacts").as_uri(),
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
    ]  # fmt: skip
    log = (tmp_path / "server.log").open("w")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"mlflow server did not start: {(tmp_path / 'server.log').read_text()}")
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def test_training_run_reaches_a_tracking_server(workdir: Path, server: str) -> None:
    result = train(tiny_config(epochs=2), tracking_uri=server, progress=False)
    assert not (workdir / "mlflow" / "mlflow.db").exists()  # nothing in the local store
    assert mlflow.get_tracking_uri() == server
    run = mlflow.get_run(result.run_id)
    assert run.data.params["dataset"] == DATASET
    assert run.data.params["dataset_fingerprint"] == fingerprint(load_card(DATASET))
    assert {"train_mse", "val_mse"} <= run.data.metrics.keys()
    assert run.inputs.dataset_inputs[0].dataset.name == DATASET

    pyfunc = mlflow.pyfunc.load_model(f"runs:/{result.run_id}/model")
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
