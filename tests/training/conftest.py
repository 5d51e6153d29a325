"""Fixtures: one generated mini dataset per session, and an isolated MLflow store per test."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from fieldlab.training.config import TrainConfig

DATASET = "egnn-charged-3d-mini"


@pytest.fixture(scope="session")
def data_root(mini_data: Callable[[str], Path]) -> Path:
    """``egnn-charged-3d-mini`` generated under a temporary data root (seconds)."""
    return mini_data(DATASET)


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
def data_root_2d(data_root: Path, mini_data: Callable[[str], Path]) -> Path:
    """``nri-charged-2d-mini`` (2-D, overlapping context and target windows) beside it."""
    return mini_data("nri-charged-2d-mini")
