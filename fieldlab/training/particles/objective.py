r"""The training objective of particle forecasters: the state at the target frame.

On a batch of samples (:class:`~fieldlab.training.particles.data.TaskData`) the loss is

.. math:: L = \mathrm{MSE}(\hat x, x) + w_v\, \mathrm{MSE}(\hat v, v)

at the target frame (the mean over samples, particles and coordinates; ``w_v`` is
``velocity_weight``; the published EGNN loss is the first term alone), or with
``rollout_steps = K`` its mean over ``k`` steps that feed the model its own prediction, where
:func:`fed_back_steps` grows ``k`` to ``K`` over the first ``rollout_warmup`` epochs.
``train_mse`` is the position term; validation reports the position MSE (``val_mse``, which
picks the best epoch) and the velocity MSE (``val_velocity_mse``) over the whole split.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch

from fieldlab.training.config import TrainConfig
from fieldlab.training.particles.data import TaskData
from fieldlab.training.particles.forecaster import Forecaster
from fieldlab.training.particles.settings import PARTICLES, ParticleSettings


def fed_back_steps(settings: ParticleSettings, epoch: int) -> int:
    r"""Fed-back steps in epoch :math:`e`'s loss: :math:`k = \min(K, 1 + \lfloor (K - 1)\, e / W
    \rfloor)` with ``rollout_steps`` :math:`K` and ``rollout_warmup`` :math:`W`, so training
    starts on single steps (a fresh model fed its own predictions can diverge within a few steps)
    and reaches :math:`K` at epoch :math:`W`; :math:`K` if :math:`W = 0`."""
    k, warmup = settings.rollout_steps, settings.rollout_warmup
    if warmup == 0:
        return k
    return min(k, 1 + (k - 1) * epoch // warmup)


def batch_loss(
    model: Forecaster, part: TaskData, settings: ParticleSettings, epoch: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """The loss on one batch and its position MSE (see the module docstring)."""
    w = settings.velocity_weight
    x, v = part.position, part.velocity
    targets = part.targets()[: fed_back_steps(settings, epoch)]
    loss = mse_x = torch.zeros((), dtype=part.position.dtype, device=model.position_scale.device)
    for target_x, target_v in targets:
        x, v = model.predict(x, v, part.scalar, part.context)
        target_x, target_v = target_x.to(x.device), target_v.to(x.device)
        step_x = torch.mean((x - target_x) ** 2)
        step = step_x + w * torch.mean((v - target_v) ** 2) if w else step_x
        loss, mse_x = loss + step / len(targets), mse_x + step_x / len(targets)
    return loss, mse_x


@torch.no_grad()
def evaluate_mse(model: Forecaster, data: TaskData, batch_size: int) -> tuple[float, float]:
    """Position and velocity MSE at the target frame over all of ``data``."""
    model.eval()
    sum_x = sum_v = 0.0
    for start in range(0, len(data), batch_size):
        part = data.subset(torch.arange(start, min(start + batch_size, len(data))))
        x, v = model.predict(part.position, part.velocity, part.scalar, part.context)
        sum_x += float(((x - part.target_position.to(x.device)) ** 2).sum())
        sum_v += float(((v - part.target_velocity.to(v.device)) ** 2).sum())
    n = data.target_position.numel()
    return sum_x / n, sum_v / n


def advice(settings: ParticleSettings, before_first_update: bool, lower_lr: str) -> list[str]:
    """What to try when the loss is not finite: fewer fed-back steps, ``lower_lr`` (once the
    model has been updated), normalisation."""
    fewer_steps = (
        f"train on fewer fed-back steps (rollout_steps, now {settings.rollout_steps}) or grow "
        f"them over the first epochs (rollout_warmup, now {settings.rollout_warmup})"
    )
    if before_first_update:
        return [fewer_steps if settings.rollout_steps > 1 else "keep normalisation on"]
    return [fewer_steps] * (settings.rollout_steps > 1) + [lower_lr, "keep normalisation on"]


class ParticleObjective:
    """The objective above for :class:`~fieldlab.training.loop.Trainer`, validating on ``val``."""

    def __init__(self, config: TrainConfig, val: TaskData) -> None:
        self.settings: ParticleSettings = config.settings(PARTICLES)
        self.val_data = val
        self.val_batch = max(config.batch_size, 500)

    def batch_loss(
        self, model: Forecaster, batch: TaskData, epoch: int
    ) -> tuple[torch.Tensor, torch.Tensor]:
        return batch_loss(model, batch, self.settings, epoch)

    def val_metrics(self, model: Forecaster) -> dict[str, float]:
        val_mse, val_vmse = evaluate_mse(model, self.val_data, self.val_batch)
        return {"val_mse": val_mse, "val_velocity_mse": val_vmse}

    def epoch_metrics(self, epoch: int) -> dict[str, float]:
        if self.settings.rollout_steps == 1:
            return {}
        return {"rollout_steps": float(fed_back_steps(self.settings, epoch))}

    def plan_epoch(
        self, epoch: int, planned_epochs: int, history: Sequence[Mapping[str, float]]
    ) -> None:
        """Nothing: this objective's schedule depends on the epoch alone."""

    def advice(self, before_first_update: bool, lower_lr: str) -> list[str]:
        return advice(self.settings, before_first_update, lower_lr)
