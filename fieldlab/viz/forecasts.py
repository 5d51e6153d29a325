"""Forecast figures of particle models: predicted against true trajectories.

Built on :class:`matplotlib.figure.Figure` directly (no pyplot state), so figures can be drawn in
worker threads and tests, and a run that draws them every few epochs does not accumulate them.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D


def trajectory_figure(
    true: np.ndarray, predicted: np.ndarray, *, n_sims: int = 3, title: str = ""
) -> Figure:
    """Predicted (dashed, crosses) against true (solid, dots) paths in the first two coordinates.

    Args:
        true, predicted: ``(S, K + 1, P, D)`` states along a rollout, the start first.
        n_sims: panels, one per simulation; each particle has its own colour.
    """
    n = min(n_sims, true.shape[0])
    # fixed margins: a run draws this figure every few epochs, and a constrained layout's
    # extra drawing passes made rasterising it twice as long (0.2 s against 0.1 s)
    width = 3.6 * n
    fig = Figure(figsize=(width, 3.9), dpi=80)
    fig.subplots_adjust(left=0.72 / width, right=1 - 0.15 / width, bottom=0.13, top=0.85)
    fig.subplots_adjust(wspace=0.28)
    axes = fig.subplots(1, n, squeeze=False)[0]
    colours = [f"C{i % 10}" for i in range(true.shape[2])]
    for s, ax in enumerate(axes):
        for p, c in enumerate(colours):
            t, f = true[s, :, p], predicted[s, :, p]
            ax.plot(t[:, 0], t[:, 1], "-o", color=c, ms=3, lw=1.2)
            ax.plot(f[:, 0], f[:, 1], "--x", color=c, ms=4, lw=1.0, alpha=0.8)
            ax.plot(t[0, 0], t[0, 1], "o", mfc="none", mec="k", ms=7)
        ax.set_title(f"simulation {s}", fontsize=9)
        ax.set_xlabel("x")
        ax.set_ylabel("y")
        ax.set_aspect("equal", adjustable="datalim")
    legend = [
        Line2D([], [], color="0.3", ls="-", marker="o", ms=3, label="true"),
        Line2D([], [], color="0.3", ls="--", marker="x", ms=4, label="predicted"),
        Line2D([], [], color="k", ls="", marker="o", mfc="none", ms=7, label="start"),
    ]
    axes[-1].legend(handles=legend, fontsize=7, loc="best")
    steps = true.shape[1] - 1
    fig.suptitle(f"{title}: {steps} steps" if title else f"{steps} steps", fontsize=10)
    return fig
