"""An interrupted run resumes from its checkpoint and ends exactly where an uninterrupted run does."""

from __future__ import annotations

from pathlib import Path

import torch

import mlflow
from fieldlab.training import checkpoint
from fieldlab.training.run import train
from tests.training.conftest import tiny_config


def _history(run_id: str, key: str) -> list[tuple[int, float]]:
    client = mlflow.tracking.MlflowClient()
    return sorted((m.step, m.value) for m in client.get_metric_history(run_id, key))


def test_resume_continues_from_epoch_n_and_matches_an_uninterrupted_run(workdir: Path) -> None:
    config = tiny_config(epochs=5, schedule="cosine", figure_every=100)
    whole = train(config, progress=False)
    assert whole.stopped == "finished"

    first = train(config.with_updates(max_epochs_per_session=2), progress=False)
    assert first.stopped == "epoch_budget"
    assert first.model_uri is None
    saved = checkpoint.load(first.checkpoint_dir / checkpoint.LAST)
    assert saved["loop"]["epoch"] == 2
    assert mlflow.get_run(first.run_id).info.status == "KILLED"
    assert mlflow.get_run(first.run_id).data.tags["fieldlab.state"] == "paused"

    resumed = train(resume=first.run_id, progress=False)
    assert resumed.run_id == first.run_id
    assert resumed.stopped == "finished"
    assert resumed.epochs == 5
    assert resumed.model_uri is not None

    # the same MLflow run, each epoch logged once, every value as in the uninterrupted run
    for key in ("train_loss", "val_mse", "lr"):
        got, want = _history(first.run_id, key), _history(whole.run_id, key)
        assert [s for s, _ in got] == [0, 1, 2, 3, 4]
        assert got == want, key
    # the optimizer state carried across the interruption: the final weights and Adam moments match
    a = checkpoint.load(resumed.checkpoint_dir / checkpoint.LAST)
    b = checkpoint.load(whole.checkpoint_dir / checkpoint.LAST)
    for key in a["model"]:
        assert torch.equal(a["model"][key], b["model"][key]), key
    moments_a = a["optimizer"]["state"]
    moments_b = b["optimizer"]["state"]
    assert moments_a.keys() == moments_b.keys()
    for i in moments_a:
        assert torch.equal(moments_a[i]["exp_avg_sq"], moments_b[i]["exp_avg_sq"])
        assert float(moments_a[i]["step"]) == float(moments_b[i]["step"]) == 5 * 2  # 2 batches
    assert mlflow.get_run(first.run_id).info.status == "FINISHED"
