"""A plain NumPy implementation of the cybloid dynamics, batched over simulations.

The same equations and feedback timing as :mod:`fieldlab.simulators.brownian`, written the
direct way: arrays ``(sim, particle, space)``, a ring buffer ``(delay + 1, sim, particle, space)``,
dense ``(sim, particle, particle)`` pair arrays. ``noise(n)`` supplies step ``n``'s standard
normals, so the tests can feed it the kernel's counter-based stream (:func:`counter_noise`) and
compare trajectories, and the benchmark its natural NumPy stream.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from fieldlab.simulators import brownian

_G = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def _mix(z: np.ndarray) -> np.ndarray:
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


def counter_noise(keys: np.ndarray, n_p: int, n_d: int) -> Callable[[int], np.ndarray]:
    """Step ``n``'s normals ``(sim, particle, space)`` of the kernel's stream; keys ``(S, 2)``."""
    n_q = (n_d + 1) // 2
    k0, k1 = keys[:, 0, None, None], keys[:, 1, None, None]

    def noise(n: int) -> np.ndarray:
        i, q = np.meshgrid(np.arange(n_p), np.arange(n_q), indexing="ij")
        c = (2 * ((n * n_p + i) * n_q + q)).astype(np.uint64)[None]
        with np.errstate(over="ignore"):
            h1 = _mix(_mix(c * _G + k0) ^ k1)
            h2 = _mix(_mix((c + np.uint64(1)) * _G + k0) ^ k1)
        u1 = 1.0 - (h1 >> np.uint64(11)).astype(np.float64) * 2.0**-53
        u2 = (h2 >> np.uint64(11)).astype(np.float64) * 2.0**-53
        rho = np.sqrt(-2.0 * np.log(u1))
        z = np.stack([rho * np.cos(2 * np.pi * u2), rho * np.sin(2 * np.pi * u2)], axis=-1)
        return z.reshape(z.shape[0], n_p, 2 * n_q)[..., :n_d]

    return noise


def _one_body(x: np.ndarray, c: np.ndarray, k: float, radius: float) -> np.ndarray:
    delta = x - c
    if radius == 0.0:
        return -k * delta
    dist = np.sqrt((delta**2).sum(-1, keepdims=True))
    with np.errstate(divide="ignore", invalid="ignore"):
        coef = np.where(dist > 0, -k * (1.0 - radius / dist), 0.0)
    return coef * delta


def _pair_rings(
    x: np.ndarray, c: np.ndarray, k: float, radii: np.ndarray, width: float
) -> np.ndarray:
    delta = x[:, :, None, :] - c[:, None, :, :]  # (sim, i, j, d): from j's centre to i
    dist = np.sqrt((delta**2).sum(-1))
    e = dist[..., None] - radii
    best = np.take_along_axis(e, np.abs(e).argmin(-1)[..., None], -1)[..., 0]
    n_p = x.shape[1]
    pull = (np.abs(best) < width) & (dist > 0) & ~np.eye(n_p, dtype=bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        coef = np.where(pull, -k * best / dist, 0.0)
    return (coef[..., None] * delta).sum(axis=2)


def _repulsion(x: np.ndarray, eps: float, sigma: float) -> np.ndarray:
    delta = x[:, :, None, :] - x[:, None, :, :]
    dist = np.sqrt((delta**2).sum(-1))
    with np.errstate(divide="ignore", invalid="ignore"):
        coef = np.where((dist > 0) & (dist < sigma), eps * (sigma / dist - 1.0), 0.0)
    return (coef[..., None] * delta).sum(axis=2)


def force(x: np.ndarray, c: np.ndarray, prog: brownian.Program) -> np.ndarray:
    """Total force ``(sim, particle, space)`` at positions ``x`` with held centres ``c``."""
    f = np.zeros_like(x)
    if prog.one_body != brownian.NO_ONE_BODY and prog.k != 0.0:
        centre = np.zeros_like(x) if prog.one_body == brownian.STATIC else c
        f += _one_body(x, centre, prog.k, prog.radius)
    if prog.pair_k != 0.0 and len(prog.pair_radii) > 0:
        radii = np.asarray(prog.pair_radii, dtype=np.float64)
        f += _pair_rings(x, c, prog.pair_k, radii, prog.pair_width)
    if prog.repulsion != 0.0:
        f += _repulsion(x, prog.repulsion, prog.diameter)
    return f


def integrate(
    x0: np.ndarray,
    prog: brownian.Program,
    sched: brownian.Schedule,
    noise: Callable[[int], np.ndarray],
    lags: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Euler-Maruyama with delayed, held feedback; returns ``(pos, vel)`` like the kernel.

    ``lags``: ``(sim,)`` each simulation's delay in steps (default: ``sched.delay_steps``).
    """
    dt, n_steps, every, delay, interval, kT, gamma = sched
    mobility, amp = dt / gamma, np.sqrt(2.0 * kT * dt / gamma)
    n_buf = delay + 1
    sims = np.arange(x0.shape[0])
    lag = np.full(x0.shape[0], delay) if lags is None else np.asarray(lags)
    buf = np.repeat(x0[None], n_buf, axis=0)
    x, centre, last = x0.copy(), x0.copy(), x0.copy()
    pos, vel = [], []
    for n in range(n_steps - 1):
        buf[n % n_buf] = x
        if n % interval == 0:
            centre = buf[(n - lag) % n_buf, sims]  # fancy indexing copies
        x = x + mobility * force(x, centre, prog)
        x = x + amp * noise(n)
        if (n + 1) % every == 0:
            pos.append(x)
            vel.append((x - last) / (every * dt))
            last = x
    return np.stack(pos, axis=1), np.stack(vel, axis=1)
