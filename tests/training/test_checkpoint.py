"""Checkpoints and logged models load as plain weights: a crafted file never runs code."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import torch

from fieldlab.errors import TrainingError
from fieldlab.training import checkpoint


class _RunsCode:
    """Unpickling this calls ``touch`` on a marker file: what an attacker's payload would do."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (Path.touch, (self.marker,))


def test_a_checkpoint_round_trips_as_plain_weights(tmp_path: Path) -> None:
    state = {
        "config": {"dataset": "x", "particles": {"all_frames": True}},
        "model": {"w": torch.arange(3.0)},
        "generator": torch.Generator().manual_seed(0).get_state(),
        "loop": {"epoch": 2, "history": [{"epoch": 0, "val_mse": 0.5}], "stopped": None},
    }
    checkpoint.save(state, tmp_path / checkpoint.LAST)
    back = checkpoint.load(tmp_path / checkpoint.LAST)
    assert back["loop"] == state["loop"]
    assert torch.equal(back["model"]["w"], state["model"]["w"])
    assert torch.equal(back["generator"], state["generator"])


@pytest.mark.parametrize("how", ["torch", "pickle"])
def test_a_crafted_checkpoint_is_refused_and_runs_nothing(tmp_path: Path, how: str) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / checkpoint.LAST
    if how == "torch":
        torch.save({"model": _RunsCode(marker)}, path)
    else:
        path.write_bytes(pickle.dumps({"model": _RunsCode(marker)}))
    with pytest.raises(TrainingError, match="refused and nothing in it ran"):
        checkpoint.load(path)
    assert not marker.exists()
