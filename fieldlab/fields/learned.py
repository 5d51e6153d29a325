"""Evaluate the field a trained forecaster discovered, in physical units.

A :class:`~fieldlab.models.field_forecaster.FieldForecaster` inside a training
:class:`~fieldlab.training.particles.forecaster.Forecaster` works on scaled positions :math:`x / s_x` (and
velocities :math:`v / s_v`) but returns the physical field per unit charge or mass, so evaluating
it at physical points only needs the scales. A field that differs per simulation is evaluated
for one simulation at a time, conditioned on the frames that simulation showed
(:func:`conditioned_field`).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from fieldlab.errors import ParameterError
from fieldlab.models.field_forecaster import FieldForecaster
from fieldlab.models.trajectory_encoder import Conditioning


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
    model: nn.Module, points: np.ndarray, *, velocity: np.ndarray | None = None
) -> np.ndarray:
    """The discovered shared field at physical ``points (M, D)``: ``(M, D)`` per unit charge or
    mass (``velocity (M, D)`` for a velocity-dependent field)."""
    net = field_network(model)
    if net.encoder is not None:
        raise ParameterError(
            "this field differs per simulation (latent_dim > 0): evaluate it with "
            "conditioned_field and the simulation's observed context"
        )
    o = net.options
    dtype = next(net.parameters()).dtype
    x = torch.tensor(points, dtype=dtype) / o.position_scale  # a copy: inputs may be read-only
    v = None if velocity is None else torch.tensor(velocity, dtype=dtype) / o.velocity_scale
    net.eval()
    return net.field_at(x, v).double().numpy()


@torch.no_grad()
def conditioned_field(model: nn.Module, points: np.ndarray, context: np.ndarray) -> np.ndarray:
    """The field each simulation's context reveals, at that simulation's points.

    Args:
        model: a forecaster whose field is conditioned (``latent_dim > 0``).
        points: ``(S, M, D)`` physical points, ``M`` per simulation.
        context: ``(S, P, C, 2 D)`` the frames each simulation showed (positions then velocities).

    Returns:
        ``(S, M, D)``: simulation ``b``'s discovered field at ``points[b]``, per unit mass (or
        charge).
    """
    net = field_network(model)
    if net.encoder is None:
        raise ParameterError(
            "this field is shared by all simulations (latent_dim = 0): use learned_field"
        )
    o = net.options
    dtype = next(net.parameters()).dtype
    n_sims, n_points, dim = points.shape
    c = torch.as_tensor(context, dtype=dtype)
    c = torch.cat([c[..., :dim] / o.position_scale, c[..., dim:] / o.velocity_scale], dim=-1)
    ids = torch.arange(n_sims).repeat_interleave(c.shape[1])
    net.eval()
    per_node = net.encoder(c.reshape(-1, *c.shape[2:]), ids, n_sims)
    first = torch.arange(n_sims) * c.shape[1]  # one node of each simulation
    cond = Conditioning(
        per_node.code[first].repeat_interleave(n_points, 0),
        per_node.origin[first].repeat_interleave(n_points, 0),
    )
    x = torch.as_tensor(points.reshape(-1, dim), dtype=dtype) / o.position_scale
    return net.field_at(x, None, cond).double().numpy().reshape(points.shape)
