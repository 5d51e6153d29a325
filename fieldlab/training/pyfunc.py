"""The logged MLflow model: a forecaster served through ``mlflow.pyfunc``.

The model directory holds ``forecaster.pt`` (architecture settings, global scales, weights) and a
:class:`ForecasterModel` that rebuilds the forecaster on load. ``predict`` takes a dict of arrays
``position``, ``velocity`` ``(B, P, D)`` and, for systems with one, ``scalar`` ``(B, P)`` (charge or
mass), for a model conditioned on the observed history ``context`` ``(B, P, C, 2 D)``, in physical
units, and returns the target-frame ``position`` and ``velocity`` ``(B, P, D)``.

>>> model = mlflow.pyfunc.load_model(f"runs:/{run_id}/model")
>>> model.predict({"position": x, "velocity": v, "scalar": q})["position"].shape
(B, P, D)
"""

from __future__ import annotations

import os
from typing import Any

import mlflow.pyfunc
import numpy as np
import torch

from fieldlab.models import FieldOptions, GraphSpec
from fieldlab.training.forecaster import Forecaster, build_forecaster


def forecaster_payload(model: Forecaster, *, name: str, dim: int, hidden: int, layers: int) -> dict:
    """What ``forecaster.pt`` holds."""
    return {
        "model": name,
        "dim": dim,
        "hidden": hidden,
        "layers": layers,
        "graph": model.spec.model_dump(mode="json"),
        "field": (
            model.net.options.model_dump(mode="json") if hasattr(model.net, "options") else None
        ),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
    }


def load_forecaster(path: str | os.PathLike[str]) -> Forecaster:
    """Rebuild the forecaster saved at ``path`` (a ``forecaster.pt``)."""
    payload = torch.load(path, map_location="cpu", weights_only=False)
    model = build_forecaster(
        payload["model"],
        dim=payload["dim"],
        spec=GraphSpec(**payload["graph"]),
        hidden=payload["hidden"],
        layers=payload["layers"],
        position_scale=float(payload["state_dict"]["position_scale"]),
        velocity_scale=float(payload["state_dict"]["velocity_scale"]),
        field=FieldOptions(**payload["field"]) if payload.get("field") else None,
    )
    dtype = next(iter(payload["state_dict"].values())).dtype
    model.to(dtype).load_state_dict(payload["state_dict"])
    return model.eval()


class ForecasterModel(mlflow.pyfunc.PythonModel):
    """``mlflow.pyfunc`` wrapper of a :class:`Forecaster` (see the module docstring)."""

    forecaster: Forecaster
    # ``predict`` is untyped on purpose: inputs are checked against the logged tensor signature,
    # so MLflow's type-hint wrapper (and its warning asking for hints) is skipped.
    _skip_type_hint_validation = True

    def load_context(self, context: Any) -> None:
        self.forecaster = load_forecaster(context.artifacts["forecaster"])

    def predict(self, context, model_input, params=None):
        """``{"position", "velocity"[, "scalar"][, "context"]}`` -> ``{"position", "velocity"}``.

        (Untyped: MLflow validates the input against the logged signature instead.)
        """
        dtype = next(self.forecaster.parameters()).dtype

        def tensor(key: str) -> torch.Tensor:
            return torch.as_tensor(np.asarray(model_input[key]), dtype=dtype)

        scalar = tensor("scalar") if "scalar" in model_input else None
        context = tensor("context") if "context" in model_input else None
        with torch.no_grad():
            x, v = self.forecaster.predict(tensor("position"), tensor("velocity"), scalar, context)
        return {"position": x.numpy(), "velocity": v.numpy()}
