r"""The integration loop of NRI's charged and springs simulations, and of Aether's field systems.

NRI calls it leapfrog; it is symplectic Euler with a half-shifted start. With unit masses, for
``n_steps`` steps of size ``dt``:

.. code-block:: text

    v += dt F(x0, v0)
    for step in 1 .. n_steps - 1:
        x += dt v
        reflect at the walls x = +-box          (if walls)
        if step % sample_every == 0: save (x, v)
        v += dt F(x, v)

so the initial state is not saved and ``n_steps = 5000, sample_every = 100`` saves the 49 frames of
steps 100 .. 4900. ``F`` is the sum of the pair law, static Coulomb sources, the Lorentz force
:math:`q v \times B` and a uniform force, then clipped: per component to ``[-max_force, max_force]``
(NRI, EGNN) or by norm (Aether). A reflection maps ``x -> 2 box - x`` and sets the velocity
component to ``-|v|`` (and symmetrically at ``-box``).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit, prange

from fieldlab.simulators import forces
from fieldlab.simulators.blocks import save_frame


class ForceModel(NamedTuple):
    """Everything that makes up ``F``; empty arrays switch a term off.

    law: :data:`forces.COULOMB` or :data:`forces.HOOKE`; strength: its prefactor k.
    max_force: the cap; clip_norm: cap the norm (True) or each component (False).
    src_pos ``(K, D)``, src_charge ``(K,)``: static Coulomb sources shared by all simulations.
    bfield ``(3,)`` or ``(0,)``: uniform magnetic field. uniform ``(D,)`` or ``(0,)``: uniform force.
    """

    law: int
    strength: float
    max_force: float
    clip_norm: bool
    src_pos: np.ndarray
    src_charge: np.ndarray
    bfield: np.ndarray
    uniform: np.ndarray


class Schedule(NamedTuple):
    """Time stepping: step size, steps, saving interval, walls at ``+-box`` if ``walls``."""

    dt: float
    n_steps: int
    sample_every: int
    walls: bool
    box: float


@njit(cache=True, error_model="numpy", inline="always")
def _force(x, v, charge, coupling, m, f, clipped, r2, c):
    law, strength, max_force, clip_norm, src_pos, src_charge, bfield, uniform = m
    f[:] = 0.0
    forces.add_pair_forces(x, coupling, law, strength, f, r2, c)
    if src_pos.shape[0] > 0:
        forces.add_static_coulomb(x, charge, src_pos, src_charge, strength, f, r2, c)
    if bfield.shape[0] > 0:
        forces.add_lorentz(v, charge, bfield, f)
    if uniform.shape[0] > 0:
        forces.add_uniform(uniform, f)
    if clip_norm:
        forces.clip_norms(f, max_force, clipped, r2)
    else:
        forces.clip_components(f, max_force, clipped)


@njit(cache=True, error_model="numpy", inline="always")
def _reflect(x, v, box):
    n_p, n_d, n_b = x.shape
    for i in range(n_p):
        for d in range(n_d):
            for s in range(n_b):
                a = x[i, d, s]
                b = v[i, d, s]
                over = a > box
                under = a < -box
                x[i, d, s] = 2.0 * box - a if over else (-2.0 * box - a if under else a)
                v[i, d, s] = -abs(b) if over else (abs(b) if under else b)


def integrate(
    x0: np.ndarray,
    v0: np.ndarray,
    charge: np.ndarray,
    coupling: np.ndarray,
    model: ForceModel,
    sched: Schedule,
    n_sims: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Run every block; return saved positions and velocities and clip counts.

    Args:
        x0, v0: ``(n_blocks, P, D, B)`` initial state blocks.
        charge: ``(n_blocks, P, B)``; coupling: ``(n_blocks, P, P, B)``.
        model: :class:`ForceModel`; sched: :class:`Schedule`.
        n_sims: number of real simulations (the rest of the last block is padding).

    Returns:
        ``(pos, vel)`` each ``(n_sims, n_frames, P, D)`` and ``clipped (n_sims,)`` int64.
    """
    model = ForceModel(
        int(model.law),
        float(model.strength),
        float(model.max_force),
        bool(model.clip_norm),
        *(np.ascontiguousarray(a, dtype=np.float64) for a in model[4:]),
    )
    dt, n_steps, every, walls, box = sched
    return _integrate(
        x0,
        v0,
        charge,
        coupling,
        tuple(model),
        float(dt),
        int(n_steps),
        int(every),
        bool(walls),
        float(box),
        n_sims,
    )


@njit(parallel=True, cache=True, error_model="numpy")
def _integrate(x0, v0, charge, coupling, model, dt, n_steps, every, walls, box, n_sims):
    n_blocks, n_p, n_d, n_b = x0.shape
    n_frames = (n_steps - 1) // every
    pos = np.empty((n_sims, n_frames, n_p, n_d))
    vel = np.empty((n_sims, n_frames, n_p, n_d))
    clipped_out = np.zeros(n_sims, dtype=np.int64)
    for b in prange(n_blocks):
        x = x0[b].copy()
        v = v0[b].copy()
        f = np.empty_like(x)
        q = charge[b]
        cpl = coupling[b]
        clipped = np.zeros(n_b, dtype=np.int64)
        r2 = np.empty(n_b)
        c = np.empty(n_b)
        _force(x, v, q, cpl, model, f, clipped, r2, c)
        for i in range(n_p):
            for d in range(n_d):
                for s in range(n_b):
                    v[i, d, s] += dt * f[i, d, s]
        for step in range(1, n_steps):
            for i in range(n_p):
                for d in range(n_d):
                    for s in range(n_b):
                        x[i, d, s] += dt * v[i, d, s]
            if walls:
                _reflect(x, v, box)
            if step % every == 0:
                save_frame(pos, vel, x, v, b, step // every - 1, n_sims)
            _force(x, v, q, cpl, model, f, clipped, r2, c)
            for i in range(n_p):
                for d in range(n_d):
                    for s in range(n_b):
                        v[i, d, s] += dt * f[i, d, s]
        for s in range(n_b):
            g = b * n_b + s
            if g < n_sims:
                clipped_out[g] = clipped[s]
    return pos, vel, clipped_out
