"""Bad input gets a clear error that names the input and says how to fix it."""

from __future__ import annotations

import numpy as np
import pytest

from fieldlab.errors import FieldlabError, ParameterError, SimulationError, UnknownSystemError
from fieldlab.simulators import simulate


@pytest.mark.parametrize(
    ("system", "params", "match"),
    [
        ("charged", {"dt": 0.0}, "dt: Input should be greater than 0"),
        ("charged", {"dt": -1e-3}, "dt"),
        ("springs", {"n_particles": 1}, "n_particles: Input should be greater than or equal to 2"),
        ("gravity", {"softning": 0.1}, "softning: not a parameter of this system.*softening"),
        ("charged", {"charge_probs": (0.5, 0.5)}, "charge_values has 3 entries"),
        ("charged", {"n_steps": 100}, "must exceed sample_every"),
        ("lorentz", {"dim": 2}, "dim"),
        ("uniform-force", {"force": (0.0, 1.0)}, "force has 2 components but dim is 3"),
    ],
)
def test_invalid_parameters_are_named(system: str, params: dict, match: str) -> None:
    with pytest.raises(ParameterError, match=match) as info:
        simulate(system, 2, seed=0, params=params)
    assert system in str(info.value)


def test_unknown_system_lists_the_choices() -> None:
    with pytest.raises(UnknownSystemError, match="unknown system 'chargd'; choose one of: charged"):
        simulate("chargd", 2, seed=0)


@pytest.mark.parametrize("kwargs", [{"n_sims": 0}, {"seed": -1}, {"threads": 99}])
def test_invalid_call_arguments(kwargs: dict) -> None:
    args = {"n_sims": 2, "seed": 0, **kwargs}
    with pytest.raises(FieldlabError):
        simulate("charged", args.pop("n_sims"), args.pop("seed"), **args)


def test_non_finite_simulations_raise_or_are_flagged() -> None:
    """Two particles started on top of each other, uncapped, produce NaN: never silently."""
    params = {"loc_std": 1e-300, "max_force": 1e308, "n_steps": 300, "sample_every": 100}
    with pytest.raises(SimulationError, match="non-finite"):
        simulate("charged-egnn", 3, seed=0, params=params)
    flagged = simulate("charged-egnn", 3, seed=0, params=params, on_nonfinite="flag")
    assert not flagged.status.finite.any()
    ok = simulate("charged-egnn", 3, seed=0, params={"n_steps": 300, "sample_every": 100})
    assert ok.status.finite.all()
    assert np.isfinite(ok.position).all()
