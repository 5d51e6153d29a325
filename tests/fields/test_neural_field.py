"""The neural field learns a known field by regression; scores and figures behave."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from fieldlab.errors import ParameterError
from fieldlab.fields import score_field, true_field, visited_region
from fieldlab.models import FieldOptions, GraphSpec, build_graph, build_model
from fieldlab.models.neural_field import NeuralField
from fieldlab.simulators import resolve_params
from fieldlab.simulators.electrostatic_field import sources
from fieldlab.viz.fields import comparison_figure, field_figure


def _points_away_from_sources(n: int, seed: int) -> np.ndarray:
    """Uniform points in [-3, 3]^2 at least 0.8 from every static charge (the field is smooth there)."""
    src, _ = sources(resolve_params("electrostatic-field"))
    rng = np.random.default_rng(seed)
    pts = rng.uniform(-3, 3, size=(8 * n, 2))
    keep = np.linalg.norm(pts[:, None] - src[None], axis=-1).min(1) > 0.8
    return pts[keep][:n]


def test_neural_field_learns_the_electrostatic_field_by_regression() -> None:
    torch.manual_seed(0)
    train = _points_away_from_sources(3000, seed=0)
    test = _points_away_from_sources(500, seed=1)
    y = true_field("electrostatic-field", None, train)
    field = NeuralField(2, hidden=128, layers=3, sigma=0.3)
    opt = torch.optim.Adam(field.parameters(), lr=3e-3)
    xt, yt = torch.as_tensor(train, dtype=torch.float32), torch.as_tensor(y, dtype=torch.float32)
    initial = score_field(
        field(torch.as_tensor(test, dtype=torch.float32)).detach().numpy(),
        true_field("electrostatic-field", None, test),
    )
    for _ in range(600):
        opt.zero_grad()
        loss = ((field(xt) - yt) ** 2).mean()
        loss.backward()
        opt.step()
    learned = field(torch.as_tensor(test, dtype=torch.float32)).detach().numpy()
    score = score_field(learned, true_field("electrostatic-field", None, test))
    assert score.cosine > 0.95
    assert score.relative_error < 0.1
    assert initial.relative_error > 0.5  # it started far off: the check can fail


def test_scores_of_perfect_opposite_and_scaled_fields() -> None:
    f = np.random.default_rng(0).normal(size=(100, 3))
    assert score_field(f, f).cosine == pytest.approx(1.0)
    assert score_field(f, f).mse == 0.0
    assert score_field(-f, f).cosine == pytest.approx(-1.0)
    half = score_field(0.5 * f, f)
    assert half.cosine == pytest.approx(1.0)
    assert half.relative_error == pytest.approx(0.25)
    with pytest.raises(ValueError, match="differ in shape"):
        score_field(f, f[:, :2])


def test_true_field_needs_what_the_system_needs() -> None:
    pts = np.zeros((4, 3)) + 0.5
    with pytest.raises(ParameterError, match="source_position"):
        true_field("gravitational-field", None, pts)
    with pytest.raises(ParameterError, match="velocity"):
        true_field("lorentz", None, pts)
    with pytest.raises(ParameterError, match="no external field"):
        true_field("charged", None, pts[:, :2])
    v = np.array([[1.0, 0, 0]] * 4)
    np.testing.assert_allclose(true_field("lorentz", None, pts, velocity=v), np.cross(v, [0.5] * 3))


def test_visited_region_and_figures() -> None:
    plt.close("all")
    pos = np.random.default_rng(0).normal(size=(10, 20, 5, 2))
    region = visited_region(pos, n_points=300, grid_size=16)
    assert region.points.shape == (300, 2)
    assert region.grid.shape == (16, 16, 2)
    assert region.visited[8, 8]  # the centre of a Gaussian cloud is visited
    assert not region.visited.all()  # the corners of the central 98% box are sparse
    true = true_field("electrostatic-field", None, region.grid_points)
    fig = field_figure(region.grid, region.visited, true, "true")
    assert len(fig.axes) >= 1

    def scores(learned: np.ndarray) -> str:
        return f"cos {score_field(learned, true).cosine:.3f}"

    cmp = comparison_figure(
        region.grid,
        region.visited,
        true,
        {"run-a": (true, scores(true)), "run-b": (-true, scores(-true))},
    )
    titles = " ".join(ax.get_title() for ax in cmp.axes)
    assert "run-a" in titles
    assert "run-b" in titles
    assert "cos -1.000" in titles
    # drawn outside pyplot's registry: figures logged every few epochs are freed with the run
    assert not plt.get_fignums()


def test_field_forecaster_adds_the_field_force_with_fixed_coupling() -> None:
    torch.manual_seed(0)
    tau = 0.2
    model = build_model("field", dim=2, node_features=1, field=FieldOptions(horizon=tau))
    x, v = torch.randn(3, 5, 2), torch.randn(3, 5, 2)
    q = torch.sign(torch.randn(3, 5))
    g = build_graph(x, v, q, GraphSpec())
    out = model(g)
    dv_egnn = model.interactions(g).position - g.ndata["position"]
    f = q.reshape(-1, 1) * model.field(g.ndata["position"])
    v_next = g.ndata["velocity"] + dv_egnn + tau * f
    torch.testing.assert_close(out.velocity, v_next)
    torch.testing.assert_close(
        out.position, g.ndata["position"] + tau * (v_next + v.reshape(-1, 2)) / 2
    )
    # no interactions and no field: the particles coast
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
    coast = model(g)
    torch.testing.assert_close(coast.position, g.ndata["position"] + tau * g.ndata["velocity"])
    torch.testing.assert_close(coast.velocity, g.ndata["velocity"])
    cond = build_model("field", dim=2, node_features=1, field=FieldOptions(latent_dim=4))
    with pytest.raises(ValueError, match="context"):
        cond(g)
    g2 = build_graph(x, v, q, GraphSpec(), context=torch.randn(3, 5, 6, 4))
    assert cond(g2).position.shape == (15, 2)
