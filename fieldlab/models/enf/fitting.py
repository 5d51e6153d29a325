r"""Latents of an observed field by a few gradient steps from a meta-learned initialisation.

No encoder network: the latents of a field :math:`f` observed at points :math:`x_m` (any subset,
irregular or sparse) are found by :math:`S` (3, as in Knigge, Wessels et al. 2024) steps on the
reconstruction error of the observed points only,

.. math::

    \mathcal{L}(z) &= \frac{1}{M_{obs} C} \sum_{m\ \mathrm{observed}}
                      |f_\theta(x_m; z) - f(x_m)|^2 \\
    c_i &\leftarrow c_i - \eta_c \odot \nabla_{c_i} \mathcal{L}, \qquad
    p_i \leftarrow \mathrm{step}\big(p_i, -\eta_p \ell^2\, \mathrm{tangent}_{p_i}
                   \nabla_{p_i} \mathcal{L}\big)

starting from learned poses and contexts :math:`z^0 = \{(g_f p^0_i, c^0_i)\}` shared by all fields,
with :math:`g_f` the field's frame (:meth:`~fieldlab.models.enf.geometry.Geometry.frame`),
which makes the fit equivariant. The learning rates are learned too (per context dimension
:math:`\eta_c`, one :math:`\eta_p` for the poses, both positive through a logarithm; Meta-SGD,
Li et al. 2017); :math:`\ell` is the latents' length scale, so :math:`\eta_p` is dimensionless.
Gradients of the loss with respect to a pose are equivariant vectors (the loss is invariant), so
each step commutes with the group; on the sphere the gradient is projected on the tangent plane
and the pose re-normalised.

**Meta-gradients.** Training (stage 1) differentiates through the inner steps: second order
(MAML, ``create_graph``) by default, affordable because there are only 3 steps and the latents
are small; ``first_order=True`` drops the inner Hessian terms (FOMAML), and the initialisation
and learning rates still receive gradients through the update's first-order path. At inference,
and whenever gradients are off, the steps run without a graph and the latents come back
detached from it. The loss is summed over the fields of a batch so each field's gradient is its
own.

Shapes: ``coords (M, D)``, ``values (B, M, C)``, ``weights (B, M)`` (1 observed, 0 not) or None.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from fieldlab.models.enf.decoder import CrossAttentionDecoder
from fieldlab.models.enf.geometry import Geometry, frame_weights
from fieldlab.models.enf.latents import Latents


def observed_mse(
    pred: torch.Tensor, values: torch.Tensor, weights: torch.Tensor | None
) -> torch.Tensor:
    """Mean squared error per field over observed points, summed over fields: ``()``."""
    err = ((pred - values) ** 2).mean(-1)  # (B, M)
    if weights is None:
        return err.mean(1).sum()
    return ((err * weights).sum(1) / weights.sum(1).clamp_min(1)).sum()


class MetaLearnedFit(nn.Module):
    """Learned initial latents and inner learning rates; :meth:`forward` fits a batch."""

    def __init__(
        self,
        geometry: Geometry,
        n_latents: int,
        latent_dim: int,
        scale: float,
        steps: int = 3,
        lr_context: float = 1.0,
        lr_pose: float = 0.1,
        first_order: bool = False,
        use_frame: bool = True,
    ) -> None:
        super().__init__()
        self.geometry, self.scale, self.steps = geometry, scale, steps
        self.first_order, self.use_frame = first_order, use_frame
        self.poses = nn.Parameter(geometry.layout(n_latents))
        self.contexts = nn.Parameter(torch.zeros(n_latents, latent_dim))
        self.log_lr_context = nn.Parameter(torch.full((latent_dim,), math.log(lr_context)))
        self.log_lr_pose = nn.Parameter(torch.tensor(math.log(lr_pose)))

    def initial(
        self, coords: torch.Tensor, values: torch.Tensor, weights: torch.Tensor | None = None
    ) -> Latents:
        """The shared initialisation, placed in each field's frame: :math:`z^0`."""
        b = values.shape[0]
        if self.use_frame:
            with torch.no_grad():
                g = self.geometry.frame(coords, frame_weights(values, weights))
            poses = self.geometry.act(g, self.poses)
        else:
            poses = self.poses.expand(b, *self.poses.shape)
        return Latents(poses, self.contexts.expand(b, *self.contexts.shape))

    def forward(
        self,
        decoder: CrossAttentionDecoder,
        coords: torch.Tensor,
        values: torch.Tensor,
        weights: torch.Tensor | None = None,
    ) -> Latents:
        second_order = (
            self.training
            and not self.first_order
            and torch.is_grad_enabled()
            and self.poses.requires_grad
            and self.contexts.requires_grad
        )
        keep_graph = torch.is_grad_enabled()
        z = self.initial(coords, values, weights)
        p, c = z.poses, z.contexts
        lr_c, lr_p = self.log_lr_context.exp(), self.log_lr_pose.exp() * self.scale**2
        with torch.enable_grad():
            for _ in range(self.steps):
                if second_order:
                    pi, ci = p, c
                else:
                    pi, ci = p.detach().requires_grad_(), c.detach().requires_grad_()
                loss = observed_mse(decoder(Latents(pi, ci), coords), values, weights)
                gp, gc = torch.autograd.grad(loss, [pi, ci], create_graph=second_order)
                p = self.geometry.step(p, -lr_p * self.geometry.tangent(p, gp))
                c = c - lr_c * gc
        z = Latents(p, c)
        return z if keep_graph else z.detach()
