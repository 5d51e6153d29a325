"""Grid (PDE) simulators against analytic solutions: heat kernel, conservation, determinism, errors."""

from __future__ import annotations

import numpy as np
import pytest

from fieldlab.errors import ParameterError, SimulationError
from fieldlab.simulators import diffusion, navier_stokes, resolve_params, simulate
from fieldlab.simulators.grid import cell_centres

# -- diffusion -------------------------------------------------------------------------------


def heat_kernel(x: np.ndarray, y: np.ndarray, t: float, s0: float, D: float) -> np.ndarray:
    """``(y, x)``: a unit-peak Gaussian of width ``s0`` at t = 0 diffused for ``t`` on the plane."""
    s2 = s0**2 + 2 * D * t
    return (s0**2 / s2) * np.exp(-(x[None, :] ** 2 + y[:, None] ** 2) / (2 * s2))


def gaussian_error(n: int, boundary: str, D: float = 0.1, s0: float = 0.4) -> float:
    """Max error at t = 8 dt_32 of a Gaussian diffused on an ``n x n`` grid over [-3, 3]^2,
    with ``dt`` shrinking as ``h^2`` (r_x = r_y = 0.2)."""
    x = cell_centres(-3.0, 3.0, n)
    h = 6.0 / n
    dt = 0.2 * h**2 / D
    steps = 8 * (n // 32) ** 2
    u0 = heat_kernel(x, x, 0.0, s0, D)[None]
    u = diffusion.diffuse(u0, D, (h, h), dt, boundary, n_frames=1, sample_every=steps)[0, 0]
    return float(np.abs(u - heat_kernel(x, x, steps * dt, s0, D)).max())


@pytest.mark.parametrize("boundary", ["dirichlet", "neumann", "periodic"])
def test_a_diffusing_gaussian_follows_the_heat_kernel_at_second_order(boundary: str) -> None:
    """FTCS with dt ~ h^2 converges as h^2: the error falls 4-fold per halving of h."""
    errors = [gaussian_error(n, boundary) for n in (32, 64, 128)]
    orders = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    assert errors[-1] < 4e-4, errors  # of a unit peak
    assert np.all((orders > 1.9) & (orders < 2.1)), (errors, orders)


@pytest.mark.parametrize("boundary", ["neumann", "periodic"])
def test_mass_is_conserved_with_no_flux_and_periodic_boundaries(boundary: str) -> None:
    """A source next to a corner spreads onto the boundary; the total stays put to round-off."""
    params = {"boundary": boundary, "source_x": (2.8, 3.0), "source_y": (2.8, 3.0), "n_steps": 200}
    r = simulate("diffusion-plane", 3, seed=1, params=params)
    c = r.variables["concentration"]
    total = c.sum(axis=(2, 3))
    last = c[:, -1]
    edges = last[:, [0, -1], :].sum() + last[:, :, [0, -1]].sum()
    assert edges > 0.2 * last.sum()  # a fifth of the mass sits in the edge cells
    drift = np.abs(total / total[:, :1] - 1).max()
    assert drift < 1e-13, drift


def test_dirichlet_walls_absorb_and_every_scheme_keeps_the_maximum_principle() -> None:
    params = {"source_x": (2.8, 3.0), "source_y": (2.8, 3.0), "n_steps": 200}
    c = simulate("diffusion-plane", 3, seed=1, params=params).variables["concentration"]
    total = c.sum(axis=(2, 3))
    assert np.all(np.diff(total, axis=1) < 0)  # mass leaves through u = 0 walls
    assert np.all(total[:, -1] < 0.5 * total[:, 0])
    assert c.min() >= 0.0
    assert c.max() <= 5.5


def test_benchmark_setting_sources_and_disjoint_train_test_regions() -> None:
    """Defaults: 64 x 64 cells on [-3, 3]^2, frames at t = 0.07 .. 0.26, one source per
    simulation of value 5 .. 5.5; the train region y in [0, 2] and test y in [-2, 0] share no cell."""
    train = simulate("diffusion-plane", 40, seed=3)
    test = simulate("diffusion-plane", 40, seed=3, params={"source_y": (-2.0, 0.0)})
    assert train.variables["concentration"].shape == (40, 20, 64, 64)
    np.testing.assert_allclose(train.time, 0.07 + 0.01 * np.arange(20))
    np.testing.assert_allclose(train.coords["x"][[0, -1]], [-3 + 3 / 64, 3 - 3 / 64])
    h = 6 / 64
    for r, sign in ((train, 1), (test, -1)):
        c = r.variables["concentration"]
        mass = c[:, 0].sum(axis=(1, 2)) * h * h
        assert np.all((mass >= 5 * h * h * 0.999) & (mass <= 5.5 * h * h))  # no flux lost yet
        iy, ix = np.unravel_index(c[:, 0].reshape(40, -1).argmax(axis=1), (64, 64))
        ys, xs = r.coords["y"][iy], r.coords["x"][ix]
        assert np.all(sign * ys > 0)
        assert np.all(np.abs(sign * ys - 1) <= 1)
        assert np.all(np.abs(xs) <= 2)


def test_diffusion_is_deterministic_across_batching_and_threads() -> None:
    whole = simulate("diffusion-plane", 6, seed=5, threads=2).variables["concentration"]
    part = simulate("diffusion-plane", 3, seed=5, first_sim=2, threads=1)
    assert whole[2:5].tobytes() == part.variables["concentration"].tobytes()
    assert part.first_sim == 2
    assert part.n_sims == 3


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"dt": 0.03}, r"unstable.*= 0\.68.* > 1/2; use dt <= 0\.02197"),
        ({"n_x": 2}, "n_x: Input should be greater than or equal to 4"),
        (
            {"boundary": "reflecting"},
            "boundary: Input should be 'dirichlet', 'neumann' or 'periodic'",
        ),
        ({"source_y": (3.5, 4.0)}, r"source_y \(3\.5, 4\.0\) contains no cell centre"),
        ({"source_value": (5.5, 5.0)}, "source_value must be an interval"),
        ({"n_steps": 1}, "n_steps"),
    ],
)
def test_bad_diffusion_parameters_say_what_to_change(params: dict, match: str) -> None:
    with pytest.raises(ParameterError, match=match) as info:
        simulate("diffusion-plane", 1, seed=0, params=params)
    assert "diffusion-plane" in str(info.value)


def test_the_pure_core_rejects_unknown_boundaries_and_unstable_steps() -> None:
    u0 = np.zeros((1, 8, 8))
    with pytest.raises(ParameterError, match="unknown boundary 'open'; choose one of: dirichlet"):
        diffusion.diffuse(u0, 0.1, (0.1, 0.1), 0.01, "open", 1)  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="unstable"):
        diffusion.diffuse(u0, 1.0, (0.1, 0.1), 0.01, "periodic", 1)


# -- Navier-Stokes ---------------------------------------------------------------------------

SHORT = {"warmup_steps": 50, "n_steps": 101, "sample_every": 50}


def taylor_green_error(dt: float, m: int = 1, nu: float = 0.01, t_end: float = 1.0) -> float:
    """Relative max error at ``t_end`` of the Taylor-Green vorticity ``cos(2 pi m x) cos(2 pi m y)``,
    unforced, against :math:`\\omega_0 e^{-2 \\nu k^2 t}`, :math:`k = 2 \\pi m`."""
    steps = round(t_end / dt)
    p = resolve_params(
        "navier-stokes-torus",
        {
            "dt": dt,
            "n": 32,
            "viscosity": nu,
            "forcing_amplitude": 0.0,
            "warmup_steps": 0,
            "n_steps": steps + 1,
            "sample_every": steps,
        },
    )
    g = 2 * np.pi * m * p.grid()
    w0 = np.cos(g)[None, :] * np.cos(g)[:, None]
    vort, _, _ = navier_stokes.integrate(w0[None], p, navier_stokes.forcing(p))
    exact = w0 * np.exp(-2 * nu * (2 * np.pi * m) ** 2 * t_end)
    return float(np.abs(vort[0, -1] - exact).max() / np.abs(exact).max())


def test_a_taylor_green_vortex_decays_at_the_viscous_rate_with_second_order_in_time() -> None:
    """Advection vanishes for this steady eigenmode; Crank-Nicolson's decay converges as dt^2."""
    errors = [taylor_green_error(dt) for dt in (0.1, 0.05, 0.025)]
    orders = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    assert errors[-1] < 5e-5, errors  # CN: (dt nu 2k^2)^3 / 12 per step
    assert np.all((orders > 1.9) & (orders < 2.1)), (errors, orders)


def test_velocity_is_divergence_free_and_its_curl_is_the_vorticity() -> None:
    r = simulate("navier-stokes-torus", 2, seed=0, params=SHORT)
    w, uv = r.variables["vorticity"], r.variables["velocity_field"]
    assert w.shape == (2, 2, 64, 64)
    assert uv.shape == (2, 2, 64, 64, 2)
    sp = navier_stokes.Spectral(64)
    u_hat, v_hat = np.fft.rfft2(uv[..., 0]), np.fft.rfft2(uv[..., 1])
    div = np.fft.irfft2(2j * np.pi * (sp.kx * u_hat + sp.ky * v_hat), s=(64, 64))
    curl = np.fft.irfft2(2j * np.pi * (sp.kx * v_hat - sp.ky * u_hat), s=(64, 64))
    scale = np.abs(w).max()
    assert np.abs(div).max() < 1e-12 * scale  # measured: 4e-15 of it
    # the curl recovers the vorticity (whose mean is zero: neither forcing nor initial field has one)
    assert np.abs(curl - w).max() < 1e-12 * scale
    assert np.abs(w.mean(axis=(2, 3))).max() < 1e-12


def test_navier_stokes_defaults_reproduce_the_benchmark_setting() -> None:
    p = resolve_params("navier-stokes-torus")
    assert (p.n, p.viscosity, p.forcing_amplitude, p.alpha, p.tau) == (64, 1e-3, 0.3, 2.5, 7.0)
    assert p.n_frames == 20
    np.testing.assert_allclose(p.frame_times(), np.arange(31.0, 51.0))
    f = navier_stokes.forcing(p)
    x = np.arange(64) / 64
    np.testing.assert_allclose(f[5, 7], 0.3 * (np.cos(4 * np.pi * x[7]) + np.cos(4 * np.pi * x[5])))


def test_navier_stokes_is_deterministic_across_batching_and_threads() -> None:
    whole = simulate("navier-stokes-torus", 3, seed=9, params=SHORT, threads=2)
    part = simulate("navier-stokes-torus", 1, seed=9, params=SHORT, first_sim=1, threads=1)
    for name in ("vorticity", "velocity_field"):
        assert whole.variables[name][1:2].tobytes() == part.variables[name].tobytes()
    assert not np.array_equal(whole.variables["vorticity"][0], whole.variables["vorticity"][1])


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"n": 63}, "n must be even"),
        ({"n": 4}, "n: Input should be greater than or equal to 8"),
        ({"forcing_wavenumber": 30}, r"forcing_wavenumber 30 is beyond .* n // 3 = 21"),
        ({"viscosity": 0.0}, "viscosity: Input should be greater than 0"),
    ],
)
def test_bad_navier_stokes_parameters_say_what_to_change(params: dict, match: str) -> None:
    with pytest.raises(ParameterError, match=match) as info:
        simulate("navier-stokes-torus", 1, seed=0, params=params)
    assert "navier-stokes-torus" in str(info.value)


def test_a_step_past_the_courant_limit_is_never_written_silently() -> None:
    params = {"dt": 0.5, "warmup_steps": 0, "n_steps": 21, "sample_every": 10, "viscosity": 1e-4}
    with pytest.raises(SimulationError, match=r"navier-stokes-torus.*reduce dt"):
        simulate("navier-stokes-torus", 2, seed=0, params=params)
    flagged = simulate("navier-stokes-torus", 2, seed=0, params=params, on_nonfinite="flag")
    assert not flagged.status.finite.any()


# -- figures ---------------------------------------------------------------------------------


def test_simulate_plot_draws_a_strip_of_frames_for_grid_systems(tmp_path) -> None:
    from typer.testing import CliRunner

    from fieldlab.cli import app

    out = tmp_path / "frames.png"
    run = CliRunner().invoke(
        app, ["simulate", "diffusion-plane", "--n-sims", "2", "--plot", str(out)]
    )
    assert run.exit_code == 0, run.output
    assert "2 simulations, 20 frames of concentration on a 64 x 64 grid" in run.output
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_grid_frames_refuse_particle_results() -> None:
    from fieldlab.viz.grid_frames import plot_grid_frames

    particles = simulate("charged", 1, seed=0, params={"n_steps": 300, "sample_every": 100})
    with pytest.raises(ValueError, match="plot_trajectories"):
        plot_grid_frames(particles)
