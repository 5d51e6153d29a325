"""The background figure logger rasterises a figure once, however often it is logged, and logs
the very pixels it drew to a real MLflow store."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from matplotlib.figure import Figure
from mlflow.tracking import MlflowClient
from PIL import Image

import fieldlab.training.figure_logger as figure_logger
from fieldlab.training.tracking import figure_image


def _figure(seed: int) -> Figure:
    fig = Figure(figsize=(3, 2), dpi=50)
    fig.add_subplot().plot(np.random.default_rng(seed).normal(size=20))
    return fig


def test_a_figure_logged_twice_is_drawn_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    drawn: list[Figure] = []

    def counting(fig: Figure) -> np.ndarray:
        drawn.append(fig)
        return figure_image(fig)

    monkeypatch.setattr(figure_logger, "figure_image", counting)
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment = client.create_experiment("figures", artifact_location=str(tmp_path / "art"))
    run_id = client.create_run(experiment).info.run_id
    best, other = _figure(0), _figure(1)

    logger = figure_logger.FigureLogger(run_id, client)
    logger.image_series({"rollout": best}, step=3)
    logger.image_series({"rollout": other}, step=4)
    logger.artifact(best, "figures/rollout_best.png")
    logger.close()

    assert drawn == [best, other]  # the artifact reused the pixels of step 3
    local = client.download_artifacts(run_id, "figures/rollout_best.png", str(tmp_path))
    saved = np.asarray(Image.open(local).convert("RGB"))
    assert saved.shape == (100, 150, 3)  # 2 x 3 inches at 50 dpi
    np.testing.assert_array_equal(saved, figure_image(best))
    images = [f.path for f in client.list_artifacts(run_id, "images")]
    assert any(p.startswith("images/rollout+step+3+") and p.endswith(".png") for p in images)
