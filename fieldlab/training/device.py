"""Where a run computes: the ``device`` setting (``auto``, ``cpu``, ``cuda``, ``cuda:N``).

Samples stay in host memory; each batch moves to the model's device once, by :func:`to_device`
(from pinned memory, so the copy runs while the host goes on queueing work), its graph is built
there from its states (:class:`~fieldlab.models.batch.GraphBatch`), predictions and losses are
computed there, and
everything saved loads on the CPU (checkpoints are read onto it, the logged model's weights
are saved from it), so a model trained on a GPU resumes, serves and is evaluated on a machine
without one. ``auto`` picks
the first CUDA device when there is one, else the CPU.
"""

from __future__ import annotations

import torch

from fieldlab.errors import TrainingError


def resolve_device(name: str) -> torch.device:
    """The torch device that setting ``name`` asks for.

    Raises:
        TrainingError: an unknown name, or a CUDA device this machine does not have.
    """
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise TrainingError(
            f"device {name!r} is not a device; choose auto, cpu, cuda or cuda:N"
        ) from None
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if (device.index or 0) >= count:
            raise TrainingError(
                f"device {name!r} is not available here ({count} CUDA device(s)); use --set "
                "device=cpu, or device=auto to take a GPU when there is one"
            )
    elif device.type != "cpu":
        raise TrainingError(f"device {name!r} is not supported; choose auto, cpu, cuda or cuda:N")
    return device


def to_device(t: torch.Tensor, device: torch.device) -> torch.Tensor:
    """``t`` on ``device``: a host tensor bound for a CUDA device is copied into pinned memory
    first and sent asynchronously (a copy from pageable memory holds the host until it is done;
    torch's pinned-memory allocator keeps the staging buffer until the copy has finished); a
    tensor already there is returned as it is."""
    if t.device == device:
        return t
    if device.type == "cuda" and t.device.type == "cpu" and not t.is_pinned():
        t = t.pin_memory()
    return t.to(device, non_blocking=True)
