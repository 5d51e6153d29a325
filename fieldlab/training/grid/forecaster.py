r"""A trained grid forecaster: a mesh network plus its grid, normalisation and static inputs.

:class:`GridForecaster` advances ``C`` fields by one saved frame in physical units. For a state
:math:`u_t` ``(B, ny, nx, C)`` it builds the node features

.. math:: a_i = \big[(u_{t,i} - \mu) / \sigma,\ s_i,\ p_i\big]

(the normalised fields; the static inputs :math:`s_i` such as a forcing, each divided by its
largest magnitude; optionally the position :math:`p_i` scaled to :math:`[-1, 1]^2`), runs the
network on the mesh graph (:func:`fieldlab.models.build_mesh_graph`) and adds the predicted
increment back in physical units (a residual update in time):

.. math:: \hat u_{t+1} = u_t + \sigma_\Delta\, \hat\delta(a).

The network is trained on :math:`\hat\delta` against :math:`(u_{t+1} - u_t) / \sigma_\Delta`
(:mod:`fieldlab.training.grid.objective`); :meth:`GridForecaster.rollout` feeds its predictions back
in for multi-step forecasts. Buffers carry every number needed to rebuild it from its state dict.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from fieldlab.models import Mesh, MeshSpec, build_grid_model, build_mesh_graph
from fieldlab.models.batch import GraphBatch
from fieldlab.models.mesh_graph import EDGE_FEATURES
from fieldlab.training.device import to_device


class GridForecaster(nn.Module):
    """``net`` on ``mesh`` with the statistics it was trained with (see the module docstring).

    Args:
        net: a grid model from :func:`fieldlab.models.build_grid_model`.
        mesh, spec: the grid and its stencil and node features.
        fields: names of the ``C`` state fields, in channel order.
        mean, std, delta_std: ``(C,)`` statistics of the fields and of their one-frame increments.
        static: ``(ny, nx, C_s)`` static inputs in physical units (``C_s`` may be 0).
    """

    def __init__(
        self,
        net: nn.Module,
        mesh: Mesh,
        spec: MeshSpec,
        fields: Sequence[str],
        *,
        mean: Sequence[float],
        std: Sequence[float],
        delta_std: Sequence[float],
        static: torch.Tensor,
    ) -> None:
        super().__init__()
        self.net = net
        self.mesh = mesh
        self.spec = spec
        self.fields = tuple(fields)
        dtype = torch.get_default_dtype()  # buffers follow the module's dtype from here on
        self.register_buffer("mean", torch.tensor(mean, dtype=dtype))
        self.register_buffer("std", torch.tensor(std, dtype=dtype))
        self.register_buffer("delta_std", torch.tensor(delta_std, dtype=dtype))
        static = static.double()
        scale = static.abs().amax(dim=(0, 1)).clamp_min(1e-300)
        self.register_buffer("static", (static / scale).to(dtype))
        position = torch.zeros(mesh.ny, mesh.nx, 0, dtype=torch.float64)
        if spec.positions:
            p = mesh.positions().reshape(mesh.ny, mesh.nx, 2)
            lo, hi = p.amin(dim=(0, 1)), p.amax(dim=(0, 1))
            position = 2 * (p - lo) / (hi - lo) - 1
        self.register_buffer("position", position.to(dtype))

    @property
    def node_features(self) -> int:
        """Width ``F`` of the node features the network reads."""
        return len(self.fields) + self.static.shape[-1] + self.position.shape[-1]

    def graph(self, state: torch.Tensor) -> GraphBatch:
        """The mesh graph of states ``(B, ny, nx, C)`` with their node features."""
        x = (state - self.mean) / self.std
        extra = torch.cat([self.static, self.position], -1)
        attr = torch.cat([x, extra.expand(state.shape[0], -1, -1, -1)], -1)
        return build_mesh_graph(attr, self.mesh, self.spec.neighbours)

    def increment(self, state: torch.Tensor) -> torch.Tensor:
        r"""The normalised one-step increment :math:`\hat\delta` ``(B, ny, nx, C)``."""
        return self.net(self.graph(state)).reshape(state.shape)

    def forward(self, state: torch.Tensor) -> torch.Tensor:
        """The state one saved frame later, ``(B, ny, nx, C)``, in physical units, on this
        forecaster's device (a state elsewhere moves there first)."""
        state = to_device(state, self.mean.device)
        return state + self.delta_std * self.increment(state)

    @torch.no_grad()
    def rollout(self, start: np.ndarray, steps: int, *, batch_size: int = 8) -> np.ndarray:
        """Feed predictions back: ``(S, steps + 1, ny, nx, C)`` float64 from ``start``
        ``(S, ny, nx, C)`` (step 0 is ``start`` itself)."""
        self.eval()
        dtype = self.mean.dtype
        out = np.empty((start.shape[0], steps + 1, *start.shape[1:]))
        out[:, 0] = start
        for lo in range(0, start.shape[0], batch_size):
            u = torch.as_tensor(start[lo : lo + batch_size], dtype=dtype)
            for k in range(1, steps + 1):
                u = self(u)
                out[lo : lo + batch_size, k] = u.double().cpu().numpy()
        return out


def build_grid_forecaster(
    model: str,
    *,
    mesh: Mesh,
    spec: MeshSpec,
    fields: Sequence[str],
    mean: Sequence[float],
    std: Sequence[float],
    delta_std: Sequence[float],
    static: torch.Tensor,
    hidden: int,
    layers: int,
) -> GridForecaster:
    """A fresh grid forecaster; ``model`` is a name from :data:`fieldlab.models.GRID_MODELS`."""
    n_features = len(fields) + static.shape[-1] + (2 if spec.positions else 0)
    net = build_grid_model(
        model,
        node_features=n_features,
        edge_features=EDGE_FEATURES,
        out_features=len(fields),
        hidden=hidden,
        layers=layers,
    )
    return GridForecaster(
        net, mesh, spec, fields, mean=mean, std=std, delta_std=delta_std, static=static
    )
