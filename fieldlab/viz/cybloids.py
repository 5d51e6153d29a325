"""Figures of Brownian trajectories: the MSD with its local exponent, and the trajectories.

Built on :class:`matplotlib.figure.Figure` directly (no pyplot state), so they are safe in tests,
workers and servers; each function writes one PNG and returns its path.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure

from fieldlab.analysis.bond_order import bond_order, local_order
from fieldlab.analysis.msd import local_exponent, mean_squared_displacement
from fieldlab.simulators.result import SimulationResult


def plot_msd(result: SimulationResult, path: str | Path) -> Path:
    """MSD (log-log, with its standard error band and free diffusion ``2 d D t``) above the local
    exponent :math:`\\alpha(\\tau)`."""
    m = mean_squared_displacement(result.position, result.time)
    alpha = local_exponent(m.lag_time, m.msd)
    dim = result.position.shape[-1]
    diffusivity = result.params.get("kT", 1.0) / result.params.get("gamma", 1.0)
    fig = Figure(figsize=(5.5, 6.0), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=(2, 1))
    top.loglog(m.lag_time, m.msd, "o-", ms=3, label="MSD")
    if np.isfinite(m.stderr).all():
        top.fill_between(m.lag_time, m.msd - m.stderr, m.msd + m.stderr, alpha=0.3)
    top.loglog(m.lag_time, 2 * dim * diffusivity * m.lag_time, "k--", lw=1, label="2 d D t")
    top.set_ylabel("mean-squared displacement")
    top.legend()
    top.set_title(f"{result.system}: {result.n_sims} simulations")
    bottom.semilogx(m.lag_time, alpha, "o-", ms=3)
    bottom.axhline(1.0, color="k", ls="--", lw=1)
    bottom.set_xlabel("lag time")
    bottom.set_ylabel("local exponent")
    return _save(fig, path)


def plot_cybloid_paths(result: SimulationResult, path: str | Path, n_panels: int = 4) -> Path:
    """The first simulations' paths in the x-y plane, coloured by time; with more than one
    particle, the final configuration coloured by the stronger local bond order of
    :math:`|\\psi_4|`, :math:`|\\psi_6|`."""
    pos = result.position
    n_panels = min(n_panels, result.n_sims)
    fig = Figure(figsize=(3.2 * n_panels, 3.4), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, n_panels))
    t = result.time
    for s, ax in enumerate(axes):
        for i in range(pos.shape[2]):
            xy = pos[s, :, i, :2]
            segs = np.stack([xy[:-1], xy[1:]], axis=1)
            lines = LineCollection(segs, array=t[1:], cmap="viridis", lw=0.8)
            lines.set_alpha(1.0 if pos.shape[2] == 1 else 0.35)
            ax.add_collection(lines)
        if pos.shape[2] > 1 and pos.shape[3] == 2:
            last = pos[s, -1]
            orders = {n: local_order(bond_order(last, n)) for n in (4, 6)}
            n_best = max(orders, key=orders.get)
            psi = np.abs(bond_order(last, n_best))
            sc = ax.scatter(last[:, 0], last[:, 1], c=psi, cmap="magma", vmin=0, vmax=1, s=25)
            ax.set_title(f"sim {s}: <|psi{n_best}|> = {orders[n_best]:.2f}", fontsize=9)
            if s == n_panels - 1:
                fig.colorbar(sc, ax=ax, label="|psi| at the last frame")
        else:
            ax.set_title(f"sim {s}", fontsize=9)
        ax.autoscale()
        ax.set_aspect("equal")
    fig.suptitle(f"{result.system}: paths coloured by time 0 .. {t[-1]:g}")
    return _save(fig, path)


def _save(fig: Figure, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    return path
