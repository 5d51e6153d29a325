"""The training machinery is one for every kind of data: each test runs on particle trajectories
and on grid fields alike (the ``kind`` fixture), through the same trainer, run, checkpoints,
tracking, evaluation and serving."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

import mlflow
from fieldlab.catalog import load_card
from fieldlab.errors import TrainingError
from fieldlab.training import checkpoint
from fieldlab.training.evaluate import evaluate
from fieldlab.training.loop import Trainer
from fieldlab.training.problem import KINDS, kind_of
from fieldlab.training.run import train
from fieldlab.training.runs import load_forecaster_from_run
from fieldlab.training.tracking import run_model_uri
from tests.training.conftest import DATASET, GRID, kind_config

OTHER_DATASET = {"particles": "nri-charged-2d-mini", "grid": DATASET}
"""A dataset each kind's model cannot forecast (2-D particles; particles for a grid model)."""


def _history(run_id: str, key: str) -> list[tuple[int, float]]:
    client = mlflow.tracking.MlflowClient()
    return sorted((m.step, m.value) for m in client.get_metric_history(run_id, key))


def test_a_paused_run_resumes_to_the_metrics_of_an_uninterrupted_one(kind: str) -> None:
    config = kind_config(kind, epochs=4, schedule="cosine", figure_every=100)
    whole = train(config, progress=False)
    first = train(config.with_updates(max_epochs_per_session=2), progress=False)
    assert first.stopped == "epoch_budget"
    assert mlflow.get_run(first.run_id).info.status == "KILLED"
    resumed = train(resume=first.run_id, progress=False)
    assert (resumed.run_id, resumed.stopped, resumed.epochs) == (first.run_id, "finished", 4)
    for key in ("train_loss", "val_mse", "lr"):
        assert _history(first.run_id, key) == _history(whole.run_id, key), key
    a = checkpoint.load(resumed.checkpoint_dir / checkpoint.LAST)["model"]
    b = checkpoint.load(whole.checkpoint_dir / checkpoint.LAST)["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_a_run_logs_its_kinds_settings_only_and_a_model_that_serves_like_the_best_weights(
    kind: str,
) -> None:
    result = train(kind_config(kind, epochs=2), progress=False)
    run = mlflow.get_run(result.run_id)
    other = next(k for k in KINDS if k != kind)
    assert run.data.tags["task.kind"] == kind
    assert any(p.startswith(f"{kind}.") for p in run.data.params)
    assert not any(p.startswith(f"{other}.") for p in run.data.params)
    client = mlflow.MlflowClient()
    config = json.loads(Path(client.download_artifacts(result.run_id, "config.json")).read_text())
    assert kind in config  # the whole config is kept in config.json
    assert {i.dataset.name for i in run.inputs.dataset_inputs} == {config["dataset"]}
    splits = {
        tags["mlflow.data.context"]: tags["split"]
        for tags in ({t.key: t.value for t in i.tags} for i in run.inputs.dataset_inputs)
    }
    validated_on = run.data.params.get("val_source", "val")
    assert validated_on.startswith("train[" if kind == "grid" else "val")  # no grid val split
    assert splits == {"training": "train", "validation": validated_on}

    restored = load_forecaster_from_run(result.run_id)
    best = checkpoint.load(result.checkpoint_dir / checkpoint.BEST)["model"]
    assert all(torch.equal(restored.state_dict()[k], best[k]) for k in best)
    served = mlflow.pyfunc.load_model(run_model_uri(result.run_id))
    problem = kind_of(load_card(config["dataset"])).problem()
    example = served.input_example  # logged with the model, in its signature's shapes
    got, want = served.predict(example), problem.serve(restored, example)
    assert got.keys() == want.keys()
    for key in got:
        np.testing.assert_array_equal(got[key], want[key])


def test_a_failed_evaluation_leaves_the_run_finished_and_unscored(kind: str) -> None:
    result = train(kind_config(kind, epochs=1), progress=False)
    own = kind_config(kind).dataset
    with pytest.raises(TrainingError, match="rollout_sims is 0"):
        evaluate(result.run_id, own, rollout_sims=0)
    with pytest.raises(TrainingError, match=f"'{OTHER_DATASET[kind]}'"):
        evaluate(result.run_id, OTHER_DATASET[kind])
    run = mlflow.get_run(result.run_id)
    assert run.info.status == "FINISHED"
    assert not [k for k in run.data.metrics if k.startswith(f"test/{OTHER_DATASET[kind]}")]
    out = evaluate(result.run_id, own, rollout_sims=2)
    assert np.isfinite(out["metrics"]["mse"])
    run = mlflow.get_run(result.run_id)
    assert run.info.status == "FINISHED"
    assert run.data.metrics["test/mse"] == pytest.approx(out["metrics"]["mse"])
    steps = [s for s, _ in _history(result.run_id, "test/rollout_mse")]
    assert steps == [int(f) for f in out["frames"]]  # one value per frame, none twice


def test_a_wall_time_budget_ends_the_run_in_time_with_the_last_epoch_validated(kind: str) -> None:
    result = train(kind_config(kind, epochs=10_000, time_budget_s=3.0), progress=False)
    assert result.stopped == "time_budget"
    assert 1 <= result.epochs < 10_000
    assert len(_history(result.run_id, "val_mse")) == result.epochs


class _StopBefore:
    """An objective that sets ``stop`` before its ``n``-th batch, as a Ctrl-C mid-epoch."""

    def __init__(self, inner: object, n: int, stop: threading.Event) -> None:
        self.inner, self.n, self.stop, self.batches = inner, n, stop, 0

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)

    def batch_loss(self, model: torch.nn.Module, batch: object, epoch: int) -> object:
        self.batches += 1
        if self.batches == self.n:
            self.stop.set()
        return self.inner.batch_loss(model, batch, epoch)


def test_a_stop_mid_epoch_abandons_that_epoch_only(kind: str, grid_root: Path) -> None:
    config = kind_config(kind, epochs=10, batch_size=6 if kind == "grid" else 20)
    problem = kind_of(load_card(config.dataset)).problem()(config, grid_root)
    batches = -(-len(problem.train_data) // config.batch_size)
    stop = threading.Event()
    objective = _StopBefore(problem, 2 * batches + 1, stop)  # the 3rd epoch's first batch
    trainer = Trainer(config, problem.model, problem.train_data, problem.val_data, objective)
    assert trainer.fit(progress=False, stop=stop) == "interrupted"
    assert trainer.state.epoch == 2
    assert [h["epoch"] for h in trainer.state.history] == [0, 1]
    assert objective.batches == 2 * batches + 1


def test_the_kinds_cover_every_trainable_system() -> None:
    assert kind_of(load_card(DATASET)).name == "particles"
    assert kind_of(load_card(GRID)).name == "grid"


def test_max_val_validates_on_the_first_simulations_and_the_run_says_which(kind: str) -> None:
    full = KINDS[kind].problem()(kind_config(kind), None)
    capped = KINDS[kind].problem()(kind_config(kind, max_val=1), None)
    n = capped.params["n_val"]
    assert 0 < n < full.params["n_val"]
    first = full.val_data.position if kind == "particles" else full.val_data.state
    mine = capped.val_data.position if kind == "particles" else capped.val_data.state
    np.testing.assert_array_equal(np.asarray(mine), np.asarray(first[:n]))  # the same, first
    source = capped.params["val_source"]
    assert source != full.params.get("val_source", "val")

    result = train(kind_config(kind, epochs=1, max_val=1), progress=False)
    run = mlflow.get_run(result.run_id)
    splits = {
        tags["mlflow.data.context"]: tags["split"]
        for tags in ({t.key: t.value for t in i.tags} for i in run.inputs.dataset_inputs)
    }
    assert splits["validation"] == source
    assert run.data.params["max_val"] == "1"
    assert run.data.params["n_val"] == str(n)
