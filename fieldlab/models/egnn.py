r"""EGNN forecaster with velocities (Satorras et al. 2021, "E(n) Equivariant Graph Neural Networks").

Embeds the invariant node features, applies ``layers`` :class:`EGNNLayer` s that move the
coordinates, and returns the final coordinates as the predicted position. The velocity at the
target frame is predicted equivariantly from the two vectors the network has per node:

.. math:: \hat v_i = \psi_v(h_i)\, v_i + \psi_d(h_i)\, (\hat x_i - x_i).

Equivariance: rotating/reflecting and translating the input positions (and rotating velocities)
transforms the output the same way; permuting particles permutes the output.
"""

from __future__ import annotations

from torch import nn

from fieldlab.models.batch import GraphBatch
from fieldlab.models.edges import Edges
from fieldlab.models.egnn_layer import EGNNLayer
from fieldlab.models.prediction import Prediction


class EGNN(nn.Module):
    """``EGNN_vel``: 4 layers of 64 hidden units with SiLU in the published n-body setting."""

    def __init__(self, node_features: int, edge_features: int, hidden: int = 64, layers: int = 4):
        super().__init__()
        self.embed = nn.Linear(node_features, hidden)
        self.layers = nn.ModuleList(EGNNLayer(hidden, edge_features) for _ in range(layers))
        self.vel_scale = nn.Sequential(nn.Linear(hidden, hidden), nn.SiLU(), nn.Linear(hidden, 2))

    def forward(self, g: GraphBatch) -> Prediction:
        x0 = g.ndata["position"]
        v = g.ndata["velocity"]
        e = g.edata["attr"]
        h = self.embed(g.ndata["attr"])
        edges = Edges.of(g)
        x = x0
        for layer in self.layers:
            h, x = layer(edges, h, x, v, e)
        a, b = self.vel_scale(h).unbind(-1)
        return Prediction(x, a[:, None] * v + b[:, None] * (x - x0))
