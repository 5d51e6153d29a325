"""The logged MLflow model of a grid forecaster, served through ``mlflow.pyfunc``.

The model directory holds ``forecaster.pt`` (model name, sizes, mesh, stencil, field names and
the state dict, whose buffers carry the normalisation and static inputs) and a
:class:`GridForecasterModel` that rebuilds the :class:`GridForecaster` on load. ``predict`` takes
a dict of arrays, one per state field, ``(B, ny, nx)`` each, in physical units, and returns the
same fields one saved frame later.

>>> model = mlflow.pyfunc.load_model(f"runs:/{run_id}/model")
>>> model.predict({"concentration": u})["concentration"].shape
(B, ny, nx)
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import mlflow.pyfunc
import numpy as np
import torch

from fieldlab.models import Mesh, MeshSpec
from fieldlab.training.grid_forecaster import GridForecaster, build_grid_forecaster


def grid_payload(model: GridForecaster, *, name: str, hidden: int, layers: int) -> dict[str, Any]:
    """What ``forecaster.pt`` holds for a grid forecaster."""
    return {
        "kind": "grid",
        "model": name,
        "hidden": hidden,
        "layers": layers,
        "mesh": dataclasses.asdict(model.mesh),
        "spec": model.spec.model_dump(mode="json"),
        "fields": list(model.fields),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
    }


def load_grid_forecaster(path: str | os.PathLike[str]) -> GridForecaster:
    """Rebuild the grid forecaster saved at ``path`` (a ``forecaster.pt``)."""
    payload = torch.load(path, map_location="cpu", weights_only=False)
    state = payload["state_dict"]
    model = build_grid_forecaster(
        payload["model"],
        mesh=Mesh(**payload["mesh"]),
        spec=MeshSpec(**payload["spec"]),
        fields=payload["fields"],
        mean=state["mean"].tolist(),
        std=state["std"].tolist(),
        delta_std=state["delta_std"].tolist(),
        static=state["static"],
        hidden=payload["hidden"],
        layers=payload["layers"],
    )
    model.to(state["mean"].dtype).load_state_dict(state)
    return model.eval()


def state_of(model: GridForecaster, arrays: dict[str, Any]) -> torch.Tensor:
    """Stack ``{field: (B, ny, nx)}`` into a state ``(B, ny, nx, C)`` in the model's order."""
    return torch.stack(
        [torch.as_tensor(np.asarray(arrays[f]), dtype=model.mean.dtype) for f in model.fields], -1
    )


class GridForecasterModel(mlflow.pyfunc.PythonModel):
    """``mlflow.pyfunc`` wrapper of a :class:`GridForecaster` (see the module docstring)."""

    forecaster: GridForecaster
    _skip_type_hint_validation = True  # inputs are checked against the logged signature

    def load_context(self, context: Any) -> None:
        self.forecaster = load_grid_forecaster(context.artifacts["forecaster"])

    def predict(self, context, model_input, params=None):
        """``{field: (B, ny, nx)}`` -> the same fields one saved frame later.

        (Untyped: MLflow validates the input against the logged signature instead.)
        """
        with torch.no_grad():
            nxt = self.forecaster(state_of(self.forecaster, model_input)).numpy()
        return {f: nxt[..., c] for c, f in enumerate(self.forecaster.fields)}
