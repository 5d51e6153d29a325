"""The shipped catalog and card validation: every card loads, and a bad card says what to fix."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import yaml

from fieldlab.catalog import (
    canonical_json,
    card_names,
    fingerprint,
    fingerprint_payload,
    load_card,
    read_card,
    scan_cards,
)
from fieldlab.errors import CardError, DatasetNameError, UnknownDatasetError
from fieldlab.simulators import SYSTEMS

NAMED = [
    "nri-charged-2d",
    "nri-springs-2d",
    "egnn-charged-3d",
    "segnn-gravity-100",
    "aether-electrostatic-2d",
    "aether-gravitational-3d",
    "lorentz-charged-3d",
]

LATER = ["cybloid-delayed-trap", "cybloid-annular-active", "cybloid-crystal"]
GRID = ["diffusion-plane", "navier-stokes-torus"]
SMALLEST_SPLIT = 4
"""A mini's split may keep this many simulations where 1% of the full split is fewer (the PDE
cards' test splits have 32): fewer would make its test scores meaningless."""

VALID = {
    "name": "probe",
    "description": "a card for tests",
    "simulator": "charged",
    "params": {"n_steps": 1000},
    "splits": {"train": 10, "val": 5},
    "seed": 1,
    "chunk_size": 5,
    "reference": "none",
}


def write(tmp_path: Path, **changes: object) -> Path:
    card = {**VALID, **changes}
    path = tmp_path / f"{card['name']}.yaml"
    path.write_text(yaml.safe_dump(card))
    return path


@pytest.mark.parametrize("name", NAMED)
def test_every_named_dataset_has_a_card_and_a_mini_of_at_most_one_percent(name: str) -> None:
    full, mini = load_card(name), load_card(f"{name}-mini")
    assert set(card_names()) >= {name, f"{name}-mini"}
    assert full.simulator == mini.simulator
    for split in full.split_names():
        assert mini.splits[split].n_sims <= full.splits[split].n_sims // 100
        assert mini.n_frames(split) == full.n_frames(split)
    assert fingerprint(full) != fingerprint(mini)


@pytest.mark.parametrize("name", LATER + GRID)
def test_cybloid_and_grid_cards_have_a_mini_of_one_percent_or_the_smallest_split(name: str) -> None:
    full, mini = load_card(name), load_card(f"{name}-mini")
    assert full.simulator == mini.simulator
    assert mini.split_names() == full.split_names()
    for split in full.split_names():
        cap = max(full.splits[split].n_sims // 100, SMALLEST_SPLIT)
        assert 1 <= mini.splits[split].n_sims <= cap
        assert mini.n_frames(split) == full.n_frames(split)
        assert mini.resolved_params(split) == full.resolved_params(split)
    assert mini.task == full.task
    assert fingerprint(full) != fingerprint(mini)


def test_published_sizes_and_frames() -> None:
    nri = load_card("nri-charged-2d")
    assert [nri.splits[s].n_sims for s in ("train", "val", "test")] == [50_000, 10_000, 10_000]
    assert [nri.n_frames(s) for s in ("train", "val", "test")] == [49, 49, 99]
    egnn = load_card("egnn-charged-3d")
    assert [egnn.splits[s].n_sims for s in ("train", "val", "test")] == [10_000, 2_000, 2_000]
    assert (egnn.task.context.start, egnn.task.target.start) == (30, 40)
    assert load_card("segnn-gravity-100").n_frames("train") == 50


def test_fingerprint_is_the_sha256_of_the_canonical_payload(tmp_path: Path) -> None:
    card = read_card(write(tmp_path))
    payload = fingerprint_payload(card)
    assert set(payload) == {"simulator", "simulator_version", "params", "splits", "seed"}
    assert payload["params"]["n_steps"] == 1000
    assert payload["params"]["dt"] == 0.001
    assert fingerprint(card) == hashlib.sha256(canonical_json(payload).encode()).hexdigest()
    # what determines the numbers changes it; the description and chunking do not
    assert fingerprint(read_card(write(tmp_path, seed=2))) != fingerprint(card)
    assert fingerprint(read_card(write(tmp_path, params={"n_steps": 1001}))) != fingerprint(card)
    same = read_card(write(tmp_path, description="other", chunk_size=3))
    assert fingerprint(same) == fingerprint(card)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"simulator": "chargd"}, ["'simulator'", "chargd", *SYSTEMS]),
        ({"params": {"n_step": 5}}, ["'params'", "n_step", "not a parameter", "n_steps", "dt"]),
        ({"params": {"dt": -1.0}}, ["'params'", "dt", "greater than 0"]),
        ({"splits": {"train": 10, "valid": 5}}, ["'splits.valid", "'train'", "'val'", "'test'"]),
        ({"splits": {"val": 5}}, ["'splits'", "train split is required"]),
        (
            {"validation": {"on_invalid": "ignore"}},
            ["validation.on_invalid", "'fail'", "'resample'"],
        ),
        ({"chunksize": 5}, ["'chunksize'", "valid fields", "chunk_size"]),
        ({"chunk_size": 0}, ["'chunk_size'", "greater than 0"]),
        ({"splits": {"train": True}}, ["'splits'", "splits.train: true is a boolean", "integer"]),
        ({"splits": {"train": 10, "val": {"n_sims": False}}}, ["splits.val: false is a boolean"]),
        ({"chunk_size": True}, ["'chunk_size'", "valid integer"]),
        ({"seed": True}, ["'seed'", "valid integer"]),
        (
            {"task": {"context": {"start": 0, "stop": 5}, "target": {"start": 5, "stop": 99}}},
            ["task.target", "99", "9 frames"],
        ),
    ],
)
def test_an_invalid_card_names_the_file_the_field_and_the_choices(
    tmp_path: Path, changes: dict, expected: list[str]
) -> None:
    path = write(tmp_path, **changes)
    with pytest.raises(CardError) as err:
        read_card(path)
    message = str(err.value)
    assert str(path) in message
    for text in expected:
        assert text in message, message


def test_name_must_match_the_file_and_yaml_must_parse(tmp_path: Path) -> None:
    path = tmp_path / "other.yaml"
    path.write_text(yaml.safe_dump(VALID))
    with pytest.raises(CardError, match="must match the file name 'other'"):
        read_card(path)
    path.write_text("name: [unclosed")
    with pytest.raises(CardError, match="cannot read it as YAML"):
        read_card(path)


def test_split_params_override_the_card(tmp_path: Path) -> None:
    card = read_card(
        write(tmp_path, splits={"train": 10, "test": {"n_sims": 4, "params": {"n_steps": 2000}}})
    )
    assert card.n_frames("train") == 9
    assert card.n_frames("test") == 19
    assert card.split_names() == ["train", "test"]
    assert card.n_chunks("train") == 2
    assert card.n_chunks("test") == 1


def test_unknown_dataset_lists_the_catalog() -> None:
    with pytest.raises(UnknownDatasetError, match="nri-charged-2d-mini"):
        load_card("nri-charged")


@pytest.mark.parametrize("name", ["../x", "../../etc/passwd", "/abs", "Nri", "a/b", "", "-x"])
def test_a_name_that_is_not_a_dataset_name_never_reaches_the_file_system(
    tmp_path: Path, name: str
) -> None:
    inside = tmp_path / "catalog"
    inside.mkdir()
    write(tmp_path, name="x")  # a valid card just outside the catalog: ../x would find it
    with pytest.raises(DatasetNameError) as err:
        load_card(name, inside)
    assert repr(name) in str(err.value)
    assert "lower-case letters a-z, digits 0-9 and hyphens" in str(err.value)


def test_one_bad_card_does_not_hide_the_good_ones(tmp_path: Path) -> None:
    write(tmp_path)
    write(tmp_path, name="other", splits={"train": True})
    (tmp_path / "broken.yaml").write_text("name: [unclosed")
    scan = scan_cards(tmp_path)
    assert list(scan.cards) == ["probe"]
    assert sorted(scan.errors) == ["broken", "other"]
    assert "cannot read it as YAML" in str(scan.errors["broken"])
    assert "splits.train: true is a boolean" in str(scan.errors["other"])
    assert str(tmp_path / "other.yaml") in str(scan.errors["other"])
