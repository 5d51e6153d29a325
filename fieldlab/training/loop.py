r"""The training loop: Adam, an optional cosine schedule, early stopping, exact resumption.

One epoch shuffles the training samples with a seeded generator, builds one batched graph per
batch and minimises

.. math:: L = \mathrm{MSE}(\hat x, x) + w_v\, \mathrm{MSE}(\hat v, v)

at the target frame (the mean over samples, particles and coordinates; ``w_v`` is
``velocity_weight``; the published EGNN loss is the first term alone), or with
``rollout_steps = K`` its mean over ``K`` steps that feed the model its own prediction, and
optionally clips the gradient's norm (``grad_clip``). Adam updates all weights as one vector
(:class:`~fieldlab.training.flat_parameters.FlatParameters`). Every ``val_every``
epochs the validation position MSE decides early stopping and the best weights.

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
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import torch
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from fieldlab.errors import TrainingError
from fieldlab.training.config import TrainConfig
from fieldlab.training.data import TaskData
from fieldlab.training.flat_parameters import FlatParameters
from fieldlab.training.forecaster import Forecaster
from fieldlab.training.schedule import learning_rate

StopReason = Literal["finished", "early_stopped", "time_budget", "epoch_budget", "interrupted"]


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


@torch.no_grad()
def evaluate_mse(model: Forecaster, data: TaskData, batch_size: int) -> tuple[float, float]:
    """Position and velocity MSE at the target frame over all of ``data``."""
    model.eval()
    sum_x = sum_v = 0.0
    for start in range(0, len(data), batch_size):
        part = data.subset(torch.arange(start, min(start + batch_size, len(data))))
        x, v = model.predict(part.position, part.velocity, part.scalar, part.context)
        sum_x += float(((x - part.target_position) ** 2).sum())
        sum_v += float(((v - part.target_velocity) ** 2).sum())
    n = data.target_position.numel()
    return sum_x / n, sum_v / n


class Trainer:
    """Fits ``model`` to ``train``, validating on ``val``, as ``config`` says."""

    def __init__(
        self, config: TrainConfig, model: Forecaster, train: TaskData, val: TaskData
    ) -> None:
        self.config = config
        self.model = model
        self.train_data = train
        self.val_data = val
        self.flat = FlatParameters(model)
        self.optimizer = torch.optim.Adam(
            [self.flat.data], lr=config.lr, weight_decay=config.weight_decay, foreach=False
        )
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
    def _batch_loss(self, part: TaskData) -> tuple[torch.Tensor, torch.Tensor]:
        """The loss to minimise on one batch, and the MSE reported as ``train_mse``.

        This and :meth:`_val_metrics` are the objective; a subclass that overrides both trains
        another kind of model with the same loop (:class:`~fieldlab.training.grid_loop.GridTrainer`).
        """
        w = self.config.velocity_weight
        x, v = part.position, part.velocity
        # k states: the model is fed its own prediction k - 1 times
        targets = part.targets()[: self.rollout_now()]
        loss = mse_x = part.position.new_zeros(())
        for target_x, target_v in targets:
            x, v = self.model.predict(x, v, part.scalar, part.context)
            step_x = torch.mean((x - target_x) ** 2)
            step = step_x + w * torch.mean((v - target_v) ** 2) if w else step_x
            loss, mse_x = loss + step / len(targets), mse_x + step_x / len(targets)
        return loss, mse_x

    def rollout_now(self) -> int:
        r"""Fed-back steps in this epoch's loss: :math:`k = \min(K, 1 + \lfloor (K - 1)\, e / W
        \rfloor)` in epoch :math:`e` with ``rollout_steps`` :math:`K` and ``rollout_warmup``
        :math:`W`, so training starts on single steps (a fresh model fed its own predictions can
        diverge within a few steps) and reaches :math:`K` at epoch :math:`W`; :math:`K` if
        :math:`W = 0`."""
        k, warmup = self.config.rollout_steps, self.config.rollout_warmup
        if warmup == 0:
            return k
        return min(k, 1 + (k - 1) * self.state.epoch // warmup)

    def _val_metrics(self) -> dict[str, float]:
        """Validation metrics of the current weights; ``val_mse`` decides the best epoch."""
        val_mse, val_vmse = evaluate_mse(
            self.model, self.val_data, max(self.config.batch_size, 500)
        )
        return {"val_mse": val_mse, "val_velocity_mse": val_vmse}

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
            loss, mse_x = self._batch_loss(data.subset(idx))
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
        cfg = self.config
        where = f"dataset {self.train_data.dataset!r}: the training loss became {loss} in epoch "
        fewer_steps = (
            f"train on fewer fed-back steps (rollout_steps, now {cfg.rollout_steps}) or grow "
            f"them over the first epochs (rollout_warmup, now {cfg.rollout_warmup})"
        )
        if not self.optimizer.state:  # no update yet: the initial model diverges by itself
            fix = fewer_steps if cfg.rollout_steps > 1 else "keep normalisation on"
            return f"{where}{self.state.epoch}, before the first update; {fix}"
        fixes = [f"lower the learning rate (--lr, now {cfg.lr:g})", "keep normalisation on"]
        if cfg.rollout_steps > 1:
            fixes.insert(0, fewer_steps)
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
        lr = learning_rate(st.epoch, base=cfg.lr, total=st.planned_epochs, kind=cfg.schedule)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        losses = self.train_epoch()
        if losses is None:
            return None
        train_loss, train_mse = losses
        metrics = {"train_loss": train_loss, "train_mse": train_mse, "lr": lr}
        if cfg.rollout_steps > 1:
            metrics["rollout_steps"] = float(self.rollout_now())
        last = st.epoch + 1 >= st.planned_epochs
        if (st.epoch + 1) % cfg.val_every == 0 or last:
            metrics.update(self._validate())
        epoch_s = time.perf_counter() - t0
        metrics["epoch_time_s"] = epoch_s
        st.history.append({"epoch": st.epoch, **metrics})
        st.epoch += 1
        return metrics
