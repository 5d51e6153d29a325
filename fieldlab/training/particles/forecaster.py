r"""A trained forecaster: a network from :mod:`fieldlab.models` plus its units and graph.

The network works in scaled units :math:`x / s_x`, :math:`v / s_v` with two *scalars* (the
training split's standard deviations), and :class:`Forecaster` converts on the way in and out (the
invariant attributes with units too: a speed, an input squared distance; see
:meth:`~fieldlab.models.GraphSpec.scale_attributes`), so callers, metrics and the logged MLflow
model all speak physical units. Dividing by a scalar keeps an equivariant network equivariant: a
rotation, reflection or translation of the inputs commutes with the scaling.

Shapes: ``position``, ``velocity`` ``(B, P, D)``, ``scalar`` ``(B, P)`` or ``None``; ``context``
``(B, P, C, 2 D)`` (observed positions then velocities, scaled like them) or ``None``.
"""

from __future__ import annotations

import torch
from torch import nn

from fieldlab.models import FieldOptions, GraphSpec, Prediction, build_graph, build_model
from fieldlab.models.batch import GraphBatch
from fieldlab.training.device import to_device


class Forecaster(nn.Module):
    """``net`` with the global scales and graph specification it was trained with.

    ``dim`` is the space dimension it forecasts, and ``horizon_time`` the physical time between
    its input and target frames (``None`` where unknown), so a dataset it cannot forecast is
    refused instead of rolled out into NaN.
    """

    def __init__(
        self,
        net: nn.Module,
        spec: GraphSpec,
        position_scale: float,
        velocity_scale: float,
        *,
        dim: int | None = None,
        horizon_time: float | None = None,
    ) -> None:
        super().__init__()
        self.net = net
        self.spec = spec
        self.dim = dim
        self.horizon_time = horizon_time
        self.register_buffer("position_scale", torch.tensor(float(position_scale)))
        self.register_buffer("velocity_scale", torch.tensor(float(velocity_scale)))

    def forward(self, g: GraphBatch) -> Prediction:
        """Predict the target-frame state of a graph in physical units."""
        sx, sv = self.position_scale.to(g.ndata["position"].dtype), self.velocity_scale
        sv = sv.to(sx.dtype)
        node_attr, edge_attr = self.spec.scale_attributes(g.ndata["attr"], g.edata["attr"], sx, sv)
        with g.local_scope():
            g.ndata["position"] = g.ndata["position"] / sx
            g.ndata["velocity"] = g.ndata["velocity"] / sv
            g.ndata["attr"] = node_attr
            g.edata["attr"] = edge_attr
            if "context" in g.ndata:  # observed frames: positions then velocities
                c = g.ndata["context"]
                d = c.shape[-1] // 2
                g.ndata["context"] = torch.cat([c[..., :d] / sx, c[..., d:] / sv], dim=-1)
            out = self.net(g)
        return Prediction(out.position * sx, out.velocity * sv)

    def graph(
        self,
        position: torch.Tensor,
        velocity: torch.Tensor,
        scalar: torch.Tensor | None,
        context: torch.Tensor | None = None,
    ) -> GraphBatch:
        """The batched graph of ``B`` states (see :func:`fieldlab.models.build_graph`), built on
        this forecaster's device: states elsewhere (the CPU samples of a GPU run) move there
        once, here."""
        device = self.position_scale.device

        def there(t: torch.Tensor | None) -> torch.Tensor | None:
            return None if t is None else to_device(t, device)

        return build_graph(
            there(position), there(velocity), there(scalar), self.spec, context=there(context)
        )

    def predict(
        self,
        position: torch.Tensor,
        velocity: torch.Tensor,
        scalar: torch.Tensor | None,
        context: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Target-frame ``position``, ``velocity`` ``(B, P, D)`` from states ``(B, P, D)``.

        ``context`` ``(B, P, C, 2 D)``: the frames observed before these states, for a network
        that is conditioned on them (a field that differs per simulation); ignored by the others.
        The prediction is on this forecaster's device.
        """
        shape = position.shape
        out = self(self.graph(position, velocity, scalar, context))
        return out.position.reshape(shape), out.velocity.reshape(shape)


def build_forecaster(
    model: str,
    *,
    dim: int,
    spec: GraphSpec,
    hidden: int,
    layers: int,
    position_scale: float = 1.0,
    velocity_scale: float = 1.0,
    field: FieldOptions | None = None,
    horizon_time: float | None = None,
) -> Forecaster:
    """A fresh forecaster; ``model`` is a name from :data:`fieldlab.models.MODEL_NAMES`.

    ``field`` configures the ``field`` model; its scales are set to this forecaster's.
    """
    if field is not None:
        field = field.model_copy(
            update={"position_scale": position_scale, "velocity_scale": velocity_scale}
        )
    net = build_model(
        model,
        dim=dim,
        node_features=spec.n_node_features,
        edge_features=spec.n_edge_features,
        hidden=hidden,
        layers=layers,
        field=field,
    )
    return Forecaster(net, spec, position_scale, velocity_scale, dim=dim, horizon_time=horizon_time)
