"""Particle trajectories as a training problem (:class:`~fieldlab.training.problem.Problem`).

- **Samples**: the task's frame pairs of the train and val splits
  (:func:`~fieldlab.training.particles.data.load_task`), with the frames observed before each
  input for a field conditioned on them, and later states for a ``K``-step loss.
- **Model**: a :class:`~fieldlab.training.particles.forecaster.Forecaster` around a network from
  :func:`fieldlab.models.build_model`, in units scaled by the training split's global scales.
- **Objective**: :class:`~fieldlab.training.particles.objective.ParticleObjective`.
- **Figures**: a validation rollout (``val_trajectories``) and, for a field model on a system
  with a known field, the learned and error fields (``fields/learned``, ``fields/error``; the
  true field ``fields/true`` once), scored every epoch (``field_cosine``, ...;
  :mod:`fieldlab.fields.monitor`). A finished field run adds :data:`FIELD_FIGURE` at the root of
  its artifacts: true | learned | error of the selected weights, titled with the run's name and
  scores, the figure MLflow's run comparison shows side by side.
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
from fieldlab.fields.monitor import (
    FieldMonitor,
    SimulationFieldMonitor,
    field_monitor,
    shared_sources,
)
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

FIELD_FIGURE = "discovered_field.png"
"""The root-level artifact of a finished field run (the same name in every run, so MLflow's
comparison of runs lines them up)."""


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
        val = load_task(
            config.dataset, "val", limit=config.max_val, context_frames=n_context, **common
        )
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
        if (
            config.max_val is not None
            and config.max_val < load_card(config.dataset).splits["val"].n_sims
        ):
            self.params["val_source"] = f"val[0:{config.max_val}]"  # the part validated on
        # the neural field's settings mean nothing to another model: not logged as parameters
        self.ignored_settings = () if config.model == "field" else ("particles.field.",)
        self._truth_drawn = False

    def _field_monitor(
        self, data_root: PathLike | None, n_context: int
    ) -> FieldMonitor | SimulationFieldMonitor | None:
        """A monitor of the discovered field, for a field model on a system whose field is known."""
        card = load_card(self.config.dataset)
        if self.config.model != "field" or get_system(card.simulator).field_scope == "none":
            return None
        val = load_trajectories(self.config.dataset, "val", data_root=data_root, limit=100)
        return field_monitor(
            card.simulator,
            card.resolved_params("val"),
            val,
            context_frames=n_context,
            sources=shared_sources(self.config.dataset, data_root),
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
            out.update(self.fields.figures(model, title, with_truth=not self._truth_drawn))
            self._truth_drawn = True
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
        """A field run's :data:`FIELD_FIGURE` (the run logs ``val_trajectories_best.png``)."""
        if self.fields is not None:
            run = mlflow.active_run()
            name = run.info.run_name if run is not None else None
            head = f"{name}: " if name else ""
            summary = self.fields.summary_figure(
                model, f"{head}{self.config.model} on {self.config.dataset}, {title}"
            )
            mlflow.log_figure(summary, FIELD_FIGURE)
