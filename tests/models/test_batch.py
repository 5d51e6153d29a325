"""The torch-native batch: what DGL would hold, movable to any device, read alike by every model."""

from __future__ import annotations

import pytest
import torch

from fieldlab.models import GraphSpec, build_graph, build_model
from fieldlab.models.batch import GraphBatch, stack
from fieldlab.testing.particles import SPEC, charged_batch


def _batch(spec: GraphSpec = SPEC) -> GraphBatch:
    b = charged_batch(3, 3, seed=0, dtype=torch.float64)
    return build_graph(b.position, b.velocity, b.charge, spec)


@pytest.mark.parametrize("kind", ["full", "knn", "radius"])
def test_a_batch_round_trips_through_dgl_unchanged(kind: str) -> None:
    spec = SPEC.model_copy(update={"kind": kind, "k": 2, "radius": 1.5})
    g = _batch(spec)
    back = GraphBatch.from_dgl(g.to_dgl())
    for a, b in ((g.src, back.src), (g.dst, back.dst), (g.sizes, back.sizes)):
        assert torch.equal(a, b)
    assert torch.equal(g.edge_sizes, back.edge_sizes)
    assert back.ndata.keys() == g.ndata.keys()
    for key in g.ndata:
        assert torch.equal(g.ndata[key], back.ndata[key])
    assert int(g.edge_sizes.sum()) == g.num_edges()
    assert torch.equal(g.in_degrees(), back.to_dgl().in_degrees())


@pytest.mark.parametrize("name", ["egnn", "gnn", "linear", "ponita", "empcn", "fa-gnn"])
def test_every_particle_model_reads_a_batch_as_it_reads_the_same_dgl_graph(name: str) -> None:
    torch.manual_seed(0)
    g = _batch()
    model = build_model(name, dim=3, node_features=2, edge_features=1, hidden=8, layers=1)
    model = model.double().eval()
    with torch.no_grad():
        a, b = model(g), model(GraphBatch.from_dgl(g.to_dgl()))
    assert torch.equal(a.position, b.position)
    assert torch.equal(a.velocity, b.velocity)


def test_features_set_in_a_local_scope_are_dropped_after_it() -> None:
    g = _batch()
    before = g.ndata["position"]
    with g.local_scope():
        g.ndata["position"] = before * 2
        g.ndata["extra"] = before
    assert g.ndata["position"] is before
    assert "extra" not in g.ndata


def test_stacked_copies_are_disjoint_graphs_in_copy_major_order() -> None:
    g = _batch()
    s = stack(g, 3)
    assert s.num_nodes() == 3 * g.num_nodes()
    assert s.batch_size == 3 * g.batch_size
    second = slice(g.num_edges(), 2 * g.num_edges())
    assert torch.equal(s.src[second], g.src + g.num_nodes())
    assert torch.equal(s.dst[second], g.dst + g.num_nodes())


def test_moving_to_the_device_it_is_on_is_free_and_to_another_copies() -> None:
    g = _batch()
    assert g.to("cpu") is g
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device: moving a batch to a GPU is checked where there is one")
    moved = g.to("cuda", non_blocking=True)
    assert moved.device.type == "cuda"
    assert torch.equal(moved.ndata["position"].cpu(), g.ndata["position"])
