"""Settings of grid (PDE) problems: the ``grid`` section of a training config."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from fieldlab.models import GRID_MODELS
from fieldlab.models.mesh_graph import MeshSpec
from fieldlab.training.kind import Kind


class GridSettings(BaseModel):
    """How grid fields become a graph."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mesh: MeshSpec = Field(default_factory=MeshSpec, description="the stencil and node features")


GRID = Kind("grid", "grid fields", GridSettings, GRID_MODELS, "fieldlab.training.grid.problem")
