"""Simulator throughput: simulations/s on 1 and 2 threads against a NumPy loop, in the same run.

The baseline is the plain NumPy implementation of the same equations used by the tests
(``tests/simulators/numpy_reference.py``): one simulation at a time, dense pair matrices, the way
the published reference code is written. Each fieldlab figure includes drawing the initial
states; each is the best of ``--repeat`` runs after a warm-up that compiles (or loads) the kernel.

    python benchmarks/simulators.py            # every system, published settings
    python benchmarks/simulators.py --quick    # fewer simulations (a smoke run)
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from fieldlab.simulators import resolve_params, simulate
from fieldlab.testing.numpy_baseline import numpy_sims_per_s

TARGETS = {
    "charged-egnn": ("sims/s on 2 threads", 6000.0),
    "gravity": ("pairs/s on 2 threads", 2e8),
}


def fieldlab_sims_per_s(system: str, n_sims: int, threads: int, repeat: int) -> float:
    simulate(system, 8, seed=1, threads=threads)  # compile or load the cached kernel
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        simulate(system, n_sims, seed=0, threads=threads)
        best = min(best, time.perf_counter() - t0)
    return n_sims / best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer simulations per measurement")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument(
        "systems",
        nargs="*",
        default=[
            "charged",
            "charged-egnn",
            "springs",
            "electrostatic-field",
            "lorentz",
            "uniform-force",
            "gravity",
            "gravitational-field",
        ],
    )
    args = ap.parse_args()
    print(
        f"{'system':20s} {'P':>4s} {'D':>2s} {'steps':>6s} {'numpy/s':>9s} "
        f"{'1 thread/s':>11s} {'2 threads/s':>12s} {'x numpy':>8s} {'2/1':>5s}"
    )
    verdicts = []
    for system in args.systems:
        p = resolve_params(system)
        big = p.n_particles > 20
        n = (64 if args.quick else 256) if big else (2048 if args.quick else 16384)
        base = numpy_sims_per_s(system, p.n_steps)
        one = fieldlab_sims_per_s(system, n, 1, args.repeat)
        two = fieldlab_sims_per_s(system, n, 2, args.repeat)
        print(
            f"{system:20s} {p.n_particles:4d} {p.dim:2d} {p.n_steps:6d} {base:9.2f} "
            f"{one:11.0f} {two:12.0f} {two / base:8.0f} {two / one:5.2f}"
        )
        if system in TARGETS:
            what, target = TARGETS[system]
            value = two
            if system == "gravity":
                value = two * p.n_steps * p.n_particles * (p.n_particles - 1) / 2
            verdicts.append(
                f"{system}: {value:.3g} {what} (target {target:.3g}: "
                f"{'met' if value >= target else 'NOT met'})"
            )
    print("\n" + "\n".join(verdicts))
    print("pairs/s counts each unordered pair once per step (N(N-1)/2 per step).")


if __name__ == "__main__":
    main()
