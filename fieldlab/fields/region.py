"""The region the particles visit: where a discovered field can be judged at all.

A field is only constrained where particles went, so scores and figures use (a) a random sample of
the positions actually visited and (b) a regular grid over the central 98% of the visited range,
masked to the cells particles entered. 3-D systems are drawn on the slice through the median of
the last coordinate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class FieldRegion:
    """Sample points ``(M, D)`` (rows ``index`` of the flattened positions), a grid
    ``(G, G, D)`` and its visited mask ``(G, G)``."""

    points: np.ndarray
    grid: np.ndarray
    visited: np.ndarray
    index: np.ndarray

    @property
    def grid_points(self) -> np.ndarray:
        """The grid flattened to ``(G * G, D)``."""
        return self.grid.reshape(-1, self.grid.shape[-1])


def visited_region(
    position: np.ndarray, n_points: int = 2000, grid_size: int = 24, seed: int = 0
) -> FieldRegion:
    """From positions ``(..., D)`` of any leading shape (e.g. sim, time, particle)."""
    pts = np.asarray(position, dtype=np.float64).reshape(-1, position.shape[-1])
    rng = np.random.default_rng(seed)
    index = rng.choice(len(pts), size=min(n_points, len(pts)), replace=False)
    sample = pts[index]
    lo, hi = np.percentile(pts[:, :2], [1, 99], axis=0)
    axes = [np.linspace(lo[k], hi[k], grid_size) for k in range(2)]
    gx, gy = np.meshgrid(*axes, indexing="xy")
    grid = np.stack([gx, gy], axis=-1)
    if pts.shape[1] == 3:
        z = np.full((*gx.shape, 1), np.median(pts[:, 2]))
        grid = np.concatenate([grid, z], axis=-1)
    ix = np.clip(np.searchsorted(axes[0], pts[:, 0]), 0, grid_size - 1)
    iy = np.clip(np.searchsorted(axes[1], pts[:, 1]), 0, grid_size - 1)
    visited = np.zeros((grid_size, grid_size), dtype=bool)
    visited[iy, ix] = True
    return FieldRegion(points=sample, grid=grid, visited=visited, index=index)
