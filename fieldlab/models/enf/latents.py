r"""A field as a latent point cloud :math:`z = \{(p_i, c_i)\}_{i=1}^N`.

Poses :math:`p_i` live on the domain (:mod:`~fieldlab.models.enf.geometry`) and move under its
symmetry group, :math:`g z = \{(g p_i, c_i)\}`; contexts :math:`c_i \in \mathbb{R}^d` are
invariant. Shapes: ``poses (B, N, D)``, ``contexts (B, N, d)``, one cloud per field of a batch.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Latents:
    poses: torch.Tensor
    contexts: torch.Tensor

    def __post_init__(self) -> None:
        if self.poses.shape[:-1] != self.contexts.shape[:-1]:
            raise ValueError(
                f"poses {tuple(self.poses.shape)} and contexts {tuple(self.contexts.shape)} "
                "must agree on (batch, latent)"
            )

    @property
    def batch(self) -> int:
        return self.poses.shape[0]

    @property
    def n_latents(self) -> int:
        return self.poses.shape[1]

    def detach(self) -> Latents:
        return Latents(self.poses.detach(), self.contexts.detach())

    def to(self, device: torch.device) -> Latents:
        return Latents(self.poses.to(device), self.contexts.to(device))
