"""Grid (PDE) fields as a training problem (:class:`~fieldlab.training.problem.Problem`).

:class:`Problem` builds the problem of the run's model family: :class:`MeshProblem` (below) for
mesh networks, :class:`~fieldlab.training.grid.enf_problem.ENFProblem` for ``enf``; restoring,
serving and scoring a logged model dispatch on the model (:mod:`~fieldlab.training.grid.serving`,
:mod:`~fieldlab.training.grid.scoring`). The mesh networks' run:

- **Samples**: the one-step pairs inside the training horizon and the validation pairs
  (:func:`~fieldlab.training.grid.data.load_grid_training`: a held-out tenth of the train split
  when the card has no val split).
- **Model**: a :class:`~fieldlab.training.grid.forecaster.GridForecaster` around a network from
  :func:`fieldlab.models.build_grid_model`. ``batch_size`` is capped at :data:`~fieldlab.training.grid.data.MAX_BATCH_NODES`
  grid points (8 fields of 64 x 64): every field is thousands of nodes, and the particle default
  of 100 would need tens of GB. The config logged and checkpointed is the capped one.
- **Objective**: :class:`~fieldlab.training.grid.objective.GridObjective`.
- **Figures**: a validation rollout (``val_fields``) every ``figure_every`` epochs.
- **Scores**: ``fieldlab evaluate`` rolls the logged model out on the test split
  (:mod:`fieldlab.training.grid.scoring`), as for every kind of data.
"""

from __future__ import annotations

import os
from typing import Any

import torch
from matplotlib.figure import Figure

from fieldlab.training.config import TrainConfig
from fieldlab.training.device import resolve_device
from fieldlab.training.grid import serving
from fieldlab.training.grid.data import GridPairs, cap_batch_size, load_grid_training
from fieldlab.training.grid.enf_problem import ENFProblem
from fieldlab.training.grid.forecaster import GridForecaster, build_grid_forecaster
from fieldlab.training.grid.objective import GridObjective
from fieldlab.training.grid.scoring import fields_figure
from fieldlab.training.grid.settings import GRID, GridSettings
from fieldlab.training.problem import KindProblem
from fieldlab.training.tracking import log_pyfunc_model

PathLike = str | os.PathLike[str]


class Problem(KindProblem):
    """The grid kind's problem class: a run of ``config.model``'s family (module docstring)."""

    def __new__(cls, config: TrainConfig, data_root: PathLike | None) -> Any:  # type: ignore[misc]
        if config.model == "enf":
            return ENFProblem(config, data_root)
        return MeshProblem(config, data_root)


class MeshProblem(GridObjective):
    """One run of a mesh network on grid fields (see the module docstring)."""

    def __init__(self, config: TrainConfig, data_root: PathLike | None) -> None:
        settings: GridSettings = config.settings(GRID)
        dtype = getattr(torch, config.dtype)
        data = load_grid_training(
            config.dataset,
            data_root=data_root,
            limit=config.max_train,
            val_limit=config.max_val,
            dtype=dtype,
        )
        task = data.task
        config = cap_batch_size(config, task.mesh)
        torch.manual_seed(config.seed)
        self.model: GridForecaster = build_grid_forecaster(
            config.model,
            mesh=task.mesh,
            spec=settings.mesh,
            fields=task.fields,
            mean=task.mean,
            std=task.std,
            delta_std=task.delta_std,
            static=torch.as_tensor(data.static),
            hidden=config.hidden,
            layers=config.layers,
        ).to(dtype=dtype, device=resolve_device(config.device))
        self.config = config
        self.task = task
        self.data_root = data_root
        super().__init__(config, data.val)
        self.train_data: GridPairs = data.train
        self.val_fields = data.val_fields[:1, task.start : task.stop]
        self.tags = {"task.horizon": "1"}
        self.params: dict[str, Any] = {
            "n_train": len(data.train),
            "n_val": len(data.val),
            "val_source": data.val_source,
            "fields": ",".join(task.fields),
            "training_horizon": f"frames {task.start}-{task.horizon_stop - 1}",
            "periodic": task.mesh.periodic,
        }

    # -- what a run logs -----------------------------------------------------------------------
    def monitor(self, model: GridForecaster) -> dict[str, float]:
        return {}

    def figures(self, model: GridForecaster, title: str) -> dict[str, Figure]:
        """A validation rollout: true against predicted fields."""
        true = self.val_fields
        roll = model.rollout(true[:, 0], true.shape[1] - 1)
        return {"val_fields": fields_figure(true, roll, self.task, f"validation rollout, {title}")}

    def log_model(self, model: GridForecaster) -> str:
        cfg = self.config
        example = self.val_data.state[:1]
        with torch.no_grad():
            nxt = model.eval()(example)
        info = log_pyfunc_model(
            serving.payload(model, name=cfg.model, hidden=cfg.hidden, layers=cfg.layers),
            GRID.name,
            {f: example[..., c].numpy() for c, f in enumerate(model.fields)},
            {f: nxt[..., c].cpu().numpy() for c, f in enumerate(model.fields)},
        )
        return info.model_uri

    def finish(self, model: GridForecaster, title: str) -> None:
        """Nothing more: the run logs the best weights' ``figures/val_fields_best.png`` and
        ``fieldlab evaluate`` scores the test split."""
