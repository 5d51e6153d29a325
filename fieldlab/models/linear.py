r"""Linear baseline: constant-velocity extrapolation with a learned horizon.

:math:`\hat x = x + \alpha v`, :math:`\hat v = \beta v`. Two scalars; equivariant by construction.
With :math:`\alpha` equal to the time between context and target frames it is the ballistic
prediction that every interacting model must beat.
"""

from __future__ import annotations

import torch
from torch import nn

from fieldlab.models.batch import GraphBatch
from fieldlab.models.prediction import Prediction


class Linear(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.alpha = nn.Parameter(torch.zeros(()))
        self.beta = nn.Parameter(torch.ones(()))

    def forward(self, g: GraphBatch) -> Prediction:
        x, v = g.ndata["position"], g.ndata["velocity"]
        return Prediction(x + self.alpha * v, self.beta * v)
