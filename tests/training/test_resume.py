"""An interrupted run resumes from its checkpoint and ends exactly where an uninterrupted run does."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import torch

import mlflow
from fieldlab.training import checkpoint
from fieldlab.training.run import train, training_seconds
from fieldlab.training.store import default_tracking_uri
from tests.training.conftest import DATASET, tiny_config


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


def test_ctrl_c_keeps_the_checkpoint_and_the_run_resumes(workdir: Path) -> None:
    """Interrupt a real ``fieldlab train`` process with SIGINT, then resume it."""
    cmd = [
        str(Path(sys.executable).with_name("fieldlab")), "train", "--dataset", DATASET,
        "--hidden", "8", "--layers", "1", "--batch-size", "20", "--epochs", "4000",
        "--set", "max_train=20", "--set", "figure_every=1000", "--set", "patience=null",
        "--no-progress",
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    root = workdir / "mlflow" / "artifacts" / "checkpoints"
    deadline = time.monotonic() + 120
    while not list(root.glob("*/last.pt")) and time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()[0]
        time.sleep(0.2)
    time.sleep(1.0)
    # Ctrl-C; pressed once more if the process is still training 30 s later (once, on a heavily
    # loaded machine, a first press was lost and the run went on); a clean stop takes seconds
    proc.send_signal(signal.SIGINT)
    try:
        output = proc.communicate(timeout=30)[0]
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGINT)
        output = proc.communicate(timeout=60)[0]
    assert proc.returncode == 130, output
    (last,) = root.glob("*/last.pt")
    run_id = last.parent.name
    assert f"resume with: fieldlab train --resume {run_id}" in output
    mlflow.set_tracking_uri(default_tracking_uri())  # the store the process wrote to
    assert mlflow.get_run(run_id).info.status == "KILLED"
    done = checkpoint.load(last)["loop"]["epoch"]
    assert 1 <= done < 4000

    resumed = train(resume=run_id, progress=False, session={"max_epochs_per_session": 2})
    assert resumed.epochs == done + 2
    steps = [s for s, _ in _history(run_id, "train_loss")]
    assert steps == list(range(done + 2))  # no epoch lost or logged twice


def test_a_run_resumed_from_an_older_checkpoint_counts_every_epochs_training_time() -> None:
    # epochs 0-1 checkpointed when the per-epoch value was still named train_time_s
    history = [
        {"epoch": 0, "train_time_s": 1.5, "epoch_time_s": 2.0},
        {"epoch": 1, "train_time_s": 1.25, "epoch_time_s": 1.75},
        {"epoch": 2, "epoch_train_time_s": 2.0, "epoch_time_s": 2.5},
    ]
    assert training_seconds(history) == 4.75
