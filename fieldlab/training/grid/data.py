r"""From a catalogued grid (PDE) dataset to one-step training pairs and whole trajectories.

Grid datasets hold fields ``(sim, time, y, x[, component])`` on the coordinates ``x``, ``y``
(:mod:`fieldlab.simulators.grid`). A grid forecaster advances a *state* by one saved frame.

**State and static inputs.** The state is the dataset's scalar fields that evolve, the variables
of dimensions exactly ``(sim, time, y, x)`` (``concentration`` for diffusion, ``vorticity`` for
Navier-Stokes, whose velocity is a function of the vorticity on the torus and so is not part of
the state); stacked last, a state is ``(..., ny, nx, C)``. Variables of dimensions ``(y, x)``
(the Navier-Stokes ``forcing``) are *static* inputs, the same for every frame and simulation.

**Task and training horizon.** A card's task reads frame :math:`t_0` (``task.context.start``,
0 here) and targets the frames after it up to ``task.target.stop`` :math:`= T` (20). One step is
one saved frame (the task's horizon, :func:`fieldlab.training.task.task_frames`). As in Knigge,
Wessels et al. 2024, the first half of the window is the *training horizon*: frames
:math:`t_0 .. t_h - 1` with :math:`t_h = t_0 + \lfloor (T - t_0) / 2 \rfloor` (0..9). Training uses
the one-step pairs :math:`(u_t, u_{t+1})` with :math:`t_0 \le t` and :math:`t + 1 < t_h`; evaluation
rolls out from :math:`u_{t_0}` and scores frames :math:`t_0 + 1 .. t_h - 1` (*inside* the horizon,
1..9) and :math:`t_h .. T - 1` (*outside*, 10..19).

**Validation.** A card without a ``val`` split (the PDE cards have train and test only) lends
the last :math:`\max(1, \lceil S / 10 \rceil)` of the :math:`S` training simulations as the
validation set, the same in every run; :attr:`GridTraining.val_source` says which (a run logs it).
``max_train`` then keeps the first N of the remaining simulations, and ``max_val`` the first N of
the validation ones (validating on every one of them costs a CPU run minutes an epoch on the full
cards).

**Normalisation.** From the training split's statistics (:func:`fieldlab.catalog.open_statistics`):
field :math:`c` enters a network as :math:`(u_c - \mu_c) / \sigma_c` and its one-frame increment
as :math:`(u_{c,t+1} - u_{c,t}) / \sigma_{\Delta c}` (the statistics' ``<field>_delta``).

**Boundaries.** A dataset's grid is periodic when its system declares so for its parameters
(``System.periodic``: the torus always, diffusion with a periodic ``boundary``); otherwise it is
bounded by walls (read from the dataset's ``simulator`` and ``params`` attributes).

Shapes: trajectories ``(S, T, ny, nx, C)``; pairs ``(S', ny, nx, C)`` for
``S' = S (t_h - 1 - t_0)``; static inputs ``(ny, nx, C_s)``.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import xarray as xr

from fieldlab.catalog import load_card, open_dataset, open_statistics
from fieldlab.errors import TrainingError
from fieldlab.models.mesh_graph import Mesh
from fieldlab.simulators import SYSTEMS, resolve_params
from fieldlab.training.config import TrainConfig
from fieldlab.training.task import task_frames

PathLike = str | os.PathLike[str]

VAL_FRACTION = 0.1
"""Share of the training simulations held out for validation when a card has no val split."""

_STATE_DIMS = ("sim", "time", "y", "x")


def is_periodic(simulator: str, params: Mapping[str, Any]) -> bool:
    """Whether a grid of ``simulator`` with ``params`` wraps around (see the module docstring)."""
    system = SYSTEMS[simulator]
    return system.periodic(resolve_params(system, params))


@dataclass(frozen=True)
class GridTask:
    """What a grid forecaster of one dataset reads, predicts and is scored on."""

    dataset: str
    fields: tuple[str, ...]
    statics: tuple[str, ...]
    mesh: Mesh
    start: int
    """:math:`t_0`, the frame rollouts start from."""
    horizon_stop: int
    """:math:`t_h`, the first frame outside the training horizon."""
    stop: int
    """:math:`T`, one past the last frame scored."""
    mean: tuple[float, ...]
    std: tuple[float, ...]
    delta_std: tuple[float, ...]
    domain: str = "plane"
    """The manifold of the grid (``System.domain``): ``plane``, ``torus`` or ``sphere`` (whose
    ``y``, ``x`` are latitude and longitude in radians)."""

    @property
    def channels(self) -> int:
        return len(self.fields)


@dataclass(frozen=True)
class GridPairs:
    """One-step pairs of a split: ``state`` :math:`u_t` and ``target`` :math:`u_{t+1}`,
    ``(S, ny, nx, C)`` each, in physical units."""

    dataset: str
    split: str
    state: torch.Tensor
    target: torch.Tensor

    def __len__(self) -> int:
        return self.state.shape[0]

    def subset(self, index: torch.Tensor) -> GridPairs:
        """The pairs at ``index`` (a 1-D index tensor)."""
        return GridPairs(self.dataset, self.split, self.state[index], self.target[index])


@dataclass(frozen=True)
class GridTraining:
    """Everything a grid training run reads: the task, its pairs and a few validation fields."""

    task: GridTask
    train: GridPairs
    val: GridPairs
    val_fields: np.ndarray
    """``(S_val, T, ny, nx, C)`` whole validation trajectories, for figures."""
    static: np.ndarray
    """``(ny, nx, C_s)`` static inputs (``C_s = 0`` when the dataset has none)."""
    val_source: str
    """Where validation comes from: ``val`` or ``train[a:b]`` (held-out simulations)."""


def _state_fields(ds: xr.Dataset) -> tuple[tuple[str, ...], tuple[str, ...]]:
    fields = tuple(str(n) for n, v in ds.data_vars.items() if v.dims == _STATE_DIMS)
    statics = tuple(str(n) for n, v in ds.data_vars.items() if v.dims == ("y", "x"))
    if not fields:
        raise TrainingError(
            f"dataset {ds.attrs.get('dataset', '?')!r} has no scalar field of dimensions "
            f"{_STATE_DIMS}; grid forecasters need one (its variables: "
            f"{', '.join(map(str, ds.data_vars))})"
        )
    return fields, statics


def grid_task(name: str, *, data_root: PathLike | None = None) -> GridTask:
    """The :class:`GridTask` of grid dataset ``name`` (from its card, train split and statistics).

    Raises:
        TrainingError: ``name`` is not a grid dataset, has no task, or lacks statistics.
    """
    card = load_card(name)
    if SYSTEMS[card.simulator].kind != "grid":
        raise TrainingError(
            f"dataset {name!r} holds particle trajectories (simulator {card.simulator}), not grid "
            "fields"
        )
    ds = open_dataset(name, "train", data_root=data_root, dask=False)
    frames = task_frames(card, ds.sizes["time"])
    if frames.horizon != 1:
        raise TrainingError(
            f"dataset {name!r}: grid forecasters step one saved frame, but its task's target lies "
            f"{frames.horizon} frames after its input"
        )
    assert card.task is not None  # task_frames refuses a card without one
    start, stop = card.task.context.start, card.task.target.stop
    fields, statics = _state_fields(ds)
    stats = open_statistics(name, data_root=data_root)
    missing = [k for f in fields for k in (f, f"{f}_delta") if k not in stats]
    if missing:
        raise TrainingError(
            f"dataset {name!r} has no normalisation statistics for {', '.join(missing)}; "
            f"regenerate it with `fieldlab generate {name}`"
        )
    simulator, params = str(ds.attrs["simulator"]), ds.attrs.get("params", {})
    mesh = Mesh.from_coords(ds["x"].values, ds["y"].values, periodic=is_periodic(simulator, params))
    system = SYSTEMS[simulator]
    return GridTask(
        dataset=name,
        fields=fields,
        statics=statics,
        mesh=mesh,
        start=start,
        horizon_stop=start + (stop - start) // 2,
        stop=stop,
        mean=tuple(float(stats[f]["mean"]) for f in fields),
        std=tuple(float(stats[f]["std"]) or 1.0 for f in fields),
        delta_std=tuple(float(stats[f"{f}_delta"]["std"]) or 1.0 for f in fields),
        domain=str(system.domain(resolve_params(system, params))),
    )


def load_fields(
    task: GridTask,
    split: str,
    *,
    data_root: PathLike | None = None,
    sims: slice = slice(None),
    dataset: str | None = None,
) -> np.ndarray:
    """``(S, T, ny, nx, C)`` trajectories (float64) of ``task``'s state fields in ``split``.

    ``dataset`` reads another dataset with the same fields (default: the task's own).
    """
    name = dataset or task.dataset
    ds = open_dataset(name, split, data_root=data_root, dask=False).isel(sim=sims)
    missing = [f for f in task.fields if f not in ds.data_vars]
    if missing:
        raise TrainingError(
            f"dataset {name!r} has no field {', '.join(missing)}; the forecaster predicts "
            f"{', '.join(task.fields)}"
        )
    return np.stack([ds[f].values for f in task.fields], axis=-1)


def load_static(task: GridTask, *, data_root: PathLike | None = None) -> np.ndarray:
    """``(ny, nx, C_s)`` static inputs of ``task`` (``C_s = 0`` without any)."""
    if not task.statics:
        return np.zeros((task.mesh.ny, task.mesh.nx, 0))
    ds = open_dataset(task.dataset, "train", data_root=data_root, dask=False)
    return np.stack([ds[s].values for s in task.statics], axis=-1)


def one_step_pairs(
    fields: np.ndarray, task: GridTask, split: str, dtype: torch.dtype = torch.float32
) -> GridPairs:
    """The pairs :math:`(u_t, u_{t+1})` inside the training horizon of trajectories ``fields``."""
    t = np.arange(task.start, task.horizon_stop - 1)
    shape = (-1, *fields.shape[2:])
    return GridPairs(
        task.dataset,
        split,
        torch.as_tensor(fields[:, t].reshape(shape), dtype=dtype),
        torch.as_tensor(fields[:, t + 1].reshape(shape), dtype=dtype),
    )


def held_out(n_sims: int) -> int:
    """How many of ``n_sims`` training simulations validate when there is no val split."""
    return max(1, math.ceil(VAL_FRACTION * n_sims))


def training_fields(
    name: str,
    *,
    data_root: PathLike | None = None,
    limit: int | None = None,
    val_limit: int | None = None,
) -> tuple[GridTask, np.ndarray, np.ndarray, str]:
    """``(task, train, val, val_source)``: whole trajectories ``(S, T, ny, nx, C)`` of the
    training and validation simulations of grid dataset ``name`` (see the module docstring);
    ``limit`` keeps the first N training simulations and ``val_limit`` the first N validation
    ones (``val_source`` names those read: ``val``, ``val[0:N]`` or ``train[a:b]``)."""
    task = grid_task(name, data_root=data_root)
    card = load_card(name)
    if "val" in card.splits:
        train = load_fields(task, "train", data_root=data_root, sims=slice(0, limit))
        n_val = card.splits["val"].n_sims
        stop = n_val if val_limit is None else min(val_limit, n_val)
        val = load_fields(task, "val", data_root=data_root, sims=slice(0, stop))
        return task, train, val, "val" if stop == n_val else f"val[0:{stop}]"
    n = card.splits["train"].n_sims
    if n < 2:
        raise TrainingError(
            f"dataset {name!r} has no val split and only {n} training simulation; hold-out "
            "validation needs at least 2"
        )
    first_val = n - held_out(n)
    stop = first_val if limit is None else min(limit, first_val)
    val_stop = n if val_limit is None else min(n, first_val + val_limit)
    train = load_fields(task, "train", data_root=data_root, sims=slice(0, stop))
    val = load_fields(task, "train", data_root=data_root, sims=slice(first_val, val_stop))
    return task, train, val, f"train[{first_val}:{val_stop}]"


def load_grid_training(
    name: str,
    *,
    data_root: PathLike | None = None,
    limit: int | None = None,
    val_limit: int | None = None,
    dtype: torch.dtype = torch.float32,
) -> GridTraining:
    """The training and validation pairs of grid dataset ``name`` (see the module docstring)."""
    task, train, val, source = training_fields(
        name, data_root=data_root, limit=limit, val_limit=val_limit
    )
    return GridTraining(
        task,
        one_step_pairs(train, task, "train", dtype),
        one_step_pairs(val, task, source, dtype),
        val,
        load_static(task, data_root=data_root),
        source,
    )


MAX_BATCH_NODES = 2**15
"""Most grid points in one training batch (bounds the memory of the per-edge activations)."""


def cap_batch_size(config: TrainConfig, mesh: Mesh) -> TrainConfig:
    """``config`` with ``batch_size`` lowered, with a warning, so that a batch of fields on
    ``mesh`` holds at most :data:`MAX_BATCH_NODES` grid points: every field is thousands of
    nodes, and the particle default of 100 would need tens of GB."""
    fits = max(1, MAX_BATCH_NODES // mesh.n_nodes)
    if config.batch_size <= fits:
        return config
    warnings.warn(
        f"dataset {config.dataset!r}: batch_size {config.batch_size} fields of "
        f"{mesh.ny} x {mesh.nx} points exceeds {MAX_BATCH_NODES} grid points; "
        f"training with batch_size {fits}",
        stacklevel=4,  # the caller of grid.problem.Problem
    )
    return config.with_updates(batch_size=fits)
