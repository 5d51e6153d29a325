"""ENF: exactly equivariant where the symmetry is exact (torus shifts by grid cells, plane
translations, sphere rotations) and measurably not without bi-invariants; the meta-learned
initialisation learns to reconstruct smooth fields in a few steps, also from sparse points."""

from __future__ import annotations

import copy
import math

import pytest
import torch

from fieldlab.models.enf import ENFForecaster, ENFOptions, UnknownDomainError
from fieldlab.models.enf.graph import latent_graph, latent_query_graph, query_index
from fieldlab.models.enf.latents import Latents

TIMES = torch.tensor([0.0, 0.3, 0.7], dtype=torch.float64)
SYMMETRY_CASES = [(True, 0), (False, 0), (True, 4)]
"""(equivariant, nearest): the model, its ablation, and the model attending to 4 of 9 latents."""


def _model(domain: str, extent: float, equivariant: bool = True, nearest: int = 0) -> ENFForecaster:
    """A small float64 model with weights moved off their initial values (the ODE's read-outs
    start at zero, which would make its flow trivially equivariant); the pose read-out is
    scaled up so that poses move by about a tenth of their spacing over the time grid.
    ``nearest``: latents each query attends to (0: all 9)."""
    torch.manual_seed(0)
    options = ENFOptions.small(equivariant=equivariant, nearest=nearest)
    model = ENFForecaster(domain, extent, 2, options).double()
    with torch.no_grad():
        for p in model.ode.parameters():
            p.add_(0.1 * torch.randn_like(p))
        for read_out, gain in ((model.ode.pose_rate, 10.0), (model.ode.context_rate, 1.0)):
            read_out.weight.normal_(0.0, gain * read_out.in_features**-0.5)
    return model.eval()


def _grid(n: int, extent: float, origin: float = 0.0) -> torch.Tensor:
    """``(n * n, 2)`` cell centres, row by row (rows along y)."""
    axis = origin + (torch.arange(n, dtype=torch.float64) + 0.5) * extent / n
    yy, xx = torch.meshgrid(axis, axis, indexing="ij")
    return torch.stack([xx.reshape(-1), yy.reshape(-1)], -1)


def _smooth_fields(coords: torch.Tensor, batch: int, period: float, seed: int) -> torch.Tensor:
    """``(batch, M, 2)`` random sums of low Fourier modes, periodic with ``period``."""
    gen = torch.Generator().manual_seed(seed)
    k = torch.randint(-2, 3, (batch, 2, 4, 2), generator=gen).double()  # (B, C, modes, 2)
    phase = 2 * math.pi * torch.rand(batch, 2, 4, generator=gen, dtype=torch.float64)
    amp = torch.randn(batch, 2, 4, generator=gen, dtype=torch.float64)
    arg = 2 * math.pi * torch.einsum("bcmd,nd->bcmn", k, coords) / period + phase[..., None]
    return (amp[..., None] * arg.cos()).sum(2).transpose(1, 2)


def _rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).abs().max() / b.abs().max())


@pytest.mark.parametrize(("equivariant", "nearest"), SYMMETRY_CASES)
def test_on_the_torus_a_shift_by_whole_grid_cells_shifts_the_forecast(
    equivariant: bool, nearest: int
) -> None:
    n = 12
    coords = _grid(n, 1.0)
    values = _smooth_fields(coords, 2, 1.0, seed=1)
    model = _model("torus", 1.0, equivariant, nearest)
    shift = (3, 5)  # cells along (y, x)

    def roll(f: torch.Tensor) -> torch.Tensor:
        return f.unflatten(-2, (n, n)).roll(shift, dims=(-3, -2)).flatten(-3, -2)

    with torch.no_grad():
        base = model.forecast(coords, values, TIMES, coords)
        moved = model.forecast(coords, roll(values), TIMES, coords)
    error = _rel(moved, roll(base))
    assert _rel(base[:, -1], base[:, 0]) > 1e-2  # the forecast does evolve
    if equivariant:
        assert error < 1e-8, error
    else:
        assert error > 1e-3, error


@pytest.mark.parametrize(("equivariant", "nearest"), SYMMETRY_CASES)
def test_on_the_plane_translating_observations_and_queries_leaves_the_forecast(
    equivariant: bool, nearest: int
) -> None:
    coords = _grid(10, 6.0, origin=-3.0)
    values = _smooth_fields(coords, 2, 6.0, seed=2) * (-(coords**2).sum(-1, keepdim=True) / 4).exp()
    queries = torch.rand(30, 2, generator=torch.Generator().manual_seed(0)).double() * 6 - 3
    t = torch.tensor([1.3, -0.7], dtype=torch.float64)
    model = _model("plane", 6.0, equivariant, nearest)
    with torch.no_grad():
        base = model.forecast(coords, values, TIMES, queries)
        moved = model.forecast(coords + t, values, TIMES, queries + t)
    error = _rel(moved, base)
    if equivariant:
        assert error < 1e-8, error
    else:
        assert error > 1e-3, error


def _random_rotation(seed: int) -> torch.Tensor:
    q, r = torch.linalg.qr(
        torch.randn(3, 3, generator=torch.Generator().manual_seed(seed)).double()
    )
    q = q * r.diagonal().sign()
    return q if torch.det(q) > 0 else -q


def _sphere_points(n: int, seed: int) -> torch.Tensor:
    x = torch.randn(n, 3, generator=torch.Generator().manual_seed(seed)).double()
    return x / x.norm(dim=-1, keepdim=True)


@pytest.mark.parametrize(("equivariant", "nearest"), SYMMETRY_CASES)
def test_on_the_sphere_rotating_observations_and_queries_leaves_decoded_and_forecast_values(
    equivariant: bool, nearest: int
) -> None:
    coords, queries = _sphere_points(200, 0), _sphere_points(40, 1)
    gen = torch.Generator().manual_seed(3)
    w = torch.randn(2, 3, 2, generator=gen).double()
    values = torch.tanh(coords @ w) + 0.5 * (coords[:, :1] * coords[:, 1:2]) ** 2
    r = _random_rotation(4)
    model = _model("sphere", 1.0, equivariant, nearest)
    with torch.no_grad():
        base = model.decode(model.fit_latents(coords, values), queries)
        moved = model.decode(model.fit_latents(coords @ r.T, values), queries @ r.T)
        base_t = model.forecast(coords, values, TIMES, queries)
        moved_t = model.forecast(coords @ r.T, values, TIMES, queries @ r.T)
    errors = _rel(moved, base), _rel(moved_t, base_t)
    if equivariant:
        assert max(errors) < 1e-8, errors
    else:
        assert min(errors) > 1e-3, errors


_MODES = torch.tensor([[1, 0], [0, 1], [1, 1], [1, -1]], dtype=torch.float32)


def _sine_fields(coords: torch.Tensor, batch: int, gen: torch.Generator) -> torch.Tensor:
    """``(batch, M, 1)`` sums of two unit-torus sine waves of random direction, phase and
    amplitude (variance about 0.6)."""
    mode = _MODES[torch.randint(0, len(_MODES), (batch, 2), generator=gen)]
    phase = 2 * math.pi * torch.rand(batch, 2, generator=gen)
    amp = 0.5 + torch.rand(batch, 2, generator=gen)
    arg = 2 * math.pi * torch.einsum("bmd,nd->bmn", mode, coords) + phase[..., None]
    return (amp[..., None] * arg.sin()).sum(1)[..., None] / math.sqrt(2)


@pytest.fixture(scope="module")
def trained() -> tuple[ENFForecaster, float]:
    """A small torus ENF after 200 stage-1 steps (Adam, cosine decay) on sine fields sampled at
    64 random points per step, each fit seeing a random 30-100% of them; returns it and its
    untrained full-grid reconstruction MSE on held-out fields."""
    torch.manual_seed(0)
    model = ENFForecaster("torus", 1.0, 1, ENFOptions.small())
    gen = torch.Generator().manual_seed(1)
    before = _reconstruction_mse(model, _grid(16, 1.0).float(), observed=None)
    steps = 200
    opt = torch.optim.Adam(model.stage_parameters(1), lr=5e-3)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    for _ in range(steps):
        coords = torch.rand(64, 2, generator=gen)
        fields = _sine_fields(coords, 4, gen)
        keep = int(64 * (0.3 + 0.7 * torch.rand((), generator=gen)))
        observed = torch.randperm(64, generator=gen)[:keep]
        loss = model.reconstruction_loss(coords, fields, observed=observed)
        opt.zero_grad()
        loss.backward()
        opt.step()
        schedule.step()
    return model.eval(), before


def _reconstruction_mse(
    model: ENFForecaster, coords: torch.Tensor, observed: torch.Tensor | None
) -> float:
    """MSE on every point of ``coords`` of 16 held-out sine fields fitted on ``observed``."""
    fields = _sine_fields(coords, 16, torch.Generator().manual_seed(99))
    with torch.no_grad():
        pred = model.decode(model.fit_latents(coords, fields, observed), coords)
    return float(((pred - fields) ** 2).mean())


def test_stage_one_learns_to_reconstruct_held_out_smooth_fields_in_three_steps(
    trained: tuple[ENFForecaster, float],
) -> None:
    """Measured: 0.68 before, 0.0085 after (the fields' variance is about 0.6)."""
    model, before = trained
    after = _reconstruction_mse(model, _grid(16, 1.0).float(), observed=None)
    assert after < before / 10, (before, after)


def test_fitting_on_a_tenth_of_the_points_reconstructs_the_whole_field(
    trained: tuple[ENFForecaster, float],
) -> None:
    """A finer grid than any seen in training, observed at a random 10% of its points
    (measured MSE 0.012 on all 1024 points, against 0.0087 when all are observed)."""
    model, before = trained
    coords = _grid(32, 1.0).float()
    observed = torch.randperm(len(coords), generator=torch.Generator().manual_seed(2))[:102]
    sparse = _reconstruction_mse(model, coords, observed)
    assert sparse < 0.05, sparse  # the fields' variance is about 0.6
    assert sparse < before / 10, (before, sparse)


def _travelling(coords: torch.Tensor, times: torch.Tensor, seed: int) -> torch.Tensor:
    """``(4, T, M, 1)``: sine fields carried along x at speed 0.2 (a translation per frame)."""
    frames = [
        _sine_fields(
            coords - torch.tensor([0.2 * float(t), 0.0]), 4, torch.Generator().manual_seed(seed)
        )
        for t in times
    ]
    return torch.stack(frames, dim=1)


def test_stage_two_trains_only_the_latent_ode_to_carry_fields_forward(
    trained: tuple[ENFForecaster, float],
) -> None:
    """Measured: the held-out forecast MSE falls from 0.27 to 0.013 in 40 steps; the decoder and
    initialisation do not move."""
    model = copy.deepcopy(trained[0]).train()
    frozen = [p.detach().clone() for p in model.stage_parameters(1)]
    times = torch.tensor([0.0, 0.5, 1.0])
    coords = _grid(12, 1.0).float()
    held_out = _travelling(coords, times, seed=1000)

    def held_out_mse() -> float:
        with torch.no_grad():
            return float(model.forecast_loss(coords, held_out, times))

    before = held_out_mse()
    opt = torch.optim.Adam(model.stage_parameters(2), lr=3e-3)
    gen = torch.Generator().manual_seed(4)
    for step in range(40):
        points = torch.rand(64, 2, generator=gen)
        loss = model.forecast_loss(points, _travelling(points, times, seed=step), times)
        opt.zero_grad()
        loss.backward()
        opt.step()
    after = held_out_mse()
    assert after < before / 5, (before, after)
    assert all(torch.equal(a, b) for a, b in zip(frozen, model.stage_parameters(1), strict=True))


def test_a_per_field_mask_fits_the_same_latents_as_the_index_of_the_same_points() -> None:
    coords = _grid(8, 1.0)
    values = _smooth_fields(coords, 2, 1.0, seed=5)
    index = torch.randperm(64, generator=torch.Generator().manual_seed(0))[:20]
    mask = torch.zeros(2, 64, dtype=torch.bool)
    mask[:, index] = True
    model = _model("torus", 1.0)
    with torch.no_grad():
        by_index = model.fit_latents(coords, values, index)
        by_mask = model.fit_latents(coords, values, mask)
        by_shared_mask = model.fit_latents(coords, values, mask[0])
    for z in (by_mask, by_shared_mask):
        torch.testing.assert_close(z.poses, by_index.poses, rtol=0, atol=1e-12)
        torch.testing.assert_close(z.contexts, by_index.contexts, rtol=0, atol=1e-12)


def test_unobserved_values_do_not_influence_the_fit() -> None:
    coords = _grid(8, 1.0)
    values = _smooth_fields(coords, 2, 1.0, seed=6)
    observed = torch.arange(0, 64, 3)
    hidden = torch.ones(64, dtype=torch.bool)
    hidden[observed] = False
    garbage = values.clone()
    garbage[:, hidden] = 1e3
    model = _model("torus", 1.0)
    with torch.no_grad():
        a = model.decode(model.fit_latents(coords, values, observed), coords)
        b = model.decode(model.fit_latents(coords, garbage, observed), coords)
    assert torch.equal(a, b)


@pytest.mark.parametrize(("domain", "dim"), [("plane", 2), ("torus", 2), ("sphere", 3)])
def test_api_shapes_and_dtypes(domain: str, dim: int) -> None:
    model = ENFForecaster(domain, 1.0, 3, ENFOptions.small())
    coords = torch.rand(40, dim)
    if domain == "sphere":
        coords = coords - 0.5
        coords = coords / coords.norm(dim=-1, keepdim=True)
    values = torch.randn(2, 40, 3)
    times = torch.tensor([0.0, 0.1, 0.2, 0.4])
    z = model.fit_latents(coords, values)
    assert z.poses.shape == (2, 9, dim)
    assert z.contexts.shape == (2, 9, 16)
    assert model.decode(z, coords[:5]).shape == (2, 5, 3)
    out = model.forecast(coords, values, times, coords[:7])
    assert out.shape == (2, 4, 7, 3)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out[:, 0], model.decode(z, coords[:7]))
    assert model.reconstruction_loss(coords, values, sample=torch.arange(10)).ndim == 0
    traj = torch.randn(2, 4, 40, 3)
    assert model.forecast_loss(coords, traj, times, sample=torch.arange(10)).ndim == 0
    assert model.double().forecast(
        coords.double(), values.double(), times.double(), coords
    ).dtype == (torch.float64)


def test_the_decoder_graph_is_a_dgl_bipartite_graph_grouped_by_query() -> None:
    g = latent_query_graph(4, 3)
    assert g.canonical_etypes == [("latent", "informs", "query")]
    assert g.num_edges() == 12
    index = query_index(4, 3, torch.device("cpu"))
    assert index.degree == 4
    assert index.dst.tolist() == [0] * 4 + [1] * 4 + [2] * 4
    assert index.src.tolist() == [0, 1, 2, 3] * 3
    lg = latent_graph(4)
    assert lg.num_edges() == 12
    assert not (lg.edges()[0] == lg.edges()[1]).any()


@pytest.mark.parametrize(("domain", "extent"), [("plane", 6.0), ("sphere", 1.0)])
def test_nearest_latents_decode_as_the_full_decoder_on_each_querys_nearest_latents(
    domain: str, extent: float
) -> None:
    """Attending to the k nearest of N latents is, query by query, the complete decoder given
    only those k latents, found here by brute-force Euclidean (chordal on the sphere) distance,
    an order the domain's d^2 shares; and with k = N nothing changes."""
    k, n = 5, 16
    gen = torch.Generator().manual_seed(7)
    if domain == "sphere":
        poses, queries = _sphere_points(2 * n, 5).view(2, n, 3), _sphere_points(12, 6)
    else:
        poses = 6 * torch.rand(2, n, 2, generator=gen, dtype=torch.float64) - 3
        queries = 6 * torch.rand(12, 2, generator=gen, dtype=torch.float64) - 3
    z = Latents(poses, torch.randn(2, n, 16, generator=gen, dtype=torch.float64))
    torch.manual_seed(0)
    near = ENFForecaster(domain, extent, 2, ENFOptions.small(n_latents=n, nearest=k)).double()
    full = copy.deepcopy(near)
    full.decoder.nearest = 0
    with torch.no_grad():
        out = near.decode(z, queries)
        for b in range(2):
            for q in range(len(queries)):
                mine = (poses[b] - queries[q]).norm(dim=-1).argsort()[:k]
                alone = Latents(poses[b : b + 1, mine], z.contexts[b : b + 1, mine])
                torch.testing.assert_close(out[b, q], full.decode(alone, queries[q : q + 1])[0, 0])
        assert _rel(out, full.decode(z, queries)) > 1e-3  # the other latents did matter
        near.decoder.nearest = n
        torch.testing.assert_close(near.decode(z, queries), full.decode(z, queries))


def test_user_errors_name_the_input_and_the_fix() -> None:
    with pytest.raises(UnknownDomainError, match="choose one of: plane, torus, sphere"):
        ENFForecaster("cylinder", 1.0, 1)
    with pytest.raises(ValueError, match="unit sphere"):
        ENFForecaster("sphere", 2.0, 1)
    model = ENFForecaster("torus", 1.0, 1, ENFOptions.small())
    with pytest.raises(ValueError, match="coords has 5 points but values has 6"):
        model.fit_latents(torch.rand(5, 2), torch.rand(1, 6, 1))
    with pytest.raises(ValueError, match="selects no point"):
        model.fit_latents(torch.rand(5, 2), torch.rand(1, 5, 1), torch.zeros(5, dtype=torch.bool))
    with pytest.raises(ValueError, match="must agree"):
        model.forecast_loss(torch.rand(5, 2), torch.rand(1, 3, 5, 1), torch.arange(4.0))
