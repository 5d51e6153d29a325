"""Edges' fast paths (selector product, dense sums) agree with plain gathers and scatters."""

from __future__ import annotations

import pytest
import torch

from fieldlab.models import GraphSpec, build_graph
from fieldlab.models.edges import Edges

SPECS = {
    "full": GraphSpec(kind="full"),
    "knn": GraphSpec(kind="knn", k=3),
    "radius": GraphSpec(kind="radius", radius=1.5),
}


def _graph(kind: str, n_graphs: int = 4, n_particles: int = 6):
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(n_graphs, n_particles, 3, generator=gen, dtype=torch.float64)
    v = torch.randn(n_graphs, n_particles, 3, generator=gen, dtype=torch.float64)
    return build_graph(x, v, None, SPECS[kind])


@pytest.mark.parametrize("kind", list(SPECS))
def test_pair_sum_and_mean_match_index_operations_with_gradients(kind: str) -> None:
    g = _graph(kind)
    edges = Edges.of(g)
    assert (edges.particles is not None) == (kind == "full")
    assert (edges.degree is not None) == (kind != "radius")
    src, dst = g.edges()
    n, f = g.num_nodes(), 7
    gen = torch.Generator().manual_seed(2)
    a = torch.randn(n, f, generator=gen, dtype=torch.float64, requires_grad=True)
    b = torch.randn(n, f, generator=gen, dtype=torch.float64, requires_grad=True)
    w = torch.randn(len(src), f, generator=gen, dtype=torch.float64)

    fast = edges.pair(a, b)
    plain = a[src] + b[dst]
    torch.testing.assert_close(fast, plain, rtol=0, atol=1e-15)
    grads_fast = torch.autograd.grad((fast * w).sum(), (a, b))
    grads_plain = torch.autograd.grad((plain * w).sum(), (a, b))
    for got, want in zip(grads_fast, grads_plain, strict=True):
        torch.testing.assert_close(got, want, rtol=0, atol=1e-13)

    summed = torch.zeros(n, f, dtype=torch.float64).index_add(0, dst, w)
    torch.testing.assert_close(edges.sum(w), summed, rtol=0, atol=1e-13)
    count = torch.bincount(dst, minlength=n).clamp_min(1)[:, None].to(w.dtype)
    torch.testing.assert_close(edges.mean(w), summed / count, rtol=0, atol=1e-13)


@pytest.mark.parametrize("kind", list(SPECS))
def test_weighted_sum_matches_a_sum_over_each_nodes_incoming_edges_with_gradients(
    kind: str,
) -> None:
    g = _graph(kind)
    src, dst = g.edges()
    gen = torch.Generator().manual_seed(3)
    h = torch.randn(g.num_nodes(), 4, 5, generator=gen, dtype=torch.float64, requires_grad=True)
    w = torch.randn(len(src), 4, 5, generator=gen, dtype=torch.float64, requires_grad=True)
    got = Edges.of(g).weighted_sum(h, w)
    want = torch.stack([(w[dst == i] * h[src[dst == i]]).sum(0) for i in range(g.num_nodes())])
    torch.testing.assert_close(got, want, rtol=0, atol=1e-14)
    probe = torch.randn(want.shape, generator=gen, dtype=torch.float64)
    grads = torch.autograd.grad((got * probe).sum(), (h, w))
    for a, b in zip(grads, torch.autograd.grad((want * probe).sum(), (h, w)), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-14)
        assert a.is_contiguous()


def test_a_knn_graph_that_links_every_pair_is_recognised_as_full_only_in_full_order() -> None:
    g = _graph("knn", n_particles=4)  # k = 3 = P - 1: every pair, in order of distance
    edges = Edges.of(g)
    src = g.edges()[0]
    full_order = torch.equal(src, build_graph(*_state_of(g), None, SPECS["full"]).edges()[0])
    assert (edges.particles is not None) == full_order
    a, b = torch.randn(g.num_nodes(), 2), torch.randn(g.num_nodes(), 2)
    torch.testing.assert_close(edges.pair(a, b), a[src] + b[g.edges()[1]])


def _state_of(g):
    n_graphs = g.batch_size
    x = g.ndata["position"].view(n_graphs, -1, 3)
    return x, g.ndata["velocity"].view(n_graphs, -1, 3)
