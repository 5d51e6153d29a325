r"""The ``precision`` setting: the arithmetic of a training step's forward pass.

- ``fp32`` (the default): float32 throughout (or the run's ``dtype``); nothing is changed.
- ``tf32``: on a CUDA device, matrix products and convolutions take TF32 inputs (10 mantissa
  bits instead of 23, accumulated in float32), which tensor cores run several times faster.
  A CPU has no TF32: the setting is refused there.
- ``bf16``: the forward pass and the loss run under :func:`torch.autocast` with bfloat16 (8
  mantissa bits): matrix products take bfloat16 inputs, while reductions, the loss and every
  tensor that meets a float32 one (positions, velocities) stay in float32. Weights, gradients
  and Adam's moments stay float32, so no loss scaling is needed.

Only the training step changes: validation, rollouts, evaluation and the logged model compute
in float32, so the scores measure the weights that reduced precision trained. Nothing is on
unless asked for; the effect on the test MSE is measured in ``benchmarks/README.md``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Literal

import torch

from fieldlab.errors import TrainingError

Precision = Literal["fp32", "tf32", "bf16"]


def check_precision(precision: str, device: torch.device) -> None:
    """Refuse a precision that ``device`` cannot compute in, saying what to use instead."""
    if precision == "tf32" and device.type != "cuda":
        raise TrainingError(
            f"precision 'tf32' is a CUDA matrix-product mode and the run computes on {device}; "
            "use --set precision=fp32, or precision=bf16 (bfloat16 autocast, also on a CPU)"
        )


@contextlib.contextmanager
def step_precision(precision: str, device: torch.device) -> Iterator[None]:
    """Compute the enclosed forward pass in ``precision`` on ``device`` (see the module)."""
    if precision == "bf16":
        with torch.autocast(device.type, dtype=torch.bfloat16):
            yield
    elif precision == "tf32":
        saved = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
        try:
            yield
        finally:
            torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved
    else:
        yield
