"""Fixtures: a catalog of tiny test cards, and one local Dask cluster shared by a module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from distributed import Client

from fieldlab.pipelines.cluster import connect
from tests.pipelines.helpers import SLOW, SPRINGS, TINY, write_card


@pytest.fixture(scope="session")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A card directory holding ``tiny-charged``, ``slow-charged`` and ``tiny-springs``."""
    directory = tmp_path_factory.mktemp("catalog")
    write_card(directory, TINY)
    write_card(directory, SLOW)
    write_card(directory, SPRINGS)
    return directory


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    """A real LocalCluster of two single-threaded worker processes."""
    with connect(2) as c:
        yield c
