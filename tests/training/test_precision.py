"""The precision setting: off by default, bf16 autocast really computes in bfloat16 and still
trains, TF32 is refused where there is no CUDA."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import mlflow
from fieldlab.errors import TrainingError
from fieldlab.training import checkpoint
from fieldlab.training.config import build_config
from fieldlab.training.loop import Trainer
from fieldlab.training.precision import step_precision
from fieldlab.training.run import check_inputs, train
from tests.training.conftest import kind_config, tiny_config


def _trainer(workdir: Path, **updates: object) -> Trainer:
    config = tiny_config(**updates)
    problem = check_inputs(config).problem()(config, None)
    return Trainer(problem.config, problem.model, problem.train_data, problem.val_data, problem)


def test_bf16_changes_the_forward_pass_slightly_and_fp32_not_at_all(workdir: Path) -> None:
    trainer = _trainer(workdir)
    batch = trainer.train_data.subset(torch.arange(20))
    cpu = torch.device("cpu")

    def loss(precision: str) -> float:
        with torch.no_grad(), step_precision(precision, cpu):
            return float(trainer.objective.batch_loss(trainer.model, batch, 0)[0])

    plain = float(trainer.objective.batch_loss(trainer.model, batch, 0)[0].detach())
    assert loss("fp32") == plain
    bf16 = loss("bf16")
    assert bf16 != plain  # the products really ran in bfloat16 (8 mantissa bits) ...
    assert abs(bf16 - plain) < 0.05 * plain  # ... and the loss stayed close to float32's
    with torch.no_grad(), step_precision("bf16", cpu):
        layer = torch.nn.Linear(4, 4)
        assert layer(torch.ones(2, 4)).dtype == torch.bfloat16
    assert layer(torch.ones(2, 4)).dtype == torch.float32  # nothing leaks past the block


def test_a_bf16_run_trains_logs_its_precision_and_keeps_float32_weights(
    workdir: Path, kind: str
) -> None:
    result = train(kind_config(kind, epochs=2, precision="bf16"), progress=False)
    assert result.stopped == "finished"
    assert result.best_val_mse < float("inf")
    assert mlflow.get_run(result.run_id).data.params["precision"] == "bf16"
    weights = checkpoint.load(result.checkpoint_dir / checkpoint.BEST)["model"]
    assert {t.dtype for t in weights.values() if t.is_floating_point()} == {torch.float32}


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA, so TF32 is valid")
def test_tf32_without_cuda_is_refused_before_a_run_starts(workdir: Path) -> None:
    with pytest.raises(TrainingError, match=r"precision 'tf32'.*precision=bf16"):
        train(tiny_config(precision="tf32", device="cpu"), progress=False)
    assert not (workdir / "mlflow").exists()  # refused before the tracking store was opened


def test_an_unknown_precision_names_the_choices(workdir: Path) -> None:
    with pytest.raises(TrainingError, match=r"precision.*'fp32', 'tf32' or 'bf16'"):
        build_config({"dataset": "egnn-charged-3d-mini", "precision": "fp8"})
