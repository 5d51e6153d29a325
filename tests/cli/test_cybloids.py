"""``fieldlab cybloids plot``: figures from a fresh simulation of a system or a card."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from fieldlab.cli import app
from fieldlab.cli.cybloids import resolve_target
from fieldlab.errors import ParameterError

runner = CliRunner()


def test_plot_a_system_saves_both_figures(tmp_path: Path) -> None:
    args = ["cybloids", "plot", "cybloid-trap", "--n-sims", "2", "--set", "n_steps=2001"]
    result = runner.invoke(app, [*args, "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "MSD exponent" in result.output
    for suffix in ("msd", "trajectories"):
        png = tmp_path / f"cybloid-trap-{suffix}.png"
        assert png.read_bytes()[:4] == b"\x89PNG"


def test_plot_a_card_uses_its_parameters_and_seed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    card = {
        "name": "tiny-ring",
        "description": "a small annular cybloid set",
        "simulator": "cybloid-annular",
        "params": {"radius": 1.0, "n_steps": 1001},
        "splits": {"train": 4},
        "seed": 7,
        "chunk_size": 4,
        "reference": "test",
    }
    (tmp_path / "tiny-ring.yaml").write_text(yaml.safe_dump(card))
    monkeypatch.setenv("FIELDLAB_CATALOG", str(tmp_path))
    system, params, seed = resolve_target("tiny-ring")
    assert (system, params["radius"], seed) == ("cybloid-annular", 1.0, 7)
    out = tmp_path / "figs"
    result = runner.invoke(
        app, ["cybloids", "plot", "tiny-ring", "--n-sims", "2", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "seed 7" in result.output
    assert (out / "tiny-ring-msd.png").is_file()


def test_unknown_or_foreign_targets_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="cybloid-trap"):
        resolve_target("charged")
    result = runner.invoke(app, ["cybloids", "plot", "no-such-thing", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "neither a cybloid system nor a catalogued dataset" in result.output
