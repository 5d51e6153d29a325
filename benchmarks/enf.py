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
5. Equivariance on the torus: the forecast from a test field shifted by whole cells against the
   shifted forecast, relative max error over the first ``--equivariance-sims`` test fields, for
   ENF and the ablation, from the logged models.

Then each run's training wall time and samples/s (training trajectories x epochs / training
time).

    python benchmarks/enf.py                        # the full protocol (hours on a GPU)
    python benchmarks/enf.py --small --minutes 10   # the full cards, the CPU preset (CPU hours)
    python benchmarks/enf.py --quick --minutes 2    # mini datasets, the CPU preset (a smoke run)

``--small`` trains :meth:`~fieldlab.models.enf.ENFOptions.small`; ``--quick`` also uses the
``-mini`` cards, and its numbers say that the pipeline runs, not how ENF compares.
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np
import torch

import mlflow
from fieldlab.catalog import open_dataset
from fieldlab.models.enf import ENFOptions
from fieldlab.pipelines.pipeline import generate
from fieldlab.training.config import TrainConfig
from fieldlab.training.evaluate import evaluate
from fieldlab.training.run import train
from fieldlab.training.runs import load_forecaster_from_run

COSTS: list[tuple[str, str, float, float]] = []
"""(dataset, model, training seconds, training samples/s) of every run, in order."""


def run(dataset: str, model: str, args: argparse.Namespace, **settings: Any) -> dict[str, Any]:
    """Train ``model`` on ``dataset`` within the budget, evaluate it; its ``test/`` metrics
    (and its run id under ``run_id``)."""
    common: dict[str, Any] = {
        "dataset": dataset, "model": model, "epochs": args.epochs, "lr": args.lr,
        "batch_size": args.batch_size, "time_budget_s": 60 * args.minutes, "patience": None,
        "experiment": "benchmark-enf", "seed": args.seed, "device": args.device,
        "val_every": args.val_every,
    }  # fmt: skip
    label = model
    if model == "enf":
        options = ENFOptions.small() if args.small else ENFOptions()
        options = options.model_copy(update=settings.pop("options", {}))
        common["enf"] = {"options": options.model_dump(), "observed_fractions": [0.1]}
        label = "enf" if options.equivariant else "enf ablation"
    if args.max_train:
        common["max_train"] = args.max_train
    result = train(TrainConfig(**{**common, **settings}), progress=False)
    evaluate(result.run_id, dataset, rollout_sims=args.rollout_sims)
    logged = mlflow.get_run(result.run_id).data
    n_train = int(logged.params.get("n_train", 0)) or float("nan")
    seconds = logged.metrics["train_time_s"]
    COSTS.append((dataset, label, seconds, n_train * logged.metrics["epochs"] / seconds))
    out: dict[str, Any] = {
        k.removeprefix("test/"): v for k, v in logged.metrics.items() if k.startswith("test/")
    }
    return out | {"run_id": result.run_id}


def shift_error(run_id: str, dataset: str, sims: int, steps: int = 9) -> float:
    """max |F(shift u) - shift F(u)| / max |F(u)| over the first ``sims`` test fields, the shift
    by (5, 3) whole cells, forecasting ``steps`` frames."""
    model = load_forecaster_from_run(run_id).to(torch.float64)
    ds = open_dataset(dataset, "test", dask=False)
    u0 = np.stack([ds[f].values[:sims, 0] for f in model.fields], axis=-1)
    a = model.rollout(u0, steps)
    b = model.rollout(np.roll(u0, (5, 3), axis=(1, 2)), steps)
    return float(np.abs(b - np.roll(a, (5, 3), axis=(2, 3))).max() / np.abs(a).max())


def row(name: str, value: float, baseline: float, against: str) -> None:
    print(f"{name:<52} {value:10.3e}   {against:<26} {baseline:10.3e}   {value / baseline:7.3f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="mini cards, the CPU preset")
    parser.add_argument("--small", action="store_true", help="the CPU preset on the full cards")
    parser.add_argument("--equivariance-sims", type=int, default=8)
    parser.add_argument("--minutes", type=float, default=120.0, help="budget per training run")
    parser.add_argument("--epochs", type=int, default=2000)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--max-train", type=int, default=None)
    parser.add_argument("--val-every", type=int, default=1, help="epochs between validations")
    parser.add_argument("--rollout-sims", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    args.small = args.small or args.quick
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
    shifted = {
        name: shift_error(r["run_id"], torus, args.equivariance_sims)
        for name, r in (("ENF", enf), ("ablation", ablation))
    }
    print(f"{torus}: forecast of a field shifted by (5, 3) cells vs the shifted forecast")
    for name, err in shifted.items():
        print(f"  {name:<10} relative max error {err:.2e}")
    print(f"{'run':<40} {'training s':>10} {'samples/s':>10}")
    for dataset, model, seconds, rate in COSTS:
        print(f"{dataset + ' ' + model:<40} {seconds:10.0f} {rate:10.2f}")


if __name__ == "__main__":
    main()
