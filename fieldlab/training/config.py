"""The resolved configuration of one training run.

A :class:`TrainConfig` is plain, validated data: defaults, then a YAML file (``--config FILE``),
then the command-line options, each overriding the one before. It is logged whole to MLflow
(``config.json``) and stored in every checkpoint, so a run can be resumed and reproduced from it.
Unknown keys are errors that name the key and list the valid ones.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from fieldlab.errors import TrainingError
from fieldlab.models.field_forecaster import FieldOptions
from fieldlab.models.graphs import GraphSpec
from fieldlab.models.mesh_graph import MeshSpec


class TrainConfig(BaseModel):
    """Everything that determines a training run (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    dataset: str = Field(description="catalogued dataset name, e.g. egnn-charged-3d-mini")
    model: str = Field("egnn", description="forecaster: egnn, gnn, linear, field or mesh-gnn")
    hidden: int = Field(64, ge=1, description="hidden units per layer")
    layers: int = Field(4, ge=1, description="message-passing layers")
    graph: GraphSpec = Field(default_factory=GraphSpec, description="topology and node features")
    mesh: MeshSpec = Field(
        default_factory=MeshSpec, description="grid datasets: the stencil and node features"
    )
    field: FieldOptions = Field(
        default_factory=FieldOptions,
        description="the neural field of --model field (horizon and scales come from the data)",
    )
    scalar: Literal["auto", "charge", "mass", "none"] = Field(
        "auto",
        description="per-particle scalar for the edge attribute s_i s_j (auto: charge, mass)",
    )
    epochs: int = Field(100, ge=1, description="epochs (the length of the cosine schedule)")
    lr: float = Field(5e-4, gt=0.0)
    weight_decay: float = Field(1e-12, ge=0.0)
    schedule: Literal["constant", "cosine"] = "cosine"
    batch_size: int = Field(100, ge=1)
    seed: int = Field(0, ge=0, description="initialisation and shuffling")
    max_train: int | None = Field(None, ge=1, description="use the first N training simulations")
    all_frames: bool = Field(
        False, description="train on every (t, t + horizon) frame pair, not only the task's frame"
    )
    normalise: bool = Field(True, description="divide positions and velocities by a global scale")
    velocity_weight: float = Field(
        1.0, ge=0.0, description="weight of the target-velocity MSE in the loss (rollouts need it)"
    )
    rollout_steps: int = Field(
        1, ge=1, description="train on K-step rollouts: the loss averaged over K fed-back steps"
    )
    rollout_warmup: int = Field(
        0,
        ge=0,
        description="grow the fed-back steps from 1 to rollout_steps over the first N epochs",
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
    figure_every: int = Field(10, ge=1, description="log the trajectory figure every N epochs")
    dtype: Literal["float32", "float64"] = "float32"
    threads: int | None = Field(
        1, ge=1, description="torch CPU threads; small graphs train fastest on one (null: torch's)"
    )
    experiment: str = Field("fieldlab", description="MLflow experiment name")
    run_name: str | None = None

    def with_updates(self, **updates: Any) -> TrainConfig:
        """A copy with ``updates`` applied and validated (``None`` values are ignored)."""
        data = self.model_dump()
        data.update({k: v for k, v in updates.items() if v is not None})
        return build_config(data)


def _describe(err: ValidationError) -> str:
    parts = []
    for e in err.errors():
        where = ".".join(str(x) for x in e["loc"]) or "config"
        if e["type"] == "extra_forbidden":
            parts.append(
                f"{where!r} is not a training setting; valid: {', '.join(TrainConfig.model_fields)}"
            )
        else:
            parts.append(f"{where!r}: {e['msg']}")
    return "; ".join(parts)


def build_config(data: dict[str, Any], source: str = "training config") -> TrainConfig:
    """Validate a mapping into a :class:`TrainConfig`; errors name ``source`` and the key."""
    try:
        return TrainConfig(**data)
    except ValidationError as err:
        raise TrainingError(f"{source}: {_describe(err)}") from None


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
