r"""Gather and aggregate along a DGL graph's edges with plain tensor operations.

DGL's CPU kernels (``GSDDMM``/``GSpMM``) cost more than the arithmetic they do on the small graphs
of particle systems (measured: a 4-layer EGNN step spent more time in them than in its matrix
products). :class:`Edges` reads a batched graph's edge index once per forward pass and offers the
three operations a message-passing layer needs:

- ``pair(src_feat, dst_feat)``: :math:`a_j + b_i` on every edge :math:`j \to i`, ``(E, F)``;
- ``sum(msg)`` / ``mean(msg)``: :math:`\sum_{j \to i}` of edge messages, ``(N, F)``.

When every node has the same in-degree ``k`` and edges are grouped by destination, which is how
:func:`fieldlab.models.graphs.build_graph` lays out ``full`` and ``knn`` graphs, the destination
side is a broadcast over a ``(N, k, F)`` view and the aggregation is a dense sum over ``k``: no
scatter at all. Other graphs (``radius``) fall back to ``index_add``.

On ``full`` graphs of ``P`` particles each, ``pair`` is one batched product with a constant
``(P(P-1), 2P)`` selector :math:`M` whose row for edge :math:`j \to i` has ones in columns
:math:`j` and :math:`P + i`:

.. math:: \big[a_j + b_i\big]_{j \to i} = M \begin{bmatrix} a \\ b \end{bmatrix}
          \quad\text{per simulation,}

and its backward is the product with :math:`M^\top`: a gather, a broadcast and their adjoints
(a scatter and a sum) become two small matrix products, 1.6x faster on a batch of 100
five-particle simulations.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import torch

from fieldlab.models.batch import GraphBatch
from fieldlab.models.graphs import full_edges


@dataclass(frozen=True)
class Edges:
    src: torch.Tensor
    dst: torch.Tensor
    n_nodes: int
    degree: int | None
    """In-degree of every node when the graph is regular and grouped by destination, else None."""
    in_degree: torch.Tensor
    """``(N, 1)`` in-degree, at least 1 (so that means of isolated nodes are 0)."""
    particles: int | None = None
    """``P`` when the graph is :func:`~fieldlab.models.graphs.build_graph`'s ``full`` layout."""

    @classmethod
    def of(cls, g: GraphBatch) -> Edges:
        src, dst = g.edges()
        n = g.num_nodes()
        e = len(dst)
        degree = None
        if n and e % n == 0:
            k = e // n
            grouped = torch.arange(n, device=dst.device).repeat_interleave(k)
            if torch.equal(dst, grouped):
                degree = k
        counts = torch.bincount(dst, minlength=n).clamp_min(1)[:, None]
        particles = None
        if degree is not None and n % (degree + 1) == 0:
            full_src, _ = full_edges(n // (degree + 1), degree + 1)
            if torch.equal(src, full_src.to(src.device)):
                particles = degree + 1
        return cls(src, dst, n, degree, counts, particles)

    def pair(self, src_feat: torch.Tensor, dst_feat: torch.Tensor) -> torch.Tensor:
        """``src_feat[j] + dst_feat[i]`` on every edge ``j -> i``: ``(E, F)``."""
        if self.particles is not None:
            p, f = self.particles, src_feat.shape[-1]
            both = torch.cat([src_feat.view(-1, p, f), dst_feat.view(-1, p, f)], dim=1)
            m = _selector(p, src_feat.dtype, src_feat.device)
            return torch.matmul(m, both).view(-1, f)
        a = src_feat.index_select(0, self.src)
        if self.degree is not None:
            f = a.shape[-1]
            return (a.view(self.n_nodes, self.degree, f) + dst_feat.unsqueeze(1)).view(-1, f)
        return a + dst_feat.index_select(0, self.dst)

    def sum(self, msg: torch.Tensor) -> torch.Tensor:
        """Sum of incoming edge messages ``(E, F)`` per node: ``(N, F)``."""
        if self.degree is not None:
            return msg.view(self.n_nodes, self.degree, -1).sum(1)
        out = msg.new_zeros(self.n_nodes, msg.shape[-1])
        return out.index_add(0, self.dst, msg)

    def weighted_sum(self, h: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        r""":math:`\sum_{j \to i} w_{ji} \odot h_j` for node features ``h (N, ...)`` and edge
        weights ``w (E, ...)`` of the same trailing shape: ``(N, ...)``.

        On a regular layout the product is formed in an ``(N, k, ...)`` view, so the backward
        pass multiplies by the sum's broadcast gradient without copying it."""
        hj = h.index_select(0, self.src)
        if self.degree is not None:
            shape = (self.n_nodes, self.degree, *h.shape[1:])
            return (hj.view(shape) * w.view(shape)).sum(1)
        return h.new_zeros(h.shape).index_add(0, self.dst, hj * w)

    def mean(self, msg: torch.Tensor) -> torch.Tensor:
        """Mean of incoming edge messages per node (0 for a node without any)."""
        return self.sum(msg) / self.in_degree.to(msg.dtype)


@lru_cache(maxsize=16)
def _selector(particles: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """The ``(P(P-1), 2P)`` matrix :math:`M` of :meth:`Edges.pair` on a full graph."""
    src, dst = full_edges(1, particles)
    m = torch.zeros(len(src), 2 * particles, dtype=dtype, device=device)
    rows = torch.arange(len(src))
    m[rows, src] = 1.0
    m[rows, particles + dst] = 1.0
    return m
