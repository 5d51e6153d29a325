r"""What a system conserves, declared beside its simulator and read by everything that scores physics.

- Coulomb systems without walls (``charged-egnn``; ``charged`` with ``walls: false``):
  :math:`E = \sum_i \tfrac12 m_i |v_i|^2 + k \sum_{i<j} q_i q_j / |x_i - x_j|` with unit masses;
  total momentum :math:`\sum_i m_i v_i`.
- ``lorentz``: the same energy (a magnetic field does no work); momentum is *not* conserved.
- ``gravity``: kinetic plus softened Newtonian energy; momentum conserved.

Systems with walls, external fields or forcing conserve neither and declare nothing. The
simulators cap large forces, so even the data conserve energy only approximately: compare a
model's drift with the data's own.

Shapes: ``x``, ``v`` ``(..., P, D)``; ``charge`` ``(..., P)``; energies ``(...)``, momenta ``(..., D)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

EnergyFn = Callable[[np.ndarray, np.ndarray, np.ndarray | None], np.ndarray]
"""``energy(x, v, charge_or_None) -> (...)``."""


@dataclass(frozen=True)
class Conserved:
    """What one parametrised system conserves: an energy function (or None), and momentum or not."""

    energy: EnergyFn | None
    momentum: bool
    mass: float = 1.0


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


def coulomb(strength: float, *, conserves_momentum: bool = True) -> Conserved:
    """Coulomb energy with coupling ``strength``; a missing charge array means unit charges."""

    def energy(x: np.ndarray, v: np.ndarray, q: np.ndarray | None) -> np.ndarray:
        return coulomb_energy(x, v, np.ones(x.shape[:-1]) if q is None else q, strength)

    return Conserved(energy, momentum=conserves_momentum)
