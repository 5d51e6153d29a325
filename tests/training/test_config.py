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
    with pytest.raises(TrainingError, match=r"'particles\.graph\.kind'"):
        load_config(dataset="x", settings={"graph": {"kind": "delaunay"}})
    with pytest.raises(TrainingError, match="no dataset given"):
        load_config()


def test_a_setting_of_one_kind_of_data_may_be_given_flat_dotted_or_in_its_section() -> None:
    flat = load_config(dataset="x", settings={"all_frames": True, "mesh": {"neighbours": 8}})
    dotted = load_config(
        dataset="x", settings={"particles.all_frames": True, "grid.mesh.neighbours": 8}
    )
    nested = load_config(
        dataset="x",
        settings={"particles": {"all_frames": True}, "grid": {"mesh": {"neighbours": 8}}},
    )
    assert flat == nested
    assert dotted.particles.all_frames
    assert flat.particles.all_frames
    assert flat.grid.mesh.neighbours == 8


def test_a_setting_of_another_kind_of_data_is_refused_naming_it_and_the_kind() -> None:
    from fieldlab.catalog import load_card
    from fieldlab.training.config import check_sections
    from fieldlab.training.problem import check_model

    particles = check_model("egnn", load_card("egnn-charged-3d-mini"))
    grid = check_model("mesh-gnn", load_card("diffusion-plane-mini"))
    on_particles = load_config(dataset="egnn-charged-3d-mini", settings={"mesh": {"neighbours": 4}})
    with pytest.raises(
        TrainingError, match=r"grid\.mesh applies to grid datasets.*holds particle trajectories"
    ):
        check_sections(on_particles, particles)
    on_grid = load_config(dataset="diffusion-plane-mini", settings={"rollout_steps": 3})
    with pytest.raises(TrainingError, match=r"particles\.rollout_steps applies to particles"):
        check_sections(on_grid, grid)
    check_sections(on_particles, grid)  # the grid section is the grid dataset's own
