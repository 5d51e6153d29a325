"""The bytes written depend on the card alone: not on the number of workers, nor on a crash.

Each run is the real ``fieldlab generate`` command in its own process, on its own LocalCluster.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from fieldlab.catalog import load_card, locate
from tests.pipelines.helpers import FIELDLAB, cli, store_digest

NAME = "slow-charged"
CHUNKS = 18  # 16 train + 2 test


@pytest.fixture(scope="module")
def reference(catalog: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """An uninterrupted run on 2 workers."""
    root = tmp_path_factory.mktemp("two-workers")
    out = cli("generate", NAME, "--workers", "2", "--data-root", str(root), catalog=catalog)
    assert f"{CHUNKS} chunk(s) written, 0 already done" in out.stdout
    return store_digest(locate(load_card(NAME, catalog), root).store)


def test_one_and_two_workers_write_identical_bytes(
    catalog: Path, reference: dict[str, str], tmp_path: Path
) -> None:
    cli("generate", NAME, "--workers", "1", "--data-root", str(tmp_path), catalog=catalog)
    digest = store_digest(locate(load_card(NAME, catalog), tmp_path).store)
    assert sum(k.startswith("file:train/position/c/") for k in digest) == 16
    assert digest == reference


def test_killed_mid_run_then_rerun_gives_the_uninterrupted_bytes(
    catalog: Path, reference: dict[str, str], tmp_path: Path
) -> None:
    loc = locate(load_card(NAME, catalog), tmp_path)
    records = Path(loc.records)
    env = {**os.environ, "FIELDLAB_CATALOG": str(catalog)}
    proc = subprocess.Popen(
        [FIELDLAB, "generate", NAME, "--workers", "1", "--data-root", str(tmp_path)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: the kill takes its workers too
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            done = len(list(records.rglob("*.json"))) if records.exists() else 0
            if done >= 2:
                break
            time.sleep(0.005)
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    killed_with = len(list(records.rglob("*.json")))
    assert 2 <= killed_with < CHUNKS, f"the kill came too late: {killed_with} chunks done"
    out = cli("generate", NAME, "--workers", "2", "--data-root", str(tmp_path), catalog=catalog)
    assert "already done" in out.stdout
    assert store_digest(loc.store) == reference
    assert (
        cli("catalog", "verify", NAME, "--data-root", str(tmp_path), catalog=catalog).returncode
        == 0
    )
