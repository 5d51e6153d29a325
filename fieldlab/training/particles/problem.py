"""Particle trajectories as a training problem (:class:`~fieldlab.training.problem.Problem`).

- **Samples**: the task's frame pairs of the train and val splits
  (:func:`~fieldlab.training.particles.data.load_task`), with the frames observed before each
  input for a field conditioned on them, and later states for a ``K``-step loss.
- **Model**: a :class:`~fieldlab.training.particles.forecaster.Forecaster` around a network from
  :func:`fieldlab.models.build_model`, in units scaled by the training split's global scales.
- **Objective**: :class:`~fieldlab.training.particles.objective.ParticleObjective`.
- **Figures**: a validation rollout (``val_trajectories``) and, for a field model on a system
  with a known field, the true, learned and error fields (scored every epoch:
  ``field_cosine``, ...; :mod:`fieldlab.fields.monitor`).
- **Logged model**: :mod:`fieldlab.training.particles.serving`; **scores**:
  :mod:`fieldlab.training.particles.scoring`.
"""

from __future__ import annotations

import os
from typing import Any

import torch
from matplotlib.figure import Figure

import mlflow
from fieldlab.catalog import load_card
from fieldlab.fields.monitor import FieldMonitor, SimulationFieldMonitor, field_monitor
from fieldlab.simulators import get_system
from fieldlab.training.config import TrainConfig
from fieldlab.training.device import resolve_device
from fieldlab.training.particles import serving
from fieldlab.training.particles.data import (
    TaskData,
    forecast_window,
    global_scales,
    horizon_time,
    load_task,
    load_trajectories,
    task_context_frames,
)
from fieldlab.training.particles.forecaster import Forecaster, build_forecaster
from fieldlab.training.particles.objective import ParticleObjective
from fieldlab.training.particles.rollout import rollout
from fieldlab.training.particles.settings import PARTICLES, ParticleSettings
from fieldlab.training.problem import KindProblem
from fieldlab.training.tracking import log_pyfunc_model
from fieldlab.viz.forecasts import trajectory_figure

PathLike = str | os.PathLike[str]


def context_frames(config: TrainConfig) -> int:
    """Frames before the input that the model reads: the task's, for a conditioned field."""
    settings: ParticleSettings = config.settings(PARTICLES)
    if config.model != "field" or not settings.field.latent_dim:
        return 0
    return task_context_frames(load_card(config.dataset))


class Problem(ParticleObjective, KindProblem):
    """One run on particle trajectories (see the module docstring)."""

    def __init__(self, config: TrainConfig, data_root: PathLike | None) -> None:
        settings: ParticleSettings = config.settings(PARTICLES)
        dtype = getattr(torch, config.dtype)
        n_context = context_frames(config)
        common = {"data_root": data_root, "scalar": settings.scalar, "dtype": dtype}
        train = load_task(
            config.dataset,
            "train",
            limit=config.max_train,
            all_frames=settings.all_frames,
            rollout_steps=settings.rollout_steps,
            context_frames=n_context,
            **common,
        )
        val = load_task(config.dataset, "val", context_frames=n_context, **common)
        scales = global_scales(config.dataset, data_root=data_root)
        sx, sv = scales if settings.normalise else (1.0, 1.0)
        tau = horizon_time(load_card(config.dataset), train.frames)
        field = None
        if config.model == "field":
            field = settings.field.model_copy(update={"horizon": tau})
        torch.manual_seed(config.seed)
        self.model: Forecaster = build_forecaster(
            config.model,
            dim=train.dim,
            spec=settings.graph,
            hidden=config.hidden,
            layers=config.layers,
            position_scale=sx,
            velocity_scale=sv,
            field=field,
            horizon_time=tau,
        ).to(dtype=dtype, device=resolve_device(config.device))
        super().__init__(config, val)
        self.config = config
        self.train_data: TaskData = train
        # the figure's rollout forecasts what evaluation scores: after the observed frames
        traj = load_trajectories(config.dataset, "val", data_root=data_root, limit=3)
        self.traj = forecast_window(traj, load_card(config.dataset), n_context)
        self.fields = self._field_monitor(data_root, n_context)
        self.tags = {"task.horizon": str(train.frames.horizon)}
        self.params: dict[str, Any] = {"n_train": len(train), "n_val": len(val)}

    def _field_monitor(
        self, data_root: PathLike | None, n_context: int
    ) -> FieldMonitor | SimulationFieldMonitor | None:
        """A monitor of the discovered field, for a field model on a system whose field is known."""
        card = load_card(self.config.dataset)
        if self.config.model != "field" or get_system(card.simulator).field_scope == "none":
            return None
        val = load_trajectories(self.config.dataset, "val", data_root=data_root, limit=100)
        return field_monitor(
            card.simulator, card.resolved_params("val"), val, context_frames=n_context
        )

    # -- what a run logs -----------------------------------------------------------------------
    def monitor(self, model: Forecaster) -> dict[str, float]:
        return {} if self.fields is None else self.fields.score(model).as_metrics()

    def figures(self, model: Forecaster, title: str) -> dict[str, Figure]:
        roll = rollout(model, self.traj, self.train_data.frames)
        out = {
            "val_trajectories": trajectory_figure(roll.true_position, roll.position, title=title)
        }
        if self.fields is not None:
            out.update(self.fields.figures(model))
        return out

    def log_model(self, model: Forecaster) -> str:
        data = self.val_data
        example = {"position": data.position[:2], "velocity": data.velocity[:2]}
        if data.scalar is not None:
            example["scalar"] = data.scalar[:2]
        if data.context is not None:
            example["context"] = data.context[:2]
        with torch.no_grad():
            x, v = model.eval().predict(
                example["position"],
                example["velocity"],
                example.get("scalar"),
                example.get("context"),
            )
        payload = serving.payload(
            model, name=self.config.model, dim=data.dim, hidden=self.config.hidden,
            layers=self.config.layers,
        )  # fmt: skip
        inputs = {k: t.detach().cpu().numpy() for k, t in example.items()}
        outputs = {"position": x.cpu().numpy(), "velocity": v.cpu().numpy()}
        return log_pyfunc_model(payload, PARTICLES.name, inputs, outputs).model_uri

    def finish(self, model: Forecaster, title: str) -> None:
        roll = rollout(model, self.traj, self.train_data.frames)
        fig = trajectory_figure(roll.true_position, roll.position, title=title)
        mlflow.log_figure(fig, "figures/val_trajectories_best.png")
