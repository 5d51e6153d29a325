r"""Small particle problems for model tests: charged n-body states and their future, predictions
of a transformed state, and the training curve of a model fitted to a few simulations.

A model that cannot drive the loss on a handful of simulations far below its starting value has a
bug (a detached branch, a wrong sign, an output that ignores its input) whatever its equivariance
says; :func:`fit_losses` gives the curve for tests to assert on. :func:`predict` rebuilds the graph
from states, so a test can move the physical inputs (rotate, translate, relabel) and compare.

Shapes: states ``(B, P, D)``, charges ``(B, P)``.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from fieldlab.models.graphs import GraphSpec, build_graph
from fieldlab.simulators import simulate

SPEC = GraphSpec(node_features=("speed", "scalar"))
"""Speed and charge on the nodes, :math:`q_i q_j` on the edges (the published n-body inputs)."""


class ChargedBatch(NamedTuple):
    position: torch.Tensor
    velocity: torch.Tensor
    charge: torch.Tensor
    target_position: torch.Tensor
    target_velocity: torch.Tensor


def charged_batch(
    dim: int,
    n_sims: int,
    seed: int,
    *,
    frames: tuple[int, int] = (9, 19),
    dtype: torch.dtype = torch.float32,
) -> ChargedBatch:
    """``n_sims`` charged-egnn states at saved frame ``frames[0]`` and their state at
    ``frames[1]`` (saved frames are 100 steps apart: 1,000 steps by default, as in the EGNN task)."""
    n_steps = 100 * (max(frames) + 1) + 1
    r = simulate("charged-egnn", n_sims, seed=seed, params={"dim": dim, "n_steps": n_steps})
    pos = torch.as_tensor(r.position, dtype=dtype)
    vel = torch.as_tensor(r.velocity, dtype=dtype)
    charge = torch.as_tensor(r.variables["charge"], dtype=dtype)
    a, b = frames
    return ChargedBatch(pos[:, a], vel[:, a], charge, pos[:, b], vel[:, b])


def predict(
    model: nn.Module,
    position: torch.Tensor,
    velocity: torch.Tensor,
    charge: torch.Tensor,
    spec: GraphSpec = SPEC,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The model's position and velocity ``(B, P, D)`` for states ``(B, P, D)``, without grad."""
    shape = position.shape
    with torch.no_grad():
        out = model.eval()(build_graph(position, velocity, charge, spec))
    return out.position.reshape(shape), out.velocity.reshape(shape)


def fit_losses(
    model: nn.Module, batch: ChargedBatch, *, steps: int, lr: float = 3e-3, spec: GraphSpec = SPEC
) -> list[float]:
    """Adam on the mean squared error of the predicted position and velocity; the loss per step."""
    g = build_graph(batch.position, batch.velocity, batch.charge, spec)
    dim = batch.position.shape[-1]
    x, v = batch.target_position.reshape(-1, dim), batch.target_velocity.reshape(-1, dim)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    losses = []
    for _ in range(steps):
        out = model(g)
        loss = ((out.position - x) ** 2).mean() + ((out.velocity - v) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss))
    return losses
