"""``fieldlab catalog list | show`` and card errors on the command line."""

from __future__ import annotations

from pathlib import Path

import yaml
from typer.testing import CliRunner

from fieldlab.catalog import fingerprint, load_card
from fieldlab.cli import app

runner = CliRunner()


def test_list_shows_every_card_with_sizes_and_frames(tmp_path: Path) -> None:
    result = runner.invoke(app, ["catalog", "list", "--data-root", str(tmp_path)])
    assert result.exit_code == 0, result.output
    row = next(line for line in result.output.splitlines() if "nri-charged-2d-mini" in line)
    assert "charged" in row
    assert "500/100/100" in row
    assert "49/49/99" in row
    assert " no " in row
    assert "segnn-gravity-100" in result.output


def test_show_prints_params_fingerprint_path_and_paper(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["catalog", "show", "egnn-charged-3d", "--data-root", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    shown = yaml.safe_load(result.output)
    card = load_card("egnn-charged-3d")
    assert shown["fingerprint"] == fingerprint(card)
    assert shown["path"] == f"{tmp_path}/egnn-charged-3d/{fingerprint(card)}.zarr"
    assert shown["params"] == card.resolved_params("train")
    assert shown["params"]["dim"] == 3
    assert "Satorras" in shown["reference"]
    assert shown["generated"] == "no"


def test_an_invalid_card_is_a_clear_error_not_a_traceback(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "broken.yaml").write_text(
        yaml.safe_dump(
            {
                "name": "broken",
                "description": "x",
                "simulator": "charged",
                "params": {"walls": "maybe"},
                "splits": {"train": 4},
                "seed": 0,
                "chunk_size": 2,
                "reference": "x",
            }
        )
    )
    monkeypatch.setenv("FIELDLAB_CATALOG", str(tmp_path))
    result = runner.invoke(app, ["catalog", "show", "broken"])
    assert result.exit_code == 2
    assert "broken.yaml" in result.output
    assert "walls" in result.output
    assert "Traceback" not in result.output
