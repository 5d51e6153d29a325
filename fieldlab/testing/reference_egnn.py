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

with the per-edge concatenation, the reference's segment sums and means (``scatter_add_`` along
an index expanded to the feature width; the mean divides by a count scattered the same way) and
its clipping of each coordinate-message component to [-100, 100] (fieldlab caps the norm instead;
the two agree while no message is that large). ``aggregation="index"`` swaps the segment
operations for ``index_add_``, the faster form a PyTorch user would write today (same values,
a cheaper backward: ``index_select`` instead of ``gather`` on the expanded index).
:meth:`ReferenceEGNN.like` copies a fieldlab EGNN's weights into it, so that tests compare the
two on the same function and ``benchmarks/training.py`` times it as the plain-PyTorch baseline.

Shapes: ``node_attr (N, F)``, ``x, v (N, D)``, ``row, col (E,)``, ``edge_attr (E, F_e)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import torch
from torch import nn

if TYPE_CHECKING:
    from fieldlab.models.egnn import EGNN


Aggregation = Literal["scatter", "index"]


def segment_sum(data: torch.Tensor, ids: torch.Tensor, n: int, how: Aggregation) -> torch.Tensor:
    """``out[i] = sum_{e: ids[e] = i} data[e]``; ``data (E, F)``, ``ids (E,)`` -> ``(n, F)``."""
    out = data.new_zeros(n, data.shape[1])
    if how == "index":
        return out.index_add_(0, ids, data)
    return out.scatter_add_(0, ids[:, None].expand(-1, data.shape[1]), data)


def segment_mean(data: torch.Tensor, ids: torch.Tensor, n: int, how: Aggregation) -> torch.Tensor:
    """The mean over each segment (0 for an empty one), the count summed like the data."""
    count = segment_sum(torch.ones_like(data), ids, n, how)
    return segment_sum(data, ids, n, how) / count.clamp_min(1)


class ReferenceLayer(nn.Module):
    """E_GCL_vel: concatenated edge input, segment sums and means, component clipping."""

    def __init__(
        self, hidden: int, edge_features: int, aggregation: Aggregation = "scatter"
    ) -> None:
        super().__init__()
        self.aggregation = aggregation
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
        n, how = x.shape[0], self.aggregation
        x = x + segment_mean(trans, row, n, how) + self.vel(h) * v
        h = h + self.node(torch.cat([h, segment_sum(m, row, n, how)], dim=-1))
        return h, x


class ReferenceEGNN(nn.Module):
    """``EGNN_vel``: an embedding and ``layers`` :class:`ReferenceLayer` s; returns positions."""

    def __init__(
        self,
        node_features: int = 1,
        edge_features: int = 1,
        hidden: int = 64,
        layers: int = 4,
        aggregation: Aggregation = "scatter",
    ) -> None:
        super().__init__()
        self.embed = nn.Linear(node_features, hidden)
        self.layers = nn.ModuleList(
            ReferenceLayer(hidden, edge_features, aggregation) for _ in range(layers)
        )

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
    def like(cls, egnn: EGNN, aggregation: Aggregation = "scatter") -> ReferenceEGNN:
        """A reference network computing the same positions as ``egnn``, with copied weights.

        The first edge layer acting on :math:`[h_i, h_j, r_{ij}, a_{ij}]` is fieldlab's
        destination projection, source projection and edge-input weights side by side.
        """
        first = egnn.layers[0]
        hidden, edge_features = first.edge_out.in_features, first.edge_in.in_features - 1
        ref = cls(egnn.embed.in_features, edge_features, hidden, len(egnn.layers), aggregation)
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
