"""Rollout warm-up: the loss starts on single steps and grows to K fed-back steps."""

from __future__ import annotations

from pathlib import Path

import torch

from fieldlab.training.loop import Trainer
from fieldlab.training.particles.data import global_scales, load_task
from fieldlab.training.particles.forecaster import build_forecaster
from fieldlab.training.particles.objective import ParticleObjective
from tests.training.conftest import DATASET, tiny_config


def _trainer(workdir: Path, **updates: object) -> Trainer:
    config = tiny_config(epochs=6, all_frames=True, max_train=40, **updates)
    data = load_task(DATASET, "train", limit=40, all_frames=True, rollout_steps=3)
    sx, sv = global_scales(DATASET)
    torch.manual_seed(0)
    model = build_forecaster(
        "egnn",
        dim=3,
        spec=config.particles.graph,
        hidden=16,
        layers=2,
        position_scale=sx,
        velocity_scale=sv,
    )
    return Trainer(config, model, data, data, ParticleObjective(config, data))


def test_the_fed_back_steps_grow_from_one_to_k(workdir: Path) -> None:
    trainer = _trainer(workdir, rollout_steps=3, rollout_warmup=4)
    assert trainer.fit(progress=False) == "finished"
    used = [h["rollout_steps"] for h in trainer.state.history]
    assert used == [1, 1, 2, 2, 3, 3]  # k = min(3, 1 + 2 e // 4)


def test_a_warm_up_epoch_of_one_step_is_exactly_one_step_training(workdir: Path) -> None:
    one = _trainer(workdir, rollout_steps=1)
    warm = _trainer(workdir, rollout_steps=3, rollout_warmup=4)
    cold = _trainer(workdir, rollout_steps=3)
    for t in (one, warm, cold):
        t.fit(progress=False)
    first = [t.state.history[0]["train_loss"] for t in (one, warm, cold)]
    assert first[0] == first[1]  # the same batches, weights and loss: bit for bit
    assert first[2] != first[0]  # without warm-up the first epoch already feeds back 3 steps
    assert warm.state.history[4]["train_loss"] != one.state.history[4]["train_loss"]
