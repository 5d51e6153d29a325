"""The logged MLflow model of a grid forecaster: its payload, restore and prediction.

The model directory holds ``forecaster.pt`` (model name, sizes, mesh, stencil, field names and
the state dict, whose buffers carry the normalisation and static inputs; for ``enf`` the
:class:`~fieldlab.models.enf.ENFOptions`, domain, extent and sparse scoring fractions instead of
sizes and stencil), served by :mod:`fieldlab.training.served_model`. ``predict`` takes a dict of
arrays, one per state field, ``(B, ny, nx)`` each, in physical units, and returns the same fields
one saved frame later (for ``enf``: the forecast of the fields' latents, flowed one time unit).

>>> from fieldlab.training.tracking import run_model_uri
>>> model = mlflow.pyfunc.load_model(run_model_uri(run_id))
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
from fieldlab.models.enf import ENFOptions
from fieldlab.training.grid.enf import GridENF
from fieldlab.training.grid.forecaster import GridForecaster, build_grid_forecaster


def payload(
    model: GridForecaster | GridENF, *, name: str, hidden: int, layers: int
) -> dict[str, Any]:
    """What ``forecaster.pt`` holds for a grid forecaster: plain values and CPU tensors only
    (loads with ``torch.load(weights_only=True)``)."""
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    if isinstance(model, GridENF):
        return {
            "kind": "grid",
            "model": "enf",
            "options": model.options.model_dump(mode="json"),
            "domain": model.domain,
            "mesh": dataclasses.asdict(model.mesh),
            "fields": list(model.fields),
            "observed_fractions": list(model.observed_fractions),
            "state_dict": state,
        }
    return {
        "kind": "grid",
        "model": name,
        "hidden": hidden,
        "layers": layers,
        "mesh": dataclasses.asdict(model.mesh),
        "spec": model.spec.model_dump(mode="json"),
        "fields": list(model.fields),
        "state_dict": state,
    }


def restore(saved: Mapping[str, Any]) -> GridForecaster | GridENF:
    """Rebuild the grid forecaster of a ``forecaster.pt`` payload."""
    state = saved["state_dict"]
    if saved["model"] == "enf":
        enf = GridENF(
            Mesh(**saved["mesh"]),
            saved["domain"],
            saved["fields"],
            mean=state["mean"].tolist(),
            std=state["std"].tolist(),
            options=ENFOptions(**saved["options"]),
            observed_fractions=saved["observed_fractions"],
        )
        enf.to(state["mean"].dtype).load_state_dict(state)
        return enf.eval()
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


def state_of(model: GridForecaster | GridENF, arrays: Mapping[str, Any]) -> torch.Tensor:
    """Stack ``{field: (B, ny, nx)}`` into a state ``(B, ny, nx, C)`` in the model's order."""
    return torch.stack(
        [torch.as_tensor(np.asarray(arrays[f]), dtype=model.mean.dtype) for f in model.fields], -1
    )


def predict(model: GridForecaster | GridENF, inputs: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """``{field: (B, ny, nx)}`` -> the same fields one saved frame later."""
    with torch.no_grad():
        nxt = model(state_of(model, inputs)).cpu().numpy()
    return {f: nxt[..., c] for c, f in enumerate(model.fields)}
