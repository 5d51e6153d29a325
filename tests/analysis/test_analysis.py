"""The analysis functions on trajectories whose answers are known exactly."""

from __future__ import annotations

import numpy as np
import pytest

from fieldlab.analysis import (
    bond_order,
    global_order,
    local_exponent,
    local_order,
    log_lags,
    mean_squared_displacement,
    velocity_autocorrelation,
)
from fieldlab.errors import ParameterError


def _lattice(kind: str, n: int = 5) -> np.ndarray:
    i, j = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    if kind == "square":
        pts = np.stack([i, j], axis=-1).astype(float)
    else:
        pts = np.stack([i + 0.5 * j, j * np.sqrt(3) / 2], axis=-1)
    return pts.reshape(-1, 2) * 1.5


def test_msd_of_ballistic_and_static_trajectories() -> None:
    t = np.arange(1, 101) * 0.1
    v = np.array([0.3, -0.4])  # |v| = 0.5
    pos = (t[:, None, None] * v)[None].repeat(2, axis=0)  # (sim, time, particle, space)
    m = mean_squared_displacement(pos, t)
    np.testing.assert_allclose(m.msd, 0.25 * m.lag_time**2)
    np.testing.assert_allclose(local_exponent(m.lag_time, m.msd), 2.0)
    np.testing.assert_allclose(m.stderr, 0.0, atol=1e-15)
    still = mean_squared_displacement(np.zeros((1, 10, 3, 2)), t[:10], np.array([1, 5]))
    np.testing.assert_array_equal(still.msd, 0.0)
    assert np.isnan(still.stderr).all()  # one simulation: no error estimate


def test_msd_rejects_bad_input() -> None:
    t = np.arange(10.0)
    with pytest.raises(ParameterError, match="lags"):
        mean_squared_displacement(np.zeros((1, 10, 1, 2)), t, np.array([10]))
    with pytest.raises(ParameterError, match=r"\(sim, time, particle, space\)"):
        mean_squared_displacement(np.zeros((10, 2)), t)


def test_log_lags_are_distinct_and_bounded() -> None:
    lags = log_lags(1000)
    assert lags[0] == 1
    assert lags[-1] == 500
    assert np.all(np.diff(lags) > 0)


def test_velocity_autocorrelation_of_white_noise_and_a_constant() -> None:
    rng = np.random.default_rng(0)
    v = rng.standard_normal((8, 4000, 2, 2))
    lag, c = velocity_autocorrelation(v, np.arange(4000) * 0.5, max_lag=20)
    np.testing.assert_allclose(lag, np.arange(21) * 0.5)
    n_vec = v.size // 2  # 2-D vectors; |v|^2 is chi^2 with 2 dof (variance 4), v.v' has variance 2
    assert abs(c[0] - 2.0) < 5 * np.sqrt(4 / n_vec)
    assert np.all(np.abs(c[1:]) < 5 * np.sqrt(2 / (n_vec - 20 * 16)))
    const = np.ones((1, 50, 1, 3))
    _, c = velocity_autocorrelation(const, np.arange(50.0), normalise=True)
    np.testing.assert_allclose(c, 1.0)


def test_velocity_autocorrelation_matches_the_direct_sum() -> None:
    rng = np.random.default_rng(1)
    v = rng.standard_normal((3, 37, 2, 2))
    _, c = velocity_autocorrelation(v, np.arange(37.0), max_lag=10)
    direct = [
        np.einsum("stpd,stpd->", v[:, lag:], v[:, : 37 - lag]) / (3 * 2 * (37 - lag))
        for lag in range(11)
    ]
    np.testing.assert_allclose(c, direct, rtol=1e-10)


@pytest.mark.parametrize(("kind", "n", "other"), [("triangular", 6, 4), ("square", 4, 6)])
def test_bond_order_is_one_on_its_lattice(kind: str, n: int, other: int) -> None:
    x = _lattice(kind)
    angle = 0.3
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    x = x @ rot.T + 7.0  # rotation and translation change only the phase
    psi = bond_order(x, n)
    np.testing.assert_allclose(np.abs(psi), 1.0)
    assert global_order(psi) == pytest.approx(1.0)
    assert local_order(bond_order(x, other)) < 0.45


def test_bond_order_flags_isolated_particles_and_needs_two_dimensions() -> None:
    x = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [9.0, 9.0]])
    psi = bond_order(x, 4, cutoff=1.2)
    assert np.isnan(psi[3])
    assert local_order(psi) == pytest.approx(1.0)
    with pytest.raises(ParameterError, match="2-D"):
        bond_order(np.zeros((4, 3)), 6)
