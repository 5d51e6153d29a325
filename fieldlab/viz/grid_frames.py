"""Draw a grid (PDE) simulation as strips of frames: one row per simulation, time left to right.

The first scalar field of the result is drawn (``concentration`` for diffusion, ``vorticity`` for
Navier-Stokes) as an image over the grid's ``x``, ``y`` extent; each row shares one colour scale,
symmetric about zero for fields that take both signs.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import numpy as np
from matplotlib.figure import Figure

from fieldlab.simulators.result import SimulationResult
from fieldlab.simulators.variables import VARIABLES


def plot_grid_frames(
    result: SimulationResult,
    path: str | Path | None = None,
    *,
    n_frames: int = 6,
    max_sims: int = 4,
) -> Figure:
    """Strips of ``n_frames`` frames, evenly spaced from the first to the last saved one.

    Args:
        result: a grid result (``result.is_grid``); at most ``max_sims`` simulations are drawn.
        path: where to save the PNG; ``None`` only returns the figure.

    Raises:
        ValueError: ``result`` holds particle trajectories, not grid fields.
    """
    if not result.is_grid:
        raise ValueError(
            f"system {result.system!r} saves particle trajectories; draw them with "
            "fieldlab.viz.plot_trajectories"
        )
    name = next(k for k in result.state_names if VARIABLES[k].tensor_order == 0)
    field = result.variables[name][:max_sims]
    n_sims, n_time = field.shape[:2]
    frames = np.unique(np.linspace(0, n_time - 1, min(n_frames, n_time)).round().astype(int))
    x, y = result.coords["x"], result.coords["y"]
    hx, hy = (x[1] - x[0]) / 2, (y[1] - y[0]) / 2
    extent = (x[0] - hx, x[-1] + hx, y[0] - hy, y[-1] + hy)
    fig = Figure(figsize=(1.9 * len(frames) + 0.8, 1.9 * n_sims + 0.5), layout="constrained")
    axes = fig.subplots(n_sims, len(frames), squeeze=False)
    for row in range(n_sims):
        lo, hi = float(field[row].min()), float(field[row].max())
        signed = lo < 0 < hi
        if signed:
            lo, hi = -max(-lo, hi), max(-lo, hi)
        cmap = "RdBu_r" if signed else "viridis"
        for col, t in enumerate(frames):
            ax = axes[row, col]
            image = ax.imshow(
                field[row, t], origin="lower", extent=extent, cmap=cmap, vmin=lo, vmax=hi
            )
            ax.set_xticks([])
            ax.set_yticks([])
            if row == 0:
                ax.set_title(f"t = {result.time[t]:g}", fontsize=9)
            if col == 0:
                ax.set_ylabel(f"sim {result.first_sim + row}", fontsize=9)
        fig.colorbar(image, ax=axes[row, :], shrink=0.9, pad=0.02)
    ny, nx = field.shape[2:4]
    fig.suptitle(f"{result.system}: {VARIABLES[name].long_name} on a {ny} x {nx} grid", fontsize=10)
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=110)
    return fig
