"""Task frames, the unit-aware forecaster's equivariance, and the conserved quantities."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from fieldlab.catalog import load_card
from fieldlab.models import GraphSpec
from fieldlab.testing import assert_equivariant
from fieldlab.training.particles.conservation import conservation_for, coulomb_energy, momentum
from fieldlab.training.particles.data import load_trajectories, task_frames
from fieldlab.training.particles.forecaster import build_forecaster
from fieldlab.training.particles.rollout import rollout_frames
from tests.training.conftest import DATASET


@pytest.mark.parametrize(
    ("name", "inputs", "horizon"),
    [
        ("egnn-charged-3d", (30,), 10),  # context 30, target 40
        ("aether-electrostatic-2d", (28,), 1),  # 29 context frames, then predict
        ("nri-charged-2d", (0,), 1),  # overlapping windows: one-step prediction
    ],
)
def test_task_frames(name: str, inputs: tuple[int, ...], horizon: int) -> None:
    card = load_card(name)
    frames = task_frames(card, card.n_frames("train"))
    assert (frames.inputs, frames.horizon) == (inputs, horizon)


def test_all_frames_and_rollout_grid() -> None:
    card = load_card("egnn-charged-3d")
    frames = task_frames(card, 49, all_frames=True)
    assert frames.inputs == tuple(range(39))
    assert frames.horizon == 10
    task = task_frames(card, 49)
    assert list(rollout_frames(task, 49)) == [0, 10, 20, 30, 40]


@pytest.mark.parametrize("dim", [2, 3])
@pytest.mark.parametrize("model", ["egnn", "linear"])
def test_scaled_forecaster_stays_equivariant(dim: int, model: str) -> None:
    spec = GraphSpec(node_features=("speed", "scalar"))
    torch.manual_seed(0)
    f = build_forecaster(
        model, dim=dim, spec=spec, hidden=16, layers=2, position_scale=1.7, velocity_scale=0.4
    ).double()
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(3, 5, dim, generator=gen, dtype=torch.float64)
    v = torch.randn(3, 5, dim, generator=gen, dtype=torch.float64)
    q = torch.randint(0, 2, (3, 5), generator=gen).double() * 2 - 1
    assert_equivariant(f, f.graph(x, v, q))


def test_forecaster_scales_are_invisible_to_the_caller() -> None:
    """Same weights, different scales, inputs scaled alike: outputs scale alike."""
    spec = GraphSpec()
    torch.manual_seed(0)
    a = build_forecaster("egnn", dim=3, spec=spec, hidden=8, layers=1).double()
    b = build_forecaster(
        "egnn", dim=3, spec=spec, hidden=8, layers=1, position_scale=3.0, velocity_scale=3.0
    ).double()
    b.net.load_state_dict(a.net.state_dict())
    x = torch.randn(2, 4, 3, dtype=torch.float64)
    v = torch.randn(2, 4, 3, dtype=torch.float64)
    xa, va = a.predict(x, v, None)
    xb, vb = b.predict(3 * x, 3 * v, None)
    torch.testing.assert_close(xb, 3 * xa)
    torch.testing.assert_close(vb, 3 * va)


def test_coulomb_energy_of_a_pair() -> None:
    x = np.array([[0.0, 0.0, 0.0], [2.0, 0.0, 0.0]])
    v = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    assert coulomb_energy(x, v, np.array([1.0, -1.0]), 1.0) == pytest.approx(0.5 - 0.5)
    assert coulomb_energy(x, v, np.array([1.0, 1.0]), 2.0) == pytest.approx(0.5 + 1.0)
    np.testing.assert_allclose(momentum(v), [1.0, 0.0, 0.0])


def test_the_data_conserve_energy_and_momentum(workdir: Path) -> None:
    """The simulator's own trajectories: what the rollout drifts are compared against."""
    law = conservation_for(load_card(DATASET))
    assert law is not None
    assert law.energy is not None
    assert law.momentum
    traj = load_trajectories(DATASET, "test", limit=20)
    e = law.energy(traj.position, traj.velocity, np.repeat(traj.scalar[:, None], 49, axis=1))
    kinetic = 0.5 * (traj.velocity**2).sum((-1, -2)).mean(axis=1)
    drift = np.abs(e - e[:, :1]).max(axis=1) / kinetic
    # symplectic Euler at dt = 1e-3 keeps most simulations close; close encounters and the force
    # cap make a few drift, which is why rollouts report the data's own drift beside the model's
    assert np.median(drift) < 0.1
    p = momentum(traj.velocity)
    assert np.median(np.abs(p - p[:, :1]).max(axis=(1, 2))) < 1e-10
    assert conservation_for(load_card("nri-charged-2d")) is None  # walls


def test_lorentz_conserves_energy_not_momentum() -> None:
    law = conservation_for(load_card("lorentz-charged-3d"))
    assert law is not None
    assert law.energy is not None
    assert not law.momentum


def test_task_tensors_are_the_right_frames(workdir: Path) -> None:
    from fieldlab.training.particles.data import load_task

    traj = load_trajectories(DATASET, "train", limit=2)
    task = load_task(DATASET, "train", limit=2, dtype=torch.float64)
    np.testing.assert_array_equal(task.position.numpy(), traj.position[:, 30])
    np.testing.assert_array_equal(task.target_position.numpy(), traj.position[:, 40])
    np.testing.assert_array_equal(task.scalar.numpy(), traj.scalar)
    pairs = load_task(DATASET, "train", limit=2, all_frames=True, dtype=torch.float64)
    assert len(pairs) == 2 * 39
    np.testing.assert_array_equal(pairs.position[39 + 5].numpy(), traj.position[1, 5])
    np.testing.assert_array_equal(pairs.target_velocity[39 + 5].numpy(), traj.velocity[1, 15])
