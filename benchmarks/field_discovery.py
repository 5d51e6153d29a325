"""Field discovery on Aether's electrostatic setting: EGNN against the field forecaster.

Both models train with the same wall-time budget on the first ``--train-sims`` simulations of
``aether-electrostatic-2d``, from every frame. The EGNN learns from frame pairs (its published
one-step loss; fed back on itself in the loss, its rollouts diverge to non-finite values within
the first steps). The field forecaster learns from ``--rollout-steps`` fed-back steps of one
frame each (the loss averaged over them, as Aether trains on rollouts; 1 is plain frame pairs),
its gradient's norm clipped at ``--grad-clip``. Each then rolls out 20 frames from the last of
the 29 context frames on ``--test-sims`` test simulations (Aether's protocol). Printed: the
rollout position MSE of each model (per simulation, averaged over the 20 steps; the median over
simulations, robust to the few rollouts that diverge, and the fraction that stay finite), their
ratio, and the field forecaster's agreement with the true field on the positions the test
trajectories visit (mean cosine similarity; relative error, both fields capped at the simulator's
force cap), with the cosine split into visited positions inside the box that holds the 20 sources
and outside it, where the field is weak. Runs are tracked in the default MLflow store, so the
fields can be inspected in the UI.

    python benchmarks/field_discovery.py [--minutes 12] [--train-sims 2000] [--rollout-steps 4]
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

import numpy as np
import torch

from fieldlab.catalog import load_card
from fieldlab.errors import DatasetNotFoundError
from fieldlab.fields.learned import learned_field
from fieldlab.fields.monitor import FieldMonitor, cap_norm
from fieldlab.fields.truth import true_field
from fieldlab.training.config import TrainConfig
from fieldlab.training.particles.data import TaskFrames, load_trajectories
from fieldlab.training.particles.rollout import rollout
from fieldlab.training.run import train
from fieldlab.training.runs import load_forecaster_from_run

CONTEXT, PREDICT = 29, 20


def _ensure(dataset: str) -> None:
    try:
        load_trajectories(dataset, "test", limit=1)
    except DatasetNotFoundError:
        from fieldlab.pipelines.pipeline import generate

        print(f"generating {dataset} ...", flush=True)
        generate(dataset, progress=False)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="aether-electrostatic-2d")
    ap.add_argument("--minutes", type=float, default=12.0, help="training budget per model")
    ap.add_argument("--train-sims", type=int, default=2000)
    ap.add_argument("--test-sims", type=int, default=500)
    ap.add_argument("--sigma", type=float, default=0.5, help="Fourier feature frequency std")
    ap.add_argument("--rollout-steps", type=int, default=4, help="fed-back steps in the loss")
    ap.add_argument("--grad-clip", type=float, default=10.0, help="gradient norm cap")
    ap.add_argument(
        "--runs",
        nargs=2,
        metavar=("EGNN_RUN", "FIELD_RUN"),
        help="evaluate these runs, no training",
    )
    args = ap.parse_args()
    torch.set_num_threads(1)
    _ensure(args.dataset)
    card = load_card(args.dataset)

    test = load_trajectories(args.dataset, "test", limit=args.test_sims)
    window = replace(
        test,
        position=test.position[:, CONTEXT - 1 : CONTEXT + PREDICT],
        velocity=test.velocity[:, CONTEXT - 1 : CONTEXT + PREDICT],
    )
    monitor = FieldMonitor.from_trajectories(
        card.simulator, card.resolved_params("test"), test.position, test.velocity
    )
    results = {}
    for k, model in enumerate(("egnn", "field")):
        cfg = TrainConfig(
            dataset=args.dataset,
            model=model,
            hidden=64,
            layers=4,
            epochs=10_000,
            time_budget_s=60 * args.minutes,
            lr=1e-3,
            batch_size=100 if model == "egnn" or args.rollout_steps == 1 else 40,
            rollout_steps=1 if model == "egnn" else args.rollout_steps,
            grad_clip=None if model == "egnn" else args.grad_clip,
            max_train=args.train_sims,
            all_frames=True,
            patience=None,
            figure_every=5,
            field={"hidden": 128, "fourier_sigma": args.sigma},
            run_name=f"field-discovery {model}",
        )
        t0 = time.perf_counter()
        if args.runs:
            run_id, epochs = args.runs[k], -1
        else:
            run = train(cfg, progress=False, log_every=5)
            run_id, epochs = run.run_id, run.epochs
        fc = load_forecaster_from_run(run_id)
        roll = rollout(fc, window, TaskFrames(inputs=(0,), horizon=1))
        per_sim = ((roll.position - roll.true_position) ** 2)[:, 1:].mean(axis=(1, 2, 3))
        finite = np.isfinite(per_sim)
        row = {
            "run": run_id,
            "epochs": epochs,
            "minutes": (time.perf_counter() - t0) / 60,
            "rollout_mse_median": float(np.median(np.where(finite, per_sim, np.inf))),
            "finite": float(finite.mean()),
            "rollout_mse_mean_finite": float(per_sim[finite].mean()),
        }
        if model == "field":
            s = monitor.score(fc)
            row |= {"cosine": s.cosine, "relative_error": s.relative_error}
            row |= _cosine_inside_and_outside(fc, card, monitor)
        results[model] = row
        print(model, row, flush=True)

    e, f = results["egnn"], results["field"]
    print(
        f"\n{args.dataset}: first {args.train_sims} training simulations, "
        f"{args.minutes:g} min per model, {args.test_sims} test simulations, "
        f"{PREDICT}-step rollouts from frame {CONTEXT - 1}"
    )
    print(
        f"{'model':8s} {'epochs':>6s} {'median rollout MSE':>19s} {'finite':>7s} {'mean (finite)':>14s}"
    )
    for name, r in results.items():
        print(
            f"{name:8s} {r['epochs']:6d} {r['rollout_mse_median']:19.4g} {r['finite']:7.1%} "
            f"{r['rollout_mse_mean_finite']:14.4g}"
        )
    ratio = e["rollout_mse_median"] / f["rollout_mse_median"]
    print(
        f"EGNN / field median rollout MSE: {ratio:.2f}x (target > 1: {'met' if ratio > 1 else 'NOT met'})"
    )
    print(
        f"field cosine similarity on visited positions: {f['cosine']:.3f} (target >= 0.9: "
        f"{'met' if f['cosine'] >= 0.9 else 'NOT met'}); relative error {f['relative_error']:.3f}"
    )
    print(
        f"  inside the sources' box: {f['cosine_inside']:.3f} on {f['inside']:.1%} of the "
        f"positions; outside: {f['cosine_outside']:.3f}"
    )
    print(f"runs: egnn {e['run']}, field {f['run']}  (fieldlab fields compare {f['run']})")


def _cosine_inside_and_outside(fc, card, monitor: FieldMonitor) -> dict[str, float]:
    """Mean cosine of the capped fields at the monitor's points inside the box that holds the
    static sources (``source_box``), and outside it."""
    params = card.resolved_params("test")
    pts = monitor.region.points
    learned = cap_norm(learned_field(fc, pts), params["max_force"])
    true = cap_norm(true_field(card.simulator, params, pts), params["max_force"])
    norms = np.linalg.norm(learned, axis=-1) * np.linalg.norm(true, axis=-1)
    cos = (learned * true).sum(-1) / np.maximum(norms, 1e-300)
    inside = (np.abs(pts) <= params["source_box"]).all(-1)
    return {
        "inside": float(inside.mean()),
        "cosine_inside": float(cos[inside].mean()),
        "cosine_outside": float(cos[~inside].mean()) if (~inside).any() else float("nan"),
    }


if __name__ == "__main__":
    main()
