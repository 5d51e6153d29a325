r"""The equivariant cross-attention decoder: a query coordinate attends to the latents.

For a query :math:`x` and latents :math:`\{(p_i, c_i)\}_{i=1}^N`, with
:math:`e_i(x) = e(a(x, p_i))` the Fourier embedding (:mod:`~fieldlab.models.enf.embedding`)
of the bi-invariant :math:`a` (:mod:`~fieldlab.models.enf.geometry`), per attention head:

.. math::

    \alpha_i(x) &= \mathrm{softmax}_i\Big(\frac{(W_q e_i(x))^\top (W_k c_i)}{\sqrt{d_h}}
                   - \frac{d^2(x, p_i)}{2 \sigma_w^2}\Big) \\
    v_i(x) &= W_v c_i \odot \big(1 + \gamma(e_i(x))\big) + \beta(e_i(x)) \\
    f(x; z) &= \mathrm{MLP}\Big(\sum_i \alpha_i(x)\, v_i(x)\Big) \in \mathbb{R}^C

The query side depends on :math:`x` only through bi-invariants, keys on the contexts, values on
the contexts modulated (FiLM) by the bi-invariant, and the Gaussian window of width
:math:`\sigma_w` around each pose makes every latent act locally (Knigge, Wessels et al. 2024,
sec. 3.1; Wessels et al. 2024, "Grounding continuous representations in geometry"). Since
every input is bi-invariant, :math:`f(g x; g z) = f(x; z)` exactly.

With ``equivariant=False`` (the conditional-neural-field ablation, DINo's family) the embedding
receives the absolute positions :math:`[\,\bar x, \bar p_i\,]`
(:meth:`~fieldlab.models.enf.geometry.Geometry.absolute`) instead of :math:`a(x, p_i)`; the
window stays, so the comparison isolates the bi-invariants.

Computation runs on the bipartite latent-to-query graph's index tensors
(:func:`~fieldlab.models.enf.graph.query_index`), viewed densely per query.

**Nearest latents.** With ``nearest`` :math:`k < N`, each query attends only to its :math:`k`
nearest latents by :math:`d^2(x, p_i)` (the softmax and the sum run over those), as in the
authors' own implementation: the cost of a query is then :math:`O(k)`, not :math:`O(N)`, so a
field can have many latents. The graph is then a sub-graph of the complete bipartite one, chosen
per field (:func:`~fieldlab.models.enf.graph.nearest_latents`). Distances are invariant, so the
selection commutes with the group too; the decoded field jumps where a query's :math:`k`-th and
:math:`(k+1)`-th latents swap, by at most the window's weight at that distance.

Shapes: latents ``(B, N, ·)``, ``coords (Q, D)`` -> ``(B, Q, C)``.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from fieldlab.models.enf.embedding import FourierEmbedding
from fieldlab.models.enf.geometry import Geometry
from fieldlab.models.enf.graph import EdgeIndex, gather_latents, nearest_latents, query_index
from fieldlab.models.enf.latents import Latents


def pair_features(
    geometry: Geometry, x: torch.Tensor, p: torch.Tensor, scale: float, equivariant: bool
) -> torch.Tensor:
    """Bi-invariants ``(..., A)`` of ``(x, p)``, or, for the ablation, their absolute positions."""
    if equivariant:
        return geometry.invariant(x, p, scale)
    ax, ap = geometry.absolute(x, scale), geometry.absolute(p, scale)
    return torch.cat(torch.broadcast_tensors(ax, ap), dim=-1)


class CrossAttentionDecoder(nn.Module):
    def __init__(
        self,
        geometry: Geometry,
        channels: int,
        latent_dim: int,
        hidden: int,
        heads: int,
        n_fourier: int,
        sigma: float,
        scale: float,
        window: float,
        equivariant: bool = True,
        seed: int = 0,
        nearest: int = 0,
    ) -> None:
        super().__init__()
        if hidden % heads:
            raise ValueError(f"hidden ({hidden}) must be a multiple of heads ({heads})")
        self.geometry, self.scale, self.window = geometry, scale, window
        self.heads, self.equivariant, self.nearest = heads, equivariant, nearest
        pair_dim = geometry.invariant_dim if equivariant else 2 * geometry.absolute_dim
        self.embed = FourierEmbedding(pair_dim, n_fourier, sigma, hidden, seed)
        self.query = nn.Linear(hidden, hidden)
        self.key = nn.Linear(latent_dim, hidden)
        self.value = nn.Linear(latent_dim, hidden)
        self.film = nn.Linear(hidden, 2 * hidden)
        self.out = nn.Sequential(nn.Linear(hidden, hidden), nn.GELU(), nn.Linear(hidden, channels))

    def forward(
        self, latents: Latents, coords: torch.Tensor, index: EdgeIndex | None = None
    ) -> torch.Tensor:
        b, n = latents.batch, latents.n_latents
        c = latents.contexts
        if 0 < self.nearest < n:
            src = nearest_latents(self.geometry, latents.poses, coords, self.nearest)
            x = coords[:, None]  # (Q, 1, D)
            p, keys, values = (
                gather_latents(t, src) for t in (latents.poses, self.key(c), self.value(c))
            )
        else:
            index = index or query_index(n, coords.shape[0], coords.device)
            x = coords.index_select(0, index.dst).view(index.n_dst, index.degree, -1)
            p, keys, values = (
                index.dense(t.index_select(1, index.src))
                for t in (latents.poses, self.key(c), self.value(c))
            )  # (B, Q, N, ·)
        e = self.embed(pair_features(self.geometry, x, p, self.scale, self.equivariant))
        hidden = e.shape[-1]
        dh = hidden // self.heads
        q = self.query(e).unflatten(-1, (self.heads, dh))  # (B, Q, K, h, dh)
        k = keys.unflatten(-1, (self.heads, dh))
        window = self.geometry.sq_distance(x, p) / (2 * self.window**2)
        logits = (q * k).sum(-1) / math.sqrt(dh) - window[..., None]
        alpha = logits.softmax(dim=2)  # over the latents of each query
        gain, shift = self.film(e).chunk(2, dim=-1)
        v = (values * (1 + gain) + shift).unflatten(-1, (self.heads, dh))
        h = (alpha[..., None] * v).sum(2).reshape(b, coords.shape[0], hidden)
        return self.out(h)
