"""The baseline of the simulator benchmarks: the same equations in a plain NumPy loop, one
simulation at a time (:mod:`.numpy_reference`), timed on this machine."""

from __future__ import annotations

import time

import numpy as np

from fieldlab.testing import numpy_reference as ref
from fieldlab.testing.initial_states import charged_initial, gravity_initial


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
