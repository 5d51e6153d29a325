"""A leaderboard trains every (model, seed) as its own top-level run of one study on a real local
Dask cluster, resumes what paused, tables the runs' own test scores, and a rerun trains nothing."""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from mlflow.tracking import MlflowClient
from typer.testing import CliRunner

import mlflow
from fieldlab.cli import app
from fieldlab.errors import TrainingError
from fieldlab.training.leaderboard import Leaderboard, leaderboard
from fieldlab.training.leaderboard_scores import N_PARAMETERS, RunScore, format_table, summarise
from fieldlab.viz.leaderboard import leaderboard_figure
from tests.training.conftest import DATASET

MODELS = ["egnn", "fa-gnn"]
SEEDS = 2
STUDY = "tiny-board"
TINY = {
    "hidden": 8, "layers": 1, "batch_size": 20, "max_train": 20, "figure_every": 100,
    "patience": None,
}  # fmt: skip
CLI_TINY = [f"--set={k}={'null' if v is None else v}" for k, v in TINY.items()]


def _experiment_runs() -> list[mlflow.entities.Run]:
    return mlflow.search_runs(experiment_names=["fieldlab"], output_format="list")


def _trained_runs() -> list[mlflow.entities.Run]:
    """The study's training runs (the study's own run has no model tag)."""
    return [r for r in _experiment_runs() if "model" in r.data.tags]


@dataclass
class Flow:
    """Three leaderboards of one study in one store: paused, resumed, rerun (the command)."""

    paused: Leaderboard
    paused_states: dict[str, str]
    paused_spans: list[tuple[int, int]]
    resumed: Leaderboard
    runs_before_rerun: set[str]
    rerun_output: str
    rerun_exit: int
    runs_after_rerun: set[str]


@pytest.fixture(scope="module")
def flow(tmp_path_factory: pytest.TempPathFactory, data_root: Path) -> Iterator[Flow]:
    """Each run stops after one of its two epochs (a session budget); the next leaderboard
    resumes them; a third, through ``fieldlab leaderboard``, finds everything done."""
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(tmp_path_factory.mktemp("board"))
        mp.setenv("FIELDLAB_DATA", str(data_root))
        for name in ("MLFLOW_TRACKING_URI", "MLFLOW_RUN_ID", "FIELDLAB_CHECKPOINTS"):
            mp.delenv(name, raising=False)
        torch.set_num_threads(1)
        common = {"epochs": 2, "study": STUDY, "workers": 2, "rollout_sims": 4}
        budget = {**TINY, "max_epochs_per_session": 1}
        paused = leaderboard(DATASET, MODELS, SEEDS, settings=budget, **common)
        states = {r.info.run_id: r.data.tags["fieldlab.state"] for r in _trained_runs()}
        spans = [(r.info.start_time, r.info.end_time) for r in _trained_runs()]
        resumed = leaderboard(DATASET, MODELS, SEEDS, settings=TINY, **common)
        before = {r.info.run_id for r in _experiment_runs()}
        args = [
            "leaderboard", DATASET, "--models", ",".join(MODELS), "--seeds", str(SEEDS),
            "--epochs", "2", "--study", STUDY, "--rollout-sims", "4", *CLI_TINY,
        ]  # fmt: skip
        result = CliRunner().invoke(app, args)
        after = {r.info.run_id for r in _experiment_runs()}
        yield Flow(paused, states, spans, resumed, before, result.output, result.exit_code, after)


def test_runs_stopped_by_their_session_budget_are_left_paused_and_no_study_is_logged(
    flow: Flow,
) -> None:
    assert sorted(flow.paused.pending) == [(m, s) for m in MODELS for s in range(SEEDS)]
    assert set(flow.paused.actions.values()) == {"train"}
    assert flow.paused.study_run_id is None
    assert flow.paused.rows == []
    assert sorted(flow.paused_states.values()) == ["paused"] * 4


def test_each_single_threaded_worker_trains_one_run_at_a_time(flow: Flow) -> None:
    """Two workers: never more than two runs in training at once (a job that read its data
    through the cluster would free its worker for the next job, and the runs would share a core)."""
    events = sorted(
        [(start, 1) for start, _ in flow.paused_spans] + [(end, -1) for _, end in flow.paused_spans]
    )
    running = peak = 0
    for _, change in events:
        running += change
        peak = max(peak, running)
    assert peak <= 2


def test_the_next_leaderboard_resumes_those_same_runs_to_completion(flow: Flow) -> None:
    assert set(flow.resumed.actions.values()) == {"resume"}
    assert {s.run_id for s in flow.resumed.runs} == set(flow.paused_states)
    for score in flow.resumed.runs:
        run = mlflow.get_run(score.run_id)
        assert run.data.tags["fieldlab.state"] == "complete"
        assert run.data.metrics["epochs"] == 2
        assert run.info.status == "FINISHED"


def test_the_table_holds_each_models_mean_and_sd_of_its_runs_logged_test_mse(flow: Flow) -> None:
    board = flow.resumed
    assert [r.model for r in board.rows] == MODELS
    assert len(board.runs) == 4
    for row in board.rows:
        runs = [r for r in _trained_runs() if r.data.tags["model"] == row.model]
        assert sorted(int(r.data.params["seed"]) for r in runs) == list(range(SEEDS))
        mse = [r.data.metrics["test/mse"] for r in runs]
        assert row.seeds == SEEDS
        assert row.test_mse_mean == pytest.approx(statistics.fmean(mse), rel=1e-12)
        assert row.test_mse_sd == pytest.approx(statistics.stdev(mse), rel=1e-12)
        assert row.test_mse_sd > 0  # two seeds give two different models
        # the parameter count is the model's: the same for both seeds, and EGNN's differs
        assert {r.data.metrics["n_parameters"] for r in runs} == {row.n_parameters}
        assert row.equivariance_error < 1e-5  # both models are exactly E(n)-equivariant
        assert row.samples_per_s > 0
        assert row.wall_time_s > 0
        for r in runs:  # the training passes are part of the run's time, validation the rest
            passes = MlflowClient().get_metric_history(r.info.run_id, "epoch_train_time_s")
            assert len(passes) == r.data.metrics["epochs"]
            total = r.data.metrics["train_time_s"]
            assert total == pytest.approx(sum(m.value for m in passes), rel=1e-9)
            assert 0 < total < r.data.metrics["wall_time_s"]
    assert board.rows[0].n_parameters != board.rows[1].n_parameters


def test_every_trained_run_is_a_top_level_run_tagged_with_the_study(flow: Flow) -> None:
    trained = _trained_runs()
    assert len(trained) == 4
    for run in trained:
        assert "mlflow.parentRunId" not in run.data.tags
        assert run.data.tags["fieldlab.study"] == STUDY
        assert run.data.params["dataset"] == DATASET


def test_the_study_is_its_own_run_with_the_table_and_the_chart(flow: Flow) -> None:
    run = mlflow.get_run(flow.resumed.study_run_id)
    assert run.data.tags["fieldlab.leaderboard"] == STUDY
    assert "mlflow.parentRunId" not in run.data.tags
    table = mlflow.load_table("leaderboard.json", run_ids=[run.info.run_id])
    assert list(table["model"]) == MODELS
    for row, (_, logged) in zip(flow.resumed.rows, table.iterrows(), strict=True):
        assert logged["test_mse_mean"] == pytest.approx(row.test_mse_mean)
        assert logged["test_mse_sd"] == pytest.approx(row.test_mse_sd)
    assert run.data.metrics["test_mse_mean/egnn"] == pytest.approx(
        flow.resumed.rows[0].test_mse_mean
    )
    artifacts = {a.path for a in mlflow.MlflowClient().list_artifacts(run.info.run_id)}
    assert {"leaderboard.png", "leaderboard.txt", "leaderboard_runs.json"} <= artifacts


def test_a_rerun_trains_nothing_logs_no_run_and_prints_the_same_table(flow: Flow) -> None:
    assert flow.rerun_exit == 0, flow.rerun_output
    assert "0 trained, 0 resumed, 0 evaluated, 4 kept" in flow.rerun_output
    assert flow.runs_after_rerun == flow.runs_before_rerun
    assert flow.resumed.text in flow.rerun_output
    assert f"logged as run {flow.resumed.study_run_id}" in flow.rerun_output


def test_a_study_refuses_to_mix_runs_trained_with_other_settings(flow: Flow) -> None:
    with pytest.raises(TrainingError, match=r"was trained with epochs=2, not 3.*--study"):
        leaderboard(DATASET, MODELS, SEEDS, epochs=3, settings=TINY, study=STUDY)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--models", "egnn,fagnn"], "unknown model 'fagnn' in --models; for dataset"),
        (["--models", "egnn,egnn"], "model 'egnn' is listed twice"),
        (["--models", "mesh-gnn"], "but model 'mesh-gnn' forecasts"),
        (["--set", "seed=3"], "--set seed=... is chosen by the leaderboard"),
        (["--study", "a'b"], 'study name "a\'b" may hold'),
    ],
)
def test_a_bad_request_is_one_line_and_exit_2_before_anything_runs(
    args: list[str], message: str, workdir: Path
) -> None:
    result = CliRunner().invoke(app, ["leaderboard", DATASET, *args])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith("error: ")
    assert message in lines[0]
    assert not (workdir / "mlflow").exists()  # no store touched, no cluster started


def test_seeds_given_for_a_model_outside_the_study_are_refused_naming_it(workdir: Path) -> None:
    with pytest.raises(TrainingError, match=r"seeds are given for 'ponita'.*drop its seeds"):
        leaderboard(DATASET, ["egnn"], {"egnn": 2, "ponita": 2})
    assert not (workdir / "mlflow").exists()


# -- the table, from known numbers -------------------------------------------------------------
def _score(model: str, seed: int, mse: float) -> RunScore:
    return RunScore(model, seed, f"{model}{seed}", mse, 100, 50.0, 2.0, 1e-7)


def test_a_model_row_is_the_mean_and_sample_sd_of_its_seeds_in_the_order_asked() -> None:
    scores = [_score("b", 0, 1.0), _score("a", 0, 0.2), _score("b", 1, 3.0), _score("a", 1, 0.4)]
    rows = summarise(scores, ["b", "a"])
    assert [r.model for r in rows] == ["b", "a"]  # never re-ordered by test score
    assert rows[0].test_mse_mean == 2.0
    assert rows[0].test_mse_sd == pytest.approx(math.sqrt(2.0))  # ddof = 1
    assert rows[1].test_mse_mean == pytest.approx(0.3)
    (single,) = summarise([_score("a", 0, 0.2)], ["a"])
    assert math.isnan(single.test_mse_sd)
    assert "-" in format_table([single]).splitlines()[2].split()[3]
    with pytest.raises(TrainingError, match="no scored run of model 'c'"):
        summarise(scores, ["c"])


def test_the_chart_draws_each_mean_with_its_sd_and_goes_logarithmic_over_a_wide_span() -> None:
    fig = leaderboard_figure(["egnn", "ponita"], [0.01, 0.02], [0.001, math.nan], [3, 1], title="t")
    (ax,) = fig.axes
    assert [p.get_height() for p in ax.patches] == [0.01, 0.02]
    assert ax.get_yscale() == "linear"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["egnn\n(3 seeds)", "ponita\n(1 seed)"]
    wide = leaderboard_figure(["a", "b"], [1.0, 0.001], [0.1, 0.0001], [2, 2], title="t")
    assert wide.axes[0].get_yscale() == "log"


def test_a_row_of_a_run_that_was_never_evaluated_names_the_run_and_the_fix(workdir: Path) -> None:
    mlflow.set_tracking_uri(f"sqlite:///{workdir / 'store.db'}")
    mlflow.set_experiment("unevaluated")
    with mlflow.start_run(tags={"model": "egnn"}) as run:
        mlflow.log_params({"seed": 0, "n_train": 20})
        mlflow.log_metrics({"epochs": 2, "wall_time_s": 1.0})
    with pytest.raises(TrainingError, match=rf"run {run.info.run_id} lacks test/mse.*rerun"):
        RunScore.from_run(mlflow.get_run(run.info.run_id))


def test_throughput_counts_the_training_passes_not_validation(workdir: Path) -> None:
    mlflow.set_tracking_uri(f"sqlite:///{workdir / 'store.db'}")
    mlflow.set_experiment("throughput")
    base = {"test/mse": 0.01, "test/equivariance_error": 1e-7, "epochs": 4, N_PARAMETERS: 10}
    ids = []
    for kind in ("total", "per epoch", "total at the last epoch", "none"):
        with mlflow.start_run(tags={"model": "egnn"}) as run:
            mlflow.log_params({"seed": 0, "n_train": 50})
            mlflow.log_metrics({**base, "wall_time_s": 10.0})
            for epoch in range(4):  # 0.5 s of training pass an epoch, under either name
                if kind == "total":
                    mlflow.log_metric("epoch_train_time_s", 0.5, step=epoch)
                elif kind != "none":  # runs from before the per-epoch name
                    mlflow.log_metric("train_time_s", 0.5, step=epoch)
            if kind == "total":  # what a finished run logs after its last epoch
                mlflow.log_metric("train_time_s", 2.0, step=4)
            elif kind == "total at the last epoch":  # the earliest runs: beside epoch 3's own
                time.sleep(0.01)
                mlflow.log_metric("train_time_s", 2.0, step=3)
        ids.append(run.info.run_id)
    timed, per_epoch, earliest, older = (RunScore.from_run(mlflow.get_run(i)) for i in ids)
    assert timed.samples_per_s == pytest.approx(50 * 4 / 2.0)  # validation time left out
    assert timed.wall_time_s == 10.0
    assert per_epoch.samples_per_s == pytest.approx(50 * 4 / 2.0)  # summed, not the last epoch
    assert earliest.samples_per_s == pytest.approx(50 * 4 / 2.0)  # the total not added again
    assert older.samples_per_s == pytest.approx(50 * 4 / 10.0)  # logged before: wall time
