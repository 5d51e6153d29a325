r"""Batched graphs from particle states, with no Python loop over edges.

A batch of ``B`` simulations with ``P`` particles in ``D`` dimensions becomes one
:class:`~fieldlab.models.batch.GraphBatch` (the torch-native batch every model reads) of
``N = B P`` nodes (simulation ``b``'s particle ``i`` is node ``b P + i``) carrying

- ``ndata["position"]``, ``ndata["velocity"]``: ``(N, D)``;
- ``ndata["attr"]``: ``(N, F)`` invariant node features, e.g. the speed :math:`|v_i|` and the
  charge or mass; ``ndata["scalar"]``: ``(N,)`` the charge or mass itself (1 where none);
- ``edata["attr"]``: ``(E, F_e)`` invariant edge features, one column per entry of
  ``GraphSpec.edge_features``: ``scalar_product``, the product :math:`s_i s_j` of the particles'
  scalar (charge or mass, 1 where the system has none); ``input_sq_distance``, the squared
  distance :math:`|x_i - x_j|^2` of the *input* positions. The latter is a fixed attribute that the
  published n-body EGNN adds beside the radial :math:`|x_i^l - x_j^l|^2` that each layer recomputes
  from its moving coordinates; it is computed without gradient.

Attributes are stored in physical units. A network that works in scaled units
:math:`x / s_x`, :math:`v / s_v` converts them with :meth:`GraphSpec.scale_attributes`: a speed
scales like :math:`s_v`, a squared distance like :math:`s_x^2`, charges and masses not at all.
Dividing an invariant by a positive constant keeps it invariant, so an E(n)-equivariant network
stays equivariant.

Topologies: ``full`` connects every ordered pair within a simulation (``E = B P (P - 1)``); its
index arrays depend only on ``(B, P)`` and the device, and are cached, so training reuses them
across batches.
``knn`` links each particle to its ``k`` nearest neighbours and ``radius`` to every particle closer
than ``r``, both computed with batched tensor operations on the current positions.
Edges point from source ``j`` to destination ``i``: messages flow into ``i``.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

import torch
from pydantic import BaseModel, ConfigDict, Field, field_validator

from fieldlab.models.batch import GraphBatch

NodeFeature = Literal["speed", "scalar"]
EdgeFeature = Literal["scalar_product", "input_sq_distance"]


class GraphSpec(BaseModel):
    """How to connect particles and which invariant node and edge features to attach."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["full", "knn", "radius"] = "full"
    k: int = Field(6, ge=1, description="neighbours per particle (knn)")
    radius: float = Field(1.0, gt=0.0, description="cut-off distance (radius)")
    node_features: tuple[NodeFeature, ...] = Field(("speed",), min_length=1)
    edge_features: tuple[EdgeFeature, ...] = Field(
        ("scalar_product",),
        min_length=1,
        description="scalar_product: s_i s_j; input_sq_distance: |x_i - x_j|^2 of the input frame",
    )

    @field_validator("node_features", "edge_features")
    @classmethod
    def _distinct(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(value)) != len(value):
            raise ValueError(f"each feature may appear once, got {list(value)}")
        return value

    @property
    def n_node_features(self) -> int:
        return len(self.node_features)

    @property
    def n_edge_features(self) -> int:
        return len(self.edge_features)

    def scale_attributes(
        self,
        node_attr: torch.Tensor,
        edge_attr: torch.Tensor,
        position_scale: torch.Tensor | float,
        velocity_scale: torch.Tensor | float,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        r"""Node ``(N, F)`` and edge ``(E, F_e)`` attributes in the units :math:`x / s_x`,
        :math:`v / s_v`: the speed column is divided by :math:`s_v`, the input squared distance
        by :math:`s_x^2`, the others are left as they are. Returns new tensors."""
        sx, sv = float(position_scale), float(velocity_scale)
        node_units = {"speed": sv, "scalar": 1.0}
        edge_units = {"scalar_product": 1.0, "input_sq_distance": sx * sx}
        node = node_attr / node_attr.new_tensor([node_units[f] for f in self.node_features])
        edge = edge_attr / edge_attr.new_tensor([edge_units[f] for f in self.edge_features])
        return node, edge


@lru_cache(maxsize=32)
def full_edges(n_graphs: int, n_particles: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(src, dst)`` of ``n_graphs`` fully connected graphs, grouped by destination."""
    i, j = torch.meshgrid(torch.arange(n_particles), torch.arange(n_particles), indexing="ij")
    keep = i != j
    src, dst = j[keep], i[keep]  # message j -> i
    offset = (torch.arange(n_graphs) * n_particles)[:, None]
    return (src[None] + offset).reshape(-1), (dst[None] + offset).reshape(-1)


@lru_cache(maxsize=32)
def _full_topology(
    n_graphs: int, n_particles: int, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """``src``, ``dst`` and the batch's node and edge counts of the ``full`` layout on ``device``
    (built once per batch shape: a training run reuses them every step)."""
    src, dst = (t.to(device) for t in full_edges(n_graphs, n_particles))
    return (src, dst, *_sizes(dst, n_graphs, n_particles))


def _sizes(dst: torch.Tensor, n_graphs: int, n_particles: int) -> tuple[torch.Tensor, torch.Tensor]:
    nodes = torch.full((n_graphs,), n_particles, dtype=torch.int64, device=dst.device)
    per_graph = torch.div(dst, n_particles, rounding_mode="floor")
    return nodes, torch.bincount(per_graph, minlength=n_graphs)


def _pairwise_sq_dist(position: torch.Tensor) -> torch.Tensor:
    diff = position[:, :, None, :] - position[:, None, :, :]
    d2 = (diff**2).sum(-1)
    eye = torch.eye(position.shape[1], dtype=torch.bool, device=position.device)
    return d2.masked_fill(eye, float("inf"))


def _knn_edges(position: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    n_graphs, n_particles, _ = position.shape
    k = min(k, n_particles - 1)
    nbr = _pairwise_sq_dist(position).topk(k, dim=-1, largest=False).indices  # (B, P, k)
    offset = (torch.arange(n_graphs, device=position.device) * n_particles)[:, None, None]
    dst = (torch.arange(n_particles, device=position.device)[None, :, None] + offset).expand_as(nbr)
    return (nbr + offset).reshape(-1), dst.reshape(-1)


def _radius_edges(position: torch.Tensor, r: float) -> tuple[torch.Tensor, torch.Tensor]:
    _n_graphs, n_particles, _ = position.shape
    b, i, j = torch.nonzero(_pairwise_sq_dist(position) < r * r, as_tuple=True)
    return b * n_particles + j, b * n_particles + i


def build_graph(
    position: torch.Tensor,
    velocity: torch.Tensor,
    scalar: torch.Tensor | None,
    spec: GraphSpec,
    context: torch.Tensor | None = None,
) -> GraphBatch:
    """One batch of graphs for ``B`` simulations, built with tensor operations on the inputs'
    device (so a batch on a GPU never leaves it).

    Args:
        position, velocity: ``(B, P, D)``.
        scalar: ``(B, P)`` per-particle charge or mass, or ``None``.
        spec: topology, node and edge features.
        context: optional ``(B, P, T, 2 D)`` observed history (positions then velocities per
            frame), stored as ``ndata["context"]`` for models that summarise it.

    Returns:
        A :class:`~fieldlab.models.batch.GraphBatch` with ``N = B P`` nodes (see the module
        docstring for its data); ``GraphBatch.to_dgl()`` gives the same as a ``DGLGraph``.
    """
    n_graphs, n_particles, dim = position.shape
    if spec.kind == "full":
        src, dst, nodes, edges = _full_topology(n_graphs, n_particles, position.device)
    else:
        if spec.kind == "knn":
            src, dst = _knn_edges(position, spec.k)
        else:
            src, dst = _radius_edges(position, spec.radius)
        nodes, edges = _sizes(dst, n_graphs, n_particles)
    g = GraphBatch(src, dst, n_graphs * n_particles, nodes, edges)
    x = position.reshape(-1, dim)
    v = velocity.reshape(-1, dim)
    s = torch.ones(n_graphs * n_particles, dtype=x.dtype, device=x.device)
    if scalar is not None:
        s = scalar.reshape(-1).to(x.dtype)
    feats = {"speed": lambda: v.norm(dim=-1), "scalar": lambda: s}
    g.ndata["position"] = x
    g.ndata["velocity"] = v
    g.ndata["attr"] = torch.stack([feats[f]() for f in spec.node_features], dim=-1)
    g.ndata["scalar"] = s
    if context is not None:
        g.ndata["context"] = context.reshape(n_graphs * n_particles, *context.shape[2:])
    edge_feats = {
        "scalar_product": lambda: s[src] * s[dst],
        "input_sq_distance": lambda: ((x[dst] - x[src]).detach() ** 2).sum(-1),
    }
    g.edata["attr"] = torch.stack([edge_feats[f]() for f in spec.edge_features], dim=-1)
    return g
