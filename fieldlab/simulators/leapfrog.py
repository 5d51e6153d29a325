r"""Kick-drift-kick leapfrog for softened gravity (SEGNN's gravity, Aether's gravitational field).

.. code-block:: text

    a = a(x0);  save (x0, v0) if save_initial
    for step in 1 .. n_steps - 1:
        v += dt/2 a;  x += dt v;  a = a(x);  v += dt/2 a
        if step % sample_every == 0: save (x, v)

With ``n_steps = 5000, sample_every = 100`` and the initial frame saved this gives SEGNN's 50 frames
(steps 0, 100, ..., 4900). The scheme is symplectic and time-reversible, so the energy error stays
bounded (no secular drift) for smooth softened forces.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from fieldlab.simulators import forces
from fieldlab.simulators.blocks import save_frame


@njit(cache=True, error_model="numpy", inline="always")
def _accel(x, mass, src_pos, src_mass, g, eps2, a, r2, c):
    a[:] = 0.0
    forces.add_softened_gravity(x, mass, g, eps2, a, r2, c)
    if src_pos.shape[0] > 0:
        forces.add_softened_sources(x, src_pos, src_mass, g, eps2, a, r2, c)


@njit(parallel=True, cache=True, error_model="numpy")
def integrate(
    x0,
    v0,
    mass,
    src_pos,
    src_mass,
    g: float,
    softening: float,
    dt: float,
    n_steps: int,
    sample_every: int,
    save_initial: bool,
    n_sims: int,
):
    """Run every block.

    Args:
        x0, v0: ``(n_blocks, P, D, B)``; mass ``(n_blocks, P, B)``.
        src_pos: ``(n_blocks, K, D, B)`` static sources per simulation (K may be 0);
            src_mass ``(K,)``.

    Returns:
        ``(pos, vel)`` each ``(n_sims, n_frames, P, D)``.
    """
    n_blocks, n_p, n_d, n_b = x0.shape
    offset = 1 if save_initial else 0
    n_frames = (n_steps - 1) // sample_every + offset
    pos = np.empty((n_sims, n_frames, n_p, n_d))
    vel = np.empty((n_sims, n_frames, n_p, n_d))
    eps2 = softening * softening
    half = 0.5 * dt
    for b in prange(n_blocks):
        x = x0[b].copy()
        v = v0[b].copy()
        m = mass[b]
        sp = src_pos[b]
        a = np.empty_like(x)
        r2 = np.empty(n_b)
        c = np.empty(n_b)
        _accel(x, m, sp, src_mass, g, eps2, a, r2, c)
        if save_initial:
            save_frame(pos, vel, x, v, b, 0, n_sims)
        for step in range(1, n_steps):
            for i in range(n_p):
                for d in range(n_d):
                    for s in range(n_b):
                        v[i, d, s] += half * a[i, d, s]
                        x[i, d, s] += dt * v[i, d, s]
            _accel(x, m, sp, src_mass, g, eps2, a, r2, c)
            for i in range(n_p):
                for d in range(n_d):
                    for s in range(n_b):
                        v[i, d, s] += half * a[i, d, s]
            if step % sample_every == 0:
                save_frame(pos, vel, x, v, b, step // sample_every - 1 + offset, n_sims)
    return pos, vel
