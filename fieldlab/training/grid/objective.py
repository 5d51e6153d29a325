r"""The training objective of grid forecasters: one-step increments of the fields.

On a batch of pairs :math:`(u_t, u_{t+1})` (:class:`~fieldlab.training.grid.data.GridPairs`) the
loss is the mean squared error of the normalised increment,

.. math:: L = \frac{1}{B\, n_y n_x C} \sum \Big(\hat\delta(u_t) - \frac{u_{t+1} - u_t}{\sigma_\Delta}\Big)^2,

every channel weighted alike whatever its units, and ``train_mse`` is the one-step MSE of the
state in physical units, :math:`\mathrm{mean}\,(\hat u_{t+1} - u_{t+1})^2
= \mathrm{mean}\,\sigma_\Delta^2 (\hat\delta - \delta)^2`. Validation (``val_mse``, which picks
the best epoch) is the same one-step MSE over the validation pairs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch

from fieldlab.training.config import TrainConfig
from fieldlab.training.device import to_device
from fieldlab.training.grid.data import GridPairs
from fieldlab.training.grid.forecaster import GridForecaster


def _increment_errors(model: GridForecaster, part: GridPairs) -> tuple[torch.Tensor, torch.Tensor]:
    """Normalised increment error and its physical counterpart, ``(B, ny, nx, C)`` each."""
    scale = model.delta_std
    state, target = (to_device(t, scale.device) for t in (part.state, part.target))
    err = model.increment(state) - (target - state) / scale
    return err, err * scale


def batch_loss(model: GridForecaster, part: GridPairs) -> tuple[torch.Tensor, torch.Tensor]:
    """The normalised increment loss on one batch and its one-step MSE in physical units."""
    err, physical = _increment_errors(model, part)
    return torch.mean(err**2), torch.mean(physical.detach() ** 2)


@torch.no_grad()
def one_step_mse(model: GridForecaster, data: GridPairs, batch_size: int) -> float:
    """One-step MSE of the state over all of ``data``, in physical units."""
    model.eval()
    total = 0.0
    for start in range(0, len(data), batch_size):
        part = data.subset(torch.arange(start, min(start + batch_size, len(data))))
        total += float((_increment_errors(model, part)[1] ** 2).sum())
    return total / max(data.target.numel(), 1)


class GridObjective:
    """The objective above for :class:`~fieldlab.training.loop.Trainer`, validating on ``val``."""

    def __init__(self, config: TrainConfig, val: GridPairs) -> None:
        self.val_data = val
        self.val_batch = config.batch_size

    def batch_loss(
        self, model: GridForecaster, batch: GridPairs, epoch: int
    ) -> tuple[torch.Tensor, torch.Tensor]:
        return batch_loss(model, batch)

    def val_metrics(self, model: GridForecaster) -> dict[str, float]:
        return {"val_mse": one_step_mse(model, self.val_data, self.val_batch)}

    def epoch_metrics(self, epoch: int) -> dict[str, float]:
        return {}

    def plan_epoch(
        self, epoch: int, planned_epochs: int, history: Sequence[Mapping[str, float]]
    ) -> None:
        """Nothing: this objective's schedule depends on the epoch alone."""

    def advice(self, before_first_update: bool, lower_lr: str) -> list[str]:
        return ["check the dataset's statistics"] if before_first_update else [lower_lr]
