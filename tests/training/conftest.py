"""Fixtures: one generated mini dataset per session, and an isolated MLflow store per test."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from fieldlab.training.config import TrainConfig

DATASET = "egnn-charged-3d-mini"
GRID = "diffusion-plane-mini"
KINDS = ("particles", "grid")
"""The kinds of data the machinery tests run on, with a card and a tiny config each."""


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


@pytest.fixture(scope="session")
def grid_root(data_root: Path) -> Path:
    """``diffusion-plane-mini`` (20 train, 4 test simulations) beside the particle datasets."""
    from fieldlab.pipelines.pipeline import generate

    generate(GRID, workers=1, data_root=str(data_root), progress=False)
    return data_root


def grid_config(**updates: object) -> TrainConfig:
    """A small, fast mesh-GNN run on two training simulations (18 one-step pairs)."""
    base = {
        "dataset": GRID, "model": "mesh-gnn", "hidden": 16, "layers": 2, "epochs": 12,
        "lr": 3e-3, "batch_size": 4, "max_train": 2, "figure_every": 100, "patience": None,
        "mesh": {"neighbours": 4},
    }  # fmt: skip
    return TrainConfig(**{**base, **updates})


def kind_config(kind: str, **updates: object) -> TrainConfig:
    """A tiny run of ``kind`` (see :data:`KINDS`)."""
    return tiny_config(**updates) if kind == "particles" else grid_config(**updates)


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest, workdir: Path, grid_root: Path) -> str:
    """Each kind of data in turn, in an isolated working directory with both datasets."""
    return request.param
