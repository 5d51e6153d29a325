"""Normalisation statistics of the training split: mean, std, min and max per quantity.

Quantities: ``position``, ``velocity`` and their per-frame deltas ``position_delta``,
``velocity_delta`` (``x[:, t + 1] - x[:, t]``), each over all simulations, frames, particles and
components (one scalar each, so the statistics respect rotations). Every chunk computes its partial
:class:`Moments`; :func:`combine` merges them in chunk order (Chan et al.'s parallel update), so
the result is the same whatever the number of workers or the order tasks finished in.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass

import numpy as np

QUANTITIES: tuple[str, ...] = ("position", "velocity", "position_delta", "velocity_delta")


@dataclass(frozen=True)
class Moments:
    """Count, mean, sum of squared deviations (``m2``), min and max of a set of numbers."""

    count: int
    mean: float
    m2: float
    min: float
    max: float

    @classmethod
    def of(cls, x: np.ndarray) -> Moments:
        if x.size == 0:
            return cls(0, 0.0, 0.0, math.inf, -math.inf)
        mean = float(x.mean())
        return cls(
            int(x.size), mean, float(np.square(x - mean).sum()), float(x.min()), float(x.max())
        )

    def merge(self, other: Moments) -> Moments:
        n = self.count + other.count
        if n == 0:
            return self
        delta = other.mean - self.mean
        return Moments(
            n,
            self.mean + delta * other.count / n,
            self.m2 + other.m2 + delta * delta * self.count * other.count / n,
            min(self.min, other.min),
            max(self.max, other.max),
        )

    def summary(self) -> dict[str, float]:
        """``{"mean", "std", "min", "max", "count"}``; std is the population std."""
        std = math.sqrt(self.m2 / self.count) if self.count else math.nan
        return {
            "mean": self.mean,
            "std": std,
            "min": self.min,
            "max": self.max,
            "count": self.count,
        }


def chunk_moments(position: np.ndarray, velocity: np.ndarray) -> dict[str, dict[str, float]]:
    """Partial moments of one chunk; ``position``, ``velocity`` are ``(sim, time, particle, space)``."""
    arrays = {
        "position": position,
        "velocity": velocity,
        "position_delta": np.diff(position, axis=1),
        "velocity_delta": np.diff(velocity, axis=1),
    }
    return {k: asdict(Moments.of(v)) for k, v in arrays.items()}


def combine(partials: Iterable[Mapping[str, Mapping[str, float]]]) -> dict[str, dict[str, float]]:
    """Merge chunk partials (in the given order) into the summary of each quantity."""
    total = {q: Moments(0, 0.0, 0.0, math.inf, -math.inf) for q in QUANTITIES}
    for part in partials:
        for q in QUANTITIES:
            total[q] = total[q].merge(Moments(**part[q]))
    return {q: m.summary() for q, m in total.items()}
