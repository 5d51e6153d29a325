r"""A neural field: a vector field over absolute position, learned from trajectories.

.. math:: F_\theta(x, [v], [z]) = \mathrm{MLP}\big([\gamma(x), v, z]\big) \in \mathbb{R}^D

with :math:`\gamma` random Fourier features of the *absolute* position (so, unlike an equivariant
network, it can represent a field fixed in space), an optional velocity input (velocity-dependent
forces such as :math:`q v \times B`) and an optional latent code :math:`z` of the simulation (a field
that differs per simulation, see :class:`~fieldlab.models.trajectory_encoder.TrajectoryEncoder`).
Shapes: ``x, v (N, D)``, ``z (N, L)`` -> ``(N, D)``.
"""

from __future__ import annotations

import torch
from torch import nn

from fieldlab.models.fourier_features import RandomFourierFeatures


class NeuralField(nn.Module):
    def __init__(
        self,
        dim: int,
        hidden: int = 128,
        layers: int = 3,
        n_fourier: int = 64,
        sigma: float = 0.5,
        velocity_input: bool = False,
        latent_dim: int = 0,
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.features = RandomFourierFeatures(dim, n_fourier, sigma, seed)
        n_in = self.features.out_dim + (dim if velocity_input else 0) + latent_dim
        mods: list[nn.Module] = []
        for k in range(layers):
            mods += [nn.Linear(n_in if k == 0 else hidden, hidden), nn.SiLU()]
        mods.append(nn.Linear(hidden, dim))
        self.mlp = nn.Sequential(*mods)
        self.velocity_input = velocity_input
        self.latent_dim = latent_dim

    def forward(
        self, x: torch.Tensor, v: torch.Tensor | None = None, z: torch.Tensor | None = None
    ) -> torch.Tensor:
        parts = [self.features(x)]
        if self.velocity_input:
            if v is None:
                raise ValueError("this field takes velocities: pass v")
            parts.append(v)
        if self.latent_dim:
            if z is None:
                raise ValueError("this field is conditioned on a latent code: pass z")
            parts.append(z)
        return self.mlp(torch.cat(parts, dim=-1))
