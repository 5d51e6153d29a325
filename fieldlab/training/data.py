"""From a catalogued dataset to the tensors of its forecasting task.

A card's task names context and target frames (slice semantics over the saved frames). A model
sees one frame and predicts the frame ``horizon`` saved frames later:

- target after the context (EGNN: context 30..30, target 40): the input is the last context frame
  and ``horizon = target.start - (context.stop - 1)`` (10);
- target overlapping the context (NRI: context 0..48, target 1..48): ``horizon = target.start -
  context.start`` (1), one-step prediction.

With ``all_frames`` every frame ``t`` with ``t + horizon`` saved becomes a training pair.

Shapes: ``position``, ``velocity`` ``(S, P, D)`` for ``S`` samples of ``P`` particles in ``D``
dimensions; ``scalar`` ``(S, P)`` (charge or mass) or ``None``; trajectories ``(S, T, P, D)``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import torch
import xarray as xr

from fieldlab.catalog import load_card, open_dataset, open_statistics
from fieldlab.catalog.card import Card
from fieldlab.errors import TrainingError

PathLike = str | os.PathLike[str]


@dataclass(frozen=True)
class TaskFrames:
    """Which saved frames are inputs, and how far ahead the target lies."""

    inputs: tuple[int, ...]
    horizon: int

    @property
    def task_input(self) -> int:
        """The input frame of the published task (the last of ``inputs`` when not ``all_frames``)."""
        return self.inputs[-1]


@dataclass(frozen=True)
class TaskData:
    """Input and target states of one split: ``(S, P, D)`` each, ``scalar (S, P)`` or ``None``."""

    dataset: str
    split: str
    frames: TaskFrames
    position: torch.Tensor
    velocity: torch.Tensor
    scalar: torch.Tensor | None
    target_position: torch.Tensor
    target_velocity: torch.Tensor

    def __len__(self) -> int:
        return self.position.shape[0]

    @property
    def dim(self) -> int:
        return self.position.shape[-1]

    def subset(self, index: torch.Tensor) -> TaskData:
        """The samples at ``index`` (a 1-D index tensor)."""
        return TaskData(
            self.dataset,
            self.split,
            self.frames,
            self.position[index],
            self.velocity[index],
            None if self.scalar is None else self.scalar[index],
            self.target_position[index],
            self.target_velocity[index],
        )


@dataclass(frozen=True)
class Trajectories:
    """Whole saved trajectories: ``position``, ``velocity`` ``(S, T, P, D)``, ``time (T,)``."""

    dataset: str
    split: str
    position: np.ndarray
    velocity: np.ndarray
    scalar: np.ndarray | None
    time: np.ndarray


def task_frames(card: Card, n_frames: int, *, all_frames: bool = False) -> TaskFrames:
    """The input frames and horizon of ``card``'s task over ``n_frames`` saved frames.

    Raises:
        TrainingError: the card has no task, or the dataset lacks the frames the task needs.
    """
    task = card.task
    if task is None:
        raise TrainingError(
            f"dataset {card.name!r} has no forecasting task (its card has no 'task' with context "
            "and target frames), so it cannot be used to train or evaluate a forecaster"
        )
    last = task.context.stop - 1
    if task.target.start > last:
        horizon, first = task.target.start - last, last
    else:
        horizon, first = task.target.start - task.context.start, task.context.start
    if horizon <= 0:
        raise TrainingError(
            f"dataset {card.name!r}: its task's target (frame {task.target.start}) does not lie "
            f"after its context (frame {task.context.start}); nothing to forecast"
        )
    if first + horizon >= n_frames:
        raise TrainingError(
            f"dataset {card.name!r} has {n_frames} saved frames but its task needs frame "
            f"{first + horizon} (input frame {first}, horizon {horizon})"
        )
    inputs = tuple(range(n_frames - horizon)) if all_frames else (first,)
    return TaskFrames(inputs, horizon)


def _scalar_name(ds: xr.Dataset, choice: str) -> str | None:
    if choice == "none":
        return None
    if choice == "auto":
        return next((n for n in ("charge", "mass") if n in ds.data_vars), None)
    if choice not in ds.data_vars:
        raise TrainingError(
            f"dataset {ds.attrs.get('dataset', '?')!r} has no per-particle {choice!r}; "
            f"its variables are: {', '.join(map(str, ds.data_vars))}"
        )
    return choice


def _open(name: str, split: str, data_root: PathLike | None) -> xr.Dataset:
    ds = open_dataset(name, split, data_root=data_root)
    missing = [v for v in ("position", "velocity") if v not in ds.data_vars]
    if missing:
        raise TrainingError(
            f"dataset {name!r} has no {' or '.join(missing)}; forecasters need particle states"
        )
    return ds


def load_task(
    name: str,
    split: str,
    *,
    data_root: PathLike | None = None,
    limit: int | None = None,
    all_frames: bool = False,
    scalar: str = "auto",
    dtype: torch.dtype = torch.float32,
) -> TaskData:
    """The task tensors of ``split`` of dataset ``name`` (the first ``limit`` simulations)."""
    card = load_card(name)
    ds = _open(name, split, data_root)
    if limit is not None:
        ds = ds.isel(sim=slice(0, limit))
    frames = task_frames(card, ds.sizes["time"], all_frames=all_frames)
    t_in = list(frames.inputs)
    t_out = [t + frames.horizon for t in t_in]
    pos = ds["position"].values
    vel = ds["velocity"].values

    def pairs(a: np.ndarray, t: list[int]) -> torch.Tensor:  # (S, T, P, D) -> (S * len(t), P, D)
        return torch.as_tensor(a[:, t].reshape(-1, *a.shape[2:]), dtype=dtype)

    s_name = _scalar_name(ds, scalar)
    s = None
    if s_name is not None:
        values = np.repeat(ds[s_name].values, len(t_in), axis=0)
        s = torch.as_tensor(values, dtype=dtype)
    return TaskData(
        name, split, frames, pairs(pos, t_in), pairs(vel, t_in), s, pairs(pos, t_out),
        pairs(vel, t_out),
    )  # fmt: skip


def load_trajectories(
    name: str,
    split: str,
    *,
    data_root: PathLike | None = None,
    limit: int | None = None,
    scalar: str = "auto",
) -> Trajectories:
    """Whole trajectories of the first ``limit`` simulations of ``split``, float64."""
    ds = _open(name, split, data_root)
    if limit is not None:
        ds = ds.isel(sim=slice(0, limit))
    s_name = _scalar_name(ds, scalar)
    return Trajectories(
        name,
        split,
        ds["position"].values,
        ds["velocity"].values,
        None if s_name is None else ds[s_name].values,
        ds["time"].values,
    )


def global_scales(name: str, *, data_root: PathLike | None = None) -> tuple[float, float]:
    """One scale for all position coordinates and one for all velocity components.

    The training split's standard deviations: dividing by a scalar keeps a model E(n)-equivariant,
    whereas a per-axis scale or a subtracted mean velocity would not.
    """
    stats = open_statistics(name, data_root=data_root)
    return float(stats["position"]["std"]), float(stats["velocity"]["std"])
