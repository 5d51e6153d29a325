"""Graph attributes: what each edge feature holds, its units, and the spec's validation."""

from __future__ import annotations

import numpy as np
import pydantic
import pytest
import torch

from fieldlab.models import GraphSpec, build_graph

BOTH = ("scalar_product", "input_sq_distance")


def _state(n_graphs: int = 3, n_particles: int = 5, dim: int = 3, dtype=torch.float32):
    rng = np.random.default_rng(0)
    x = torch.as_tensor(rng.normal(size=(n_graphs, n_particles, dim)), dtype=dtype)
    v = torch.as_tensor(rng.normal(size=(n_graphs, n_particles, dim)), dtype=dtype)
    q = torch.as_tensor(rng.choice([-1.0, 1.0], size=(n_graphs, n_particles)), dtype=dtype)
    return x, v, q


@pytest.mark.parametrize("kind", ["full", "knn", "radius"])
def test_edge_features_hold_the_charge_product_and_the_input_squared_distance(kind: str) -> None:
    x, v, q = _state()
    g = build_graph(x, v, q, GraphSpec(kind=kind, k=3, radius=2.0, edge_features=BOTH))
    src, dst = g.edges()
    flat_x, flat_q = x.reshape(-1, 3), q.reshape(-1)
    assert g.edata["attr"].shape == (g.num_edges(), 2)
    torch.testing.assert_close(g.edata["attr"][:, 0], flat_q[src] * flat_q[dst])
    expected = ((flat_x[dst] - flat_x[src]) ** 2).sum(-1)
    torch.testing.assert_close(g.edata["attr"][:, 1], expected)
    # the column order follows the spec
    swapped = build_graph(x, v, q, GraphSpec(kind=kind, k=3, radius=2.0, edge_features=BOTH[::-1]))
    torch.testing.assert_close(swapped.edata["attr"], g.edata["attr"].flip(-1))


def test_the_input_distance_is_a_fixed_attribute_without_gradient() -> None:
    x, v, q = _state()
    x.requires_grad_(True)
    g = build_graph(x, v, q, GraphSpec(edge_features=BOTH))
    assert not g.edata["attr"].requires_grad
    assert g.ndata["position"].requires_grad  # positions themselves still carry gradients


def test_the_default_spec_keeps_one_edge_feature_so_logged_models_load() -> None:
    x, v, q = _state()
    spec = GraphSpec()
    assert spec.edge_features == ("scalar_product",)
    assert spec.n_edge_features == 1
    assert build_graph(x, v, q, spec).edata["attr"].shape[-1] == 1
    # a spec saved before edge features existed reads back as the default
    saved = {"kind": "full", "k": 6, "radius": 1.0, "node_features": ["speed"]}
    assert GraphSpec(**saved) == spec
    assert GraphSpec(**GraphSpec(edge_features=BOTH).model_dump(mode="json")).n_edge_features == 2


@pytest.mark.parametrize(
    "settings",
    [
        {"edge_features": ("distance",)},
        {"edge_features": ()},
        {"edge_features": ("input_sq_distance", "input_sq_distance")},
        {"node_features": ("speed", "speed")},
    ],
)
def test_invalid_feature_lists_are_rejected(settings: dict) -> None:
    with pytest.raises(pydantic.ValidationError):
        GraphSpec(**settings)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_scaled_attributes_do_not_depend_on_the_units(dtype: torch.dtype) -> None:
    """Speed / s_v and |x_i - x_j|^2 / s_x^2 are the same numbers whatever the length and time
    units: measuring positions c_x times and velocities c_v times larger, with scales c_x s_x and
    c_v s_v, gives the network identical attributes."""
    x, v, q = _state(dtype=dtype)
    spec = GraphSpec(node_features=("speed", "scalar"), edge_features=BOTH)
    sx, sv, cx, cv = 1.7, 0.6, 3.0, 0.25
    g = build_graph(x, v, q, spec)
    h = build_graph(cx * x, cv * v, q, spec)
    node, edge = spec.scale_attributes(g.ndata["attr"], g.edata["attr"], sx, sv)
    node_c, edge_c = spec.scale_attributes(
        h.ndata["attr"], h.edata["attr"], torch.tensor(cx * sx), torch.tensor(cv * sv)
    )
    assert node.dtype == edge.dtype == node_c.dtype == edge_c.dtype == dtype
    torch.testing.assert_close(node_c, node)
    torch.testing.assert_close(edge_c, edge)
    torch.testing.assert_close(node[:, 0], g.ndata["velocity"].norm(dim=-1) / sv)
    torch.testing.assert_close(node[:, 1], g.ndata["attr"][:, 1])  # charges carry no units
    torch.testing.assert_close(edge[:, 1], g.edata["attr"][:, 1] / sx**2)
    torch.testing.assert_close(edge[:, 0], g.edata["attr"][:, 0])
