"""From a card to generation tasks: one :class:`ChunkJob` per chunk of simulations.

Each job carries its split's seed (:mod:`fieldlab.catalog.seeds`), so a chunk's numbers derive
from (card seed, split, chunk index) alone, whichever worker runs it and whenever.
"""

from __future__ import annotations

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
