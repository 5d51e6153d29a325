"""Cybloid throughput: particle-steps/s on 2 threads against NumPy, in the same run.

The baseline is ``tests/simulators/cybloid_reference.py``: the same equations in plain NumPy,
vectorised over simulations and particles (dense pair arrays), with NumPy's own normal generator
(``Generator.standard_normal``) for the noise; a strong baseline, since it already batches every
simulation into each array operation. fieldlab's figure includes drawing the initial states and
noise keys and is the best of ``--repeat`` runs after a warm-up that compiles (or loads) the
kernel. The NumPy loop is timed over fewer steps; its cost per step is constant.

    python benchmarks/cybloids.py            # the single trap and the crystal, default settings
    python benchmarks/cybloids.py --quick    # fewer steps (a smoke run)
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from fieldlab.simulators import cybloids, resolve_params, simulate
from fieldlab.testing import cybloid_reference as ref

WORKLOADS = {
    # system: (simulations, steps), default parameters otherwise
    "cybloid-trap": (1024, 20_000),
    "cybloid-annular": (1024, 20_000),
    "cybloid-crystal": (64, 20_000),
}


def numpy_particle_steps_per_s(system: str, n_sims: int, steps: int) -> float:
    p = resolve_params(system, {"n_steps": steps + 1, "sample_every": 10})
    x0, _ = cybloids._keys_and_positions(p, n_sims, 0, 0)
    rng = np.random.default_rng(0)
    shape = (n_sims, p.n_particles, p.dim)
    t0 = time.perf_counter()
    ref.integrate(
        x0, cybloids.program(p), cybloids.schedule(p), lambda n: rng.standard_normal(shape)
    )
    return n_sims * p.n_particles * steps / (time.perf_counter() - t0)


def fieldlab_particle_steps_per_s(system: str, n_sims: int, steps: int, repeat: int) -> float:
    params = {"n_steps": steps + 1}
    simulate(system, 8, seed=1, params={"n_steps": 101}, threads=2)  # compile or load
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        res = simulate(system, n_sims, seed=0, params=params, threads=2)
        best = min(best, time.perf_counter() - t0)
    return n_sims * res.position.shape[2] * steps / best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a tenth of the steps")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("systems", nargs="*", default=list(WORKLOADS))
    args = ap.parse_args()
    print(
        f"{'system':<17}{'sims':>6}{'particles':>10}{'fieldlab 2 thr':>16}{'numpy':>12}{'ratio':>8}"
    )
    for system in args.systems:
        n_sims, steps = WORKLOADS[system]
        steps = steps // 10 if args.quick else steps
        fast = fieldlab_particle_steps_per_s(system, n_sims, steps, args.repeat)
        slow = numpy_particle_steps_per_s(system, n_sims, max(200, steps // 20))
        n_p = resolve_params(system).n_particles
        print(
            f"{system:<17}{n_sims:>6}{n_p:>10}{fast:>16.3g}{slow:>12.3g}{fast / slow:>7.1f}x",
            flush=True,
        )
    print("units: particle-steps/s (simulations x particles x steps per second)")


if __name__ == "__main__":
    main()
