"""One tracked training run: config -> data -> forecaster -> loop, recorded in MLflow.

:func:`train` checks its inputs before it opens a run (unknown dataset or model, a dataset
without the task's frames or not generated: clear errors naming the input), then trains with
:class:`~fieldlab.training.loop.Trainer`, writing a checkpoint after every epoch and logging each
epoch's metrics and, every ``figure_every`` epochs, a figure of predicted against true validation
trajectories. When training ends (schedule done, early stop or wall-time budget) it logs the
best-validation weights as the run's model. A session stopped by an epoch budget or Ctrl-C ends
the MLflow run as KILLED; ``train(..., resume=RUN_ID)`` reopens the same run and continues from
its checkpoint. Ctrl-C asks the loop to stop between batches (:mod:`.interrupt`), so the run is
closed in the ordinary way, and then :class:`Interrupted` is raised.

What depends on the kind of dataset (the data, the trainer's objective, the figure and the logged
model) comes from a :class:`RunPlan`: particle trajectories here, grid fields in
:class:`~fieldlab.training.grid_run.GridPlan` (which also scores the model on the test split by
rollout when training ends).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import torch
from matplotlib.figure import Figure

import mlflow
from fieldlab.catalog import load_card
from fieldlab.fields.monitor import (
    FieldMonitor,
    SimulationFieldMonitor,
    field_monitor,
)
from fieldlab.models import MODEL_NAMES, UnknownModelError
from fieldlab.simulators import get_system
from fieldlab.training import checkpoint
from fieldlab.training.config import TrainConfig, build_config
from fieldlab.training.data import (
    TaskData,
    forecast_window,
    global_scales,
    load_task,
    load_trajectories,
    task_context_frames,
    task_frames,
)
from fieldlab.training.figures import trajectory_figure
from fieldlab.training.forecaster import Forecaster, build_forecaster
from fieldlab.training.grid_data import check_model_kind, is_grid_card
from fieldlab.training.grid_run import GridPlan
from fieldlab.training.interrupt import CtrlC
from fieldlab.training.loop import Trainer
from fieldlab.training.rollout import rollout
from fieldlab.training.tracking import (
    configure,
    flatten,
    log_dataset,
    log_figure_step,
    log_forecaster,
)

PathLike = str | os.PathLike[str]


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during training: the last epoch's checkpoint is kept; resume with ``run_id``."""

    def __init__(self, run_id: str) -> None:
        super().__init__(run_id)
        self.run_id = run_id


@dataclass(frozen=True)
class TrainResult:
    """How a training session ended."""

    run_id: str
    dataset: str
    stopped: str
    epochs: int
    best_epoch: int
    best_val_mse: float
    wall_s: float
    checkpoint_dir: Path
    model_uri: str | None


def check_inputs(config: TrainConfig) -> None:
    """Fail fast, naming the input: unknown model or dataset, or no task frames."""
    if config.model not in MODEL_NAMES:
        raise UnknownModelError(
            f"unknown model {config.model!r}; choose one of: {', '.join(MODEL_NAMES)}"
        )
    card = load_card(config.dataset)
    check_model_kind(config.model, card)
    task_frames(card, card.n_frames("train"))


class _RunHooks:
    """Log each epoch to MLflow and keep the checkpoints.

    An epoch's metrics and its checkpoint are written together inside ``ctrl_c.held()``, and so
    are a new best's metric and weights: a run stopped at once by a second Ctrl-C has logged the
    epoch and checkpointed it, or neither, so a resumed run logs every epoch exactly once.
    """

    def __init__(
        self,
        directory: Path,
        draw: Callable[[Any, str], tuple[str, Figure]] | None,
        config: TrainConfig,
        ctrl_c: CtrlC,
        fields: FieldMonitor | SimulationFieldMonitor | None = None,
    ) -> None:
        self.directory = directory
        self.draw = draw
        self.config = config
        self.ctrl_c = ctrl_c
        self.fields = fields

    def epoch_end(self, trainer: Trainer, metrics: dict[str, float]) -> None:
        epoch = trainer.state.epoch - 1
        if self.fields is not None:
            metrics = {**metrics, **self.fields.score(trainer.model).as_metrics()}
        with self.ctrl_c.held():
            mlflow.log_metrics({k: v for k, v in metrics.items() if k != "best_epoch"}, step=epoch)
            checkpoint.save(trainer.state_dict(), self.directory / checkpoint.LAST)
        if epoch % self.config.figure_every == 0 and self.draw is not None:
            key, fig = self.draw(trainer.model, f"epoch {epoch}")
            log_figure_step(fig, key, epoch)
            if self.fields is not None:
                for key, fig in self.fields.figures(trainer.model).items():
                    log_figure_step(fig, key, epoch)

    def new_best(self, trainer: Trainer) -> None:
        st = trainer.state
        with self.ctrl_c.held():
            mlflow.log_metrics(
                {"best_val_mse": st.best_val_mse, "best_epoch": st.best_epoch}, step=st.best_epoch
            )
            checkpoint.save(
                {"epoch": st.best_epoch, "val_mse": st.best_val_mse, "model": trainer.best_weights},
                self.directory / checkpoint.BEST,
            )


def _build(
    config: TrainConfig, data_root: PathLike | None
) -> tuple[Forecaster, TaskData, TaskData]:
    dtype = getattr(torch, config.dtype)
    common = {"data_root": data_root, "scalar": config.scalar, "dtype": dtype}
    common["context_frames"] = _context_frames(config)
    train_data = load_task(
        config.dataset,
        "train",
        limit=config.max_train,
        all_frames=config.all_frames,
        rollout_steps=config.rollout_steps,
        **common,
    )
    val_data = load_task(config.dataset, "val", **common)
    sx, sv = global_scales(config.dataset, data_root=data_root) if config.normalise else (1, 1)
    field = None
    if config.model == "field":
        params = load_card(config.dataset).resolved_params("train")
        tau = train_data.frames.horizon * params["dt"] * params["sample_every"]
        field = config.field.model_copy(update={"horizon": tau})
    torch.manual_seed(config.seed)
    model = build_forecaster(
        config.model,
        dim=train_data.dim,
        spec=config.graph,
        hidden=config.hidden,
        layers=config.layers,
        position_scale=sx,
        velocity_scale=sv,
        field=field,
    ).to(dtype)
    return model, train_data, val_data


class RunPlan(Protocol):
    """The parts of a run that depend on the kind of dataset.

    ``config`` is the run's config as the plan will train it (a plan may adapt it, and the
    adapted one is logged and checkpointed); ``tags`` and ``params`` are logged when the run
    starts; ``draw(model, title)`` returns a figure and its key every ``figure_every`` epochs;
    ``finish()`` logs the best weights as the run's model and returns its URI.
    """

    config: TrainConfig
    trainer: Trainer
    tags: dict[str, str]
    params: dict[str, Any]

    def draw(self, model: Any, title: str) -> tuple[str, Figure]: ...

    def finish(self) -> str: ...


class _ParticlePlan:
    """Particle forecasters: the task's frame pairs, trajectory figures, the pyfunc model."""

    def __init__(self, config: TrainConfig, data_root: PathLike | None) -> None:
        model, train_data, val_data = _build(config, data_root)
        self.config = config
        self.trainer = Trainer(config, model, train_data, val_data)
        traj = load_trajectories(config.dataset, "val", data_root=data_root, limit=3)
        # the figure's rollout forecasts what evaluation scores: after the observed frames
        n_context = 0 if train_data.context is None else train_data.context.shape[2]
        self.traj = forecast_window(traj, load_card(config.dataset), n_context)
        self.tags = {"task.horizon": str(train_data.frames.horizon)}
        self.params: dict[str, Any] = {"n_train": len(train_data), "n_val": len(val_data)}

    def draw(self, model: Forecaster, title: str) -> tuple[str, Figure]:
        roll = rollout(model, self.traj, self.trainer.train_data.frames)
        return "val_trajectories", trajectory_figure(roll, title=title)

    def finish(self) -> str:
        return _finish(self.trainer, self.traj)


def _plan(config: TrainConfig, data_root: PathLike | None) -> RunPlan:
    if is_grid_card(load_card(config.dataset)):
        return GridPlan(config, data_root)
    return _ParticlePlan(config, data_root)


def train(
    config: TrainConfig | None = None,
    *,
    resume: str | None = None,
    tracking_uri: str | None = None,
    data_root: PathLike | None = None,
    checkpoint_root: PathLike | None = None,
    progress: bool = True,
    log_every: int | None = None,
    session: dict[str, Any] | None = None,
) -> TrainResult:
    """Train (or, with ``resume=RUN_ID``, continue) a forecaster and track it in MLflow.

    Args:
        config: the run's settings; ignored when resuming (the checkpoint's are used).
        resume: the MLflow run id of an interrupted run to continue from its checkpoint.
        tracking_uri: MLflow store or server (default: ``MLFLOW_TRACKING_URI``, else the local
            SQLite store ``mlflow/mlflow.db``).
        data_root: where datasets are generated (default: ``FIELDLAB_DATA``, else ``./data``).
        checkpoint_root: directory of per-run checkpoint directories.
        progress, log_every: a progress bar, or a plain line every N epochs.
        session: settings that may change on resume (``max_epochs_per_session``,
            ``time_budget_s``, ``patience``, ``figure_every``, ``threads``).
    """
    state = None
    if resume is not None:
        state = checkpoint.load(checkpoint.run_dir(resume, checkpoint_root) / checkpoint.LAST)
        saved = {**state["config"], "max_epochs_per_session": None}
        config = build_config(saved, f"checkpoint of run {resume}")
    if config is None:
        raise ValueError("train() needs a config or a run id to resume")
    if session:
        config = config.with_updates(**session)
    check_inputs(config)
    if config.threads is not None:
        torch.set_num_threads(config.threads)
    plan = _plan(config, data_root)
    config, trainer = plan.config, plan.trainer
    if state is not None:
        trainer.load_state_dict(state)

    configure(tracking_uri, config.experiment)
    started = time.perf_counter()
    name = None if resume is not None else config.run_name
    with mlflow.start_run(run_id=resume, run_name=name, log_system_metrics=True) as run:
        run_id = run.info.run_id
        directory = checkpoint.run_dir(run_id, checkpoint_root)
        if resume is None:
            mlflow.log_dict(config.model_dump(mode="json"), "config.json")
            mlflow.log_params(flatten(config.model_dump(mode="json")))
            fp = log_dataset(config.dataset)
            mlflow.set_tags({"model": config.model, **plan.tags})
            mlflow.log_params({**plan.params, "dataset_fingerprint": fp})
        mlflow.set_tag("fieldlab.state", "running")
        ctrl_c = CtrlC()
        hooks = _RunHooks(directory, plan.draw, config, ctrl_c, _field_monitor(config, data_root))
        try:
            with ctrl_c.installed():
                stopped = trainer.fit(
                    hooks, progress=progress, log_every=log_every, stop=ctrl_c.stop
                )
        except KeyboardInterrupt:  # a second Ctrl-C: stopped at once, outside any held block
            stopped = "interrupted"
        model_uri = None
        if stopped == "interrupted":
            mlflow.set_tag("fieldlab.state", "interrupted")
        elif stopped == "epoch_budget":
            mlflow.set_tag("fieldlab.state", "paused")
        else:
            model_uri = plan.finish()
            mlflow.log_metrics(
                {"epochs": trainer.state.epoch, "wall_time_s": trainer.state.elapsed_s}
            )
            mlflow.set_tag("fieldlab.state", "complete")
        st = trainer.state
        mlflow.set_tag("fieldlab.stopped", stopped)
        if stopped in ("epoch_budget", "interrupted"):
            mlflow.end_run(status="KILLED")
    if stopped == "interrupted":
        raise Interrupted(run_id)
    return TrainResult(
        run_id,
        config.dataset,
        stopped,
        st.epoch,
        st.best_epoch,
        st.best_val_mse,
        time.perf_counter() - started,
        directory,
        model_uri,
    )


def _context_frames(config: TrainConfig) -> int:
    """Frames before the input that the model reads: the task's, for a conditioned field."""
    if config.model != "field" or not config.field.latent_dim:
        return 0
    return task_context_frames(load_card(config.dataset))


def _field_monitor(
    config: TrainConfig, data_root: PathLike | None
) -> FieldMonitor | SimulationFieldMonitor | None:
    """A monitor of the discovered field, for a field model on a system whose field is known."""
    card = load_card(config.dataset)
    if config.model != "field" or get_system(card.simulator).field_scope == "none":
        return None
    val = load_trajectories(config.dataset, "val", data_root=data_root, limit=100)
    return field_monitor(
        card.simulator, card.resolved_params("val"), val, context_frames=_context_frames(config)
    )


def _finish(trainer: Trainer, traj: Any) -> str:
    """Log the best weights as the run's model, with a final trajectory figure."""
    cfg, st = trainer.config, trainer.state
    trainer.model.load_state_dict(trainer.best_weights)
    data = trainer.val_data
    example = {"position": data.position[:2], "velocity": data.velocity[:2]}
    if data.scalar is not None:
        example["scalar"] = data.scalar[:2]
    if data.context is not None:
        example["context"] = data.context[:2]
    info = log_forecaster(
        trainer.model,
        name=cfg.model,
        dim=data.dim,
        hidden=cfg.hidden,
        layers=cfg.layers,
        example=example,
    )
    fig = trajectory_figure(
        rollout(trainer.model, traj, data.frames), title=f"best epoch {st.best_epoch}"
    )
    mlflow.log_figure(fig, "figures/val_trajectories_best.png")
    return info.model_uri
