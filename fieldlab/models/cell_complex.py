r"""Lift a graph to a 2-dimensional cell complex, stored as a DGL heterograph (Kovač et al. 2024,
"E(n) Equivariant Message Passing Cellular Networks"; Bodnar et al. 2021, "Weisfeiler and Lehman
Go Cellular").

Cells: rank 0, the particles (``cell0``); rank 1, the unordered pairs joined by an edge in either
direction (``cell1``); rank 2, the triangles whose three sides are 1-cells (``cell2``), the
2-cells glued along rings of length 3. In a complete graph every chordless ring is a triangle, so
on the fully connected n-body graphs the rings lifted here are all of them: ``P = 5`` particles
give 10 pairs and 10 triangles per simulation.

Relations, named after what the sender is to the receiver (canonical types
``(sender, relation, receiver)``):

====================================  ==================================================
``(cell0, upper, cell0)``             the graph's own edges :math:`j \to i`, in its order
``(cell0, boundary, cell1)``          a particle to each pair it bounds
``(cell1, coboundary, cell0)``        a pair to each of its two particles
``(cell1, boundary, cell2)``          a pair to each triangle it bounds
``(cell2, coboundary, cell1)``        a triangle to each of its three sides
``(cell1, upper, cell1)``             pairs that bound a common triangle
``(cell1, lower, cell1)``             pairs that share a particle
``(cell2, lower, cell2)``             triangles that share a side
====================================  ==================================================

Each relation carries ``edata["vertices"]``, the particles whose positions define the geometry
of the message (the invariants are computed from them by the model): ``(j, i)`` for
``upper``/0; ``(v, w)`` (the sender or receiver particle, then the pair's other end) for the
0-1 relations; ``(a, b, c)`` (the pair, then the triangle's opposite corner) for the 1-2
relations; ``(s, a, b)`` (the shared corner, the sender's and the receiver's other ends) for
1-cell adjacency; ``(a, b, c, d)`` (the shared side, the sender's and the receiver's apex) for
``lower``/2. Cells carry ``ndata["vertices"]``: ``(M1, 2)`` and ``(M2, 3)``, sorted; the graph's
edges carry ``edata["pair"]`` on ``upper``/0, the 1-cell each edge lies on.

Lifting depends on the topology only. :func:`lift` caches the complex of
:func:`~fieldlab.models.graphs.build_graph`'s ``full`` layout by ``(B, P, device)``, so training
pays for it once; other graphs are lifted on every call with vectorised index operations. The
heterograph is built and kept on the CPU; :class:`CellComplex` carries its index tensors to the
batch's device, so the model's hot path is plain torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import dgl
import torch

from fieldlab.models.batch import GraphBatch
from fieldlab.models.edges import Edges
from fieldlab.models.graphs import full_edges

Relation = tuple[str, str, str]
RELATIONS: tuple[Relation, ...] = (
    ("cell0", "upper", "cell0"),
    ("cell0", "boundary", "cell1"),
    ("cell1", "coboundary", "cell0"),
    ("cell1", "boundary", "cell2"),
    ("cell2", "coboundary", "cell1"),
    ("cell1", "upper", "cell1"),
    ("cell1", "lower", "cell1"),
    ("cell2", "lower", "cell2"),
)
"""Every relation of the lifted complex, as DGL canonical edge types."""


@dataclass(frozen=True)
class CellComplex:
    """The index tensors of a lifted complex, read once from its heterograph for the hot path."""

    graph: dgl.DGLGraph
    """The heterograph (storage: cell counts, relations and their ``vertices``)."""
    n_cells: tuple[int, int, int]
    pairs: torch.Tensor
    """``(M1, 2)`` the particles of each 1-cell."""
    triangles: torch.Tensor
    """``(M2, 3)`` the particles of each 2-cell."""
    edge_pair: torch.Tensor
    """``(E,)`` the 1-cell of each graph edge."""
    senders: dict[Relation, torch.Tensor]
    receivers: dict[Relation, torch.Tensor]
    vertices: dict[Relation, torch.Tensor]

    @classmethod
    def of(cls, hg: dgl.DGLGraph) -> CellComplex:
        senders, receivers, vertices = {}, {}, {}
        for rel in RELATIONS:
            senders[rel], receivers[rel] = hg.edges(etype=rel)
            vertices[rel] = hg.edges[rel].data["vertices"]
        return cls(
            hg,
            (hg.num_nodes("cell0"), hg.num_nodes("cell1"), hg.num_nodes("cell2")),
            hg.nodes["cell1"].data["vertices"],
            hg.nodes["cell2"].data["vertices"],
            hg.edges[RELATIONS[0]].data["pair"],
            senders,
            receivers,
            vertices,
        )

    def to(self, device: torch.device) -> CellComplex:
        """The index tensors on ``device``; the heterograph stays on the CPU (DGL's storage)."""
        if self.pairs.device == device:
            return self

        def move(d: dict[Relation, torch.Tensor]) -> dict[Relation, torch.Tensor]:
            return {r: t.to(device) for r, t in d.items()}

        return CellComplex(
            self.graph,
            self.n_cells,
            self.pairs.to(device),
            self.triangles.to(device),
            self.edge_pair.to(device),
            move(self.senders),
            move(self.receivers),
            move(self.vertices),
        )


def lift(g: GraphBatch) -> CellComplex:
    """The cell complex of ``g`` (cached for the ``full`` layout of ``build_graph``)."""
    edges = Edges.of(g)
    if edges.particles is not None:
        p = edges.particles
        return _full_complex(g.num_nodes() // p, p, g.device)
    src, dst = g.edges()
    return CellComplex.of(lift_edges(src, dst, g.num_nodes())).to(g.device)


@lru_cache(maxsize=16)
def _full_complex(n_graphs: int, n_particles: int, device: torch.device) -> CellComplex:
    src, dst = full_edges(n_graphs, n_particles)
    return CellComplex.of(lift_edges(src, dst, n_graphs * n_particles)).to(device)


def _pairs_within_groups(group: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """All ordered pairs ``(a, b)``, ``a != b``, of positions in ``group`` with equal values."""
    order = torch.argsort(group, stable=True)
    g = group[order]
    _, counts = torch.unique_consecutive(g, return_counts=True)
    starts = torch.cumsum(counts, 0) - counts
    size = counts.repeat_interleave(counts)  # group size at each sorted position
    start = starts.repeat_interleave(counts)
    first = torch.arange(len(g)).repeat_interleave(size)
    second = start.repeat_interleave(size) + _ranges(size)
    keep = first != second
    return order[first[keep]], order[second[keep]]


def _ranges(lengths: torch.Tensor) -> torch.Tensor:
    """``cat([arange(n) for n in lengths])``."""
    total = int(lengths.sum())
    offsets = (torch.cumsum(lengths, 0) - lengths).repeat_interleave(lengths)
    return torch.arange(total) - offsets


def lift_edges(src: torch.Tensor, dst: torch.Tensor, n_nodes: int) -> dgl.DGLGraph:
    """The heterograph of the cell complex of the graph with edges ``src -> dst`` (CPU tensors)."""
    src, dst = src.cpu(), dst.cpu()
    lo, hi = torch.minimum(src, dst), torch.maximum(src, dst)
    key = lo * n_nodes + hi
    pair_key = torch.unique(key[lo != hi])  # sorted by (lo, hi)
    pi, pj = pair_key // n_nodes, pair_key % n_nodes
    edge_pair = torch.searchsorted(pair_key, key).clamp_max(max(len(pair_key) - 1, 0))

    # triangles a < b < c: extend each pair (a, b) by every pair (b, c), keep those with (a, c)
    first_of = torch.searchsorted(pi, torch.arange(n_nodes + 1))
    count = first_of[1:] - first_of[:-1]
    ext = count[pj]
    ab = torch.arange(len(pi)).repeat_interleave(ext)
    bc = first_of[pj].repeat_interleave(ext) + _ranges(ext)
    ac_key = pi[ab] * n_nodes + pj[bc]
    ac = torch.searchsorted(pair_key, ac_key).clamp_max(max(len(pair_key) - 1, 0))
    found = pair_key[ac] == ac_key if len(pair_key) else ac_key.new_zeros(0, dtype=torch.bool)
    ab, bc, ac = ab[found], bc[found], ac[found]
    tri = torch.stack([pi[ab], pj[ab], pj[bc]], dim=-1)  # (M2, 3)
    n_tri = len(tri)

    # rank 0 <-> 1
    p_idx = torch.arange(len(pi))
    v01 = torch.cat([pi, pj])
    p01 = torch.cat([p_idx, p_idx])
    w01 = torch.cat([pj, pi])
    # rank 1 <-> 2: each side with its opposite corner
    t_idx = torch.arange(n_tri)
    side = torch.cat([ab, bc, ac])
    t12 = torch.cat([t_idx, t_idx, t_idx])
    geo12 = torch.cat([tri[:, [0, 1, 2]], tri[:, [1, 2, 0]], tri[:, [0, 2, 1]]])
    # 1-cells sharing a triangle: ordered pairs of its sides, with the shared corner
    sides = torch.stack([ab, bc, ac], dim=-1)
    corner_between = torch.tensor([[-1, 1, 0], [1, -1, 2], [0, 2, -1]])  # side x side -> corner
    u1 = [(s, r) for s in range(3) for r in range(3) if s != r]
    up_s = torch.cat([sides[:, s] for s, _ in u1])
    up_r = torch.cat([sides[:, r] for _, r in u1])
    up_shared = torch.cat([tri[:, corner_between[s, r]] for s, r in u1])
    # 1-cells sharing a particle
    lo_a, lo_b = _pairs_within_groups(v01)
    lo_s, lo_r = p01[lo_a], p01[lo_b]
    # 2-cells sharing a side
    tl_a, tl_b = _pairs_within_groups(side)

    def other(pair: torch.Tensor, corner: torch.Tensor) -> torch.Tensor:
        return torch.where(pi[pair] == corner, pj[pair], pi[pair])

    rel = {
        RELATIONS[0]: (src, dst, torch.stack([src, dst], -1)),
        RELATIONS[1]: (v01, p01, torch.stack([v01, w01], -1)),
        RELATIONS[2]: (p01, v01, torch.stack([v01, w01], -1)),
        RELATIONS[3]: (side, t12, geo12),
        RELATIONS[4]: (t12, side, geo12),
        RELATIONS[5]: (
            up_s,
            up_r,
            torch.stack([up_shared, other(up_s, up_shared), other(up_r, up_shared)], -1),
        ),
        RELATIONS[6]: (
            lo_s,
            lo_r,
            torch.stack([v01[lo_a], w01[lo_a], w01[lo_b]], -1),
        ),
        RELATIONS[7]: (
            t12[tl_a],
            t12[tl_b],
            torch.cat([geo12[tl_a], geo12[tl_b][:, 2:]], dim=-1),
        ),
    }
    hg = dgl.heterograph(
        {r: (s, t) for r, (s, t, _) in rel.items()},
        num_nodes_dict={"cell0": n_nodes, "cell1": len(pi), "cell2": n_tri},
    )
    for r, (_, _, geo) in rel.items():
        hg.edges[r].data["vertices"] = geo
    hg.nodes["cell1"].data["vertices"] = torch.stack([pi, pj], dim=-1)
    hg.nodes["cell2"].data["vertices"] = tri
    hg.edges[RELATIONS[0]].data["pair"] = edge_pair
    return hg
