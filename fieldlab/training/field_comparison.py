"""Compare the fields that several runs discovered, in one figure logged to a parent run.

MLflow's own image comparison shows at most 10 runs and cannot score them; this draws the true
field beside each run's learned field with its scores, saves the figure locally and logs it (and
each run's scores, as ``<run>/field_cosine`` etc.) to a parent run, under which the compared runs
are nested in the UI.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import mlflow
from fieldlab.catalog import load_card
from fieldlab.errors import TrainingError
from fieldlab.fields.monitor import FieldMonitor
from fieldlab.fields.score import FieldScore
from fieldlab.simulators import SYSTEMS, get_system
from fieldlab.training.particles.data import load_trajectories
from fieldlab.training.runs import get_run, load_forecaster_from_run, search_complete, use_store
from fieldlab.viz.fields import comparison_figure

PathLike = str | os.PathLike[str]


@dataclass(frozen=True)
class Comparison:
    parent_run_id: str
    figure_path: Path
    scores: dict[str, FieldScore]


def _label(run: mlflow.entities.Run) -> str:
    name = run.info.run_name or ""
    return f"{name} ({run.info.run_id[:8]})" if name else run.info.run_id[:8]


def latest_field_runs(dataset: str, n: int, *, experiment: str = "fieldlab") -> list[str]:
    """Ids of the ``n`` most recent completed ``--model field`` runs on ``dataset``, oldest first."""
    runs = search_complete(dataset, n=n, experiment=experiment, model="field")
    return [r.info.run_id for r in reversed(runs)]


def compare_runs(
    run_ids: list[str],
    *,
    parent: str | None = None,
    out: PathLike = "field_comparison.png",
    tracking_uri: str | None = None,
    data_root: PathLike | None = None,
) -> Comparison:
    """Draw and score the fields of ``run_ids`` (trained on one dataset) against the truth.

    Raises:
        TrainingError: no runs, a run that does not exist or has no field, runs on different
            datasets, or a dataset without a shared true field.
    """
    if not run_ids:
        raise TrainingError("name at least one run to compare: fieldlab fields compare RUN_ID...")
    use_store(tracking_uri)
    runs = [get_run(rid) for rid in run_ids]
    datasets = {r.data.params.get("dataset") for r in runs}
    if len(datasets) != 1:
        raise TrainingError(
            f"the runs were trained on different datasets: {sorted(map(str, datasets))}"
        )
    dataset = datasets.pop()
    card = load_card(dataset)
    if get_system(card.simulator).field_scope != "shared":
        shared = sorted(n for n, s in SYSTEMS.items() if s.field_scope == "shared")
        raise TrainingError(
            f"dataset {dataset!r} ({card.simulator}) has no single true field to compare against; "
            f"field comparison supports {', '.join(shared)}"
        )
    val = load_trajectories(dataset, "val", data_root=data_root, limit=100)
    monitor = FieldMonitor.from_trajectories(
        card.simulator, card.resolved_params("val"), val.position, val.velocity
    )
    learned, scores, true = {}, {}, None
    for run in runs:
        model = load_forecaster_from_run(run.info.run_id, tracking_uri=tracking_uri)
        if getattr(model.net, "field", None) is None:
            raise TrainingError(
                f"run {run.info.run_id!r} trained a {run.data.params.get('model')!r} model, which "
                "has no neural field; compare runs of --model field"
            )
        true, grid = monitor.on_grid(model)
        score = monitor.score(model)
        learned[_label(run)] = (
            grid,
            f"cos {score.cosine:.3f}  rel.err {score.relative_error:.3f}",
        )
        scores[run.info.run_id] = score
    region = monitor.region
    fig = comparison_figure(
        region.grid, region.visited, true, learned, title=f"{dataset}: discovered fields"
    )
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    experiment = runs[0].info.experiment_id
    with mlflow.start_run(
        run_id=parent,
        experiment_id=None if parent else experiment,
        run_name=None if parent else "fields compare",
    ) as p:
        mlflow.log_figure(fig, "fields/comparison.png")
        for rid, s in scores.items():
            mlflow.log_metrics(s.as_metrics(prefix=f"{rid[:8]}/field"))
        mlflow.set_tag("fieldlab.compared_runs", ",".join(scores))
        client = mlflow.tracking.MlflowClient()
        for rid in scores:
            if rid != p.info.run_id:
                client.set_tag(rid, "mlflow.parentRunId", p.info.run_id)
    return Comparison(p.info.run_id, out, scores)
