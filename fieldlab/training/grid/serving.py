"""The logged MLflow model of a grid forecaster: its payload, restore and prediction.

The model directory holds ``forecaster.pt`` (model name, sizes, mesh, stencil, field names and
the state dict, whose buffers carry the normalisation and static inputs), served by
:mod:`fieldlab.training.served_model`. ``predict`` takes a dict of arrays, one per state field,
``(B, ny, nx)`` each, in physical units, and returns the same fields one saved frame later.

>>> model = mlflow.pyfunc.load_model(f"runs:/{run_id}/model")
>>> model.predict({"concentration": u})["concentration"].shape
(B, ny, nx)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from fieldlab.models import Mesh, MeshSpec
from fieldlab.training.grid.forecaster import GridForecaster, build_grid_forecaster


def payload(model: GridForecaster, *, name: str, hidden: int, layers: int) -> dict[str, Any]:
    """What ``forecaster.pt`` holds for a grid forecaster: plain values and CPU tensors only
    (loads with ``torch.load(weights_only=True)``)."""
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


def restore(saved: Mapping[str, Any]) -> GridForecaster:
    """Rebuild the grid forecaster of a ``forecaster.pt`` payload."""
    state = saved["state_dict"]
    model = build_grid_forecaster(
        saved["model"],
        mesh=Mesh(**saved["mesh"]),
        spec=MeshSpec(**saved["spec"]),
        fields=saved["fields"],
        mean=state["mean"].tolist(),
        std=state["std"].tolist(),
        delta_std=state["delta_std"].tolist(),
        static=state["static"],
        hidden=saved["hidden"],
        layers=saved["layers"],
    )
    model.to(state["mean"].dtype).load_state_dict(state)
    return model.eval()


def state_of(model: GridForecaster, arrays: Mapping[str, Any]) -> torch.Tensor:
    """Stack ``{field: (B, ny, nx)}`` into a state ``(B, ny, nx, C)`` in the model's order."""
    return torch.stack(
        [torch.as_tensor(np.asarray(arrays[f]), dtype=model.mean.dtype) for f in model.fields], -1
    )


def predict(model: GridForecaster, inputs: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """``{field: (B, ny, nx)}`` -> the same fields one saved frame later."""
    with torch.no_grad():
        nxt = model(state_of(model, inputs)).cpu().numpy()
    return {f: nxt[..., c] for c, f in enumerate(model.fields)}
