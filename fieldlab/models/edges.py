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
"""

from __future__ import annotations

from dataclasses import dataclass

import dgl
import torch


@dataclass(frozen=True)
class Edges:
    src: torch.Tensor
    dst: torch.Tensor
    n_nodes: int
    degree: int | None
    """In-degree of every node when the graph is regular and grouped by destination, else None."""
    in_degree: torch.Tensor
    """``(N, 1)`` in-degree, at least 1 (so that means of isolated nodes are 0)."""

    @classmethod
    def of(cls, g: dgl.DGLGraph) -> Edges:
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
        return cls(src, dst, n, degree, counts)

    def pair(self, src_feat: torch.Tensor, dst_feat: torch.Tensor) -> torch.Tensor:
        """``src_feat[j] + dst_feat[i]`` on every edge ``j -> i``: ``(E, F)``."""
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

    def mean(self, msg: torch.Tensor) -> torch.Tensor:
        """Mean of incoming edge messages per node (0 for a node without any)."""
        return self.sum(msg) / self.in_degree.to(msg.dtype)
