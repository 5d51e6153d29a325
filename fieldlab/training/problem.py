"""A kind of forecasting problem: what differs between particle trajectories, grid fields, ...

The trainer (:mod:`.loop`), the tracked run (:mod:`.run`), evaluation (:mod:`.evaluate`) and
serving (:mod:`.served_model`) are generic; everything that depends on the kind of data sits
behind :class:`Problem`, one implementation per kind, chosen by the dataset's system
(``System.kind`` in :mod:`fieldlab.simulators`):

============  =====================================  ==========================================
kind          sub-package                            models
============  =====================================  ==========================================
particles     :mod:`fieldlab.training.particles`     egnn, gnn, linear, field, ...
grid          :mod:`fieldlab.training.grid`          mesh-gnn, ...
============  =====================================  ==========================================

A :class:`~fieldlab.training.kind.Kind` names its settings (a section of :class:`~fieldlab.training.config.TrainConfig`
under the kind's name), its models and the module of its :class:`Problem`; :data:`KINDS` is the
registry. Adding a kind of data is one sub-package (settings, data, forecaster, objective,
scoring, serving, problem) and one entry in :data:`KINDS` (docs/training.md has the checklist).

A problem, built for one run, owns: the samples (``train_data``, ``val_data``: objects with
``len()`` and ``subset(index)``), the model, the objective (:meth:`Problem.batch_loss`,
:meth:`Problem.val_metrics`), the figures drawn during training, the logged MLflow model, and what
a finished run adds. Its class also restores and serves a logged model and scores one on a split.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import import_module
from types import ModuleType
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from fieldlab.errors import TrainingError
from fieldlab.models import UnknownModelError
from fieldlab.simulators import get_system
from fieldlab.training.grid.settings import GRID
from fieldlab.training.kind import Kind
from fieldlab.training.particles.settings import PARTICLES

if TYPE_CHECKING:
    import torch
    from matplotlib.figure import Figure
    from torch import nn

    from fieldlab.catalog.card import Card
    from fieldlab.training.config import TrainConfig

PathLike = str | os.PathLike[str]


KINDS: dict[str, Kind] = {k.name: k for k in (PARTICLES, GRID)}
"""The registry of kinds of data, keyed by ``System.kind``."""


@dataclass(frozen=True)
class Scores:
    """A model scored on one split of one dataset.

    Attributes:
        metrics: scalars by name (``mse``, ``rollout_mse``, ``mse_inside``, ...), logged as
            ``test/<name>``.
        curves: per-step values by name, ``(K + 1,)`` each, logged with the step = the frame.
        frames: the saved frames the curves are on, ``(K + 1,)``.
        figures: figures by file name (``rollout_mse.png``), logged under ``figures/``.
    """

    metrics: dict[str, float]
    curves: dict[str, np.ndarray]
    frames: np.ndarray
    figures: dict[str, Figure] = field(default_factory=dict)


class Problem(Protocol):
    """One run's kind-specific parts (see the module docstring).

    ``config`` is the run's config as the problem trains it (it may adapt it, e.g. cap the batch
    size; the adapted config is logged and checkpointed); ``tags`` and ``params`` are logged when
    the run starts.
    """

    config: TrainConfig
    model: nn.Module
    train_data: Any
    val_data: Any
    tags: dict[str, str]
    params: dict[str, Any]

    def batch_loss(self, model: nn.Module, batch: Any, epoch: int) -> tuple[torch.Tensor, Any]:
        """The loss to minimise on one batch, and the MSE reported as ``train_mse``."""
        ...

    def val_metrics(self, model: nn.Module) -> dict[str, float]:
        """Validation metrics; ``val_mse`` decides the best epoch."""
        ...

    def epoch_metrics(self, epoch: int) -> dict[str, float]:
        """Extra metrics of an epoch's schedule (e.g. the fed-back steps of the loss)."""
        ...

    def plan_epoch(
        self, epoch: int, planned_epochs: int, history: Sequence[Mapping[str, float]]
    ) -> None:
        """Called before each epoch with the schedule's length as it stands (a wall-time budget
        re-fits it) and the epochs' history, both checkpointed: for an objective whose schedule
        follows the run's length (ENF's two stages); the others do nothing."""
        ...

    def advice(self, before_first_update: bool, lower_lr: str) -> list[str]:
        """What to try when the training loss is not finite, in order; ``lower_lr`` is the
        generic advice to lower the learning rate, for the problem to place."""
        ...

    def figures(self, model: nn.Module, title: str) -> dict[str, Figure]:
        """Figures of the current model by image key, logged every ``figure_every`` epochs."""
        ...

    def monitor(self, model: nn.Module) -> dict[str, float]:
        """Extra metrics of each epoch (e.g. the discovered field's scores), maybe empty."""
        ...

    def log_model(self, model: nn.Module) -> str:
        """Log ``model`` (the best weights) as the run's MLflow model; its URI."""
        ...

    def finish(self, model: nn.Module, title: str) -> None:
        """What a completed run adds after its model is logged (figures titled ``title``, test
        scores)."""
        ...


class ProblemClass(Protocol):
    """What a kind's ``Problem`` class offers before any run: build, restore, serve, score."""

    def __call__(self, config: TrainConfig, data_root: PathLike | None) -> Problem: ...

    def restore(self, payload: Mapping[str, Any]) -> nn.Module:
        """Rebuild a logged model from its payload (``forecaster.pt``)."""
        ...

    def serve(self, model: nn.Module, inputs: Mapping[str, Any]) -> dict[str, np.ndarray]:
        """The served model's prediction on ``inputs`` (see the kind's serving module)."""
        ...

    def score(
        self,
        model: nn.Module,
        dataset: str,
        *,
        data_root: PathLike | None,
        limit: int,
        seed: int,
        label: str,
    ) -> Scores:
        """Score ``model`` on ``dataset``'s test split (``label`` titles the figures)."""
        ...

    def check_compatible(self, model: nn.Module, dataset: str, data_root: PathLike | None) -> None:
        """Refuse, naming both, a dataset whose shape the model cannot read."""
        ...


class KindProblem:
    """What a kind's problem class offers before any run, delegated to the modules beside it in
    its sub-package: ``serving`` (``restore(payload)``, ``predict(model, inputs)``) and
    ``scoring`` (``check_compatible(model, dataset, data_root)``, ``score(model, dataset, ...)``).
    """

    @classmethod
    def _module(cls, name: str) -> ModuleType:
        return import_module(f"{cls.__module__.rpartition('.')[0]}.{name}")

    @classmethod
    def restore(cls, payload: Mapping[str, Any]) -> nn.Module:
        return cls._module("serving").restore(payload)

    @classmethod
    def serve(cls, model: nn.Module, inputs: Mapping[str, Any]) -> dict[str, np.ndarray]:
        return cls._module("serving").predict(model, inputs)

    @classmethod
    def check_compatible(cls, model: nn.Module, dataset: str, data_root: PathLike | None) -> None:
        cls._module("scoring").check_compatible(model, dataset, data_root)

    @classmethod
    def score(cls, model: nn.Module, dataset: str, **options: Any) -> Scores:
        """``options``: ``data_root``, ``limit``, ``seed``, ``label`` (see :class:`ProblemClass`)."""
        return cls._module("scoring").score(model, dataset, **options)


def kind_of(card: Card) -> Kind:
    """The kind of data ``card``'s system writes."""
    name = get_system(card.simulator).kind
    if name not in KINDS:  # a system whose kind has no problem yet
        raise TrainingError(
            f"dataset {card.name!r} holds {name} data, which fieldlab cannot train on yet; "
            f"trainable kinds: {', '.join(KINDS)}"
        )
    return KINDS[name]


def kind_of_model(model: str) -> Kind:
    """The kind of data that model ``model`` forecasts."""
    for kind in KINDS.values():
        if model in kind.models:
            return kind
    names = [m for k in KINDS.values() for m in k.models]
    raise UnknownModelError(f"unknown model {model!r}; choose one of: {', '.join(names)}")


def check_model(model: str, card: Card) -> Kind:
    """The card's kind, after checking that ``model`` forecasts it (else an error naming both)."""
    kind, wanted = kind_of(card), kind_of_model(model)
    if kind is not wanted:
        raise TrainingError(
            f"dataset {card.name!r} holds {kind.holds} (simulator {card.simulator}) but model "
            f"{model!r} forecasts {wanted.holds}; for this dataset choose one of: "
            f"{', '.join(kind.models)}"
        )
    return kind
