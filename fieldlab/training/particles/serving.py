"""The logged MLflow model of a particle forecaster: its payload, restore and prediction.

The model directory holds ``forecaster.pt`` (architecture settings, global scales, weights),
served by :mod:`fieldlab.training.served_model`. ``predict`` takes a dict of arrays
``position``, ``velocity`` ``(B, P, D)`` and, for systems with one, ``scalar`` ``(B, P)`` (charge or
mass), for a model conditioned on the observed history ``context`` ``(B, P, C, 2 D)``, in physical
units, and returns the target-frame ``position`` and ``velocity`` ``(B, P, D)``.

>>> from fieldlab.training.tracking import run_model_uri
>>> model = mlflow.pyfunc.load_model(run_model_uri(run_id))
>>> model.predict({"position": x, "velocity": v, "scalar": q})["position"].shape
(B, P, D)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from fieldlab.models import FieldOptions, GraphSpec
from fieldlab.training.particles.forecaster import Forecaster, build_forecaster


def payload(model: Forecaster, *, name: str, dim: int, hidden: int, layers: int) -> dict:
    """What ``forecaster.pt`` holds: plain values and CPU tensors only (loads with
    ``torch.load(weights_only=True)``)."""
    return {
        "kind": "particles",
        "model": name,
        "dim": dim,
        "horizon_time": model.horizon_time,
        "hidden": hidden,
        "layers": layers,
        "graph": model.spec.model_dump(mode="json"),
        "field": (
            model.net.options.model_dump(mode="json") if hasattr(model.net, "options") else None
        ),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
    }


def restore(saved: Mapping[str, Any]) -> Forecaster:
    """Rebuild the forecaster of a ``forecaster.pt`` payload."""
    model = build_forecaster(
        saved["model"],
        dim=saved["dim"],
        spec=GraphSpec(**saved["graph"]),
        hidden=saved["hidden"],
        layers=saved["layers"],
        position_scale=float(saved["state_dict"]["position_scale"]),
        velocity_scale=float(saved["state_dict"]["velocity_scale"]),
        field=FieldOptions(**saved["field"]) if saved.get("field") else None,
        horizon_time=saved.get("horizon_time"),
    )
    dtype = next(iter(saved["state_dict"].values())).dtype
    model.to(dtype).load_state_dict(saved["state_dict"])
    return model.eval()


def predict(model: Forecaster, inputs: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """``{"position", "velocity"[, "scalar"][, "context"]}`` -> ``{"position", "velocity"}``."""
    dtype = next(model.parameters()).dtype

    def tensor(key: str) -> torch.Tensor:
        return torch.as_tensor(np.asarray(inputs[key]), dtype=dtype)

    scalar = tensor("scalar") if "scalar" in inputs else None
    context = tensor("context") if "context" in inputs else None
    with torch.no_grad():
        x, v = model.predict(tensor("position"), tensor("velocity"), scalar, context)
    return {"position": x.cpu().numpy(), "velocity": v.cpu().numpy()}
