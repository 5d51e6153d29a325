"""Checkpoints: everything needed to continue a run exactly where it stopped.

A run's directory holds ``last.pt`` (written after every epoch) and ``best.pt`` (the weights of
the best validation epoch so far). ``last.pt`` carries the config, the epoch count, the weights,
the optimizer's state, the shuffling generator's state, the early-stopping state and the metric
history: resuming from it continues the same sequence of batches, learning rates and updates, so
an interrupted run ends where an uninterrupted one would.

Files are written to a temporary name and renamed, so an interruption mid-write leaves the
previous checkpoint intact. They hold plain values and tensors only, and are read with
``torch.load(weights_only=True)`` (:func:`load_weights`): a file crafted to run code when it is
unpickled is refused, and nothing in it runs.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

import torch

from fieldlab.errors import TrainingError

LAST = "last.pt"
BEST = "best.pt"


def default_checkpoint_root() -> Path:
    """``$FIELDLAB_CHECKPOINTS``, else ``mlflow/artifacts/checkpoints`` (git-ignored)."""
    return Path(os.environ.get("FIELDLAB_CHECKPOINTS", "mlflow/artifacts/checkpoints")).resolve()


def run_dir(run_id: str, root: str | os.PathLike[str] | None = None) -> Path:
    """The checkpoint directory of run ``run_id``."""
    return (Path(root) if root is not None else default_checkpoint_root()) / run_id


def save(state: dict[str, Any], path: str | os.PathLike[str]) -> None:
    """Write ``state`` to ``path`` atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def load(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a checkpoint; a missing file is a :class:`TrainingError` naming it."""
    path = Path(path)
    if not path.is_file():
        raise TrainingError(
            f"no checkpoint at {path}; resume needs the run's checkpoint directory "
            "(set --checkpoint-dir or FIELDLAB_CHECKPOINTS to where the run wrote it)"
        )
    return load_weights(path)


def load_weights(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a checkpoint or a logged model's ``forecaster.pt`` without running any code in it.

    Raises:
        TrainingError: the file is not one fieldlab wrote (e.g. a pickle that would run code).
    """
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, AttributeError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise TrainingError(
            f"{os.fspath(path)} is not a fieldlab checkpoint or model that loads as plain "
            f"weights, so it was refused and nothing in it ran ({first}); use a file fieldlab wrote"
        ) from None
