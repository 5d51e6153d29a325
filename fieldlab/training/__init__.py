"""Training, evaluation and tracking of forecasters, for every kind of data.

>>> from fieldlab.training import load_config, train, evaluate
>>> result = train(load_config(dataset="egnn-charged-3d-mini", epochs=50))
>>> evaluate(result.run_id, "egnn-charged-3d-mini")["metrics"]["mse"]

The generic core, one concept per module: :mod:`.config` (settings), :mod:`.task` (a card's
frames), :mod:`.problem` (the seam between kinds of data, and their registry), :mod:`.loop`
(the optimisation), :mod:`.schedule`, :mod:`.flat_parameters`, :mod:`.checkpoint` (resume),
:mod:`.interrupt` (Ctrl-C), :mod:`.run` (a tracked run), :mod:`.evaluate`, :mod:`.runs` (run
look-ups), :mod:`.store`, :mod:`.store_process` and :mod:`.tracking` (MLflow), :mod:`.serving` and
:mod:`.served_model` (the logged model), :mod:`.field_comparison`. One sub-package per kind of
data: :mod:`.particles`, :mod:`.grid`.
"""

import sys
from importlib import import_module
from importlib.abc import Loader, MetaPathFinder
from importlib.machinery import ModuleSpec
from importlib.util import spec_from_loader
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fieldlab.training.config import TrainConfig, build_config, load_config
    from fieldlab.training.evaluate import evaluate
    from fieldlab.training.loop import Trainer
    from fieldlab.training.problem import KINDS, Problem
    from fieldlab.training.run import TrainResult, train
    from fieldlab.training.runs import latest_run, load_forecaster_from_run
    from fieldlab.training.store import default_tracking_uri
    from fieldlab.training.tracking import configure

_HOME = {
    "TrainConfig": "config",
    "build_config": "config",
    "load_config": "config",
    "evaluate": "evaluate",
    "Trainer": "loop",
    "KINDS": "problem",
    "Problem": "problem",
    "TrainResult": "run",
    "train": "run",
    "latest_run": "runs",
    "load_forecaster_from_run": "runs",
    "configure": "tracking",
    "default_tracking_uri": "store",
}


def __getattr__(name: str) -> Any:
    """Import on first use: torch, DGL and MLflow load only when training is asked for."""
    if name in _HOME:
        return getattr(import_module(f"fieldlab.training.{_HOME[name]}"), name)
    raise AttributeError(f"module 'fieldlab.training' has no attribute {name!r}")


class _LoggedBefore(MetaPathFinder, Loader):
    """Models logged by fieldlab 0.1 carry a copy of its serving code, which imports
    ``fieldlab.training.pyfunc`` and ``fieldlab.training.grid_pyfunc``; those names now resolve
    to :mod:`fieldlab.training.serving`, so such models still load and predict."""

    NAMES = ("fieldlab.training.pyfunc", "fieldlab.training.grid_pyfunc")

    def find_spec(self, name: str, path: Any, target: Any = None) -> ModuleSpec | None:
        return spec_from_loader(name, self) if name in self.NAMES else None

    def create_module(self, spec: ModuleSpec) -> ModuleType:
        return import_module("fieldlab.training.serving")

    def exec_module(self, module: ModuleType) -> None:
        """Nothing to run: the module is :mod:`fieldlab.training.serving` itself."""


sys.meta_path.append(_LoggedBefore())

__all__ = [
    "KINDS",
    "Problem",
    "TrainConfig",
    "TrainResult",
    "Trainer",
    "build_config",
    "configure",
    "default_tracking_uri",
    "evaluate",
    "latest_run",
    "load_config",
    "load_forecaster_from_run",
    "train",
]
