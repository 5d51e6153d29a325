r"""EGNN with velocity written the way the reference implementation writes it: an independent check.

:class:`~fieldlab.models.egnn.EGNN` is rearranged for speed (per-node projections instead of the
concatenated edge input, a selector product instead of gathers, dense sums instead of scatters).
This module keeps the textbook form of Satorras et al. (2021), eqs. 3-7, for an edge
:math:`j \to i` (``row = i``, ``col = j``):

.. math::

    m_{ij} &= \phi_e\big([h_i, h_j, |x_i - x_j|^2, a_{ij}]\big) \\
    x_i' &= x_i + \operatorname{mean}_j \operatorname{clip}\big((x_i - x_j)\,\phi_x(m_{ij})\big)
            + \phi_v(h_i)\, v_i \\
    h_i' &= h_i + \phi_h\big([h_i, \textstyle\sum_j m_{ij}]\big)

with the per-edge concatenation, ``index_add`` aggregation and the reference's clipping of each
coordinate-message component to [-100, 100] (fieldlab caps the norm instead; the two agree while
no message is that large). :meth:`ReferenceEGNN.like` copies a fieldlab EGNN's weights into it,
so that tests compare the two on the same function and ``benchmarks/training.py`` times it as the
plain-PyTorch baseline.

Shapes: ``node_attr (N, F)``, ``x, v (N, D)``, ``row, col (E,)``, ``edge_attr (E, F_e)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import nn

if TYPE_CHECKING:
    from fieldlab.models.egnn import EGNN


class ReferenceLayer(nn.Module):
    """E_GCL_vel: concatenated edge input, ``index_add`` aggregation, component clipping."""

    def __init__(self, hidden: int, edge_features: int) -> None:
        super().__init__()
        act = nn.SiLU()
        self.edge = nn.Sequential(
            nn.Linear(2 * hidden + 1 + edge_features, hidden), act, nn.Linear(hidden, hidden), act
        )
        self.node = nn.Sequential(nn.Linear(2 * hidden, hidden), act, nn.Linear(hidden, hidden))
        last = nn.Linear(hidden, 1, bias=False)
        nn.init.xavier_uniform_(last.weight, gain=0.001)
        self.coord = nn.Sequential(nn.Linear(hidden, hidden), act, last)
        self.vel = nn.Sequential(nn.Linear(hidden, hidden), act, nn.Linear(hidden, 1))

    def forward(
        self,
        h: torch.Tensor,
        x: torch.Tensor,
        v: torch.Tensor,
        row: torch.Tensor,
        col: torch.Tensor,
        edge_attr: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        diff = x[row] - x[col]
        radial = (diff**2).sum(-1, keepdim=True)
        m = self.edge(torch.cat([h[row], h[col], radial, edge_attr], dim=-1))
        trans = (diff * self.coord(m)).clamp(-100, 100)
        n = x.shape[0]
        agg = x.new_zeros(n, x.shape[1]).index_add_(0, row, trans)
        count = x.new_zeros(n, 1).index_add_(0, row, x.new_ones(len(row), 1))
        x = x + agg / count.clamp_min(1) + self.vel(h) * v
        m_sum = x.new_zeros(n, m.shape[1]).index_add_(0, row, m)
        h = h + self.node(torch.cat([h, m_sum], dim=-1))
        return h, x


class ReferenceEGNN(nn.Module):
    """``EGNN_vel``: an embedding and ``layers`` :class:`ReferenceLayer` s; returns positions."""

    def __init__(
        self, node_features: int = 1, edge_features: int = 1, hidden: int = 64, layers: int = 4
    ) -> None:
        super().__init__()
        self.embed = nn.Linear(node_features, hidden)
        self.layers = nn.ModuleList(ReferenceLayer(hidden, edge_features) for _ in range(layers))

    def forward(
        self,
        node_attr: torch.Tensor,
        x: torch.Tensor,
        v: torch.Tensor,
        row: torch.Tensor,
        col: torch.Tensor,
        edge_attr: torch.Tensor,
    ) -> torch.Tensor:
        h = self.embed(node_attr)
        for layer in self.layers:
            h, x = layer(h, x, v, row, col, edge_attr)
        return x

    @classmethod
    def like(cls, egnn: EGNN) -> ReferenceEGNN:
        """A reference network computing the same positions as ``egnn``, with copied weights.

        The first edge layer acting on :math:`[h_i, h_j, r_{ij}, a_{ij}]` is fieldlab's
        destination projection, source projection and edge-input weights side by side.
        """
        first = egnn.layers[0]
        hidden, edge_features = first.edge_out.in_features, first.edge_in.in_features - 1
        ref = cls(egnn.embed.in_features, edge_features, hidden, len(egnn.layers))
        ref = ref.to(dtype=egnn.embed.weight.dtype)
        with torch.no_grad():
            ref.embed.load_state_dict(egnn.embed.state_dict())
            for ours, theirs in zip(egnn.layers, ref.layers, strict=True):
                weight = [ours.dst_proj.weight, ours.src_proj.weight, ours.edge_in.weight]
                theirs.edge[0].weight.copy_(torch.cat(weight, dim=1))
                theirs.edge[0].bias.copy_(ours.dst_proj.bias)
                theirs.edge[2].load_state_dict(ours.edge_out.state_dict())
                theirs.coord.load_state_dict(ours.coord.state_dict())
                theirs.vel.load_state_dict(ours.vel.state_dict())
                theirs.node.load_state_dict(ours.node.state_dict())
        return ref
