"""Shared helpers: each system's initial state, as its run function draws it."""

from __future__ import annotations

from fieldlab.simulators import electrostatic_field, gravitational_field, lorentz, uniform_force
from fieldlab.testing.initial_states import charged_initial, gravity_initial

__all__ = [
    "charged_initial",
    "electrostatic_field",
    "gravitational_field",
    "gravity_initial",
    "lorentz",
    "uniform_force",
]
