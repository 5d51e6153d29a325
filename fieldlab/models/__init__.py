"""DGL forecasters. Each takes a batched graph (:func:`fieldlab.models.graphs.build_graph`) and
returns a :class:`Prediction` of the position and velocity at the target frame.

DGL is imported only inside this package, so the rest of fieldlab runs without it.
"""

from __future__ import annotations

from torch import nn

from fieldlab.errors import FieldlabError
from fieldlab.models.egnn import EGNN
from fieldlab.models.field_forecaster import FieldForecaster, FieldOptions
from fieldlab.models.gnn import GNN
from fieldlab.models.graphs import GraphSpec, build_graph
from fieldlab.models.linear import Linear
from fieldlab.models.prediction import Prediction

MODEL_NAMES: tuple[str, ...] = ("egnn", "gnn", "linear", "field")


class UnknownModelError(FieldlabError, KeyError):
    def __str__(self) -> str:
        return str(self.args[0])


def build_model(
    name: str,
    *,
    dim: int,
    node_features: int,
    edge_features: int = 1,
    hidden: int = 64,
    layers: int = 4,
    field: FieldOptions | None = None,
) -> nn.Module:
    """A forecaster by name; ``node_features`` must match the graph's ``ndata["attr"]`` width.

    ``field`` configures the neural field of the ``"field"`` model (defaults if omitted).
    """
    if name == "egnn":
        return EGNN(node_features, edge_features, hidden, layers)
    if name == "gnn":
        return GNN(dim, node_features, edge_features, hidden, layers)
    if name == "linear":
        return Linear()
    if name == "field":
        return FieldForecaster(dim, node_features, edge_features, hidden, layers, field)
    raise UnknownModelError(f"unknown model {name!r}; choose one of: {', '.join(MODEL_NAMES)}")


__all__ = [
    "EGNN",
    "GNN",
    "MODEL_NAMES",
    "FieldForecaster",
    "FieldOptions",
    "GraphSpec",
    "Linear",
    "Prediction",
    "UnknownModelError",
    "build_graph",
    "build_model",
]
