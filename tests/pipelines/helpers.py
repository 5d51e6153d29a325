"""Test helpers: tiny cards, the CLI as a subprocess, and byte-level fingerprints of a store."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import yaml
import zarr

FIELDLAB = str(Path(sys.executable).with_name("fieldlab"))

TINY = {
    "name": "tiny-charged",
    "description": "NRI charged, short runs: 12 chunks in a few seconds",
    "simulator": "charged",
    "params": {"n_steps": 3000},
    "splits": {"train": 240, "val": 60, "test": {"n_sims": 50, "params": {"n_steps": 6000}}},
    "seed": 7,
    "chunk_size": 30,
    "reference": "Kipf et al. 2018 (shortened)",
}

SPRINGS = {
    "name": "tiny-springs",
    "description": "NRI springs, short runs",
    "simulator": "springs",
    "params": {"n_steps": 1000},
    "splits": {"train": 40},
    "seed": 3,
    "chunk_size": 20,
    "reference": "Kipf et al. 2018 (shortened)",
}

SLOW = {
    "name": "slow-charged",
    "description": "long runs in small chunks, so a run can be killed half way",
    "simulator": "charged",
    "params": {"n_steps": 20000, "sample_every": 1000},
    "splits": {"train": 1600, "test": 200},
    "seed": 11,
    "chunk_size": 100,
    "reference": "Kipf et al. 2018 (longer runs)",
}


def write_card(directory: Path, card: dict[str, Any]) -> Path:
    path = directory / f"{card['name']}.yaml"
    path.write_text(yaml.safe_dump(card, sort_keys=False))
    return path


def cli(
    *args: str, catalog: Path, check: bool = True, **popen: Any
) -> subprocess.CompletedProcess[str]:
    """Run ``fieldlab ARGS`` with the test catalog."""
    env = {**os.environ, "FIELDLAB_CATALOG": str(catalog)}
    result = subprocess.run(
        [FIELDLAB, *args], env=env, capture_output=True, text=True, timeout=240, **popen
    )
    if check and result.returncode != 0:
        raise AssertionError(f"fieldlab {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


def store_digest(store: str | Path) -> dict[str, str]:
    """sha256 of every decoded array and of every chunk file of every split group.

    Metadata (``zarr.json``: attributes carry a timestamped history) is left out.
    """
    store = Path(store)
    out = {}
    root = zarr.open_group(str(store), mode="r", zarr_format=3)
    for split, group in root.groups():
        for name, arr in group.arrays():
            data = np.ascontiguousarray(arr[...])
            out[f"array:{split}/{name}"] = hashlib.sha256(data.tobytes()).hexdigest()
    for path in sorted(store.rglob("*")):
        if path.is_file() and path.name != "zarr.json":
            out[f"file:{path.relative_to(store)}"] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out
