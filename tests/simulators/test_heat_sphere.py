"""Heat on the unit sphere against its exact solution: decay of each mode, the conserved mean,
rotation equivariance, determinism, parameter errors, and the mini dataset through the pipeline."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numba
import numpy as np
import pytest
from scipy.spatial.transform import Rotation
from scipy.special import sph_harm_y

from fieldlab.errors import ParameterError
from fieldlab.simulators import get_system, resolve_params, simulate, sphere
from fieldlab.simulators.heat_sphere import solve

KAPPA = 0.1
TIMES = np.array([0.0, 0.05, 0.3, 1.0, 2.5])


def scipy_real_harmonic(l: int, m: int, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:  # noqa: E741
    """The real orthonormal :math:`Y_{lm}` from SciPy's complex one (which carries the
    Condon-Shortley phase :math:`(-1)^m`, undone here)."""
    y = (-1.0) ** abs(m) * sph_harm_y(l, abs(m), np.pi / 2 - lat, lon)
    if m == 0:
        return y.real
    return np.sqrt(2.0) * (y.real if m > 0 else y.imag)


def grid(n_lat: int, n_lon: int) -> tuple[np.ndarray, np.ndarray]:
    return sphere.latitudes(n_lat)[:, None], sphere.longitudes(n_lon)[None, :]


@pytest.mark.parametrize(("l", "m"), [(1, 0), (1, -1), (2, 1), (5, -3), (8, 8), (12, 0)])
def test_a_single_harmonic_decays_as_exp_of_minus_kappa_l_l_plus_1_t(l: int, m: int) -> None:  # noqa: E741
    lat, lon = grid(16, 32)
    a = np.zeros((1, sphere.n_coefficients(12)))
    a[0, sphere.index(l, m)] = 1.0
    u = solve(a, KAPPA, TIMES, 16, 32)[0]
    y = scipy_real_harmonic(l, m, lat, lon)
    expected = np.exp(-KAPPA * l * (l + 1) * TIMES)[:, None, None] * y[None]
    assert np.abs(u - expected).max() < 1e-12 * np.abs(y).max()
    assert np.abs(y).max() > 0.2  # the mode is sampled, not a zero of the grid


@pytest.mark.parametrize(
    ("f", "solution"),
    [
        (lambda p: p[..., 2], lambda p, t: p[..., 2] * np.exp(-2 * KAPPA * t)),
        (
            lambda p: p[..., 2] ** 2,
            lambda p, t: 1 / 3 + (p[..., 2] ** 2 - 1 / 3) * np.exp(-6 * KAPPA * t),
        ),
        (
            lambda p: p.prod(axis=-1),
            lambda p, t: p.prod(axis=-1) * np.exp(-12 * KAPPA * t),
        ),
    ],
    ids=["z: degree 1", "z^2: mean 1/3 plus degree 2", "xyz: harmonic cubic, degree 3"],
)
def test_polynomial_fields_follow_their_closed_form_heat_solutions(
    f: Callable[[np.ndarray], np.ndarray], solution: Callable[[np.ndarray, float], np.ndarray]
) -> None:
    """Independent of any harmonic convention: a harmonic homogeneous polynomial of degree l
    restricted to the sphere is an eigenfunction of eigenvalue -l(l+1)."""
    lat, lon = grid(12, 24)
    points = sphere.unit_vectors(lat, lon)
    u = solve(sphere.project(f, 5)[None], KAPPA, TIMES, 12, 24)[0]
    for k, t in enumerate(TIMES):
        np.testing.assert_allclose(u[k], solution(points, t), rtol=0, atol=1e-13)


def test_the_area_weighted_mean_is_conserved_and_everything_else_decays() -> None:
    r = simulate("heat-sphere", 6, seed=3)
    u = r.variables["temperature"]
    p = resolve_params("heat-sphere")
    w = sphere.area_weights(p.n_lat, p.n_lon)
    np.testing.assert_allclose(w.sum(), 4 * np.pi, rtol=1e-14)
    mean = (u * w).sum(axis=(2, 3)) / (4 * np.pi)
    # the initial field's mean, from the same stream: synthesised at t = 0 on the same grid
    from fieldlab.simulators.heat_sphere import draws, initial_coefficients
    from fieldlab.simulators.seeding import draw

    a = initial_coefficients(draw(3, 0, 6, draws(p)), p)
    u0 = solve(a, p.kappa, np.zeros(1), p.n_lat, p.n_lon)[:, 0]
    mean0 = (u0 * w).sum(axis=(1, 2)) / (4 * np.pi)
    np.testing.assert_allclose(mean0, a[:, 0] / np.sqrt(4 * np.pi), rtol=0, atol=1e-14)
    assert np.abs(mean - mean0[:, None]).max() < 1e-13
    assert np.ptp(mean0) > 0.1  # a random mean per simulation
    # plain cos(latitude) weights are not exact: the conservation is not a trivial identity
    naive = (u * np.cos(sphere.latitudes(p.n_lat))[:, None]).mean(axis=(2, 3)) / (2 / np.pi)
    assert np.abs(naive - mean).max() > 1e-6
    # the anomaly's variance decays monotonically
    anomaly = ((u - mean[..., None, None]) ** 2 * w).sum(axis=(2, 3))
    assert np.all(np.diff(anomaly, axis=1) < 0)


def test_rotating_the_initial_field_rotates_the_solution() -> None:
    """u0 band-limited (degree 6); the rotated field R u0 (x) = u0(R^T x), projected exactly,
    evolves into the rotated solution at every grid point and time."""
    l_max, n_lat, n_lon = 6, 10, 20
    rng = np.random.default_rng(7)
    a = rng.standard_normal(sphere.n_coefficients(l_max))
    rot = Rotation.random(random_state=rng).as_matrix()

    def u0(points: np.ndarray) -> np.ndarray:
        return sphere.synthesise(a, *sphere.lat_lon(points))

    rotated = sphere.project(lambda x: u0(x @ rot), l_max)  # x @ R = R^T x per point
    u_rot = solve(rotated[None], KAPPA, TIMES, n_lat, n_lon)[0]
    points = sphere.unit_vectors(*grid(n_lat, n_lon)) @ rot  # R^T x_grid
    ll = sphere.degrees(l_max) * (sphere.degrees(l_max) + 1)
    decayed = a * np.exp(-KAPPA * TIMES[:, None] * ll)
    for k in range(len(TIMES)):
        expected = sphere.synthesise(decayed[k], *sphere.lat_lon(points))
        assert np.abs(u_rot[k] - expected).max() < 1e-12 * np.abs(expected).max()
    assert not np.allclose(rotated, a, atol=0.1)  # the rotation changed the coefficients


def test_the_grid_harmonics_agree_with_scipy_and_the_projection_inverts_the_synthesis() -> None:
    lat = np.random.default_rng(1).uniform(-1.5, 1.5, 40)
    lon = np.random.default_rng(2).uniform(0, 2 * np.pi, 40)
    y = sphere.harmonics(10, lat, lon)
    for l in range(11):  # noqa: E741
        for m in range(-l, l + 1):
            ref = scipy_real_harmonic(l, m, lat, lon)
            np.testing.assert_allclose(y[sphere.index(l, m)], ref, rtol=0, atol=1e-13)
    a = np.random.default_rng(3).standard_normal(sphere.n_coefficients(10))
    back = sphere.project(lambda p: sphere.synthesise(a, *sphere.lat_lon(p)), 10)
    np.testing.assert_allclose(back, a, rtol=0, atol=1e-12)


def test_heat_sphere_is_deterministic_per_simulation_across_batches_and_threads() -> None:
    params = {"n_lat": 16, "n_lon": 32, "l_max": 8}
    most = numba.config.NUMBA_NUM_THREADS
    whole = simulate("heat-sphere", 7, seed=11, params=params, threads=most)
    part = simulate("heat-sphere", 3, seed=11, params=params, first_sim=4, threads=1)
    single = simulate("heat-sphere", 1, seed=11, params=params, first_sim=5)
    u = whole.variables["temperature"]
    assert u[4:].tobytes() == part.variables["temperature"].tobytes()
    assert u[5:6].tobytes() == single.variables["temperature"].tobytes()
    assert not np.array_equal(u[0], u[1])
    other = simulate("heat-sphere", 1, seed=12, params=params).variables["temperature"]
    assert not np.array_equal(u[0], other[0])


def test_defaults_grid_coordinates_and_initial_spread() -> None:
    """32 x 64 cell-centred latitudes and longitudes in radians; the initial fields' pointwise
    standard deviation about their mean is the amplitude (1) on average."""
    r = simulate("heat-sphere", 64, seed=0)
    u = r.variables["temperature"]
    assert u.shape == (64, 20, 32, 64)
    np.testing.assert_allclose(r.time, 0.05 * np.arange(1, 21))
    y, x = r.coords["y"], r.coords["x"]
    np.testing.assert_allclose(y[[0, -1]], [-np.pi / 2 + np.pi / 64, np.pi / 2 - np.pi / 64])
    np.testing.assert_allclose(np.diff(y), np.pi / 32)
    np.testing.assert_allclose(x, 2 * np.pi * np.arange(64) / 64)
    assert r.coord_attrs["y"]["units"] == r.coord_attrs["x"]["units"] == "radians"
    p = resolve_params("heat-sphere")
    from fieldlab.simulators.heat_sphere import draws, initial_coefficients
    from fieldlab.simulators.seeding import draw

    a = initial_coefficients(draw(0, 0, 64, draws(p)), p)
    u0 = solve(a, p.kappa, np.zeros(1), p.n_lat, p.n_lon)[:, 0]
    w = sphere.area_weights(p.n_lat, p.n_lon) / (4 * np.pi)
    mean = (u0 * w).sum(axis=(1, 2))
    var = ((u0 - mean[:, None, None]) ** 2 * w).sum(axis=(1, 2))
    assert 0.8 < var.mean() < 1.2  # expected 1; 64 fields of ~ 30 effective modes each
    assert np.all((mean >= -1) & (mean <= 1))


def test_heat_sphere_declares_a_grid_on_the_sphere_that_is_not_a_torus() -> None:
    system = get_system("heat-sphere")
    p = resolve_params(system)
    assert system.kind == "grid"
    assert system.periodic(p) is False
    assert system.domain(p) == "sphere"
    assert system.field_scope == "none"


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"kappa": 0.0}, "kappa: Input should be greater than 0"),
        ({"kappa": -1.0}, "kappa: Input should be greater than 0"),
        ({"l_max": 32}, r"n_lon = 64 aliases .* l_max = 32: use n_lon >= 2 l_max \+ 1 = 65"),
        ({"n_lat": 12}, r"n_lat = 12 latitudes alias .* l_max = 15: use n_lat >= l_max \+ 1 = 16"),
        ({"mean_range": (1.0, -1.0)}, "mean_range must be an interval"),
        ({"diffusivity": 0.1}, "diffusivity: not a parameter of this system"),
    ],
)
def test_bad_heat_sphere_parameters_name_the_parameter_and_the_fix(
    params: dict, match: str
) -> None:
    with pytest.raises(ParameterError, match=match) as info:
        simulate("heat-sphere", 1, seed=0, params=params)
    assert "heat-sphere" in str(info.value)


def test_the_pure_core_refuses_an_aliasing_grid_and_a_non_positive_kappa() -> None:
    a = np.zeros((1, sphere.n_coefficients(10)))
    with pytest.raises(ValueError, match="n_lon = 16 aliases"):
        solve(a, KAPPA, TIMES, 16, 16)
    with pytest.raises(ValueError, match="kappa must be positive"):
        solve(a, 0.0, TIMES, 16, 32)


def test_the_cards_keep_the_setting_and_the_mini_is_a_small_subset() -> None:
    from fieldlab.catalog import fingerprint, load_card

    full, mini = load_card("heat-sphere"), load_card("heat-sphere-mini")
    assert full.simulator == mini.simulator == "heat-sphere"
    assert (full.splits["train"].n_sims, full.splits["test"].n_sims) == (2048, 32)
    assert mini.split_names() == full.split_names()
    for split in full.split_names():
        assert 1 <= mini.splits[split].n_sims <= max(full.splits[split].n_sims // 100, 4)
        assert mini.n_frames(split) == full.n_frames(split) == 20
        assert mini.resolved_params(split) == full.resolved_params(split)
    assert mini.task == full.task
    assert (full.task.context.start, full.task.target.stop) == (0, 20)
    assert fingerprint(full) != fingerprint(mini)


def test_the_mini_dataset_stores_latitude_and_longitude_in_radians(
    mini_data: Callable[[str], Path],
) -> None:
    from fieldlab.catalog import load_card, open_dataset, verify
    from fieldlab.catalog.seeds import split_seed

    root = mini_data("heat-sphere-mini")
    card = load_card("heat-sphere-mini")
    for split, n in (("train", 4), ("test", 2)):
        ds = open_dataset("heat-sphere-mini", split, data_root=str(root))
        assert dict(ds.sizes) == {"sim": n, "time": 20, "y": 32, "x": 64}
        assert ds.temperature.dims == ("sim", "time", "y", "x")
        assert ds.temperature.attrs["tensor_order"] == 0
        assert ds.temperature.attrs["long_name"] == "temperature on the unit sphere"
        np.testing.assert_allclose(ds.y, sphere.latitudes(32))
        np.testing.assert_allclose(ds.x, sphere.longitudes(64))
        assert (ds.y.attrs["units"], ds.x.attrs["units"]) == ("radians", "radians")
        assert ds.y.attrs["long_name"] == "latitude of the grid point"
        assert ds.x.attrs["long_name"] == "longitude of the grid point"
        assert (ds.y.attrs["axis"], ds.x.attrs["axis"]) == ("Y", "X")
        direct = simulate("heat-sphere", n, split_seed(66, split), card.resolved_params(split))
        assert ds.temperature.values.tobytes() == direct.variables["temperature"].tobytes()
    assert verify("heat-sphere-mini", data_root=str(root)).ok
