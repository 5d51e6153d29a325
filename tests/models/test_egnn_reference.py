"""fieldlab's rearranged EGNN computes the reference EGNN_vel's function, values and gradients."""

from __future__ import annotations

import pytest
import torch

from fieldlab.models import GraphSpec, build_graph, build_model
from fieldlab.simulators import simulate
from fieldlab.testing.reference_egnn import ReferenceEGNN

BOTH = ("scalar_product", "input_sq_distance")


def _state(n_sims: int = 8):
    r = simulate("charged-egnn", n_sims, seed=3, params={"n_steps": 400})
    x = torch.as_tensor(r.position[:, -1], dtype=torch.float64)
    v = torch.as_tensor(r.velocity[:, -1], dtype=torch.float64)
    q = torch.as_tensor(r.variables["charge"], dtype=torch.float64)
    return x, v, q


@pytest.mark.parametrize("aggregation", ["scatter", "index"])
@pytest.mark.parametrize("kind", ["full", "knn"])
@pytest.mark.parametrize("edges", [("scalar_product",), BOTH])
def test_egnn_matches_the_reference_formulation(
    kind: str, edges: tuple[str, ...], aggregation: str
) -> None:
    torch.manual_seed(0)
    ours = build_model(
        "egnn", dim=3, node_features=2, edge_features=len(edges), hidden=16, layers=3
    ).double()
    with torch.no_grad():  # move every weight off its initialisation, so that each one matters
        for p in ours.parameters():
            p.add_(0.05 * torch.randn_like(p))
    ref = ReferenceEGNN.like(ours, aggregation)

    x, v, q = _state()
    spec = GraphSpec(kind=kind, k=3, node_features=("speed", "scalar"), edge_features=edges)
    g = build_graph(x, v, q, spec)
    row, col = g.edges()[1], g.edges()[0]  # the reference's row is the receiving node i
    args = (g.ndata["attr"], g.ndata["position"], g.ndata["velocity"], row, col, g.edata["attr"])

    got, want = ours(g).position, ref(*args)
    assert float((want - x.reshape(-1, 3)).abs().max()) > 1e-2  # the layers moved the particles
    assert float((want - x.reshape(-1, 3)).abs().max()) < 10.0  # far from the clip at 100
    torch.testing.assert_close(got, want, rtol=0, atol=1e-11)

    target = torch.randn_like(want)
    ((got - target) ** 2).sum().backward()
    ((want - target) ** 2).sum().backward()
    for a, b in zip(ours.layers, ref.layers, strict=True):
        fused = torch.cat(
            [a.dst_proj.weight.grad, a.src_proj.weight.grad, a.edge_in.weight.grad], 1
        )
        torch.testing.assert_close(fused, b.edge[0].weight.grad, rtol=0, atol=1e-9)
        torch.testing.assert_close(a.dst_proj.bias.grad, b.edge[0].bias.grad, rtol=0, atol=1e-9)
        torch.testing.assert_close(a.edge_out.weight.grad, b.edge[2].weight.grad, rtol=0, atol=1e-9)
        for mine, theirs in ((a.coord, b.coord), (a.vel, b.vel), (a.node, b.node)):
            for p, r in zip(mine.parameters(), theirs.parameters(), strict=True):
                if r.grad is None:  # the last layer's node update does not reach the positions
                    assert p.grad is None or float(p.grad.abs().max()) == 0.0
                    continue
                torch.testing.assert_close(p.grad, r.grad, rtol=0, atol=1e-9)
    torch.testing.assert_close(ours.embed.weight.grad, ref.embed.weight.grad, rtol=0, atol=1e-9)
