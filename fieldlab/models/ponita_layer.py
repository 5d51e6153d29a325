r"""One PONITA block: a separable convolution over position-orientation space inside a ConvNeXt
block (Bekkers et al. 2024, "Fast, Expressive SE(n) Equivariant Networks through Weight-Sharing in
Position-Orientation Space", sec. 4 and app. A).

Features live on :math:`\mathbb{R}^n \times S^{n-1}` sampled at the particles and at a fixed grid of
orientations :math:`o`: ``f (N, O, C)``. For an edge :math:`j \to i` the kernel is a function of
the invariants of :math:`((x_i, o), (x_j, o))`, :math:`a_1 = (x_j - x_i) \cdot o`,
:math:`a_2 = |(x_j - x_i) - a_1 o|` (and the edge's invariant attributes), embedded once per
forward pass into a basis :math:`b_{ij}(o) \in \mathbb{R}^{B}`; the fibre kernel is a function of
:math:`o \cdot o'` embedded into :math:`b(o, o')`. Each block maps the bases to depthwise kernels
by a linear layer of its own, :math:`k = W_s b`, :math:`k^{\text{fib}} = W_f b`, and computes

.. math::

    g_i(o) &= k_{\text{self}} \odot f_i(o) + \sum_{j \to i} k_{ij}(o) \odot f_j(o)
        &&\text{(spatial, per orientation)} \\
    u_i(o) &= \frac{1}{O} \sum_{o'} k^{\text{fib}}(o \cdot o') \odot g_i(o') + \beta
        &&\text{(over the fibre)} \\
    f_i(o) &\leftarrow f_i(o) + \gamma \odot W_2\, \mathrm{GELU}\big(W_1\, \mathrm{LN}(u_i(o))\big)
        &&\text{(ConvNeXt: widening 4, layer scale } \gamma\text{)}

:math:`k_{\text{self}}` is the spatial kernel at zero displacement (the paper's n-body setting
lets every particle interact with itself). Spatial and fibre mixing being separate, a block costs
:math:`O(E O C + N O^2 C)` rather than the :math:`O(E O^2 C)` of a full convolution.

Layout: every tensor of a block, and every gradient, stays contiguous with channels last. The
spatial sum multiplies in an ``(N, k, O, C)`` view
(:meth:`~fieldlab.models.edges.Edges.weighted_sum`), and the fibre sum runs as one batched
matrix product over a leading channel axis in its own autograd function (:class:`_FiberMix`).
Written as an ``einsum``, the fibre sum copied each channel's matrix separately and handed the
spatial products their gradients in a transposed layout: a training step spent about a third of
its time outside matrix products, against a fifth now.

Shapes: ``f (N, O, C)``, ``spatial_basis (E, O, B)``, ``self_basis (B,)``,
``fiber_basis (O, O, B)``; ``src``, ``dst`` ``(E,)`` index the edges :math:`j \to i`.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from fieldlab.models.edges import Edges


class _FiberMix(torch.autograd.Function):
    r""":math:`u_{npc} = \sum_q k_{pqc}\, g_{nqc}` for ``g (N, O, C)`` and ``k (O, O, C)``: for each
    channel an ``(N, O) x (O, O)`` product, batched over a leading channel axis. Operands are
    copied into that layout, so every product reads contiguous matrices, and results and
    gradients come back contiguous in ``(N, O, C)`` (autograd through permuted views would hand the
    layers before it gradients in the permuted layout, slowing every elementwise product there)."""

    @staticmethod
    def forward(ctx: Any, g: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
        gc = g.permute(2, 0, 1).contiguous()  # (C, N, O)
        kc = k.permute(2, 1, 0).contiguous()  # (C, O_q, O_p)
        ctx.save_for_backward(gc, kc)
        return torch.bmm(gc, kc).permute(1, 2, 0).contiguous()

    @staticmethod
    def backward(ctx: Any, du: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        gc, kc = ctx.saved_tensors
        duc = du.permute(2, 0, 1).contiguous()  # (C, N, O_p)
        dg = torch.bmm(duc, kc.transpose(1, 2)).permute(1, 2, 0).contiguous()
        dk = torch.bmm(gc.transpose(1, 2), duc).permute(2, 1, 0)  # (O_p, O_q, C)
        return dg, dk


class PonitaBlock(nn.Module):
    """Separable position-orientation convolution (depthwise) wrapped in a ConvNeXt block."""

    def __init__(
        self, channels: int, basis: int, widening: int = 4, layer_scale: float = 1e-6
    ) -> None:
        super().__init__()
        self.spatial = nn.Linear(basis, channels, bias=False)
        self.fiber = nn.Linear(basis, channels, bias=False)
        self.bias = nn.Parameter(torch.zeros(channels))
        self.norm = nn.LayerNorm(channels)
        self.widen = nn.Linear(channels, widening * channels)
        self.narrow = nn.Linear(widening * channels, channels)
        self.scale = nn.Parameter(torch.full((channels,), float(layer_scale)))

    def forward(
        self,
        f: torch.Tensor,
        edges: Edges,
        spatial_basis: torch.Tensor,
        self_basis: torch.Tensor,
        fiber_basis: torch.Tensor,
    ) -> torch.Tensor:
        """``f (N, O, C)`` after the block (see the module docstring for the maths and shapes)."""
        o = f.shape[1]
        g = edges.weighted_sum(f, self.spatial(spatial_basis)) + f * self.spatial(self_basis)
        u = _FiberMix.apply(g, self.fiber(fiber_basis) / o) + self.bias
        upd = self.narrow(nn.functional.gelu(self.widen(self.norm(u))))
        return f + self.scale * upd
