"""The dataset card: a declarative, hashable description of one named dataset.

A card (``catalog/<name>.yaml``) says which simulator to run with which parameters, how many
simulations each split holds, the seed everything derives from, how many simulations one
generation task writes (``chunk_size``), the forecasting task and the paper it reproduces::

    name: egnn-charged-3d
    description: EGNN's 3-D charged n-body
    simulator: charged-egnn
    params: {}                       # overrides of the simulator's (published) defaults
    splits: {train: 10000, val: 2000, test: 2000}
    seed: 42
    chunk_size: 1000
    task: {context: {start: 30, stop: 31}, target: {start: 40, stop: 41}}
    reference: Satorras et al. 2021, E(n) Equivariant Graph Neural Networks
    validation: {on_invalid: fail}

A split may override parameters (NRI's test split runs twice as long)::

    splits: {train: 50000, val: 10000, test: {n_sims: 10000, params: {n_steps: 10000}}}

Cards are pydantic models that forbid unknown fields; the simulator and each split's parameters are
validated against the simulator registry when the card is built.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from fieldlab.errors import ParameterError
from fieldlab.simulators import SYSTEMS, resolve_params

SPLITS: tuple[str, ...] = ("train", "val", "test")
"""Split names, in the order that numbers them (a split's seed derives from its index here)."""

SplitName = Literal["train", "val", "test"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SplitSpec(_Strict):
    """One split: ``n_sims`` simulations, with optional overrides of the card's parameters."""

    n_sims: int = Field(gt=0, strict=True, description="number of simulations in the split")
    params: dict[str, Any] = Field(default_factory=dict, description="overrides for this split")


class FrameWindow(_Strict):
    """Saved frames ``start .. stop - 1`` (Python slice semantics)."""

    start: int = Field(ge=0)
    stop: int = Field(gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> FrameWindow:
        if self.stop <= self.start:
            raise ValueError(f"stop ({self.stop}) must exceed start ({self.start})")
        return self


class TaskSpec(_Strict):
    """A forecasting task: the frames a model sees and the frames it must predict."""

    context: FrameWindow
    target: FrameWindow
    note: str = ""


class ValidationSpec(_Strict):
    """What to do with a simulation that is not finite or diverged.

    Attributes:
        on_invalid: ``fail`` stops generation with a message naming the split and simulations;
            ``resample`` replaces each invalid simulation with a fresh draw from a separate,
            deterministic stream and records how many were replaced.
        max_abs: a simulation whose position or velocity exceeds this in absolute value has
            diverged (``null`` checks finiteness only).
        max_attempts: redraws per invalid simulation before ``resample`` gives up.
    """

    on_invalid: Literal["fail", "resample"] = "fail"
    max_abs: float | None = Field(1.0e4, gt=0.0)
    max_attempts: int = Field(10, ge=1)


class Card(_Strict):
    """A named dataset. See the module docstring for the YAML form."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    description: str
    simulator: str
    params: dict[str, Any] = Field(default_factory=dict)
    splits: dict[SplitName, SplitSpec]
    seed: int = Field(ge=0, strict=True)
    chunk_size: int = Field(
        gt=0, strict=True, description="simulations per generation task and zarr chunk"
    )
    task: TaskSpec | None = None
    reference: str
    validation: ValidationSpec = Field(default_factory=ValidationSpec)

    @field_validator("simulator")
    @classmethod
    def _known_simulator(cls, value: str) -> str:
        if value not in SYSTEMS:
            raise ValueError(f"unknown simulator {value!r}; choose one of: {', '.join(SYSTEMS)}")
        return value

    @field_validator("splits", mode="before")
    @classmethod
    def _split_shorthand(cls, value: Any) -> Any:
        """``train: 5000`` is short for ``train: {n_sims: 5000}``; ``train: true`` is refused
        (YAML reads ``yes``/``true`` as a boolean, which Python would count as 1 simulation)."""
        if not isinstance(value, dict):
            return value
        for k, v in value.items():
            n = v.get("n_sims") if isinstance(v, dict) else v
            if isinstance(n, bool):
                raise ValueError(
                    f"splits.{k}: {str(n).lower()} is a boolean, not a number of simulations; "
                    f"write a positive integer, e.g. `{k}: 1000`, or remove the split"
                )
        return {k: {"n_sims": v} if isinstance(v, int) else v for k, v in value.items()}

    @model_validator(mode="after")
    def _consistent(self) -> Card:
        if "train" not in self.splits:
            raise ValueError("splits: a train split is required (normalisation statistics)")
        for split in self.splits:
            try:
                self.resolved_params(split)
            except ParameterError as err:
                where = "params" if not self.splits[split].params else f"splits.{split}.params"
                raise ValueError(f"{where}: {err}") from None
        if self.task is not None:
            for split in self.splits:
                n = self.n_frames(split)
                for which in ("context", "target"):
                    if getattr(self.task, which).stop > n:
                        raise ValueError(
                            f"task.{which}: stop {getattr(self.task, which).stop} is past the "
                            f"{n} frames of split {split!r}"
                        )
        return self

    def split_names(self) -> list[str]:
        """The card's splits in canonical order (train, val, test)."""
        return [s for s in SPLITS if s in self.splits]

    def resolved_params(self, split: str) -> dict[str, Any]:
        """Every simulator parameter of ``split`` (card params, split overrides, defaults)."""
        merged = {**self.params, **self.splits[split].params}
        return resolve_params(self.simulator, merged).model_dump(mode="json")

    def n_frames(self, split: str) -> int:
        """Saved frames per simulation of ``split``, from its resolved parameters."""
        p = self.resolved_params(split)
        return (p["n_steps"] - 1) // p["sample_every"] + int(bool(p.get("save_initial", False)))

    def n_chunks(self, split: str) -> int:
        """Generation tasks (and zarr chunks along ``sim``) of ``split``."""
        return -(-self.splits[split].n_sims // self.chunk_size)

    @property
    def simulator_version(self) -> str:
        return SYSTEMS[self.simulator].version
