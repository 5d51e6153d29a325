"""Grid (PDE) simulators: grid-cell updates per second against straightforward NumPy, same run.

- ``diffusion-plane``: fieldlab's Numba FTCS kernel (1 and 2 threads) against the same explicit
  step written with ``np.roll`` over the whole batch at once (periodic boundaries for both, since
  that is what ``np.roll`` gives), 512 simulations of 64 x 64, 26 steps as in the benchmark setting.
- ``navier-stokes-torus``: fieldlab's solver (``np.fft`` over the whole batch) against the same
  AB2 / Crank-Nicolson scheme in plain NumPy, (a) looping over simulations with ``np.fft`` per
  simulation, as reference scripts are usually written (the baseline), and (b) batched like
  fieldlab's, a cross-check that should read about 1x; 32 simulations of 64 x 64, 200 steps.

A cell update is one grid point advanced by one step. Each figure is the best of ``--repeat``
rounds, the candidates alternating within each round, after a warm-up that compiles (or loads) the kernels; the outputs are checked to agree.

    python benchmarks/pde.py            # the default workloads
    python benchmarks/pde.py --quick    # smaller workloads (a smoke run)
"""

from __future__ import annotations

import argparse
import math
import os
import time
from collections.abc import Callable

import numpy as np

from fieldlab.simulators import diffusion, navier_stokes, resolve_params
from fieldlab.simulators.seeding import draw


def interleaved(candidates: dict[str, Callable[[], object]], repeat: int) -> dict[str, tuple]:
    """``name -> (best seconds, output)``, timing the candidates in alternating rounds, so a
    change in the machine's load between rounds hits every candidate alike."""
    best = {k: (math.inf, None) for k in candidates}
    for _ in range(repeat):
        for name, fn in candidates.items():
            t0 = time.perf_counter()
            out = fn()
            t = time.perf_counter() - t0
            if t < best[name][0]:
                best[name] = (t, out)
    return best


# -- diffusion --------------------------------------------------------------------------------


def numpy_ftcs(u0: np.ndarray, rx: float, ry: float, steps: int) -> np.ndarray:
    """The explicit step with ``np.roll`` (periodic), every simulation in each array operation."""
    u = u0.copy()
    for _ in range(steps):
        lap_y = np.roll(u, 1, axis=1) + np.roll(u, -1, axis=1) - 2.0 * u
        lap_x = np.roll(u, 1, axis=2) + np.roll(u, -1, axis=2) - 2.0 * u
        u = u + ry * lap_y + rx * lap_x
    return u


def bench_diffusion(n_sims: int, repeat: int) -> None:
    import numba

    p = resolve_params("diffusion-plane", {"boundary": "periodic"})
    u0 = diffusion.point_sources(draw(0, 0, n_sims, [("s", "uniform", (3,))])["s"], p)
    steps = p.total_steps
    hy, hx = p.spacing
    rx, ry = p.coefficient * p.dt / hx**2, p.coefficient * p.dt / hy**2
    cells = n_sims * steps * p.n_x * p.n_y

    def fieldlab() -> np.ndarray:
        return diffusion.diffuse(
            u0, p.coefficient, p.spacing, p.dt, "periodic", 1, sample_every=steps
        )[:, -1]

    def threaded(threads: int) -> Callable[[], np.ndarray]:
        def run() -> np.ndarray:
            numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
            return fieldlab()

        return run

    fieldlab()  # compile or load
    best = interleaved(
        {"numpy": lambda: numpy_ftcs(u0, rx, ry, steps), 1: threaded(1), 2: threaded(2)}, repeat
    )
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    t_np, ref = best["numpy"]
    base = cells / t_np
    rates = {threads: cells / best[threads][0] for threads in (1, 2)}
    err = max(float(np.abs(best[threads][1] - ref).max()) for threads in (1, 2))
    print(f"diffusion-plane: {n_sims} simulations x {steps} steps x {p.n_y} x {p.n_x} cells")
    print(f"  NumPy np.roll, batched        {base / 1e6:9.1f} M cell-updates/s")
    for threads, rate in rates.items():
        print(
            f"  fieldlab Numba, {threads} thread{'s' if threads > 1 else ' '}     "
            f"{rate / 1e6:9.1f} M cell-updates/s   {rate / base:5.1f}x NumPy"
        )
    print(f"  max |fieldlab - NumPy| = {err:.1e}")


# -- Navier-Stokes ----------------------------------------------------------------------------


def numpy_navier_stokes(
    w0: np.ndarray, p: navier_stokes.NavierStokesParams, f: np.ndarray, steps: int
) -> np.ndarray:
    """The same AB2 / Crank-Nicolson scheme in NumPy for ``w0 (..., n, n)``; final vorticity."""
    n = p.n
    ky = np.fft.fftfreq(n, 1.0 / n)[:, None]
    kx = np.arange(n // 2 + 1.0)[None, :]
    k2 = 4 * np.pi**2 * (kx**2 + ky**2)
    inv_k2 = np.divide(1.0, k2, out=np.zeros_like(k2), where=k2 > 0)
    mask = (np.abs(kx) <= n // 3) & (np.abs(ky) <= n // 3)
    lhs = 1 + 0.5 * p.dt * p.viscosity * k2
    explicit, gain = (1 - 0.5 * p.dt * p.viscosity * k2) / lhs, p.dt / lhs
    f_hat = np.fft.rfft2(f)

    def advection(w_hat: np.ndarray) -> np.ndarray:
        wd = w_hat * mask
        psi = wd * inv_k2
        u = np.fft.irfft2(2j * np.pi * ky * psi, s=(n, n))
        v = np.fft.irfft2(-2j * np.pi * kx * psi, s=(n, n))
        wx = np.fft.irfft2(2j * np.pi * kx * wd, s=(n, n))
        wy = np.fft.irfft2(2j * np.pi * ky * wd, s=(n, n))
        return np.fft.rfft2(u * wx + v * wy)

    w_hat = np.fft.rfft2(w0)
    a_old = advection(w_hat)
    for step in range(steps):
        a_new = advection(w_hat) if step else a_old
        w_hat = explicit * w_hat + gain * (f_hat - mask * (1.5 * a_new - 0.5 * a_old))
        a_old = a_new
    return np.fft.irfft2(w_hat, s=(n, n))


def bench_navier_stokes(n_sims: int, steps: int, repeat: int) -> None:
    p = resolve_params(
        "navier-stokes-torus",
        {"warmup_steps": 0, "n_steps": steps + 1, "sample_every": steps, "save_velocity": False},
    )
    raw = draw(0, 0, n_sims, [("re", "normal", (p.n, p.n)), ("im", "normal", (p.n, p.n))])
    w0 = navier_stokes.gaussian_random_field(raw["re"], raw["im"], p.alpha, p.tau)
    f = navier_stokes.forcing(p)
    cells = n_sims * steps * p.n * p.n

    def fieldlab() -> np.ndarray:
        return navier_stokes.integrate(w0, p, f)[0][:, -1]

    def per_sim() -> np.ndarray:
        return np.stack([numpy_navier_stokes(w, p, f, steps) for w in w0])

    navier_stokes.integrate(w0[:2], p.model_copy(update={"n_steps": 3, "sample_every": 1}), f)
    best = interleaved(
        {
            "loop": per_sim,
            "batch": lambda: numpy_navier_stokes(w0, p, f, steps),
            "fieldlab": fieldlab,
        },
        repeat,
    )
    (t_loop, ref_loop), (t_batch, ref_batch), (t_fl, out) = best.values()
    rate = cells / t_fl
    print(f"navier-stokes-torus: {n_sims} simulations x {steps} steps x {p.n} x {p.n} cells")
    for label, t in (
        ("NumPy, np.fft per simulation ", t_loop),
        ("NumPy, np.fft over the batch ", t_batch),
    ):
        print(f"  {label}{cells / t / 1e6:9.2f} M cell-updates/s")
    print(
        f"  fieldlab (batched np.fft)     {rate / 1e6:9.2f} M cell-updates/s   "
        f"{t_loop / t_fl:5.1f}x per-simulation NumPy, {t_batch / t_fl:4.1f}x batched NumPy"
    )
    scale = float(np.abs(ref_loop).max())
    err = max(float(np.abs(out - r).max()) for r in (ref_loop, ref_batch)) / scale
    print(f"  max |fieldlab - NumPy| / max |w| = {err:.1e}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller workloads (a smoke run)")
    ap.add_argument("--repeat", type=int, default=5, help="runs per figure (the best is kept)")
    args = ap.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    bench_diffusion(64 if args.quick else 512, args.repeat)
    bench_navier_stokes(4 if args.quick else 32, 20 if args.quick else 200, args.repeat)


if __name__ == "__main__":
    main()
