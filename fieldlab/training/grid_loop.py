r"""The training loop's objective for grid forecasters: one-step increments of the fields.

:class:`GridTrainer` is :class:`~fieldlab.training.loop.Trainer` (Adam, schedule, early stopping,
checkpoints, budgets) with another objective. On a batch of pairs :math:`(u_t, u_{t+1})`
(:class:`~fieldlab.training.grid_data.GridPairs`) the loss is the mean squared error of the
normalised increment,

.. math:: L = \frac{1}{B\, n_y n_x C} \sum \Big(\hat\delta(u_t) - \frac{u_{t+1} - u_t}{\sigma_\Delta}\Big)^2,

every channel weighted alike whatever its units, and ``train_mse`` is the one-step MSE of the
state in physical units, :math:`\mathrm{mean}\,(\hat u_{t+1} - u_{t+1})^2
= \mathrm{mean}\,\sigma_\Delta^2 (\hat\delta - \delta)^2`. Validation (``val_mse``, which picks
the best epoch) is the same one-step MSE over the validation pairs.
"""

from __future__ import annotations

import torch

from fieldlab.training.grid_data import GridPairs
from fieldlab.training.grid_forecaster import GridForecaster
from fieldlab.training.loop import Trainer


def _increment_errors(model: GridForecaster, part: GridPairs) -> tuple[torch.Tensor, torch.Tensor]:
    """Normalised increment error and its physical counterpart, ``(B, ny, nx, C)`` each."""
    scale = model.delta_std
    err = model.increment(part.state) - (part.target - part.state) / scale
    return err, err * scale


@torch.no_grad()
def one_step_mse(model: GridForecaster, data: GridPairs, batch_size: int) -> float:
    """One-step MSE of the state over all of ``data``, in physical units."""
    model.eval()
    total = 0.0
    for start in range(0, len(data), batch_size):
        part = data.subset(torch.arange(start, min(start + batch_size, len(data))))
        total += float((_increment_errors(model, part)[1] ** 2).sum())
    return total / max(data.target.numel(), 1)


class GridTrainer(Trainer):
    """Fits a :class:`GridForecaster` to one-step pairs (see the module docstring)."""

    model: GridForecaster

    def _batch_loss(self, part: GridPairs) -> tuple[torch.Tensor, torch.Tensor]:  # type: ignore[override]
        err, physical = _increment_errors(self.model, part)
        return torch.mean(err**2), torch.mean(physical.detach() ** 2)

    def _val_metrics(self) -> dict[str, float]:
        return {"val_mse": one_step_mse(self.model, self.val_data, self.config.batch_size)}
