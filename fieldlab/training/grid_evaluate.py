r"""Score a grid forecaster by autoregressive rollout, and log the scores to an MLflow run.

From frame :math:`t_0` of every test simulation the forecaster is fed its own predictions, one
saved frame per step, up to frame :math:`T - 1` (:mod:`fieldlab.training.grid_data`: 0 -> 1..19).
The error at frame :math:`k` is the mean over simulations, grid points and fields, in physical
units,

.. math:: e_k = \operatorname{mean} (\hat u_k - u_k)^2,

and the headline metrics average it inside and outside the training horizon :math:`t_h`:

.. math::
    \mathrm{mse\_inside} = \frac{1}{t_h - t_0 - 1} \sum_{k = t_0 + 1}^{t_h - 1} e_k, \qquad
    \mathrm{mse\_outside} = \frac{1}{T - t_h} \sum_{k = t_h}^{T - 1} e_k.

The same numbers for *persistence* (:math:`\hat u_k = u_{t_0}`, the trivial baseline) come
beside them, as ``persistence_mse_inside`` and ``persistence_mse_outside``.

Logged (:func:`log_grid_scores`), with the prefix ``test_`` on the run's own dataset and
``test/<dataset>/`` on another: the four metrics (``test_mse_inside``, ``test_mse_outside``, ...),
the per-frame curves ``mse_frame`` and ``persistence_mse_frame`` (step = frame), and the figures
``figures/[<dataset>_]test_mse_per_frame.png`` and ``figures/[<dataset>_]test_fields.png``
(true against predicted fields of the first test simulation).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np

import mlflow
from fieldlab.errors import TrainingError
from fieldlab.models import Mesh
from fieldlab.training.grid_data import GridTask, grid_task, load_fields
from fieldlab.training.grid_figures import field_rollout_figure, frame_error_figure
from fieldlab.training.grid_forecaster import GridForecaster

PathLike = str | os.PathLike[str]


@dataclass(frozen=True)
class GridScores:
    """Rollout errors of a grid forecaster on one split, per frame ``(K + 1,)`` from the start."""

    dataset: str
    split: str
    frames: np.ndarray
    mse: np.ndarray
    persistence: np.ndarray
    horizon_stop: int
    mesh: Mesh
    field: str
    true: np.ndarray
    """``(K + 1, ny, nx)``: the first simulation's first field, for figures."""
    predicted: np.ndarray

    def _means(self, curve: np.ndarray) -> tuple[float, float]:
        inside = (self.frames > self.frames[0]) & (self.frames < self.horizon_stop)
        outside = self.frames >= self.horizon_stop
        mean = [float(curve[m].mean()) if m.any() else float("nan") for m in (inside, outside)]
        return mean[0], mean[1]

    def metrics(self) -> dict[str, float]:
        """``mse_inside``, ``mse_outside`` and the same of persistence."""
        inside, outside = self._means(self.mse)
        p_inside, p_outside = self._means(self.persistence)
        return {
            "mse_inside": inside,
            "mse_outside": outside,
            "persistence_mse_inside": p_inside,
            "persistence_mse_outside": p_outside,
        }


def check_compatible(model: GridForecaster, task: GridTask) -> None:
    """The model must predict ``task``'s fields on the same grid."""
    m, g = model.mesh, task.mesh
    if model.fields != task.fields or m != g:

        def describe(fields: tuple[str, ...], mesh: Mesh) -> str:
            wrap = "periodic" if mesh.periodic else "bounded"
            return f"{', '.join(fields)} on a {mesh.ny} x {mesh.nx} {wrap} grid (h = {mesh.hx:g})"

        raise TrainingError(
            f"the model forecasts {describe(model.fields, m)}, but dataset {task.dataset!r} "
            f"holds {describe(task.fields, g)}"
        )


def score_grid(
    model: GridForecaster,
    task: GridTask,
    split: str = "test",
    *,
    data_root: PathLike | None = None,
    limit: int | None = None,
    batch_size: int = 8,
) -> GridScores:
    """Roll ``model`` out on the first ``limit`` simulations of ``split`` of ``task``'s dataset."""
    check_compatible(model, task)
    fields = load_fields(task, split, data_root=data_root, sims=slice(0, limit))
    true = fields[:, task.start : task.stop]
    roll = model.rollout(true[:, 0], true.shape[1] - 1, batch_size=batch_size)
    return GridScores(
        dataset=task.dataset,
        split=split,
        frames=np.arange(task.start, task.stop),
        mse=((roll - true) ** 2).mean(axis=(0, 2, 3, 4)),
        persistence=((true[:, :1] - true) ** 2).mean(axis=(0, 2, 3, 4)),
        horizon_stop=task.horizon_stop,
        mesh=task.mesh,
        field=task.fields[0],
        true=true[0, ..., 0],
        predicted=roll[0, ..., 0],
    )


def log_grid_scores(scores: GridScores, *, prefix: str = "test_", where: str = "") -> None:
    """Log ``scores`` to the active MLflow run (names in the module docstring)."""
    mlflow.log_metrics({prefix + k: v for k, v in scores.metrics().items()})
    for frame, e, p in zip(scores.frames, scores.mse, scores.persistence, strict=True):
        step = int(frame)
        mlflow.log_metrics({prefix + "mse_frame": e, prefix + "persistence_mse_frame": p}, step)
    name = f"{scores.dataset} {scores.split}"
    curves = {"model": scores.mse, "persistence": scores.persistence}
    mlflow.log_figure(
        frame_error_figure(
            scores.frames,
            curves,
            horizon_stop=scores.horizon_stop,
            title=f"{name}: rollout MSE from frame {int(scores.frames[0])}",
        ),
        f"figures/{where}test_mse_per_frame.png",
    )
    mlflow.log_figure(
        field_rollout_figure(
            scores.true,
            scores.predicted,
            scores.frames,
            mesh=scores.mesh,
            horizon_stop=scores.horizon_stop,
            title=f"{name}, simulation 0: {scores.field}, true vs rollout",
        ),
        f"figures/{where}test_fields.png",
    )


def evaluate_grid(
    run_id: str,
    model: GridForecaster,
    dataset: str,
    *,
    same_dataset: bool,
    data_root: PathLike | None = None,
    limit: int | None = None,
) -> dict[str, Any]:
    """Score ``model`` (run ``run_id``'s) on ``dataset``'s test split and log it to that run.

    Returns what :func:`fieldlab.training.evaluate.evaluate` returns: the run id, the metrics,
    the per-frame curve ``rollout_mse``, its frames and the metric prefix.
    """
    scores = score_grid(
        model, grid_task(dataset, data_root=data_root), data_root=data_root, limit=limit
    )
    prefix = "test_" if same_dataset else f"test/{dataset}/"
    with mlflow.start_run(run_id=run_id):
        log_grid_scores(scores, prefix=prefix, where="" if same_dataset else f"{dataset}_")
    return {
        "run_id": run_id,
        "metrics": scores.metrics(),
        "curves": {"rollout_mse": scores.mse, "persistence_mse": scores.persistence},
        "frames": scores.frames,
        "prefix": prefix,
    }
