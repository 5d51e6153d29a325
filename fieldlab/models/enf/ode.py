r"""Equivariant latent dynamics: a neural ODE on the latent point cloud, integrated by RK4.

.. math:: \frac{d}{dt} (p_i, c_i) = F_\psi(z)_i

:math:`F_\psi` is message passing on the complete graph of latents
(:func:`~fieldlab.models.enf.graph.latent_index`) whose edges see the poses only through the
bi-invariant :math:`a_{ij} = a(p_i, p_j)` of each pair (relative position, wrapped periodically
on the torus; the angle on the sphere), embedded with random Fourier features
(after PONITA, Bekkers et al. 2024, as Knigge, Wessels et al. 2024 use; here with point-valued
poses, so the only pair invariants are those of points). With :math:`h^0_i = c_i`, per layer
:math:`l`:

.. math::

    m_{ij} &= \phi_m\big(h_i, h_j, e(a_{ij})\big), \qquad
    h_i^{l+1} = h_i^l + \phi_h\Big(h_i^l, \frac{1}{N-1} \sum_{j \ne i} m_{ij}\Big) \\
    \dot c_i &= W_c h_i^L, \qquad
    \dot p_i = \frac{1}{N-1} \sum_{j \ne i} \phi_p(m_{ij})\, \log_{p_i}(p_j)

:math:`\log_{p_i}(p_j)` is :meth:`~fieldlab.models.enf.geometry.Geometry.log`: the relative
vector (periodic on the torus; on the sphere its tangent component at :math:`p_i`), so the pose
velocity is an equivariant vector and the flow commutes with the group:
:math:`\Phi_t(g z) = g\, \Phi_t(z)`. The read-outs :math:`W_c`, :math:`\phi_p` start at zero, so
an untrained ODE holds the latents still.

With ``equivariant=False`` the edges see the absolute positions :math:`[\bar p_i, \bar p_j]`
and the pose velocity is a free vector :math:`W_p h_i^L` (tangent-projected on the sphere).

**Integration.** Classical fixed-step RK4 over the requested times, ``substeps`` equal steps per
interval; on the sphere each stage moves along the tangent velocity and re-normalises
(:meth:`~fieldlab.models.enf.geometry.Geometry.step`), which is a rotation-equivariant
retraction. Shapes: latents ``(B, N, ·)``, ``times (K,)`` -> latents ``(B, K, N, ·)``.
"""

from __future__ import annotations

import torch
from torch import nn

from fieldlab.models.enf.decoder import pair_features
from fieldlab.models.enf.embedding import FourierEmbedding
from fieldlab.models.enf.geometry import Geometry
from fieldlab.models.enf.graph import latent_index
from fieldlab.models.enf.latents import Latents


class MessageLayer(nn.Module):
    """One round of :math:`m_{ij}` and the residual update of :math:`h_i`."""

    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.dst = nn.Linear(hidden, hidden)
        self.src = nn.Linear(hidden, hidden, bias=False)
        self.edge = nn.Linear(hidden, hidden, bias=False)
        self.message = nn.Sequential(nn.SiLU(), nn.Linear(hidden, hidden), nn.SiLU())
        self.node = nn.Sequential(
            nn.Linear(2 * hidden, hidden), nn.SiLU(), nn.Linear(hidden, hidden)
        )

    def forward(
        self, h: torch.Tensor, e: torch.Tensor, src: torch.Tensor, dense: tuple[int, int]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``h (B, N, H)``, edge embeddings ``e (B, E, H)`` -> ``(h', m (B, N, N-1, H))``."""
        b, (n, k) = h.shape[0], dense
        pre = self.src(h).index_select(1, src) + self.edge(e)
        pre = pre.view(b, n, k, -1) + self.dst(h)[:, :, None]
        m = self.message(pre)
        return h + self.node(torch.cat([h, m.mean(2)], dim=-1)), m


class LatentODE(nn.Module):
    def __init__(
        self,
        geometry: Geometry,
        latent_dim: int,
        hidden: int,
        layers: int,
        n_fourier: int,
        sigma: float,
        scale: float,
        equivariant: bool = True,
        seed: int = 0,
    ) -> None:
        super().__init__()
        if layers < 1:
            raise ValueError(f"the latent ODE needs at least one message layer, got {layers}")
        self.geometry, self.scale, self.equivariant = geometry, scale, equivariant
        pair_dim = geometry.invariant_dim if equivariant else 2 * geometry.absolute_dim
        self.embed = FourierEmbedding(pair_dim, n_fourier, sigma, hidden, seed + 1)
        self.lift = nn.Linear(latent_dim, hidden)
        self.layers = nn.ModuleList(MessageLayer(hidden) for _ in range(layers))
        self.context_rate = nn.Linear(hidden, latent_dim)
        self.pose_rate = nn.Linear(hidden, 1 if equivariant else geometry.dim)
        for read_out in (self.context_rate, self.pose_rate):
            nn.init.zeros_(read_out.weight)
            nn.init.zeros_(read_out.bias)

    def velocity(self, p: torch.Tensor, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """:math:`F_\\psi(z)`: ``(dp/dt (B, N, D), dc/dt (B, N, d))``."""
        n = p.shape[1]
        index = latent_index(n, p.device)
        p_dst = index.dense(p.index_select(1, index.dst))  # (B, N, N-1, D)
        p_src = index.dense(p.index_select(1, index.src))
        e = self.embed(pair_features(self.geometry, p_dst, p_src, self.scale, self.equivariant))
        e = e.flatten(1, 2)
        h, m = self.lift(c), e
        for layer in self.layers:
            h, m = layer(h, e, index.src, (n, index.degree))
        dc = self.context_rate(h)
        if self.equivariant:
            dp = (self.pose_rate(m) * self.geometry.log(p_dst, p_src)).mean(2)
        else:
            dp = self.geometry.tangent(p, self.pose_rate(h))
        return dp, dc

    def _rk4(self, p: torch.Tensor, c: torch.Tensor, dt: torch.Tensor) -> tuple[torch.Tensor, ...]:
        step = self.geometry.step
        k1p, k1c = self.velocity(p, c)
        k2p, k2c = self.velocity(step(p, dt / 2 * k1p), c + dt / 2 * k1c)
        k3p, k3c = self.velocity(step(p, dt / 2 * k2p), c + dt / 2 * k2c)
        k4p, k4c = self.velocity(step(p, dt * k3p), c + dt * k3c)
        p = step(p, dt / 6 * (k1p + 2 * k2p + 2 * k3p + k4p))
        c = c + dt / 6 * (k1c + 2 * k2c + 2 * k3c + k4c)
        return p, c

    def forward(self, z0: Latents, times: torch.Tensor, substeps: int = 1) -> Latents:
        """The latents at each of ``times`` (increasing; ``z0`` is at ``times[0]``)."""
        if times.ndim != 1 or (times.diff() < 0).any():
            raise ValueError("times must be a 1-D increasing tensor")
        p, c = z0.poses, z0.contexts
        poses, contexts = [p], [c]
        for dt_interval in times.diff():
            dt = dt_interval / substeps
            for _ in range(substeps):
                p, c = self._rk4(p, c, dt)
            poses.append(p)
            contexts.append(c)
        return Latents(torch.stack(poses, 1), torch.stack(contexts, 1))
