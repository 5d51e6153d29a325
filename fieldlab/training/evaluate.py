"""Evaluate a tracked run's model on a dataset's test split, and log the scores to that run.

Whatever the kind of data, the dataset's :class:`~fieldlab.training.problem.Problem` class checks
that the model can read it and scores it (:meth:`~fieldlab.training.problem.ProblemClass.score`:
the metric names are tabled in docs/training.md). Metrics are logged as ``test/<name>`` on the
dataset the run trained on, ``test/<dataset>/<name>`` on another; curves with the saved frame as
the step; figures under ``figures/``; the scored split as a dataset input of the run with the
context ``test`` (beside the ``training`` and ``validation`` inputs that training logged).

Evaluation never changes the run it scores: its inputs are checked before MLflow is touched,
everything is computed before anything is logged, and the scores are logged through the tracking
client, so the run keeps its status (a finished run stays FINISHED, whatever happens here).
"""

from __future__ import annotations

import os
from typing import Any

from fieldlab.catalog import load_card
from fieldlab.errors import TrainingError
from fieldlab.training.problem import check_model
from fieldlab.training.runs import get_run, latest_run, load_forecaster_from_run, use_store
from fieldlab.training.task import task_frames
from fieldlab.training.tracking import log_dataset_inputs, log_scores

PathLike = str | os.PathLike[str]


def evaluate(
    run_id: str,
    dataset: str,
    *,
    tracking_uri: str | None = None,
    data_root: PathLike | None = None,
    rollout_sims: int = 200,
    seed: int = 0,
) -> dict[str, Any]:
    """Score run ``run_id``'s model on ``dataset``'s test split and log it to the run.

    ``run_id`` may be ``latest``: the most recent completed run on ``dataset``. Returns the run
    id, the scalar metrics, the curves, their frames and the metric prefix.

    Raises:
        TrainingError: ``rollout_sims`` below 1, an unknown run or dataset, a run without a model,
            or a dataset the model cannot forecast (another kind of data, space dimension,
            horizon, fields or grid); nothing is logged then.
    """
    if rollout_sims < 1:
        raise TrainingError(
            f"rollout_sims is {rollout_sims}; score at least one test simulation (--rollout-sims 1)"
        )
    card = load_card(dataset)
    task_frames(card, card.n_frames("test"))
    use_store(tracking_uri)
    if run_id == "latest":
        run_id = latest_run(dataset)
    run = get_run(run_id)
    trained_on = run.data.params.get("dataset")
    model_name = run.data.params.get("model") or run.data.tags.get("model", "")
    try:
        kind = check_model(model_name, card)
    except TrainingError as err:
        raise TrainingError(
            f"run {run_id!r} cannot be evaluated on {dataset!r}: {err}; evaluate it on a dataset "
            f"of the kind it was trained on ({trained_on!r})"
        ) from None
    model = load_forecaster_from_run(run_id, tracking_uri=tracking_uri)
    problem = kind.problem()
    problem.check_compatible(model, dataset, data_root)
    same = trained_on == dataset
    scores = problem.score(
        model, dataset, data_root=data_root, limit=rollout_sims, seed=seed, label=dataset
    )
    prefix = "test/" if same else f"test/{dataset}/"
    log_scores(scores, prefix=prefix, where="" if same else f"{dataset}_", run_id=run_id)
    log_dataset_inputs(run_id, dataset, ("test",), data_root=data_root)
    return {
        "run_id": run_id,
        "metrics": scores.metrics,
        "curves": scores.curves,
        "frames": scores.frames,
        "prefix": prefix,
    }
