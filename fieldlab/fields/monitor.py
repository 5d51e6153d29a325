"""Score and draw a field model's discovered field while it trains, into the active MLflow run.

At every validation the learned field is scored against the simulator's true field on positions
the validation trajectories visit (:func:`~fieldlab.fields.score.score_field`), as metrics
``field_cosine``, ``field_mse``, ``field_relative_error``; every ``figure_every`` validations the
figures ``fields/true``, ``fields/learned`` and ``fields/error`` are logged with their step, so
MLflow's image view slides through training and the same keys line up across runs.

Velocity-dependent fields (``System.field_needs_velocity``, e.g. ``lorentz``) are scored at the
visited positions with the velocities observed there. Fields that differ per simulation
(``System.field_scope == "per_simulation"``, e.g. a source placed anew in each) are scored by :class:`SimulationFieldMonitor`: each validation simulation's learned field,
conditioned on the frames it showed before the forecast, against its own true field at the
positions it visited; the scores are averaged over simulations. :func:`field_monitor` picks the
monitor a system and model call for.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from torch import nn

from fieldlab.catalog import open_dataset
from fieldlab.fields.learned import conditioned_field, learned_field
from fieldlab.fields.region import FieldRegion, visited_region
from fieldlab.fields.score import FieldScore, score_field
from fieldlab.fields.truth import true_field
from fieldlab.simulators import get_system
from fieldlab.viz.fields import field_figure, field_summary_figure


class Trajectories(Protocol):
    """Validation trajectories: ``position``, ``velocity`` ``(S, T, P, D)`` and, for a field drawn
    per simulation, each simulation's ``source_position`` ``(S, K, D)``."""

    dataset: str
    position: np.ndarray
    velocity: np.ndarray
    source_position: np.ndarray | None


def cap_norm(f: np.ndarray, cap: float) -> np.ndarray:
    """Scale every vector of ``f (M, D)`` whose norm exceeds ``cap`` down to that norm."""
    n = np.linalg.norm(f, axis=-1, keepdims=True)
    return f * np.minimum(1.0, cap / np.maximum(n, 1e-300))


def _figures(
    region: FieldRegion,
    true: np.ndarray,
    learned: np.ndarray,
    title: str,
    *,
    sources: np.ndarray | None,
    with_truth: bool,
) -> dict[str, Any]:
    """``fields/learned``, ``fields/error`` and, ``with_truth``, ``fields/true`` on the region's
    grid."""
    g, seen = region.grid, region.visited
    out = {
        "fields/learned": field_figure(
            g, seen, learned, f"learned field, {title}", sources=sources
        ),
        "fields/error": field_figure(
            g, seen, learned - true, f"|learned - true|, {title}", error=True, sources=sources
        ),
    }
    if with_truth:
        out["fields/true"] = field_figure(g, seen, true, "true field", sources=sources)
    return out


def _summary(
    region: FieldRegion,
    true: np.ndarray,
    learned: np.ndarray,
    score: FieldScore,
    title: str,
    sources: np.ndarray | None,
) -> Any:
    """True | learned | error in one figure, ``title`` followed by the scores."""
    line = f"cosine {score.cosine:.3f}, relative error {score.relative_error:.3f}"
    return field_summary_figure(
        region.grid, region.visited, true, learned, title=f"{title}\n{line}", sources=sources
    )


@dataclass
class FieldMonitor:
    """The truth of one dataset, ready to score models against.

    Attributes:
        system, params: the simulator and its resolved parameters.
        region: sample points and the figure grid over the visited region.
        velocity: velocities observed at ``region.points`` (for velocity-dependent fields).
        sources: ``(K, D)`` the field's sources, where the dataset stores them (marked on figures).
    """

    system: str
    params: Mapping[str, Any]
    region: FieldRegion
    velocity: np.ndarray
    sources: np.ndarray | None = None

    @classmethod
    def from_trajectories(
        cls,
        system: str,
        params: Mapping[str, Any],
        position: np.ndarray,
        velocity: np.ndarray,
        sources: np.ndarray | None = None,
    ) -> FieldMonitor:
        """From validation trajectories ``(S, T, P, D)`` of a system with a shared field, and
        its sources ``(K, D)`` if known."""
        region = visited_region(position, seed=0)
        observed_v = velocity.reshape(-1, velocity.shape[-1])[region.index]
        return cls(system, dict(params), region, observed_v, sources)

    def _truth(self, points: np.ndarray, velocity: np.ndarray | None) -> np.ndarray:
        return true_field(self.system, self.params, points, velocity=velocity)

    def score(self, model: nn.Module) -> FieldScore:
        """Scores at the visited points, both fields capped in norm at the simulator's force cap
        (a particle never feels more, so larger field values cannot be observed)."""
        v = self.velocity if get_system(self.system).field_needs_velocity else None
        learned = learned_field(model, self.region.points, velocity=v)
        true = self._truth(self.region.points, v)
        cap = self.params.get("max_force")
        if cap is not None:
            learned, true = cap_norm(learned, cap), cap_norm(true, cap)
        return score_field(learned, true)

    def on_grid(self, model: nn.Module) -> tuple[np.ndarray, np.ndarray]:
        """True and learned fields on the region's grid, ``(G * G, D)`` each.

        A velocity-dependent force (``v x B``) is drawn for a unit velocity along x.
        """
        pts = self.region.grid_points
        v = None
        if get_system(self.system).field_needs_velocity:
            v = np.broadcast_to(np.eye(pts.shape[1])[0], pts.shape)
        return self._truth(pts, v), learned_field(model, pts, velocity=v)

    def figures(self, model: nn.Module, title: str, *, with_truth: bool = True) -> dict[str, Any]:
        """``fields/learned``, ``fields/error`` and (``with_truth``) ``fields/true`` on the
        region's grid; ``title`` says when (``epoch 10``)."""
        true, learned = self.on_grid(model)
        return _figures(
            self.region, true, learned, title, sources=self.sources, with_truth=with_truth
        )

    def summary_figure(self, model: nn.Module, title: str) -> Any:
        """True | learned | error of ``model`` side by side, ``title`` followed by its scores."""
        true, learned = self.on_grid(model)
        return _summary(self.region, true, learned, self.score(model), title, self.sources)


@dataclass
class SimulationFieldMonitor:
    """The truth of each of a few validation simulations whose field differs per simulation.

    Attributes:
        system, params: the simulator and its resolved parameters.
        points: ``(S, M, D)`` positions each simulation visited from its first forecast frame on.
        context: ``(S, P, C, 2 D)`` the ``C`` frames each simulation showed before it.
        source_position: ``(S, K, D)`` each simulation's field sources.
        region: simulation 0's sample points and figure grid.
    """

    system: str
    params: Mapping[str, Any]
    points: np.ndarray
    context: np.ndarray
    source_position: np.ndarray
    region: FieldRegion

    @classmethod
    def from_trajectories(
        cls, system: str, params: Mapping[str, Any], traj: Trajectories, context_frames: int
    ) -> SimulationFieldMonitor:
        """From validation trajectories with their sources; frames before ``context_frames``
        condition the field, the frames from there on are where it is judged."""
        if traj.source_position is None:
            raise ValueError(
                f"dataset {traj.dataset!r} stores no per-simulation source_position to score "
                "its fields against"
            )
        n = context_frames
        pos, vel = traj.position, traj.velocity
        context = np.concatenate([pos[:, :n], vel[:, :n]], axis=-1).transpose(0, 2, 1, 3)
        visited = pos[:, n:].reshape(pos.shape[0], -1, pos.shape[-1])
        return cls(
            system, dict(params), visited, context, traj.source_position, visited_region(pos[0])
        )

    def _truth(self, sim: int, points: np.ndarray) -> np.ndarray:
        return true_field(
            self.system, self.params, points, source_position=self.source_position[sim]
        )

    def score(self, model: nn.Module) -> FieldScore:
        """The mean over simulations of each simulation's scores at the points it visited."""
        learned = conditioned_field(model, self.points, self.context)
        scores = [
            score_field(learned[b], self._truth(b, self.points[b])) for b in range(len(learned))
        ]
        return FieldScore(
            mse=float(np.mean([s.mse for s in scores])),
            cosine=float(np.mean([s.cosine for s in scores])),
            relative_error=float(np.mean([s.relative_error for s in scores])),
        )

    def on_grid(self, model: nn.Module) -> tuple[np.ndarray, np.ndarray]:
        """Simulation 0's true and learned fields on its region's grid, ``(G * G, D)`` each."""
        pts = self.region.grid_points
        learned = conditioned_field(model, pts[None], self.context[:1])[0]
        return self._truth(0, pts), learned

    def figures(self, model: nn.Module, title: str, *, with_truth: bool = True) -> dict[str, Any]:
        """``fields/learned``, ``fields/error`` and (``with_truth``) ``fields/true`` of
        validation simulation 0."""
        true, learned = self.on_grid(model)
        return _figures(
            self.region, true, learned, f"{title}, simulation 0",
            sources=self.source_position[0], with_truth=with_truth,
        )  # fmt: skip

    def summary_figure(self, model: nn.Module, title: str) -> Any:
        """True | learned | error of validation simulation 0 side by side, with the scores."""
        true, learned = self.on_grid(model)
        return _summary(
            self.region, true, learned, self.score(model), f"{title} (validation simulation 0)",
            self.source_position[0],
        )  # fmt: skip


def shared_sources(dataset: str, data_root: str | os.PathLike[str] | None) -> np.ndarray | None:
    """The sources ``(K, D)`` of a dataset's one shared field, where it stores them."""
    ds = open_dataset(dataset, "val", data_root=data_root, dask=False)
    src = ds.get("source_position")
    return None if src is None or src.ndim != 2 else np.asarray(src.values, dtype=np.float64)


def field_monitor(
    system: str,
    params: Mapping[str, Any],
    traj: Trajectories,
    *,
    context_frames: int = 0,
    sources: np.ndarray | None = None,
) -> FieldMonitor | SimulationFieldMonitor | None:
    """The monitor for a field model on validation trajectories ``traj`` of ``system``.

    A shared field is scored on the positions all of ``traj`` visits; a per-simulation field
    needs a model conditioned on ``context_frames > 0`` observed frames. ``sources`` ``(K, D)``
    of a shared field are marked on its figures (:func:`shared_sources`). None where there is no
    truth to score against (no field, or a per-simulation field learned as a shared one).
    """
    scope = get_system(system).field_scope
    if scope == "shared":
        if sources is None and traj.source_position is not None:
            sources = traj.source_position[0]
        return FieldMonitor.from_trajectories(system, params, traj.position, traj.velocity, sources)
    if scope == "per_simulation" and context_frames > 0:
        return SimulationFieldMonitor.from_trajectories(system, params, traj, context_frames)
    return None
