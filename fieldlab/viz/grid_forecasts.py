"""Figures of grid forecasts: true against predicted fields along a rollout.

Built on :class:`matplotlib.figure.Figure` directly (no pyplot state), like every figure in
:mod:`fieldlab.viz`.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure


def field_rollout_figure(
    true: np.ndarray,
    predicted: np.ndarray,
    frames: np.ndarray,
    *,
    extent: tuple[float, float, float, float],
    horizon_stop: int,
    n_columns: int = 5,
    title: str = "",
) -> Figure:
    """True (top), predicted (middle) and their difference (bottom) at a few rollout frames.

    Args:
        true, predicted: ``(K, ny, nx)`` one field of one simulation at saved frames ``frames``
            ``(K,)`` (the rollout's start first).
        extent: ``(x_min, x_max, y_min, y_max)`` of the grid's cells, for the axes.
        horizon_stop: the first frame outside the training horizon (marked in the titles).
    """
    pick = np.unique(np.linspace(1, len(frames) - 1, min(n_columns, len(frames) - 1)).round())
    cols = pick.astype(int)
    fig = Figure(figsize=(2.2 * len(cols) + 1.0, 6.6), dpi=80, layout="constrained")
    axes = fig.subplots(3, len(cols), squeeze=False)
    lo, hi = float(true[cols].min()), float(true[cols].max())
    signed = lo < 0 < hi
    if signed:
        lo, hi = -max(-lo, hi), max(-lo, hi)
    cmap = "RdBu_r" if signed else "viridis"
    err = predicted[cols] - true[cols]
    e = float(np.abs(err).max()) or 1.0
    for c, k in enumerate(cols):
        where = "inside" if frames[k] < horizon_stop else "outside"
        rows = (
            (true[k], cmap, lo, hi),
            (predicted[k], cmap, lo, hi),
            (err[c], "RdBu_r", -e, e),
        )
        for r, (image, colours, vmin, vmax) in enumerate(rows):
            ax = axes[r, c]
            im = ax.imshow(image, origin="lower", extent=extent, cmap=colours, vmin=vmin, vmax=vmax)
            ax.set_xticks([])
            ax.set_yticks([])
            if c == len(cols) - 1:
                fig.colorbar(im, ax=axes[r, :], shrink=0.85, pad=0.01)
        axes[0, c].set_title(f"frame {int(frames[k])} ({where})", fontsize=9)
    for r, label in enumerate(("true", "predicted", "predicted - true")):
        axes[r, 0].set_ylabel(label, fontsize=9)
    fig.suptitle(title, fontsize=10)
    return fig
