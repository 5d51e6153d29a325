"""Training the field forecaster discovers the field; runs record it; runs can be compared."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import matplotlib.image as mpimg
import pytest
import torch

import mlflow
from fieldlab.training.config import TrainConfig
from fieldlab.training.field_comparison import FIGURE, compare_runs, with_latest
from fieldlab.training.particles.problem import Problem as ParticleProblem
from fieldlab.training.run import train

DATASET = "aether-electrostatic-2d-mini"


@pytest.fixture(scope="module")
def data_root(mini_data: Callable[[str], Path]) -> Path:
    return mini_data(DATASET)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('mlflow') / 'mlflow.db'}"


def _config(**updates: object) -> TrainConfig:
    base = {
        "dataset": DATASET,
        "model": "field",
        "hidden": 32,
        "layers": 2,
        "epochs": 12,
        "lr": 3e-3,
        "batch_size": 100,
        "max_train": 100,
        "all_frames": True,
        "figure_every": 6,
        "patience": None,
        "field": {"hidden": 64},
    }
    return TrainConfig(**{**base, **updates})


@pytest.fixture(scope="module")
def trained(data_root: Path, store: str, tmp_path_factory: pytest.TempPathFactory):
    torch.set_num_threads(1)
    cfg = _config()
    problem = ParticleProblem(cfg, data_root)
    initial = problem.fields.score(problem.model)
    result = train(
        cfg,
        data_root=data_root,
        tracking_uri=store,
        checkpoint_root=tmp_path_factory.mktemp("ckpt"),
        progress=False,
    )
    return initial, result


def test_training_discovers_the_field(trained, store: str) -> None:
    initial, result = trained
    mlflow.set_tracking_uri(store)
    history = mlflow.tracking.MlflowClient().get_metric_history(
        result.run_id, "field_relative_error"
    )
    final = sorted(history, key=lambda m: m.step)[-1].value
    cosine = mlflow.get_run(result.run_id).data.metrics["field_cosine"]
    assert len(history) == result.epochs  # scored at every validation
    assert final < 0.85 * initial.relative_error
    assert cosine > initial.cosine + 0.25


def test_the_run_records_field_metrics_and_stepped_figures(trained, store: str) -> None:
    _, result = trained
    mlflow.set_tracking_uri(store)
    client = mlflow.tracking.MlflowClient()
    metrics = mlflow.get_run(result.run_id).data.metrics
    assert {"field_cosine", "field_mse", "field_relative_error"} <= set(metrics)
    images = [a.path for a in client.list_artifacts(result.run_id, "images")]

    def steps(key: str) -> set[str]:
        return {
            p.split("+step+")[1].split("+")[0]
            for p in images
            if p.startswith(f"images/{key}+") and p.endswith(".png")
        }

    drawn = {"0", "6", str(result.epochs - 1), str(result.best_epoch)}  # every 6, last, best
    assert steps("fields~learned") == drawn
    assert steps("fields~error") == drawn
    assert steps("fields~true") == {"0"}  # the truth does not change: drawn once
    root = {a.path for a in client.list_artifacts(result.run_id)}
    assert "discovered_field.png" in root  # what MLflow's Compare shows side by side


def test_the_model_page_agrees_with_the_run(trained, store: str) -> None:
    _, result = trained
    mlflow.set_tracking_uri(store)
    client = mlflow.tracking.MlflowClient()
    run = client.get_run(result.run_id)
    (output,) = run.outputs.model_outputs
    model = client.get_logged_model(output.model_id)
    assert model.tags["fieldlab.name"] == f"field-{run.info.run_name}"
    assert output.step == result.best_epoch
    linked = {m.key: m.value for m in model.metrics if m.key.startswith("best/")}
    assert linked["best/val_mse"] == pytest.approx(result.best_val_mse)
    assert linked == {k: v for k, v in run.data.metrics.items() if k.startswith("best/")}
    assert {m.dataset_name for m in model.metrics if m.key.startswith("best/")} == {DATASET}
    contexts = {
        {t.key: t.value for t in i.tags}["mlflow.data.context"] for i in run.inputs.dataset_inputs
    }
    assert contexts == {"training", "validation"}
    assert DATASET in run.data.tags["mlflow.note.content"]


def test_fields_compare_scores_runs_where_they_stay(
    trained, data_root: Path, store: str, tmp_path: Path
) -> None:
    _, first = trained
    second = train(
        _config(epochs=2, seed=1, run_name="second"),
        data_root=data_root,
        tracking_uri=store,
        checkpoint_root=tmp_path / "ckpt",
        progress=False,
    )
    out = tmp_path / "cmp.png"
    cmp = compare_runs(
        [first.run_id, second.run_id], out=out, tracking_uri=store, data_root=data_root
    )
    assert set(cmp.scores) == {first.run_id, second.run_id}
    assert mpimg.imread(out).shape[1] > 3 * 300  # three panels side by side
    mlflow.set_tracking_uri(store)
    comparison = mlflow.get_run(cmp.run_id)
    assert comparison.data.tags["fieldlab.compared_runs"] == f"{first.run_id},{second.run_id}"
    for rid in (first.run_id, second.run_id):
        run = mlflow.get_run(rid)
        assert "mlflow.parentRunId" not in run.data.tags  # never hidden under another run
        assert run.data.tags["fieldlab.comparison"] == cmp.run_id
        assert run.data.metrics["compared/field_cosine"] == pytest.approx(cmp.scores[rid].cosine)
    root = {a.path for a in mlflow.tracking.MlflowClient().list_artifacts(cmp.run_id)}
    assert {"field_comparison.png", "field_comparison.json"} <= root
    table = mlflow.load_table("field_comparison.json", run_ids=[cmp.run_id])
    assert list(table["run_name"]) == [mlflow.get_run(first.run_id).info.run_name, "second"]


def test_the_latest_comparison_heads_the_experiment_description_once() -> None:
    own = "Runs of my study.\n\n![a chart](https://example.org/chart.png)\n"
    first = with_latest(own, "a" * 32, ["field-a", "field-b"], DATASET)
    second = with_latest(first, "b" * 32, ["field-c", "field-d"], DATASET)
    assert first.startswith("**Latest field comparison**: `field-a`, `field-b` on ")
    assert f"](get-artifact?path={FIGURE}&run_uuid={'a' * 32})" in first
    assert second.startswith("**Latest field comparison**: `field-c`, `field-d` on ")
    assert second.count("Latest field comparison") == 1  # replaced, not stacked
    assert "a" * 32 not in second
    assert first.endswith(own)  # what others wrote is kept
    assert second.endswith(own)


def test_fields_compare_refuses_runs_without_a_field(
    trained, store: str, data_root: Path, tmp_path: Path
) -> None:
    from fieldlab.errors import TrainingError

    with pytest.raises(TrainingError, match="no MLflow run 'nope'"):
        compare_runs(["nope"], tracking_uri=store, data_root=data_root, out=tmp_path / "x.png")
    with pytest.raises(TrainingError, match="at least one run"):
        compare_runs([], tracking_uri=store)


def test_evaluate_forecasts_after_the_observed_frames(trained, data_root: Path, store: str) -> None:
    """Aether's protocol: 29 frames are observed, then 20 forecast, for every model alike."""
    from fieldlab.training.evaluate import evaluate

    _, result = trained
    out = evaluate(result.run_id, DATASET, tracking_uri=store, data_root=data_root, rollout_sims=8)
    assert len(out["frames"]) == 1 + 20  # the start, frame 28, then 20 forecast frames
    assert out["curves"]["rollout_mse"][0] == 0.0  # the rollout starts from the true frame 28
