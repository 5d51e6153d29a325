"""A leaderboard: several models, several seeds each, trained on one dataset as one study.

>>> from fieldlab.training.leaderboard import leaderboard
>>> board = leaderboard("egnn-charged-3d-mini", ["egnn", "fa-gnn"], seeds=2, epochs=20)
>>> print(board.text)

Every (model, seed) is its own MLflow run, trained by :func:`fieldlab.training.run.train` and
scored on the test split by :func:`fieldlab.training.evaluate.evaluate`, inside a task on a Dask
cluster: a local one by default (single-threaded worker processes on the loopback interface,
:func:`fieldlab.pipelines.cluster.connect`), or an existing one by its scheduler's address,
whose workers must import fieldlab and reach the data root, the tracking store and the
checkpoint root. Each run carries the tag ``fieldlab.study`` (the study's name), its
``model`` tag and its ``seed`` param, and stays a top-level run.

It resumes. Before anything is trained, each (study, dataset, model, seed) is looked up in MLflow:

- a complete run that was evaluated is kept as it is (nothing is trained);
- a complete run not evaluated yet is evaluated;
- an interrupted, paused or dead run (``fieldlab.state``) is resumed from its checkpoint;
- otherwise (no run, or only failed ones) a new run is trained.

A run found for the study must have been trained with the same settings as the ones asked for
(seed, epochs, sizes, ...: every setting but the run's name, figures and threads), else the
leaderboard stops with an error naming the run and the setting: a study compares like with like.

The study is a run of its own (tag ``fieldlab.leaderboard``; the trained runs are never
re-parented under it), open while its jobs run, with the dataset as its input. When every run is
complete and scored it logs the table of :mod:`.leaderboard_scores` (``leaderboard.json`` via
``mlflow.log_table``, the runs' rows in ``leaderboard_runs.json``, the text in
``leaderboard.txt``), the bar chart (:func:`fieldlab.viz.leaderboard.leaderboard_figure`,
``leaderboard.png``) and each model's mean and standard deviation as metrics. A study whose jobs
failed ends FAILED, one whose runs paused at their session's epoch budget ends KILLED, both
without a table: the next leaderboard carries on. A rerun with nothing to train finds the study
run that logged these very rows (by a digest of them) and logs nothing new.

Model selection uses the validation split only: each run logs its best-validation weights, and
those are what the test split scores, once.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import mlflow
from fieldlab.catalog import data_root as resolve_data_root
from fieldlab.catalog import load_card, open_statistics
from fieldlab.errors import TrainingError
from fieldlab.models import UnknownModelError, published_size
from fieldlab.training import checkpoint
from fieldlab.training.config import TrainConfig, build_config, load_config
from fieldlab.training.leaderboard_scores import (
    N_PARAMETERS,
    ModelRow,
    RunScore,
    as_columns,
    format_table,
    summarise,
)
from fieldlab.training.problem import check_model, kind_of
from fieldlab.training.runs import mark_dead_runs, process_tags
from fieldlab.training.tracking import configure, flatten, log_dataset

PathLike = str | os.PathLike[str]
Action = Literal["keep", "evaluate", "resume", "train"]

CHOSEN = ("dataset", "model", "seed", "study")
"""Settings the leaderboard sets itself for every run; ``--set`` may not give them."""
FREE = ("run_name", "figure_every", "threads", "max_epochs_per_session")
"""Settings that may differ between a found run and the ones asked for: they change neither the
training nor its result."""
RESUMABLE = ("interrupted", "paused", "died")
"""``fieldlab.state`` of a run that resumes from its checkpoint."""
STUDY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:/+-]*$")


@dataclass(frozen=True)
class Job:
    """What one (model, seed) needs: ``action`` on run ``run_id`` (``None`` for a new run)."""

    model: str
    seed: int
    action: Action
    config: dict[str, Any]
    run_id: str | None = None


@dataclass(frozen=True)
class Places:
    """Where the workers find the tracking store, the data and the checkpoints (absolute)."""

    tracking_uri: str
    data_root: str
    checkpoint_root: str
    rollout_sims: int


@dataclass(frozen=True)
class Leaderboard:
    """A finished (or, with ``pending``, paused) leaderboard.

    Attributes:
        study: its name; dataset: what it trained on.
        rows: one per model, in the order asked for; runs: one per (model, seed).
        actions: what was done per (model, seed): ``keep``, ``evaluate``, ``resume``, ``train``.
        study_run_id: the run the study is logged as (``None`` while runs are pending).
        pending: (model, seed) whose runs paused at their session's epoch budget.
        text: the table as text.
    """

    study: str
    dataset: str
    rows: list[ModelRow]
    runs: list[RunScore]
    actions: dict[tuple[str, int], Action]
    study_run_id: str | None
    pending: list[tuple[str, int]] = field(default_factory=list)
    text: str = ""


def leaderboard(
    dataset: str,
    models: Sequence[str],
    seeds: int | Sequence[int] | Mapping[str, int],
    *,
    epochs: int | None = None,
    settings: Mapping[str, Any] | None = None,
    study: str | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
    tracking_uri: str | None = None,
    data_root: PathLike | None = None,
    checkpoint_root: PathLike | None = None,
    rollout_sims: int = 200,
    report: Callable[[str], None] | None = None,
) -> Leaderboard:
    """Train, resume or keep every (model, seed) of a study on ``dataset``; log and return it.

    Args:
        models: model names, the baseline first (e.g. ``["egnn", "ponita"]``).
        seeds: a count N (seeds 0 .. N-1), the seeds themselves, or a count per model
            (``{"egnn": 3, "ponita": 2}``; a model missing from it gets the largest count).
        epochs, settings: training settings of every run (``settings``: as ``--set KEY=VALUE``).
        study: the study's name (default ``leaderboard-<dataset>``).
        scheduler: address of an existing Dask scheduler; else a local cluster of ``workers``
            single-threaded processes (default: one per job, at most one per core).
        tracking_uri, data_root, checkpoint_root: as for :func:`fieldlab.training.run.train`.
        rollout_sims: test simulations rolled out by each evaluation.
        report: called with one line per finished job (e.g. ``print``).

    Raises:
        TrainingError: an unknown or repeated model, no seeds, a setting the leaderboard sets
            itself, a found run trained with other settings, a run still training, or jobs that
            failed (the others' runs are kept, and a rerun retries only the failed ones).
    """
    say = report or (lambda line: None)
    study = study or f"leaderboard-{dataset}"
    configs = _configs(dataset, models, _seeds(seeds, models), epochs, settings or {}, study)
    open_statistics(dataset, data_root=data_root)  # generated? else one clear error, not N
    experiment = next(iter(configs.values())).experiment
    places = Places(
        tracking_uri=configure(tracking_uri, experiment),
        data_root=resolve_data_root(data_root),
        checkpoint_root=str(
            Path(checkpoint_root or checkpoint.default_checkpoint_root()).resolve()
        ),
        rollout_sims=rollout_sims,
    )
    mark_dead_runs(experiment)
    jobs = [_plan(cfg, places) for cfg in configs.values()]
    actions: dict[tuple[str, int], Action] = {(j.model, j.seed): j.action for j in jobs}
    run_ids = {(j.model, j.seed): j.run_id for j in jobs if j.action == "keep"}
    todo = [j for j in jobs if j.action != "keep"]

    def board(scores: list[RunScore], study_run: str | None, pending: list) -> Leaderboard:
        rows = [] if pending else summarise(scores, models)
        text = format_table(rows) if rows else ""
        return Leaderboard(study, dataset, rows, scores, actions, study_run, pending, text)

    if not todo:  # nothing to train: the study run of these very rows, or a new one
        scores = _scores(run_ids, models)
        found = _study_run(study, experiment, _digest(dataset, scores))
        if found is not None:
            return board(scores, found, [])
    with mlflow.start_run(run_name=f"{study} (leaderboard)", tags=_study_tags(study)) as run:
        # the dataset is registered in the experiment here, once: runs that start at the same
        # moment in two workers would both insert it, and MLflow's store refuses the second
        log_dataset(dataset, data_root=places.data_root)
        run_ids.update(_dispatch(todo, places, scheduler, workers, say))
        pending = sorted(k for k, v in run_ids.items() if v is None)
        scores = _scores(run_ids, models)
        if pending:
            mlflow.set_tag("fieldlab.leaderboard.pending", len(pending))
            mlflow.end_run(status="KILLED")
            return board(scores, None, pending)
        _record(dataset, study, summarise(scores, models), scores)
        return board(scores, run.info.run_id, [])


def _scores(run_ids: Mapping[tuple[str, int], str | None], models: Sequence[str]) -> list[RunScore]:
    """The rows of the scored runs among ``run_ids``, by model (in ``models``' order), then seed."""
    scores = [RunScore.from_run(mlflow.get_run(rid)) for rid in run_ids.values() if rid]
    return sorted(scores, key=lambda s: (list(models).index(s.model), s.seed))


# -- planning ----------------------------------------------------------------------------------
def _seeds(
    seeds: int | Sequence[int] | Mapping[str, int], models: Sequence[str]
) -> dict[str, list[int]]:
    """The seeds of each model (see :func:`leaderboard`)."""
    if isinstance(seeds, Mapping):
        unknown = sorted(set(seeds) - set(models))
        if unknown:
            raise TrainingError(
                f"seeds are given for {unknown[0]!r}, which is not among the models "
                f"({', '.join(models)}); add it to the models or drop its seeds"
            )
        most = max(seeds.values(), default=0)
        return {m: list(range(seeds.get(m, most))) for m in models}
    chosen = list(range(seeds)) if isinstance(seeds, int) else list(seeds)
    return {m: chosen for m in models}


def _configs(
    dataset: str,
    models: Sequence[str],
    seeds: dict[str, list[int]],
    epochs: int | None,
    settings: Mapping[str, Any],
    study: str,
) -> dict[tuple[str, int], TrainConfig]:
    """The config of every (model, seed), after checking the request (see :func:`leaderboard`)."""
    if not models:
        raise TrainingError("no models given; pass --models, e.g. --models egnn,ponita")
    repeated = sorted({m for m in models if list(models).count(m) > 1})
    if repeated:
        raise TrainingError(f"model {repeated[0]!r} is listed twice in --models; list it once")
    if not all(seeds.values()):
        raise TrainingError("no seeds given; pass --seeds N (N >= 1)")
    if not STUDY_NAME.match(study):
        raise TrainingError(
            f"study name {study!r} may hold letters, digits and _ . : / + - only, starting with a "
            "letter or digit; choose another --study"
        )
    given = sorted(set(settings) & set(CHOSEN))
    if given:
        raise TrainingError(
            f"--set {given[0]}=... is chosen by the leaderboard for every run (the dataset "
            "argument, --models, --seeds, --study); remove it"
        )
    card = load_card(dataset)
    for model in models:  # every name checked before any run starts
        try:
            check_model(model, card)
        except UnknownModelError:
            choices = ", ".join(kind_of(card).models)
            raise TrainingError(
                f"unknown model {model!r} in --models; for dataset {dataset!r} choose from: "
                f"{choices}"
            ) from None
    out = {}
    for model in models:
        for seed in seeds[model]:
            cfg = load_config(
                settings=dict(settings),
                dataset=dataset,
                model=model,
                seed=seed,
                epochs=epochs,
                study=study,
                run_name=f"{study}/{model}/seed-{seed}",
            )
            hidden, layers = published_size(model)
            out[model, seed] = cfg.with_updates(
                hidden=cfg.hidden or hidden, layers=cfg.layers or layers
            )
    return out


def _found(cfg: TrainConfig) -> list[mlflow.entities.Run]:
    """The study's runs of ``cfg``'s (dataset, model, seed), newest first."""
    exp = mlflow.get_experiment_by_name(cfg.experiment)
    query = (
        f"tags.`fieldlab.study` = '{cfg.study}' and tags.model = '{cfg.model}' and "
        f"params.seed = '{cfg.seed}' and params.dataset = '{cfg.dataset}'"
    )
    return mlflow.search_runs(
        [exp.experiment_id],
        filter_string=query,
        order_by=["attributes.start_time DESC"],
        output_format="list",
    )


def _plan(cfg: TrainConfig, places: Places) -> Job:
    """What (model, seed) of ``cfg`` needs, from the study's runs in MLflow."""
    runs = _found(cfg)
    state = {r.info.run_id: r.data.tags.get("fieldlab.state") for r in runs}
    data = cfg.model_dump(mode="json")
    for run in runs:
        if run.info.status == "RUNNING" and state[run.info.run_id] == "running":
            tags = run.data.tags
            raise TrainingError(
                f"run {run.info.run_id} ({cfg.model}, seed {cfg.seed}, study {cfg.study!r}) is "
                f"still training (process {tags.get('fieldlab.pid')} on "
                f"{tags.get('fieldlab.host')}); wait for it to end, then run the leaderboard again"
            )
    complete = [r for r in runs if state[r.info.run_id] == "complete"]
    if complete:
        run = complete[0]
        _check_same(run, data)
        scored = {"test/mse", "test/equivariance_error", N_PARAMETERS} <= set(run.data.metrics)
        action: Action = "keep" if scored else "evaluate"
        return Job(cfg.model, cfg.seed, action, data, run.info.run_id)
    for run in runs:
        last = checkpoint.run_dir(run.info.run_id, places.checkpoint_root) / checkpoint.LAST
        if state[run.info.run_id] in RESUMABLE and last.is_file():
            _check_same(run, data)
            return Job(cfg.model, cfg.seed, "resume", data, run.info.run_id)
    return Job(cfg.model, cfg.seed, "train", data)


def _check_same(run: mlflow.entities.Run, wanted: dict[str, Any]) -> None:
    """Refuse a found run trained with other settings than ``wanted`` (see the module)."""
    logged = mlflow.artifacts.load_dict(f"{run.info.artifact_uri}/config.json")
    have, want = flatten(logged), flatten(wanted)
    for key in sorted(set(have) | set(want)):
        if key.split(".")[0] in FREE:
            continue
        if have.get(key) != want.get(key):
            raise TrainingError(
                f"run {run.info.run_id} of study {wanted['study']!r} ({wanted['model']}, seed "
                f"{wanted['seed']}) was trained with {key}={have.get(key)!r}, not "
                f"{want.get(key)!r}; give the study's settings again, or start another study "
                "with --study NAME"
            )


# -- running the jobs --------------------------------------------------------------------------
def run_job(job: Job, places: Places) -> tuple[str, str | None]:
    """Do ``job`` (in a Dask worker): train or resume, then evaluate on the test split and log
    the parameter count. Returns the run id and how training stopped (``None``: not trained
    here); an ``epoch_budget`` stop is left unevaluated, to be resumed by the next leaderboard.

    The dataset's lazy arrays are read on this task's own thread: read through the cluster,
    the task would secede from its worker's thread, which would then start the next job beside
    it, and runs sharing a core would time each other's throughput.
    """
    import dask

    with dask.config.set(scheduler="synchronous"):
        return _run_job(job, places)


def _run_job(job: Job, places: Places) -> tuple[str, str | None]:
    from fieldlab.training.evaluate import evaluate
    from fieldlab.training.run import train
    from fieldlab.training.runs import load_forecaster_from_run

    where = {"tracking_uri": places.tracking_uri, "data_root": places.data_root}
    stopped = None
    run_id = job.run_id
    if job.action in ("train", "resume"):
        config = build_config(job.config, f"leaderboard job {job.model}, seed {job.seed}")
        budget = config.max_epochs_per_session
        result = train(
            config if job.action == "train" else None,
            resume=run_id if job.action == "resume" else None,
            checkpoint_root=places.checkpoint_root,
            progress=False,
            session={"max_epochs_per_session": budget} if budget else None,
            **where,
        )
        run_id, stopped = result.run_id, result.stopped
        if result.model_uri is None:
            return run_id, stopped
    assert run_id is not None  # a kept or evaluated job names its run
    evaluate(run_id, job.config["dataset"], rollout_sims=places.rollout_sims, **where)
    model = load_forecaster_from_run(run_id, tracking_uri=places.tracking_uri)
    count = sum(p.numel() for p in model.parameters() if p.requires_grad)
    mlflow.MlflowClient().log_metric(run_id, N_PARAMETERS, count)
    return run_id, stopped


def _dispatch(
    jobs: list[Job],
    places: Places,
    scheduler: str | None,
    workers: int | None,
    say: Callable[[str], None],
) -> dict[tuple[str, int], str | None]:
    """Run ``jobs`` on the cluster; the run id of each, ``None`` for one paused by its budget."""
    if not jobs:
        return {}
    from distributed import as_completed

    from fieldlab.pipelines.cluster import connect

    n = workers or min(len(jobs), os.cpu_count() or 1)
    out: dict[tuple[str, int], str | None] = {}
    failed: list[str] = []
    started = time.perf_counter()
    with connect(n, scheduler) as client:
        futures = {
            client.submit(run_job, job, places, key=f"leaderboard-{job.model}-{job.seed}-{i}"): job
            for i, job in enumerate(jobs)
        }
        for future in as_completed(futures):
            job = futures[future]
            where = f"{job.model} seed {job.seed}"
            if future.status == "error":
                err = future.exception()
                first = (str(err).strip().splitlines() or [type(err).__name__])[0]
                failed.append(f"{where}: {first}")
                say(f"{where}: failed: {first}")
                continue
            run_id, stopped = future.result()
            paused = stopped == "epoch_budget"
            out[job.model, job.seed] = None if paused else run_id
            done = "paused (epoch budget)" if paused else f"{job.action} done"
            say(f"{where}: {done}, run {run_id} ({time.perf_counter() - started:.0f} s)")
    if failed:
        raise TrainingError(
            f"{len(failed)} of {len(jobs)} leaderboard jobs failed ({'; '.join(failed)}); the "
            "other runs are kept: fix the cause and run the same command again to retry these"
        )
    return out


# -- the study run -----------------------------------------------------------------------------
def _digest(dataset: str, scores: Sequence[RunScore]) -> str:
    """A digest of the study's rows: the same runs with the same scores give the same one."""
    rows = json.dumps([dataset, as_columns(scores)], sort_keys=True)
    return hashlib.sha256(rows.encode()).hexdigest()[:16]


def _study_tags(study: str) -> dict[str, str]:
    """Tags of a study's own run; with the process's, so a run whose process died is marked."""
    return {"fieldlab.leaderboard": study, "fieldlab.study": study, **process_tags()}


def _study_run(study: str, experiment: str, digest: str) -> str | None:
    """The finished run that logged study ``study`` with rows of ``digest``, if any."""
    exp = mlflow.get_experiment_by_name(experiment)
    same = mlflow.search_runs(
        [exp.experiment_id],
        filter_string=(
            f"tags.`fieldlab.leaderboard` = '{study}' and "
            f"tags.`fieldlab.leaderboard.digest` = '{digest}' and attributes.status = 'FINISHED'"
        ),
        output_format="list",
    )
    return same[0].info.run_id if same else None


def _record(dataset: str, study: str, rows: list[ModelRow], scores: list[RunScore]) -> None:
    """Log the study into the active run: table, runs, text, chart and per-model metrics."""
    from fieldlab.viz.leaderboard import leaderboard_figure

    mlflow.set_tag("fieldlab.leaderboard.digest", _digest(dataset, scores))
    mlflow.log_params(
        {
            "dataset": dataset,
            "models": ",".join(r.model for r in rows),
            "seeds": ",".join(f"{r.model}:{r.seeds}" for r in rows),
            "runs": len(scores),
        }
    )
    mlflow.log_table(as_columns(rows), "leaderboard.json")
    mlflow.log_table(as_columns(scores), "leaderboard_runs.json")
    mlflow.log_text(format_table(rows) + "\n", "leaderboard.txt")
    fig = leaderboard_figure(
        [r.model for r in rows],
        [r.test_mse_mean for r in rows],
        [r.test_mse_sd for r in rows],
        [r.seeds for r in rows],
        title=f"{study}: test MSE on {dataset} (mean and sd over seeds)",
    )
    mlflow.log_figure(fig, "leaderboard.png")
    metrics = {f"test_mse_mean/{r.model}": r.test_mse_mean for r in rows}
    metrics.update({f"test_mse_sd/{r.model}": r.test_mse_sd for r in rows if r.seeds > 1})
    mlflow.log_metrics(metrics)
