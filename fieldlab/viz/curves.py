"""Curves along rollouts: the error per forecast step, and conserved quantities' drift.

Error curves start at the first forecast step (step 0 is the exact start, error 0) on a linear
axis; a grid forecaster's training horizon is marked where it ends. Energy and momentum drift get
an axis each (twin axes), since their units differ.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from matplotlib.figure import Figure


def rollout_error_figure(
    frames: np.ndarray,
    curves: Mapping[str, np.ndarray],
    *,
    title: str,
    ylabel: str = "MSE",
    horizon_stop: int | None = None,
) -> Figure:
    """Each curve ``(K + 1,)`` against the saved frames ``(K + 1,)``, from the first forecast step.

    ``horizon_stop``: the first frame outside the training horizon, marked with a dotted line.
    """
    fig = Figure(figsize=(5.0, 3.5), dpi=90, layout="constrained")
    ax = fig.subplots()
    for label, values in curves.items():
        ax.plot(frames[1:], np.asarray(values)[1:], "-o", ms=3, label=label)
    ax.set_ylim(bottom=0)
    ax.set_xlabel("saved frame")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    if horizon_stop is not None:
        ax.axvline(horizon_stop - 0.5, color="k", ls=":", lw=1)
        ax.text(
            horizon_stop - 0.4, 0.97, "outside the training horizon",
            transform=ax.get_xaxis_transform(), va="top", fontsize=7,
        )  # fmt: skip
    ax.legend(fontsize=8)
    return fig


def conservation_figure(
    frames: np.ndarray, drift: Mapping[str, np.ndarray], *, title: str
) -> Figure:
    """Energy drift (left axis) and momentum drift (right axis) of the model (solid) and the
    data (dotted, keys ending in ``_data``), mean absolute change from the start per frame."""
    fig = Figure(figsize=(5.4, 3.5), dpi=90, layout="constrained")
    left = fig.subplots()
    axes = {"energy": left}
    if any(k.startswith("momentum") for k in drift):
        axes["momentum"] = left.twinx() if any(k.startswith("energy") for k in drift) else left
    colours = {"energy": "C0", "momentum": "C3"}
    for key, values in drift.items():
        quantity = key.split("_")[0]
        ax = axes[quantity]
        style = ":" if key.endswith("_data") else "-"
        label = f"{quantity} ({'data' if key.endswith('_data') else 'model'})"
        ax.plot(frames, values, style, marker="o", ms=3, color=colours[quantity], label=label)
        ax.set_ylabel(f"|{quantity} - {quantity}(start)|", color=colours[quantity])
    left.set_xlabel("saved frame")
    left.set_title(title, fontsize=10)
    handles = [h for ax in set(axes.values()) for h in ax.get_legend_handles_labels()[0]]
    left.legend(handles=handles, fontsize=7, loc="upper left")
    return fig
