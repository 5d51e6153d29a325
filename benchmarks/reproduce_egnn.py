"""Reproduce EGNN's 3-D charged n-body result (Satorras et al. 2021, Table 2: test MSE 0.0071).

The published protocol: the first 3,000 training simulations of egnn-charged-3d, input frame 30,
target frame 40, batch 100, Adam (lr 5e-4, weight decay 1e-12), EGNN_vel with 4 layers of 64
hidden units, the position MSE loss in raw (unnormalised) coordinates, 10,000 epochs, and the test
MSE at the epoch of the best validation MSE (validated every 5 epochs).

10,000 epochs take hours on a laptop CPU, so this script trains under a wall-time budget
(``--minutes``) with a cosine schedule fitted to the budget (see :mod:`fieldlab.training.loop`),
and reports honestly how many epochs it ran, for how long, and the test MSE beside 0.0071.
Everything is logged to MLflow (default: the local store ``mlflow/mlflow.db``).

    fieldlab generate egnn-charged-3d          # once, about a minute
    python benchmarks/reproduce_egnn.py --minutes 60

Baseline: the published EGNN test MSE, 0.0071 (PONITA's table: 0.0070).
"""

from __future__ import annotations

import argparse
import time

import torch

import mlflow
from fieldlab.training import TrainConfig, evaluate_mse, load_forecaster_from_run, load_task, train

PUBLISHED_MSE = 0.0071
DATASET = "egnn-charged-3d"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=60.0, help="wall-time budget")
    parser.add_argument("--epochs", type=int, default=10_000, help="at most this many epochs")
    parser.add_argument("--val-every", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tracking-uri", default=None)
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--no-progress", action="store_true", help="plain log lines instead")
    args = parser.parse_args()

    config = TrainConfig(
        dataset=DATASET,
        model="egnn",
        hidden=64,
        layers=4,
        epochs=args.epochs,
        lr=5e-4,
        weight_decay=1e-12,
        schedule="cosine",
        batch_size=100,
        seed=args.seed,
        max_train=3000,
        normalise=False,
        velocity_weight=0.0,
        val_every=args.val_every,
        patience=None,
        time_budget_s=args.minutes * 60.0,
        figure_every=max(args.epochs // 20, 1),
        threads=args.threads,
        experiment="reproduce-egnn",
        run_name=f"egnn-charged-3d {args.minutes:g} min",
    )
    started = time.perf_counter()
    result = train(
        config,
        tracking_uri=args.tracking_uri,
        data_root=args.data_root,
        progress=not args.no_progress,
        log_every=None if not args.no_progress else 10,
    )
    model = load_forecaster_from_run(result.run_id, tracking_uri=args.tracking_uri)
    test = load_task(DATASET, "test", data_root=args.data_root)
    with torch.no_grad():
        test_mse, _ = evaluate_mse(model, test, 1000)
    with mlflow.start_run(run_id=result.run_id):
        mlflow.log_metrics({"test_mse": test_mse, "published_test_mse": PUBLISHED_MSE})
    wall = time.perf_counter() - started
    print(
        f"\nEGNN on {DATASET} (3,000 training simulations, frame 30 -> 40), "
        f"MLflow run {result.run_id}\n"
        f"  epochs run          {result.epochs} of the published 10,000 ({result.stopped})\n"
        f"  training wall time  {result.wall_s / 60:.1f} min "
        f"({result.wall_s / max(result.epochs, 1):.2f} s per epoch); total {wall / 60:.1f} min\n"
        f"  best validation     {result.best_val_mse:.5f} at epoch {result.best_epoch}\n"
        f"  test MSE            {test_mse:.5f}  (published {PUBLISHED_MSE}; "
        f"ratio {test_mse / PUBLISHED_MSE:.2f})"
    )


if __name__ == "__main__":
    main()
