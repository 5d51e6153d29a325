"""The cosine schedule, and wall-time budgets that fit the schedule to the time left."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from fieldlab.errors import TrainingError
from fieldlab.training.loop import Trainer
from fieldlab.training.particles.data import load_task
from fieldlab.training.particles.forecaster import build_forecaster
from fieldlab.training.particles.objective import ParticleObjective
from fieldlab.training.schedule import learning_rate
from tests.training.conftest import DATASET, tiny_config


def test_cosine_schedule() -> None:
    lr = [learning_rate(e, base=1.0, total=4, kind="cosine") for e in range(5)]
    assert lr == pytest.approx(
        [1.0, 0.5 + 0.5 * math.cos(math.pi / 4), 0.5, 0.5 - 0.5 * math.cos(math.pi / 4), 0.0]
    )
    assert learning_rate(3, base=0.1, total=4, kind="constant") == 0.1


def _trainer(**updates: object) -> Trainer:
    config = tiny_config(hidden=8, layers=1, batch_size=8, **updates)
    data = load_task(DATASET, "train", limit=8)
    torch.manual_seed(0)
    model = build_forecaster("egnn", dim=3, spec=config.particles.graph, hidden=8, layers=1)
    return Trainer(config, model, data, data, ParticleObjective(config, data))


def test_a_generous_budget_still_ends_with_the_schedule(workdir: Path) -> None:
    trainer = _trainer(epochs=3, time_budget_s=3600.0)
    assert trainer.fit(progress=False) == "finished"
    assert trainer.state.epoch == 3


def test_a_tight_budget_shortens_the_schedule(workdir: Path) -> None:
    trainer = _trainer(epochs=100_000, time_budget_s=1.0, val_every=1000)
    assert trainer.fit(progress=False) == "time_budget"
    st = trainer.state
    assert 1 <= st.epoch < 100_000
    assert st.planned_epochs <= st.epoch + 1  # the cosine was fitted to the time left
    assert st.history[-1]["lr"] < 0.5 * trainer.config.lr
    assert "val_mse" in st.history[-1]  # the last epoch is validated before stopping
    assert st.best_epoch >= 0


def test_a_diverging_loss_stops_with_advice(workdir: Path) -> None:
    trainer = _trainer(epochs=3, lr=1e30, schedule="constant")
    with pytest.raises(TrainingError, match=r"'egnn-charged-3d-mini'.*lower the learning rate"):
        trainer.fit(progress=False)
