"""Figures logged with runs: predicted against true trajectories, and error curves.

Figures are built on :class:`matplotlib.figure.Figure` directly (no pyplot state), so they can be
drawn in worker threads and tests.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from matplotlib.figure import Figure

from fieldlab.training.rollout import Rollout


def trajectory_figure(roll: Rollout, *, n_sims: int = 3, title: str = "") -> Figure:
    """Predicted (dashed, crosses) against true (solid, dots) paths in the first two coordinates.

    One panel per simulation, each particle its own colour; the open circle is the start.
    """
    n = min(n_sims, roll.position.shape[0])
    fig = Figure(figsize=(4.0 * n, 4.0), dpi=80, layout="constrained")
    axes = fig.subplots(1, n, squeeze=False)[0]
    colours = [f"C{i % 10}" for i in range(roll.position.shape[2])]
    for s, ax in enumerate(axes):
        for p, c in enumerate(colours):
            true, pred = roll.true_position[s, :, p], roll.position[s, :, p]
            ax.plot(true[:, 0], true[:, 1], "-o", color=c, ms=3, lw=1.2)
            ax.plot(pred[:, 0], pred[:, 1], "--x", color=c, ms=4, lw=1.0, alpha=0.8)
            ax.plot(true[0, 0], true[0, 1], "o", mfc="none", mec="k", ms=7)
        ax.set_title(f"simulation {s}", fontsize=9)
        ax.set_xlabel("x")
        ax.set_ylabel("y")
        ax.set_aspect("equal", adjustable="datalim")
    fig.suptitle(title or f"true (solid) vs predicted (dashed), {roll.steps} steps", fontsize=10)
    return fig


def curve_figure(
    frames: np.ndarray, curves: Mapping[str, np.ndarray], *, ylabel: str, title: str, log: bool
) -> Figure:
    """Curves against the saved frame (e.g. rollout MSE per step, energy drift)."""
    fig = Figure(figsize=(5.0, 3.5), dpi=90, layout="constrained")
    ax = fig.subplots()
    for label, values in curves.items():
        ax.plot(frames, values, "-o", ms=3, label=label)
    if log and all(np.all(np.asarray(v)[1:] > 0) for v in curves.values()):
        ax.set_yscale("log")
    ax.set_xlabel("saved frame")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    return fig
