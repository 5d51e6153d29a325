"""A leaderboard's bar chart: each model's mean test error over its seeds, with error bars.

The bars are the means, the error bars one sample standard deviation over the seeds (none where a
model has one seed), the seed count written under each model's name. The value axis is
logarithmic when the means span more than a factor of 20, so that a much better model's bar stays
visible beside a baseline's.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

LOG_SPAN = 20.0
"""Above this ratio of the largest to the smallest mean, the value axis is logarithmic."""


def leaderboard_figure(
    models: Sequence[str],
    means: Sequence[float],
    sds: Sequence[float],
    seeds: Sequence[int],
    *,
    title: str,
    ylabel: str = "test MSE",
) -> Figure:
    """Bars of ``means`` per model with ``sds`` as error bars (NaN: no bar); ``seeds`` per model
    label the bars."""
    mean = np.asarray(means, dtype=float)
    sd = np.nan_to_num(np.asarray(sds, dtype=float), nan=0.0)
    fig = Figure(figsize=(1.2 * len(models) + 2.5, 3.5), dpi=90, layout="constrained")
    ax = fig.subplots()
    x = np.arange(len(models))
    ax.bar(x, mean, yerr=sd, capsize=4, color="C0", alpha=0.8, ecolor="k")
    ax.set_xticks(
        x, [f"{m}\n({n} seed{'s' * (n != 1)})" for m, n in zip(models, seeds, strict=True)]
    )
    positive = mean[mean > 0]
    if positive.size and positive.max() / positive.min() > LOG_SPAN:
        ax.set_yscale("log")
    else:
        ax.set_ylim(bottom=0)
    for xi, m in zip(x, mean, strict=True):
        if math.isfinite(m):
            ax.annotate(f"{m:.3g}", (xi, m), textcoords="offset points", xytext=(0, 3),
                        ha="center", va="bottom", fontsize=8)  # fmt: skip
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    return fig
