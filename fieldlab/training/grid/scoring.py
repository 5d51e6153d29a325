r"""Score a grid forecaster by autoregressive rollout on a dataset's test split.

From frame :math:`t_0` of every test simulation the forecaster is fed its own predictions, one
saved frame per step, up to frame :math:`T - 1` (:mod:`fieldlab.training.grid.data`: 0 -> 1..19).
Per simulation :math:`s` and frame :math:`k`, over grid points and fields, in physical units:

.. math::
    e_{s,k} = \operatorname{mean} (\hat u - u)^2, \qquad
    \mathrm{nRMSE}_{s,k} = \frac{\lVert \hat u - u \rVert_2}{\lVert u \rVert_2}, \qquad
    \mathrm{VRMSE}_{s,k} = \sqrt{\frac{\operatorname{mean} (\hat u - u)^2}
        {\operatorname{mean} (u - \bar u)^2 + \epsilon}}

(:math:`\bar u` the spatial mean of the true field, :math:`\epsilon = 10^{-7}`; VRMSE is 1 for a
forecast of the spatial mean, nRMSE 1 for a forecast of zero). Each is averaged over simulations,
then over the frames inside the training horizon (:math:`t_0 < k < t_h`) and outside it
(:math:`k \ge t_h`): ``mse_inside``, ``mse_outside``, ``nrmse_inside``, ... ``mse`` is the
one-step error from the true :math:`u_{t_0}` (frame :math:`t_0 + 1`). The same numbers for
*persistence* (:math:`\hat u_k = u_{t_0}`, the trivial baseline) come beside them
(``persistence_mse_inside``, ...).

Curves per frame: ``rollout_mse``, ``rollout_nrmse`` and ``persistence_rollout_mse``; figures:
``rollout_mse.png`` and ``test_fields.png`` (true against predicted fields of simulation 0).

**Sparse observations** (ENF only: a neural field reads any set of points). For each fraction
:math:`f` of the model's ``observed_fractions`` the initial latents are fitted on
:math:`\max(1, \operatorname{round}(f M))` of the :math:`M` grid points of frame :math:`t_0`,
drawn without replacement by a generator seeded with ``seed`` (the same points for every
simulation), and the forecast is queried and scored at every point, as above:
``observed_<100 f>/mse_inside``, ``observed_10/nrmse_outside``, ...
"""

from __future__ import annotations

import os

import numpy as np
import torch
from matplotlib.figure import Figure

from fieldlab.errors import TrainingError
from fieldlab.models import Mesh
from fieldlab.training.grid.data import GridTask, grid_task, load_fields
from fieldlab.training.grid.enf import GridENF
from fieldlab.training.grid.forecaster import GridForecaster
from fieldlab.training.problem import Scores
from fieldlab.viz.curves import rollout_error_figure
from fieldlab.viz.grid_forecasts import field_rollout_figure

PathLike = str | os.PathLike[str]

VRMSE_EPS = 1e-7


def check_compatible(
    model: GridForecaster | GridENF, dataset: str, data_root: PathLike | None
) -> None:
    """The model must predict ``dataset``'s fields on the same grid."""
    check_task(model, grid_task(dataset, data_root=data_root))


def check_task(model: GridForecaster | GridENF, task: GridTask) -> None:
    """The model must predict ``task``'s fields on the same grid."""
    m, g = model.mesh, task.mesh
    if model.fields != task.fields or m != g:

        def describe(fields: tuple[str, ...], mesh: Mesh) -> str:
            wrap = "periodic" if mesh.periodic else "bounded"
            return f"{', '.join(fields)} on a {mesh.ny} x {mesh.nx} {wrap} grid (h = {mesh.hx:g})"

        raise TrainingError(
            f"the model forecasts {describe(model.fields, m)}, but dataset {task.dataset!r} "
            f"holds {describe(task.fields, g)}"
        )


def errors(predicted: np.ndarray, true: np.ndarray) -> dict[str, np.ndarray]:
    """MSE, nRMSE and VRMSE per simulation and frame, ``(S, K)`` each, of fields
    ``(S, K, ny, nx, C)`` (see the module docstring)."""
    axes = (2, 3, 4)
    mse = ((predicted - true) ** 2).mean(axis=axes)
    norm = np.sqrt((true**2).mean(axis=axes))
    variance = ((true - true.mean(axis=(2, 3), keepdims=True)) ** 2).mean(axis=axes)
    return {
        "mse": mse,
        "nrmse": np.sqrt(mse) / np.maximum(norm, 1e-300),
        "vrmse": np.sqrt(mse / (variance + VRMSE_EPS)),
    }


def _inside_outside(
    frames: np.ndarray, curve: np.ndarray, horizon_stop: int
) -> tuple[float, float]:
    inside = (frames > frames[0]) & (frames < horizon_stop)
    outside = frames >= horizon_stop
    mean = [float(curve[m].mean()) if m.any() else float("nan") for m in (inside, outside)]
    return mean[0], mean[1]


def score_rollout(
    predicted: np.ndarray, true: np.ndarray, frames: np.ndarray, horizon_stop: int
) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """Metrics and curves of a rollout ``(S, K + 1, ny, nx, C)`` against the truth, with
    persistence beside it (see the module docstring)."""
    model = {k: v.mean(axis=0) for k, v in errors(predicted, true).items()}
    still = {
        k: v.mean(axis=0) for k, v in errors(np.broadcast_to(true[:, :1], true.shape), true).items()
    }
    metrics = {"mse": float(model["mse"][1])}
    for name, curves in (("", model), ("persistence_", still)):
        for key, curve in curves.items():
            inside, outside = _inside_outside(frames, curve, horizon_stop)
            metrics[f"{name}{key}_inside"] = inside
            metrics[f"{name}{key}_outside"] = outside
    curves = {
        "rollout_mse": model["mse"],
        "rollout_nrmse": model["nrmse"],
        "persistence_rollout_mse": still["mse"],
    }
    return metrics, curves


def observed_points(n_points: int, fraction: float, seed: int) -> np.ndarray:
    """The sorted index of the observed points of one sparse setting (module docstring)."""
    k = max(1, round(fraction * n_points))
    return np.sort(np.random.default_rng(seed).choice(n_points, size=k, replace=False))


def sparse_metrics(
    model: GridENF, true: np.ndarray, frames: np.ndarray, horizon_stop: int, seed: int, batch: int
) -> dict[str, float]:
    """``observed_<100 f>/<metric>`` of forecasts from sparse observations of ``true[:, 0]``."""
    out: dict[str, float] = {}
    for fraction in model.observed_fractions:
        index = torch.as_tensor(observed_points(model.coords.shape[0], fraction, seed))
        index = index.to(model.coords.device)
        roll = model.rollout(true[:, 0], true.shape[1] - 1, batch, observed=index)
        metrics, _ = score_rollout(roll, true, frames, horizon_stop)
        name = f"observed_{100 * fraction:g}"
        out.update({f"{name}/{k}": v for k, v in metrics.items() if "persistence" not in k})
    return out


def score(
    model: GridForecaster | GridENF,
    dataset: str,
    *,
    data_root: PathLike | None = None,
    limit: int | None = None,
    seed: int = 0,
    label: str = "",
    batch_size: int = 8,
) -> Scores:
    """Roll ``model`` out on the first ``limit`` test simulations of ``dataset`` (deterministic;
    ``seed`` draws the observed points of the sparse settings of an ENF)."""
    task = grid_task(dataset, data_root=data_root)
    check_task(model, task)
    fields = load_fields(task, "test", data_root=data_root, sims=slice(0, limit))
    true = fields[:, task.start : task.stop]
    roll = model.rollout(true[:, 0], true.shape[1] - 1, batch_size=batch_size)
    frames = np.arange(task.start, task.stop)
    metrics, curves = score_rollout(roll, true, frames, task.horizon_stop)
    if isinstance(model, GridENF):
        metrics |= sparse_metrics(model, true, frames, task.horizon_stop, seed, batch_size)
    name = label or dataset
    figures = {
        "rollout_mse.png": rollout_error_figure(
            frames,
            {"model": curves["rollout_mse"], "persistence": curves["persistence_rollout_mse"]},
            title=f"{name} test: rollout MSE from frame {int(frames[0])}",
            horizon_stop=task.horizon_stop,
        ),
        "test_fields.png": fields_figure(
            true, roll, task, f"{name} test, simulation 0: {task.fields[0]}, true vs rollout"
        ),
    }
    return Scores(metrics, curves, frames, figures)


def fields_figure(true: np.ndarray, predicted: np.ndarray, task: GridTask, title: str) -> Figure:
    """The first field of simulation 0 of ``true`` and ``predicted`` ``(S, K + 1, ny, nx, C)``
    (frames ``t_0 .. T - 1``) side by side, the training horizon marked."""
    return field_rollout_figure(
        true[0, ..., 0],
        predicted[0, ..., 0],
        np.arange(task.start, task.stop),
        extent=task.mesh.extent,
        horizon_stop=task.horizon_stop,
        title=title,
    )
