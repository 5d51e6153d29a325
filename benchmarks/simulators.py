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
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fieldlab.simulators import resolve_params, simulate
from tests.simulators import numpy_reference as ref
from tests.simulators.conftest import charged_initial, gravity_initial

TARGETS = {
    "charged-egnn": ("sims/s on 2 threads", 6000.0),
    "gravity": ("pairs/s on 2 threads", 2e8),
}


def numpy_sims_per_s(system: str, n_steps: int) -> float:
    """Simulations/s of the NumPy loop, timed over a few hundred steps and scaled to n_steps."""
    steps = 300
    params = {"n_steps": steps, "sample_every": 100}
    t0 = time.perf_counter()
    if system in ("gravity", "gravitational-field"):
        p, x0, v0, m, src = gravity_initial(system, params, 1, seed=0)
        src_m = np.array([getattr(p, "source_mass", 0.0)])
        ref.leapfrog(
            x0[0],
            v0[0],
            lambda x: ref.softened_accel(x, m[0], p.g, p.softening, src[0], src_m),
            p.dt,
            steps,
            100,
            p.save_initial,
        )
    else:
        p, s = charged_initial(system, params, 1, seed=0)
        law = ref.hooke if system == "springs" else ref.coulomb

        def force(x, v):
            return ref.clip_components(law(x, s.coupling[0], p.strength), p.max_force)

        ref.nri_loop(s.position[0], s.velocity[0], force, p.dt, steps, 100, None)
    per_step = (time.perf_counter() - t0) / steps
    return 1.0 / (per_step * n_steps)


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
