"""Compare the fields that several runs discovered: scores on each run, a table and a figure.

MLflow's own run comparison shows each field run's ``discovered_field.png`` side by side, but
cannot score them. :func:`compare_runs` scores every run's field against the truth on the same
validation positions and records the comparison where users look:

- on each compared run, as sortable metrics ``compared/field_cosine``,
  ``compared/field_relative_error``, ``compared/field_mse`` and the tag
  :data:`COMPARISON_TAG` naming the comparison run;
- in a comparison run of its own (named ``fields compare``, tagged :data:`COMPARED_TAG` with the
  runs' ids and :data:`COMPARED_NAMES_TAG` with their names), which logs the table
  :data:`TABLE` (one row per run, with its name) and the figure :data:`FIGURE`: the true field,
  each run's learned field and its error map.

The comparison's figure also heads the description of the experiment (:func:`show_latest`), so
that from MLflow's experiments list three clicks show it: **Model training**, the experiment,
and the arrow that expands the description above the runs table. Its first line names the
compared runs; the rest of the description, whoever wrote it, is kept. The figure is logged at
most :data:`SHOWN_WIDTH_PX` wide, so it fits that box beside the UI's side panel.

Runs are never re-parented: a nested run is hidden under its parent in the runs table, and the
compared runs must stay where users look for them.

MLflow (up to at least 3.17) keeps the layout of its image grid in the browser, with no API to
save a view of it; :func:`saved_view_support` says so, and the comparison creates none.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import mlflow
from fieldlab.catalog import load_card
from fieldlab.errors import TrainingError
from fieldlab.fields.monitor import field_monitor, shared_sources
from fieldlab.fields.score import FieldScore
from fieldlab.simulators import SYSTEMS, get_system
from fieldlab.training.particles.data import load_trajectories
from fieldlab.training.runs import get_run, load_forecaster_from_run, search_complete, use_store
from fieldlab.training.tracking import DESCRIPTION_TAG
from fieldlab.viz.fields import comparison_figure

PathLike = str | os.PathLike[str]

COMPARISON_TAG = "fieldlab.comparison"
"""On a compared run: the id of the latest comparison run that scored it."""
COMPARED_TAG = "fieldlab.compared_runs"
"""On a comparison run: the compared runs' ids, comma-separated."""
COMPARED_NAMES_TAG = "fieldlab.compared_run_names"
"""On a comparison run: the compared runs' names, comma-separated."""
TABLE = "field_comparison.json"
FIGURE = "field_comparison.png"
SHOWN_WIDTH_PX = 840
"""The widest the logged figure is drawn: the width of the expanded experiment description in
a 1600-pixel-wide MLflow UI with its assistant panel open (wider, the UI crops it)."""
LATEST = "**Latest field comparison**"
_LATEST_BLOCK = re.compile(
    r"\A\*\*Latest field comparison\*\*[^\n]*\n\n!\[[^\]\n]*\]\([^)\n]*\)\n\n"
)


@dataclass(frozen=True)
class Comparison:
    """A comparison run and what it recorded.

    Attributes:
        run_id: the comparison run.
        figure_path: the figure, saved locally.
        scores: each compared run's scores, by run id.
        names: each compared run's label in the table and figure, by run id.
        saved_view: why no saved view of MLflow's image grid was created (None when one was).
    """

    run_id: str
    figure_path: Path
    scores: dict[str, FieldScore]
    names: dict[str, str]
    saved_view: str | None


def saved_view_support(version: str = mlflow.__version__) -> str | None:
    """None if MLflow ``version`` can save a view of the runs' image grid; otherwise why not.

    No MLflow release up to 3.17 has an API for saved views (the UI keeps chart layouts in the
    browser's local storage), so there is nothing to call yet.
    """
    return (
        f"MLflow {version} cannot save a view of the image grid (its UI keeps chart layouts in "
        "the browser); the experiment's description shows the figure instead"
    )


def _label(run: mlflow.entities.Run) -> str:
    name = run.info.run_name or ""
    return f"{name} ({run.info.run_id[:8]})" if name else run.info.run_id[:8]


def latest_field_runs(dataset: str, n: int, *, experiment: str = "fieldlab") -> list[str]:
    """Ids of the ``n`` most recent completed ``--model field`` runs on ``dataset``, oldest first."""
    runs = search_complete(dataset, n=n, experiment=experiment, model="field")
    return [r.info.run_id for r in reversed(runs)]


def _description(dataset: str, names: list[str]) -> str:
    listed = ", ".join(f"`{n}`" for n in names)
    return (
        f"Fields discovered on `{dataset}` by {listed}, scored against the true field at the "
        f"positions the validation trajectories visit. `{TABLE}` has one row per run; "
        f"`{FIGURE}` shows the true field, each learned field and its error map "
        "`|learned - true|`. Each compared run carries its scores as `compared/field_*` "
        f"metrics and this run's id in the tag `{COMPARISON_TAG}`."
    )


def with_latest(description: str, run_id: str, names: list[str], dataset: str) -> str:
    """``description`` headed by the figure of comparison run ``run_id`` of runs ``names`` on
    ``dataset``, in place of the one an earlier comparison put there; the rest is kept."""
    listed = ", ".join(f"`{n}`" for n in names)
    head = (
        f"{LATEST}: {listed} on `{dataset}` (run `fields compare` {run_id[:8]}): the true field, "
        "each learned field and its error map.\n\n"
        f"![field comparison](get-artifact?path={FIGURE}&run_uuid={run_id})\n\n"
    )  # a relative link: the UI's own artifact download, under whatever prefix serves it
    return head + _LATEST_BLOCK.sub("", description, count=1)


def show_latest(experiment_id: str, run_id: str, names: list[str], dataset: str) -> None:
    """Head the description of experiment ``experiment_id`` with the figure of comparison run
    ``run_id`` (:func:`with_latest`)."""
    client = mlflow.tracking.MlflowClient()
    text = client.get_experiment(experiment_id).tags.get(DESCRIPTION_TAG, "")
    client.set_experiment_tag(
        experiment_id, DESCRIPTION_TAG, with_latest(text, run_id, names, dataset)
    )


def compare_runs(
    run_ids: list[str],
    *,
    comparison: str | None = None,
    out: PathLike = FIGURE,
    tracking_uri: str | None = None,
    data_root: PathLike | None = None,
) -> Comparison:
    """Draw and score the fields of ``run_ids`` (trained on one dataset) against the truth, and
    record the comparison (see the module docstring) in a new run, or in run ``comparison``.

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
    monitor = field_monitor(
        card.simulator,
        card.resolved_params("val"),
        val,
        sources=shared_sources(dataset, data_root),
    )
    if monitor is None:  # a shared field always has a monitor; kept as a clear error
        raise TrainingError(f"dataset {dataset!r} has no true field to compare against")
    learned, scores, names, true = {}, {}, {}, None
    for run in runs:
        model = load_forecaster_from_run(run.info.run_id, tracking_uri=tracking_uri)
        if getattr(model.net, "field", None) is None:
            raise TrainingError(
                f"run {run.info.run_id!r} trained a {run.data.params.get('model')!r} model, which "
                "has no neural field; compare runs of --model field"
            )
        true, grid = monitor.on_grid(model)
        score = monitor.score(model)
        label = _label(run)
        learned[label] = (grid, f"cos {score.cosine:.3f}  rel.err {score.relative_error:.3f}")
        scores[run.info.run_id] = score
        names[run.info.run_id] = label
    region = monitor.region
    fig = comparison_figure(
        region.grid,
        region.visited,
        true,
        learned,
        title=f"{dataset}: discovered fields",
        sources=monitor.sources,
    )
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    table = {
        "run_name": [r.info.run_name or "" for r in runs],
        "run_id": [r.info.run_id for r in runs],
        **{
            key: [scores[r.info.run_id].as_metrics()[key] for r in runs]
            for key in next(iter(scores.values())).as_metrics()
        },
        "best_epoch": [r.data.metrics.get("best_epoch") for r in runs],
    }
    with mlflow.start_run(
        run_id=comparison,
        experiment_id=None if comparison else runs[0].info.experiment_id,
        run_name=None if comparison else "fields compare",
    ) as cmp:
        width_in = fig.get_size_inches()[0]
        mlflow.log_figure(fig, FIGURE, save_kwargs={"dpi": min(fig.dpi, SHOWN_WIDTH_PX / width_in)})
        mlflow.log_table(table, TABLE)
        mlflow.set_tags(
            {
                COMPARED_TAG: ",".join(scores),
                COMPARED_NAMES_TAG: ",".join(r.info.run_name or r.info.run_id for r in runs),
                "dataset": dataset,
                DESCRIPTION_TAG: _description(dataset, list(names.values())),
            }
        )
        client = mlflow.tracking.MlflowClient()
        for rid, s in scores.items():
            if rid == cmp.info.run_id:
                continue
            client.set_tag(rid, COMPARISON_TAG, cmp.info.run_id)
            for key, value in s.as_metrics(prefix="compared/field").items():
                client.log_metric(rid, key, value)
        names_shown = [r.info.run_name or r.info.run_id[:8] for r in runs]
        show_latest(cmp.info.experiment_id, cmp.info.run_id, names_shown, dataset)
    return Comparison(cmp.info.run_id, out, scores, names, saved_view_support())
