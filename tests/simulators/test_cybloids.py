"""Cybloids against analytic results.

Every statistical assertion compares an estimate with its standard error over independent
simulations (each simulation has its own seed stream), with a margin of five standard errors, and
every seed is fixed, so a test fails only if the physics is wrong.
"""

from __future__ import annotations

import numpy as np
import pytest

from fieldlab.analysis import (
    bond_order,
    global_order,
    local_order,
    mean_squared_displacement,
)
from fieldlab.errors import ParameterError
from fieldlab.simulators import cybloids, resolve_params, simulate
from fieldlab.testing import cybloid_reference as ref

Z = 5.0
"""Standard errors of margin in statistical assertions."""


def _exponent_between(position: np.ndarray, time: np.ndarray, lags: tuple[int, int]):
    """Effective MSD exponent between two frame lags, and its standard error (delta method)."""
    m = mean_squared_displacement(position, time, np.asarray(lags))
    alpha = np.log(m.msd[1] / m.msd[0]) / np.log(m.lag_time[1] / m.lag_time[0])
    # log-MSD errors are correlated across lags; adding them in quadrature is conservative enough
    se = np.hypot(m.stderr[0] / m.msd[0], m.stderr[1] / m.msd[1]) / np.log(lags[1] / lags[0])
    return alpha, se


@pytest.mark.parametrize("dim", [2, 3])
def test_free_diffusion_msd_is_2_dim_diffusivity_t(dim: int) -> None:
    kT, gamma = 1.5, 2.0
    params = {"k": 0.0, "dim": dim, "kT": kT, "gamma": gamma, "n_steps": 2001}
    res = simulate("cybloid-static-trap", 128, seed=1, params=params)
    m = mean_squared_displacement(res.position, res.time, np.array([1, 10, 40]))
    expected = 2 * dim * (kT / gamma) * m.lag_time
    assert np.all(np.abs(m.msd - expected) < Z * m.stderr), (m.msd / expected, m.stderr / expected)
    assert np.all(m.stderr / expected < 0.05)  # so the check above is a sharp one


def test_noise_is_standard_normal() -> None:
    """One-step displacements of free diffusion: variance 2 D dt, Gaussian kurtosis, no drift."""
    params = {"k": 0.0, "n_steps": 801, "sample_every": 1, "dt": 0.01}
    res = simulate("cybloid-static-trap", 64, seed=2, params=params)
    z = (np.diff(res.position, axis=1) / np.sqrt(2 * 0.01)).ravel()
    n = z.size
    assert abs(z.mean()) < Z / np.sqrt(n)
    assert abs(z.var() - 1.0) < Z * np.sqrt(2 / n)
    assert abs((z**4).mean() / z.var() ** 2 - 3.0) < Z * np.sqrt(24 / n)


def test_static_harmonic_trap_variance_is_thermal_energy_over_stiffness() -> None:
    k, kT, dt = 10.0, 1.0, 1e-3
    params = {"k": k, "kT": kT, "dt": dt, "n_steps": 20_001, "sample_every": 100}
    res = simulate("cybloid-static-trap", 128, seed=3, params=params)
    x = res.position[:, 10:]  # one time unit of relaxation: e^{-2 k t / gamma} = e^{-20}
    per_sim = (x**2).mean(axis=(1, 2, 3))
    mean, se = per_sim.mean(), per_sim.std(ddof=1) / np.sqrt(per_sim.size)
    # Euler-Maruyama's stationary variance of an Ornstein-Uhlenbeck process, exactly
    discrete = kT / k * 2 / (2 - k * dt)
    assert abs(mean - discrete) < Z * se
    assert abs(discrete / (kT / k) - 1) < 0.01
    assert se / mean < 0.01
    centre = x.mean(axis=(1, 2, 3))
    assert abs(centre.mean()) < Z * centre.std(ddof=1) / np.sqrt(centre.size)


@pytest.mark.parametrize("radius", [0.0, 2.0])
def test_zero_delay_self_centred_potential_exerts_no_force(radius: float) -> None:
    """With delta = 0 the trap is centred on the particle itself: free diffusion, bit for bit."""
    params = {"delay": 0.0, "radius": radius, "n_steps": 3001}
    trapped = simulate("cybloid-trap", 5, seed=4, params={**params, "k": 50.0})
    free = simulate("cybloid-trap", 5, seed=4, params={**params, "k": 0.0})
    np.testing.assert_array_equal(trapped.position, free.position)
    delayed = simulate("cybloid-trap", 5, seed=4, params={**params, "k": 50.0, "delay": 0.01})
    assert not np.array_equal(delayed.position, free.position)


def test_delayed_trap_is_subdiffusive_at_intermediate_lags() -> None:
    res = simulate("cybloid-trap", 64, seed=5)  # k = 10, delta = 1, frames every 0.01
    short, se_short = _exponent_between(res.position, res.time, (1, 3))
    mid, se_mid = _exponent_between(res.position, res.time, (10, 50))
    assert abs(short - 1.0) < 0.05 + Z * se_short  # free diffusion before the trap acts
    assert mid + Z * se_mid < 0.85, (mid, se_mid)


def test_delayed_trap_long_time_diffusion_is_slowed_by_the_feedback() -> None:
    """Long lags: D / (1 + k delta / gamma)^2, far below D (here 1/121 of it)."""
    res = simulate("cybloid-trap", 64, seed=6)
    m = mean_squared_displacement(res.position, res.time, np.array([100, 800]))
    d_eff = np.diff(m.msd)[0] / (4 * np.diff(m.lag_time)[0])
    assert d_eff < 0.05


def test_annular_program_makes_the_particle_active() -> None:
    res = simulate("cybloid-annular", 64, seed=7)  # R = 2, k = 20, delta = 1
    alpha, se = _exponent_between(res.position, res.time, (100, 200))
    assert alpha - Z * se > 1.2, (alpha, se)


def _final_order(res, frames: int = 20) -> dict[str, tuple[float, float]]:
    """Local psi4 and psi6 over the last frames: mean over simulations and its standard error."""
    x = res.position[:, -frames:]
    out = {}
    for n in (4, 6):
        per_sim = local_order(bond_order(x, n)).mean(axis=1)
        out[f"psi{n}"] = (per_sim.mean(), per_sim.std(ddof=1) / np.sqrt(per_sim.size))
    return out


def test_single_ring_program_builds_triangular_crystals() -> None:
    res = simulate("cybloid-crystal", 32, seed=8)
    order = _final_order(res)
    m6, se6 = order["psi6"]
    m4, se4 = order["psi4"]
    assert m6 - Z * se6 > 0.8, order
    assert m4 + Z * se4 < 0.4, order
    glob = global_order(bond_order(res.position[:, -1], 6)).mean()
    assert glob > 0.7  # one orientation per crystallite, not a polycrystal


SQUARE = {
    "n_particles": 16,
    "radii": (1.5, 1.5 * 2**0.5),
    "width": 0.3,
    "k": 120.0,
    "diameter": 1.4,
    "repulsion": 2000.0,
    "dt": 2.5e-4,
    "delay": 2.5e-3,
    "n_steps": 40_001,
    "sample_every": 40,
}


def test_two_ring_program_builds_square_crystals() -> None:
    res = simulate("cybloid-crystal", 32, seed=9, params=SQUARE)
    order = _final_order(res)
    m6, se6 = order["psi6"]
    m4, se4 = order["psi4"]
    assert m4 - Z * se4 > 0.7, order
    assert m6 + Z * se6 < 0.55, order


def test_same_seed_same_bytes_whatever_threads_and_batching() -> None:
    params = {"n_steps": 2001, "n_particles": 7, "delay": 0.005, "interval": 3}
    whole = simulate("cybloid-crystal", 40, seed=10, params=params, threads=2)
    again = simulate("cybloid-crystal", 40, seed=10, params=params, threads=1)
    part = simulate("cybloid-crystal", 5, seed=10, params=params, first_sim=33, threads=2)
    for name in ("position", "velocity"):
        assert whole.variables[name].tobytes() == again.variables[name].tobytes()
        np.testing.assert_array_equal(whole.variables[name][33:38], part.variables[name])
    other = simulate("cybloid-crystal", 5, seed=11, params=params)
    assert not np.array_equal(other.position, part.position)


SWEEP = (0.0, 0.02, 0.05)


@pytest.mark.parametrize(
    ("system", "params"),
    [
        ("cybloid-trap", {"n_steps": 1001, "interval": 2}),
        ("cybloid-annular", {"n_steps": 1001, "dim": 3}),
        ("cybloid-crystal", {"n_steps": 401, "n_particles": 5}),
    ],
)
def test_sweep_simulation_is_the_single_delay_simulation_of_its_index(
    system: str, params: dict
) -> None:
    """Simulation i of a sweep is, bit for bit, simulation i with delay SWEEP[i % 3]."""
    swept = simulate(system, 8, seed=15, params={**params, "delay_sweep": SWEEP})
    np.testing.assert_array_equal(swept.variables["delay"], np.resize(SWEEP, 8))
    for j, delay in enumerate(SWEEP):
        single = simulate(system, 8, seed=15, params={**params, "delay": delay})
        assert "delay" not in single.variables  # without a sweep the outputs are as before
        for name in ("position", "velocity"):
            assert swept.variables[name][j::3].tobytes() == single.variables[name][j::3].tobytes()


@pytest.mark.parametrize("radius", [0.0, 2.0])
def test_zero_delay_entries_of_a_sweep_are_free_diffusion(radius: float) -> None:
    params = {"radius": radius, "n_steps": 2001, "k": 50.0}
    swept = simulate("cybloid-trap", 6, seed=16, params={**params, "delay_sweep": (0.0, 0.5)})
    free = simulate("cybloid-trap", 6, seed=16, params={**params, "k": 0.0})
    np.testing.assert_array_equal(swept.position[0::2], free.position[0::2])
    assert not np.array_equal(swept.position[1::2], free.position[1::2])


def test_sweep_long_time_diffusion_follows_each_delay() -> None:
    """Long lags of each delay's simulations: D / (1 + k delta / gamma)^2 (k = 10, D = 1)."""
    sweep = (0.0, 0.25, 1.0)
    res = simulate("cybloid-trap", 96, seed=17, params={"delay_sweep": sweep})
    for j, delay in enumerate(sweep):
        assert np.all(res.variables["delay"][j::3] == delay)
        m = mean_squared_displacement(res.position[j::3], res.time, np.array([400, 1600]))
        span = 4 * np.diff(m.lag_time)[0]  # 2 dim, dim = 2
        d_eff = np.diff(m.msd)[0] / span
        se = np.hypot(*m.stderr) / span  # conservative: the two MSDs are positively correlated
        expected = 1.0 / (1.0 + 10.0 * delay) ** 2
        assert abs(d_eff - expected) < Z * se, (delay, d_eff, se, expected)
        assert se < 0.5 * max(expected, 0.05), (delay, se)  # sharp enough to tell delays apart


def test_sweep_bytes_do_not_depend_on_threads_or_batching() -> None:
    params = {"n_steps": 1001, "delay_sweep": (0.05, 0.0, 0.2, 0.01), "interval": 3}
    whole = simulate("cybloid-trap", 40, seed=18, params=params, threads=2)
    again = simulate("cybloid-trap", 40, seed=18, params=params, threads=1)
    part = simulate("cybloid-trap", 5, seed=18, params=params, first_sim=33, threads=2)
    assert sorted(whole.variables) == ["delay", "position", "velocity"]
    for name in whole.variables:
        assert whole.variables[name].tobytes() == again.variables[name].tobytes()
        assert whole.variables[name][33:38].tobytes() == part.variables[name].tobytes()


def test_velocity_is_the_mean_velocity_over_a_frame() -> None:
    res = simulate("cybloid-annular", 3, seed=12, params={"n_steps": 2001})
    frame_dt = res.time[1] - res.time[0]
    np.testing.assert_allclose(
        res.velocity[:, 1:], np.diff(res.position, axis=1) / frame_dt, rtol=1e-9, atol=1e-9
    )


def test_actuation_interval_holds_the_potential() -> None:
    """Updating every m steps changes the dynamics; m = 1 with the same seed is the reference."""
    base = {"n_steps": 3001, "delay": 0.1}
    every = simulate("cybloid-trap", 4, seed=13, params=base)
    held = simulate("cybloid-trap", 4, seed=13, params={**base, "interval": 50})
    assert not np.array_equal(every.position, held.position)
    assert np.isfinite(held.position).all()


def test_parameter_errors_name_the_input_and_the_fix() -> None:
    with pytest.raises(ParameterError, match=r"delay.*whole number of steps.*use delay"):
        resolve_params("cybloid-trap", {"delay": 0.0015})
    with pytest.raises(ParameterError, match="stiffness"):
        resolve_params("cybloid-trap", {"stiffness": 1.0})
    with pytest.raises(ParameterError, match="radii"):
        resolve_params("cybloid-crystal", {"radii": (-1.0,)})
    with pytest.raises(ParameterError, match="delay buffer would hold"):
        resolve_params("cybloid-crystal", {"delay": 1000.0})
    assert resolve_params("cybloid-crystal", {"width": None}).width is None
    with pytest.raises(ParameterError, match=r"delay_sweep\[1\].*whole number.*use delay_sweep"):
        resolve_params("cybloid-trap", {"delay_sweep": (0.5, 0.0015)})
    with pytest.raises(ParameterError, match=r"delay_sweep.*empty.*leave it out"):
        resolve_params("cybloid-trap", {"delay_sweep": ()})
    with pytest.raises(ParameterError, match=r"delay_sweep.*non-negative"):
        resolve_params("cybloid-annular", {"delay_sweep": (0.5, -0.5)})
    with pytest.raises(ParameterError, match=r"both given.*leave delay out"):
        resolve_params("cybloid-trap", {"delay": 0.5, "delay_sweep": (0.5,)})
    with pytest.raises(ParameterError, match="longest delay"):
        resolve_params("cybloid-crystal", {"delay_sweep": (0.01, 1000.0)})
    with pytest.raises(ParameterError, match="delay_sweep: not a parameter"):
        resolve_params("cybloid-static-trap", {"delay_sweep": (0.5,)})
    swept = resolve_params("cybloid-trap", {"delay_sweep": (0.0, 0.5)})
    assert swept.delay is None  # the sweep replaces the single delay ...
    assert resolve_params("cybloid-trap", swept.model_dump()) == swept  # ... and round-trips


@pytest.mark.parametrize(
    ("system", "params"),
    [
        ("cybloid-trap", {"delay": 0.05, "interval": 7, "dim": 3, "n_particles": 2}),
        ("cybloid-annular", {"delay": 0.1}),
        ("cybloid-static-trap", {"radius": 1.5}),
        ("cybloid-crystal", {"n_particles": 6, "radii": (1.5, 2.121), "interval": 2}),
        ("cybloid-crystal", {"n_particles": 5, "radii": (0.0,), "width": None, "init_std": 0.5}),
        ("cybloid-trap", {"delay_sweep": (0.0, 0.05, 0.02), "interval": 3}),
        ("cybloid-crystal", {"n_particles": 4, "delay_sweep": (0.01, 0.0)}),
    ],
)
def test_kernel_matches_a_plain_numpy_implementation(system: str, params: dict) -> None:
    """Same equations, same noise stream: the Numba kernel and the NumPy loop agree."""
    p = resolve_params(system, {**params, "n_steps": 401, "sample_every": 20})
    res = simulate(system, 3, seed=14, params=p.model_dump())
    x0, keys = cybloids._keys_and_positions(p, 3, 14, 0)
    noise = ref.counter_noise(keys, p.n_particles, p.dim)
    lags = None
    if getattr(p, "delay_sweep", None) is not None:
        lags = np.asarray(p.lag_steps)[p.sim_delays(0, 3)]
    pos, vel = ref.integrate(x0, cybloids.program(p), cybloids.schedule(p), noise, lags)
    np.testing.assert_allclose(res.position, pos, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(res.velocity, vel, rtol=1e-7, atol=1e-7)
