"""A kind of data that fieldlab trains on: its config section, models and problem class.

See :mod:`fieldlab.training.problem` for the registry and the protocol a kind implements.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from typing import TYPE_CHECKING

from pydantic import BaseModel

if TYPE_CHECKING:
    from fieldlab.training.problem import ProblemClass


@dataclass(frozen=True)
class Kind:
    """A kind of data: its config section, its models and where its problem lives.

    Attributes:
        name: the ``System.kind`` it serves and the name of its config section.
        holds: what its datasets hold, for messages ("particle trajectories").
        settings: the pydantic model of that section.
        models: the model names that forecast it.
        module: the module that defines ``Problem`` (a :class:`~fieldlab.training.problem.ProblemClass`).
    """

    name: str
    holds: str
    settings: type[BaseModel]
    models: tuple[str, ...]
    module: str

    def problem(self) -> ProblemClass:
        """The kind's problem class (imports torch, DGL and MLflow on first use)."""
        return import_module(self.module).Problem
