r"""Cybloids: Brownian colloids under programmed, time-delayed feedback potentials.

Computer-controlled colloids (Saha, Tarama, Löwen, Egelhaaf, Soft Matter 2024; Tarama et al.,
J. Chem. Phys. 2025): a feedback loop measures the particles' positions and programs a potential
from them, acting after a delay :math:`\delta`. The particles are overdamped,
:math:`\gamma\, \dot r = -\nabla U + \sqrt{2 \gamma k_B T}\, \xi(t)`, integrated by
Euler-Maruyama (:mod:`fieldlab.simulators.brownian`, which also states the feedback timing and
the noise generator). Four registered systems:

- ``cybloid-trap``: a harmonic trap centred on the particle's own past position,
  :math:`U = \tfrac{k}{2} |r(t) - r(t - \delta)|^2`. Short times are free diffusion, lags near
  :math:`\delta` are subdiffusive (the particle is pulled back to where it was, so the MSD dips
  near :math:`\delta`), long times diffuse with :math:`D_\infty = D / (1 + k \delta / \gamma)^2`
  (friction grows to :math:`\gamma + k \delta`, the noise does not). With :math:`\delta = 0` it
  exerts no force.
- ``cybloid-annular``: a ring of radius :math:`R` about the past position,
  :math:`U = \tfrac{k}{2} (|r(t) - r(t - \delta)| - R)^2`: the particle is kept a distance
  :math:`R` from where it was, so it keeps moving away from its past and becomes active: the MSD
  grows faster than diffusively at lags beyond :math:`\delta`.
- ``cybloid-crystal``: programmed pairs, each particle pulled onto rings of radii
  :math:`R_m` (half-width :math:`w`) about every other particle's past position, plus a soft
  overlap repulsion of diameter :math:`\sigma`. One ring at :math:`R > \sigma`, narrow enough
  that the second shell :math:`\sqrt 3 R` falls outside it, builds triangular crystallites of
  lattice constant :math:`R` (6 bonds per particle); rings at :math:`R` and :math:`\sqrt 2 R`
  with a core :math:`\sigma` that forbids compressed triangular lattices build square ones
  (8 bonds against 6), e.g. ``radii = (1.5, 2.121), width = 0.3, k = 120, diameter = 1.4,
  repulsion = 2000, dt = 2.5e-4``.
- ``cybloid-static-trap``: the validation case, a harmonic (:math:`R = 0`) or annular trap about
  the origin; its stationary variance is :math:`k_B T / k` per coordinate when harmonic.

Independent cybloids: in the one-body systems, ``n_particles > 1`` gives independent particles.

**Units and defaults.** The published parameter values are not known; the defaults are chosen
to make each effect clear and cheap to simulate, in units of the particle diameter
:math:`\sigma` (length), :math:`k_B T` (energy) and the Brownian time :math:`\sigma^2 / D`
(time), so ``kT = gamma = 1`` and :math:`D = 1`. Trap stiffness ``k = 10`` relaxes in
:math:`\gamma / k = 0.1`, a hundred steps of ``dt = 1e-3``; the delay :math:`\delta = 1` (ten
relaxation times, so the trap acts well inside one delay) makes :math:`k \delta / \gamma = 10`:
long-time diffusion slowed 121-fold and an MSD exponent near 0.65 between lags 0.1 and 0.5. The
annular ring ``R = 2``, the thermal displacement per delay :math:`\sqrt{2 d D \delta}`, with
``k = 20`` gives an exponent near 1.4 between lags 1 and 2. The crystal's ring ``R = 1.5``
exceeds the diameter (lattice constant set by the ring), its half-width ``0.3`` keeps
:math:`\sqrt 3 R` out and with ``k = 100`` makes each bond :math:`4.5 k_B T` deep; the overlap
stiffness ``1000`` (ten times the ring's, so ring pulls cannot squeeze particles together) needs
``dt = 5e-4``; the delay ``0.01`` equals the bond relaxation time :math:`\gamma / k` (much longer
delays make the lattice oscillate and collapse).

**A sweep of delays.** The feedback systems take ``delay_sweep`` in place of ``delay``: simulation
``i`` (its global index, so whatever batch or chunk it is simulated in) has delay
``delay_sweep[i % len(delay_sweep)]``, and is otherwise the very simulation ``i`` that the single
delay would give, bit for bit. One dataset then holds every delay of the sweep, interleaved.

**Saved variables.** ``position`` at frames ``sample_every * dt`` apart (the initial state is not
saved) and ``velocity``, defined as the displacement since the previous frame divided by the
frame interval, what a camera measures: overdamped trajectories have no instantaneous velocity.
With a sweep, ``delay`` ``(sim,)`` is each simulation's delay.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from pydantic import Field, field_validator, model_validator

from fieldlab.simulators import brownian
from fieldlab.simulators.blocks import to_blocks
from fieldlab.simulators.result import SimulationResult, assemble
from fieldlab.simulators.seeding import simulation_rng
from fieldlab.simulators.system import Params, RunFn, System

BLOCK = 32
"""Simulations per vectorised block."""

MAX_HELD = 1_000_000
"""Most coordinates the delay buffer may hold per simulation (256 MB per block of 32)."""

REFERENCE = (
    "Saha, Tarama, Löwen, Egelhaaf 2024, Cybloids - creation and control of cybernetic colloids "
    "(Soft Matter); Tarama et al. 2025 (J. Chem. Phys.)"
)


class BrownianParams(Params):
    """Overdamped Langevin dynamics: temperature, friction and the initial spread."""

    n_particles: int = Field(1, ge=1, description="number of particles")
    n_steps: int = Field(20_000, ge=2, description="integration steps, including the first")
    sample_every: int = Field(10, ge=1, description="save one frame every this many steps")
    kT: float = Field(1.0, gt=0.0, description="thermal energy k_B T")
    gamma: float = Field(1.0, gt=0.0, description="friction coefficient; D = kT / gamma")
    init_std: float = Field(1.0, ge=0.0, description="std of initial positions per coordinate")


class FeedbackParams(BrownianParams):
    """Feedback timing: the delay (or a sweep of delays) and how often the potential updates."""

    delay: float | None = Field(
        1.0, ge=0.0, description="feedback delay delta (a multiple of dt); null with delay_sweep"
    )
    delay_sweep: tuple[float, ...] | None = Field(
        None,
        description="delays cycled over the simulations, replacing delay: simulation i "
        "(global index) has delay_sweep[i % len(delay_sweep)]",
    )
    interval: int = Field(1, ge=1, description="steps between updates of the potential")

    @model_validator(mode="before")
    @classmethod
    def _sweep_replaces_delay(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("delay_sweep") is not None:
            if data.get("delay") is not None:
                raise ValueError(
                    f"delay ({data['delay']}) and delay_sweep both given; with a sweep each "
                    "simulation takes its delay from delay_sweep, so leave delay out (or null)"
                )
            data = {**data, "delay": None}
        return data

    @field_validator("delay_sweep")
    @classmethod
    def _sweep_entries(cls, v: tuple[float, ...] | None) -> tuple[float, ...] | None:
        if v is not None and not v:
            raise ValueError("is empty; list at least one delay, or leave it out for one delay")
        if v is not None and min(v) < 0:
            raise ValueError(f"delays must be non-negative, got {v}")
        return v

    @property
    def delays(self) -> tuple[float, ...]:
        """The delays the simulations cycle through (one entry without a sweep)."""
        return self.delay_sweep if self.delay_sweep is not None else (self.delay or 0.0,)

    @property
    def lag_steps(self) -> tuple[int, ...]:
        """:attr:`delays` in steps of ``dt``."""
        return tuple(round(d / self.dt) for d in self.delays)

    @property
    def delay_steps(self) -> int:
        """The longest delay in steps (it sizes the delay buffer)."""
        return max(self.lag_steps)

    def sim_delays(self, first_sim: int, n_sims: int) -> np.ndarray:
        """``(n_sims,)`` index into :attr:`delays` of simulations ``first_sim ..``."""
        return (first_sim + np.arange(n_sims)) % len(self.delays)

    @model_validator(mode="after")
    def _delay_on_grid(self) -> FeedbackParams:
        if self.delay is None and self.delay_sweep is None:
            raise ValueError("delay is null: give a delay, or a delay_sweep")
        named = (
            [("delay", self.delay)]
            if self.delay_sweep is None
            else [(f"delay_sweep[{i}]", d) for i, d in enumerate(self.delay_sweep)]
        )
        for name, delay in named:
            steps = delay / self.dt
            if abs(steps - round(steps)) > 1e-6 * max(1.0, steps):
                raise ValueError(
                    f"{name} ({delay}) must be a whole number of steps dt ({self.dt}); "
                    f"use {name} = {round(steps) * self.dt:g}"
                )
        held = (self.delay_steps + 1) * self.n_particles * self.dim
        if held > MAX_HELD:
            raise ValueError(
                f"the delay buffer would hold {held:,} coordinates per simulation "
                f"((longest delay / dt + 1) * n_particles * dim); keep it under {MAX_HELD:,} by "
                "raising dt or shortening the delay"
            )
        return self


class TrapParams(FeedbackParams):
    """A ring of radius ``radius`` (0: harmonic) about the particle's own delayed position."""

    k: float = Field(10.0, ge=0.0, description="trap stiffness k")
    radius: float = Field(0.0, ge=0.0, description="ring radius R; 0 is a harmonic trap")


class AnnularParams(TrapParams):
    """The annular program: a ring about the particle's own delayed position."""

    k: float = Field(20.0, ge=0.0, description="ring stiffness k")
    radius: float = Field(2.0, ge=0.0, description="ring radius R")


class StaticTrapParams(BrownianParams):
    """A static trap about the origin: harmonic (``radius = 0``) or annular."""

    k: float = Field(10.0, ge=0.0, description="trap stiffness k")
    radius: float = Field(0.0, ge=0.0, description="ring radius R; 0 is a harmonic trap")


class CrystalParams(FeedbackParams):
    """Programmed pair rings about the others' delayed positions, with overlap repulsion."""

    n_particles: int = Field(19, ge=2, description="number of particles")
    dt: float = Field(5e-4, gt=0.0, description="integration step")
    sample_every: int = Field(20, ge=1, description="save one frame every this many steps")
    init_std: float = Field(1.5, ge=0.0, description="std of initial positions per coordinate")
    delay: float | None = Field(
        0.01, ge=0.0, description="feedback delay delta (a multiple of dt); null with delay_sweep"
    )
    k: float = Field(100.0, ge=0.0, description="stiffness of each ring")
    radii: tuple[float, ...] = Field(
        (1.5,), min_length=1, description="ring radii (0 is harmonic attraction)"
    )
    width: float | None = Field(
        0.3, gt=0.0, description="half-width of each ring; None for untruncated rings"
    )
    repulsion: float = Field(1000.0, ge=0.0, description="overlap stiffness epsilon")
    diameter: float = Field(1.0, gt=0.0, description="particle diameter sigma")

    @field_validator("radii")
    @classmethod
    def _non_negative(cls, v: tuple[float, ...]) -> tuple[float, ...]:
        if min(v) < 0:
            raise ValueError(f"ring radii must be non-negative, got {v}")
        return v


def _keys_and_positions(
    p: BrownianParams, n_sims: int, seed: int, first_sim: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per simulation, from its own stream: initial positions, then two 64-bit noise keys."""
    x0 = np.empty((n_sims, p.n_particles, p.dim))
    keys = np.empty((n_sims, 2), dtype=np.uint64)
    for i in range(n_sims):
        rng = simulation_rng(seed, first_sim + i)
        x0[i] = rng.standard_normal((p.n_particles, p.dim)) * p.init_std
        keys[i] = rng.integers(0, 2**64, size=2, dtype=np.uint64)
    return x0, keys


def program(p: BrownianParams) -> brownian.Program:
    """The potential each parameter set programs."""
    none = np.zeros(0)
    if isinstance(p, CrystalParams):
        width = math.inf if p.width is None else p.width
        radii = np.asarray(p.radii, dtype=np.float64)
        return brownian.Program(
            brownian.NO_ONE_BODY, 0.0, 0.0, p.k, radii, width, p.repulsion, p.diameter
        )
    if isinstance(p, TrapParams):
        return brownian.Program(brownian.SELF, p.k, p.radius, 0.0, none, 0.0, 0.0, 1.0)
    if isinstance(p, StaticTrapParams):
        return brownian.Program(brownian.STATIC, p.k, p.radius, 0.0, none, 0.0, 0.0, 1.0)
    return brownian.Program(brownian.NO_ONE_BODY, 0.0, 0.0, 0.0, none, 0.0, 0.0, 1.0)


def schedule(p: BrownianParams) -> brownian.Schedule:
    """Time stepping and feedback timing (no delay for systems without feedback)."""
    fb = isinstance(p, FeedbackParams)
    return brownian.Schedule(
        dt=p.dt,
        n_steps=p.n_steps,
        sample_every=p.sample_every,
        delay_steps=p.delay_steps if fb else 0,
        interval=p.interval if fb else 1,
        kT=p.kT,
        gamma=p.gamma,
    )


def _run(name: str) -> RunFn:
    def run(p: BrownianParams, n_sims: int, seed: int, first_sim: int = 0) -> SimulationResult:
        x0, keys = _keys_and_positions(p, n_sims, seed, first_sim)
        sweep = isinstance(p, FeedbackParams) and p.delay_sweep is not None
        lags = None
        if sweep:
            which = p.sim_delays(first_sim, n_sims)
            lags = to_blocks(np.asarray(p.lag_steps, dtype=np.int64)[which], BLOCK)
        pos, vel = brownian.integrate(
            to_blocks(x0, BLOCK), to_blocks(keys, BLOCK), program(p), schedule(p), n_sims, lags
        )
        time = p.dt * p.sample_every * np.arange(1, pos.shape[1] + 1)
        variables = {"position": pos, "velocity": vel}
        if sweep:
            variables["delay"] = np.asarray(p.delays, dtype=np.float64)[which]
        return assemble(name, p, seed, first_sim, time, variables)

    run.__doc__ = f"Simulate ``n_sims`` runs of ``{name}`` (see the module docstring)."
    return run


TRAP = System(
    name="cybloid-trap",
    params=TrapParams,
    run=_run("cybloid-trap"),
    description="cybloid in a harmonic trap about its own delayed position (subdiffusion)",
    reference=REFERENCE,
)

ANNULAR = System(
    name="cybloid-annular",
    params=AnnularParams,
    run=_run("cybloid-annular"),
    description="cybloid on a ring about its own delayed position (active motion)",
    reference=REFERENCE,
)

CRYSTAL = System(
    name="cybloid-crystal",
    params=CrystalParams,
    run=_run("cybloid-crystal"),
    description="cybloids pulled onto rings about each other's delayed positions (crystals)",
    reference=REFERENCE,
)

STATIC_TRAP = System(
    name="cybloid-static-trap",
    params=StaticTrapParams,
    run=_run("cybloid-static-trap"),
    description="Brownian particle in a static harmonic or annular trap (validation)",
    reference=REFERENCE,
)

SYSTEMS = (TRAP, ANNULAR, CRYSTAL, STATIC_TRAP)
