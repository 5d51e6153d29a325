r"""``base + a W^T`` for a thin input ``a`` (a few columns), with a backward that MKL runs fast.

Autograd's backward of ``a @ W.T`` forms :math:`\partial W = g^T a` and :math:`\partial a = g W`:
products whose output has only ``K`` columns, which MKL's ``sgemm`` runs several times slower
than the transposed products :math:`(a^T g)^T` and :math:`(W^T g^T)^T` (measured on
``(2000, 64)`` edge gradients with ``K = 2``: 104 and 82 us against 13 and 43 us). The edge
inputs of a message-passing layer (a radial distance and an edge attribute) are such a thin
input. The maths is that of ``torch.addmm(base, a, W.T)``; only the order of the products
differs, and gradients are formed only for the inputs that need them.

Shapes: ``base (E, H)``, ``a (E, K)``, ``weight (H, K)``; the result is ``(E, H)``.
"""

from __future__ import annotations

from typing import Any

import torch


class _ThinAddmm(torch.autograd.Function):
    @staticmethod
    def forward(base: torch.Tensor, a: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        return torch.addmm(base, a, weight.t())

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        base, a, weight = inputs
        ctx.save_for_backward(a, weight)
        ctx.dtypes = base.dtype, a.dtype, weight.dtype

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        # under autocast the forward's product ran in the gradient's (reduced) dtype; the
        # backward's products do too, and each gradient returns in its input's dtype
        a, weight = (t.to(grad.dtype) for t in ctx.saved_tensors)
        base_dtype, a_dtype, weight_dtype = ctx.dtypes
        need_base, need_a, need_weight = ctx.needs_input_grad
        grad_a = torch.mm(weight.t(), grad.t()).t().to(a_dtype) if need_a else None
        grad_weight = torch.mm(a.t(), grad).t().to(weight_dtype) if need_weight else None
        return (grad.to(base_dtype) if need_base else None), grad_a, grad_weight


def thin_addmm(base: torch.Tensor, a: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """``base + a @ weight.T`` (see the module docstring)."""
    return _ThinAddmm.apply(base, a, weight)
