"""Training, evaluation and tracking of forecasters.

>>> from fieldlab.training import load_config, train, evaluate
>>> result = train(load_config(dataset="egnn-charged-3d-mini", epochs=50))
>>> evaluate(result.run_id, "egnn-charged-3d-mini")["metrics"]["mse"]

Modules, one concept each: :mod:`.config` (settings), :mod:`.data` (dataset -> task tensors),
:mod:`.forecaster` (network + units), :mod:`.schedule`, :mod:`.loop` (the optimisation),
:mod:`.checkpoint` (resume), :mod:`.store`, :mod:`.tracking` and :mod:`.pyfunc` (MLflow), :mod:`.run` (a tracked
run), :mod:`.rollout`, :mod:`.conservation`, :mod:`.evaluate`, :mod:`.figures`, :mod:`.cli`.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fieldlab.training.config import TrainConfig, build_config, load_config
    from fieldlab.training.data import (
        TaskData,
        TaskFrames,
        load_task,
        load_trajectories,
        task_frames,
    )
    from fieldlab.training.evaluate import evaluate, load_forecaster_from_run
    from fieldlab.training.forecaster import Forecaster, build_forecaster
    from fieldlab.training.loop import Trainer, evaluate_mse
    from fieldlab.training.run import TrainResult, train
    from fieldlab.training.store import default_tracking_uri
    from fieldlab.training.tracking import configure

_HOME = {
    "TrainConfig": "config",
    "build_config": "config",
    "load_config": "config",
    "TaskData": "data",
    "TaskFrames": "data",
    "load_task": "data",
    "load_trajectories": "data",
    "task_frames": "data",
    "evaluate": "evaluate",
    "load_forecaster_from_run": "evaluate",
    "Forecaster": "forecaster",
    "build_forecaster": "forecaster",
    "Trainer": "loop",
    "evaluate_mse": "loop",
    "TrainResult": "run",
    "train": "run",
    "configure": "tracking",
    "default_tracking_uri": "store",
}


def __getattr__(name: str) -> Any:
    """Import on first use: torch, DGL and MLflow load only when training is asked for."""
    if name in _HOME:
        return getattr(import_module(f"fieldlab.training.{_HOME[name]}"), name)
    raise AttributeError(f"module 'fieldlab.training' has no attribute {name!r}")


__all__ = [
    "Forecaster",
    "TaskData",
    "TaskFrames",
    "TrainConfig",
    "TrainResult",
    "Trainer",
    "build_config",
    "build_forecaster",
    "configure",
    "default_tracking_uri",
    "evaluate",
    "evaluate_mse",
    "load_config",
    "load_forecaster_from_run",
    "load_task",
    "load_trajectories",
    "task_frames",
    "train",
]
