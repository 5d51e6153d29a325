"""Settings resolve as defaults < config file < --set < flags, and stay strict."""

from __future__ import annotations

from pathlib import Path

import pytest

from fieldlab.errors import TrainingError
from fieldlab.training.config import load_config


def test_precedence_and_explicit_nulls(tmp_path: Path) -> None:
    path = tmp_path / "train.yaml"
    path.write_text("dataset: egnn-charged-3d\nlr: 0.1\npatience: 5\nhidden: 32\n")
    config = load_config(
        path, settings={"patience": None, "graph": {"kind": "knn", "k": 3}}, lr=0.2, hidden=None
    )
    assert config.lr == 0.2  # the flag wins over the file
    assert config.hidden == 32  # a flag that was not given leaves the file's value
    assert config.patience is None  # --set patience=null switches early stopping off
    assert (config.particles.graph.kind, config.particles.graph.k) == ("knn", 3)
    assert config.epochs == 100  # a default


def test_bad_values_name_the_setting() -> None:
    with pytest.raises(TrainingError, match="'batch_size'"):
        load_config(dataset="x", batch_size=0)
    with pytest.raises(TrainingError, match=r"'graph\.kind'"):
        load_config(dataset="x", settings={"graph": {"kind": "delaunay"}})
    with pytest.raises(TrainingError, match="no dataset given"):
        load_config()
