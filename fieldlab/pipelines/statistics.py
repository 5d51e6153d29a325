"""Normalisation statistics of the training split: mean, std, min and max per quantity.

Quantities: ``position``, ``velocity`` and their per-frame deltas ``position_delta``,
``velocity_delta`` (``x[:, t + 1] - x[:, t]``), each over all simulations, frames, particles and
components (one scalar each, so the statistics respect rotations). Grid datasets have the same
two quantities per saved field instead (e.g. ``vorticity``, ``vorticity_delta``), over all
simulations, frames, grid points and components (:func:`field_moments`). Every chunk computes its partial
:class:`Moments`; :func:`combine` merges them in chunk order (Chan et al.'s parallel update), so
the result is the same whatever the number of workers or the order tasks finished in.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass

import numpy as np
from numba import njit

from fieldlab.simulators.result import is_field

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


def _both(x: np.ndarray) -> dict[str, dict[str, float]]:
    """Moments of ``x`` ``(S, T, P, D)`` and of its per-frame deltas, keyed ``""``/``"_delta"``."""
    values = _moments(np.ascontiguousarray(x, dtype=np.float64))
    out = {}
    for suffix, (count, mean, m2, lo, hi) in zip(
        ("", "_delta"), (values[:5], values[5:]), strict=True
    ):
        if count == 0:
            lo, hi = math.inf, -math.inf
        out[suffix] = asdict(Moments(int(count), mean, m2, lo, hi))
    return out


def chunk_moments(position: np.ndarray, velocity: np.ndarray) -> dict[str, dict[str, float]]:
    """Partial moments of one chunk; ``position``, ``velocity`` are ``(sim, time, particle, space)``."""
    out = {}
    for name, x in (("position", position), ("velocity", velocity)):
        out.update({name + k: v for k, v in _both(x).items()})
    return out


def field_moments(fields: Mapping[str, np.ndarray]) -> dict[str, dict[str, float]]:
    """Partial moments of one chunk of grid fields, each ``(sim, time, y, x[, component])``."""
    out = {}
    for name, x in fields.items():
        x = x.reshape(*x.shape[:3], -1)  # (S, T, Y, X * C): the layout _moments walks
        out.update({name + k: v for k, v in _both(x).items()})
    return out


def chunk_statistics(variables: Mapping[str, np.ndarray]) -> dict[str, dict[str, float]]:
    """Partial moments of a chunk's saved variables: trajectories, or the fields of a grid system."""
    if "position" in variables:
        return chunk_moments(variables["position"], variables["velocity"])
    return field_moments({k: v for k, v in variables.items() if is_field(k)})


@njit(cache=True)
def _moments(x: np.ndarray) -> tuple[float, ...]:  # pragma: no cover
    """Count, mean, m2, min, max of ``x`` (S, T, P, D), then the same of ``x[:, t + 1] - x[:, t]``.

    Two passes over ``x`` (sums, minima and maxima; then squared deviations from the means), each
    serving both quantities, in a fixed order, so the result is reproducible.
    """
    S, T, P, D = x.shape
    n = S * T * P * D
    nd = S * (T - 1) * P * D if T > 1 else 0
    if n == 0:
        return 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0
    total, lo, hi = 0.0, np.inf, -np.inf
    dtotal, dlo, dhi = 0.0, np.inf, -np.inf
    for s in range(S):
        for p in range(P):
            for d in range(D):
                v = x[s, 0, p, d]
                total += v
                lo = min(lo, v)
                hi = max(hi, v)
        for t in range(1, T):
            for p in range(P):
                for d in range(D):
                    v = x[s, t, p, d]
                    dv = v - x[s, t - 1, p, d]
                    total += v
                    lo = min(lo, v)
                    hi = max(hi, v)
                    dtotal += dv
                    dlo = min(dlo, dv)
                    dhi = max(dhi, dv)
    mean = total / n
    dmean = dtotal / nd if nd else 0.0
    m2 = dm2 = 0.0
    for s in range(S):
        for p in range(P):
            for d in range(D):
                m2 += (x[s, 0, p, d] - mean) ** 2
        for t in range(1, T):
            for p in range(P):
                for d in range(D):
                    v = x[s, t, p, d]
                    dv = v - x[s, t - 1, p, d]
                    m2 += (v - mean) ** 2
                    dm2 += (dv - dmean) ** 2
    if nd == 0:
        dlo, dhi = 0.0, 0.0
    return float(n), mean, m2, lo, hi, float(nd), dmean, dm2, dlo, dhi


def combine(partials: Iterable[Mapping[str, Mapping[str, float]]]) -> dict[str, dict[str, float]]:
    """Merge chunk partials (in the given order) into the summary of each quantity.

    The quantities are :data:`QUANTITIES` for particles, or those of the first partial (grids).
    """
    partials = list(partials)
    quantities = tuple(partials[0]) if partials else QUANTITIES
    total = {q: Moments(0, 0.0, 0.0, math.inf, -math.inf) for q in quantities}
    for part in partials:
        for q in quantities:
            total[q] = total[q].merge(Moments(**part[q]))
    return {q: m.summary() for q, m in total.items()}
