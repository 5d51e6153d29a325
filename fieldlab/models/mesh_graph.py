r"""Batched DGL graphs of regular grids: grid points as nodes, mesh edges to their neighbours.

A grid (PDE) field of ``ny x nx`` points (rows along ``y``, columns along ``x``, the
``(sim, time, y, x)`` layout of grid datasets) becomes a graph with one node per point; point
:math:`(i, j)` of simulation :math:`b` is node :math:`b\, n_y n_x + i\, n_x + j`. Each node
receives an edge from each neighbour of a stencil of integer offsets :math:`(\delta_i, \delta_j)`:

- ``4``: the von Neumann stencil :math:`(0, \pm 1), (\pm 1, 0)` (the 5-point Laplacian's);
- ``8``: the Moore stencil, adding the four diagonals.

**Boundaries.** On a :class:`Mesh` with ``periodic=True`` (a torus, or a box with periodic walls)
indices wrap, :math:`i' = (i + \delta_i) \bmod n_y`, so every node has exactly ``K`` in-edges.
Otherwise (walls) neighbours outside the grid are dropped: edge nodes have fewer in-edges, which
tells a sum-aggregating network where the walls are.

**Edge features.** The relative offset of the sender seen from the receiver,
:math:`d_{ij} = x_j - x_i = (\delta_j h_x, \delta_i h_y)` (``edata["offset"]``, physical units; across
a periodic wrap this is the short way round, the stencil offset itself), and
``edata["attr"]`` :math:`= (d_x / h, d_y / h, |d| / h)` with :math:`h = \min(h_x, h_y)`, so the
features are of order one on any grid. A shift of the field along a periodic grid permutes the
nodes and leaves every edge feature unchanged, which is what makes a message-passing network on
this graph translation equivariant there.

**Speed.** The index arrays depend only on (mesh, stencil, batch size) and are built with tensor
operations (no Python loop over edges) and cached; edges are grouped by destination, so on a
periodic mesh :class:`~fieldlab.models.edges.Edges` aggregates with a dense sum.
Edges point from source ``j`` (the neighbour) to destination ``i``: messages flow into ``i``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field

from fieldlab.models.batch import GraphBatch

Neighbours = Literal[4, 8]

STENCILS: dict[int, tuple[tuple[int, int], ...]] = {
    4: ((0, 1), (1, 0), (0, -1), (-1, 0)),
    8: ((0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1), (-1, 0), (-1, 1)),
}
"""Integer offsets :math:`(\\delta_i, \\delta_j)` (rows along ``y``, columns along ``x``)."""

EDGE_FEATURES = 3
"""Width of ``edata["attr"]``: :math:`(d_x / h, d_y / h, |d| / h)`."""


class MeshSpec(BaseModel):
    """How grid points are connected and which node features they carry beside the fields."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    neighbours: Neighbours = Field(8, description="stencil: 4 (von Neumann) or 8 (Moore)")
    positions: bool = Field(
        False,
        description="add each point's position (scaled to [-1, 1]) as node features; breaks "
        "translation equivariance on periodic grids",
    )


@dataclass(frozen=True)
class Mesh:
    """A regular grid: point :math:`(i, j)` at :math:`(x_0 + j h_x, y_0 + i h_y)`, ``ny x nx``.

    ``periodic`` wraps both axes (the unit torus of Navier-Stokes, periodic walls); otherwise the
    grid is bounded by walls. Frozen and hashable: it keys the topology cache.
    """

    ny: int
    nx: int
    hy: float
    hx: float
    y0: float
    x0: float
    periodic: bool

    def __post_init__(self) -> None:
        if min(self.ny, self.nx) < 3:
            raise ValueError(f"a mesh needs at least 3 x 3 points, got {self.ny} x {self.nx}")
        if not (self.hx > 0 and self.hy > 0):
            raise ValueError(f"grid spacings must be positive, got hx={self.hx}, hy={self.hy}")

    @property
    def extent(self) -> tuple[float, float, float, float]:
        """``(x_min, x_max, y_min, y_max)`` of the cells' outer edges, for drawing."""
        return (
            self.x0 - self.hx / 2,
            self.x0 + (self.nx - 0.5) * self.hx,
            self.y0 - self.hy / 2,
            self.y0 + (self.ny - 0.5) * self.hy,
        )

    @classmethod
    def from_coords(cls, x: np.ndarray, y: np.ndarray, *, periodic: bool) -> Mesh:
        """The mesh of evenly spaced, increasing coordinates ``x (nx,)``, ``y (ny,)``."""
        steps = {}
        for name, c in (("x", np.asarray(x, float)), ("y", np.asarray(y, float))):
            d = np.diff(c)
            if c.ndim != 1 or len(c) < 3 or not np.allclose(d, d[0], rtol=1e-6) or d[0] <= 0:
                raise ValueError(f"coordinate {name} is not an increasing, evenly spaced grid")
            steps[name] = float(d[0])
        return cls(len(y), len(x), steps["y"], steps["x"], float(y[0]), float(x[0]), periodic)

    @property
    def n_nodes(self) -> int:
        return self.ny * self.nx

    @property
    def spacing(self) -> float:
        """:math:`h = \\min(h_x, h_y)`, the unit of the edge features."""
        return min(self.hx, self.hy)

    def positions(self) -> torch.Tensor:
        """``(ny * nx, 2)`` point coordinates ``(x, y)`` in node order (float64)."""
        i, j = torch.meshgrid(
            torch.arange(self.ny, dtype=torch.float64),
            torch.arange(self.nx, dtype=torch.float64),
            indexing="ij",
        )
        return torch.stack([self.x0 + j * self.hx, self.y0 + i * self.hy], -1).reshape(-1, 2)


@lru_cache(maxsize=16)
def _single_topology(
    mesh: Mesh, neighbours: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``src``, ``dst`` ``(E,)`` and offsets ``(E, 2)`` of one grid, grouped by destination."""
    stencil = torch.tensor(STENCILS[neighbours])  # (K, 2): (di, dj)
    i, j = torch.meshgrid(torch.arange(mesh.ny), torch.arange(mesh.nx), indexing="ij")
    si = i[..., None] + stencil[:, 0]  # (ny, nx, K) neighbour rows
    sj = j[..., None] + stencil[:, 1]
    if mesh.periodic:
        si, sj = si % mesh.ny, sj % mesh.nx
        keep = torch.ones_like(si, dtype=torch.bool)
    else:
        keep = (si >= 0) & (si < mesh.ny) & (sj >= 0) & (sj < mesh.nx)
    dst = (i * mesh.nx + j)[..., None].expand_as(si)[keep]
    src = (si * mesh.nx + sj)[keep]
    d = torch.stack([stencil[:, 1] * mesh.hx, stencil[:, 0] * mesh.hy], -1).to(torch.float64)
    offset = d.expand(mesh.ny, mesh.nx, -1, -1)[keep]  # (E, 2): (dx, dy) = x_src - x_dst
    return src, dst, offset


@lru_cache(maxsize=16)
def mesh_topology(
    mesh: Mesh, neighbours: int, n_graphs: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Edges of ``n_graphs`` copies of ``mesh``: ``src``, ``dst`` ``(E,)``, offsets ``(E, 2)``.

    Cached per (mesh, stencil, batch size): a training run builds it once per batch size.
    """
    if neighbours not in STENCILS:
        raise ValueError(f"unknown stencil {neighbours!r}; choose one of: 4, 8")
    src, dst, offset = _single_topology(mesh, neighbours)
    shift = (torch.arange(n_graphs) * mesh.n_nodes)[:, None]
    return (
        (src[None] + shift).reshape(-1),
        (dst[None] + shift).reshape(-1),
        offset.repeat(n_graphs, 1),
    )


def build_mesh_graph(node_attr: torch.Tensor, mesh: Mesh, neighbours: int = 8) -> GraphBatch:
    """One batched graph of ``B`` fields on ``mesh``.

    Args:
        node_attr: ``(B, ny, nx, F)`` node features (field values, and whatever else a model
            reads), in the layout of grid datasets.
        mesh: the grid's geometry and boundary.
        neighbours: the stencil, 4 or 8.

    Returns:
        A :class:`~fieldlab.models.batch.GraphBatch` of ``N = B ny nx`` nodes, on
        ``node_attr``'s device, with ``ndata["attr"] (N, F)`` and ``edata["offset"] (E, 2)``,
        ``edata["attr"] (E, 3)`` (see the module docstring).
    """
    n_graphs, ny, nx, n_feat = node_attr.shape
    if (ny, nx) != (mesh.ny, mesh.nx):
        raise ValueError(f"fields of {ny} x {nx} points do not fit a {mesh.ny} x {mesh.nx} mesh")
    device, dtype = node_attr.device, node_attr.dtype
    src, dst, offset = mesh_topology(mesh, neighbours, n_graphs)
    src, dst = src.to(device), dst.to(device)
    offset = offset.to(device=device, dtype=dtype)
    per_graph = len(src) // max(n_graphs, 1)
    scaled = offset / mesh.spacing
    return GraphBatch(
        src,
        dst,
        n_graphs * mesh.n_nodes,
        torch.full((n_graphs,), mesh.n_nodes, dtype=torch.int64, device=device),
        torch.full((n_graphs,), per_graph, dtype=torch.int64, device=device),
        {"attr": node_attr.reshape(-1, n_feat)},
        {"offset": offset, "attr": torch.cat([scaled, scaled.norm(dim=-1, keepdim=True)], -1)},
    )
