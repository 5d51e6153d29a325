"""Every model is checked with fieldlab.testing: EGNN is E(n) x permutation equivariant, the GNN is not."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fieldlab.models import GraphSpec, build_graph, build_model
from fieldlab.simulators import simulate
from fieldlab.testing import (
    EquivarianceError,
    assert_equivariant,
    equivariance_error,
    random_orthogonal,
)
from fieldlab.training.particles.forecaster import build_forecaster

CHARGE = ("scalar_product",)
CHARGE_AND_DISTANCE = ("scalar_product", "input_sq_distance")  # the published n-body edge inputs


def _state(dim: int, dtype: torch.dtype = torch.float32):
    r = simulate("charged-egnn", 6, seed=0, params={"dim": dim, "n_steps": 600})
    x = torch.as_tensor(r.position[:, -1], dtype=dtype)
    v = torch.as_tensor(r.velocity[:, -1], dtype=dtype)
    q = torch.as_tensor(r.variables["charge"], dtype=dtype)
    return x, v, q


def _graph(
    dim: int,
    kind: str = "full",
    dtype: torch.dtype = torch.float32,
    edge_features: tuple[str, ...] = CHARGE,
):
    spec = GraphSpec(kind=kind, k=3, node_features=("speed", "scalar"), edge_features=edge_features)
    return build_graph(*_state(dim, dtype), spec)


@pytest.mark.parametrize("dim", [2, 3])
@pytest.mark.parametrize("kind", ["full", "knn"])
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("edges", [CHARGE, CHARGE_AND_DISTANCE])
def test_egnn_is_equivariant_in_float32(
    dim: int, kind: str, seed: int, edges: tuple[str, ...]
) -> None:
    torch.manual_seed(seed)
    model = build_model(
        "egnn", dim=dim, node_features=2, edge_features=len(edges), hidden=32, layers=4
    )
    _perturb(model)
    err = assert_equivariant(model, _graph(dim, kind, edge_features=edges), seed=seed)
    assert err < 1e-5


@pytest.mark.parametrize("edges", [CHARGE, CHARGE_AND_DISTANCE])
def test_egnn_is_equivariant_to_1e10_in_float64(edges: tuple[str, ...]) -> None:
    torch.manual_seed(0)
    model = build_model("egnn", dim=3, node_features=2, edge_features=len(edges)).double()
    _perturb(model)
    g = _graph(3, dtype=torch.float64, edge_features=edges)
    assert assert_equivariant(model, g, seed=3) < 1e-10


def _scaled_forecaster(position_scale: float, velocity_scale: float):
    spec = GraphSpec(node_features=("speed", "scalar"), edge_features=CHARGE_AND_DISTANCE)
    torch.manual_seed(0)
    model = build_forecaster(
        "egnn", dim=3, spec=spec, hidden=32, layers=4,
        position_scale=position_scale, velocity_scale=velocity_scale,
    ).double()  # fmt: skip
    _perturb(model.net)
    return model.eval()


@pytest.mark.parametrize("seed", [0, 1])
def test_forecaster_with_the_input_distance_is_equivariant_when_the_graph_is_rebuilt(
    seed: int,
) -> None:
    """Rotate, reflect, translate and permute the *physical* inputs, rebuild the graph (so the
    input distances are recomputed), and the prediction transforms the same way."""
    model = _scaled_forecaster(1.7, 0.6)
    x, v, q = _state(3, torch.float64)
    gen = torch.Generator().manual_seed(seed)
    rot = random_orthogonal(3, gen, torch.float64)
    shift = torch.randn(3, generator=gen, dtype=torch.float64)
    perm = torch.randperm(x.shape[1], generator=gen)
    with torch.no_grad():
        px, pv = model.predict(x, v, q)
        tx, tv = model.predict((x @ rot.T + shift)[:, perm], (v @ rot.T)[:, perm], q[:, perm])
    torch.testing.assert_close(tx, (px @ rot.T + shift)[:, perm], rtol=0, atol=1e-10)
    torch.testing.assert_close(tv, (pv @ rot.T)[:, perm], rtol=0, atol=1e-10)


def test_forecaster_scales_the_input_distance_with_its_position_scale() -> None:
    """Changing the units of length (c_x) and velocity (c_v) together with the forecaster's
    scales leaves the network's inputs unchanged, so the prediction only changes units. This
    fails if the input distance |x_i - x_j|^2 reaches the network in physical units."""
    x, v, q = _state(3, torch.float64)
    cx, cv = 4.0, 0.3
    with torch.no_grad():
        px, pv = _scaled_forecaster(1.7, 0.6).predict(x, v, q)
        sx, sv = _scaled_forecaster(1.7 * cx, 0.6 * cv).predict(cx * x, cv * v, q)
    torch.testing.assert_close(sx, cx * px, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(sv, cv * pv, rtol=1e-10, atol=1e-10)


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
