"""Each registered system declares its kind, boundary, field and conserved quantities once."""

from __future__ import annotations

import numpy as np
import pytest

from fieldlab.simulators import SYSTEMS, get_system, resolve_params
from fieldlab.simulators.grid import GridParams
from fieldlab.simulators.system import System


@pytest.mark.parametrize("name", sorted(SYSTEMS))
def test_a_system_is_a_grid_exactly_when_its_parameters_describe_a_grid(name: str) -> None:
    system = get_system(name)
    assert (system.kind == "grid") == issubclass(system.params, GridParams)


@pytest.mark.parametrize("name", sorted(SYSTEMS))
def test_a_system_has_a_field_exactly_when_it_declares_its_scope(name: str) -> None:
    system = get_system(name)
    assert (system.field is None) == (system.field_scope == "none")


def test_a_field_without_a_scope_is_refused_when_the_system_is_declared() -> None:
    base = get_system("charged")
    with pytest.raises(ValueError, match="field_scope"):
        System(**{**base.__dict__, "field": lambda p, x: x})


def test_only_the_torus_and_periodic_diffusion_wrap_around() -> None:
    periodic = {n for n, s in SYSTEMS.items() if s.kind == "grid" and s.periodic(resolve_params(s))}
    assert periodic == {"navier-stokes-torus"}
    diffusion = get_system("diffusion-plane")
    assert diffusion.periodic(resolve_params(diffusion, {"boundary": "periodic"}))


def test_the_domain_is_the_sphere_for_heat_sphere_and_else_follows_the_periodic_flag() -> None:
    domains = {n: s.domain(resolve_params(s)) for n, s in SYSTEMS.items()}
    assert {n for n, d in domains.items() if d == "sphere"} == {"heat-sphere"}
    assert {n for n, d in domains.items() if d == "torus"} == {"navier-stokes-torus"}
    assert set(domains.values()) == {"plane", "torus", "sphere"}
    diffusion = get_system("diffusion-plane")
    assert diffusion.domain(resolve_params(diffusion, {"boundary": "periodic"})) == "torus"
    # a system declared without a domain derives it from its periodic flag
    base = get_system("navier-stokes-torus")
    facts = {k: v for k, v in base.__dict__.items() if k != "domain"}
    assert System(**facts).domain(resolve_params(base)) == "torus"
    flat = System(**{**facts, "periodic": lambda p: False})
    assert flat.domain(resolve_params(base)) == "plane"


def test_coulomb_systems_conserve_energy_and_momentum_only_without_walls() -> None:
    charged, egnn, lorentz = (get_system(n) for n in ("charged", "charged-egnn", "lorentz"))
    assert charged.conserved(resolve_params(charged)) is None  # NRI's walls
    law = charged.conserved(resolve_params(charged, {"walls": False}))
    assert law is not None
    assert law.energy is not None
    assert law.momentum
    assert egnn.conserved(resolve_params(egnn)).momentum
    magnetic = lorentz.conserved(resolve_params(lorentz))
    assert magnetic.energy is not None
    assert not magnetic.momentum
    assert (
        get_system("electrostatic-field").conserved(resolve_params("electrostatic-field")) is None
    )


def test_the_lorentz_force_per_unit_charge_is_v_cross_b() -> None:
    system = get_system("lorentz")
    p = resolve_params(system)
    rng = np.random.default_rng(0)
    x, v = rng.normal(size=(7, 3)), rng.normal(size=(7, 3))
    np.testing.assert_allclose(
        system.field(p, x, velocity=v), np.cross(v, np.array(p.magnetic_field))
    )
    assert system.field_needs_velocity
    assert system.field_scope == "shared"
