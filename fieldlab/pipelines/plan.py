"""From a card to generation tasks: one :class:`ChunkJob` per chunk of simulations.

Each job carries its split's seed (:mod:`fieldlab.catalog.seeds`), so a chunk's numbers derive
from (card seed, split, chunk index) alone, whichever worker runs it and whenever.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from fieldlab.catalog.card import Card
from fieldlab.catalog.location import DatasetLocation
from fieldlab.catalog.seeds import split_seed


@dataclass(frozen=True)
class ChunkJob:
    """Everything one generation task needs; plain data, cheap to ship to a worker.

    Simulations ``start .. stop - 1`` of ``split`` are written to zarr chunk ``chunk`` along
    ``sim`` of group ``split`` of ``store``, then the completion record goes to ``record``.
    """

    dataset: str
    fingerprint: str
    system: str
    params: dict[str, Any]
    split: str
    card_seed: int
    seed: int
    chunk: int
    start: int
    stop: int
    store: str
    record: str
    on_invalid: str
    max_abs: float | None
    max_attempts: int
    statistics: bool
    threads: int | None = field(default=1)

    @property
    def n_sims(self) -> int:
        return self.stop - self.start

    @property
    def cost(self) -> int:
        """Relative run time (simulations x steps), to start the longest tasks first."""
        return self.n_sims * int(self.params["n_steps"])


GRID_SIZES: tuple[tuple[str, ...], ...] = (("n_x", "n_y"), ("n_lat", "n_lon"), ("n", "n"))
"""Parameters whose product is a grid system's number of grid points, in the order tried."""


def work(card: Card) -> float:
    """The card's size in simulation steps times what a step computes: interacting pairs
    (``n_particles`` squared) for particle systems, grid points for grid systems (warm-up steps
    included); infinite for a system whose size is not known here. ``nri-charged-2d`` is 1.0e10,
    about 10 s of one core; ``segnn-gravity-100`` 7.0e11. Used only to choose where tasks run
    (:func:`fieldlab.pipelines.cluster.choose`), never for what they compute."""
    total = 0.0
    for split in card.split_names():
        p = card.resolved_params(split)
        steps = int(p["n_steps"]) + int(p.get("warmup_steps", 0))
        if "n_particles" in p:
            size = int(p["n_particles"]) ** 2
        else:
            names = next((g for g in GRID_SIZES if all(k in p for k in g)), None)
            if names is None:
                return math.inf
            size = math.prod(int(p[k]) for k in names)
        total += card.splits[split].n_sims * steps * size
    return total


def plan(card: Card, loc: DatasetLocation) -> list[ChunkJob]:
    """All chunk jobs of ``card``, split by split, in chunk order."""
    jobs = []
    for split in card.split_names():
        n = card.splits[split].n_sims
        params = card.resolved_params(split)
        for chunk in range(card.n_chunks(split)):
            start = chunk * card.chunk_size
            jobs.append(
                ChunkJob(
                    dataset=card.name,
                    fingerprint=loc.fingerprint,
                    system=card.simulator,
                    params=params,
                    split=split,
                    card_seed=card.seed,
                    seed=split_seed(card.seed, split),
                    chunk=chunk,
                    start=start,
                    stop=min(start + card.chunk_size, n),
                    store=loc.store,
                    record=loc.record(split, chunk),
                    on_invalid=card.validation.on_invalid,
                    max_abs=card.validation.max_abs,
                    max_attempts=card.validation.max_attempts,
                    statistics=split == "train",
                )
            )
    return jobs
