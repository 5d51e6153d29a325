"""Seeds: how every simulation of a dataset derives its random numbers from the card's seed.

This is part of the on-disk contract: the bytes of a store depend on it, and a reader may recompute
any simulation from ``(card seed, split, global simulation index)`` alone.

Split ``s`` (numbered by :data:`~fieldlab.catalog.card.SPLITS`) draws from one integer
``split_seed = SeedSequence(card.seed, spawn_key=(s,)).generate_state(1)[0]``; simulation ``g`` of
the split (global index ``g = chunk * chunk_size + i``) then draws from
``SeedSequence(split_seed, spawn_key=(g,))`` inside the simulator. So every chunk's numbers derive
from (card seed, split, chunk index) alone, and the bytes written depend neither on the number of
workers nor on the order in which tasks run. Replacements for invalid simulations come from a
separate stream per attempt, ``spawn_key=(s, 1 + attempt)``.
"""

from __future__ import annotations

import numpy as np

from fieldlab.catalog.card import SPLITS


def split_seed(card_seed: int, split: str) -> int:
    """The integer seed of every simulation of ``split``."""
    ss = np.random.SeedSequence(card_seed, spawn_key=(SPLITS.index(split),))
    return int(ss.generate_state(1)[0])


def resample_seed(card_seed: int, split: str, attempt: int) -> int:
    """The seed of the ``attempt``-th redraw of invalid simulations of ``split`` (from 0)."""
    ss = np.random.SeedSequence(card_seed, spawn_key=(SPLITS.index(split), 1 + attempt))
    return int(ss.generate_state(1)[0])
