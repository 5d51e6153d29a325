"""The conserved quantities of a dataset's system, as its registry entry declares them
(:mod:`fieldlab.simulators.conservation`), to score the physics of learned rollouts."""

from __future__ import annotations

from fieldlab.catalog.card import Card
from fieldlab.simulators import get_system, resolve_params
from fieldlab.simulators.conservation import Conserved, coulomb_energy, momentum


def conservation_for(card: Card, split: str = "test") -> Conserved | None:
    """What ``card``'s system conserves with the split's parameters, or ``None``."""
    system = get_system(card.simulator)
    return system.conserved(resolve_params(system, card.resolved_params(split)))


__all__ = ["Conserved", "conservation_for", "coulomb_energy", "momentum"]
