r"""A module's parameters and gradients in two contiguous buffers, so that Adam is a few vector ops.

``torch.optim.Adam`` issues its element-wise operations once per parameter tensor (``foreach``
batches the calls, yet each tensor is still its own kernel). A 4-layer EGNN has 74 small
tensors, and its update took 1.3 ms of a 10 ms training step on this CPU; on one flat vector of
its 138,054 weights the same update takes 0.3 ms.

:class:`FlatParameters` copies every trainable parameter of a module into one vector ``data`` and
makes the parameter a view of its slice; each parameter's ``.grad`` is likewise a view of a slice
of ``grad``. Autograd accumulates into an existing ``.grad`` in place, so after ``backward`` the
flat gradient is complete without a copy, and zeroing is one fill. The optimizer is handed
``data`` alone (whose ``.grad`` is ``grad``):

.. math:: \theta = [\operatorname{vec}\theta_1; \dots; \operatorname{vec}\theta_n],
          \qquad g = [\operatorname{vec} \partial_{\theta_1} L; \dots;
          \operatorname{vec} \partial_{\theta_n} L].

Adam is element-wise, so its update of :math:`\theta` is exactly its update of each
:math:`\theta_k` with gradients zeroed rather than set to ``None``. The one difference from
``torch.optim.Adam`` on the separate tensors: a parameter that gets no gradient (say, a velocity
head that the loss does not use) counts as one whose gradient is zero, so weight decay and its
decaying moments still act on it, where ``torch.optim.Adam`` would skip it.

Rules that keep the sharing intact: zero gradients with :meth:`zero_grad`, never by setting them
to ``None``; change weights in place (``load_state_dict`` and ``copy_`` do); move the module to
its device *before* flattening.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from fieldlab.errors import TrainingError


class FlatParameters:
    """The trainable parameters of ``module`` as views of one vector (see the module docstring)."""

    def __init__(self, module: nn.Module) -> None:
        params = [p for p in module.parameters() if p.requires_grad]
        if not params:
            raise TrainingError(f"{type(module).__name__} has no trainable parameters")
        dtypes = {(p.dtype, p.device) for p in params}
        if len(dtypes) > 1:
            raise TrainingError(
                f"{type(module).__name__} mixes parameter dtypes or devices ({sorted(map(str, dtypes))}); "
                "cast the model to one dtype and device before training"
            )
        first = params[0]
        self.sizes = [p.numel() for p in params]
        self.data = torch.empty(sum(self.sizes), dtype=first.dtype, device=first.device)
        self.grad = torch.zeros_like(self.data)
        offset = 0
        with torch.no_grad():
            for p, n in zip(params, self.sizes, strict=True):
                self.data[offset : offset + n].copy_(p.reshape(-1))
                p.data = self.data[offset : offset + n].view_as(p)
                p.grad = self.grad[offset : offset + n].view_as(p)
                offset += n
        self.data.grad = self.grad

    def zero_grad(self) -> None:
        """Zero every parameter's gradient in one fill."""
        self.grad.zero_()

    def flatten_optimizer_state(self, state: dict[str, Any]) -> dict[str, Any]:
        """Turn an Adam ``state_dict`` kept per parameter into the single flat parameter's.

        Checkpoints written before parameters were flattened hold one ``exp_avg`` and
        ``exp_avg_sq`` per parameter; concatenated in parameter order they are the flat moments.
        A state dict that is already flat is returned as it is.
        """
        (group,) = state["param_groups"]
        if len(group["params"]) == 1:
            return state
        if len(group["params"]) != len(self.sizes):
            raise TrainingError(
                f"the checkpoint's optimizer has {len(group['params'])} parameters, the model "
                f"{len(self.sizes)}: it belongs to another model"
            )
        per = state["state"]
        flat: dict[int, dict[str, torch.Tensor]] = {}
        if per:
            first = next(iter(per.values()))

            def moment(name: str) -> torch.Tensor:
                # a parameter that never had a gradient has no state: its moments are zero
                return torch.cat(
                    [
                        per[k][name].reshape(-1) if k in per else self.data.new_zeros(n)
                        for k, n in zip(group["params"], self.sizes, strict=True)
                    ]
                )

            flat[0] = {
                "step": first["step"],
                "exp_avg": moment("exp_avg"),
                "exp_avg_sq": moment("exp_avg_sq"),
            }
        return {"state": flat, "param_groups": [{**group, "params": [0]}]}
