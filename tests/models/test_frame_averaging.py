"""Frame averaging makes the plain GNN exactly E(n) equivariant (all 2^D sign choices; the
2^(D-1) proper frames give rotations only), batches the frames as extra graphs, flags degenerate
spectra, and the averaged network can still fit a few simulations."""

from __future__ import annotations

import pytest
import torch

from fieldlab.models import (
    GNN,
    DegenerateFrameWarning,
    FrameAveraging,
    GraphSpec,
    build_graph,
    build_model,
)
from fieldlab.models.frame_averaging import stack_graph
from fieldlab.models.frames import pca_frames, sign_choices
from fieldlab.testing import assert_equivariant, equivariance_error, random_orthogonal
from fieldlab.testing.particles import SPEC, charged_batch, fit_losses, predict


def _fa_gnn(dim: int, proper: bool = False) -> FrameAveraging:
    torch.manual_seed(0)
    return FrameAveraging(GNN(dim, 2, 1, hidden=16, layers=2), proper=proper).double()


@pytest.mark.parametrize("dim", [2, 3])
@pytest.mark.parametrize("kind", ["full", "knn"])
def test_fa_gnn_is_equivariant_to_1e10_in_float64_although_its_backbone_is_not(
    dim: int, kind: str
) -> None:
    b = charged_batch(dim, 4, seed=0, dtype=torch.float64)
    spec = GraphSpec(kind=kind, k=3, node_features=("speed", "scalar"))
    g = build_graph(b.position, b.velocity, b.charge, spec)
    model = _fa_gnn(dim)
    assert equivariance_error(model.backbone, g) > 1e-2
    for seed in range(3):
        assert assert_equivariant(model, g, seed=seed) < 1e-10


def test_fa_gnn_is_equivariant_in_float32() -> None:
    b = charged_batch(3, 4, seed=2)
    g = build_graph(b.position, b.velocity, b.charge, SPEC)
    assert assert_equivariant(_fa_gnn(3).float(), g, seed=1) < 1e-5


def test_proper_frames_give_rotations_but_not_reflections() -> None:
    assert sign_choices(3).shape == (8, 3)
    assert sign_choices(3, proper=True).shape == (4, 3)
    b = charged_batch(3, 4, seed=1, dtype=torch.float64)
    model = _fa_gnn(3, proper=True)
    gen = torch.Generator().manual_seed(0)
    rot = random_orthogonal(3, gen, torch.float64)
    rot = rot * torch.linalg.det(rot)  # det -1 in 3-D flips to a rotation
    mirror = torch.diag(torch.tensor([-1.0, 1.0, 1.0], dtype=torch.float64))
    px, pv = predict(model, b.position, b.velocity, b.charge)
    for q, equivariant in ((rot, True), (mirror, False)):
        tx, tv = predict(model, b.position @ q.T, b.velocity @ q.T, b.charge)
        err = (tx - px @ q.T).abs().max() + (tv - pv @ q.T).abs().max()
        assert (err < 1e-10) == equivariant, (q, err)


def test_relabelling_the_particles_relabels_the_prediction() -> None:
    b = charged_batch(3, 4, seed=1, dtype=torch.float64)
    model = _fa_gnn(3)
    perm = torch.tensor([2, 4, 0, 3, 1])
    px, pv = predict(model, b.position, b.velocity, b.charge)
    tx, tv = predict(model, b.position[:, perm], b.velocity[:, perm], b.charge[:, perm])
    torch.testing.assert_close(tx, px[:, perm], rtol=0, atol=1e-12)
    torch.testing.assert_close(tv, pv[:, perm], rtol=0, atol=1e-12)


def test_frames_are_centred_orthonormal_and_stacked_as_extra_graphs_in_one_batch() -> None:
    b = charged_batch(3, 4, seed=0, dtype=torch.float64)
    g = build_graph(b.position, b.velocity, b.charge, SPEC)
    graph = torch.arange(4).repeat_interleave(5)
    centroid, bases, gap = pca_frames(g.ndata["position"], graph, 4)
    torch.testing.assert_close(centroid, b.position.mean(1))
    assert bases.shape == (4, 8, 3, 3)
    eye = torch.eye(3, dtype=torch.float64).expand(4, 8, 3, 3)
    torch.testing.assert_close(bases.transpose(-1, -2) @ bases, eye)
    assert torch.all(gap > 1e-3)
    stacked = stack_graph(g, 8)
    assert (stacked.num_nodes(), stacked.batch_size) == (8 * 20, 8 * 4)
    assert stacked.num_edges() == 8 * g.num_edges()


def test_a_degenerate_spectrum_is_counted_and_warned_about() -> None:
    """Two particles in 3-D span a line: two zero eigenvalues, the frame is ambiguous."""
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(3, 2, 3, generator=gen, dtype=torch.float64)
    v = torch.randn(3, 2, 3, generator=gen, dtype=torch.float64)
    g = build_graph(x, v, torch.ones(3, 2, dtype=torch.float64), SPEC)
    model = _fa_gnn(3)
    with pytest.warns(DegenerateFrameWarning, match="3 of 3 simulations"):
        out = model(g)
    assert model.last_degenerate == 3
    assert torch.isfinite(out.position).all()


def test_fa_gnn_overfits_four_simulations() -> None:
    torch.manual_seed(0)
    model = FrameAveraging(GNN(3, 2, 1, hidden=32, layers=2))
    losses = fit_losses(model, charged_batch(3, 4, seed=1), steps=200)
    assert min(losses[-10:]) < losses[0] / 100, (losses[0], losses[-1])


def test_build_model_wraps_the_plain_gnn_as_fa_gnn() -> None:
    model = build_model("fa-gnn", dim=3, node_features=2)
    assert isinstance(model, FrameAveraging)
    assert isinstance(model.backbone, GNN)
    assert not model.proper
