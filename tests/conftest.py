"""Fixtures shared by every test package."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def mini_data(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """``mini_data(NAME)``: the data root under which catalogued dataset NAME is generated.

    One temporary root for the whole session; each dataset is generated once, the first time a
    test asks for it (a mini card takes seconds on one worker).
    """
    from fieldlab.pipelines.pipeline import generate

    root = tmp_path_factory.mktemp("data")
    done: set[str] = set()

    def generated(name: str) -> Path:
        if name not in done:
            generate(name, workers=1, data_root=str(root), progress=False)
            done.add(name)
        return root

    return generated
