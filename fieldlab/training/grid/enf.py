r"""The ENF forecaster on catalogued grid fields: coordinates, normalisation, samples, objective.

:class:`GridENF` wraps an :class:`~fieldlab.models.enf.ENFForecaster` with what a grid dataset
adds: the grid's points as coordinates of the model's domain, the field statistics and the field
names. Grid point :math:`m = i n_x + j` (row :math:`i`, column :math:`j`) has the coordinate

.. math::
    x_m = (x_0 + j h_x,\ y_0 + i h_y) \ \text{(plane, torus)}, \qquad
    x_m = (\cos\phi_i \cos\lambda_j,\ \cos\phi_i \sin\lambda_j,\ \sin\phi_i) \ \text{(sphere)}

(:math:`\phi = y` the latitude, :math:`\lambda = x` the longitude, in radians). The extent is
the side of the plane's data square, the torus' period :math:`n_x h_x = n_y h_y` and 1 on the
sphere. Fields enter as :math:`(u_c - \mu_c)/\sigma_c`; the time of frame :math:`t_0 + k` is
:math:`k` (one saved frame is one time unit of the latent ODE).

**Samples** (:class:`Trajectories`): the normalised frames :math:`t_0 .. t_h - 1` of each
simulation, the training horizon of :mod:`fieldlab.training.grid.data`, as ``(S, T_h, M, C)``.

**Objective** (:class:`ENFObjective`), in two stages: for epochs :math:`e < E_1 = \lceil f E
\rceil` (stage 1), :math:`E` the epochs the schedule plans (the ``epochs`` setting, or fewer when
a wall-time budget re-fits the schedule: the stages share what the budget allows, and a run with
``--minutes`` reaches stage 2 however few epochs fit), each
trajectory of a batch gives one random frame, whose latents are fitted on :math:`K` random grid
points and decoded on them,

.. math:: L_1 = \operatorname{mean}_{b, k \in K, c} \big(f_\theta(x_k; z_b) - \tilde u_{b,k,c}\big)^2;

afterwards (stage 2) latents fitted on every point of frame :math:`t_0` are flowed by the ODE and
decoded on :math:`K` random points of frames :math:`t_0 + 1 .. t_h - 1`,
:math:`L_2 = \operatorname{mean}(\hat{\tilde u} - \tilde u)^2`. In stage 2 only the ODE
(:meth:`~fieldlab.models.enf.ENFForecaster.stage_parameters` ``(2)``) receives gradients; the
frozen parameters still drift while Adam's moments from stage 1 decay (by at most about
``lr / (1 - beta1)``, ten learning rates). The random frames and points of a batch are drawn
from a generator seeded by ``(seed, epoch, batch indices)``. ``train_mse`` is the loss times
:math:`\overline{\sigma^2}` (exact in physical units for one field). ``val_mse`` is the forecast
MSE in physical units over frames :math:`t_0 + 1 .. t_h - 1` of the validation trajectories
from their fully observed frame :math:`t_0`, in both stages; ``val_reconstruction_mse`` that of
frame :math:`t_0` itself. ``epoch_metrics`` logs ``stage`` (1 or 2). The stage of each epoch is
decided before it from the schedule and the epochs' history (:meth:`ENFObjective.plan_epoch`):
stage 2, once begun, never ends, and a resumed run, whose checkpoint holds both, takes exactly the
same path.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from fieldlab.errors import TrainingError
from fieldlab.models import Mesh
from fieldlab.models.enf import ENFForecaster, ENFOptions
from fieldlab.training.config import TrainConfig
from fieldlab.training.device import to_device
from fieldlab.training.grid.data import GridTask
from fieldlab.training.grid.settings import ENFSettings


def grid_coordinates(mesh: Mesh, domain: str) -> tuple[torch.Tensor, float]:
    """The ``(M, D)`` coordinates (float64) of ``mesh``'s points on ``domain`` and the domain's
    extent (see the module docstring)."""
    xy = mesh.positions()
    if domain == "sphere":
        lon, lat = xy[:, 0], xy[:, 1]
        unit = torch.stack([lat.cos() * lon.cos(), lat.cos() * lon.sin(), lat.sin()], -1)
        return unit, 1.0
    width, height = mesh.nx * mesh.hx, mesh.ny * mesh.hy
    if domain == "torus" and not math.isclose(width, height, rel_tol=1e-9):
        raise TrainingError(
            f"the ENF torus has one period, but the grid is {width:g} x {height:g}; "
            "train a mesh network (model mesh-gnn) on rectangular tori"
        )
    return xy, max(width, height)


class GridENF(nn.Module):
    """An ENF forecaster of ``fields`` on ``mesh`` (see the module docstring).

    Args:
        mesh: the grid; ``domain``: ``plane``, ``torus`` or ``sphere``.
        fields: names of the ``C`` fields, in channel order; ``mean``, ``std``: ``(C,)``.
        options: the model's sizes; ``observed_fractions``: sparse settings scored by
            :mod:`fieldlab.training.grid.scoring`; ``seed``: the initialisation.
    """

    def __init__(
        self,
        mesh: Mesh,
        domain: str,
        fields: Sequence[str],
        *,
        mean: Sequence[float],
        std: Sequence[float],
        options: ENFOptions,
        observed_fractions: Sequence[float] = (),
        seed: int = 0,
    ) -> None:
        super().__init__()
        coords, extent = grid_coordinates(mesh, domain)
        self.mesh, self.domain, self.extent = mesh, domain, extent
        self.fields = tuple(fields)
        self.options = options
        self.observed_fractions = tuple(float(f) for f in observed_fractions)
        self.enf = ENFForecaster(domain, extent, len(self.fields), options, seed)
        self._coords64 = coords
        self._coords: torch.Tensor | None = None
        dtype = torch.get_default_dtype()
        self.register_buffer("mean", torch.tensor(mean, dtype=dtype))
        self.register_buffer("std", torch.tensor(std, dtype=dtype))

    @property
    def coords(self) -> torch.Tensor:
        """``(M, D)`` coordinates of the grid points in the module's dtype and device, cast from
        float64 (not a buffer: a float32 copy cast back to float64 would stay rounded)."""
        like = self.mean
        if self._coords is None or (self._coords.dtype, self._coords.device) != (
            like.dtype,
            like.device,
        ):
            self._coords = self._coords64.to(like.device, like.dtype)
        return self._coords

    def normalise(self, u: torch.Tensor) -> torch.Tensor:
        r"""``(..., ny, nx, C)`` physical fields -> ``(..., M, C)`` values :math:`\tilde u`."""
        u = u.to(self.mean.device, self.mean.dtype)
        return ((u - self.mean) / self.std).flatten(-3, -2)

    def physical(self, v: torch.Tensor) -> torch.Tensor:
        """``(..., M, C)`` normalised values -> ``(..., ny, nx, C)`` physical fields."""
        return (v * self.std + self.mean).unflatten(-2, (self.mesh.ny, self.mesh.nx))

    def forecast(
        self, start: torch.Tensor, steps: int, observed: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Fields ``(B, steps + 1, ny, nx, C)`` at frames ``0 .. steps`` after ``start``
        ``(B, ny, nx, C)``, whose latents are fitted on its ``observed`` points (an index
        ``(K,)`` into the ``ny * nx`` points; all if None); frame 0 is the fit's decoding."""
        times = torch.arange(steps + 1, dtype=self.coords.dtype, device=self.coords.device)
        pred = self.enf.forecast(self.coords, self.normalise(start), times, self.coords, observed)
        return self.physical(pred)

    def forward(self, state: torch.Tensor) -> torch.Tensor:
        """The fields one saved frame after ``state`` ``(B, ny, nx, C)``, in physical units."""
        return self.forecast(state, 1)[:, 1]

    @torch.no_grad()
    def rollout(
        self,
        start: np.ndarray,
        steps: int,
        batch_size: int = 8,
        observed: torch.Tensor | None = None,
    ) -> np.ndarray:
        """``(S, steps + 1, ny, nx, C)`` (float64) forecasts from ``start`` ``(S, ny, nx, C)``,
        the same call as :meth:`~fieldlab.training.grid.forecaster.GridForecaster.rollout`;
        frame 0 is the true ``start``."""
        self.eval()
        out = np.empty((start.shape[0], steps + 1, *start.shape[1:]))
        for lo in range(0, start.shape[0], batch_size):
            u = torch.as_tensor(start[lo : lo + batch_size])
            out[lo : lo + batch_size] = self.forecast(u, steps, observed).double().cpu().numpy()
        out[:, 0] = start
        return out


def build_grid_enf(
    task: GridTask, settings: ENFSettings, config: TrainConfig, dtype: torch.dtype
) -> GridENF:
    """A fresh :class:`GridENF` for ``task`` from the ``grid.enf`` settings of ``config``."""
    options = settings.options
    sizes = {"hidden": config.hidden, "ode_layers": config.layers}
    options = options.model_copy(update={k: v for k, v in sizes.items() if v is not None})
    with torch.random.fork_rng():
        torch.manual_seed(config.seed)
        model = GridENF(
            task.mesh,
            task.domain,
            task.fields,
            mean=task.mean,
            std=task.std,
            options=options,
            observed_fractions=settings.observed_fractions,
            seed=config.seed,
        )
    return model.to(dtype)


@dataclass(frozen=True)
class Trajectories:
    """Normalised trajectories ``values (S, T_h, M, C)`` of one split, with their simulation
    ``index (S,)`` (which seeds the random points of a batch)."""

    values: torch.Tensor
    index: torch.Tensor

    def __len__(self) -> int:
        return self.values.shape[0]

    def subset(self, index: torch.Tensor) -> Trajectories:
        return Trajectories(self.values[index], self.index[index])


def trajectories(model: GridENF, fields: np.ndarray, task: GridTask) -> Trajectories:
    """The training horizon ``t_0 .. t_h - 1`` of ``fields`` ``(S, T, ny, nx, C)`` as samples."""
    with torch.no_grad():
        values = model.normalise(torch.as_tensor(fields[:, task.start : task.horizon_stop]))
    return Trajectories(values.cpu(), torch.arange(fields.shape[0]))


class ENFObjective:
    """The two-stage objective of the module docstring, validating on ``val``."""

    def __init__(
        self, config: TrainConfig, settings: ENFSettings, val: Trajectories, val_std: torch.Tensor
    ) -> None:
        self.val_data = val
        self.seed = config.seed
        self.stage1_fraction = settings.stage1_fraction
        self.stage1_epochs = math.ceil(settings.stage1_fraction * config.epochs)
        self.points = settings.points
        self.val_batch = config.batch_size
        self.variance = float((val_std.double() ** 2).mean())

    def stage(self, epoch: int) -> int:
        """1 for the first ``stage1_epochs`` epochs (0-based ``epoch``), then 2."""
        return 1 if epoch < self.stage1_epochs else 2

    def plan_epoch(
        self, epoch: int, planned_epochs: int, history: Sequence[Mapping[str, float]]
    ) -> None:
        r"""Set ``stage1_epochs`` before ``epoch`` for a schedule of ``planned_epochs``: where
        ``history`` shows stage 2 begun, it stays begun there; else stage 1 lasts
        :math:`\lceil f E \rceil` planned epochs, and ends now if the plan has shrunk below the
        epochs already run."""
        begun = next((int(h["epoch"]) for h in history if h.get("stage") == 2), None)
        if begun is not None:
            self.stage1_epochs = begun
        else:
            self.stage1_epochs = max(epoch, math.ceil(self.stage1_fraction * planned_epochs))

    def _generator(self, epoch: int, batch: Trajectories) -> torch.Generator:
        words = np.random.SeedSequence([self.seed, epoch, *batch.index.tolist()]).generate_state(2)
        return torch.Generator().manual_seed(int(words[0]) << 32 | int(words[1]))

    def batch_loss(
        self, model: GridENF, batch: Trajectories, epoch: int
    ) -> tuple[torch.Tensor, torch.Tensor]:
        stage, enf = self.stage(epoch), model.enf
        trainable = {id(p) for p in enf.stage_parameters(stage)}
        for p in enf.parameters():
            p.requires_grad_(id(p) in trainable)
        gen = self._generator(epoch, batch)
        b, t, m = batch.values.shape[:3]
        sample = torch.randperm(m, generator=gen)[: self.points].to(model.coords.device)
        values = to_device(batch.values, model.coords.device)
        if stage == 1:
            frame = torch.randint(t, (b,), generator=gen).to(values.device)
            fields = values[torch.arange(b, device=values.device), frame]
            loss = enf.reconstruction_loss(model.coords, fields, sample)
        else:
            times = torch.arange(t, dtype=values.dtype, device=values.device)
            loss = enf.forecast_loss(model.coords, values, times, sample)
        return loss, loss.detach() * self.variance

    @torch.no_grad()
    def val_metrics(self, model: GridENF) -> dict[str, float]:
        model.eval()
        data, total, first = self.val_data, 0.0, 0.0
        t = data.values.shape[1]
        for lo in range(0, len(data), self.val_batch):
            part = data.values[lo : lo + self.val_batch].to(model.coords.device)
            true = model.physical(part)
            pred = model.forecast(true[:, 0], t - 1)
            err = (pred - true).double() ** 2
            total += float(err[:, 1:].sum())
            first += float(err[:, 0].sum())
        per_frame = len(data) * data.values[0, 0].numel()
        return {
            "val_mse": total / max(per_frame * (t - 1), 1),
            "val_reconstruction_mse": first / max(per_frame, 1),
        }

    def epoch_metrics(self, epoch: int) -> dict[str, float]:
        return {"stage": float(self.stage(epoch))}

    def advice(self, before_first_update: bool, lower_lr: str) -> list[str]:
        if before_first_update:
            return ["check the dataset's statistics", "lower grid.enf.options.lr_context"]
        return [lower_lr, "lower grid.enf.options.lr_context"]
