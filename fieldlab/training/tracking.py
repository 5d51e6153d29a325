"""MLflow tracking: where runs go and what each run records.

The default store is embedded (:mod:`fieldlab.training.store`): a SQLite database
``mlflow/mlflow.db`` with artifacts under ``mlflow/artifacts``.
``MLFLOW_TRACKING_URI`` or an explicit ``tracking_uri`` (``--tracking-uri``) points at a tracking
server instead (``http://127.0.0.1:5000``), or at any other store MLflow understands.

A run records: the resolved config (``config.json`` via ``mlflow.log_dict``; as params only the
settings that apply to its model and kind of data), a description (``mlflow.note.content``: the
dataset, the model and what the metrics mean), the dataset as an MLflow dataset input (name,
source store, a digest taken from the fingerprint, the full fingerprint in a tag) for training
and validation (evaluation adds the test split), per-epoch metrics, system metrics, figures keyed by name and step, and the model
of its selected (best-validation) weights, named after the model and the run, logged at the best
epoch with the summary metrics ``best/<metric>`` of that epoch linked to it and to the
validation dataset, so the experiment's Models page and the run agree.

The experiment gets a description too, and is marked as one of model development, so the MLflow
UI opens it on its runs table (:func:`runs_table_url` is the deep link ``fieldlab ui`` prints).
Nothing here contacts a model registry, and MLflow's telemetry is switched off (``fieldlab/__init__.py``).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import os
import re
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
from mlflow.entities import DatasetInput, InputTag, Metric
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature
from mlflow.models.model import ModelInfo
from mlflow.utils.mlflow_tags import MLFLOW_DATASET_CONTEXT

import mlflow
from fieldlab.catalog import load_card, locate
from fieldlab.training.problem import Scores
from fieldlab.training.store import default_tracking_uri, local_artifact_root, sqlite_path

SERVED_MODEL_CODE = Path(__file__).with_name("served_model.py")

DESCRIPTION_TAG = "mlflow.note.content"
"""The tag MLflow shows as the description of an experiment or a run (Markdown)."""

EXPERIMENT_KIND_TAG = "mlflow.experimentKind"
MODEL_DEVELOPMENT = "custom_model_development"
"""An experiment of this kind opens on its runs table in the MLflow UI (not on traces)."""

BEST_EPOCH_TAG = "fieldlab.best_epoch"
"""The epoch of a finished run's selected weights: the step its model is logged at."""

METRICS_GUIDE = """\
Metrics (simulation units, nondimensional; lower is better unless said otherwise):

- `train_loss`, `train_mse`: the loss and the mean squared error of the next state on the
  training samples, per epoch.
- `val_mse`: the same mean squared error on the validation split; its minimum selects the weights.
- `best/<metric>`: every metric at the selected (best-validation) epoch, also shown with the
  run's model on the Models page; `best_epoch` is that epoch.
- `field_cosine` (higher is better, at most 1), `field_relative_error`, `field_mse`: the
  discovered field against the true one at positions the validation trajectories visit.
- `compared/field_*`: the same scores from the latest `fieldlab fields compare` of the run.
- `test/<metric>`: `fieldlab evaluate` on the test split (`rollout_mse` per forecast step).
"""

EXPERIMENT_DESCRIPTION = f"""\
Runs of `fieldlab train`: one forecaster trained on one catalogued dataset per run (the dataset
is an input of the run, with its fingerprint). Group runs by the tag `fieldlab.study`
(`fieldlab train --study NAME`); select two field runs and press Compare to see their
`discovered_field.png` side by side; runs named `fields compare` hold comparisons, and
`fieldlab fields compare` puts the latest one's figure at the top of this description.

{METRICS_GUIDE}"""


def configure(tracking_uri: str | None = None, experiment: str = "fieldlab") -> str:
    """Point MLflow at ``tracking_uri`` (default: :func:`default_tracking_uri`) and make sure
    ``experiment`` exists; return the URI in use."""
    uri = tracking_uri or default_tracking_uri()
    if (database := sqlite_path(uri)) is not None:
        database.parent.mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(uri)
    if os.environ.get("MLFLOW_RUN_ID"):  # inside `mlflow run`: the run exists already
        return uri
    found = mlflow.get_experiment_by_name(experiment)
    if found is None:
        experiment_id = mlflow.create_experiment(
            experiment, artifact_location=local_artifact_root(uri)
        )
        tags: dict[str, str] = {}
    else:
        experiment_id, tags = found.experiment_id, found.tags
    client = mlflow.tracking.MlflowClient()
    for key, value in (
        (DESCRIPTION_TAG, EXPERIMENT_DESCRIPTION),
        (EXPERIMENT_KIND_TAG, MODEL_DEVELOPMENT),
    ):
        if key not in tags:  # a description edited in the UI is kept
            client.set_experiment_tag(experiment_id, key, value)
    mlflow.set_experiment(experiment_id=experiment_id)
    return uri


def runs_table_url(base_url: str, experiment_id: str | None) -> str:
    """The MLflow UI's page of the runs table of ``experiment_id`` at ``base_url`` (the
    experiments list when there is no experiment yet)."""
    base = base_url.rstrip("/")
    return f"{base}/#/experiments/{experiment_id}/runs" if experiment_id else f"{base}/#/"


def describe_run(text: str) -> None:
    """Set the active run's description (Markdown, shown on the run's page)."""
    mlflow.set_tag(DESCRIPTION_TAG, text)


def run_description(
    *, model: str, dataset: str, dataset_description: str, kind: str, study: str | None
) -> str:
    """The description of a training run of ``model`` on ``dataset``."""
    grouped = f" Part of study `{study}` (tag `fieldlab.study`)." if study else ""
    return (
        f"`{model}` forecaster trained on the {kind} dataset `{dataset}`: "
        f"{dataset_description}.{grouped} `config.json` holds every setting; the parameters "
        f"are those that apply to this model and kind of data.\n\n{METRICS_GUIDE}"
    )


def flatten(config: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"graph": {"kind": "full"}}`` -> ``{"graph.kind": "full"}`` for ``mlflow.log_params``."""
    out: dict[str, Any] = {}
    for key, value in config.items():
        if isinstance(value, Mapping):
            out.update(flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


CONTEXT_SPLITS = {"training": "train", "validation": "val", "test": "test"}
"""The split of a dataset that each MLflow input context reads."""


def dataset_input(
    name: str,
    context: str = "training",
    *,
    data_root: str | os.PathLike[str] | None = None,
    split: str | None = None,
) -> tuple[MetaDataset, str]:
    """The part of dataset ``name`` (under ``data_root``) that ``context`` reads, as an MLflow
    dataset, and the dataset's fingerprint. The part is ``split`` (a split, or simulations of
    one: ``train[18:20]``), by default the split of :data:`CONTEXT_SPLITS`. The training split's
    digest is the fingerprint's first 12 characters; another part's is that of its own hash,
    since it holds other data."""
    loc = locate(load_card(name), data_root)
    with warnings.catch_warnings():  # a local path matches two equivalent source kinds
        warnings.simplefilter("ignore", UserWarning)
        source = mlflow.data.dataset_source_registry.resolve_dataset_source(loc.store)
    split = split or CONTEXT_SPLITS.get(context, context)
    digest = loc.fingerprint[:12]
    if split != "train":
        digest = hashlib.sha256(f"{loc.fingerprint}/{split}".encode()).hexdigest()[:12]
    return MetaDataset(source=source, name=name, digest=digest), loc.fingerprint


def log_dataset_inputs(
    run_id: str,
    name: str,
    contexts: tuple[str, ...],
    *,
    data_root: str | os.PathLike[str] | None = None,
    splits: Mapping[str, str] | None = None,
) -> str:
    """Record dataset ``name`` (under ``data_root``) as an input of run ``run_id``, once per
    context (``training``, ``validation``, ``test``), each the part it reads (``splits`` by
    context, else :data:`CONTEXT_SPLITS`; tagged ``split``, with the fingerprint), through the
    tracking client, so the run keeps its status; return the fingerprint.

    MLflow registers a dataset in the experiment the first time a run logs it; two processes
    that log the same new dataset at once both try to register it and the store refuses the
    second (parallel leaderboard jobs evaluating on one test split). The loser tries once more:
    by then the dataset exists, and the store links the run to it."""
    fp = ""
    inputs = []
    for context in contexts:
        split = (splits or {}).get(context) or CONTEXT_SPLITS.get(context, context)
        dataset, fp = dataset_input(name, context, data_root=data_root, split=split)
        tags = {"fingerprint": fp, "split": split, MLFLOW_DATASET_CONTEXT: context}
        inputs.append(
            DatasetInput(
                dataset=dataset._to_mlflow_entity(),
                tags=[InputTag(key=k, value=v) for k, v in tags.items()],
            )
        )
    client = mlflow.tracking.MlflowClient()
    try:
        client.log_inputs(run_id, datasets=inputs)
    except MlflowException:  # registered by another process meanwhile: now it is found
        client.log_inputs(run_id, datasets=inputs)
    return fp


def log_dataset(
    name: str,
    contexts: tuple[str, ...] = ("training", "validation"),
    *,
    data_root: str | os.PathLike[str] | None = None,
    splits: Mapping[str, str] | None = None,
) -> str:
    """Record dataset ``name`` as an input of the active run in each of ``contexts``
    (:func:`log_dataset_inputs`) and tag the run with it; return its fingerprint."""
    run_id = mlflow.active_run().info.run_id
    fp = log_dataset_inputs(run_id, name, contexts, data_root=data_root, splits=splits)
    mlflow.set_tags({"dataset": name, "dataset.fingerprint": fp})
    return fp


def figure_image(fig: Figure) -> np.ndarray:
    """The RGB pixels ``(H, W, 3)`` of a drawn figure."""
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()


def model_name(model: str, run_name: str | None) -> str:
    """The logged model's name: the model and the run, e.g. ``field-demo-field-a`` (characters
    MLflow refuses in a model name become ``-``)."""
    name = f"{model}-{run_name}" if run_name else model
    return re.sub(r"[/:.%\"'\s]+", "-", name).strip("-") or "model"


@contextlib.contextmanager
def _logged_as_declared() -> Iterator[None]:
    """Log a model without MLflow's checks of it against this process.

    - **Requirements.** On saving a model, and again on loading it, MLflow compares every
      declared requirement with the installed package, and to do so first maps every installed
      distribution to its modules (about 1.4 s with this stack). The requirements
      :func:`log_pyfunc_model` declares are read from this environment (torch's version is the
      running one), so the checks can find nothing.
    - **Serving the input example.** MLflow loads the model it has just saved and predicts the
      input example (about 0.4 s). The served model is fieldlab's own code
      (:mod:`fieldlab.training.served_model`), and reloading a logged model and predicting as the
      trained one did is what the serving tests assert for every kind of problem.
    """
    loaded = [(importlib.import_module(m), name, new) for m, name, new in _CHECKS]
    patches = [(m, name, new) for m, name, new in loaded if hasattr(m, name)]  # not lazy proxies
    saved = [getattr(m, name) for m, name, _ in patches]
    for module, name, replacement in patches:
        setattr(module, name, replacement)
    try:
        yield
    finally:
        for (module, name, _), original in zip(patches, saved, strict=True):
            setattr(module, name, original)


_CHECKS = (
    ("mlflow.utils.environment", "warn_dependency_requirement_mismatches", lambda reqs: None),
    ("mlflow.pyfunc", "warn_dependency_requirement_mismatches", lambda reqs: None),
    ("mlflow.models.utils", "_validate_serving_input", lambda model_uri, serving_input: None),
)


def log_pyfunc_model(
    payload: Mapping[str, Any],
    kind: str,
    inputs: Mapping[str, np.ndarray],
    outputs: Mapping[str, np.ndarray],
) -> ModelInfo:
    """Log the active run's MLflow model: ``payload`` saved as the artifact ``forecaster.pt``,
    served from code by :mod:`fieldlab.training.served_model` as a forecaster of ``kind``
    (a key of :data:`~fieldlab.training.problem.KINDS`), with the tensor signature of the example
    ``inputs -> outputs``. It is logged at the step of the run's tag :data:`BEST_EPOCH_TAG`, named
    after the run's model and name (:func:`model_name`: ``egnn-bright-fox``, as the Models page
    lists it; :func:`run_model_uri` finds it from the run) and tagged with that name
    (``fieldlab.name``), its dataset and model kind. The requirements are declared, not inferred
    (inference imports the model in a subprocess, which costs seconds) nor checked against this
    environment, from which they are read, and the input example is not served back at once
    (:func:`_logged_as_declared`)."""
    signature = infer_signature(dict(inputs), dict(outputs))
    run = mlflow.tracking.MlflowClient().get_run(mlflow.active_run().info.run_id)
    tags = run.data.tags
    name = model_name(tags.get("model", "model"), run.info.run_name)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "forecaster.pt"
        torch.save(dict(payload), path)
        with _logged_as_declared():
            return mlflow.pyfunc.log_model(
                name=name,
                step=int(tags.get(BEST_EPOCH_TAG, 0)),
                tags={
                    "fieldlab.name": name,
                    "dataset": tags.get("dataset", ""),
                    "model": tags.get("model", ""),
                },
                python_model=str(SERVED_MODEL_CODE),
                model_config={"kind": kind},
                artifacts={"forecaster": str(path)},
                signature=signature,
                input_example=dict(inputs),
                pip_requirements=[f"torch=={torch.__version__.split('+')[0]}", "dgl", "fieldlab"],
            )


def run_model_uri(run_id: str) -> str:
    """The URI of the model run ``run_id`` logged: ``models:/<id>`` of its latest logged model
    (whatever its name), else ``runs:/<id>/model``, where runs logged before models were named
    after the run kept theirs (for a run without a model, loading it fails with MLflow's own
    message)."""
    run = mlflow.tracking.MlflowClient().get_run(run_id)
    outputs = run.outputs.model_outputs if run.outputs is not None else []
    if outputs:
        return f"models:/{outputs[-1].model_id}"
    return f"runs:/{run_id}/model"


def log_best_metrics(
    metrics: Mapping[str, float], *, step: int, model_uri: str | None, dataset: MetaDataset
) -> None:
    """Log ``metrics`` of the selected weights as ``best/<name>`` to the active run and, linked
    to the validation ``dataset``, to its logged model (``models:/<id>``), at ``step``; the
    learning rate and timings, which say nothing of the weights, are left out."""
    best = {
        f"best/{k}": float(v) for k, v in metrics.items() if k != "lr" and not k.endswith("_time_s")
    }
    model_id = model_uri.removeprefix("models:/") if model_uri else None
    if model_id is None or model_id == model_uri:
        mlflow.log_metrics(best, step=step)
        return
    mlflow.log_metrics(best, step=step, model_id=model_id, dataset=dataset)


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
