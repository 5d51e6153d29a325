"""The true field of a system at arbitrary points, per unit charge or mass.

Wraps each field system's evaluator (``System.field``) behind one signature, reading what the
system declares: a field drawn per simulation (``field_scope == "per_simulation"``) needs that
simulation's sources; a velocity-dependent force (``field_needs_velocity``, e.g. :math:`q v \\times B`)
needs the velocities, and is returned per unit charge.
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
    args: list[np.ndarray] = []
    if sys_.field_scope == "per_simulation":
        if source_position is None:
            raise ParameterError(
                f"the field of {system!r} differs per simulation: pass source_position"
            )
        args.append(source_position)
    if not sys_.field_needs_velocity:
        return sys_.field(p, points, *args)
    if velocity is None:
        raise ParameterError(f"the force of {system!r} depends on velocity: pass velocity")
    return sys_.field(p, points, *args, velocity=velocity)
