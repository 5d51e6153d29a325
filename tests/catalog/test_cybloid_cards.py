"""The cybloid cards: each validates, each mini is a 1% twin, and a mini generates for real."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fieldlab.catalog import load_card, open_dataset, verify
from fieldlab.catalog.seeds import split_seed
from fieldlab.pipelines import generate
from fieldlab.simulators import simulate

FULL = ["cybloid-delayed-trap", "cybloid-annular-active", "cybloid-crystal"]
ALL = [*FULL, *(f"{name}-mini" for name in FULL)]


@pytest.mark.parametrize("name", ALL)
def test_every_cybloid_card_validates_and_says_what_it_is(name: str) -> None:
    card = load_card(name)
    assert card.name == name
    assert card.simulator.startswith("cybloid-")
    assert "Saha" in card.reference
    assert "Tarama" in card.reference
    assert card.description
    assert card.task is not None
    assert card.split_names() == ["train", "val", "test"]
    for split in card.split_names():
        assert card.task.target.stop <= card.n_frames(split)
        assert card.resolved_params(split) == card.resolved_params("train")


@pytest.mark.parametrize("name", FULL)
def test_each_mini_is_the_same_physics_with_at_most_one_percent_of_the_simulations(
    name: str,
) -> None:
    full, mini = load_card(name), load_card(f"{name}-mini")
    assert (mini.simulator, mini.seed, mini.task) == (full.simulator, full.seed, full.task)
    for split in full.split_names():
        assert mini.resolved_params(split) == full.resolved_params(split)
        assert mini.splits[split].n_sims <= full.splits[split].n_sims // 100


def test_delayed_trap_sweeps_the_delay_over_relaxation_times_and_sees_the_longest() -> None:
    card = load_card("cybloid-delayed-trap")
    p = card.resolved_params("train")
    relaxation = p["gamma"] / p["k"]
    assert p["n_particles"] == 1
    assert p["delay"] is None
    np.testing.assert_allclose(np.divide(p["delay_sweep"], relaxation), [0, 0.25, 0.5, 1, 2])
    frame = p["dt"] * p["sample_every"]
    assert card.task is not None
    context = (card.task.context.stop - card.task.context.start) * frame
    assert context >= max(p["delay_sweep"]) - 1e-12  # the context spans the longest delay
    assert card.task.context.start * frame >= max(p["delay_sweep"])  # past the initial rest


def test_delayed_trap_mini_generates_verifies_and_stores_each_simulations_delay(
    tmp_path: Path,
) -> None:
    name = "cybloid-delayed-trap-mini"
    card = load_card(name)
    summary = generate(name, workers=1, data_root=str(tmp_path), progress=False)
    assert summary.written == sum(card.n_chunks(s) for s in card.split_names())
    assert verify(name, data_root=tmp_path).ok
    sweep = card.resolved_params("train")["delay_sweep"]
    for split in card.split_names():
        ds = open_dataset(name, split, data_root=tmp_path)
        n = card.splits[split].n_sims
        np.testing.assert_array_equal(ds["delay"].values, np.resize(sweep, n))
        assert ds["delay"].dims == ("sim",)
        fresh = simulate(
            card.simulator, 7, split_seed(card.seed, split), card.resolved_params(split)
        )
        np.testing.assert_array_equal(ds["position"].values[:7], fresh.position)
        np.testing.assert_array_equal(ds["delay"].values[:7], fresh.variables["delay"])
