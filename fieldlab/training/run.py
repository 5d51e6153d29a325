"""One tracked training run: config -> problem -> trainer, recorded in MLflow.

:func:`train` checks its inputs before it opens a run (unknown dataset or model, a model of
another kind of data than the dataset's, a setting of another kind, a dataset without the task's
frames or not generated: clear errors naming the input), builds the dataset's
:class:`~fieldlab.training.problem.Problem` and trains with
:class:`~fieldlab.training.loop.Trainer`. After every epoch a checkpoint is written, and then the
epoch's metrics are sent, so a checkpoint is never behind the metrics a run reports; every
``figure_every`` epochs the problem's figures are logged with their step. When training ends
(schedule done, early stop or wall-time budget) the figures are logged for the last epoch and for
the best-validation weights (at the best epoch's step), the problem logs those weights as the
run's model (and whatever a finished run of its kind adds), and every metric of the best epoch is
logged again as ``best/<metric>``, to the run and to its model, so each question has one number.
Only the settings that apply to the run's model and kind of data become parameters
(``config.json`` keeps them all). A session stopped by an epoch
budget or Ctrl-C ends the MLflow run as KILLED; ``train(..., resume=RUN_ID)`` reopens the same run
and continues from its checkpoint. Ctrl-C asks the loop to stop between batches
(:mod:`.interrupt`), so the run is closed in the ordinary way, and then :class:`Interrupted` is
raised.

Nothing here depends on the kind of data.
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
import torch
from matplotlib.figure import Figure
from mlflow.exceptions import MlflowException

import mlflow
from fieldlab.catalog import load_card
from fieldlab.errors import TrainingError
from fieldlab.models import published_size
from fieldlab.training import checkpoint
from fieldlab.training.config import TrainConfig, build_config, check_sections, logged_settings
from fieldlab.training.figure_logger import FigureLogger
from fieldlab.training.interrupt import CtrlC
from fieldlab.training.kind import Kind
from fieldlab.training.loop import Trainer
from fieldlab.training.problem import Problem, check_model
from fieldlab.training.runs import mark_dead_runs, process_tags
from fieldlab.training.task import task_frames
from fieldlab.training.tracking import (
    BEST_EPOCH_TAG,
    configure,
    dataset_input,
    describe_run,
    flatten,
    iter_metric,
    log_best_metrics,
    log_dataset,
    run_description,
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


FINISHED = ("finished", "early_stopped", "time_budget")
"""How a session ends when the run is complete and its model logged."""

TRACKING_ERRORS = (MlflowException, requests.exceptions.RequestException)
"""What MLflow raises when its tracking store or server fails to answer."""


def _tracking_lost(
    err: Exception, uri: str, run_id: str, epochs: int, directory: Path
) -> TrainingError:
    """The one-line error of a run whose tracking store stopped answering; the run ends without
    another request to it (its status is fixed by the next command, :func:`mark_dead_runs`)."""
    with contextlib.suppress(*TRACKING_ERRORS):
        mlflow.end_run(status="KILLED")
    with contextlib.suppress(*TRACKING_ERRORS):  # nothing is logged to a store that is gone
        while mlflow.active_run() is not None:
            mlflow.end_run(status="KILLED")
    first = str(err).strip().splitlines()[0][:200] if str(err).strip() else type(err).__name__
    return TrainingError(
        f"the tracking store {uri} stopped answering during run {run_id} ({first}); the "
        f"checkpoint of its last epoch ({epochs} done) is kept in {directory}: once the store "
        f"answers again, continue with `fieldlab train --resume {run_id}`"
    )


def check_inputs(config: TrainConfig) -> Kind:
    """The dataset's kind of data, after failing fast, naming the input: unknown model or
    dataset, a model or setting of another kind of data, or no task frames."""
    card = load_card(config.dataset)
    kind = check_model(config.model, card)
    check_sections(config, kind)
    task_frames(card, card.n_frames("train"))
    return kind


class _RunHooks:
    """Checkpoint each epoch, then log it to MLflow, with the problem's figures.

    The checkpoint is written before the epoch's metrics are sent (a tracking server that fails
    then leaves a checkpoint that is ahead of the logged metrics, never behind), and both happen
    inside ``ctrl_c.held()``: a run stopped at once by a second Ctrl-C has checkpointed and
    logged the epoch, or neither. A new best's weights are saved (also held) before the epoch's
    checkpoint, and its ``best_val_mse`` and ``best_epoch`` are sent with the epoch's metrics,
    one request an epoch. Figures are built on this
    thread and rendered and logged on the :class:`FigureLogger`'s; those of the best epoch are
    kept until a better epoch comes, so the end of the run does not draw them again.
    """

    def __init__(
        self,
        directory: Path,
        problem: Problem,
        config: TrainConfig,
        ctrl_c: CtrlC,
        figures: FigureLogger,
    ):
        self.directory = directory
        self.problem = problem
        self.config = config
        self.ctrl_c = ctrl_c
        self.figures = figures
        self.metric_keys: set[str] = set()
        self.figure_steps: set[int] = set()
        self.best_figures: tuple[int, dict[str, Figure]] | None = None
        self.last_figures: tuple[int, dict[str, Figure]] | None = None
        self.best_metrics: tuple[int, dict[str, float]] | None = None

    def epoch_end(self, trainer: Trainer, metrics: dict[str, float]) -> None:
        epoch = trainer.state.epoch - 1
        metrics = {**metrics, **self.problem.monitor(trainer.model)}
        logged = {k: v for k, v in metrics.items() if k != "best_epoch"}
        self.metric_keys.update(logged)
        best = {}
        if self.best_metrics is not None and self.best_metrics[0] == epoch:
            best, self.best_metrics = self.best_metrics[1], None
        with self.ctrl_c.held():
            checkpoint.save(trainer.state_dict(), self.directory / checkpoint.LAST)
            mlflow.log_metrics({**logged, **best}, step=epoch)  # one request an epoch
        if epoch % self.config.figure_every == 0:
            figs = self.log_figures(trainer.model, epoch, f"epoch {epoch}")
            if figs and trainer.state.best_epoch == epoch:
                self.best_figures = (epoch, figs)

    def log_figures(self, model: torch.nn.Module, step: int, title: str) -> dict[str, Figure]:
        """Queue the problem's figures of ``model`` at ``step``, unless drawn there already
        (then nothing is drawn and the result is empty)."""
        if step in self.figure_steps:
            return {}
        figs = self.problem.figures(model, title)
        self.figures.image_series(figs, step)
        self.figure_steps.add(step)
        self.last_figures = (step, figs)
        return figs

    def new_best(self, trainer: Trainer) -> None:
        """Save the new best weights; their metrics go with the epoch's (:meth:`epoch_end`), or
        with :meth:`flush` where no epoch's follow (a re-validation at the end of a budget)."""
        st = trainer.state
        with self.ctrl_c.held():
            checkpoint.save(
                {"epoch": st.best_epoch, "val_mse": st.best_val_mse, "model": trainer.best_weights},
                self.directory / checkpoint.BEST,
            )
        self.best_metrics = (
            st.best_epoch,
            {"best_val_mse": st.best_val_mse, "best_epoch": st.best_epoch},
        )
        if self.best_figures is not None and self.best_figures[0] != st.best_epoch:
            self.best_figures = None

    def flush(self) -> None:
        """Log the best weights' metrics that no epoch's metrics took along."""
        if self.best_metrics is not None:
            step, metrics = self.best_metrics
            self.best_metrics = None
            mlflow.log_metrics(metrics, step=step)

    def log_best_figures(self, model: torch.nn.Module, best_epoch: int) -> None:
        """The figures of the best weights (``model``) at the best epoch's step, and each of
        them whose key is a plain name also as ``figures/<key>_best.png``."""
        figs = self.log_figures(model, best_epoch, f"best epoch {best_epoch}")
        for drawn in (self.best_figures, self.last_figures):
            if not figs and drawn is not None and drawn[0] == best_epoch:
                figs = drawn[1]
        for key, fig in figs.items():
            if "/" not in key:
                self.figures.artifact(fig, f"figures/{key}_best.png")


def training_seconds(history: list[dict[str, float]]) -> float:
    """The training passes' seconds over every epoch of ``history``. Epochs checkpointed before
    the per-epoch value was named ``epoch_train_time_s`` hold it as ``train_time_s``, so a run
    resumed across that rename still counts all its epochs."""
    return sum(h.get("epoch_train_time_s", h.get("train_time_s", 0.0)) for h in history)


def _best_metrics(run_id: str, keys: set[str], epoch: int) -> dict[str, float]:
    """Each metric of ``keys`` as logged at step ``epoch`` of run ``run_id`` (also when that
    epoch was trained in an earlier session of a resumed run)."""
    out = {}
    for key in sorted(keys):
        values = [v for step, v in iter_metric(run_id, key) if step == epoch]
        if values:
            out[key] = values[-1]
    return out


def _validation_split(problem: Problem) -> str:
    """What the problem validates on: the ``val`` split, or the training simulations a grid
    dataset without one lends (its parameter ``val_source``, ``train[18:20]``)."""
    return str(problem.params.get("val_source", "val"))


def _params(config: TrainConfig, kind: Kind, problem: Problem) -> dict[str, Any]:
    """The settings that apply to this run as flat parameters: the common ones and the kind's
    section, less the prefixes the problem ignores (``particles.field.`` for a model without a
    neural field)."""
    ignored = tuple(getattr(problem, "ignored_settings", ()))
    flat = flatten(logged_settings(config, kind))
    return {k: v for k, v in flat.items() if not ignored or not k.startswith(ignored)}


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
        if state["loop"].get("stopped") in FINISHED:
            raise TrainingError(
                f"run {resume} has finished ({state['loop']['stopped']} after "
                f"{state['loop']['epoch']} epochs) and logged its model; there is nothing to "
                "resume: train a new run"
            )
        saved = {**state["config"], "max_epochs_per_session": None}
        config = build_config(saved, f"checkpoint of run {resume}")
    if config is None:
        raise ValueError("train() needs a config or a run id to resume")
    if session:
        config = config.with_updates(**session)
    kind = check_inputs(config)
    hidden, layers = published_size(config.model)
    config = config.with_updates(hidden=config.hidden or hidden, layers=config.layers or layers)
    if config.threads is not None:
        torch.set_num_threads(config.threads)
    problem = kind.problem()(config, data_root)
    config = problem.config
    trainer = Trainer(config, problem.model, problem.train_data, problem.val_data, problem)
    if state is not None:
        trainer.load_state_dict(state)

    uri = configure(tracking_uri, config.experiment)
    mark_dead_runs(config.experiment)
    started = time.perf_counter()
    name = None if resume is not None else config.run_name
    with mlflow.start_run(run_id=resume, run_name=name, log_system_metrics=True) as run:
        run_id = run.info.run_id
        directory = checkpoint.run_dir(run_id, checkpoint_root)
        if resume is None:
            mlflow.log_dict(config.model_dump(mode="json"), "config.json")
            mlflow.log_params(_params(config, kind, problem))
            fp = log_dataset(
                config.dataset,
                ("training", "validation"),
                data_root=data_root,
                splits={"validation": _validation_split(problem)},
            )
            mlflow.set_tags({"model": config.model, "task.kind": kind.name, **problem.tags})
            if config.study is not None:
                mlflow.set_tag("fieldlab.study", config.study)
            describe_run(
                run_description(
                    model=config.model,
                    dataset=config.dataset,
                    dataset_description=load_card(config.dataset).description.rstrip("."),
                    kind=kind.holds,
                    study=config.study,
                )
            )
            mlflow.log_params({**problem.params, "dataset_fingerprint": fp})
        mlflow.set_tags({"fieldlab.state": "running", **process_tags()})
        ctrl_c = CtrlC()
        figures = FigureLogger(run_id)
        hooks = _RunHooks(directory, problem, config, ctrl_c, figures)
        try:
            with ctrl_c.installed():
                stopped = trainer.fit(
                    hooks, progress=progress, log_every=log_every, stop=ctrl_c.stop
                )
            hooks.flush()
        except KeyboardInterrupt:  # a second Ctrl-C: stopped at once, outside any held block
            stopped = "interrupted"
        except TRACKING_ERRORS as err:
            figures.abandon()
            raise _tracking_lost(err, uri, run_id, trainer.state.epoch, directory) from None
        model_uri = None
        if stopped == "interrupted":
            mlflow.set_tag("fieldlab.state", "interrupted")
        elif stopped == "epoch_budget":
            mlflow.set_tag("fieldlab.state", "paused")
        else:  # complete: the last checkpoint says so, so the run is never resumed twice
            checkpoint.save(trainer.state_dict(), directory / checkpoint.LAST)
            st, model = trainer.state, trainer.model
            hooks.log_figures(model, st.epoch - 1, f"last epoch {st.epoch - 1}")
            model.load_state_dict(trainer.best_weights)
            hooks.log_best_figures(model, st.best_epoch)
            mlflow.set_tag(BEST_EPOCH_TAG, str(st.best_epoch))
            model_uri = problem.log_model(model)
            problem.finish(model, f"best epoch {st.best_epoch}")
            best = _best_metrics(run_id, hooks.metric_keys, st.best_epoch)
            validation, _ = dataset_input(
                config.dataset, "validation", data_root=data_root, split=_validation_split(problem)
            )
            log_best_metrics(
                {**best, "val_mse": st.best_val_mse, "epoch": float(st.best_epoch)},
                step=st.best_epoch,
                model_uri=model_uri,
                dataset=validation,
            )
            mlflow.log_metrics(  # at the last step: the run's latest values of these names
                {
                    "epochs": st.epoch,
                    "wall_time_s": st.elapsed_s,
                    "train_time_s": training_seconds(st.history),
                },
                step=st.epoch,
            )
            figures.wait()  # every figure is logged before the run says it is complete
            mlflow.set_tag("fieldlab.state", "complete")
        figures.close()
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
