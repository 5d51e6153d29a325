"""MLflow tracking: where runs go and what each run records.

The default store is embedded (:mod:`fieldlab.training.store`): a SQLite database
``mlflow/mlflow.db`` with artifacts under ``mlflow/artifacts``.
``MLFLOW_TRACKING_URI`` or an explicit ``tracking_uri`` (``--tracking-uri``) points at a tracking
server instead (``http://127.0.0.1:5000``), or at any other store MLflow understands.

A run records: the resolved config (``config.json`` via ``mlflow.log_dict``, and flattened as
params), the dataset as an MLflow dataset input (name, source store, a digest taken from the
fingerprint, the full fingerprint in a tag) for training and validation, per-epoch metrics,
system metrics, figures keyed by name and step, and the best model with its signature.
Nothing here contacts a model registry, and MLflow's telemetry is switched off (``fieldlab/__init__.py``).
"""

from __future__ import annotations

import os
import tempfile
import time
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import numpy as np
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from mlflow.data.meta_dataset import MetaDataset
from mlflow.entities import Metric
from mlflow.models import infer_signature
from mlflow.models.model import ModelInfo

import mlflow
from fieldlab.catalog import load_card, locate
from fieldlab.training.problem import Scores
from fieldlab.training.store import default_tracking_uri, local_artifact_root

SERVED_MODEL_CODE = Path(__file__).with_name("served_model.py")


def configure(tracking_uri: str | None = None, experiment: str = "fieldlab") -> str:
    """Point MLflow at ``tracking_uri`` (default: :func:`default_tracking_uri`) and make sure
    ``experiment`` exists; return the URI in use."""
    uri = tracking_uri or default_tracking_uri()
    if uri.startswith("sqlite:///"):
        Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(uri)
    if os.environ.get("MLFLOW_RUN_ID"):  # inside `mlflow run`: the run exists already
        return uri
    if mlflow.get_experiment_by_name(experiment) is None:
        mlflow.create_experiment(experiment, artifact_location=local_artifact_root(uri))
    mlflow.set_experiment(experiment)
    return uri


def flatten(config: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"graph": {"kind": "full"}}`` -> ``{"graph.kind": "full"}`` for ``mlflow.log_params``."""
    out: dict[str, Any] = {}
    for key, value in config.items():
        if isinstance(value, Mapping):
            out.update(flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def log_dataset(
    name: str,
    contexts: tuple[str, ...] = ("training",),
    *,
    data_root: str | os.PathLike[str] | None = None,
) -> str:
    """Record dataset ``name`` (under ``data_root``) as an input of the active run; return its
    fingerprint."""
    card = load_card(name)
    loc = locate(card, data_root)
    with warnings.catch_warnings():  # a local path matches two equivalent source kinds
        warnings.simplefilter("ignore", UserWarning)
        source = mlflow.data.dataset_source_registry.resolve_dataset_source(loc.store)
    dataset = MetaDataset(source=source, name=name, digest=loc.fingerprint[:12])
    for context in contexts:
        mlflow.log_input(dataset, context=context, tags={"fingerprint": loc.fingerprint})
    mlflow.set_tags({"dataset": name, "dataset.fingerprint": loc.fingerprint})
    return loc.fingerprint


def figure_image(fig: Figure) -> np.ndarray:
    """The RGB pixels ``(H, W, 3)`` of a drawn figure."""
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()


def log_figure_step(fig: Figure, key: str, step: int) -> None:
    """Log ``fig`` as image ``key`` at ``step`` (the UI shows the series under the run)."""
    mlflow.log_image(figure_image(fig), key=key, step=step)


def log_pyfunc_model(
    payload: Mapping[str, Any],
    kind: str,
    inputs: Mapping[str, np.ndarray],
    outputs: Mapping[str, np.ndarray],
) -> ModelInfo:
    """Log the run's MLflow model ``model``: ``payload`` saved as the artifact ``forecaster.pt``,
    served from code by :mod:`fieldlab.training.served_model` as a forecaster of ``kind``
    (a key of :data:`~fieldlab.training.problem.KINDS`), with the tensor signature of the example
    ``inputs -> outputs``. The requirements are declared, not inferred (inference imports the
    model in a subprocess, which costs seconds)."""
    signature = infer_signature(dict(inputs), dict(outputs))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "forecaster.pt"
        torch.save(dict(payload), path)
        return mlflow.pyfunc.log_model(
            name="model",
            python_model=str(SERVED_MODEL_CODE),
            model_config={"kind": kind},
            artifacts={"forecaster": str(path)},
            signature=signature,
            input_example=dict(inputs),
            pip_requirements=[f"torch=={torch.__version__.split('+')[0]}", "dgl", "fieldlab"],
        )


def iter_metric(run_id: str, key: str) -> Iterator[tuple[int, float]]:
    """``(step, value)`` of metric ``key`` of run ``run_id``, by step."""
    client = mlflow.tracking.MlflowClient()
    for m in sorted(client.get_metric_history(run_id, key), key=lambda m: m.step):
        yield m.step, m.value


def log_scores(scores: Scores, *, prefix: str, where: str = "", run_id: str | None = None) -> None:
    """Log ``scores`` to run ``run_id`` (default: the active run) without changing its status:
    metrics as ``<prefix><name>``, curves with the frame as the step, and figures as
    ``figures/<where><file>``."""
    client = mlflow.tracking.MlflowClient()
    rid = run_id or mlflow.active_run().info.run_id
    now = int(time.time() * 1000)
    metrics = [  # a scalar that ends a curve is the curve's last value, logged with it
        Metric(prefix + k, float(v), now, 0)
        for k, v in scores.metrics.items()
        if k not in scores.curves
    ]
    for key, values in scores.curves.items():
        metrics += [
            Metric(prefix + key, float(v), now, int(f))
            for f, v in zip(scores.frames, values, strict=True)
        ]
    for start in range(0, len(metrics), 1000):  # MLflow's batch limit
        client.log_batch(rid, metrics=metrics[start : start + 1000])
    for name, fig in scores.figures.items():
        client.log_figure(rid, fig, f"figures/{where}{name}")
