"""A model logged by fieldlab 0.1 still loads and predicts: its model directory carries a copy of
0.1's serving code (``tests/training/legacy/served_model_0_1.py``, kept verbatim), which imports
``fieldlab.training.pyfunc``, and a payload without the ``kind`` and ``horizon_time`` keys."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from mlflow.models import infer_signature

import mlflow
from fieldlab.models import GraphSpec
from fieldlab.training.particles.forecaster import build_forecaster
from fieldlab.training.particles.serving import payload, predict

SERVING_0_1 = Path(__file__).with_name("legacy") / "served_model_0_1.py"


def test_a_model_logged_by_fieldlab_0_1_loads_and_predicts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    torch.manual_seed(0)
    model = build_forecaster("egnn", dim=3, spec=GraphSpec(), hidden=8, layers=1).eval()
    old = payload(model, name="egnn", dim=3, hidden=8, layers=1)
    del old["kind"], old["horizon_time"]  # 0.1's payload had neither
    torch.save(old, tmp_path / "forecaster.pt")
    rng = np.random.default_rng(0)
    inputs = {
        "position": rng.normal(size=(2, 5, 3)).astype(np.float32),
        "velocity": rng.normal(size=(2, 5, 3)).astype(np.float32),
        "scalar": rng.choice([-1.0, 1.0], size=(2, 5)).astype(np.float32),
    }
    want = predict(model, inputs)
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    mlflow.set_experiment("logged-before")  # not an experiment id another test left active
    with mlflow.start_run():
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=str(SERVING_0_1),
            model_config={"kind": "particles"},
            artifacts={"forecaster": str(tmp_path / "forecaster.pt")},
            signature=infer_signature(inputs, want),
            pip_requirements=["fieldlab"],
        )
    served = mlflow.pyfunc.load_model(info.model_uri)
    got = served.predict(inputs)
    for key in ("position", "velocity"):
        np.testing.assert_array_equal(got[key], want[key])
