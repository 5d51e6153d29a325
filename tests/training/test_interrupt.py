"""Ctrl-C is a request to stop between batches; a second one stops at once, but not mid-block."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest
import torch
from torch import nn

from fieldlab.training.config import TrainConfig
from fieldlab.training.interrupt import CtrlC
from fieldlab.training.loop import Trainer
from fieldlab.training.particles.data import TaskData, global_scales, load_task
from fieldlab.training.particles.forecaster import build_forecaster
from fieldlab.training.particles.objective import ParticleObjective
from tests.training.conftest import DATASET, tiny_config


def _sigint_self() -> None:
    """Deliver SIGINT to this process and give the interpreter a moment to run the handler."""
    os.kill(os.getpid(), signal.SIGINT)
    time.sleep(0.05)


def test_first_ctrl_c_sets_the_flag_and_a_second_raises() -> None:
    ctrl_c = CtrlC()
    before = signal.getsignal(signal.SIGINT)
    with ctrl_c.installed():
        _sigint_self()
        assert ctrl_c.stop.is_set()
        with pytest.raises(KeyboardInterrupt):
            _sigint_self()
    assert signal.getsignal(signal.SIGINT) is before


def test_a_second_ctrl_c_waits_for_the_end_of_a_held_block() -> None:
    ctrl_c = CtrlC()
    steps = []

    def block() -> None:
        with ctrl_c.held():
            _sigint_self()
            steps.append("after the second Ctrl-C, still inside the block")

    with ctrl_c.installed():
        _sigint_self()
        with pytest.raises(KeyboardInterrupt):
            block()
    assert steps == ["after the second Ctrl-C, still inside the block"]


def test_off_the_main_thread_the_handler_is_left_alone() -> None:
    seen = []

    def install() -> None:
        with CtrlC().installed():
            seen.append(signal.getsignal(signal.SIGINT))

    before = signal.getsignal(signal.SIGINT)
    worker = threading.Thread(target=install)
    worker.start()
    worker.join()
    assert seen == [before]


class _StopAfter(ParticleObjective):
    """Sets the stop event before its ``n``-th batch, as a Ctrl-C in the middle of an epoch."""

    def __init__(self, n: int, stop: threading.Event, config: TrainConfig, val: TaskData) -> None:
        super().__init__(config, val)
        self.n, self.stop, self.batches = n, stop, 0

    def batch_loss(
        self, model: nn.Module, part: TaskData, epoch: int
    ) -> tuple[torch.Tensor, torch.Tensor]:
        self.batches += 1
        if self.batches == self.n:
            self.stop.set()
        return super().batch_loss(model, part, epoch)


def test_a_stop_mid_epoch_abandons_that_epoch_only(workdir: Path) -> None:
    config = tiny_config(epochs=10, max_train=40, batch_size=20)  # two batches per epoch
    data = load_task(DATASET, "train", limit=40)
    sx, sv = global_scales(DATASET)
    torch.manual_seed(0)
    model = build_forecaster(
        "egnn", dim=3, spec=config.particles.graph, hidden=16, layers=2, position_scale=sx,
        velocity_scale=sv,
    )  # fmt: skip
    stop = threading.Event()
    objective = _StopAfter(5, stop, config, data)  # during the 3rd epoch's 1st batch
    trainer = Trainer(config, model, data, data, objective)
    assert trainer.fit(progress=False, stop=stop) == "interrupted"
    assert trainer.state.epoch == 2  # epochs 0 and 1 finished; epoch 2 was abandoned
    assert [h["epoch"] for h in trainer.state.history] == [0, 1]
    assert objective.batches == 5  # it stopped before the epoch's 2nd batch, not at its end
    assert trainer.state.stopped == "interrupted"
