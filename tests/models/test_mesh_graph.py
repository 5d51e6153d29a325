"""Mesh graphs of regular grids, and the mesh GNN's translation equivariance on the torus."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fieldlab.models import Mesh, build_grid_model, build_mesh_graph
from fieldlab.models.edges import Edges
from fieldlab.models.mesh_graph import EDGE_FEATURES, STENCILS, mesh_topology


def _mesh(periodic: bool, ny: int = 5, nx: int = 7) -> Mesh:
    return Mesh(ny, nx, hy=0.5, hx=0.25, y0=-1.0, x0=2.0, periodic=periodic)


def _degrees(mesh: Mesh, neighbours: int) -> np.ndarray:
    g = build_mesh_graph(torch.zeros(1, mesh.ny, mesh.nx, 1), mesh, neighbours)
    return g.in_degrees().numpy().reshape(mesh.ny, mesh.nx)


@pytest.mark.parametrize("neighbours", [4, 8])
def test_periodic_mesh_is_regular_and_dense(neighbours: int) -> None:
    mesh = _mesh(periodic=True)
    assert (_degrees(mesh, neighbours) == neighbours).all()
    g = build_mesh_graph(torch.zeros(3, mesh.ny, mesh.nx, 2), mesh, neighbours)
    assert g.num_edges() == 3 * mesh.n_nodes * neighbours
    assert Edges.of(g).degree == neighbours  # grouped by destination: dense aggregation
    src, dst = g.edges()
    assert not ((src == dst).any())
    pairs = set(zip(src.tolist(), dst.tolist(), strict=True))
    assert len(pairs) == g.num_edges()  # no duplicate edges


def test_bounded_mesh_drops_neighbours_beyond_the_walls() -> None:
    mesh = _mesh(periodic=False)
    four, eight = _degrees(mesh, 4), _degrees(mesh, 8)
    corner, side, interior = (0, 0), (0, 3), (2, 3)
    assert [four[corner], four[side], four[interior]] == [2, 3, 4]
    assert [eight[corner], eight[side], eight[interior]] == [3, 5, 8]
    ny, nx = mesh.ny, mesh.nx
    assert four.sum() == 2 * (ny * (nx - 1) + nx * (ny - 1))
    assert eight.sum() == four.sum() + 4 * (ny - 1) * (nx - 1)


@pytest.mark.parametrize("periodic", [False, True])
@pytest.mark.parametrize("neighbours", [4, 8])
def test_offsets_point_from_receiver_to_sender(periodic: bool, neighbours: int) -> None:
    mesh = _mesh(periodic)
    g = build_mesh_graph(torch.zeros(2, mesh.ny, mesh.nx, 1, dtype=torch.float64), mesh, neighbours)
    src, dst = g.edges()
    pos = mesh.positions().repeat(2, 1)
    d = pos[src] - pos[dst]
    if periodic:  # the short way round the torus
        size = torch.tensor([mesh.nx * mesh.hx, mesh.ny * mesh.hy], dtype=torch.float64)
        d = d - size * torch.round(d / size)
    torch.testing.assert_close(g.edata["offset"], d)
    h = mesh.spacing
    torch.testing.assert_close(g.edata["attr"][:, :2], d / h)
    torch.testing.assert_close(g.edata["attr"][:, 2], d.norm(dim=-1) / h)
    assert g.edata["attr"].shape[1] == EDGE_FEATURES
    steps = {(round(float(y / mesh.hy)), round(float(x / mesh.hx))) for x, y in d}
    assert steps == set(STENCILS[neighbours])
    assert (src // mesh.n_nodes == dst // mesh.n_nodes).all()  # no edge between simulations


def test_periodic_wrap_links_opposite_edges() -> None:
    mesh = _mesh(periodic=True)
    g = build_mesh_graph(torch.zeros(1, mesh.ny, mesh.nx, 1), mesh, 4)
    src, dst = g.edges()
    into_origin = {
        int(s): tuple(round(v, 6) for v in o.tolist())
        for s, t, o in zip(src, dst, g.edata["offset"], strict=True)
        if int(t) == 0
    }
    last_column, last_row = mesh.nx - 1, (mesh.ny - 1) * mesh.nx
    assert into_origin == {
        1: (mesh.hx, 0.0),
        last_column: (-mesh.hx, 0.0),
        mesh.nx: (0.0, mesh.hy),
        last_row: (0.0, -mesh.hy),
    }


def test_topology_is_cached_per_mesh_stencil_and_batch() -> None:
    mesh = _mesh(periodic=True)
    assert mesh_topology(mesh, 8, 4) is mesh_topology(mesh, 8, 4)
    assert mesh_topology(mesh, 8, 4) is not mesh_topology(mesh, 8, 2)
    assert mesh_topology(mesh, 8, 4)[0].shape[0] == 4 * 8 * mesh.n_nodes


def test_mesh_from_coordinates() -> None:
    x = -3 + (np.arange(64) + 0.5) * 6 / 64
    mesh = Mesh.from_coords(x, x[:32], periodic=False)
    assert (mesh.ny, mesh.nx) == (32, 64)
    assert mesh.hx == pytest.approx(6 / 64)
    assert mesh.x0 == pytest.approx(x[0])
    with pytest.raises(ValueError, match="coordinate x is not an increasing, evenly spaced grid"):
        Mesh.from_coords(np.array([0.0, 1.0, 3.0]), x, periodic=False)
    with pytest.raises(ValueError, match="fields of 4 x 4 points do not fit a 32 x 64 mesh"):
        build_mesh_graph(torch.zeros(1, 4, 4, 1), mesh)


def _shift_error(model: torch.nn.Module, mesh: Mesh, neighbours: int, seed: int) -> float:
    """Largest |f(roll u) - roll f(u)|, relative to |f(u)|, over a random field and shift."""
    gen = torch.Generator().manual_seed(seed)
    u = torch.randn(2, mesh.ny, mesh.nx, 2, generator=gen, dtype=torch.float64)
    shift = (
        int(torch.randint(1, mesh.ny, (), generator=gen)),
        int(torch.randint(1, mesh.nx, (), generator=gen)),
    )

    def f(x: torch.Tensor) -> torch.Tensor:
        return model(build_mesh_graph(x, mesh, neighbours)).reshape(*x.shape[:3], -1)

    with torch.no_grad():
        out = f(u)
        moved = f(torch.roll(u, shift, dims=(1, 2)))
    return float((moved - torch.roll(out, shift, dims=(1, 2))).abs().max() / out.abs().max())


@pytest.mark.parametrize("neighbours", [4, 8])
@pytest.mark.parametrize("seed", [0, 1])
def test_mesh_gnn_is_translation_equivariant_on_the_torus(neighbours: int, seed: int) -> None:
    """Shifting the field around a periodic grid shifts the predicted increment with it."""
    torch.manual_seed(seed)
    net = build_grid_model(
        "mesh-gnn",
        node_features=2,
        edge_features=EDGE_FEATURES,
        out_features=2,
        hidden=16,
        layers=3,
    ).double()
    assert _shift_error(net, _mesh(periodic=True, ny=9, nx=12), neighbours, seed) < 1e-12
    # walls break the symmetry: the same check fails on a bounded grid
    assert _shift_error(net, _mesh(periodic=False, ny=9, nx=12), neighbours, seed) > 1e-3
