r"""The graphs of an equivariant neural field, built with DGL, used as plain index tensors.

Two graphs connect the latents :math:`i = 1..N` of one field:

- :func:`latent_query_graph`: the bipartite graph from latents to ``Q`` query coordinates, every
  latent to every query (the decoder's cross-attention; its Gaussian window, not the graph,
  makes each latent act locally). Relation ``("latent", "informs", "query")``.
- :func:`latent_graph`: the complete graph on the latents without self-loops (the latent ODE's
  message passing).

Both are laid out grouped by destination with the same in-degree ``K`` everywhere (``N`` and
``N - 1``), so :class:`EdgeIndex` turns a per-edge tensor ``(B, E, F)`` into a dense
``(B, n_dst, K, F)`` view, and softmaxes and sums over incoming edges become dense reductions
(no scatter). The graphs are the same for every field of a batch (the fields differ by their
poses, not their connectivity), so the index is built once per size on the CPU (DGL 2.1 is
CPU-only here), cached, and copied to the device the batch lives on.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:  # DGL loads when a graph is first built, not when the package is imported
    import dgl

    from fieldlab.models.enf.geometry import Geometry


@dataclass(frozen=True)
class EdgeIndex:
    """Edges ``src[e] -> dst[e]`` grouped by destination, each destination of in-degree
    ``degree``: ``dst = [0]*K + [1]*K + ...``."""

    src: torch.Tensor
    dst: torch.Tensor
    n_dst: int
    degree: int

    @classmethod
    def of(cls, src: torch.Tensor, dst: torch.Tensor, n_dst: int) -> EdgeIndex:
        """Check the grouped, regular layout the dense views rely on."""
        if n_dst == 0 or len(dst) % n_dst:
            raise ValueError(f"{len(dst)} edges cannot give {n_dst} destinations equal in-degree")
        k = len(dst) // n_dst
        if not torch.equal(dst, torch.arange(n_dst).repeat_interleave(k)):
            raise ValueError("edges must be grouped by destination with equal in-degree")
        return cls(src, dst, n_dst, k)

    def to(self, device: torch.device) -> EdgeIndex:
        return EdgeIndex(self.src.to(device), self.dst.to(device), self.n_dst, self.degree)

    def dense(self, edge_feat: torch.Tensor) -> torch.Tensor:
        """``(B, E, ...)`` per-edge features as ``(B, n_dst, degree, ...)``."""
        return edge_feat.view(edge_feat.shape[0], self.n_dst, self.degree, *edge_feat.shape[2:])


def latent_query_graph(n_latents: int, n_queries: int) -> dgl.DGLGraph:
    """Every latent to every query, grouped by query: ``N Q`` edges."""
    src = torch.arange(n_latents).repeat(n_queries)
    dst = torch.arange(n_queries).repeat_interleave(n_latents)
    import dgl

    return dgl.heterograph(
        {("latent", "informs", "query"): (src, dst)},
        num_nodes_dict={"latent": n_latents, "query": n_queries},
    )


def latent_graph(n_latents: int) -> dgl.DGLGraph:
    """The complete graph on ``N`` latents without self-loops, grouped by destination."""
    j = torch.arange(n_latents).repeat(n_latents)
    i = torch.arange(n_latents).repeat_interleave(n_latents)
    keep = i != j
    import dgl

    return dgl.graph((j[keep], i[keep]), num_nodes=n_latents)


@lru_cache(maxsize=32)
def _cached(kind: str, n_latents: int, n_queries: int, device: str) -> EdgeIndex:
    if kind == "query":
        g = latent_query_graph(n_latents, n_queries)
        n_dst = g.num_nodes("query")
    else:
        g = latent_graph(n_latents)
        n_dst = g.num_nodes()
    src, dst = g.edges()
    return EdgeIndex.of(src, dst, n_dst).to(torch.device(device))


def query_index(n_latents: int, n_queries: int, device: torch.device) -> EdgeIndex:
    """The cached :class:`EdgeIndex` of :func:`latent_query_graph` on ``device``."""
    return _cached("query", n_latents, n_queries, str(device))


def latent_index(n_latents: int, device: torch.device) -> EdgeIndex:
    """The cached :class:`EdgeIndex` of :func:`latent_graph` on ``device``."""
    return _cached("latent", n_latents, 0, str(device))


def nearest_latents(
    geometry: Geometry, poses: torch.Tensor, coords: torch.Tensor, k: int
) -> torch.Tensor:
    r"""The ``k`` latents nearest each query, by the domain's :math:`d^2(x, p_i)`: ``(B, Q, k)``.

    Each row lists the sources of one query's ``k`` incoming edges in the sub-graph of
    :func:`latent_query_graph` that the decoder uses with ``nearest`` set; it is chosen per
    field, so it is an index tensor, not a cached graph. The choice carries no gradient;
    a tie for the ``k``-th place is broken arbitrarily. ``poses (B, N, D)``, ``coords (Q, D)``.
    """
    with torch.no_grad():
        d2 = geometry.sq_distance(coords[None, :, None], poses[:, None])  # (B, Q, N)
        return d2.topk(k, dim=-1, largest=False, sorted=False).indices


def gather_latents(per_latent: torch.Tensor, src: torch.Tensor) -> torch.Tensor:
    """Per-latent features ``(B, N, F)`` on the edges ``src (B, Q, k)``: ``(B, Q, k, F)``."""
    b, q, k = src.shape
    flat = src.reshape(b, q * k, 1).expand(-1, -1, per_latent.shape[-1])
    return per_latent.gather(1, flat).view(b, q, k, -1)
