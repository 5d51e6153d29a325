r"""2-D incompressible Navier-Stokes on the unit torus, vorticity form, pseudo-spectral.

The setting of the equivariant-neural-field benchmark (Knigge, Wessels et al. 2024, following
Li et al. 2021's Fourier-neural-operator data):

.. math::
    \partial_t \omega + u \cdot \nabla \omega = \nu \nabla^2 \omega + f, \qquad
    u = (\partial_y \psi, -\partial_x \psi), \qquad -\nabla^2 \psi = \omega,

on :math:`[0, 1)^2` with periodic boundaries, :math:`\nu = 10^{-3}`,
:math:`f = 0.3 (\cos 4 \pi x + \cos 4 \pi y)`, initial vorticity a Gaussian random field with
covariance :math:`\propto (-\Delta + \tau^2)^{-\alpha}`, :math:`\alpha = 2.5`, :math:`\tau = 7`
(drawn as Li et al.'s ``GaussianRF``), 30 time units of warm-up, then 20 frames one time unit
apart, on a 64 x 64 grid (:math:`x_j = j / N`; fields ``(sim, time, y, x)``).

**Discretisation.** Fourier modes :math:`\hat\omega_k` with wavevectors :math:`2 \pi k`; the
streamfunction :math:`\hat\psi = \hat\omega / (4 \pi^2 |k|^2)` (mean zero), velocity
:math:`\hat u = 2 \pi i k_y \hat\psi`, :math:`\hat v = -2 \pi i k_x \hat\psi`: divergence-free by
construction. The advection term :math:`A = u \cdot \nabla\omega` is formed in physical space from
modes truncated by the 2/3 rule (:math:`|k_x|, |k_y| \le N / 3`) and truncated again, so it is
free of aliasing. Time stepping is IMEX: Crank-Nicolson for viscosity (unconditionally stable,
second order) and second-order Adams-Bashforth for advection and forcing,

.. math::
    \hat\omega^{n+1} = \frac{(1 - \tfrac{dt}{2} \nu 4\pi^2|k|^2)\, \hat\omega^n
        + dt\, (\hat f - \tfrac32 \hat A^n + \tfrac12 \hat A^{n-1})}
        {1 + \tfrac{dt}{2} \nu 4\pi^2|k|^2},

started with one forward-Euler step (:math:`\hat A^{-1} = \hat A^0`). One advection evaluation
(four inverse and one forward real FFT) per step.

**Step size.** The default ``dt = 0.01`` (100 steps per saved frame) keeps the advective Courant
number :math:`\max|u|\, dt / h` near 0.16 (the flow's speed stays below about 0.25). Against a
run at ``dt = 0.0025``, the vorticity at ``t = 49`` differs by :math:`4 \cdot 10^{-4}` of its
maximum (:math:`8 \cdot 10^{-5}` at ``dt = 0.005``, :math:`1.6 \cdot 10^{-3}` at ``dt = 0.02``:
second order). Each simulation records its largest Courant number over the saved frames; one
above :data:`MAX_COURANT` has left the scheme's stable range and is flagged as not finite.

**Speed.** The five 64 x 64 real FFTs per step dominate. Each runs over the whole batch in one
``np.fft`` call on ``(sim, y, x)``, and the pointwise spectral work is vectorised NumPy over the
batch. Alternatives measured on this 2-core machine (32 simulations; medians of the advection
term per simulation and step, interleaved rounds on a loaded machine): separate batched
``np.fft`` or ``scipy.fft`` calls with NumPy products, 219 and 222 us (the chosen form; scipy.fft
is no faster once each call is one plain batch); the four inverse transforms stacked into one
call, 297 us; a Numba kernel for the gradient modes, 269 us (slower than NumPy's own vectorised
products); transforms pruned to the columns the 2/3 rule keeps, 278 to 374 us (the strided
slices cost more than they save). A fused Numba kernel for the AB2 / Crank-Nicolson update ran
at par with NumPy (within 3%), so Numba does not pay here and the module is plain NumPy.
rocket-fft (pocketfft inside Numba) was not an option: its only available release requires
NumPy 2, and the stack pins NumPy 1.26. ``benchmarks/pde.py`` measures the solver against the
same scheme looping over simulations with ``np.fft`` (see ``benchmarks/README.md``).
Simulations are independent rows of every transform and NumPy's elementwise loops give the
same bits at any offset, so a simulation's numbers do not depend on its batch (tested byte for
byte).

Saved: ``vorticity`` ``(sim, time, y, x)``, ``velocity_field`` ``(sim, time, y, x, component)``
(``save_velocity``), and the ``forcing`` ``(y, x)`` shared by every simulation; coordinates
``x``, ``y`` and ``component`` (``"x"``, ``"y"``).
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
from pydantic import Field, model_validator

from fieldlab.simulators.grid import GridParams
from fieldlab.simulators.result import SimulationResult, SimulationStatus, assemble
from fieldlab.simulators.seeding import draw
from fieldlab.simulators.system import System

REFERENCE = (
    "Knigge, Wessels et al. 2024, Space-Time Continuous PDE Forecasting using Equivariant "
    "Neural Fields (NeurIPS); data setting after Li et al. 2021, Fourier Neural Operator"
)

MAX_COURANT = 1.0
"""A simulation whose advective Courant number exceeds this is flagged as not finite."""


class NavierStokesParams(GridParams):
    """The benchmark's setting (the defaults): see the module docstring."""

    dt: float = Field(1e-2, gt=0.0, description="integration step")
    n_steps: int = Field(2001, ge=2, description="steps after the warm-up, including the first")
    sample_every: int = Field(100, ge=1, description="steps between saved frames")
    warmup_steps: int = Field(3000, ge=0, description="steps before the saved window")
    n: int = Field(64, ge=8, description="grid points per side (even)")
    viscosity: float = Field(1e-3, gt=0.0, description="kinematic viscosity nu")
    forcing_amplitude: float = Field(0.3, description="f = a (cos 2 pi m x + cos 2 pi m y)")
    forcing_wavenumber: int = Field(2, ge=0, description="m in the forcing")
    alpha: float = Field(2.5, gt=1.0, description="smoothness of the initial random field")
    tau: float = Field(7.0, gt=0.0, description="inverse length scale of the initial field")
    save_velocity: bool = Field(True, description="also save the velocity field")

    @model_validator(mode="after")
    def _grid(self) -> NavierStokesParams:
        if self.n % 2:
            raise ValueError(f"n must be even for the real FFT and the 2/3 rule, got {self.n}")
        if self.forcing_wavenumber > self.n // 3:
            raise ValueError(
                f"forcing_wavenumber {self.forcing_wavenumber} is beyond the resolved modes "
                f"(at most n // 3 = {self.n // 3}); raise n"
            )
        return self

    def grid(self) -> np.ndarray:
        """``(n,)`` grid points ``j / n`` along either axis."""
        return np.arange(self.n) / self.n


class Spectral:
    """Wavenumbers and operators of an ``n x n`` real-FFT grid on the unit torus.

    Attributes (all ``(n, n // 2 + 1)``, broadcastable over a leading ``sim`` axis):
        kx, ky: integer wavenumbers; i2pi_kx, i2pi_ky: :math:`2 \\pi i k_x`, :math:`2 \\pi i k_y`;
        k2: :math:`4 \\pi^2 |k|^2`; inv_k2: its inverse (0 at k = 0);
        dealias: 1.0 where :math:`|k_x|, |k_y| \\le n / 3`, else 0.0.
    """

    def __init__(self, n: int) -> None:
        self.n = n
        self.ky = np.broadcast_to(np.fft.fftfreq(n, 1.0 / n)[:, None], (n, n // 2 + 1)).copy()
        self.kx = np.broadcast_to(np.arange(n // 2 + 1.0)[None, :], (n, n // 2 + 1)).copy()
        self.k2 = 4.0 * math.pi**2 * (self.kx**2 + self.ky**2)
        self.inv_k2 = np.divide(1.0, self.k2, out=np.zeros_like(self.k2), where=self.k2 > 0)
        self.i2pi_kx = 2j * math.pi * self.kx
        self.i2pi_ky = 2j * math.pi * self.ky
        cut = n // 3
        self.dealias = ((np.abs(self.kx) <= cut) & (np.abs(self.ky) <= cut)).astype(np.float64)

    def velocity_hat(self, w_hat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        r""":math:`(\hat u, \hat v) = 2\pi i (k_y, -k_x)\, \hat\omega / (4\pi^2 |k|^2)`."""
        psi = w_hat * self.inv_k2
        return 2j * math.pi * self.ky * psi, -2j * math.pi * self.kx * psi

    def velocity(self, w_hat: np.ndarray) -> np.ndarray:
        """``(..., n, n, 2)`` velocity ``(u, v)`` of the vorticity modes ``w_hat (..., n, n//2+1)``."""
        u_hat, v_hat = self.velocity_hat(w_hat)
        uv = np.fft.irfft2(np.stack([u_hat, v_hat], axis=-3), s=(self.n, self.n))
        return np.moveaxis(uv, -3, -1)


def gaussian_random_field(
    z_re: np.ndarray, z_im: np.ndarray, alpha: float, tau: float
) -> np.ndarray:
    r"""``(sim, n, n)`` fields from standard normals ``z_re``, ``z_im`` ``(sim, n, n)``.

    Li et al.'s ``GaussianRF``: modes :math:`c_k = \sigma_k (z_{re} + i z_{im})` with
    :math:`\sigma_k = n^2 \sqrt2\, \tau^{\alpha - 1} (4\pi^2|k|^2 + \tau^2)^{-\alpha/2}`,
    :math:`\sigma_0 = 0`, and the field is the real part of their inverse FFT.
    """
    n = z_re.shape[-1]
    k = np.fft.fftfreq(n, 1.0 / n)
    k2 = 4.0 * math.pi**2 * (k[:, None] ** 2 + k[None, :] ** 2)
    sigma = n**2 * math.sqrt(2.0) * tau ** (alpha - 1.0) * (k2 + tau**2) ** (-alpha / 2.0)
    sigma[0, 0] = 0.0
    return np.fft.ifft2(sigma * (z_re + 1j * z_im)).real


def forcing(p: NavierStokesParams) -> np.ndarray:
    """``(y, x)``: :math:`f = a (\\cos 2\\pi m x + \\cos 2\\pi m y)` on the grid."""
    g = 2.0 * math.pi * p.forcing_wavenumber * p.grid()
    return p.forcing_amplitude * (np.cos(g)[None, :] + np.cos(g)[:, None])


def advection_hat(w_hat: np.ndarray, sp: Spectral) -> np.ndarray:
    r""":math:`\widehat{u \cdot \nabla \omega}` of ``w_hat (sim, n, n//2+1)``, from dealiased modes.

    Not truncated again: :func:`integrate` applies the 2/3 rule to it inside the update.
    """
    wd = w_hat * sp.dealias
    psi = wd * sp.inv_k2
    s = (sp.n, sp.n)
    u = np.fft.irfft2(sp.i2pi_ky * psi, s=s)
    v = np.fft.irfft2(-sp.i2pi_kx * psi, s=s)
    wx = np.fft.irfft2(sp.i2pi_kx * wd, s=s)
    wy = np.fft.irfft2(sp.i2pi_ky * wd, s=s)
    return np.fft.rfft2(u * wx + v * wy)


def integrate(
    w0: np.ndarray,
    p: NavierStokesParams,
    f: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Integrate initial vorticities ``w0 (sim, n, n)`` under forcing ``f (n, n)``.

    Returns:
        ``(vorticity (sim, F, n, n), velocity (sim, F, n, n, 2) or (sim, 0), courant (sim,))``:
        the saved frames (see :mod:`fieldlab.simulators.grid`) and each simulation's largest
        advective Courant number :math:`\\max |u|\\, dt / h` over the saved frames.
    """
    sp = Spectral(p.n)
    S, n, F = w0.shape[0], p.n, p.n_frames
    w_hat = np.ascontiguousarray(np.fft.rfft2(w0))  # products of it keep C order for the FFTs
    f_hat = np.fft.rfft2(f)
    lhs = 1.0 + 0.5 * p.dt * p.viscosity * sp.k2
    explicit = (1.0 - 0.5 * p.dt * p.viscosity * sp.k2) / lhs
    gain = p.dt / lhs
    vort = np.empty((S, F, n, n))
    vel = np.empty((S, F, n, n, 2)) if p.save_velocity else np.empty((S, 0))
    courant = np.zeros(S)
    with np.errstate(over="ignore", invalid="ignore"):  # a blow-up is flagged, not hidden
        a_old = advection_hat(w_hat, sp)
        for step in range(1, p.total_steps + 1):
            a_new = advection_hat(w_hat, sp) if step > 1 else a_old
            adv = sp.dealias * (1.5 * a_new - 0.5 * a_old)  # AB2, then the 2/3 rule
            w_hat = explicit * w_hat + gain * (f_hat - adv)  # Crank-Nicolson for viscosity
            a_old = a_new
            k = step - p.warmup_steps
            if k > 0 and k % p.sample_every == 0:
                frame = k // p.sample_every - 1
                vort[:, frame] = np.fft.irfft2(w_hat, s=(n, n))
                uv = sp.velocity(w_hat)
                speed = np.sqrt((uv**2).sum(axis=-1)).reshape(S, -1).max(axis=1)
                courant = np.fmax(courant, speed * p.dt * n)
                if p.save_velocity:
                    vel[:, frame] = uv
    return vort, vel, courant


def run(p: NavierStokesParams, n_sims: int, seed: int, first_sim: int = 0) -> SimulationResult:
    """Simulations ``first_sim ..``: each draws its initial field from its own stream."""
    shape = (p.n, p.n)
    raw = draw(seed, first_sim, n_sims, [("re", "normal", shape), ("im", "normal", shape)])
    w0 = gaussian_random_field(raw["re"], raw["im"], p.alpha, p.tau)
    f = forcing(p)
    vort, vel, courant = integrate(w0, p, f)
    variables = {"vorticity": vort}
    if p.save_velocity:
        variables["velocity_field"] = vel
    variables["forcing"] = f
    result = assemble(
        SYSTEM.name,
        p,
        seed,
        first_sim,
        p.frame_times(),
        variables,
        coords={"x": p.grid(), "y": p.grid(), "component": np.array(["x", "y"], dtype=object)},
    )
    status = SimulationStatus(
        result.status.finite & (courant <= MAX_COURANT), result.status.clipped
    )
    return replace(result, status=status)


SYSTEM = System(
    name="navier-stokes-torus",
    version="2",
    params=NavierStokesParams,  # type: ignore[arg-type]  # grid parameters, not particle ones
    run=run,
    description="2-D incompressible Navier-Stokes on the torus: pseudo-spectral, AB2/CN (ENF)",
    reference=REFERENCE,
    kind="grid",
    periodic=lambda p: True,
)
