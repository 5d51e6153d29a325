"""DGL forecasters. Particle models take a batched graph
(:func:`fieldlab.models.graphs.build_graph`) and return a :class:`Prediction` of the position and
velocity at the target frame; grid models take a mesh graph
(:func:`fieldlab.models.mesh_graph.build_mesh_graph`) and return the fields' increment over one
step.

DGL is imported only inside this package, so the rest of fieldlab runs without it, and only
when a model that needs it is built (EMPCN's cell complexes, ENF's graphs): importing this
package does not load DGL.
"""

from __future__ import annotations

from torch import nn

from fieldlab.errors import FieldlabError
from fieldlab.models.egnn import EGNN
from fieldlab.models.field_forecaster import FieldForecaster, FieldOptions
from fieldlab.models.frame_averaging import DegenerateFrameWarning, FrameAveraging
from fieldlab.models.gnn import GNN
from fieldlab.models.graphs import GraphSpec, build_graph
from fieldlab.models.linear import Linear
from fieldlab.models.mesh_gnn import MeshGNN
from fieldlab.models.mesh_graph import Mesh, MeshSpec, build_mesh_graph
from fieldlab.models.ponita import Ponita
from fieldlab.models.prediction import Prediction

PARTICLE_MODELS: tuple[str, ...] = ("egnn", "gnn", "linear", "field", "ponita", "empcn", "fa-gnn")
"""Forecasters of particle trajectories (:func:`build_model`)."""
GRID_MODELS: tuple[str, ...] = ("mesh-gnn", "enf")
"""Forecasters of grid (PDE) fields: mesh networks (:func:`build_grid_model`) and the equivariant
neural field (:class:`fieldlab.models.enf.ENFForecaster`, built by the grid training problem)."""
MODEL_NAMES: tuple[str, ...] = PARTICLE_MODELS + GRID_MODELS
PUBLISHED_SIZES: dict[str, tuple[int, int]] = {"ponita": (128, 5)}
"""``(hidden, layers)`` of a model's published n-body setting where it differs from (64, 4)."""


def __getattr__(name: str) -> object:
    """``EMPCN`` on first use: its cell complexes load DGL, which other models do not need."""
    if name == "EMPCN":
        from fieldlab.models.empcn import EMPCN

        return EMPCN
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class UnknownModelError(FieldlabError, KeyError):
    def __str__(self) -> str:
        return str(self.args[0])


def published_size(name: str) -> tuple[int, int]:
    """``(hidden, layers)`` of model ``name``'s published n-body setting (64 and 4 by default)."""
    return PUBLISHED_SIZES.get(name, (64, 4))


def build_model(
    name: str,
    *,
    dim: int,
    node_features: int,
    edge_features: int = 1,
    hidden: int | None = None,
    layers: int | None = None,
    field: FieldOptions | None = None,
) -> nn.Module:
    """A forecaster by name; ``node_features`` must match the graph's ``ndata["attr"]`` width.

    ``hidden`` and ``layers`` default to the model's published n-body setting: 64 and 4 (EGNN's,
    also used for the GNN, EMPCN and FA-GNN), 128 and 5 for PONITA (with 16 orientations).
    ``field`` configures the neural field of the ``"field"`` model (defaults if omitted).
    """
    default_hidden, default_layers = PUBLISHED_SIZES.get(name, (64, 4))
    hidden = default_hidden if hidden is None else hidden
    layers = default_layers if layers is None else layers
    if name == "egnn":
        return EGNN(node_features, edge_features, hidden, layers)
    if name == "gnn":
        return GNN(dim, node_features, edge_features, hidden, layers)
    if name == "linear":
        return Linear()
    if name == "field":
        return FieldForecaster(dim, node_features, edge_features, hidden, layers, field)
    if name == "ponita":
        return Ponita(dim, node_features, edge_features, hidden, layers)
    if name == "empcn":
        from fieldlab.models.empcn import EMPCN

        return EMPCN(node_features, edge_features, hidden, layers)
    if name == "fa-gnn":
        return FrameAveraging(GNN(dim, node_features, edge_features, hidden, layers))
    if name in GRID_MODELS:
        raise UnknownModelError(
            f"model {name!r} forecasts grid fields: build it with build_grid_model"
        )
    raise UnknownModelError(f"unknown model {name!r}; choose one of: {', '.join(MODEL_NAMES)}")


def build_grid_model(
    name: str,
    *,
    node_features: int,
    edge_features: int,
    out_features: int,
    hidden: int | None = None,
    layers: int | None = None,
) -> nn.Module:
    """A grid forecaster by name: ``node_features`` and ``edge_features`` are the widths of the
    mesh graph's ``ndata["attr"]`` and ``edata["attr"]``, ``out_features`` the predicted fields;
    ``hidden`` and ``layers`` default to :func:`published_size`."""
    default_hidden, default_layers = published_size(name)
    hidden = default_hidden if hidden is None else hidden
    layers = default_layers if layers is None else layers
    if name == "mesh-gnn":
        return MeshGNN(node_features, edge_features, out_features, hidden, layers)
    if name == "enf":
        raise UnknownModelError(
            "model 'enf' is a neural field, not a mesh network: build it with "
            "fieldlab.models.enf.ENFForecaster"
        )
    raise UnknownModelError(f"unknown grid model {name!r}; choose one of: {', '.join(GRID_MODELS)}")


__all__ = [
    "EGNN",
    "EMPCN",
    "GNN",
    "GRID_MODELS",
    "MODEL_NAMES",
    "PARTICLE_MODELS",
    "PUBLISHED_SIZES",
    "DegenerateFrameWarning",
    "FieldForecaster",
    "FieldOptions",
    "FrameAveraging",
    "GraphSpec",
    "Linear",
    "Mesh",
    "MeshGNN",
    "MeshSpec",
    "Ponita",
    "Prediction",
    "UnknownModelError",
    "build_graph",
    "build_grid_model",
    "build_mesh_graph",
    "build_model",
    "published_size",
]
