"""Settings of grid (PDE) problems: the ``grid`` section of a training config.

``grid.mesh`` configures the mesh networks (``mesh-gnn``); ``grid.enf`` the equivariant neural
field forecaster (``enf``, :mod:`fieldlab.training.grid.enf`).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from fieldlab.models import GRID_MODELS
from fieldlab.models.enf import ENFOptions
from fieldlab.models.mesh_graph import MeshSpec
from fieldlab.training.kind import Kind


class ENFSettings(BaseModel):
    r"""How an ENF forecaster is built and trained on grid fields.

    The first :math:`\lceil f E \rceil` of the :math:`E` epochs (``stage1_fraction`` :math:`f`)
    train the decoder and the latent initialisation on single frames (stage 1); the rest train the
    latent ODE alone on the trajectories of the training horizon (stage 2). The common settings
    ``hidden`` and ``layers``, when given, set ``options.hidden`` and ``options.ode_layers``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    options: ENFOptions = Field(default_factory=ENFOptions, description="the model's sizes")
    stage1_fraction: float = Field(
        0.5, gt=0.0, lt=1.0, description="share of the epochs spent on stage 1 (reconstruction)"
    )
    points: int = Field(
        1024, ge=1, description="grid points per field a training loss is measured on"
    )
    observed_fractions: tuple[float, ...] = Field(
        (0.5, 0.1, 0.05),
        description="shares of the initial grid points observed by the sparse test scores",
    )


class GridSettings(BaseModel):
    """How grid fields become a graph (mesh networks) or a neural field (ENF)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mesh: MeshSpec = Field(default_factory=MeshSpec, description="the stencil and node features")
    enf: ENFSettings = Field(default_factory=ENFSettings, description="the ENF forecaster")


GRID = Kind("grid", "grid fields", GridSettings, GRID_MODELS, "fieldlab.training.grid.problem")
