"""The Lorentz force q v x B is a field of velocity: a field that sees velocity discovers it, one
that sees only position cannot (v x B averages to zero over the velocities at any point)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import torch

import mlflow
from fieldlab.training.config import TrainConfig
from fieldlab.training.particles.problem import Problem as ParticleProblem
from fieldlab.training.run import train

DATASET = "lorentz-charged-3d-mini"


@pytest.fixture(scope="module")
def data_root(mini_data: Callable[[str], Path]) -> Path:
    return mini_data(DATASET)


@pytest.mark.parametrize("velocity_input", [True, False])
def test_only_a_velocity_field_discovers_the_lorentz_force(
    data_root: Path, tmp_path: Path, velocity_input: bool
) -> None:
    torch.set_num_threads(1)
    cfg = TrainConfig(
        dataset=DATASET, model="field", hidden=32, layers=2, epochs=6, lr=3e-3, batch_size=100,
        max_train=100, all_frames=True, figure_every=100, patience=None,
        field={"hidden": 64, "velocity_input": velocity_input},
    )  # fmt: skip
    problem = ParticleProblem(cfg, data_root)
    initial = problem.fields.score(problem.model)
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    result = train(
        cfg, data_root=data_root, tracking_uri=store, checkpoint_root=tmp_path, progress=False
    )
    mlflow.set_tracking_uri(store)
    final = mlflow.get_run(result.run_id).data.metrics
    assert abs(initial.cosine) < 0.2  # an untrained field points anywhere
    if velocity_input:  # measured: cosine 0.86, relative error 0.22 after 6 epochs
        assert final["field_cosine"] > 0.7
        assert final["field_relative_error"] < 0.5 * initial.relative_error
    else:  # measured: cosine 0.07, relative error 1.10
        assert final["field_cosine"] < 0.3
        assert final["field_relative_error"] > 0.8
