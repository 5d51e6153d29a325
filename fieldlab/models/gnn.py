r"""A plain message-passing GNN (Gilmer et al. 2017), the non-equivariant baseline.

Node inputs are the raw coordinates, velocities and invariant features
:math:`[x_i, v_i, a_i]`; messages :math:`m_{ij} = \phi_e(h_i, h_j, a_{ij})`, updates
:math:`h_i' = h_i + \phi_h(h_i, \sum_j m_{ij})`, and linear read-outs give the displacement and the
new velocity. Because it sees absolute coordinates in a fixed frame it is neither translation nor
rotation equivariant; only permutation equivariant.
"""

from __future__ import annotations

import torch
from torch import nn

from fieldlab.models.batch import GraphBatch
from fieldlab.models.edges import Edges
from fieldlab.models.prediction import Prediction


def _mlp(n_in: int, hidden: int, n_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(n_in, hidden), nn.SiLU(), nn.Linear(hidden, n_out))


class GNN(nn.Module):
    def __init__(
        self, dim: int, node_features: int, edge_features: int, hidden: int = 64, layers: int = 4
    ) -> None:
        super().__init__()
        self.embed = nn.Linear(2 * dim + node_features, hidden)
        self.edge = nn.ModuleList(
            _mlp(2 * hidden + edge_features, hidden, hidden) for _ in range(layers)
        )
        self.node = nn.ModuleList(_mlp(2 * hidden, hidden, hidden) for _ in range(layers))
        self.out = nn.Linear(hidden, 2 * dim)
        self.dim = dim

    def forward(self, g: GraphBatch) -> Prediction:
        x, v = g.ndata["position"], g.ndata["velocity"]
        h = self.embed(torch.cat([x, v, g.ndata["attr"]], dim=-1))
        edges, attr = Edges.of(g), g.edata["attr"]
        for edge, node in zip(self.edge, self.node, strict=True):
            m = edge(torch.cat([h[edges.dst], h[edges.src], attr], dim=-1))
            h = h + node(torch.cat([h, edges.sum(m)], dim=-1))
        dx, v_new = self.out(h).split(self.dim, dim=-1)
        return Prediction(x + dx, v_new)
