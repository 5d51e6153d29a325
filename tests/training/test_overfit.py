"""EGNN can fit a tiny dataset: the training loss falls at least tenfold."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from fieldlab.training.loop import Trainer
from fieldlab.training.particles.data import global_scales, load_task
from fieldlab.training.particles.forecaster import build_forecaster
from fieldlab.training.particles.objective import ParticleObjective
from tests.training.conftest import DATASET, tiny_config


def test_egnn_overfits_eight_simulations(workdir: Path) -> None:
    config = tiny_config(
        hidden=32, epochs=150, lr=3e-3, batch_size=8, max_train=8, schedule="constant",
        velocity_weight=0.0, val_every=1000,
    )  # fmt: skip
    data = load_task(DATASET, "train", limit=8)
    sx, sv = global_scales(DATASET)
    torch.manual_seed(0)
    model = build_forecaster(
        "egnn",
        dim=3,
        spec=config.particles.graph,
        hidden=32,
        layers=2,
        position_scale=sx,
        velocity_scale=sv,
    )
    trainer = Trainer(config, model, data, data, ParticleObjective(config, data))
    assert trainer.fit(progress=False) == "finished"
    losses = [h["train_mse"] for h in trainer.state.history]
    assert losses[-1] < losses[0] / 10, (losses[0], losses[-1])
    assert losses[-1] < losses[1] / 10, (losses[1], losses[-1])  # not just the first step


@pytest.mark.parametrize("model", ["egnn", "gnn", "linear"])
@pytest.mark.parametrize("dataset", [DATASET, "nri-charged-2d-mini"])
def test_every_model_trains_in_2d_and_3d(
    workdir: Path, data_root_2d: Path, model: str, dataset: str
) -> None:
    config = tiny_config(dataset=dataset, model=model, hidden=8, layers=1, epochs=3, max_train=20)
    train = load_task(dataset, "train", limit=20)
    val = load_task(dataset, "val", limit=20)
    dim = 3 if dataset == DATASET else 2
    assert train.dim == dim
    sx, sv = global_scales(dataset)
    torch.manual_seed(0)
    f = build_forecaster(
        model,
        dim=dim,
        spec=config.particles.graph,
        hidden=8,
        layers=1,
        position_scale=sx,
        velocity_scale=sv,
    )
    trainer = Trainer(config, f, train, val, ParticleObjective(config, val))
    assert trainer.fit(progress=False) == "finished"
    losses = [h["train_loss"] for h in trainer.state.history]
    assert all(math.isfinite(x) for x in losses)
    assert losses[-1] < losses[0]
