"""Field figures: true, learned and error maps over the visited region, and run comparisons.

Every panel is drawn on the same grid ``(G, G, D)`` over the region particles visited
(:class:`~fieldlab.fields.region.FieldRegion`): a field as arrows of unit length coloured by
magnitude (log scale, since Coulomb fields span decades, with a colour bar), an error as a map of
``|learned - true|`` (linear scale, its own colour bar); unvisited cells are greyed out and field
sources, where known, marked. Simulations run in nondimensional units, which the axis labels say.

Names follow the MLflow convention ``fields/true``, ``fields/learned``, ``fields/error`` so the
UI lines runs up; :func:`field_summary_figure` puts the three side by side for one run, the figure
that MLflow's run comparison shows beside another run's. Figures are drawn at a size that stays
readable in MLflow's image cards, as :class:`~matplotlib.figure.Figure` objects without pyplot's
registry, so a run that draws them every few epochs does not accumulate them.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.colors import LogNorm, Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

LENGTH = "simulation length units"
FIELD_LABEL = "|field| (force per unit charge or mass)"
ERROR_LABEL = "|learned - true|"
DPI = 80
"""Pixels per inch of logged figures: a 4-inch panel is 320 pixels, as wide as an MLflow card."""


def _magnitude(grid: np.ndarray, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The in-plane vectors ``(G, G, 2)`` on ``grid`` and their norms ``(G, G)``."""
    vec = vectors.reshape(*grid.shape[:2], -1)[..., :2]
    return vec, np.linalg.norm(vec, axis=-1)


def field_norm(*fields: np.ndarray) -> LogNorm:
    """One logarithmic colour scale for the magnitudes of every field ``(M, D)`` given."""
    mag = np.concatenate([np.linalg.norm(f, axis=-1).ravel() for f in fields])
    return LogNorm(vmin=max(np.percentile(mag, 2), 1e-6), vmax=max(mag.max(), 1e-5))


def _frame(ax: Axes, grid: np.ndarray, visited: np.ndarray, sources: np.ndarray | None) -> None:
    """Grey out unvisited cells, mark the sources, label the axes."""
    g = grid
    ax.contourf(g[..., 0], g[..., 1], ~visited, levels=[0.5, 1.5], colors=["0.85"], alpha=0.6)
    if sources is not None and len(sources):
        lo, hi = g[..., :2].reshape(-1, 2).min(0), g[..., :2].reshape(-1, 2).max(0)
        inside = np.all((sources[:, :2] >= lo) & (sources[:, :2] <= hi), axis=1)
        s = sources[inside]
        ax.plot(s[:, 0], s[:, 1], "r*", ms=9, mec="k", mew=0.5, ls="")
    ax.set_aspect("equal")
    ax.set_xlabel(f"x ({LENGTH})", fontsize=8)
    ax.set_ylabel(f"y ({LENGTH})", fontsize=8)
    ax.tick_params(labelsize=7)


def _quiver(
    ax: Axes,
    grid: np.ndarray,
    visited: np.ndarray,
    vectors: np.ndarray,
    title: str,
    *,
    norm: LogNorm | None = None,
    sources: np.ndarray | None = None,
) -> ScalarMappable:
    """Arrows of unit length coloured by magnitude on ``norm`` (default: this field's own)."""
    g = grid
    vec, mag = _magnitude(g, vectors)
    norm = norm or field_norm(vectors)
    unit = vec / np.maximum(mag, 1e-12)[..., None]
    spacing = abs(g[0, 1, 0] - g[0, 0, 0]) or 1.0  # arrows 0.8 grid spacings long
    q = ax.quiver(
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
        width=0.005,
    )
    _frame(ax, g, visited, sources)
    ax.set_title(title, fontsize=10)
    return q


def _error_map(
    ax: Axes,
    grid: np.ndarray,
    visited: np.ndarray,
    error: np.ndarray,
    title: str,
    *,
    sources: np.ndarray | None = None,
    vmax: float | None = None,
) -> ScalarMappable:
    """``|error|`` as a colour map on the grid (linear, from 0)."""
    g = grid
    _, mag = _magnitude(g, error)
    top = (
        vmax
        if vmax is not None
        else float(np.percentile(mag[visited] if visited.any() else mag, 98))
    )
    mesh = ax.pcolormesh(
        g[..., 0], g[..., 1], mag, shading="nearest", cmap="magma",
        norm=Normalize(0.0, max(top, 1e-12)),
    )  # fmt: skip
    _frame(ax, g, visited, sources)
    ax.set_title(title, fontsize=10)
    return mesh


def _source_legend(ax: Axes, sources: np.ndarray | None) -> None:
    if sources is not None and len(sources):
        handle = Line2D([], [], color="r", marker="*", ls="", mec="k", ms=9, label="source")
        ax.legend(handles=[handle], fontsize=7, loc="upper right", framealpha=0.8)


def field_figure(
    grid: np.ndarray,
    visited: np.ndarray,
    vectors: np.ndarray,
    title: str,
    *,
    error: bool = False,
    sources: np.ndarray | None = None,
) -> Figure:
    """One panel of ``vectors`` ``(G * G, D)`` on ``grid`` ``(G, G, D)`` with its colour bar:
    arrows coloured by magnitude, or with ``error`` the magnitude map of an error field. Cells
    outside ``visited`` ``(G, G)`` are greyed out; ``sources`` ``(K, D)`` are marked."""
    fig = Figure(figsize=(4.4, 4.0), dpi=DPI, layout="constrained")
    ax = fig.subplots()
    if error:
        mappable = _error_map(ax, grid, visited, vectors, title, sources=sources)
        fig.colorbar(mappable, ax=ax, shrink=0.85).set_label(ERROR_LABEL, fontsize=8)
    else:
        mappable = _quiver(ax, grid, visited, vectors, title, sources=sources)
        fig.colorbar(mappable, ax=ax, shrink=0.85).set_label(FIELD_LABEL, fontsize=8)
    _source_legend(ax, sources)
    return fig


def field_summary_figure(
    grid: np.ndarray,
    visited: np.ndarray,
    true: np.ndarray,
    learned: np.ndarray,
    *,
    title: str,
    sources: np.ndarray | None = None,
) -> Figure:
    """True | learned | ``|learned - true|`` of one run, side by side: the two fields share one
    logarithmic colour bar, the error map has its own; ``title`` names the run and its scores."""
    fig = Figure(figsize=(12.0, 4.3), dpi=DPI, layout="constrained")
    axes = fig.subplots(1, 3)
    norm = field_norm(true, learned)
    _quiver(axes[0], grid, visited, true, "true field", norm=norm, sources=sources)
    q = _quiver(axes[1], grid, visited, learned, "learned field", norm=norm, sources=sources)
    fig.colorbar(q, ax=axes[:2].tolist(), shrink=0.85, pad=0.01).set_label(FIELD_LABEL, fontsize=8)
    err = _error_map(axes[2], grid, visited, learned - true, "error", sources=sources)
    fig.colorbar(err, ax=axes[2], shrink=0.85).set_label(ERROR_LABEL, fontsize=8)
    _source_legend(axes[0], sources)
    fig.suptitle(title, fontsize=11)
    return fig


def comparison_figure(
    grid: np.ndarray,
    visited: np.ndarray,
    true: np.ndarray,
    learned: Mapping[str, tuple[np.ndarray, str]],
    title: str = "",
    *,
    sources: np.ndarray | None = None,
) -> Figure:
    """The true field, then each run's learned field ``{name: (vectors, scores line)}`` above its
    error map ``|learned - true|``; all fields share one colour bar, all error maps another."""
    n = len(learned)
    fig = Figure(figsize=(3.8 * (n + 1) + 1.0, 7.4), dpi=DPI, layout="constrained")
    axes = fig.subplots(2, n + 1, squeeze=False)
    norm = field_norm(true, *(v for v, _ in learned.values()))
    errors = [vec - true for vec, _ in learned.values()]
    vmax = max(float(np.percentile(_magnitude(grid, e)[1], 98)) for e in errors) if errors else 1.0
    q = _quiver(axes[0, 0], grid, visited, true, "true field", norm=norm, sources=sources)
    _source_legend(axes[0, 0], sources)
    axes[1, 0].axis("off")
    err = None
    for col, ((name, (vec, scores)), e) in enumerate(zip(learned.items(), errors, strict=True), 1):
        _quiver(axes[0, col], grid, visited, vec, f"{name}\n{scores}", norm=norm, sources=sources)
        err = _error_map(
            axes[1, col], grid, visited, e, f"{name}: error", sources=sources, vmax=vmax
        )
    fig.colorbar(q, ax=axes[0].tolist(), shrink=0.85).set_label(FIELD_LABEL, fontsize=8)
    if err is not None:
        fig.colorbar(err, ax=axes[1].tolist(), shrink=0.85).set_label(ERROR_LABEL, fontsize=8)
    if title:
        fig.suptitle(title)
    return fig
