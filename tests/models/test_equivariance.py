"""Every model is checked with fieldlab.testing: EGNN is E(n) x permutation equivariant, the GNN is not."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fieldlab.models import GraphSpec, build_graph, build_model
from fieldlab.simulators import simulate
from fieldlab.testing import EquivarianceError, assert_equivariant, equivariance_error


def _graph(dim: int, kind: str = "full", dtype: torch.dtype = torch.float32):
    r = simulate("charged-egnn", 6, seed=0, params={"dim": dim, "n_steps": 600})
    x = torch.as_tensor(r.position[:, -1], dtype=dtype)
    v = torch.as_tensor(r.velocity[:, -1], dtype=dtype)
    q = torch.as_tensor(r.variables["charge"], dtype=dtype)
    return build_graph(x, v, q, GraphSpec(kind=kind, k=3, node_features=("speed", "scalar")))


@pytest.mark.parametrize("dim", [2, 3])
@pytest.mark.parametrize("kind", ["full", "knn"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_egnn_is_equivariant_in_float32(dim: int, kind: str, seed: int) -> None:
    torch.manual_seed(seed)
    model = build_model("egnn", dim=dim, node_features=2, hidden=32, layers=4)
    _perturb(model)
    err = assert_equivariant(model, _graph(dim, kind), seed=seed)
    assert err < 1e-5


def test_egnn_is_equivariant_to_1e10_in_float64() -> None:
    torch.manual_seed(0)
    model = build_model("egnn", dim=3, node_features=2).double()
    _perturb(model)
    assert assert_equivariant(model, _graph(3, dtype=torch.float64), seed=3) < 1e-10


def test_linear_baseline_is_equivariant() -> None:
    model = build_model("linear", dim=3, node_features=2)
    with torch.no_grad():
        model.alpha.fill_(0.7)
    assert_equivariant(model, _graph(3))


def test_plain_gnn_is_measurably_not_equivariant() -> None:
    torch.manual_seed(0)
    model = build_model("gnn", dim=3, node_features=2)
    g = _graph(3)
    assert equivariance_error(model, g) > 1e-2
    with pytest.raises(EquivarianceError, match="GNN is not E\\(n\\)-equivariant"):
        assert_equivariant(model, g)


def test_the_check_catches_a_model_that_breaks_only_translation() -> None:
    """A model equivariant to rotations but not translations must fail: the check can fail."""

    class Scale(torch.nn.Module):
        def forward(self, g):
            from fieldlab.models import Prediction

            return Prediction(1.5 * g.ndata["position"], g.ndata["velocity"])

    with pytest.raises(EquivarianceError):
        assert_equivariant(Scale(), _graph(2))


def _perturb(model: torch.nn.Module) -> None:
    """Move the near-zero coordinate heads away from zero so the check has something to check."""
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.1 * torch.randn_like(p))


def test_graph_topologies() -> None:
    x = torch.as_tensor(np.random.default_rng(0).normal(size=(4, 7, 3)), dtype=torch.float32)
    v = torch.zeros_like(x)
    full = build_graph(x, v, None, GraphSpec(kind="full"))
    assert full.num_edges() == 4 * 7 * 6
    src, dst = full.edges()
    assert torch.equal(src // 7, dst // 7)  # no edge crosses simulations
    assert not torch.any(src == dst)
    knn = build_graph(x, v, None, GraphSpec(kind="knn", k=2))
    src, dst = knn.edges()
    d = (knn.ndata["position"][src] - knn.ndata["position"][dst]).norm(dim=-1)
    for node in range(28):  # the 2 sources of each node are its 2 nearest particles
        b = node // 7
        others = [j for j in range(b * 7, b * 7 + 7) if j != node]
        dist = (x.reshape(-1, 3)[others] - x.reshape(-1, 3)[node]).norm(dim=-1).sort().values
        assert torch.allclose(d[dst == node].sort().values, dist[:2])
    rad = build_graph(x, v, None, GraphSpec(kind="radius", radius=1.0))
    src, dst = rad.edges()
    assert torch.all((rad.ndata["position"][src] - rad.ndata["position"][dst]).norm(dim=-1) < 1.0)
    assert torch.equal(full.edata["attr"], torch.ones(full.num_edges(), 1))
