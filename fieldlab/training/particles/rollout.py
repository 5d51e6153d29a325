r"""Multi-step rollouts: feed a forecaster's predicted state back as its next input.

A forecaster maps the state at saved frame :math:`t` to the state at :math:`t + h`
(:class:`~fieldlab.training.task.TaskFrames`). Starting from frame :math:`t_0 = t_{task} \bmod h`
(the earliest frame on the task's grid, so the rollout passes through the task's own input and
target frames), a rollout of ``K`` steps visits frames :math:`t_0 + k h` for as many ``k`` as the
trajectories hold. The error curve is the position MSE against the saved frames at each step;
conservation metrics compare energy and momentum along the predicted path with their values at
:math:`t_0`, beside the same drift of the data themselves.

Trajectories that carry a ``context`` (the frames observed before them, see
:func:`~fieldlab.training.particles.data.context_window`) pass it to the model at every step.

Shapes: trajectories ``(S, T, P, D)``; rollouts ``(S, K + 1, P, D)`` including the start.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from fieldlab.simulators.conservation import Conserved, momentum
from fieldlab.training.particles.data import Trajectories
from fieldlab.training.particles.forecaster import Forecaster
from fieldlab.training.task import TaskFrames


@dataclass(frozen=True)
class Rollout:
    """Predicted and true states on the rollout's frames, ``(S, K + 1, P, D)`` each."""

    frames: np.ndarray
    position: np.ndarray
    velocity: np.ndarray
    true_position: np.ndarray
    true_velocity: np.ndarray
    scalar: np.ndarray | None

    @property
    def steps(self) -> int:
        return len(self.frames) - 1

    def mse(self) -> np.ndarray:
        """Position MSE at each step ``(K + 1,)`` (step 0 is the exact start: 0)."""
        return ((self.position - self.true_position) ** 2).mean(axis=(0, 2, 3))


def rollout_frames(frames: TaskFrames, n_frames: int) -> np.ndarray:
    """Saved frames ``t_0, t_0 + h, ...`` of a rollout over ``n_frames`` frames."""
    h = frames.horizon
    return np.arange(frames.task_input % h, n_frames, h)


@torch.no_grad()
def rollout(
    model: Forecaster, traj: Trajectories, frames: TaskFrames, *, batch_size: int = 500
) -> Rollout:
    """Roll ``model`` out over ``traj`` from the first frame on the task's grid."""
    model.eval()
    dtype = next(model.parameters(), torch.zeros((), dtype=torch.float32)).dtype
    ts = rollout_frames(frames, traj.position.shape[1])
    n_sims = traj.position.shape[0]
    pos = np.empty((n_sims, len(ts), *traj.position.shape[2:]))
    vel = np.empty_like(pos)
    pos[:, 0], vel[:, 0] = traj.position[:, ts[0]], traj.velocity[:, ts[0]]
    for start in range(0, n_sims, batch_size):
        sl = slice(start, min(start + batch_size, n_sims))
        x = torch.as_tensor(pos[sl, 0], dtype=dtype)
        v = torch.as_tensor(vel[sl, 0], dtype=dtype)
        s = None if traj.scalar is None else torch.as_tensor(traj.scalar[sl], dtype=dtype)
        c = None if traj.context is None else torch.as_tensor(traj.context[sl], dtype=dtype)
        for k in range(1, len(ts)):
            x, v = model.predict(x, v, s, c)
            pos[sl, k], vel[sl, k] = x.double().cpu().numpy(), v.double().cpu().numpy()
    return Rollout(ts, pos, vel, traj.position[:, ts], traj.velocity[:, ts], traj.scalar)


def conservation_drift(roll: Rollout, law: Conserved) -> dict[str, np.ndarray]:
    """Mean absolute drift from the start, per step ``(K + 1,)``, of the rollout and the data.

    Keys: ``energy_drift``, ``energy_drift_data`` (where energy is conserved),
    ``momentum_drift``, ``momentum_drift_data`` (norm of the change; where momentum is conserved).
    """
    out: dict[str, np.ndarray] = {}
    if law.energy is not None:
        q = None if roll.scalar is None else roll.scalar[:, None]
        for suffix, x, v in (
            ("", roll.position, roll.velocity),
            ("_data", roll.true_position, roll.true_velocity),
        ):
            e = law.energy(x, v, None if q is None else np.broadcast_to(q, x.shape[:-1]))
            out[f"energy_drift{suffix}"] = np.abs(e - e[:, :1]).mean(axis=0)
    if law.momentum:
        for suffix, v in (("", roll.velocity), ("_data", roll.true_velocity)):
            p = momentum(v, law.mass)
            out[f"momentum_drift{suffix}"] = np.linalg.norm(p - p[:, :1], axis=-1).mean(axis=0)
    return out
