"""Field figures: true, learned and error quivers over the visited region, and run comparisons.

Every panel is drawn on the same grid ``(G, G, D)`` over the region particles visited
(:class:`~fieldlab.fields.region.FieldRegion`), arrows
normalised to unit length and coloured by magnitude (log scale, since Coulomb fields span decades),
unvisited cells greyed out. Names follow the MLflow convention ``fields/true``, ``fields/learned``,
``fields/error`` so the UI lines runs up. Figures are :class:`~matplotlib.figure.Figure` objects
without pyplot's registry, so a run that draws them every few epochs does not accumulate them.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure


def _quiver(
    ax: Axes, grid: np.ndarray, visited: np.ndarray, vectors: np.ndarray, title: str
) -> None:
    g = grid
    vec = vectors.reshape(*g.shape[:2], -1)[..., :2]
    mag = np.linalg.norm(vec, axis=-1)
    unit = vec / np.maximum(mag, 1e-12)[..., None]
    norm = LogNorm(vmin=max(np.percentile(mag, 2), 1e-6), vmax=max(mag.max(), 1e-5))
    spacing = abs(g[0, 1, 0] - g[0, 0, 0]) or 1.0  # arrows 0.8 grid spacings long
    ax.quiver(
        g[..., 0],
        g[..., 1],
        unit[..., 0],
        unit[..., 1],
        np.clip(mag, norm.vmin, None),
        norm=norm,
        cmap="viridis",
        pivot="mid",
        angles="xy",
        scale_units="xy",
        scale=1.0 / (0.8 * spacing),
        width=0.004,
    )
    ax.contourf(g[..., 0], g[..., 1], ~visited, levels=[0.5, 1.5], colors=["0.85"], alpha=0.6)
    ax.set_title(title, fontsize=9)
    ax.set_aspect("equal")
    ax.tick_params(labelsize=7)


def field_figure(grid: np.ndarray, visited: np.ndarray, vectors: np.ndarray, title: str) -> Figure:
    """One quiver panel of ``vectors`` ``(G * G, D)`` on ``grid`` ``(G, G, D)``; cells outside
    ``visited`` ``(G, G)`` are greyed out."""
    fig = Figure(figsize=(4.2, 4.0), layout="constrained")
    _quiver(fig.subplots(), grid, visited, vectors, title)
    return fig


def comparison_figure(
    grid: np.ndarray,
    visited: np.ndarray,
    true: np.ndarray,
    learned: Mapping[str, tuple[np.ndarray, str]],
    title: str = "",
) -> Figure:
    """The true field beside each run's learned field ``{name: (vectors, scores line)}``."""
    n = 1 + len(learned)
    cols = min(n, 4)
    rows = -(-n // cols)
    fig = Figure(figsize=(3.6 * cols, 3.6 * rows), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False)
    _quiver(axes.flat[0], grid, visited, true, "true field")
    for ax, (name, (vec, scores)) in zip(list(axes.flat)[1:], learned.items(), strict=False):
        _quiver(ax, grid, visited, vec, f"{name}\n{scores}")
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    if title:
        fig.suptitle(title)
    return fig
