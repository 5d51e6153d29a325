r"""Adam on one flat parameter vector, through torch's own functional update.

The loop optimises a single vector (:class:`~fieldlab.training.flat_parameters.FlatParameters`),
so it needs none of :class:`torch.optim.Optimizer`'s machinery for parameter groups, hooks and
compilation, and that machinery costs a tracked run its largest import: in torch 2.2 the
optimizer's ``step`` and ``zero_grad`` import ``torch._dynamo`` (about 0.8 s) on first use.
:class:`FlatAdam` holds the vector's moments itself and applies the update with
:func:`torch.optim.adam.adam`, the function ``torch.optim.Adam(foreach=False)`` calls, so the
arithmetic is torch's, bit for bit. With gradient :math:`g_t`, weight decay :math:`\lambda`:

.. math:: g_t \leftarrow g_t + \lambda \theta_{t-1},\quad
          m_t = \beta_1 m_{t-1} + (1 - \beta_1) g_t,\quad
          v_t = \beta_2 v_{t-1} + (1 - \beta_2) g_t^2,

.. math:: \theta_t = \theta_{t-1} - \eta\, \frac{m_t / (1 - \beta_1^t)}
          {\sqrt{v_t / (1 - \beta_2^t)} + \epsilon}.

Its ``state_dict`` has the layout of ``torch.optim.Adam``'s for one parameter, so checkpoints
load into either (and checkpoints written with ``torch.optim.Adam`` resume here).
"""

from __future__ import annotations

from typing import Any

import torch
from torch.optim.adam import adam


class FlatAdam:
    """Adam (no AMSGrad, minimising) on the vector ``param``, whose ``.grad`` holds the gradient.

    ``param_groups[0]["lr"]`` is the learning rate the next :meth:`step` uses; ``state`` is
    empty until the first step (``{0: {"step", "exp_avg", "exp_avg_sq"}}`` after it).
    """

    def __init__(
        self,
        param: torch.Tensor,
        *,
        lr: float,
        weight_decay: float = 0.0,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
    ) -> None:
        if param.dim() != 1:
            raise ValueError(f"FlatAdam optimises one vector, got a tensor of shape {param.shape}")
        self.param = param
        self.param_groups: list[dict[str, Any]] = [
            {
                "lr": lr,
                "betas": betas,
                "eps": eps,
                "weight_decay": weight_decay,
                "amsgrad": False,
                "maximize": False,
                "foreach": False,
                "capturable": False,
                "differentiable": False,
                "fused": None,
            }
        ]
        self.state: dict[int, dict[str, torch.Tensor]] = {}

    @torch.no_grad()
    def step(self) -> None:
        """One update of ``param`` from ``param.grad``."""
        if self.param.grad is None:
            raise RuntimeError("FlatAdam.step() needs param.grad; run backward first")
        if not self.state:
            self.state[0] = {
                "step": torch.tensor(0.0, dtype=torch.float32),
                "exp_avg": torch.zeros_like(self.param, memory_format=torch.preserve_format),
                "exp_avg_sq": torch.zeros_like(self.param, memory_format=torch.preserve_format),
            }
        s, group = self.state[0], self.param_groups[0]
        beta1, beta2 = group["betas"]
        adam(
            [self.param],
            [self.param.grad],
            [s["exp_avg"]],
            [s["exp_avg_sq"]],
            [],
            [s["step"]],
            foreach=False,
            amsgrad=False,
            beta1=beta1,
            beta2=beta2,
            lr=group["lr"],
            weight_decay=group["weight_decay"],
            eps=group["eps"],
            maximize=False,
        )

    def state_dict(self) -> dict[str, Any]:
        """The state in ``torch.optim.Adam``'s layout (tensors are copies)."""
        state = {0: {k: v.clone() for k, v in self.state[0].items()}} if self.state else {}
        return {"state": state, "param_groups": [{**self.param_groups[0], "params": [0]}]}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore :meth:`state_dict` (or a one-parameter ``torch.optim.Adam``'s): moments are
        moved to ``param``'s device and dtype, ``step`` stays a float32 scalar on the CPU."""
        (group,) = state_dict["param_groups"]
        if group.get("amsgrad") or group.get("maximize"):
            raise ValueError("the saved optimizer used AMSGrad or maximised; FlatAdam does neither")
        self.param_groups[0].update({k: v for k, v in group.items() if k != "params"})
        self.param_groups[0]["betas"] = tuple(self.param_groups[0]["betas"])
        saved = state_dict["state"]
        self.state = {}
        if saved:
            (s,) = saved.values()
            like = {"device": self.param.device, "dtype": self.param.dtype}
            self.state[0] = {
                "step": torch.as_tensor(s["step"], dtype=torch.float32).detach().clone().cpu(),
                "exp_avg": s["exp_avg"].detach().to(**like).clone(),
                "exp_avg_sq": s["exp_avg_sq"].detach().to(**like).clone(),
            }
