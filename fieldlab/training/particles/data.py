r"""From a catalogued particle dataset to the tensors of its forecasting task.

A model sees the state at one saved frame and predicts the state ``horizon`` frames later
(:mod:`fieldlab.training.task`). With ``all_frames`` every frame ``t`` with ``t + horizon``
saved becomes a training pair.

With ``rollout_steps = K > 1`` each sample also carries the states ``2 h, ..., K h`` saved frames
after its input (``later_position``, ``later_velocity``), for a loss that feeds the model its own
predictions ``K`` times, as rollouts do; input frames without ``K`` targets after them are dropped.

A model that summarises what it has seen (a field that differs per simulation, see
:class:`~fieldlab.models.trajectory_encoder.TrajectoryEncoder`) also gets, with
``context_frames = C``, the ``C`` saved frames before each input frame :math:`t`, i.e. frames
:math:`t - C, \dots, t - 1`, as positions then velocities; input frames with fewer than ``C``
frames before them are dropped. Nothing at or after the input frame is in the context.

Shapes: ``position``, ``velocity`` ``(S, P, D)`` for ``S`` samples of ``P`` particles in ``D``
dimensions; ``scalar`` ``(S, P)`` (charge or mass) or ``None``; ``context`` ``(S, P, C, 2 D)`` or
``None``; ``later_position``, ``later_velocity`` ``(S, K - 1, P, D)`` or ``None``; trajectories
``(S, T, P, D)``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

import numpy as np
import torch
import xarray as xr

from fieldlab.catalog import load_card, open_dataset, open_statistics
from fieldlab.catalog.card import Card
from fieldlab.errors import TrainingError
from fieldlab.training.task import TaskFrames, task_frames

PathLike = str | os.PathLike[str]


@dataclass(frozen=True)
class TaskData:
    """Input and target states of one split: ``(S, P, D)`` each, ``scalar (S, P)`` or ``None``;
    the observed frames before each input, ``context (S, P, C, 2 D)`` or ``None``; the states
    after the target for a ``K``-step loss, ``later_position``, ``later_velocity``
    ``(S, K - 1, P, D)`` or ``None``."""

    dataset: str
    split: str
    frames: TaskFrames
    position: torch.Tensor
    velocity: torch.Tensor
    scalar: torch.Tensor | None
    target_position: torch.Tensor
    target_velocity: torch.Tensor
    context: torch.Tensor | None = None
    later_position: torch.Tensor | None = None
    later_velocity: torch.Tensor | None = None

    def __len__(self) -> int:
        return self.position.shape[0]

    def targets(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """The target states ``(position, velocity)``, ``(S, P, D)`` each, ``h, 2 h, ..., K h``
        frames after the input (``K = 1`` without later states)."""
        out = [(self.target_position, self.target_velocity)]
        if self.later_position is not None and self.later_velocity is not None:
            out += zip(self.later_position.unbind(1), self.later_velocity.unbind(1), strict=True)
        return out

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
            None if self.context is None else self.context[index],
            None if self.later_position is None else self.later_position[index],
            None if self.later_velocity is None else self.later_velocity[index],
        )


@dataclass(frozen=True)
class Trajectories:
    """Whole saved trajectories: ``position``, ``velocity`` ``(S, T, P, D)``, ``time (T,)``.

    ``source_position`` ``(S, K, D)``: the static field sources of each simulation, for systems
    that place them anew per simulation (``gravitational-field``), else ``None``. ``context``
    ``(S, P, C, 2 D)``: the ``C`` observed frames before ``position[:, 0]`` (positions then
    velocities), for models conditioned on them (see :func:`context_window`), else ``None``.
    """

    dataset: str
    split: str
    position: np.ndarray
    velocity: np.ndarray
    scalar: np.ndarray | None
    time: np.ndarray
    source_position: np.ndarray | None = None
    context: np.ndarray | None = None


def horizon_time(card: Card, frames: TaskFrames, split: str = "train") -> float:
    """Physical time between a task's input and target frames: ``horizon dt sample_every``."""
    params = card.resolved_params(split)
    return frames.horizon * float(params["dt"]) * int(params["sample_every"])


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
    ds = open_dataset(name, split, data_root=data_root, dask=False)
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
    context_frames: int = 0,
    rollout_steps: int = 1,
) -> TaskData:
    """The task tensors of ``split`` of dataset ``name`` (the first ``limit`` simulations).

    With ``context_frames = C > 0`` each sample also carries the ``C`` frames before its input
    frame, and with ``rollout_steps = K > 1`` the states up to ``K`` horizons after it (see the
    module docstring); input frames without them are dropped.

    Raises:
        TrainingError: as :func:`task_frames`, or no input frame has ``C`` frames before it and
            ``K`` horizons after it.
    """
    card = load_card(name)
    ds = _open(name, split, data_root)
    if limit is not None:
        ds = ds.isel(sim=slice(0, limit))
    n_frames = ds.sizes["time"]
    frames = task_frames(card, n_frames, all_frames=all_frames)
    h = frames.horizon
    kept = tuple(
        t for t in frames.inputs if t >= context_frames and t + rollout_steps * h < n_frames
    )
    if not kept:
        raise TrainingError(
            f"dataset {name!r}: no input frame of its task (frames {frames.inputs[0]} to "
            f"{frames.task_input}) has {context_frames} frames before it and {rollout_steps} "
            f"horizons of {h} frames after it in {n_frames} saved frames; ask for fewer context "
            "frames or rollout steps"
        )
    frames = TaskFrames(kept, h)
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
    context = later_x = later_v = None
    if context_frames:
        window = np.stack([_context(pos, vel, t, context_frames) for t in t_in], axis=1)
        context = torch.as_tensor(window.reshape(-1, *window.shape[2:]), dtype=dtype)
    if rollout_steps > 1:
        ahead = range(2, rollout_steps + 1)
        later_x = torch.stack([pairs(pos, [t + k * h for t in t_in]) for k in ahead], dim=1)
        later_v = torch.stack([pairs(vel, [t + k * h for t in t_in]) for k in ahead], dim=1)
    return TaskData(
        name, split, frames, pairs(pos, t_in), pairs(vel, t_in), s, pairs(pos, t_out),
        pairs(vel, t_out), context, later_x, later_v,
    )  # fmt: skip


def task_context_frames(card: Card) -> int:
    """How many saved frames a card's task shows before its input frame (its context, less the
    input frame itself): what a model conditioned on the observed history may read.

    Raises:
        TrainingError: the task's input frame is its first frame, so nothing precedes it.
    """
    frames = task_frames(card, card.n_frames("train"))
    n = frames.task_input - card.task.context.start if card.task is not None else 0
    if n < 2:
        raise TrainingError(
            f"dataset {card.name!r}: its task shows {max(n, 0)} frames before the input frame; a "
            "field conditioned on the observed history needs at least 2"
        )
    return n


def _context(position: np.ndarray, velocity: np.ndarray, t: int, n: int) -> np.ndarray:
    """Frames ``t - n .. t - 1`` of trajectories ``(S, T, P, D)`` as ``(S, P, n, 2 D)``."""
    window = np.concatenate([position[:, t - n : t], velocity[:, t - n : t]], axis=-1)
    return window.transpose(0, 2, 1, 3)


def context_window(traj: Trajectories, n: int) -> Trajectories:
    """``traj`` from frame ``n`` on, with frames ``0 .. n - 1`` as its ``context``.

    A rollout of a model conditioned on what it has observed starts at frame ``n`` of the
    original trajectories, knowing only the frames before it.
    """
    if not 0 < n < traj.position.shape[1]:
        raise TrainingError(
            f"dataset {traj.dataset!r}: a context of {n} frames leaves nothing to forecast in "
            f"{traj.position.shape[1]} saved frames"
        )
    return replace(
        traj,
        position=traj.position[:, n:],
        velocity=traj.velocity[:, n:],
        time=traj.time[n:],
        context=_context(traj.position, traj.velocity, n, n),
    )


def forecast_start(card: Card) -> int:
    """The frame that rollouts start from: the task's input frame when the task shows several
    frames first (Aether's protocol: 29 observed frames, then 20 forecast), so every model is
    scored on the same forecast; else frame 0, the longest rollout the trajectories allow."""
    if card.task is None:
        return 0
    first = task_frames(card, card.n_frames("test")).task_input
    return first if first > card.task.context.start else 0


def forecast_window(traj: Trajectories, card: Card, context_frames: int = 0) -> Trajectories:
    """The part of ``traj`` that a rollout forecasts, from the frame it starts at.

    A model conditioned on ``context_frames`` observed frames starts after them and carries them
    as its ``context``; any other model starts at :func:`forecast_start`, so that on a card whose
    task observes several frames first every model forecasts the same frames.
    """
    if context_frames:
        return context_window(traj, context_frames)
    if start := forecast_start(card):
        return replace(context_window(traj, start), context=None)
    return traj


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
    sources = ds.get("source_position_per_sim")
    return Trajectories(
        name,
        split,
        ds["position"].values,
        ds["velocity"].values,
        None if s_name is None else ds[s_name].values,
        ds["time"].values,
        None if sources is None else sources.values,
    )


def global_scales(name: str, *, data_root: PathLike | None = None) -> tuple[float, float]:
    """One scale for all position coordinates and one for all velocity components.

    The training split's standard deviations: dividing by a scalar keeps a model E(n)-equivariant,
    whereas a per-axis scale or a subtracted mean velocity would not.
    """
    stats = open_statistics(name, data_root=data_root)
    return float(stats["position"]["std"]), float(stats["velocity"]["std"])
