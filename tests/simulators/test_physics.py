"""Conservation laws, walls and symmetries of the simulators."""

from __future__ import annotations

import numpy as np
import pytest

from fieldlab.simulators import pairwise, resolve_params, simulate, symplectic_euler
from fieldlab.simulators.blocks import to_blocks
from fieldlab.simulators.charged import coulomb_model
from fieldlab.simulators.gravity import energy, integrate_gravity
from fieldlab.testing.initial_states import charged_initial, gravity_initial

UNCAPPED = 1e300


@pytest.mark.parametrize("dim", [2, 3])
@pytest.mark.parametrize("system", ["charged-egnn", "springs"])
def test_momentum_is_conserved_by_pair_forces(system: str, dim: int) -> None:
    """Pairwise forces, no cap reached, no walls: total momentum stays at its initial value."""
    params = {"dim": dim, "max_force": UNCAPPED, "n_steps": 3000}
    if system == "springs":
        params["walls"] = False
    r = simulate(system, 16, seed=1, params=params)
    p_total = r.velocity.sum(axis=2)  # unit masses: (sim, time, space)
    _, state = charged_initial(system, params, 16, seed=1)
    p0 = state.velocity.sum(axis=1)[:, None, :]
    assert np.abs(p_total - p0).max() < 1e-10
    assert np.abs(p0).max() > 1e-3  # a non-trivial momentum, so the check can fail


@pytest.mark.parametrize("dim", [2, 3])
def test_gravity_conserves_momentum_and_bounds_energy_drift(dim: int) -> None:
    r = simulate("gravity", 4, seed=0, params={"dim": dim})
    m = np.broadcast_to(r.variables["mass"][:, None, :], r.position.shape[:3])
    assert np.abs((m[..., None] * r.velocity).sum(axis=2)).max() < 1e-10
    e = energy(r.position, r.velocity, m, 1.0, 0.1)
    drift = np.abs(e - e[:, :1]) / np.abs(e[:, :1])
    assert drift.max() < 1e-3  # measured 1.4e-4 over 5000 steps of dt = 1e-3


def test_gravity_energy_error_is_second_order_in_dt() -> None:
    """Halving dt divides the leapfrog's energy error by about 4."""
    errors = []
    for dt, steps, every in [(0.002, 1500, 100), (0.001, 3000, 200)]:
        r = simulate(
            "gravity", 4, seed=2, params={"dt": dt, "n_steps": steps, "sample_every": every}
        )
        m = np.broadcast_to(r.variables["mass"][:, None, :], r.position.shape[:3])
        e = energy(r.position, r.velocity, m, 1.0, 0.1)
        errors.append(np.abs(e - e[:, :1]).max())
    assert 2.8 < errors[0] / errors[1] < 5.6


@pytest.mark.parametrize("system", ["charged", "springs"])
def test_walls_keep_every_particle_inside(system: str) -> None:
    r = simulate(system, 64, seed=4, params={"vel_norm": 3.0})
    assert np.abs(r.position).max() <= 5.0
    free = simulate(system, 64, seed=4, params={"vel_norm": 3.0, "walls": False})
    assert np.abs(free.position).max() > 5.0  # without walls they do leave: the check can fail


def _random_orthogonal(rng: np.random.Generator, dim: int) -> np.ndarray:
    q, r = np.linalg.qr(rng.normal(size=(dim, dim)))
    q = q * np.sign(np.diag(r))
    if rng.random() < 0.5:
        q[:, 0] *= -1  # include reflections
    return q


@pytest.mark.parametrize("dim", [2, 3])
@pytest.mark.parametrize("system", ["charged-egnn", "springs"])
def test_rotating_and_translating_the_initial_state_transforms_the_trajectory(
    system: str, dim: int
) -> None:
    """E(n) equivariance of the dynamics without walls, external fields or per-component caps."""
    params = {"dim": dim, "max_force": UNCAPPED, "n_steps": 1000, "walls": False}
    p, s = charged_initial(system, params, 8, seed=7)
    rng = np.random.default_rng(0)
    rot = _random_orthogonal(rng, dim)
    shift = rng.normal(size=dim) * 3
    law = 1 if system == "springs" else 0
    model = coulomb_model(p)._replace(law=law, strength=p.strength)
    sched = symplectic_euler.Schedule(p.dt, p.n_steps, p.sample_every, False, 0.0)

    def run(x0, v0):
        b = pairwise.BLOCK
        blocks = [to_blocks(a, b) for a in (x0, v0, s.charge, s.coupling)]
        return symplectic_euler.integrate(*blocks, model, sched, len(x0))[:2]

    x, v = run(s.position, s.velocity)
    xt, vt = run(s.position @ rot.T + shift, s.velocity @ rot.T)
    np.testing.assert_allclose(xt, x @ rot.T + shift, atol=1e-8)
    np.testing.assert_allclose(vt, v @ rot.T, atol=1e-8)


@pytest.mark.parametrize("dim", [2, 3])
def test_gravity_is_rotation_and_translation_equivariant(dim: int) -> None:
    params = {"dim": dim, "n_particles": 12, "n_steps": 1000}
    p, x0, v0, m, src = gravity_initial("gravity", params, 4, seed=8)
    rng = np.random.default_rng(1)
    rot = _random_orthogonal(rng, dim)
    shift = rng.normal(size=dim) * 3
    _, x, v = integrate_gravity(p, x0, v0, m, src, np.zeros(0))
    _, xt, vt = integrate_gravity(p, x0 @ rot.T + shift, v0 @ rot.T, m, src, np.zeros(0))
    np.testing.assert_allclose(xt, x @ rot.T + shift, atol=1e-8)
    np.testing.assert_allclose(vt, v @ rot.T, atol=1e-8)


def test_initial_states_follow_the_published_distributions() -> None:
    _p, s = charged_initial("charged", {}, 2000, seed=0)
    np.testing.assert_allclose(np.linalg.norm(s.velocity, axis=-1), 0.5)
    q = s.charge
    assert set(np.unique(q)) == {-1.0, 1.0}  # the 0 charge has probability 0 by default
    assert abs((q > 0).mean() - 0.5) < 0.02
    assert abs(s.position.std() - 1.0) < 0.02
    _, sp = charged_initial("springs", {}, 2000, seed=0)
    c = sp.coupling
    np.testing.assert_array_equal(c, np.swapaxes(c, 1, 2))
    assert np.all(np.diagonal(c, axis1=1, axis2=2) == 0)
    assert set(np.unique(c)) == {0.0, 1.0}
    pe = resolve_params("charged-egnn", {"n_particles": 10})
    _, se = charged_initial("charged-egnn", {"n_particles": 10}, 200, seed=0)
    assert pe.effective_loc_std == pytest.approx(2 ** (1 / 3))  # (n / 5)^(1/3)
    assert abs(se.position.std() - pe.effective_loc_std) < 0.05  # 4 standard errors
    assert set(np.unique(se.charge)) == {-1.0, 1.0}
