"""Draw particle trajectories, one panel per simulation.

3-D systems are drawn in their x-y projection; static sources (where the system has them) are
drawn as markers coloured by sign.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from fieldlab.simulators.result import SimulationResult


def plot_trajectories(result: SimulationResult, path: str | Path | None = None) -> Figure:
    """One panel per simulation: each particle's path, a dot at its start and a ring at its end.

    Args:
        result: the simulations to draw (at most 16 are drawn).
        path: where to save the PNG; ``None`` only returns the figure.
    """
    pos = result.position[:16]
    n = pos.shape[0]
    cols = min(n, 4)
    rows = math.ceil(n / cols)
    fig = Figure(figsize=(3.2 * cols, 3.2 * rows))
    axes = fig.subplots(rows, cols, squeeze=False)
    colours = matplotlib.colormaps["tab10"]
    for k, ax in enumerate(axes.flat):
        if k >= n:
            ax.axis("off")
            continue
        for i in range(pos.shape[2]):
            xy = pos[k, :, i, :2]
            ax.plot(xy[:, 0], xy[:, 1], "-", lw=1, color=colours(i % 10))
            ax.plot(*xy[0], "o", ms=4, color=colours(i % 10))
            ax.plot(*xy[-1], "o", ms=6, mfc="none", color=colours(i % 10))
        _draw_sources(ax, result, k)
        ax.set_title(f"sim {result.first_sim + k}", fontsize=9)
        ax.set_aspect("equal", adjustable="datalim")
        ax.tick_params(labelsize=7)
    dims = "x-y projection of 3-D" if pos.shape[-1] == 3 else "2-D"
    fig.suptitle(f"{result.system}: {pos.shape[2]} particles, {pos.shape[1]} frames ({dims})")
    fig.tight_layout()
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=110)
    return fig


def _draw_sources(ax: Axes, result: SimulationResult, k: int) -> None:
    v = result.variables
    if "source_position" in v:
        src = v["source_position"]
        sign = np.sign(v.get("source_charge", np.ones(len(src))))
    elif "source_position_per_sim" in v:
        src = v["source_position_per_sim"][k]
        sign = np.ones(len(src))
    else:
        return
    ax.scatter(src[:, 0], src[:, 1], c=np.where(sign > 0, "tab:red", "tab:blue"), marker="*", s=60)
