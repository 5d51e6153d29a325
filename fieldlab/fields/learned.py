"""Evaluate the field a trained forecaster discovered, in physical units.

A :class:`~fieldlab.models.field_forecaster.FieldForecaster` inside a training
:class:`~fieldlab.training.forecaster.Forecaster` works on scaled positions :math:`x / s_x` (and
velocities :math:`v / s_v`) but returns the physical field per unit charge or mass, so evaluating
it at physical points only needs the scales.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from fieldlab.errors import ParameterError
from fieldlab.models.field_forecaster import FieldForecaster


def field_network(model: nn.Module) -> FieldForecaster:
    """The :class:`FieldForecaster` inside ``model`` (itself, or a wrapper's ``net``)."""
    net = getattr(model, "net", model)
    if not isinstance(net, FieldForecaster):
        raise ParameterError(
            f"this model ({type(net).__name__}) has no neural field; train one with --model field"
        )
    return net


@torch.no_grad()
def learned_field(
    model: nn.Module,
    points: np.ndarray,
    *,
    velocity: np.ndarray | None = None,
    latent: torch.Tensor | None = None,
) -> np.ndarray:
    """The discovered field at physical ``points (M, D)``: ``(M, D)`` per unit charge or mass."""
    net = field_network(model)
    o = net.options
    dtype = next(net.parameters()).dtype
    x = torch.as_tensor(points, dtype=dtype) / o.position_scale
    v = None if velocity is None else torch.as_tensor(velocity, dtype=dtype) / o.velocity_scale
    z = None if latent is None else latent.to(dtype).expand(len(x), -1)
    net.eval()
    return net.field(x, v, z).double().numpy()
