r"""Conserved quantities of the simulated systems, to score the physics of learned rollouts.

- Coulomb (``charged`` without walls, ``charged-egnn``):
  :math:`E = \sum_i \tfrac12 m_i |v_i|^2 + k \sum_{i<j} q_i q_j / |x_i - x_j|` with unit masses;
  total momentum :math:`\sum_i m_i v_i`.
- ``lorentz``: the same energy (a magnetic field does no work); momentum is *not* conserved.
- ``gravity``: kinetic plus softened Newtonian energy
  (:func:`fieldlab.simulators.gravity.energy`); momentum conserved.

Systems with walls, external fields or forcing conserve neither and have no entry. The
simulators cap large forces, so even the data conserve energy only approximately: compare a
model's drift with the data's own (:func:`fieldlab.training.rollout` reports both).

Shapes: ``x``, ``v`` ``(..., P, D)``; ``scalar`` ``(..., P)``; energies ``(...)``, momenta ``(..., D)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from fieldlab.catalog.card import Card
from fieldlab.simulators.gravity import energy as gravity_energy

EnergyFn = Callable[[np.ndarray, np.ndarray, np.ndarray | None], np.ndarray]


def coulomb_energy(x: np.ndarray, v: np.ndarray, charge: np.ndarray, strength: float) -> np.ndarray:
    """Kinetic plus Coulomb energy of unit-mass particles ``(...)``."""
    kinetic = 0.5 * (v**2).sum((-1, -2))
    r = np.sqrt(((x[..., :, None, :] - x[..., None, :, :]) ** 2).sum(-1))
    iu = np.triu_indices(x.shape[-2], k=1)
    qq = charge[..., :, None] * charge[..., None, :]
    return kinetic + strength * (qq / np.where(r == 0, np.inf, r))[..., iu[0], iu[1]].sum(-1)


def momentum(v: np.ndarray, mass: np.ndarray | float = 1.0) -> np.ndarray:
    """Total momentum ``(..., D)``."""
    m = np.asarray(mass, dtype=float)
    return ((m[..., None] if m.ndim else m) * v).sum(-2)


@dataclass(frozen=True)
class Conservation:
    """What a system conserves: an energy function (or None) and whether momentum is conserved."""

    energy: EnergyFn | None
    momentum: bool
    mass: float = 1.0


def conservation_for(card: Card, split: str = "test") -> Conservation | None:
    """The conserved quantities of ``card``'s system, or ``None`` if it conserves neither."""
    p: dict[str, Any] = card.resolved_params(split)
    sim = card.simulator
    if sim in ("charged", "charged-egnn", "lorentz") and not p.get("walls", False):
        k = float(p["strength"])

        def energy(x: np.ndarray, v: np.ndarray, q: np.ndarray | None) -> np.ndarray:
            return coulomb_energy(x, v, np.ones(x.shape[:-1]) if q is None else q, k)

        return Conservation(energy, momentum=sim != "lorentz")
    if sim == "gravity":
        g, eps, m = float(p["g"]), float(p["softening"]), float(p["mass"])

        def energy(x: np.ndarray, v: np.ndarray, q: np.ndarray | None) -> np.ndarray:
            return gravity_energy(x, v, np.full(x.shape[:-1], m), g, eps)

        return Conservation(energy, momentum=True, mass=m)
    return None
