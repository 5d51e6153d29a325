r"""Learning-rate schedules, as pure functions of the epoch.

Cosine annealing from :math:`\eta_0` to zero over :math:`T` epochs:
:math:`\eta_e = \tfrac{\eta_0}{2}\,(1 + \cos(\pi e / T))`. A pure function needs no scheduler
state in the checkpoint, only :math:`T`, which a wall-time budget may set during the run.
"""

from __future__ import annotations

import math
from typing import Literal


def learning_rate(
    epoch: int, *, base: float, total: int, kind: Literal["constant", "cosine"]
) -> float:
    """The learning rate of (0-based) ``epoch`` of ``total``."""
    if kind == "constant":
        return base
    return 0.5 * base * (1.0 + math.cos(math.pi * min(epoch, total) / max(total, 1)))
