"""From a card to generation tasks: one :class:`ChunkJob` per chunk of simulations.

Seeds. Split ``s`` (numbered by :data:`~fieldlab.catalog.card.SPLITS`) draws from one integer
``split_seed = SeedSequence(card.seed, spawn_key=(s,)).generate_state(1)[0]``; simulation ``g`` of
the split (global index ``g = chunk * chunk_size + i``) then draws from
``SeedSequence(split_seed, spawn_key=(g,))`` inside the simulator. So every chunk's numbers derive
from (card seed, split, chunk index) alone, and the bytes written depend neither on the number of
workers nor on the order in which tasks run. Replacements for invalid simulations come from a
separate stream per attempt, ``spawn_key=(s, 1 + attempt)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fieldlab.catalog.card import SPLITS, Card
from fieldlab.catalog.location import DatasetLocation


def split_seed(card_seed: int, split: str) -> int:
    """The integer seed of every simulation of ``split``."""
    ss = np.random.SeedSequence(card_seed, spawn_key=(SPLITS.index(split),))
    return int(ss.generate_state(1)[0])


def resample_seed(card_seed: int, split: str, attempt: int) -> int:
    """The seed of the ``attempt``-th redraw of invalid simulations of ``split`` (from 0)."""
    ss = np.random.SeedSequence(card_seed, spawn_key=(SPLITS.index(split), 1 + attempt))
    return int(ss.generate_state(1)[0])


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
