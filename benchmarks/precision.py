"""Reduced precision: what bf16 autocast (and TF32 on a GPU) does to EGNN's test MSE and speed.

EGNN on ``egnn-charged-3d`` (frame 30 -> 40, the first ``--max-train`` training simulations,
batch 100, Adam 5e-4, cosine over ``--epochs``), one tracked run per (precision, seed) through
``fieldlab train`` and ``fieldlab evaluate``; selection on validation. Baseline: the same runs
in float32 (``precision=fp32``, the default). Printed per precision: the test MSE (mean over
seeds), its ratio to float32's, and training samples/s. TF32 runs only where CUDA is present.

    python benchmarks/precision.py [--epochs 30] [--seeds 0,1] [--device auto] [--threads 1]
"""

from __future__ import annotations

import argparse
import statistics

import torch

import mlflow
from fieldlab.pipelines.pipeline import generate
from fieldlab.training.config import TrainConfig
from fieldlab.training.evaluate import evaluate
from fieldlab.training.run import train

DATASET = "egnn-charged-3d"


def run(precision: str, seed: int, args: argparse.Namespace) -> tuple[float, float]:
    """Test MSE and training samples/s of one run."""
    config = TrainConfig(
        dataset=DATASET, model="egnn", epochs=args.epochs, seed=seed, patience=None,
        max_train=args.max_train, precision=precision, device=args.device,
        threads=args.threads, experiment="benchmark-precision",
        run_name=f"egnn-{precision}-seed{seed}",
    )  # fmt: skip
    result = train(config, progress=False)
    evaluate(result.run_id, DATASET, rollout_sims=args.rollout_sims)
    metrics = mlflow.get_run(result.run_id).data.metrics
    samples_per_s = args.max_train * result.epochs / metrics["wall_time_s"]
    return metrics["test/mse"], samples_per_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--max-train", type=int, default=3000)
    parser.add_argument("--rollout-sims", type=int, default=100)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    generate(DATASET, progress=False)
    seeds = [int(s) for s in args.seeds.split(",")]
    precisions = ["fp32", "bf16"] + (["tf32"] if torch.cuda.is_available() else [])
    results: dict[str, list[tuple[float, float]]] = {p: [] for p in precisions}
    for seed in seeds:  # interleaved, so each precision sees the same machine
        for precision in precisions:
            results[precision].append(run(precision, seed, args))
    base = statistics.mean(m for m, _ in results["fp32"])
    print(f"EGNN on {DATASET}, {args.max_train} training sims, {args.epochs} epochs, "
          f"seeds {seeds}, device {args.device}")  # fmt: skip
    print(f"{'precision':<10}{'test MSE':>12}{'per seed':>30}{'ratio':>8}{'samples/s':>11}")
    for precision, rows in results.items():
        mse = statistics.mean(m for m, _ in rows)
        per_seed = ", ".join(f"{m:.5f}" for m, _ in rows)
        speed = statistics.mean(s for _, s in rows)
        print(f"{precision:<10}{mse:12.5f}{per_seed:>30}{mse / base:8.3f}{speed:11.0f}")


if __name__ == "__main__":
    main()
