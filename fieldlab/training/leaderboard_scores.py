"""The scores of a leaderboard: one row per trained run, one per model, and their text table.

A run's row is read from what its run logged: ``test/mse`` and ``test/equivariance_error``
(:func:`fieldlab.training.evaluate.evaluate`, on the test split), ``epochs`` and
``wall_time_s`` (the run's whole training time, over every session if it was resumed),
``train_time_s`` (the part of it spent in training passes), the training samples ``n_train``
(a param) and ``n_parameters`` (the model's trainable parameters, logged by the leaderboard).
Training throughput is ``n_train * epochs / train_time_s``: samples per second of the training
passes alone, so that a model's validation (of however many simulations) does not count
against its speed; runs logged before ``train_time_s`` existed fall back to ``wall_time_s``,
and runs that logged it only per epoch sum the epochs' values.

A model's row summarises its seeds: the mean and the sample standard deviation (``ddof = 1``;
undefined, NaN, for one seed) of the test MSE, and the means of the rest. Nothing here selects
or orders models by their test scores: the rows keep the order the models were asked for.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields

from mlflow.entities import Run

from fieldlab.errors import TrainingError

N_PARAMETERS = "n_parameters"
"""The metric under which a leaderboard logs a trained run's parameter count."""


@dataclass(frozen=True)
class RunScore:
    """One trained run of a leaderboard, as its MLflow run recorded it."""

    model: str
    seed: int
    run_id: str
    test_mse: float
    n_parameters: int
    samples_per_s: float
    wall_time_s: float
    equivariance_error: float

    @classmethod
    def from_run(cls, run: Run) -> RunScore:
        """The row of ``run``; an error naming the run and the metric it lacks."""
        metrics, params = run.data.metrics, run.data.params
        needed = ("test/mse", "test/equivariance_error", "epochs", "wall_time_s", N_PARAMETERS)
        missing = [k for k in needed if k not in metrics] + ["n_train"] * ("n_train" not in params)
        if missing:
            raise TrainingError(
                f"run {run.info.run_id} lacks {', '.join(missing)}: it has not finished and been "
                "evaluated; rerun the leaderboard, which finishes and evaluates it"
            )
        wall = metrics["wall_time_s"]
        training = _training_seconds(run, wall)
        samples = int(params["n_train"]) * metrics["epochs"]
        return cls(
            model=run.data.tags["model"],
            seed=int(params["seed"]),
            run_id=run.info.run_id,
            test_mse=metrics["test/mse"],
            n_parameters=int(metrics[N_PARAMETERS]),
            samples_per_s=samples / training if training > 0 else math.nan,
            wall_time_s=wall,
            equivariance_error=metrics["test/equivariance_error"],
        )


def _training_seconds(run: Run, wall: float) -> float:
    """The seconds of ``run``'s training passes (see the module docstring). A finished run logs
    their total as ``train_time_s`` at the step after its last epoch. Runs from before that
    logged each epoch's under ``epoch_train_time_s`` or, earlier still, under ``train_time_s``
    (a run resumed across the rename has both), the earliest runs with their total at the last
    epoch's step, logged after that epoch's own value: their total is the sum over the epochs,
    each read under the newer name, else as the first value at its step."""
    metrics = run.data.metrics
    if "train_time_s" not in metrics and "epoch_train_time_s" not in metrics:
        return wall
    from mlflow.tracking import MlflowClient

    client, epochs = MlflowClient(), int(metrics["epochs"])
    per_epoch: dict[int, float] = {}
    history = client.get_metric_history(run.info.run_id, "train_time_s")
    for m in sorted(history, key=lambda m: m.timestamp, reverse=True):
        if m.step == epochs:
            return m.value  # the run's own total
        per_epoch[m.step] = m.value  # the earliest at a step: the epoch's (a total came later)
    for m in client.get_metric_history(run.info.run_id, "epoch_train_time_s"):
        per_epoch[m.step] = m.value  # the newer name, where an epoch has it
    return sum(v for step, v in per_epoch.items() if step < epochs)


@dataclass(frozen=True)
class ModelRow:
    """One model of a leaderboard over its seeds (see the module docstring)."""

    model: str
    seeds: int
    test_mse_mean: float
    test_mse_sd: float
    n_parameters: int
    samples_per_s: float
    wall_time_s: float
    equivariance_error: float


COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(ModelRow))
"""The columns of the leaderboard table, in order."""


def summarise(scores: Sequence[RunScore], models: Sequence[str]) -> list[ModelRow]:
    """One row per model of ``models`` (in that order) over its runs in ``scores``."""
    rows = []
    for model in models:
        mine = [s for s in scores if s.model == model]
        if not mine:
            raise TrainingError(f"no scored run of model {model!r} in this leaderboard")
        mse = [s.test_mse for s in mine]
        rows.append(
            ModelRow(
                model=model,
                seeds=len(mine),
                test_mse_mean=statistics.fmean(mse),
                test_mse_sd=statistics.stdev(mse) if len(mse) > 1 else math.nan,
                n_parameters=mine[0].n_parameters,
                samples_per_s=statistics.fmean(s.samples_per_s for s in mine),
                wall_time_s=statistics.fmean(s.wall_time_s for s in mine),
                equivariance_error=statistics.fmean(s.equivariance_error for s in mine),
            )
        )
    return rows


def as_columns(rows: Sequence[RunScore] | Sequence[ModelRow]) -> dict[str, list]:
    """Rows as ``{column: values}`` (the form ``mlflow.log_table`` takes)."""
    dicts = [asdict(r) for r in rows]
    return {k: [d[k] for d in dicts] for k in (dicts[0] if dicts else {})}


def format_table(rows: Sequence[ModelRow]) -> str:
    """The leaderboard as a plain-text table, one line per model."""
    head = (
        f"{'model':<10} {'seeds':>5} {'test MSE':>10} {'sd':>9} {'params':>9} "
        f"{'samples/s':>10} {'wall s':>8} {'equiv. err':>10}"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        sd = "-" if math.isnan(r.test_mse_sd) else f"{r.test_mse_sd:.3g}"
        lines.append(
            f"{r.model:<10} {r.seeds:>5} {r.test_mse_mean:>10.4g} {sd:>9} {r.n_parameters:>9,} "
            f"{r.samples_per_s:>10,.0f} {r.wall_time_s:>8.1f} {r.equivariance_error:>10.2g}"
        )
    return "\n".join(lines)
