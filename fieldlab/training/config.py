"""The resolved configuration of one training run.

A :class:`TrainConfig` is plain, validated data: the settings every kind of data shares, and one
section per kind (``particles``, ``grid``: :data:`fieldlab.training.problem.KINDS`) whose settings
apply to that kind alone; a setting of another kind than the dataset's is an error
(:func:`check_sections`). It is built from defaults, then a YAML file (``--config FILE``),
then the command-line options, each overriding the one before. It is logged whole to MLflow
(``config.json``) and stored in every checkpoint, so a run can be resumed and reproduced from it.
Unknown keys are errors that name the key and list the valid ones.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    create_model,
    model_validator,
)

from fieldlab.errors import TrainingError
from fieldlab.training.problem import KINDS, Kind


class CommonConfig(BaseModel):
    """The settings every kind of data shares (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    dataset: str = Field(description="catalogued dataset name, e.g. egnn-charged-3d-mini")
    model: str = Field("egnn", description="forecaster, e.g. egnn or mesh-gnn (by kind of data)")
    hidden: int | None = Field(
        None, ge=1, description="hidden units per layer (null: the model's published size)"
    )
    layers: int | None = Field(
        None, ge=1, description="message-passing layers (null: the model's published size)"
    )
    epochs: int = Field(100, ge=1, description="epochs (the length of the cosine schedule)")
    lr: float = Field(5e-4, gt=0.0)
    weight_decay: float = Field(1e-12, ge=0.0)
    schedule: Literal["constant", "cosine"] = "cosine"
    batch_size: int = Field(100, ge=1)
    seed: int = Field(0, ge=0, description="initialisation and shuffling")
    max_train: int | None = Field(None, ge=1, description="use the first N training simulations")
    max_val: int | None = Field(
        None, ge=1, description="validate on the first N validation simulations (null: all)"
    )
    grad_clip: float | None = Field(
        None, gt=0.0, description="clip the gradient's norm to this (null: never)"
    )
    val_every: int = Field(1, ge=1, description="validate every N epochs")
    patience: int | None = Field(
        20, ge=1, description="stop after N validations without improvement (null: never)"
    )
    max_epochs_per_session: int | None = Field(
        None, ge=1, description="stop this invocation after N epochs, resumable (a budget)"
    )
    time_budget_s: float | None = Field(
        None, gt=0.0, description="wall-time budget; with the cosine schedule it sets its length"
    )
    figure_every: int = Field(10, ge=1, description="log the training figures every N epochs")
    dtype: Literal["float32", "float64"] = "float32"
    device: str = Field("auto", description="auto (a GPU when there is one), cpu, cuda or cuda:N")
    precision: Literal["fp32", "tf32", "bf16"] = Field(
        "fp32", description="a training step's forward pass: fp32, tf32 (CUDA) or bf16 autocast"
    )
    threads: int | None = Field(
        1, ge=1, description="torch CPU threads; small graphs train fastest on one (null: torch's)"
    )
    experiment: str = Field("fieldlab", description="MLflow experiment name")
    run_name: str | None = None
    study: str | None = Field(
        None, description="a name grouping runs in the MLflow runs table (tag fieldlab.study)"
    )

    @model_validator(mode="before")
    @classmethod
    def _sections(cls, data: Any) -> Any:
        """Settings of one kind of data may be given at the top level (see :func:`build_config`)."""
        return _nest(data) if isinstance(data, dict) else data

    def with_updates(self, **updates: Any) -> TrainConfig:
        """A copy with ``updates`` applied and validated (``None`` values are ignored)."""
        data = self.model_dump()
        data.update({k: v for k, v in updates.items() if v is not None})
        return build_config(data)

    def settings(self, kind: Kind) -> Any:
        """The section of ``kind`` (e.g. ``config.settings(PARTICLES).rollout_steps``)."""
        return getattr(self, kind.name)


TrainConfig = create_model(  # one section per registered kind of data
    "TrainConfig",
    __base__=CommonConfig,
    __doc__="Everything that determines a training run (see the module docstring).",
    **{
        name: (kind.settings, Field(default_factory=kind.settings, description=f"{name} data"))
        for name, kind in KINDS.items()
    },
)


def _section_of(key: str) -> str | None:
    """The kind whose section defines ``key``, if exactly one does."""
    owners = [n for n, k in KINDS.items() if key in k.settings.model_fields]
    return owners[0] if len(owners) == 1 else None


def _nest(data: dict[str, Any]) -> dict[str, Any]:
    """Move settings of one kind's section given at the top level (``all_frames``) or dotted
    (``particles.all_frames``, ``grid.mesh.neighbours``, ``graph.k``) into that section, so
    every spelling works in files and on the command line."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        path = key.split(".")
        if path[0] not in KINDS and path[0] not in CommonConfig.model_fields:
            section = _section_of(path[0])
            path = [section, *path] if section else path
        node = out
        for part in path[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise TrainingError(f"setting {key!r} sets a part of a value that is not a mapping")
        last = path[-1]
        if isinstance(value, dict) and isinstance(node.get(last), dict):
            node[last] = {**node[last], **value}
        else:
            node[last] = value
    return out


def _describe(err: ValidationError) -> str:
    parts = []
    valid = [*CommonConfig.model_fields, *(f"{k}.<setting>" for k in KINDS)]
    for e in err.errors():
        where = ".".join(str(x) for x in e["loc"]) or "config"
        if e["type"] == "extra_forbidden":
            parts.append(f"{where!r} is not a training setting; valid: {', '.join(valid)}")
        else:
            parts.append(f"{where!r}: {e['msg']}")
    return "; ".join(parts)


def build_config(data: dict[str, Any], source: str = "training config") -> TrainConfig:
    """Validate a mapping into a :class:`TrainConfig`; errors name ``source`` and the key.

    A setting of one kind of data may be given at the top level (``all_frames: true``) or in
    its section (``particles: {all_frames: true}``, ``particles.all_frames``).
    """
    try:
        return TrainConfig(**data)
    except ValidationError as err:
        raise TrainingError(f"{source}: {_describe(err)}") from None


def check_sections(config: TrainConfig, kind: Kind) -> None:
    """Refuse settings of another kind of data than ``kind`` (the dataset's), naming them."""
    for name, other in KINDS.items():
        if other is kind:
            continue
        given = config.settings(other).model_dump(exclude_defaults=True)
        if given:
            keys = ", ".join(f"{name}.{k}" for k in given)
            raise TrainingError(
                f"setting {keys} applies to {name} datasets, but dataset {config.dataset!r} holds "
                f"{kind.holds}; remove it"
            )


def logged_settings(config: TrainConfig, kind: Kind) -> dict[str, Any]:
    """The settings that apply to a run on ``kind`` data: the common ones and its section."""
    data = config.model_dump(mode="json")
    return {k: v for k, v in data.items() if k not in KINDS or k == kind.name}


def load_config(
    path: str | os.PathLike[str] | None = None,
    *,
    settings: dict[str, Any] | None = None,
    **overrides: Any,
) -> TrainConfig:
    """Defaults, then the YAML file at ``path``, then ``settings`` (``--set KEY=VALUE``, where
    ``null`` means None), then ``overrides`` (command-line flags; ``None`` means not given)."""
    data: dict[str, Any] = {}
    source = "training config"
    if path is not None:
        source = f"config file {os.fspath(path)}"
        try:
            raw = yaml.safe_load(Path(path).read_text())
        except (OSError, yaml.YAMLError) as err:
            raise TrainingError(f"{source}: cannot read it as YAML: {err}") from None
        if raw is not None and not isinstance(raw, dict):
            raise TrainingError(f"{source}: expected a mapping of settings")
        data.update(raw or {})
    data.update(settings or {})
    data.update({k: v for k, v in overrides.items() if v is not None})
    if "dataset" not in data:
        raise TrainingError(f"{source}: no dataset given; pass --dataset NAME")
    return build_config(data, source)
