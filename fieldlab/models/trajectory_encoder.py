r"""Summarise a simulation's observed trajectory into a latent code (for per-simulation fields).

Each particle's context frames give positions, velocities and finite-difference accelerations
:math:`a_t = (v_{t+1} - v_t) / \Delta t`, whose field part reveals where a hidden source sits. A
DeepSets encoder averages an MLP over particles and frames of one simulation:

.. math:: z_b = \rho\Big(\frac{1}{P T} \sum_{i, t} \phi([x_{it}, v_{it}, a_{it}])\Big)

Permutation invariant over particles and frames; deliberately *not* translation invariant, since the
field is fixed in absolute space. Shapes: ``context (N, T, 2D)`` (positions then velocities per
frame), ``graph_ids (N,)`` -> ``z (N, L)`` broadcast back to the simulation's nodes.
"""

from __future__ import annotations

import torch
from torch import nn


class TrajectoryEncoder(nn.Module):
    def __init__(self, dim: int, latent_dim: int = 16, hidden: int = 64, dt: float = 0.1) -> None:
        super().__init__()
        self.phi = nn.Sequential(
            nn.Linear(3 * dim, hidden), nn.SiLU(), nn.Linear(hidden, hidden), nn.SiLU()
        )
        self.rho = nn.Sequential(
            nn.Linear(hidden, hidden), nn.SiLU(), nn.Linear(hidden, latent_dim)
        )
        self.dim = dim
        self.dt = dt

    def forward(
        self, context: torch.Tensor, graph_ids: torch.Tensor, n_graphs: int
    ) -> torch.Tensor:
        x, v = context[..., : self.dim], context[..., self.dim :]
        a = (v[:, 1:] - v[:, :-1]) / self.dt
        feats = self.phi(torch.cat([x[:, 1:], v[:, 1:], a], dim=-1)).mean(1)  # (N, H)
        sums = feats.new_zeros(n_graphs, feats.shape[-1]).index_add(0, graph_ids, feats)
        counts = torch.bincount(graph_ids, minlength=n_graphs).clamp_min(1)[:, None]
        return self.rho(sums / counts)[graph_ids]
