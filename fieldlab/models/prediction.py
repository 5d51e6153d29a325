"""What every forecaster returns."""

from __future__ import annotations

from typing import NamedTuple

import torch


class Prediction(NamedTuple):
    """Predicted state at the target frame: ``position`` and ``velocity``, each ``(N, D)``."""

    position: torch.Tensor
    velocity: torch.Tensor
