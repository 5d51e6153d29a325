"""Rollouts forecast the frames evaluation scores: after the observed frames on Aether's cards."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from fieldlab.catalog import load_card
from fieldlab.training.config import TrainConfig
from fieldlab.training.particles.data import forecast_start, forecast_window, load_trajectories
from fieldlab.training.particles.problem import Problem as ParticleProblem

AETHER = "aether-electrostatic-2d-mini"
EGNN_CARD = "egnn-charged-3d-mini"


def _card_and_trajectories(name: str, mini_data: Callable[[str], Path]):
    full = load_trajectories(name, "val", data_root=mini_data(name), limit=2)
    return load_card(name), full


def test_each_kind_of_model_forecasts_from_the_frame_it_is_scored_from(
    mini_data: Callable[[str], Path],
) -> None:
    card, full = _card_and_trajectories(AETHER, mini_data)
    start = forecast_start(card)
    assert start == 28  # 29 observed frames (0 .. 28), the last of them the task's input

    plain = forecast_window(full, card)
    assert plain.context is None
    np.testing.assert_array_equal(plain.position, full.position[:, start:])
    np.testing.assert_array_equal(plain.time, full.time[start:])

    conditioned = forecast_window(full, card, context_frames=29)
    assert conditioned.context is not None
    assert conditioned.context.shape[2] == 29
    np.testing.assert_array_equal(conditioned.position, full.position[:, 29:])


def test_a_card_without_observed_frames_rolls_out_from_frame_0(
    mini_data: Callable[[str], Path],
) -> None:
    card, full = _card_and_trajectories(EGNN_CARD, mini_data)
    assert forecast_start(card) == 0
    assert forecast_window(full, card) is full


def test_the_training_figure_of_an_unconditioned_model_starts_at_the_input_frame(
    mini_data: Callable[[str], Path],
) -> None:
    root = mini_data(AETHER)
    config = TrainConfig(dataset=AETHER, model="egnn", hidden=8, layers=1, epochs=1)
    plan = ParticleProblem(config, root)
    full = load_trajectories(AETHER, "val", data_root=root, limit=3)
    assert plan.traj.context is None
    np.testing.assert_array_equal(plan.traj.time, full.time[forecast_start(load_card(AETHER)) :])
