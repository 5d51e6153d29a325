"""The true field of a system at arbitrary points, per unit charge or mass.

Wraps each field system's evaluator (``System.field``) behind one signature. Systems whose field
differs per simulation (``gravitational-field``) need that simulation's sources; systems whose
force depends on velocity (``lorentz``: :math:`q v \\times B`) need the velocities, and return the
force per unit charge, :math:`v \\times B`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from fieldlab.errors import ParameterError
from fieldlab.simulators import get_system, resolve_params


def true_field(
    system: str,
    params: Mapping[str, Any] | None,
    points: np.ndarray,
    *,
    velocity: np.ndarray | None = None,
    source_position: np.ndarray | None = None,
) -> np.ndarray:
    """Field per unit charge/mass at ``points (M, D)``: ``(M, D)``.

    Raises:
        ParameterError: the system has no field, or an input the system needs is missing.
    """
    sys_ = get_system(system)
    if sys_.field is None:
        raise ParameterError(f"system {system!r} has no external field to compare against")
    p = resolve_params(sys_, params)
    if system == "gravitational-field":
        if source_position is None:
            raise ParameterError(
                "the gravitational field differs per simulation: pass source_position"
            )
        return sys_.field(p, points, source_position)
    field = sys_.field(p, points)
    if system == "lorentz":
        if velocity is None:
            raise ParameterError("the Lorentz force depends on velocity: pass velocity")
        return np.cross(velocity, field)
    return field
