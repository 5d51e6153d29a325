"""Fixtures: one generated mini dataset per session, and an isolated MLflow store per test."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from fieldlab.training.config import TrainConfig

DATASET = "egnn-charged-3d-mini"


@pytest.fixture(scope="session")
def data_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``egnn-charged-3d-mini`` generated under a temporary data root (seconds)."""
    from fieldlab.pipelines.pipeline import generate

    root = tmp_path_factory.mktemp("data")
    generate(DATASET, workers=1, data_root=str(root), progress=False)
    return root


@pytest.fixture
def workdir(tmp_path: Path, data_root: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run in an empty directory: the default store ``mlflow/`` and checkpoints land there."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FIELDLAB_DATA", str(data_root))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLFLOW_RUN_ID", raising=False)
    monkeypatch.delenv("FIELDLAB_CHECKPOINTS", raising=False)
    monkeypatch.setenv("MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL", "1")
    monkeypatch.setenv("MLFLOW_SYSTEM_METRICS_SAMPLES_BEFORE_LOGGING", "1")
    torch.set_num_threads(1)  # small graphs: one thread is fastest, and the cores are shared
    return tmp_path


def tiny_config(**updates: object) -> TrainConfig:
    """A small, fast EGNN run on the mini dataset."""
    base = {
        "dataset": DATASET,
        "hidden": 16,
        "layers": 2,
        "epochs": 4,
        "lr": 1e-3,
        "batch_size": 20,
        "max_train": 40,
        "figure_every": 2,
        "patience": None,
    }
    return TrainConfig(**{**base, **updates})


@pytest.fixture(scope="session")
def data_root_2d(data_root: Path) -> Path:
    """``nri-charged-2d-mini`` (2-D, overlapping context and target windows) beside it."""
    from fieldlab.pipelines.pipeline import generate

    generate("nri-charged-2d-mini", workers=1, data_root=str(data_root), progress=False)
    return data_root
