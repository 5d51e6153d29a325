r"""E(n)-invariant features of the cells of a lifted complex and of their adjacencies
(for :mod:`fieldlab.models.empcn`; the cells and the ``vertices`` tuples are described in
:mod:`fieldlab.models.cell_complex`).

With :math:`d^2_{ab} = |x_a - x_b|^2`, and for a corner :math:`s` of a triangle :math:`(s, a, b)`
with :math:`u = x_a - x_s`, :math:`w = x_b - x_s`, the cosine of its angle
:math:`\cos_s = u \cdot w / (|u| |w|)` and its area :math:`A = \tfrac12 \sqrt{|u|^2 |w|^2 - (u
\cdot w)^2}` (valid in any dimension):

=======================================  =====================================================
relation (``vertices``)                  invariants
=======================================  =====================================================
0-0 ``upper`` :math:`(j, i)`             :math:`d^2_{ij}` and the edge's attributes
0-1, 1-0 :math:`(v, w)`                  :math:`d^2_{vw}`, the pair's squared length
1-2, 2-1 :math:`(a, b, c)`               :math:`d^2_{ab}`, :math:`A_{abc}`, :math:`\cos_c`
1-1 ``upper``/``lower`` :math:`(s, a, b)` :math:`\cos_s`, :math:`d^2_{ab}`, :math:`A_{sab}`
2-2 ``lower`` :math:`(a, b, c, d)`       :math:`d^2_{cd}` and the cosine of the angle between
                                         the heights of :math:`c` and :math:`d` over the
                                         shared side :math:`ab` (the dihedral angle in 3-D)
=======================================  =====================================================

Cells: a 1-cell :math:`(i, j)` has :math:`d^2_{ij}` and the mean of the attributes of the graph
edges that lie on it; a 2-cell has its area and the sum of its squared sides.

Square roots and quotients carry :math:`\epsilon = 10^{-12}` so that collinear or coincident
particles give finite values and gradients; every quantity is a function of distances and dot
products of differences, hence invariant under rotations, reflections, translations and
relabelling of the particles.
"""

from __future__ import annotations

import torch

from fieldlab.models.cell_complex import RELATIONS, CellComplex, Relation

EPS = 1e-12


def _sq(u: torch.Tensor) -> torch.Tensor:
    return (u * u).sum(-1)


def _corner(x: torch.Tensor, s: torch.Tensor, a: torch.Tensor, b: torch.Tensor):
    """Cosine at ``s`` and area of the triangles ``(s, a, b)``."""
    u, w = x[a] - x[s], x[b] - x[s]
    uu, ww, uw = _sq(u), _sq(w), (u * w).sum(-1)
    cos = uw / (uu * ww + EPS).sqrt()
    area = 0.5 * ((uu * ww - uw * uw).clamp_min(0.0) + EPS).sqrt()
    return cos, area


def relation_invariants(x: torch.Tensor, cc: CellComplex, rel: Relation) -> torch.Tensor:
    """``(R, k)`` invariants of relation ``rel`` from the particle positions ``x (N, D)``."""
    v = cc.vertices[rel]
    if "cell0" in (rel[0], rel[2]):
        return _sq(x[v[:, 0]] - x[v[:, 1]])[:, None]
    if rel[0] == rel[2] == "cell1":
        cos, area = _corner(x, v[:, 0], v[:, 1], v[:, 2])
        return torch.stack([cos, _sq(x[v[:, 1]] - x[v[:, 2]]), area], dim=-1)
    if rel[0] == rel[2] == "cell2":
        a, b, c, d = v.unbind(-1)
        e = x[b] - x[a]
        e = e / (_sq(e) + EPS).sqrt()[:, None]
        hc, hd = x[c] - x[a], x[d] - x[a]
        hc = hc - (hc * e).sum(-1, keepdim=True) * e
        hd = hd - (hd * e).sum(-1, keepdim=True) * e
        cos = (hc * hd).sum(-1) / (_sq(hc) * _sq(hd) + EPS).sqrt()
        return torch.stack([_sq(x[c] - x[d]), cos], dim=-1)
    # a side and its triangle (a, b) + c
    cos, area = _corner(x, v[:, 2], v[:, 0], v[:, 1])
    return torch.stack([_sq(x[v[:, 0]] - x[v[:, 1]]), area, cos], dim=-1)


def invariant_width(rel: Relation, edge_features: int) -> int:
    """Number of invariants :func:`relation_invariants` returns for ``rel`` (0-0: + edge ones)."""
    if rel == RELATIONS[0]:
        return 1 + edge_features
    if "cell0" in (rel[0], rel[2]):
        return 1
    if rel[0] == rel[2] == "cell2":
        return 2
    return 3


def cell_features(
    x: torch.Tensor, cc: CellComplex, edge_attr: torch.Tensor, edge_pair: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Invariant features of the 1-cells ``(M1, 1 + F_e)`` and the 2-cells ``(M2, 2)``.

    ``edge_attr (E', F_e)`` are attributes of graph edges that lie on the 1-cells
    ``edge_pair (E',)``; a 1-cell gets their mean (zero when no edge lies on it)."""
    m1 = cc.n_cells[1]
    i, j = cc.pairs.unbind(-1)
    total = edge_attr.new_zeros(m1, edge_attr.shape[-1]).index_add(0, edge_pair, edge_attr)
    count = torch.bincount(edge_pair, minlength=m1).clamp_min(1)[:, None].to(edge_attr.dtype)
    h1 = torch.cat([_sq(x[i] - x[j])[:, None], total / count], dim=-1)
    a, b, c = cc.triangles.unbind(-1)
    _, area = _corner(x, a, b, c)
    sides = _sq(x[a] - x[b]) + _sq(x[b] - x[c]) + _sq(x[a] - x[c])
    return h1, torch.stack([area, sides], dim=-1)
