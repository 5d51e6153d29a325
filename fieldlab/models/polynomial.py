r"""Polynomial embedding of invariants, the first stage of PONITA's kernels (Bekkers et al. 2024).

Inputs :math:`a \in \mathbb{R}^k` map to every distinct monomial of degree 1 to ``degree``,

.. math:: \mathrm{poly}(a) = \big(a_{i_1} a_{i_2} \cdots a_{i_d}\big)_{
          1 \le d \le \text{degree},\; i_1 \le i_2 \le \dots \le i_d},

:math:`\binom{k + \text{degree}}{\text{degree}} - 1` features (19 for three invariants at degree
3). A smooth function of the invariants is then learned by an MLP on these features.

Shapes: ``(..., k) -> (..., n_features)``.
"""

from __future__ import annotations

from itertools import combinations_with_replacement

import torch
from torch import nn


class PolynomialFeatures(nn.Module):
    def __init__(self, inputs: int, degree: int) -> None:
        super().__init__()
        self.degree = degree
        for d in range(1, degree + 1):
            idx = torch.tensor(list(combinations_with_replacement(range(inputs), d)))
            self.register_buffer(f"monomials_{d}", idx, persistent=False)
        self.n_features = sum(
            getattr(self, f"monomials_{d}").shape[0] for d in range(1, degree + 1)
        )

    def forward(self, a: torch.Tensor) -> torch.Tensor:
        parts = [
            a[..., getattr(self, f"monomials_{d}")].prod(-1) for d in range(1, self.degree + 1)
        ]
        return torch.cat(parts, dim=-1)
