"""What a tracked run of a grid forecaster trains, draws and logs (:func:`fieldlab.training.train`).

:func:`~fieldlab.training.run.train` owns the MLflow run, checkpoints, resumption and budgets for
every kind of model; a *plan* supplies the kind-specific parts. :class:`GridPlan`:

- loads the one-step pairs inside the training horizon and the validation pairs
  (:func:`~fieldlab.training.grid_data.load_grid_training`: a held-out tenth of the train split
  when the card has no val split) and builds a :class:`GridForecaster` and a
  :class:`~fieldlab.training.grid_loop.GridTrainer`;
- caps ``batch_size`` at :data:`MAX_BATCH_NODES` grid points (8 fields of 64 x 64): every field
  is thousands of nodes, and the particle default of 100 would need tens of GB. The config
  logged and checkpointed is the capped one;
- draws, every ``figure_every`` epochs, a validation rollout (``val_fields``);
- at the end logs the best weights as the run's MLflow model (:mod:`.grid_pyfunc`) and scores
  them by rollout on the test split (:mod:`.grid_evaluate`: ``test_mse_inside``,
  ``test_mse_outside``, persistence beside them, and figures), the same function
  ``fieldlab evaluate`` runs.
"""

from __future__ import annotations

import os
import warnings
from typing import Any

import numpy as np
import torch
from matplotlib.figure import Figure

import mlflow
from fieldlab.training.config import TrainConfig
from fieldlab.training.grid_data import load_grid_training
from fieldlab.training.grid_evaluate import log_grid_scores, score_grid
from fieldlab.training.grid_figures import field_rollout_figure
from fieldlab.training.grid_forecaster import GridForecaster, build_grid_forecaster
from fieldlab.training.grid_loop import GridTrainer
from fieldlab.training.grid_pyfunc import grid_payload
from fieldlab.training.tracking import log_pyfunc_model

PathLike = str | os.PathLike[str]

MAX_BATCH_NODES = 2**15
"""Most grid points in one training batch (bounds the memory of the per-edge activations)."""


class GridPlan:
    """The grid-specific parts of a tracked run (see the module docstring)."""

    def __init__(self, config: TrainConfig, data_root: PathLike | None) -> None:
        dtype = getattr(torch, config.dtype)
        data = load_grid_training(
            config.dataset, data_root=data_root, limit=config.max_train, dtype=dtype
        )
        task = data.task
        fits = max(1, MAX_BATCH_NODES // task.mesh.n_nodes)
        if config.batch_size > fits:
            warnings.warn(
                f"dataset {config.dataset!r}: batch_size {config.batch_size} fields of "
                f"{task.mesh.ny} x {task.mesh.nx} points exceeds {MAX_BATCH_NODES} grid points; "
                f"training with batch_size {fits}",
                stacklevel=2,
            )
            config = config.with_updates(batch_size=fits)
        torch.manual_seed(config.seed)
        model = build_grid_forecaster(
            config.model,
            mesh=task.mesh,
            spec=config.mesh,
            fields=task.fields,
            mean=task.mean,
            std=task.std,
            delta_std=task.delta_std,
            static=torch.as_tensor(data.static),
            hidden=config.hidden,
            layers=config.layers,
        ).to(dtype)
        self.config = config
        self.task = task
        self.data_root = data_root
        self.trainer = GridTrainer(config, model, data.train, data.val)
        self.val_fields = data.val_fields[:1, task.start : task.stop]
        self.tags = {"task.horizon": "1", "task.kind": "grid"}
        self.params: dict[str, Any] = {
            "n_train": len(data.train),
            "n_val": len(data.val),
            "val_source": data.val_source,
            "fields": ",".join(task.fields),
            "training_horizon": f"frames {task.start}-{task.horizon_stop - 1}",
            "periodic": task.mesh.periodic,
        }

    def draw(self, model: GridForecaster, title: str) -> tuple[str, Figure]:
        """A validation rollout: true against predicted fields."""
        true = self.val_fields
        roll = model.rollout(true[:, 0], true.shape[1] - 1)
        fig = field_rollout_figure(
            true[0, ..., 0],
            roll[0, ..., 0],
            np.arange(self.task.start, self.task.stop),
            mesh=self.task.mesh,
            horizon_stop=self.task.horizon_stop,
            title=f"validation rollout, {title}",
        )
        return "val_fields", fig

    def finish(self) -> str:
        """Log the best weights as the run's model, scored on the test split; its URI."""
        trainer, cfg = self.trainer, self.config
        model = trainer.model
        model.load_state_dict(trainer.best_weights)
        example = trainer.val_data.state[:1]
        with torch.no_grad():
            nxt = model.eval()(example)
        info = log_pyfunc_model(
            grid_payload(model, name=cfg.model, hidden=cfg.hidden, layers=cfg.layers),
            "grid",
            {f: example[..., c].numpy() for c, f in enumerate(model.fields)},
            {f: nxt[..., c].numpy() for c, f in enumerate(model.fields)},
        )
        _, fig = self.draw(model, f"best epoch {trainer.state.best_epoch}")
        mlflow.log_figure(fig, "figures/val_fields_best.png")
        log_grid_scores(score_grid(model, self.task, "test", data_root=self.data_root))
        return info.model_uri
