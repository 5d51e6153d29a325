r"""Overdamped Langevin dynamics under delayed feedback potentials (Numba, batched).

Each particle obeys :math:`\gamma\, \dot r_i = -\nabla_i U + \sqrt{2 \gamma k_B T}\, \xi_i(t)`,
integrated by Euler-Maruyama with step :math:`h`:

.. math::

    r_i^{n+1} = r_i^n + \frac{h}{\gamma} F_i^n + \sqrt{\frac{2 k_B T h}{\gamma}}\; \xi_i^n,
    \qquad \xi_i^n \sim N(0, I_d).

**Feedback.** The potential is programmed from *measured* positions: every ``interval`` steps
the controller reads the positions of ``L_s`` steps ago from a ring buffer of the last ``L + 1``
positions and holds them as the *centres* :math:`c_i` until its next update. ``L`` is the
schedule's ``delay_steps``; each simulation ``s`` may have its own delay ``L_s <= L`` (a sweep of
delays in one batch), by default ``L_s = L``. Before :math:`t = 0` a particle is taken to have
rested at its initial position. With ``L_s = 0`` and ``interval = 1`` the centre is the current
position itself.

**Force terms** (all optional; :math:`\Delta = r - c`, :math:`d = |\Delta|`):

- one-body, about the particle's own centre (feedback) or about the origin (static):
  :math:`U = \tfrac{k}{2} (d - R)^2`, force :math:`-k (1 - R/d)\, \Delta` (harmonic when
  :math:`R = 0`; zero when :math:`d = 0`, where the direction is undefined);
- programmed pairs, particle ``i`` about the *other* particles' centres :math:`c_j`: a set of rings
  of radii :math:`R_m`, each a harmonic well of half-width ``w``:
  :math:`u(d) = \tfrac{k}{2} \min(\min_m (d - R_m)^2,\, w^2)`, so the nearest ring pulls with
  :math:`-k (d - R_m) \Delta / d` while :math:`|d - R_m| < w` and nothing pulls beyond
  (``w = inf`` leaves the rings untruncated; :math:`R = 0` is harmonic attraction). These forces
  are not reciprocal when delayed: ``i`` reacts to where ``j`` was;
- overlap repulsion between current positions, soft discs of diameter :math:`\sigma`:
  :math:`u(d) = \tfrac{\epsilon}{2} (\sigma - d)^2` for :math:`d < \sigma`.

**Noise** comes from the counter-based generator of :mod:`fieldlab.simulators.counter_rng`, so
a simulation's noise is a pure function of its two keys and ``(step, particle, component)``:
independent of its block, lane and the number of threads.

Layout follows :mod:`fieldlab.simulators.blocks`: state blocks ``(particle, space, B)`` with ``B``
simulations on the innermost axis.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit, prange

from fieldlab.simulators import counter_rng

NO_ONE_BODY = 0
SELF = 1
"""One-body term about the particle's own delayed, held position."""
STATIC = 2
"""One-body term about the origin."""

_INLINE = {"cache": True, "error_model": "numpy", "inline": "always"}


class Program(NamedTuple):
    """The programmed potential; a stiffness of zero switches a term off.

    one_body: :data:`NO_ONE_BODY`, :data:`SELF` or :data:`STATIC`; k, radius: its stiffness and
    ring radius. pair_k: stiffness of the pair rings; pair_radii ``(M,)``: their radii;
    pair_width: each ring's half-width (``inf``: untruncated). repulsion: overlap stiffness
    :math:`\\epsilon`; diameter: :math:`\\sigma`.
    """

    one_body: int
    k: float
    radius: float
    pair_k: float
    pair_radii: np.ndarray
    pair_width: float
    repulsion: float
    diameter: float


class Schedule(NamedTuple):
    """Time stepping and feedback timing.

    dt: step; n_steps: steps including the initial state; sample_every: steps between frames;
    delay_steps: the delay ``L`` in steps; interval: steps between controller updates;
    kT, gamma: temperature and friction coefficient.
    """

    dt: float
    n_steps: int
    sample_every: int
    delay_steps: int
    interval: int
    kT: float
    gamma: float


@njit(**_INLINE)
def _add_noise(x, key0, key1, n, amp, u, bits, z0, z1):
    """``x += amp * xi`` with ``xi`` the standard normals of step ``n``, in Box-Muller pairs.

    Pair ``q`` of particle ``i`` (components ``2q, 2q + 1``) at step ``n`` uses the uniforms
    numbered ``2 ((n P + i) Q + q)`` and one more, ``Q = ceil(D / 2)``; in 3-D the last pair's
    second normal is unused.
    """
    n_p, n_d, n_b = x.shape
    n_q = (n_d + 1) // 2
    for i in range(n_p):
        for q in range(n_q):
            c = np.uint64(2 * ((n * n_p + i) * n_q + q))
            counter_rng.normal_pairs(key0, key1, c, amp, u, bits, z0, z1)
            for s in range(n_b):
                x[i, 2 * q, s] += z0[s]
            if 2 * q + 1 < n_d:
                for s in range(n_b):
                    x[i, 2 * q + 1, s] += z1[s]


@njit(**_INLINE)
def _add_one_body(x, centre, static, k, radius, f, r2):
    n_p, n_d, n_b = x.shape
    for i in range(n_p):
        if radius == 0.0:
            for d in range(n_d):
                for s in range(n_b):
                    c = 0.0 if static else centre[i, d, s]
                    f[i, d, s] -= k * (x[i, d, s] - c)
            continue
        for s in range(n_b):
            r2[s] = 0.0
        for d in range(n_d):
            for s in range(n_b):
                c = 0.0 if static else centre[i, d, s]
                r2[s] += (x[i, d, s] - c) ** 2
        for s in range(n_b):
            dist = np.sqrt(r2[s])
            r2[s] = -k * (1.0 - radius / dist) if dist > 0.0 else 0.0
        for d in range(n_d):
            for s in range(n_b):
                c = 0.0 if static else centre[i, d, s]
                f[i, d, s] += r2[s] * (x[i, d, s] - c)


@njit(**_INLINE)
def _add_pair_rings(x, centre, k, radii, width, f, r2, best):
    n_p, n_d, n_b = x.shape
    for i in range(n_p):
        for j in range(n_p):
            if j == i:
                continue
            for s in range(n_b):
                r2[s] = 0.0
            for d in range(n_d):
                for s in range(n_b):
                    r2[s] += (x[i, d, s] - centre[j, d, s]) ** 2
            for s in range(n_b):
                r2[s] = np.sqrt(r2[s])
                best[s] = r2[s] - radii[0]
            for m in range(1, radii.shape[0]):  # the nearest ring
                for s in range(n_b):
                    e = r2[s] - radii[m]
                    best[s] = e if abs(e) < abs(best[s]) else best[s]
            for s in range(n_b):
                pull = abs(best[s]) < width and r2[s] > 0.0
                r2[s] = -k * best[s] / r2[s] if pull else 0.0
            for d in range(n_d):
                for s in range(n_b):
                    f[i, d, s] += r2[s] * (x[i, d, s] - centre[j, d, s])


@njit(**_INLINE)
def _add_repulsion(x, eps, sigma, f, r2):
    n_p, n_d, n_b = x.shape
    for i in range(n_p):
        for j in range(i + 1, n_p):
            for s in range(n_b):
                r2[s] = 0.0
            for d in range(n_d):
                for s in range(n_b):
                    r2[s] += (x[i, d, s] - x[j, d, s]) ** 2
            for s in range(n_b):
                dist = np.sqrt(r2[s])
                r2[s] = eps * (sigma / dist - 1.0) if 0.0 < dist < sigma else 0.0
            for d in range(n_d):
                for s in range(n_b):
                    fij = r2[s] * (x[i, d, s] - x[j, d, s])
                    f[i, d, s] += fij
                    f[j, d, s] -= fij


@njit(**_INLINE)
def _copy(dst, src):
    """``dst[...] = src`` for ``(particle, space, B)`` blocks, as a loop Numba inlines."""
    for i in range(dst.shape[0]):
        for d in range(dst.shape[1]):
            for s in range(dst.shape[2]):
                dst[i, d, s] = src[i, d, s]


@njit(**_INLINE)
def _gather(dst, buf, slot):
    """``dst[..., s] = buf[slot[s], ..., s]``: each lane reads its own slot of the ring buffer."""
    for i in range(dst.shape[0]):
        for d in range(dst.shape[1]):
            for s in range(dst.shape[2]):
                dst[i, d, s] = buf[slot[s], i, d, s]


@njit(**_INLINE)
def _fill(dst, value):
    for i in range(dst.shape[0]):
        for d in range(dst.shape[1]):
            for s in range(dst.shape[2]):
                dst[i, d, s] = value


@njit(cache=True, error_model="numpy", inline="always")
def _force(x, centre, prog, f, r2, best):
    one_body, k, radius, pair_k, radii, width, eps, sigma = prog
    _fill(f, 0.0)
    if one_body != NO_ONE_BODY and k != 0.0:
        _add_one_body(x, centre, one_body == STATIC, k, radius, f, r2)
    if pair_k != 0.0 and radii.shape[0] > 0:
        _add_pair_rings(x, centre, pair_k, radii, width, f, r2, best)
    if eps != 0.0:
        _add_repulsion(x, eps, sigma, f, r2)


def integrate(
    x0: np.ndarray,
    keys: np.ndarray,
    prog: Program,
    sched: Schedule,
    n_sims: int,
    lags: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Run every block; return saved positions and interval-mean velocities.

    Args:
        x0: ``(n_blocks, P, D, B)`` initial positions.
        keys: ``(n_blocks, 2, B)`` uint64 noise keys per simulation.
        prog: :class:`Program`; sched: :class:`Schedule`.
        n_sims: number of real simulations (the rest of the last block is padding).
        lags: ``(n_blocks, B)`` delay of each simulation in steps, each in
            ``0 .. sched.delay_steps``; ``None``: every simulation has ``sched.delay_steps``.

    Returns:
        ``(pos, vel)`` each ``(n_sims, n_frames, P, D)`` with ``n_frames = (n_steps - 1) //
        sample_every``; frame ``k`` is step ``(k + 1) * sample_every`` and its velocity is the
        displacement since the previous frame (or the initial state) over ``sample_every * dt``.
    """
    p = Program(
        int(prog.one_body),
        float(prog.k),
        float(prog.radius),
        float(prog.pair_k),
        np.ascontiguousarray(prog.pair_radii, dtype=np.float64),
        float(prog.pair_width),
        float(prog.repulsion),
        float(prog.diameter),
    )
    s = sched
    if lags is None:
        lags = np.full((x0.shape[0], x0.shape[-1]), s.delay_steps, dtype=np.int64)
    lags = np.ascontiguousarray(lags, dtype=np.int64)
    if lags.shape != (x0.shape[0], x0.shape[-1]) or not 0 <= lags.min() <= lags.max() <= (
        s.delay_steps
    ):
        raise ValueError(
            f"lags must be (n_blocks, B) = {(x0.shape[0], x0.shape[-1])} steps in "
            f"0 .. delay_steps ({s.delay_steps}); got shape {lags.shape}"
        )
    return _integrate(
        np.ascontiguousarray(x0, dtype=np.float64),
        np.ascontiguousarray(keys, dtype=np.uint64),
        lags,
        tuple(p),
        float(s.dt),
        int(s.n_steps),
        int(s.sample_every),
        int(s.delay_steps),
        int(s.interval),
        float(s.kT),
        float(s.gamma),
        n_sims,
    )


@njit(parallel=True, cache=True, error_model="numpy")
def _integrate(x0, keys, lags, prog, dt, n_steps, every, delay, interval, kT, gamma, n_sims):
    n_blocks, n_p, n_d, n_b = x0.shape
    n_frames = (n_steps - 1) // every
    pos = np.empty((n_sims, n_frames, n_p, n_d))
    vel = np.empty((n_sims, n_frames, n_p, n_d))
    mobility = dt / gamma
    amp = np.sqrt(2.0 * kT * dt / gamma)
    frame_time = every * dt
    n_buf = delay + 1
    for b in prange(n_blocks):
        x = x0[b].copy()
        last = x0[b].copy()
        centre = x0[b].copy()
        buf = np.empty((n_buf, n_p, n_d, n_b))
        for slot in range(n_buf):
            buf[slot] = x
        f = np.empty_like(x)
        r2 = np.empty(n_b)
        best = np.empty(n_b)
        u = np.empty(n_b)
        bits = u.view(np.int64)
        z0 = np.empty(n_b)
        z1 = np.empty(n_b)
        key0 = keys[b, 0]
        key1 = keys[b, 1]
        lag = lags[b]
        slot = np.empty(n_b, dtype=np.int64)
        for n in range(n_steps - 1):
            now = n % n_buf
            _copy(buf[now], x)
            if n % interval == 0:  # the positions of lag[s] steps ago, or the initial ones
                for s in range(n_b):
                    back = now - lag[s]
                    slot[s] = back + n_buf if back < 0 else back
                _gather(centre, buf, slot)
            _force(x, centre, prog, f, r2, best)
            for i in range(n_p):
                for d in range(n_d):
                    for s in range(n_b):
                        x[i, d, s] += mobility * f[i, d, s]
            _add_noise(x, key0, key1, n, amp, u, bits, z0, z1)
            step = n + 1
            if step % every == 0:
                k = step // every - 1
                for s in range(n_b):
                    g = b * n_b + s
                    if g < n_sims:
                        for i in range(n_p):
                            for d in range(n_d):
                                pos[g, k, i, d] = x[i, d, s]
                                vel[g, k, i, d] = (x[i, d, s] - last[i, d, s]) / frame_time
                _copy(last, x)
    return pos, vel
