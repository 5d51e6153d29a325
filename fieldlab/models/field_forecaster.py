r"""Forecaster with a discovered global field (after Kofinas et al. 2023, "Aether").

Local interactions are modelled by an E(n)-equivariant :class:`~fieldlab.models.egnn.EGNN` on
relative states; the global field is a :class:`~fieldlab.models.neural_field.NeuralField`
:math:`F_\theta` of absolute position, whose force on particle :math:`i` is
:math:`f_i = s_i F_\theta(x_i)` with :math:`s_i` the particle's charge or mass (the graph's node
scalar). Both enter as velocity changes over the forecast horizon :math:`\tau` (the time between
input and target frames), and the position follows by the trapezoid rule, which is exact for a
constant acceleration:

.. math::

    \Delta v_i = \Delta v_i^{EGNN} + \tau f_i, \qquad \hat v_i = v_i + \Delta v_i, \qquad
    \hat x_i = x_i + \tau\, \frac{v_i + \hat v_i}{2}.

:math:`\Delta v_i^{EGNN}` is the EGNN's coordinate update :math:`x_i^{EGNN} - x_i` (a sum of
relative vectors :math:`(x_i - x_j)\,\phi_x(m_{ij})` and of :math:`\phi_v(h_i)\, v_i` over its
layers), read as a velocity change, so interactions and the field are both accelerations that the
same step integrates. (The EGNN's own velocity head,
:math:`\psi_v v_i + \psi_d (x_i^{EGNN} - x_i)`, would have to cancel the ballistic
:math:`v_i \tau` almost exactly to express an interaction at a short horizon.) The last layer of
every :math:`\phi_v` starts at zero, so an untrained forecaster lets the particles coast instead
of multiplying their velocities, which keeps early multi-step rollouts finite. The EGNN cannot
represent a field fixed in absolute space (it is translation equivariant), so the field is left
to :math:`F_\theta`.

Because the coupling is fixed (not learned), :math:`F_\theta` carries the field's physical sign and
scale, so it can be compared with the true field directly. When the network works in scaled units
(:math:`x / s_x`, :math:`v / s_v`) the couplings become :math:`\tau / s_v` for the field and
:math:`\tau s_v / s_x` for the position step, and :math:`F_\theta` still returns the physical field
per unit charge (or mass), as a function of the scaled position.

With ``latent_dim > 0`` the field differs per simulation: it is conditioned on the simulation's
observed context (``ndata["context"]``), summarised by a
:class:`~fieldlab.models.trajectory_encoder.TrajectoryEncoder` into a code :math:`z_b` and an
origin :math:`c_b`, and evaluated as :math:`F_\theta(x - c_b, z_b)`; translating a whole
simulation, context included, then translates the prediction. With ``velocity_input`` the field
may depend on velocity (Lorentz force).
"""

from __future__ import annotations

import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

from fieldlab.models.batch import GraphBatch
from fieldlab.models.egnn import EGNN
from fieldlab.models.neural_field import NeuralField
from fieldlab.models.prediction import Prediction
from fieldlab.models.trajectory_encoder import Conditioning, TrajectoryEncoder


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
        for layer in self.interactions.layers:  # start from free flight (module docstring)
            nn.init.zeros_(layer.vel[-1].weight)
            nn.init.zeros_(layer.vel[-1].bias)
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

    def conditioning(self, g: GraphBatch) -> Conditioning | None:
        """Per-node code and origin of its simulation, or None for a field shared by all."""
        if self.encoder is None:
            return None
        if "context" not in g.ndata:
            raise ValueError(
                "a conditioned field (latent_dim > 0) needs the observed context in "
                "ndata['context']: pass context= to build_graph or Forecaster.predict"
            )
        ids = torch.repeat_interleave(
            torch.arange(g.batch_size, device=g.device), g.batch_num_nodes()
        )
        return self.encoder(g.ndata["context"], ids, g.batch_size)

    def field_at(
        self, x: torch.Tensor, v: torch.Tensor | None = None, cond: Conditioning | None = None
    ) -> torch.Tensor:
        """:math:`F_\\theta` per unit charge or mass at ``x (N, D)`` (network units): ``(N, D)``."""
        if cond is None:
            return self.field(x, v)
        return self.field(x - cond.origin, v, cond.code)

    def field_force(self, g: GraphBatch, cond: Conditioning | None = None) -> torch.Tensor:
        """:math:`f_i = s_i F_\\theta(x_i, [v_i], [z])` on every node: ``(N, D)``."""
        x, v = g.ndata["position"], g.ndata["velocity"]
        scalar = g.ndata.get("scalar", torch.ones_like(x[:, 0]))
        if cond is None and self.encoder is not None:
            cond = self.conditioning(g)
        return scalar[:, None] * self.field_at(x, v, cond)

    def forward(self, g: GraphBatch) -> Prediction:
        o = self.options
        x, v = g.ndata["position"], g.ndata["velocity"]
        dv = self.interactions(g).position - x
        dv = dv + (o.horizon / o.velocity_scale) * self.field_force(g, self.conditioning(g))
        v_next = v + dv
        step = 0.5 * o.horizon * o.velocity_scale / o.position_scale
        return Prediction(x + step * (v + v_next), v_next)
