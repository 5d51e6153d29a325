"""PONITA: equivariant up to its orientation grid (the error falls as the grid grows), exactly so
for translations, relabellings and the grid's own symmetries, and able to fit a few simulations."""

from __future__ import annotations

import math

import pytest
import torch

from fieldlab.models import Ponita, build_graph, build_model
from fieldlab.models.orientations import orientation_grid
from fieldlab.models.polynomial import PolynomialFeatures
from fieldlab.testing import equivariance_error
from fieldlab.testing.particles import SPEC, charged_batch, fit_losses, predict


def _ponita(dim: int, orientations: int) -> Ponita:
    """A small PONITA whose weights do not depend on the grid size (same seed, same weights)."""
    torch.manual_seed(0)
    model = Ponita(dim, 2, 1, hidden=16, layers=2, orientations=orientations, basis=32).double()
    with torch.no_grad():  # move the layer scales and read-outs off their tiny initial values
        for p in model.parameters():
            p.add_(0.1 * torch.randn_like(p))
    return model


@pytest.mark.parametrize("dim", [2, 3])
def test_orientation_grids_are_deterministic_unit_vectors_spread_over_the_sphere(dim: int) -> None:
    for n in (4, 16, 64):
        grid = orientation_grid(dim, n, dtype=torch.float64)
        assert grid.shape == (n, dim)
        torch.testing.assert_close(grid.norm(dim=-1), torch.ones(n, dtype=torch.float64))
        assert torch.equal(grid, orientation_grid(dim, n, dtype=torch.float64))
        assert grid.mean(0).norm() < 2.0 / n  # balanced: no preferred direction
        # covariance of a uniform sphere is identity / dim
        cov = grid.T @ grid / n
        assert (cov - torch.eye(dim, dtype=torch.float64) / dim).abs().max() < 2.0 / n


def test_polynomial_features_are_every_distinct_monomial_up_to_the_degree() -> None:
    poly = PolynomialFeatures(inputs=2, degree=3)
    a = torch.tensor([[2.0, 3.0]])
    expected = [2, 3, 4, 6, 9, 8, 12, 18, 27]  # a, b, a^2, ab, b^2, a^3, a^2 b, a b^2, b^3
    assert poly.n_features == math.comb(2 + 3, 3) - 1 == 9
    assert poly(a).tolist() == [[float(e) for e in expected]]


@pytest.mark.parametrize("dim", [2, 3])
def test_ponita_equivariance_error_falls_as_the_orientation_grid_grows(dim: int) -> None:
    """Random rotations (and reflections): the mean error at 4, 16 and 64 orientations falls by
    at least 3x per step (measured: 3-D 2.5e-2, 3.0e-3, 3.5e-4; 2-D 5.6e-4, 7.6e-5, 1.3e-6)."""
    b = charged_batch(dim, 4, seed=0, dtype=torch.float64)
    g = build_graph(b.position, b.velocity, b.charge, SPEC)
    errors = []
    for n in (4, 16, 64):
        model = _ponita(dim, n)
        errors.append(sum(equivariance_error(model, g, seed=s) for s in range(3)) / 3)
    assert errors[1] < errors[0] / 3, errors
    assert errors[2] < errors[1] / 3, errors
    assert errors[0] > 1e-8, errors  # the coarse grid is measurably not equivariant


def test_ponita_is_exactly_equivariant_to_translations_and_relabellings() -> None:
    b = charged_batch(3, 4, seed=1, dtype=torch.float64)
    model = _ponita(3, 16)
    gen = torch.Generator().manual_seed(0)
    shift = torch.randn(3, generator=gen, dtype=torch.float64)
    perm = torch.randperm(5, generator=gen)
    px, pv = predict(model, b.position, b.velocity, b.charge)
    tx, tv = predict(model, b.position[:, perm] + shift, b.velocity[:, perm], b.charge[:, perm])
    torch.testing.assert_close(tx, px[:, perm] + shift, rtol=0, atol=1e-10)
    torch.testing.assert_close(tv, pv[:, perm], rtol=0, atol=1e-10)


@pytest.mark.parametrize("reflect", [False, True])
def test_in_2d_ponita_is_exactly_equivariant_to_the_symmetries_of_its_grid(reflect: bool) -> None:
    """Rotations by multiples of 2 pi / O and reflections through a grid axis permute the grid, so
    the outputs agree to rounding (a random rotation of this 8-orientation grid errs by ~1e-4)."""
    n = 8
    b = charged_batch(2, 4, seed=2, dtype=torch.float64)
    model = _ponita(2, n)
    angle = 2 * math.pi * 3 / n
    c, s = math.cos(angle), math.sin(angle)
    q = torch.tensor([[c, -s], [s, c]], dtype=torch.float64)
    if reflect:
        q = q @ torch.diag(torch.tensor([1.0, -1.0], dtype=torch.float64))
    px, pv = predict(model, b.position, b.velocity, b.charge)
    tx, tv = predict(model, b.position @ q.T, b.velocity @ q.T, b.charge)
    torch.testing.assert_close(tx, px @ q.T, rtol=0, atol=1e-9)
    torch.testing.assert_close(tv, pv @ q.T, rtol=0, atol=1e-9)


def test_ponita_overfits_four_simulations() -> None:
    torch.manual_seed(0)
    model = Ponita(3, 2, 1, hidden=32, layers=2, orientations=8, basis=32)
    losses = fit_losses(model, charged_batch(3, 4, seed=1), steps=200)
    assert min(losses[-10:]) < losses[0] / 100, (losses[0], losses[-1])


def test_build_model_gives_ponita_the_papers_n_body_setting() -> None:
    model = build_model("ponita", dim=3, node_features=2)
    assert isinstance(model, Ponita)
    assert (model.orientations, len(model.blocks), model.embed.out_features) == (16, 5, 128)
    assert model.blocks[0].spatial.in_features == 256
    assert build_model("ponita", dim=2, node_features=2, hidden=8, layers=1).grid.shape == (16, 2)
