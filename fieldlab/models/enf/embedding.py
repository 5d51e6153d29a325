r"""Random Fourier embedding of bi-invariants (Tancik et al. 2020), then a small MLP.

.. math:: e(a) = W_2\, \mathrm{GELU}\big(W_1 [a, \sin(2\pi B a), \cos(2\pi B a)] + b_1\big) + b_2,
          \qquad B_{kj} \sim N(0, \sigma^2)

The bi-invariants :math:`a` arrive in units of the latents' length scale :math:`\ell`
(:mod:`~fieldlab.models.enf.geometry`), so :math:`\sigma = 1` resolves details of about
:math:`\ell / 2\pi` on every domain. ``B`` is fixed from an explicit seed
(:class:`~fieldlab.models.fourier_features.RandomFourierFeatures`). Shapes: ``a (..., A)`` ->
``(..., H)``.
"""

from __future__ import annotations

import torch
from torch import nn

from fieldlab.models.fourier_features import RandomFourierFeatures


class FourierEmbedding(nn.Module):
    def __init__(
        self, in_dim: int, n_fourier: int, sigma: float, hidden: int, seed: int = 0
    ) -> None:
        super().__init__()
        self.features = RandomFourierFeatures(in_dim, n_fourier, sigma, seed)
        self.mlp = nn.Sequential(
            nn.Linear(in_dim + self.features.out_dim, hidden), nn.GELU(), nn.Linear(hidden, hidden)
        )

    def forward(self, a: torch.Tensor) -> torch.Tensor:
        return self.mlp(torch.cat([a, self.features(a)], dim=-1))
