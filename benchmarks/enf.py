"""ENF forecasting (Knigge, Wessels et al. 2024) through fieldlab's training pipeline.

Every number comes from tracked runs (``fieldlab train`` then ``fieldlab evaluate``), scored on
the test split from frame 0 in the field's units, inside (frames 1-9) and outside (10-19) the
training horizon. Baselines named in each row:

1. ``navier-stokes-torus``: ENF against persistence (frame 0 for every frame) and the mesh GNN;
   test MSE inside / outside the horizon.
2. ``diffusion-plane``: ENF fitted on 10% of the initial grid points against all of them (the
   same run; ``test/observed_10/...``); the ratio is sparse / full.
3. ``heat-sphere``: ENF's nRMSE inside / outside, against persistence.
4. ``navier-stokes-torus``: the equivariant ENF against its ablation (absolute positions,
   ``equivariant: false``); the ratio is ablation / equivariant.

    python benchmarks/enf.py                        # the full protocol (hours on a GPU)
    python benchmarks/enf.py --quick --minutes 2    # mini datasets, the CPU preset (a smoke run)

``--quick`` uses the ``-mini`` cards and :meth:`~fieldlab.models.enf.ENFOptions.small`; its
numbers say that the pipeline runs, not how ENF compares.
"""

from __future__ import annotations

import argparse
from typing import Any

import mlflow
from fieldlab.models.enf import ENFOptions
from fieldlab.pipelines.pipeline import generate
from fieldlab.training.config import TrainConfig
from fieldlab.training.evaluate import evaluate
from fieldlab.training.run import train


def run(dataset: str, model: str, args: argparse.Namespace, **settings: Any) -> dict[str, float]:
    """Train ``model`` on ``dataset`` within the budget, evaluate it; its ``test/`` metrics."""
    common: dict[str, Any] = {
        "dataset": dataset, "model": model, "epochs": args.epochs, "lr": args.lr,
        "batch_size": args.batch_size, "time_budget_s": 60 * args.minutes, "patience": None,
        "experiment": "benchmark-enf", "seed": args.seed, "device": args.device,
    }  # fmt: skip
    if model == "enf":
        options = ENFOptions.small() if args.quick else ENFOptions()
        options = options.model_copy(update=settings.pop("options", {}))
        common["enf"] = {"options": options.model_dump(), "observed_fractions": [0.1]}
    if args.max_train:
        common["max_train"] = args.max_train
    result = train(TrainConfig(**{**common, **settings}), progress=False)
    evaluate(result.run_id, dataset, rollout_sims=args.rollout_sims)
    metrics = mlflow.get_run(result.run_id).data.metrics
    return {k.removeprefix("test/"): v for k, v in metrics.items() if k.startswith("test/")}


def row(name: str, value: float, baseline: float, against: str) -> None:
    print(f"{name:<52} {value:10.3e}   {against:<26} {baseline:10.3e}   {value / baseline:7.3f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="mini cards, the CPU preset")
    parser.add_argument("--minutes", type=float, default=120.0, help="budget per training run")
    parser.add_argument("--epochs", type=int, default=2000)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--max-train", type=int, default=None)
    parser.add_argument("--rollout-sims", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    suffix = "-mini" if args.quick else ""
    torus, plane, sphere = (
        f"{n}{suffix}" for n in ("navier-stokes-torus", "diffusion-plane", "heat-sphere")
    )
    for name in (torus, plane, sphere):
        generate(name, progress=False)

    enf = run(torus, "enf", args)
    gnn = run(torus, "mesh-gnn", args)
    ablation = run(torus, "enf", args, options={"equivariant": False})
    diffusion = run(plane, "enf", args)
    heat = run(sphere, "enf", args)

    print(
        f"{'ENF (test split, from frame 0)':<52} {'value':>10}   {'baseline':<26} {'value':>10}   ratio"
    )
    for where in ("inside", "outside"):
        row(
            f"{torus} MSE {where}",
            enf[f"mse_{where}"],
            enf[f"persistence_mse_{where}"],
            "persistence",
        )
        row(f"{torus} MSE {where}", enf[f"mse_{where}"], gnn[f"mse_{where}"], "mesh GNN")
    for where in ("inside", "outside"):
        row(
            f"{plane} MSE {where}, 10% observed",
            diffusion[f"observed_10/mse_{where}"],
            diffusion[f"mse_{where}"],
            "all points observed",
        )
    for where in ("inside", "outside"):
        row(
            f"{sphere} nRMSE {where}",
            heat[f"nrmse_{where}"],
            heat[f"persistence_nrmse_{where}"],
            "persistence",
        )
    for where in ("inside", "outside"):
        row(
            f"{torus} MSE {where}, ablation",
            ablation[f"mse_{where}"],
            enf[f"mse_{where}"],
            "equivariant ENF",
        )


if __name__ == "__main__":
    main()
