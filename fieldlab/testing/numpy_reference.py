"""Plain NumPy implementations of the simulators' equations, one simulation at a time.

Written straight from the published definitions (NRI's loop, SEGNN's leapfrog), with dense
``(P, P)`` pair matrices the way the reference code computes them, and no shared code with the
Numba kernels. The tests compare the kernels against these; ``benchmarks/simulators.py`` uses them
as its baseline.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

ForceFn = Callable[[np.ndarray, np.ndarray], np.ndarray]


def coulomb(x: np.ndarray, coupling: np.ndarray, k: float) -> np.ndarray:
    """``F_i = k sum_j c_ij (x_i - x_j) / |x_i - x_j|^3`` for ``x (P, D)``."""
    diff = x[:, None, :] - x[None, :, :]
    r2 = (diff**2).sum(-1)
    np.fill_diagonal(r2, np.inf)
    return ((k * coupling / (r2 * np.sqrt(r2)))[..., None] * diff).sum(axis=1)


def hooke(x: np.ndarray, coupling: np.ndarray, k: float) -> np.ndarray:
    """``F_i = -k sum_j c_ij (x_i - x_j)``."""
    diff = x[:, None, :] - x[None, :, :]
    return -k * (coupling[..., None] * diff).sum(axis=1)


def coulomb_sources(
    x: np.ndarray, q: np.ndarray, src: np.ndarray, src_q: np.ndarray, k: float
) -> np.ndarray:
    """Coulomb force on charges ``q (P,)`` at ``x`` from static charges ``src_q`` at ``src (K, D)``."""
    diff = x[:, None, :] - src[None, :, :]
    r2 = (diff**2).sum(-1)
    return ((k * src_q[None, :] * q[:, None] / (r2 * np.sqrt(r2)))[..., None] * diff).sum(axis=1)


def clip_components(f: np.ndarray, cap: float) -> np.ndarray:
    return np.clip(f, -cap, cap)


def clip_norms(f: np.ndarray, cap: float) -> np.ndarray:
    n = np.sqrt((f**2).sum(-1, keepdims=True))
    return np.where(n > cap, f * (cap / n), f)


def nri_loop(
    x0: np.ndarray,
    v0: np.ndarray,
    force: ForceFn,
    dt: float,
    n_steps: int,
    sample_every: int,
    box: float | None,
) -> tuple[np.ndarray, np.ndarray]:
    """NRI's loop for one simulation; ``force(x, v)`` includes the cap. Returns ``(T, P, D)`` x2."""
    x, v = x0.copy(), v0.copy()
    xs, vs = [], []
    v = v + dt * force(x, v)
    for step in range(1, n_steps):
        x = x + dt * v
        if box is not None:
            over, under = x > box, x < -box
            x = np.where(over, 2 * box - x, np.where(under, -2 * box - x, x))
            v = np.where(over, -np.abs(v), np.where(under, np.abs(v), v))
        if step % sample_every == 0:
            xs.append(x)
            vs.append(v)
        v = v + dt * force(x, v)
    return np.array(xs), np.array(vs)


def softened_accel(
    x: np.ndarray,
    m: np.ndarray,
    g: float,
    eps: float,
    src: np.ndarray | None = None,
    src_m: np.ndarray | None = None,
) -> np.ndarray:
    """``a_i = G sum_j m_j (x_j - x_i) / (|x_j - x_i|^2 + eps^2)^(3/2)``, plus static sources."""
    diff = x[None, :, :] - x[:, None, :]  # x_j - x_i
    inv = ((diff**2).sum(-1) + eps**2) ** -1.5
    np.fill_diagonal(inv, 0.0)
    a = g * ((m[None, :] * inv)[..., None] * diff).sum(axis=1)
    if src is not None and len(src):
        d = src[None, :, :] - x[:, None, :]
        a += g * ((src_m[None, :] * ((d**2).sum(-1) + eps**2) ** -1.5)[..., None] * d).sum(1)
    return a


def leapfrog(
    x0: np.ndarray,
    v0: np.ndarray,
    accel: Callable[[np.ndarray], np.ndarray],
    dt: float,
    n_steps: int,
    sample_every: int,
    save_initial: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """Kick-drift-kick leapfrog for one simulation. Returns ``(T, P, D)`` x2."""
    x, v = x0.copy(), v0.copy()
    a = accel(x)
    xs, vs = ([x], [v]) if save_initial else ([], [])
    for step in range(1, n_steps):
        v = v + 0.5 * dt * a
        x = x + dt * v
        a = accel(x)
        v = v + 0.5 * dt * a
        if step % sample_every == 0:
            xs.append(x)
            vs.append(v)
    return np.array(xs), np.array(vs)
