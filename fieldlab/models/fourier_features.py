r"""Random Fourier features (Tancik et al. 2020) of absolute coordinates.

.. math:: \gamma(x) = [\sin(2\pi B x), \cos(2\pi B x)], \qquad B_{kd} \sim N(0, \sigma^2)

``B`` is drawn once from an explicit seed and stored as a buffer (saved with the model, never
trained). Shapes: ``x (..., D)`` -> ``(..., 2 K)``.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class RandomFourierFeatures(nn.Module):
    def __init__(self, in_dim: int, n_features: int, sigma: float = 1.0, seed: int = 0) -> None:
        super().__init__()
        gen = torch.Generator().manual_seed(seed)
        self.register_buffer("b", torch.randn(n_features, in_dim, generator=gen) * sigma)

    @property
    def out_dim(self) -> int:
        return 2 * self.b.shape[0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        proj = 2 * math.pi * x @ self.b.T.to(x.dtype)
        return torch.cat([proj.sin(), proj.cos()], dim=-1)
