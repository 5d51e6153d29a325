"""The Numba kernels agree with plain NumPy implementations of the same equations (to 1e-9).

Horizons are short (1000 steps, 9 saved frames) so that the dynamics have not yet amplified
rounding differences; every force term, the cap, the walls and the saving schedule are exercised.
"""

from __future__ import annotations

import numpy as np
import pytest

from fieldlab.simulators import simulate
from fieldlab.testing import numpy_reference as ref
from tests.simulators.conftest import (
    charged_initial,
    electrostatic_field,
    gravitational_field,
    gravity_initial,
)

SHORT = {"n_steps": 1000, "sample_every": 100}
N = 6


def _nri_force(system: str, p, q, coupling):
    """The force function the NumPy loop uses for one simulation of ``system``."""
    law = ref.hooke if system == "springs" else ref.coulomb
    extra = None
    if system == "electrostatic-field":
        src, src_q = electrostatic_field.sources(p)

        def extra(x, v):
            return ref.coulomb_sources(x, q, src, src_q, p.strength)
    elif system == "lorentz":
        b = np.array(p.magnetic_field)

        def extra(x, v):
            return q[:, None] * np.cross(v, b)
    elif system == "uniform-force":

        def extra(x, v):
            return np.broadcast_to(np.array(p.force), x.shape)

    clip = ref.clip_norms if system == "electrostatic-field" else ref.clip_components

    def force(x, v):
        f = law(x, coupling, p.strength)
        if extra is not None:
            f = f + extra(x, v)
        return clip(f, p.max_force)

    return force


@pytest.mark.parametrize(
    ("system", "params"),
    [
        ("charged", {}),
        ("charged", {"dim": 3, "charge_probs": (0.25, 0.25, 0.5)}),
        ("charged-egnn", {}),
        ("charged-egnn", {"dim": 2, "n_particles": 7}),
        ("springs", {}),
        ("springs", {"dim": 3, "spring_probs": (0.3, 0.3, 0.4)}),
        ("electrostatic-field", {}),
        ("lorentz", {}),
        ("uniform-force", {"dim": 2, "force": (0.5, -1.0)}),
    ],
)
def test_symplectic_euler_systems_match_numpy(system: str, params: dict) -> None:
    params = {**params, **SHORT}
    result = simulate(system, N, seed=3, params=params)
    p, state = charged_initial(system, params, N, seed=3)
    for k in range(N):
        force = _nri_force(system, p, state.charge[k], state.coupling[k])
        box = p.box_size if getattr(p, "walls", False) else None
        xs, vs = ref.nri_loop(
            state.position[k], state.velocity[k], force, p.dt, p.n_steps, p.sample_every, box
        )
        np.testing.assert_allclose(result.position[k], xs, rtol=0, atol=1e-9)
        np.testing.assert_allclose(result.velocity[k], vs, rtol=0, atol=1e-9)
    np.testing.assert_allclose(result.time, p.dt * p.sample_every * np.arange(1, 10))


@pytest.mark.parametrize(
    ("system", "params"),
    [
        ("gravity", {"n_particles": 20}),
        ("gravity", {"n_particles": 9, "dim": 2, "save_initial": False}),
        ("gravitational-field", {}),
    ],
)
def test_leapfrog_systems_match_numpy(system: str, params: dict) -> None:
    params = {**params, **SHORT}
    result = simulate(system, 4, seed=5, params=params)
    p, x0, v0, m, src = gravity_initial(system, params, 4, seed=5)
    src_m = np.array([getattr(p, "source_mass", 0.0)])
    for k in range(4):

        def accel(x, k=k):
            return ref.softened_accel(x, m[k], p.g, p.softening, src[k], src_m)

        xs, vs = ref.leapfrog(x0[k], v0[k], accel, p.dt, p.n_steps, p.sample_every, p.save_initial)
        np.testing.assert_allclose(result.position[k], xs, rtol=0, atol=1e-9)
        np.testing.assert_allclose(result.velocity[k], vs, rtol=0, atol=1e-9)
    assert result.position.shape[1] == (10 if p.save_initial else 9)


def test_saved_frames_follow_nri_schedule() -> None:
    """5000 steps saving every 100 gives NRI's 49 frames at t = 0.1 .. 4.9 (no initial frame)."""
    r = simulate("charged", 1, seed=0)
    assert r.position.shape == (1, 49, 5, 2)
    np.testing.assert_allclose(r.time, 0.1 * np.arange(1, 50))
    g = simulate("gravity", 1, seed=0, params={"n_particles": 10})
    assert g.position.shape[1] == 50
    assert g.time[0] == 0.0


def test_electrostatic_true_field_is_minus_grad_potential() -> None:
    """E = -grad phi with phi = k sum_s Q_s / |x - x_s|, by central differences."""
    p = electrostatic_field.ElectrostaticFieldParams()
    src, q = electrostatic_field.sources(p)
    pts = np.random.default_rng(0).uniform(-4, 4, size=(50, 2))

    def phi(x):
        return p.strength * (q / np.linalg.norm(x[:, None, :] - src[None], axis=-1)).sum(-1)

    h = 1e-6
    grad = np.stack([(phi(pts + h * e) - phi(pts - h * e)) / (2 * h) for e in np.eye(2)], axis=-1)
    np.testing.assert_allclose(electrostatic_field.true_field(p, pts), -grad, rtol=1e-5, atol=1e-6)
    assert len(src) == 20
    assert np.all(np.abs(src) <= 5)
    assert set(np.unique(q)) <= {-1.0, 1.0}


def test_gravitational_true_field_is_minus_grad_potential() -> None:
    p = gravitational_field.GravitationalFieldParams()
    s = np.array([[0.3, -0.2, 0.5]])
    pts = np.random.default_rng(1).normal(size=(40, 3))

    def phi(x):
        r2 = ((x[:, None, :] - s[None]) ** 2).sum(-1) + p.softening**2
        return (-p.g * p.source_mass / np.sqrt(r2)).sum(-1)

    h = 1e-6
    grad = np.stack([(phi(pts + h * e) - phi(pts - h * e)) / (2 * h) for e in np.eye(3)], axis=-1)
    np.testing.assert_allclose(
        gravitational_field.true_field(p, pts, s), -grad, rtol=1e-5, atol=1e-6
    )
