"""Figures of grid forecasts: true against predicted fields along a rollout, and the error per frame.

Built on :class:`matplotlib.figure.Figure` directly (no pyplot state), like
:mod:`fieldlab.training.figures`.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from fieldlab.models import Mesh
from fieldlab.training.figures import curve_figure


def field_rollout_figure(
    true: np.ndarray,
    predicted: np.ndarray,
    frames: np.ndarray,
    *,
    mesh: Mesh,
    horizon_stop: int,
    n_columns: int = 5,
    title: str = "",
) -> Figure:
    """True (top), predicted (middle) and their difference (bottom) at a few rollout frames.

    Args:
        true, predicted: ``(K, ny, nx)`` one field of one simulation at saved frames ``frames``
            ``(K,)`` (the rollout's start first).
        mesh: the grid, for the axes' extent.
        horizon_stop: the first frame outside the training horizon (marked in the titles).
    """
    pick = np.unique(np.linspace(1, len(frames) - 1, min(n_columns, len(frames) - 1)).round())
    cols = pick.astype(int)
    extent = (
        mesh.x0 - mesh.hx / 2,
        mesh.x0 + (mesh.nx - 0.5) * mesh.hx,
        mesh.y0 - mesh.hy / 2,
        mesh.y0 + (mesh.ny - 0.5) * mesh.hy,
    )
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


def frame_error_figure(
    frames: np.ndarray, curves: dict[str, np.ndarray], *, horizon_stop: int, title: str
) -> Figure:
    """MSE per rollout frame for each curve, with the end of the training horizon marked."""
    fig = curve_figure(
        frames[1:], {k: v[1:] for k, v in curves.items()}, ylabel="MSE", title=title, log=True
    )
    ax = fig.axes[0]
    ax.axvline(horizon_stop - 0.5, color="k", ls=":", lw=1)
    ax.text(
        horizon_stop - 0.4,
        0.97,
        "outside the training horizon",
        transform=ax.get_xaxis_transform(),
        va="top",
        fontsize=7,
    )
    return fig
