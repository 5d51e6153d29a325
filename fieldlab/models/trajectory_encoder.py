r"""Summarise a simulation's observed trajectory into a latent code (for per-simulation fields).

Each particle's context frames give positions :math:`x_{it}`, velocities :math:`v_{it}` and velocity
differences per horizon :math:`a_{it} = (v_{it} - v_{i,t-1}) / \tau` (the acceleration when frames
are :math:`\tau` apart), whose field part reveals where a hidden source sits. The simulation's
*origin* :math:`c_b` is a mean of its observed positions weighted by a learned score of invariants
of each observation (distance to the plain centroid :math:`\bar x_b`, speed, acceleration), so it
can settle where the particles are pulled hardest; the weights start uniform (:math:`c_b =
\bar x_b`). A DeepSets encoder then averages an MLP over the particles and frames of simulation
:math:`b`, positions taken relative to :math:`c_b`:

.. math::

    w_{it} = \operatorname{softmax}_{(i, t) \in b}\, \omega\big(|x_{it} - \bar x_b|, |v_{it}|,
    |a_{it}|\big), \qquad c_b = \sum_{i, t} w_{it}\, x_{it},

    z_b = \rho\Big(\frac{1}{P (T - 1)} \sum_{i, t} \phi([x_{it} - c_b, v_{it}, a_{it}])\Big)

Symmetries: :math:`z_b` is invariant to permuting particles or frames and to translating the
whole context (every :math:`x_{it} - c_b` is); the origin translates with it, and it rotates with a
rotated context. :math:`z_b` is *not* rotation invariant, on purpose: it has to say in which
direction the source lies from :math:`c_b`, and the field that reads it is not rotation
equivariant either. A field evaluated at :math:`x - c_b` with code :math:`z_b` therefore moves
with the simulation when the whole simulation is translated.

Shapes: ``context (N, T, 2D)`` (positions then velocities per frame, ``T >= 2``),
``graph_ids (N,)`` -> ``z (N, L)`` and ``origin (N, D)``, broadcast back to the simulation's nodes.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn


class Conditioning(NamedTuple):
    """What a conditioned field reads on every node: its simulation's code and origin."""

    code: torch.Tensor
    origin: torch.Tensor


class TrajectoryEncoder(nn.Module):
    def __init__(self, dim: int, latent_dim: int = 16, hidden: int = 64, dt: float = 0.1) -> None:
        super().__init__()
        self.weight = nn.Sequential(nn.Linear(3, hidden), nn.SiLU(), nn.Linear(hidden, 1))
        nn.init.zeros_(self.weight[-1].weight)  # uniform weights at first: the plain centroid
        nn.init.zeros_(self.weight[-1].bias)
        self.phi = nn.Sequential(
            nn.Linear(3 * dim, hidden), nn.SiLU(), nn.Linear(hidden, hidden), nn.SiLU()
        )
        self.rho = nn.Sequential(
            nn.Linear(hidden, hidden), nn.SiLU(), nn.Linear(hidden, latent_dim)
        )
        self.dim = dim
        self.dt = dt

    @staticmethod
    def _per_graph_sum(
        values: torch.Tensor, graph_ids: torch.Tensor, n_graphs: int
    ) -> torch.Tensor:
        """Sum of ``values (N, F)`` over each graph's nodes: ``(n_graphs, F)``."""
        return values.new_zeros(n_graphs, values.shape[-1]).index_add(0, graph_ids, values)

    def _origin(
        self, x: torch.Tensor, v: torch.Tensor, a: torch.Tensor, ids: torch.Tensor, n: int
    ) -> torch.Tensor:
        """:math:`c_b` of each graph ``(n, D)`` from observations ``(N, T - 1, D)`` each."""
        count = self._per_graph_sum(torch.full_like(x[:, :1, 0], x.shape[1]), ids, n)
        centroid = self._per_graph_sum(x.sum(1), ids, n) / count
        spread = (x - centroid[ids][:, None]).norm(dim=-1)
        score = self.weight(torch.stack([spread, v.norm(dim=-1), a.norm(dim=-1)], -1))[..., 0]
        top = torch.full((n,), -torch.inf, dtype=score.dtype, device=score.device)
        top = top.scatter_reduce(0, ids, score.max(1).values, "amax")  # softmax within graphs
        w = torch.exp(score - top[ids][:, None])  # (N, T - 1)
        total = self._per_graph_sum((w[..., None] * x).sum(1), ids, n)
        return total / self._per_graph_sum(w.sum(1, keepdim=True), ids, n)

    def forward(
        self, context: torch.Tensor, graph_ids: torch.Tensor, n_graphs: int
    ) -> Conditioning:
        if context.shape[1] < 2:
            raise ValueError(
                f"the trajectory encoder needs at least 2 context frames, got {context.shape[1]}"
            )
        d = self.dim
        x, v = context[:, 1:, :d], context[:, 1:, d:]
        a = (context[:, 1:, d:] - context[:, :-1, d:]) / self.dt
        origin = self._origin(x, v, a, graph_ids, n_graphs)[graph_ids]  # (N, D)
        feats = self.phi(torch.cat([x - origin[:, None], v, a], dim=-1)).mean(1)  # (N, H)
        counts = torch.bincount(graph_ids, minlength=n_graphs).clamp_min(1)[:, None]
        pooled = self._per_graph_sum(feats, graph_ids, n_graphs) / counts
        return Conditioning(self.rho(pooled)[graph_ids], origin)
