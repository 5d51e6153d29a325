r"""Forecaster with a discovered global field (after Kofinas et al. 2023, "Aether").

Local interactions are modelled by an E(n)-equivariant :class:`~fieldlab.models.egnn.EGNN` on
relative states; the global field is a :class:`~fieldlab.models.neural_field.NeuralField`
:math:`F_\theta` of absolute position, whose force on particle :math:`i` is
:math:`f_i = s_i F_\theta(x_i)` with :math:`s_i` the particle's charge or mass (the graph's node
scalar). The field enters each particle's update as a constant force over the forecast horizon
:math:`\tau` (the time between input and target frames):

.. math:: \hat x_i = x_i^{EGNN} + \tfrac{\tau^2}{2} f_i, \qquad \hat v_i = v_i^{EGNN} + \tau f_i.

Because the coupling is fixed (not learned), :math:`F_\theta` carries the field's physical sign and
scale, so it can be compared with the true field directly. When the network works in scaled units
(:math:`x / s_x`, :math:`v / s_v`) the couplings become :math:`\tau^2 / (2 s_x)` and
:math:`\tau / s_v` and :math:`F_\theta` still returns the physical field per unit charge (or
mass), as a function of the scaled position. With ``latent_dim > 0`` the field is
conditioned on a code of the simulation's observed context (``ndata["context"]``, see
:class:`~fieldlab.models.trajectory_encoder.TrajectoryEncoder`), for fields that differ per
simulation; with ``velocity_input`` it may depend on velocity (Lorentz force).
"""

from __future__ import annotations

import dgl
import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

from fieldlab.models.egnn import EGNN
from fieldlab.models.neural_field import NeuralField
from fieldlab.models.prediction import Prediction
from fieldlab.models.trajectory_encoder import TrajectoryEncoder


class FieldOptions(BaseModel):
    """Settings of the neural field in a :class:`FieldForecaster`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    horizon: float = Field(0.1, gt=0.0, description="time between input and target frames")
    position_scale: float = Field(1.0, gt=0.0, description="physical length of one network unit")
    velocity_scale: float = Field(1.0, gt=0.0, description="physical speed of one network unit")
    fourier_sigma: float = Field(0.5, gt=0.0, description="std of the Fourier frequencies")
    hidden: int = Field(128, ge=1, description="width of the field MLP")
    velocity_input: bool = Field(False, description="let the field depend on velocity")
    latent_dim: int = Field(0, ge=0, description="latent code of each simulation (0: shared)")
    seed: int = Field(0, ge=0, description="seed of the random Fourier features")


class FieldForecaster(nn.Module):
    def __init__(
        self,
        dim: int,
        node_features: int,
        edge_features: int = 1,
        hidden: int = 64,
        layers: int = 4,
        options: FieldOptions | None = None,
    ) -> None:
        super().__init__()
        o = options or FieldOptions()
        self.interactions = EGNN(node_features, edge_features, hidden, layers)
        self.field = NeuralField(
            dim,
            o.hidden,
            sigma=o.fourier_sigma,
            velocity_input=o.velocity_input,
            latent_dim=o.latent_dim,
            seed=o.seed,
        )
        self.encoder = TrajectoryEncoder(dim, o.latent_dim, dt=o.horizon) if o.latent_dim else None
        self.options = o

    def latent(self, g: dgl.DGLGraph) -> torch.Tensor | None:
        """Per-node latent code of its simulation, or None for a field shared by all."""
        if self.encoder is None:
            return None
        if "context" not in g.ndata:
            raise ValueError("a conditioned field needs the observed context in ndata['context']")
        ids = torch.repeat_interleave(torch.arange(g.batch_size), g.batch_num_nodes())
        return self.encoder(g.ndata["context"], ids, g.batch_size)

    def field_force(self, g: dgl.DGLGraph) -> torch.Tensor:
        """:math:`f_i = s_i F_\\theta(x_i, [v_i], [z])` on every node: ``(N, D)``."""
        x, v = g.ndata["position"], g.ndata["velocity"]
        scalar = g.ndata.get("scalar", torch.ones_like(x[:, 0]))
        return scalar[:, None] * self.field(x, v, self.latent(g))

    def forward(self, g: dgl.DGLGraph) -> Prediction:
        base = self.interactions(g)
        f = self.field_force(g)
        o = self.options
        return Prediction(
            base.position + (0.5 * o.horizon**2 / o.position_scale) * f,
            base.velocity + (o.horizon / o.velocity_scale) * f,
        )
