r"""Force terms on one block of simulations (Numba, inlined into the integrators).

Every function here takes state blocks laid out ``(particle, space, B)`` (see
:mod:`fieldlab.simulators.blocks`) and *adds* its contribution to a force block ``f`` of the same
shape, looping over the ``B`` simulations innermost so that the loop vectorises. No function
allocates; scratch rows of length ``B`` are passed in.

Pair laws, with :math:`r_{ij} = x_i - x_j` and coupling :math:`c_{ij}` (per simulation):

- Coulomb: :math:`F_i = k \sum_j c_{ij} r_{ij} / |r_{ij}|^3` with :math:`c_{ij} = q_i q_j`
  (like charges repel);
- Hooke: :math:`F_i = -k \sum_j c_{ij} r_{ij}` with :math:`c_{ij}` the spring constant;
- softened gravity (as accelerations): :math:`a_i = G \sum_j m_j (x_j - x_i) / (|r_{ij}|^2 + \epsilon^2)^{3/2}`.

Forces on particle ``i`` are accumulated over ``j`` in ascending order, the order a direct
double loop would use, and each pair is evaluated once (Newton's third law).
"""

from __future__ import annotations

import numpy as np
from numba import njit

COULOMB = 0
HOOKE = 1

_JIT = {"cache": True, "error_model": "numpy", "inline": "always"}


@njit(**_JIT)
def add_pair_forces(x, coupling, law, strength, f, r2, c):
    """Add the pair force of ``law`` with coupling ``(P, P, B)`` and prefactor ``strength``."""
    n_p, n_d, n_b = x.shape
    for i in range(n_p):
        for j in range(i + 1, n_p):
            for s in range(n_b):
                r2[s] = 0.0
            for d in range(n_d):
                for s in range(n_b):
                    dx = x[i, d, s] - x[j, d, s]
                    r2[s] += dx * dx
            if law == COULOMB:
                for s in range(n_b):
                    c[s] = strength * coupling[i, j, s] / (r2[s] * np.sqrt(r2[s]))
            else:
                for s in range(n_b):
                    c[s] = -strength * coupling[i, j, s]
            for d in range(n_d):
                for s in range(n_b):
                    fij = c[s] * (x[i, d, s] - x[j, d, s])
                    f[i, d, s] += fij
                    f[j, d, s] -= fij


@njit(**_JIT)
def add_static_coulomb(x, charge, src_pos, src_charge, strength, f, r2, c):
    """Add Coulomb forces from static sources ``src_pos (K, D)``, ``src_charge (K,)``."""
    n_p, n_d, n_b = x.shape
    for i in range(n_p):
        for k in range(src_pos.shape[0]):
            for s in range(n_b):
                r2[s] = 0.0
            for d in range(n_d):
                for s in range(n_b):
                    dx = x[i, d, s] - src_pos[k, d]
                    r2[s] += dx * dx
            qk = strength * src_charge[k]
            for s in range(n_b):
                c[s] = qk * charge[i, s] / (r2[s] * np.sqrt(r2[s]))
            for d in range(n_d):
                for s in range(n_b):
                    f[i, d, s] += c[s] * (x[i, d, s] - src_pos[k, d])


@njit(**_JIT)
def add_lorentz(v, charge, bfield, f):
    """Add :math:`q_i\\, v_i \\times B` for a uniform field ``bfield (3,)`` (3-D only)."""
    bx, by, bz = bfield[0], bfield[1], bfield[2]
    for i in range(v.shape[0]):
        for s in range(v.shape[2]):
            q = charge[i, s]
            vx, vy, vz = v[i, 0, s], v[i, 1, s], v[i, 2, s]
            f[i, 0, s] += q * (vy * bz - vz * by)
            f[i, 1, s] += q * (vz * bx - vx * bz)
            f[i, 2, s] += q * (vx * by - vy * bx)


@njit(**_JIT)
def add_uniform(uniform, f):
    """Add the same force vector ``uniform (D,)`` to every particle."""
    for i in range(f.shape[0]):
        for d in range(f.shape[1]):
            for s in range(f.shape[2]):
                f[i, d, s] += uniform[d]


@njit(**_JIT)
def clip_components(f, max_force, clipped):
    """Clip each force component to ``[-max_force, max_force]``; count clips per simulation."""
    for i in range(f.shape[0]):
        for d in range(f.shape[1]):
            for s in range(f.shape[2]):
                a = f[i, d, s]
                hit = a > max_force or a < -max_force
                clipped[s] += hit
                f[i, d, s] = min(max(a, -max_force), max_force)


@njit(**_JIT)
def clip_norms(f, max_force, clipped, norm):
    """Rescale each particle's force whose norm exceeds ``max_force`` to that norm; count clips."""
    n_p, n_d, n_b = f.shape
    for i in range(n_p):
        for s in range(n_b):
            norm[s] = 0.0
        for d in range(n_d):
            for s in range(n_b):
                norm[s] += f[i, d, s] * f[i, d, s]
        for s in range(n_b):
            n = np.sqrt(norm[s])
            hit = n > max_force
            clipped[s] += hit
            norm[s] = max_force / n if hit else 1.0
        for d in range(n_d):
            for s in range(n_b):
                f[i, d, s] *= norm[s]


@njit(**_JIT)
def add_softened_gravity(x, mass, g, eps2, a, r2, c):
    """Add softened gravitational *accelerations* between the particles; masses ``(P, B)``."""
    n_p, n_d, n_b = x.shape
    for i in range(n_p):
        for j in range(i + 1, n_p):
            for s in range(n_b):
                r2[s] = eps2
            for d in range(n_d):
                for s in range(n_b):
                    dx = x[j, d, s] - x[i, d, s]
                    r2[s] += dx * dx
            for s in range(n_b):
                c[s] = g / (r2[s] * np.sqrt(r2[s]))
            for d in range(n_d):
                for s in range(n_b):
                    cdx = c[s] * (x[j, d, s] - x[i, d, s])
                    a[i, d, s] += mass[j, s] * cdx
                    a[j, d, s] -= mass[i, s] * cdx


@njit(**_JIT)
def add_softened_sources(x, src_pos, src_mass, g, eps2, a, r2, c):
    """Add softened gravitational accelerations from static sources ``src_pos (K, D, B)``."""
    n_p, n_d, n_b = x.shape
    for i in range(n_p):
        for k in range(src_pos.shape[0]):
            for s in range(n_b):
                r2[s] = eps2
            for d in range(n_d):
                for s in range(n_b):
                    dx = src_pos[k, d, s] - x[i, d, s]
                    r2[s] += dx * dx
            gm = g * src_mass[k]
            for s in range(n_b):
                c[s] = gm / (r2[s] * np.sqrt(r2[s]))
            for d in range(n_d):
                for s in range(n_b):
                    a[i, d, s] += c[s] * (src_pos[k, d, s] - x[i, d, s])
