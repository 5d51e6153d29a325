r"""A MeshGraphNet-style forecaster of grid fields (Pfaff et al. 2021, "Learning Mesh-Based
Simulation with Graph Networks").

Encode, process, decode on a mesh graph (:func:`fieldlab.models.mesh_graph.build_mesh_graph`),
with node features :math:`a_i` (``ndata["attr"]``, the fields at point :math:`i`) and edge
features :math:`f_{ij}` (``edata["attr"]``, the offset of neighbour :math:`j` from :math:`i`):

.. math::
    h_i &= \phi(a_i) && \text{(encoder)} \\
    z^l_{ij} &= \sigma\big(W^l_d h_i + W^l_s h_j + A^l f_{ij} + b^l\big), \qquad
    m^l_i = W^l_m \textstyle\sum_{j \to i} z^l_{ij} + b^l_m && \text{(messages)} \\
    h_i &\leftarrow h_i + \phi^l(h_i, m^l_i) \qquad (l = 1 .. L) && \text{(processor)} \\
    \hat\delta_i &= \psi(h_i) && \text{(decoder)}

with :math:`\sigma` the SiLU and :math:`\phi, \phi^l, \psi` two-layer SiLU MLPs. The message is
a two-layer MLP of :math:`(h_i, h_j, f_{ij})` summed over the in-edges; its second layer is linear,
so it is applied once per node after the sum rather than once per edge. Sums (not means) let a
point on a bounded grid see its missing neighbours.

The output :math:`\hat\delta_i` ``(N, C)`` is the increment of the ``C`` fields over one step, in
the caller's units: :class:`~fieldlab.training.grid.forecaster.GridForecaster` adds it to the
input (a residual update in time), :math:`\hat u_{t+1} = u_t + \sigma_\Delta \hat\delta`.

**Against MeshGraphNet.** The same encode-process-decode with residual node updates and summed
edge messages, with two simplifications measured to matter on a CPU, where the per-edge work
dominates: edges carry no latent state updated layer by layer (on a regular grid their features
are one of ``K`` stencil offsets, entering every message linearly instead), and there is no layer
normalisation (a linear PDE such as diffusion needs an increment proportional to the input's
amplitude, which normalising the hidden features would remove).

**Symmetry.** Every operation is per node or per edge and aggregation is a sum, so a permutation
of the nodes that maps the graph and its edge features onto themselves, such as a shift of a
periodic grid, permutes the output the same way: translation equivariance on the torus (tested
in ``tests/models/test_mesh_graph.py``).
"""

from __future__ import annotations

import torch
from torch import nn

from fieldlab.models.batch import GraphBatch
from fieldlab.models.edges import Edges


def _mlp(n_in: int, hidden: int, n_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(n_in, hidden), nn.SiLU(), nn.Linear(hidden, n_out))


class _MessagePassing(nn.Module):
    r"""One processor block: :math:`h_i + \phi^l(h_i, m^l_i)` (see the module docstring)."""

    def __init__(self, hidden: int, edge_features: int) -> None:
        super().__init__()
        self.dst = nn.Linear(hidden, hidden)
        self.src = nn.Linear(hidden, hidden, bias=False)
        self.edge = nn.Linear(edge_features, hidden, bias=False)
        self.message = nn.Linear(hidden, hidden)
        self.update = _mlp(2 * hidden, hidden, hidden)

    def forward(self, edges: Edges, h: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
        z = nn.functional.silu(edges.pair(self.src(h), self.dst(h)) + self.edge(f))  # (E, H)
        m = self.message(edges.sum(z))  # (N, H)
        return h + self.update(torch.cat([h, m], dim=-1))


class MeshGNN(nn.Module):
    """Encode-process-decode message passing on a mesh graph (see the module docstring).

    Args:
        node_features: width ``F`` of ``ndata["attr"]``.
        edge_features: width of ``edata["attr"]`` (3 for mesh graphs).
        out_features: ``C``, the fields whose one-step increment is predicted.
        hidden: width of every hidden layer.
        layers: processor blocks ``L``; information travels ``L`` grid steps per forecast.
    """

    def __init__(
        self,
        node_features: int,
        edge_features: int,
        out_features: int,
        hidden: int = 64,
        layers: int = 4,
    ) -> None:
        super().__init__()
        self.encode = _mlp(node_features, hidden, hidden)
        self.blocks = nn.ModuleList(_MessagePassing(hidden, edge_features) for _ in range(layers))
        self.decode = _mlp(hidden, hidden, out_features)

    def forward(self, g: GraphBatch) -> torch.Tensor:
        """The predicted increment ``(N, C)`` of the fields at every node."""
        edges = Edges.of(g)
        f = g.edata["attr"]
        h = self.encode(g.ndata["attr"])
        for block in self.blocks:
            h = block(edges, h, f)
        return self.decode(h)
