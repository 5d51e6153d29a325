"""Score and draw a field model's discovered field while it trains, into the active MLflow run.

At every validation the learned field is scored against the simulator's true field on positions
the validation trajectories visit (:func:`~fieldlab.fields.score.score_field`), as metrics
``field_cosine``, ``field_mse``, ``field_relative_error``; every ``figure_every`` validations the
figures ``fields/true``, ``fields/learned`` and ``fields/error`` are logged with their step, so
MLflow's image view slides through training and the same keys line up across runs.

Fields that differ per simulation (``gravitational-field``) are scored on one validation simulation
using the latent code of its observed context; velocity-dependent fields (``lorentz``) are scored
at the visited positions with the velocities observed there.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from torch import nn

from fieldlab.fields.figures import field_figure
from fieldlab.fields.learned import learned_field
from fieldlab.fields.region import FieldRegion, visited_region
from fieldlab.fields.score import FieldScore, score_field
from fieldlab.fields.truth import true_field


def cap_norm(f: np.ndarray, cap: float) -> np.ndarray:
    """Scale every vector of ``f (M, D)`` whose norm exceeds ``cap`` down to that norm."""
    n = np.linalg.norm(f, axis=-1, keepdims=True)
    return f * np.minimum(1.0, cap / np.maximum(n, 1e-300))


@dataclass
class FieldMonitor:
    """The truth of one dataset, ready to score models against.

    Attributes:
        system, params: the simulator and its resolved parameters.
        region: sample points and the figure grid over the visited region.
        velocity: velocities observed at ``region.points`` (for velocity-dependent fields).
    """

    system: str
    params: Mapping[str, Any]
    region: FieldRegion
    velocity: np.ndarray

    @classmethod
    def from_trajectories(
        cls, system: str, params: Mapping[str, Any], position: np.ndarray, velocity: np.ndarray
    ) -> FieldMonitor:
        """From validation trajectories ``(S, T, P, D)`` of a system with a shared field."""
        region = visited_region(position, seed=0)
        observed_v = velocity.reshape(-1, velocity.shape[-1])[region.index]
        return cls(system, dict(params), region, observed_v)

    def _truth(self, points: np.ndarray, velocity: np.ndarray | None) -> np.ndarray:
        return true_field(self.system, self.params, points, velocity=velocity)

    def score(self, model: nn.Module) -> FieldScore:
        """Scores at the visited points, both fields capped in norm at the simulator's force cap
        (a particle never feels more, so larger field values cannot be observed)."""
        v = self.velocity if self.system == "lorentz" else None
        learned = learned_field(model, self.region.points, velocity=v)
        true = self._truth(self.region.points, v)
        cap = self.params.get("max_force")
        if cap is not None:
            learned, true = cap_norm(learned, cap), cap_norm(true, cap)
        return score_field(learned, true)

    def on_grid(self, model: nn.Module) -> tuple[np.ndarray, np.ndarray]:
        """True and learned fields on the region's grid, ``(G * G, D)`` each.

        For the Lorentz force the fields are drawn for a unit velocity along x (``v x B``).
        """
        pts = self.region.grid_points
        v = None
        if self.system == "lorentz":
            v = np.broadcast_to(np.eye(pts.shape[1])[0], pts.shape)
        return self._truth(pts, v), learned_field(model, pts, velocity=v)

    def figures(self, model: nn.Module) -> dict[str, Any]:
        """``fields/true``, ``fields/learned`` and ``fields/error`` on the region's grid."""
        true, learned = self.on_grid(model)
        return {
            "fields/true": field_figure(self.region, true, f"{self.system}: true field"),
            "fields/learned": field_figure(self.region, learned, "learned field"),
            "fields/error": field_figure(self.region, learned - true, "learned - true"),
        }
