r"""PONITA computes its definitions: a dense re-implementation, written straight from the formulas of
:mod:`fieldlab.models.ponita` and :mod:`fieldlab.models.ponita_layer` with one term per node pair
``(i, j)`` (an adjacency mask in place of an edge list), gives the same outputs and gradients in
float64 on full, k-nearest-neighbour and radius graphs.

Reference, for nodes :math:`i`, :math:`j`, orientations :math:`o, o'` and adjacency
:math:`A_{ij} = 1` when there is an edge :math:`j \to i`:

.. math::

    b_{ij}(o) &= \mathrm{MLP}_s\big((x_j - x_i) \cdot o,\ |(x_j - x_i) - ((x_j - x_i) \cdot o)\, o|,
        e_{ij}\big), \qquad b_\varnothing = \mathrm{MLP}_s(0) \\
    g_i(o) &= W_s b_\varnothing \odot f_i(o) + \sum_j A_{ij}\, W_s b_{ij}(o) \odot f_j(o) \\
    u_i(o) &= \frac{1}{O} \sum_{o'} W_f\, \mathrm{MLP}_f(o \cdot o') \odot g_i(o') + \beta
"""

from __future__ import annotations

from itertools import combinations_with_replacement

import pytest
import torch
from torch.nn import functional

from fieldlab.models import GraphSpec, Ponita, build_graph
from fieldlab.models.batch import GraphBatch
from fieldlab.testing.particles import charged_batch


def _poly(a: torch.Tensor, degree: int) -> torch.Tensor:
    """Every monomial of degree 1 to ``degree`` of the last axis, in the module's order."""
    k = a.shape[-1]
    cols = [
        torch.stack([a[..., i] for i in idx], -1).prod(-1)
        for d in range(1, degree + 1)
        for idx in combinations_with_replacement(range(k), d)
    ]
    return torch.stack(cols, -1)


def _mlp(mlp: torch.nn.Sequential, a: torch.Tensor) -> torch.Tensor:
    """``GELU(W_2 GELU(W_1 poly(a) + c_1) + c_2)`` with the weights of ``mlp``."""
    first, second = mlp[1], mlp[3]
    h = functional.gelu(functional.linear(_poly(a, mlp[0].degree), first.weight, first.bias))
    return functional.gelu(functional.linear(h, second.weight, second.bias))


def _reference(model: Ponita, g: GraphBatch) -> tuple[torch.Tensor, torch.Tensor]:
    x, v, attr = g.ndata["position"], g.ndata["velocity"], g.ndata["attr"]
    n, ori = x.shape[0], model.grid.to(x.dtype)
    n_ori = ori.shape[0]
    src, dst = g.edges()
    adj = torch.zeros(n, n, dtype=x.dtype)
    adj[dst, src] = 1.0
    e_attr = torch.zeros(n, n, g.edata["attr"].shape[1], dtype=x.dtype)
    e_attr[dst, src] = g.edata["attr"]

    f = functional.linear(
        torch.cat([attr[:, None].expand(-1, n_ori, -1), (v @ ori.T)[..., None]], -1),
        model.embed.weight,
        model.embed.bias,
    )  # (N, O, C)
    rel = x[None, :, :] - x[:, None, :]  # [i, j] = x_j - x_i
    a1 = torch.einsum("ijd,od->ijo", rel, ori)
    a2 = (rel[:, :, None, :] - a1[..., None] * ori).norm(dim=-1)
    e = e_attr[:, :, None, :].expand(-1, -1, n_ori, -1)
    basis = _mlp(model.spatial_basis, torch.cat([a1[..., None], a2[..., None], e], -1))
    self_basis = _mlp(model.spatial_basis, x.new_zeros(1, 2 + e_attr.shape[-1]))[0]
    fiber = _mlp(model.fiber_basis, (ori @ ori.T)[..., None])  # (O, O, B)

    out = x.new_zeros(n, n_ori, 2)
    for block, readout in zip(model.blocks, model.readout, strict=True):
        w_s, w_f = block.spatial.weight, block.fiber.weight
        kernel = basis @ w_s.T  # (N, N, O, C)
        g_i = (self_basis @ w_s.T) * f + torch.einsum("ij,ijoc,joc->ioc", adj, kernel, f)
        u = torch.einsum("pqc,nqc->npc", fiber @ w_f.T, g_i) / n_ori + block.bias
        h = functional.layer_norm(
            u, (u.shape[-1],), block.norm.weight, block.norm.bias, block.norm.eps
        )
        h = functional.linear(
            functional.gelu(functional.linear(h, block.widen.weight, block.widen.bias)),
            block.narrow.weight,
        )
        f = f + block.scale * (h + block.narrow.bias)
        out = out + functional.linear(f, readout.weight, readout.bias)
    vec = torch.einsum("nok,od->nkd", out, ori) / (n_ori * len(model.blocks))
    return x + vec[:, 0], v + vec[:, 1]


@pytest.mark.parametrize("kind", ["full", "knn", "radius"])
@pytest.mark.parametrize("dim", [2, 3])
def test_ponita_matches_the_dense_reference_in_values_and_gradients(kind: str, dim: int) -> None:
    torch.manual_seed(0)
    model = Ponita(dim, 2, 2, hidden=12, layers=3, orientations=6, basis=10).double()
    with torch.no_grad():  # move the layer scales and read-outs off their tiny initial values
        for p in model.parameters():
            p.add_(0.1 * torch.randn_like(p))
    b = charged_batch(dim, 3, seed=4, dtype=torch.float64)
    spec = GraphSpec(
        kind=kind,
        k=2,
        radius=1.5,
        node_features=("speed", "scalar"),
        edge_features=("scalar_product", "input_sq_distance"),
    )
    g = build_graph(b.position, b.velocity, b.charge, spec)
    if kind == "radius":  # an irregular graph: the in-degrees differ
        assert len(set(g.in_degrees().tolist())) > 1

    got, want = model(g), _reference(model, g)
    x = g.ndata["position"]
    assert float((want[0] - x).abs().max()) > 1e-3  # the blocks moved the particles
    torch.testing.assert_close(got.position, want[0], rtol=0, atol=1e-12)
    torch.testing.assert_close(got.velocity, want[1], rtol=0, atol=1e-12)

    target = torch.randn_like(x)
    params = list(model.parameters())
    grads = torch.autograd.grad(((got.position - target) ** 2).sum() + got.velocity.sum(), params)
    refs = torch.autograd.grad(((want[0] - target) ** 2).sum() + want[1].sum(), params)
    for (name, _), a, r in zip(model.named_parameters(), grads, refs, strict=True):
        torch.testing.assert_close(a, r, rtol=0, atol=1e-10, msg=name)
