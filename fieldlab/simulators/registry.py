"""The registry of simulators and the one entry point, :func:`simulate`.

>>> from fieldlab.simulators import simulate
>>> result = simulate("charged", n_sims=4, seed=0, params={"n_steps": 1000})
>>> result.position.shape   # (sim, time, particle, space)
(4, 9, 5, 2)
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import contextmanager
from typing import Any, Literal

import numba
import numpy as np
from pydantic import ValidationError

from fieldlab.errors import ParameterError, SimulationError, UnknownSystemError
from fieldlab.simulators import (
    charged,
    cybloids,
    diffusion,
    electrostatic_field,
    gravitational_field,
    gravity,
    heat_sphere,
    lorentz,
    navier_stokes,
    springs,
    uniform_force,
)
from fieldlab.simulators.result import SimulationResult
from fieldlab.simulators.system import Params, System

SYSTEMS: dict[str, System] = {
    s.name: s
    for s in (
        charged.NRI,
        charged.EGNN,
        springs.SYSTEM,
        gravity.SYSTEM,
        electrostatic_field.SYSTEM,
        gravitational_field.SYSTEM,
        lorentz.SYSTEM,
        uniform_force.SYSTEM,
        *cybloids.SYSTEMS,
        diffusion.SYSTEM,
        navier_stokes.SYSTEM,
        heat_sphere.SYSTEM,
    )
}


DIVERGED_ABOVE = 1.0e6
"""A saved state value (position, velocity or field) beyond this in absolute value means the run
blew up: every registered system's published setting stays below 200, so this leaves a margin of
5,000 for other legitimate settings while catching a too-large ``dt`` (``charged`` with
``dt=1e3`` reaches positions of 1e11, all finite)."""


def get_system(name: str) -> System:
    """The registered system ``name``; an unknown name lists the valid ones."""
    try:
        return SYSTEMS[name]
    except KeyError:
        raise UnknownSystemError(
            f"unknown system {name!r}; choose one of: {', '.join(sorted(SYSTEMS))}"
        ) from None


def resolve_params(system: str | System, params: Mapping[str, Any] | None = None) -> Params:
    """Validate ``params`` against the system's schema and fill in the defaults.

    Raises:
        ParameterError: naming each bad parameter, why it is bad, and the valid names.
    """
    sys_ = get_system(system) if isinstance(system, str) else system
    try:
        return sys_.params(**dict(params or {}))
    except ValidationError as err:
        valid = ", ".join(sys_.params.model_fields)
        problems = "; ".join(
            f"{'.'.join(str(x) for x in e['loc']) or 'params'}: "
            + ("not a parameter of this system" if e["type"] == "extra_forbidden" else e["msg"])
            for e in err.errors()
        )
        raise ParameterError(
            f"invalid parameters for system {sys_.name!r}: {problems}. Valid parameters: {valid}"
        ) from None


@contextmanager
def _threads(n: int | None):
    if n is None:
        yield
        return
    if not 1 <= n <= numba.config.NUMBA_NUM_THREADS:
        raise ParameterError(
            f"threads={n} is out of range: use 1 .. {numba.config.NUMBA_NUM_THREADS}"
        )
    old = numba.get_num_threads()
    numba.set_num_threads(n)
    try:
        yield
    finally:
        numba.set_num_threads(old)


def simulate(
    system: str,
    n_sims: int,
    seed: int,
    params: Mapping[str, Any] | None = None,
    *,
    first_sim: int = 0,
    threads: int | None = None,
    on_nonfinite: Literal["raise", "flag"] = "raise",
) -> SimulationResult:
    """Run ``n_sims`` simulations of ``system``.

    Args:
        system: a name from :data:`SYSTEMS`.
        n_sims: number of simulations (>= 1).
        seed: the batch seed; simulation ``first_sim + i`` depends only on ``(seed, first_sim + i)``.
        params: overrides of the system's defaults (the published setting).
        first_sim: global index of the first simulation, to split one dataset over many calls.
        threads: Numba threads to use (default: Numba's current setting). Results do not depend on it.
        on_nonfinite: ``"raise"`` a :class:`SimulationError` naming the simulations whose
            trajectories are not finite or blew up (a saved value beyond :data:`DIVERGED_ABOVE`),
            or ``"flag"`` the non-finite ones in ``result.status.finite`` and return everything
            (the dataset pipeline then applies the card's validation policy).
    """
    sys_ = get_system(system)
    p = resolve_params(sys_, params)
    if n_sims < 1:
        raise ParameterError(f"n_sims must be at least 1, got {n_sims}")
    if seed < 0 or first_sim < 0:
        raise ParameterError(f"seed and first_sim must be non-negative, got {seed}, {first_sim}")
    with _threads(threads):
        result = sys_.run(p, n_sims, seed, first_sim)
    if on_nonfinite == "raise":
        _raise_if_blown_up(result, system, p, n_sims, first_sim)
    return result


def _raise_if_blown_up(
    result: SimulationResult, system: str, p: Params, n_sims: int, first_sim: int
) -> None:
    """Raise :class:`SimulationError` if a simulation is not finite or exceeds DIVERGED_ABOVE."""
    fix = (
        f"reduce dt (now {p.dt:g}) or the interaction strength, or pass on_nonfinite='flag' to "
        "keep the results"
    )
    if not result.status.all_finite:
        bad = [first_sim + int(i) for i in (~result.status.finite).nonzero()[0][:10]]
        raise SimulationError(
            f"system {system!r}: simulations {bad} (of {n_sims}) produced non-finite values; {fix}"
        )
    for name in result.state_names:
        x = result.variables[name]
        peak = np.abs(x.reshape(x.shape[0], -1)).max(axis=1)
        bad_sims = (peak > DIVERGED_ABOVE).nonzero()[0]
        if bad_sims.size:
            bad = [first_sim + int(i) for i in bad_sims[:10]]
            raise SimulationError(
                f"system {system!r}: simulations {bad} (of {n_sims}) blew up: |{name}| reached "
                f"{float(peak.max()):.3g}, beyond {DIVERGED_ABOVE:g} (no published setting "
                f"exceeds 200); {fix}"
            )
