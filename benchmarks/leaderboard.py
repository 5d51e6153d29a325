"""The model zoo on EGNN's n-body task: each model's test MSE against EGNN's, in the same run.

Two tables, each one study of :func:`fieldlab.training.leaderboard.leaderboard` (every
(model, seed) its own MLflow run, trained as tasks on a local Dask cluster of single-threaded
workers, scored once on the test split with the best-validation weights):

1. **equal epochs**: ``--epochs`` epochs (100) on the first ``--max-train`` training simulations
   (3,000) of ``egnn-charged-3d`` (frame 30 -> 40), ``--seeds`` seeds per model (3; PONITA
   ``--ponita-seeds``, 2), each model at its published size;
2. **equal compute**: the same models and seeds, each run given the same wall-time budget
   (``--budget-s``; default: EGNN's mean training time in table 1), with the cosine schedule
   fitted into it.

Each table prints the leaderboard and, per model, the ratio of its mean test MSE and of its
training samples/s to EGNN's, measured in the same run on the same machine. EGNN (Satorras et
al. 2021) is the baseline. Reruns resume: finished runs are kept, unfinished ones resumed.

    fieldlab generate egnn-charged-3d     # once, seconds
    python benchmarks/leaderboard.py [--epochs 100] [--max-train 3000] [--seeds 3] \\
        [--ponita-seeds 2] [--tables 1,2] [--workers 2] [--set val_every=5]
"""

from __future__ import annotations

import argparse
import time

from fieldlab.overrides import parse_overrides
from fieldlab.training.leaderboard import Leaderboard, leaderboard

BASELINE = "egnn"


def ratios(board: Leaderboard) -> list[str]:
    """One line per model: its mean test MSE and samples/s over the baseline's."""
    base = next(r for r in board.rows if r.model == BASELINE)
    return [
        f"  {r.model:<8} test MSE {r.test_mse_mean / base.test_mse_mean:6.2f}x EGNN's, "
        f"samples/s {r.samples_per_s / base.samples_per_s:6.3f}x EGNN's"
        for r in board.rows
    ]


def show(title: str, board: Leaderboard, wall_s: float) -> None:
    """Print one table with its ratios against the baseline."""
    done = list(board.actions.values())
    print(f"\n{title}  (study {board.study}, run {board.study_run_id})")
    print(
        f"  {done.count('train')} trained, {done.count('resume')} resumed, "
        f"{done.count('keep')} kept, {wall_s / 60:.1f} min"
    )
    print(board.text)
    print("\n".join(ratios(board)), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="egnn-charged-3d")
    parser.add_argument("--models", default="egnn,ponita,empcn,fa-gnn", help="EGNN first")
    parser.add_argument("--epochs", type=int, default=100, help="table 1: epochs of every run")
    parser.add_argument("--max-train", type=int, default=3000, help="training simulations")
    parser.add_argument("--seeds", type=int, default=3, help="seeds per model")
    parser.add_argument("--ponita-seeds", type=int, default=2, help="PONITA's seeds")
    parser.add_argument("--tables", default="1,2", help="which tables: 1, 2 or 1,2")
    parser.add_argument("--budget-s", type=float, default=None, help="table 2: seconds per run")
    parser.add_argument("--workers", type=int, default=2, help="local worker processes")
    parser.add_argument("--rollout-sims", type=int, default=200, help="rollouts per evaluation")
    parser.add_argument("--study", default="zoo", help="prefix of the studies' names")
    parser.add_argument("--set", action="append", default=[], help="KEY=VALUE training setting")
    args = parser.parse_args()

    models = [m.strip() for m in args.models.split(",")]
    if models[0] != BASELINE:
        parser.error(f"--models must list {BASELINE} first: it is the baseline of the ratios")
    seeds = {m: args.ponita_seeds if m == "ponita" else args.seeds for m in models}
    settings = {"max_train": args.max_train, "patience": None, **parse_overrides(args.set)}
    common = {
        "seeds": seeds,
        "workers": args.workers,
        "rollout_sims": args.rollout_sims,
        "report": lambda line: print(f"  {line}", flush=True),
    }
    tag = f"{args.dataset}-train{args.max_train}"
    tables = {t.strip() for t in args.tables.split(",")}
    budget = args.budget_s

    if "1" in tables:
        print(f"table 1: {args.epochs} epochs, {args.max_train} training sims, seeds {seeds}")
        start = time.perf_counter()
        equal_epochs = leaderboard(
            args.dataset,
            models,
            epochs=args.epochs,
            settings=settings,
            study=f"{args.study}-{tag}-epochs{args.epochs}",
            **common,
        )
        show("table 1: equal epochs", equal_epochs, time.perf_counter() - start)
        if budget is None:
            budget = next(r for r in equal_epochs.rows if r.model == BASELINE).wall_time_s
    if "2" in tables:
        if budget is None:
            parser.error("table 2 alone needs --budget-s (table 1 measures EGNN's time)")
        budget = round(budget)
        print(f"\ntable 2: {budget} s of training per run, {args.max_train} training sims")
        start = time.perf_counter()
        equal_time = leaderboard(
            args.dataset,
            models,
            epochs=100_000,  # the budget ends every run; the cosine schedule fits into it
            settings={**settings, "time_budget_s": float(budget)},
            study=f"{args.study}-{tag}-budget{budget}s",
            **common,
        )
        show("table 2: equal compute (wall time per run)", equal_time, time.perf_counter() - start)


if __name__ == "__main__":
    main()
