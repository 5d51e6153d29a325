"""A dataset's fingerprint: the sha256 of the canonical JSON of what determines its numbers.

That is (simulator, simulator version, resolved parameters, splits, seed): change any of them and
the data changes, so the fingerprint names the store (``<data root>/<name>/<fingerprint>.zarr``).
The description, reference, task, chunk size and validation policy do not enter it.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from fieldlab.catalog.card import Card


def fingerprint_payload(card: Card) -> dict[str, Any]:
    """The JSON-able object the fingerprint hashes; each split carries its resolved parameters."""
    return {
        "simulator": card.simulator,
        "simulator_version": card.simulator_version,
        "params": card.resolved_params("train"),
        "splits": {
            s: {"n_sims": card.splits[s].n_sims, "params": card.resolved_params(s)}
            for s in card.split_names()
        },
        "seed": card.seed,
    }


def canonical_json(obj: Any) -> str:
    """Sorted keys, no whitespace, exact float repr: equal objects give equal strings."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False)


def fingerprint(card: Card) -> str:
    """64 hex digits identifying the data ``card`` generates."""
    return hashlib.sha256(canonical_json(fingerprint_payload(card)).encode()).hexdigest()
