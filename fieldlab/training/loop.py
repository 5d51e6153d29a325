r"""The training loop: Adam, an optional cosine schedule, early stopping, exact resumption.

One epoch shuffles the training samples with a seeded generator and, batch by batch, minimises
the loss of the run's :class:`Objective` (a :class:`~fieldlab.training.problem.Problem`: the
particle loss of :mod:`fieldlab.training.particles.objective`, the grid increment loss of
:mod:`fieldlab.training.grid.objective`), optionally clipping the gradient's norm
(``grad_clip``), with the forward pass in the run's ``precision``
(:mod:`fieldlab.training.precision`). Adam updates all weights as one vector
(:class:`~fieldlab.training.flat_parameters.FlatParameters`,
:class:`~fieldlab.training.flat_adam.FlatAdam`). Every ``val_every`` epochs the
objective's ``val_mse`` decides early stopping and the best weights. The loop itself knows no
kind of data: samples are any object with ``len()`` and ``subset(index)``.

The loop knows nothing of MLflow or files: a :class:`Hooks` object receives each epoch's metrics,
each new best and each end of session, and :meth:`Trainer.state_dict` /
:meth:`Trainer.load_state_dict` carry everything needed to resume (see
:mod:`fieldlab.training.checkpoint`).

A wall-time budget (``time_budget_s``) stops the session when it is spent and sets the
schedule's length: after each epoch the planned number of epochs is re-estimated from the mean
wall time of the last 50 epochs (training, validation, logging and checkpoints) and the time
left, so the cosine reaches zero as the budget runs out even when the machine's speed changes.
The last epoch is always validated.

``fit(stop=EVENT)`` stops the session when ``EVENT`` is set (Ctrl-C, see
:mod:`fieldlab.training.interrupt`): the loop looks at it between batches and abandons the epoch
in progress, so the trainer's weights and optimizer are then part-way through that epoch and the
resume point is the last epoch's checkpoint (:meth:`Trainer.load_state_dict`), not this object.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import torch
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from torch import nn

from fieldlab.errors import TrainingError
from fieldlab.training.config import TrainConfig
from fieldlab.training.flat_adam import FlatAdam
from fieldlab.training.flat_parameters import FlatParameters
from fieldlab.training.precision import check_precision, step_precision
from fieldlab.training.schedule import learning_rate

StopReason = Literal["finished", "early_stopped", "time_budget", "epoch_budget", "interrupted"]


class Samples(Protocol):
    """Training or validation samples: a length and a subset by index."""

    dataset: str

    def __len__(self) -> int: ...

    def subset(self, index: torch.Tensor) -> Any: ...


class Objective(Protocol):
    """What the loop minimises and validates (:class:`~fieldlab.training.problem.Problem`)."""

    def batch_loss(self, model: nn.Module, batch: Any, epoch: int) -> tuple[torch.Tensor, Any]: ...

    def val_metrics(self, model: nn.Module) -> dict[str, float]: ...

    def epoch_metrics(self, epoch: int) -> dict[str, float]: ...

    def plan_epoch(
        self, epoch: int, planned_epochs: int, history: Sequence[Mapping[str, float]]
    ) -> None: ...

    def advice(self, before_first_update: bool, lower_lr: str) -> list[str]: ...


class Hooks(Protocol):
    """What the loop reports; every method may do nothing."""

    def epoch_end(self, trainer: Trainer, metrics: dict[str, float]) -> None: ...

    def new_best(self, trainer: Trainer) -> None: ...


@dataclass
class LoopState:
    """The loop's own state, apart from weights, optimizer and generator."""

    epoch: int = 0
    planned_epochs: int = 0
    best_epoch: int = -1
    best_val_mse: float = float("inf")
    stale_validations: int = 0
    elapsed_s: float = 0.0
    history: list[dict[str, float]] = field(default_factory=list)
    stopped: str | None = None


class Trainer:
    """Fits ``model`` to ``train``, validating on ``val``, as ``config`` and ``objective`` say."""

    def __init__(
        self,
        config: TrainConfig,
        model: nn.Module,
        train: Samples,
        val: Samples,
        objective: Objective,
    ) -> None:
        self.config = config
        self.model = model
        self.objective = objective
        self.train_data = train
        self.val_data = val
        self.flat = FlatParameters(model)
        self.device = self.flat.data.device
        check_precision(config.precision, self.device)
        self.optimizer = FlatAdam(self.flat.data, lr=config.lr, weight_decay=config.weight_decay)
        self.generator = torch.Generator().manual_seed(config.seed)
        self.state = LoopState(planned_epochs=config.epochs)
        self.best_weights: dict[str, torch.Tensor] = copy.deepcopy(model.state_dict())
        self._stop: threading.Event | None = None

    # -- checkpointing -------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Everything needed to resume (see :mod:`fieldlab.training.checkpoint`)."""
        return {
            "config": self.config.model_dump(mode="json"),
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "generator": self.generator.get_state(),
            "loop": self.state.__dict__.copy(),
            "best_weights": self.best_weights,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(self.flat.flatten_optimizer_state(state["optimizer"]))
        self.generator.set_state(state["generator"])
        self.state = LoopState(**state["loop"])
        self.best_weights = state["best_weights"]

    # -- one epoch -----------------------------------------------------------------------------
    def _val_metrics(self) -> dict[str, float]:
        """Validation metrics of the current weights; ``val_mse`` decides the best epoch."""
        return self.objective.val_metrics(self.model)

    def train_epoch(self) -> tuple[float, float] | None:
        """Mean loss and MSE over one pass of shuffled batches; ``None`` if stopped part-way."""
        self.model.train()
        data, bs = self.train_data, self.config.batch_size
        order = torch.randperm(len(data), generator=self.generator)
        total_loss = total_mse = 0.0
        for start in range(0, len(data), bs):
            if self._stop is not None and self._stop.is_set():
                return None
            idx = order[start : start + bs]
            with step_precision(self.config.precision, self.device):
                loss, mse_x = self.objective.batch_loss(
                    self.model, data.subset(idx), self.state.epoch
                )
            if not torch.isfinite(loss):
                raise TrainingError(self._diverged(float(loss)))
            self.flat.zero_grad()
            loss.backward()
            if self.config.grad_clip is not None:
                torch.nn.utils.clip_grad_norm_([self.flat.data], self.config.grad_clip)
            self.optimizer.step()
            total_loss += float(loss) * len(idx)
            total_mse += float(mse_x) * len(idx)
        return total_loss / len(data), total_mse / len(data)

    def _diverged(self, loss: float) -> str:
        """What to tell the user when the training loss is not finite."""
        where = f"dataset {self.train_data.dataset!r}: the training loss became {loss} in epoch "
        if not self.optimizer.state:  # no update yet: the initial model diverges by itself
            fix = " or ".join(self.objective.advice(True, ""))
            return f"{where}{self.state.epoch}, before the first update; {fix}"
        fixes = self.objective.advice(
            False, f"lower the learning rate (--lr, now {self.config.lr:g})"
        )
        return f"{where}{self.state.epoch}; " + " or ".join(fixes)

    def _replan(self) -> None:
        """Fit the cosine schedule's length to what is left of the wall-time budget."""
        cfg, st = self.config, self.state
        if cfg.time_budget_s is None:
            return
        recent = [h.get("wall_s", h["epoch_time_s"]) for h in st.history[-50:]]
        mean_s = max(sum(recent) / len(recent), 1e-9)
        fits = st.epoch + int((cfg.time_budget_s - st.elapsed_s) / mean_s)
        st.planned_epochs = min(cfg.epochs, max(st.epoch + 1, fits))

    def fit(
        self,
        hooks: Hooks | None = None,
        *,
        progress: bool = True,
        log_every: int | None = None,
        stop: threading.Event | None = None,
    ) -> StopReason:
        """Train until the schedule ends, early stopping, a budget or ``stop``; return why.

        ``progress`` shows a progress bar; ``log_every`` prints a plain line every N epochs
        instead (for runs in the background, writing to a log file). ``stop``, once set, ends
        the session between two batches (see the module docstring).
        """
        cfg, st = self.config, self.state
        session_epochs = 0
        reason: StopReason
        self._stop = stop
        columns = (
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[status]}"),
        )
        with Progress(*columns, disable=not progress) as bar:
            task = bar.add_task("training", total=st.planned_epochs, completed=st.epoch, status="")
            mark = time.perf_counter()
            while True:
                if stop is not None and stop.is_set():
                    reason = "interrupted"
                    break
                if st.epoch >= st.planned_epochs:
                    reason = "finished"
                    break
                if cfg.patience is not None and st.stale_validations >= cfg.patience:
                    reason = "early_stopped"
                    break
                if cfg.time_budget_s is not None and st.elapsed_s >= cfg.time_budget_s:
                    reason = "time_budget"
                    if st.history and "val_mse" not in st.history[-1]:
                        st.epoch -= 1  # the result belongs to the last epoch run
                        st.history[-1].update(self._validate())
                        st.epoch += 1
                        if hooks is not None and st.best_epoch == st.epoch - 1:
                            hooks.new_best(self)
                    break
                if (
                    cfg.max_epochs_per_session is not None
                    and session_epochs >= cfg.max_epochs_per_session
                ):
                    reason = "epoch_budget"
                    break
                metrics = self._epoch()
                if metrics is None:
                    reason = "interrupted"
                    break
                session_epochs += 1
                # wall time since the last epoch ended: this epoch plus the last one's hooks
                now = time.perf_counter()
                st.history[-1]["wall_s"] = now - mark
                st.elapsed_s += now - mark
                mark = now
                self._replan()
                if hooks is not None:
                    if metrics.get("best_epoch") == st.epoch - 1:
                        hooks.new_best(self)
                    hooks.epoch_end(self, metrics)
                val = metrics.get("val_mse")
                status = f"train {metrics['train_mse']:.3g}" + (
                    f"  val {val:.3g}" if val is not None else ""
                )
                status += f"  best {st.best_val_mse:.3g} @ {st.best_epoch}"
                bar.update(task, total=st.planned_epochs, completed=st.epoch, status=status)
                if log_every is not None and (st.epoch % log_every == 0 or st.epoch == 1):
                    print(
                        f"epoch {st.epoch}/{st.planned_epochs}  {st.elapsed_s / 60:.1f} min  "
                        f"lr {metrics['lr']:.2e}  {status}",
                        flush=True,
                    )
        st.stopped = reason
        return reason

    def _validate(self) -> dict[str, float]:
        """Validate the current weights (as of epoch ``state.epoch``); keep them if best."""
        st = self.state
        out = self._val_metrics()
        val_mse = out["val_mse"]
        if val_mse < st.best_val_mse:
            st.best_val_mse, st.best_epoch, st.stale_validations = val_mse, st.epoch, 0
            self.best_weights = copy.deepcopy(self.model.state_dict())
            out["best_epoch"] = st.epoch
        else:
            st.stale_validations += 1
        return out

    def _epoch(self) -> dict[str, float] | None:
        """Train and (when due) validate one epoch; ``None`` if it was stopped part-way."""
        cfg, st = self.config, self.state
        t0 = time.perf_counter()
        self.objective.plan_epoch(st.epoch, st.planned_epochs, st.history)
        lr = learning_rate(st.epoch, base=cfg.lr, total=st.planned_epochs, kind=cfg.schedule)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        losses = self.train_epoch()
        if losses is None:
            return None
        train_s = time.perf_counter() - t0
        train_loss, train_mse = losses
        metrics = {"train_loss": train_loss, "train_mse": train_mse, "lr": lr}
        metrics["epoch_train_time_s"] = train_s
        metrics.update(self.objective.epoch_metrics(st.epoch))
        last = st.epoch + 1 >= st.planned_epochs
        if (st.epoch + 1) % cfg.val_every == 0 or last:
            metrics.update(self._validate())
        epoch_s = time.perf_counter() - t0
        metrics["epoch_time_s"] = epoch_s
        st.history.append({"epoch": st.epoch, **metrics})
        st.epoch += 1
        return metrics
