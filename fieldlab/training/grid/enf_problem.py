"""One run of the ENF forecaster on grid fields (:class:`~fieldlab.training.problem.Problem`).

- **Samples**: whole trajectories over the training horizon (:class:`~.enf.Trajectories`), the
  validation ones held out as for the mesh networks (:func:`~.data.training_fields`).
- **Model**: a :class:`~.enf.GridENF` (settings ``grid.enf``); ``batch_size`` counts
  trajectories and is capped like the mesh networks' fields (:data:`~fieldlab.training.grid.data.MAX_BATCH_NODES` points).
- **Objective**: :class:`~.enf.ENFObjective`, stage 1 then stage 2 (metric ``stage``).
- **Figures**: a validation forecast every ``figure_every`` epochs.
- **Scores**: ``fieldlab evaluate`` forecasts the test split from frame ``t_0``, fully and
  sparsely observed (:mod:`fieldlab.training.grid.scoring`).
"""

from __future__ import annotations

import os
from typing import Any

import torch
from matplotlib.figure import Figure

from fieldlab.training.config import TrainConfig
from fieldlab.training.device import resolve_device
from fieldlab.training.grid import serving
from fieldlab.training.grid.data import cap_batch_size, training_fields
from fieldlab.training.grid.enf import ENFObjective, GridENF, build_grid_enf, trajectories
from fieldlab.training.grid.scoring import fields_figure
from fieldlab.training.grid.settings import GRID, ENFSettings
from fieldlab.training.tracking import log_pyfunc_model

PathLike = str | os.PathLike[str]


class ENFProblem(ENFObjective):
    """One ENF run on grid fields (see the module docstring)."""

    def __init__(self, config: TrainConfig, data_root: PathLike | None) -> None:
        settings: ENFSettings = config.settings(GRID).enf
        dtype = getattr(torch, config.dtype)
        task, train, val, source = training_fields(
            config.dataset, data_root=data_root, limit=config.max_train, val_limit=config.max_val
        )
        config = cap_batch_size(config, task.mesh)
        torch.manual_seed(config.seed)
        self.model: GridENF = build_grid_enf(task, settings, config, dtype).to(
            device=resolve_device(config.device)
        )
        self.config, self.task, self.data_root = config, task, data_root
        self.train_data = trajectories(self.model, train, task)
        super().__init__(config, settings, trajectories(self.model, val, task), self.model.std)
        self.val_fields = val[:1, task.start : task.stop]
        self.tags = {"task.horizon": "1", "enf.equivariant": str(settings.options.equivariant)}
        self.params: dict[str, Any] = {
            "n_train": len(self.train_data),
            "n_val": len(self.val_data),
            "val_source": source,
            "fields": ",".join(task.fields),
            "training_horizon": f"frames {task.start}-{task.horizon_stop - 1}",
            "domain": task.domain,
            "enf_stage1_epochs": self.stage1_epochs,
        }

    def monitor(self, model: GridENF) -> dict[str, float]:
        return {}

    def figures(self, model: GridENF, title: str) -> dict[str, Figure]:
        """A validation forecast from frame ``t_0``: true against predicted fields."""
        true = self.val_fields
        roll = model.rollout(true[:, 0], true.shape[1] - 1)
        return {"val_fields": fields_figure(true, roll, self.task, f"validation forecast, {title}")}

    def log_model(self, model: GridENF) -> str:
        example = torch.as_tensor(self.val_fields[:1, 0], dtype=model.mean.dtype)
        with torch.no_grad():
            nxt = model.eval()(example)
        info = log_pyfunc_model(
            serving.payload(model, name="enf", hidden=0, layers=0),
            GRID.name,
            {f: example[..., c].numpy() for c, f in enumerate(model.fields)},
            {f: nxt[..., c].cpu().numpy() for c, f in enumerate(model.fields)},
        )
        return info.model_uri

    def finish(self, model: GridENF, title: str) -> None:
        """Nothing more: the run logs the best weights' ``figures/val_fields_best.png`` and
        ``fieldlab evaluate`` scores the test split."""
