"""The same seed gives the same bytes, whatever the threads and however simulations are batched."""

from __future__ import annotations

import numpy as np
import pytest

from fieldlab.simulators import SYSTEMS, simulate

SHORT = {"n_steps": 600, "sample_every": 100}


def _small(system: str) -> dict:
    if system == "navier-stokes-torus":  # no 3000-step warm-up, a coarse grid
        return {**SHORT, "warmup_steps": 0, "n": 16}
    return {**SHORT, "n_particles": 10} if system == "gravity" else SHORT


@pytest.mark.parametrize("system", sorted(SYSTEMS))
def test_threads_and_batching_do_not_change_the_bytes(system: str) -> None:
    params = _small(system)
    whole = simulate(system, 45, seed=11, params=params, threads=2)
    single = simulate(system, 45, seed=11, params=params, threads=1)
    first = simulate(system, 13, seed=11, params=params, threads=2)
    rest = simulate(system, 32, seed=11, params=params, first_sim=13, threads=1)
    for name, arr in whole.variables.items():
        np.testing.assert_array_equal(arr, single.variables[name])
        if whole.dims(name)[0] == "sim":
            np.testing.assert_array_equal(
                arr, np.concatenate([first.variables[name], rest.variables[name]])
            )
    np.testing.assert_array_equal(whole.status.clipped, single.status.clipped)


def test_different_seeds_differ() -> None:
    a = simulate("charged", 4, seed=0, params=SHORT)
    b = simulate("charged", 4, seed=1, params=SHORT)
    assert not np.array_equal(a.position, b.position)
