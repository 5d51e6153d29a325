"""The bytes written depend on the card alone: not on where tasks run (threads of one process or
a cluster of worker processes), nor on the number of workers, nor on a crash.

Each run is the real ``fieldlab generate`` command in its own process.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fieldlab.catalog import load_card, locate
from tests.pipelines.helpers import FIELDLAB, cli, store_digest

NAME = "slow-charged"
CHUNKS = 18  # 16 train + 2 test


@pytest.fixture(scope="module")
def reference(catalog: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """An uninterrupted run on a local cluster of 2 worker processes."""
    root = tmp_path_factory.mktemp("two-workers")
    out = cli(
        "generate", NAME, "--scheduler", "processes", "--workers", "2", "--data-root", str(root),
        catalog=catalog,
    )  # fmt: skip
    assert f"{CHUNKS} chunk(s) written, 0 already done" in out.stdout
    return store_digest(locate(load_card(NAME, catalog), root).store)


@pytest.mark.parametrize(
    ("where", "workers"),
    [
        (("--scheduler", "processes"), "1"),
        (("--scheduler", "threads"), "1"),
        (("--scheduler", "threads"), "2"),
        ((), "2"),  # chosen from the card's size: threads
    ],
    ids=["processes-1", "threads-1", "threads-2", "default-2"],
)
def test_threads_and_processes_write_identical_bytes_with_any_number_of_workers(
    catalog: Path, reference: dict[str, str], tmp_path: Path, where: tuple[str, ...], workers: str
) -> None:
    cli("generate", NAME, *where, "--workers", workers, "--data-root", str(tmp_path),
        catalog=catalog)  # fmt: skip
    digest = store_digest(locate(load_card(NAME, catalog), tmp_path).store)
    assert sum(k.startswith("file:train/position/c/") for k in digest) == 16
    assert digest == reference


def test_a_small_card_runs_in_threads_without_starting_a_cluster(
    catalog: Path, tmp_path: Path
) -> None:
    from fieldlab.pipelines.cluster import THREADS, choose
    from fieldlab.pipelines.plan import work

    assert choose(None, work(load_card(NAME, catalog))) == THREADS
    code = (
        "import sys; from fieldlab.pipelines import generate; "
        f"generate({NAME!r}, data_root={str(tmp_path)!r}, progress=False); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('distributed', 'xarray', 'pandas', 'dask')))"
    )
    env = {**os.environ, "FIELDLAB_CATALOG": str(catalog)}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("killed", "resumed"), [("threads", "processes"), ("processes", "threads")]
)
def test_killed_mid_run_then_rerun_gives_the_uninterrupted_bytes(
    catalog: Path, reference: dict[str, str], tmp_path: Path, killed: str, resumed: str
) -> None:
    loc = locate(load_card(NAME, catalog), tmp_path)
    records = Path(loc.records)
    env = {**os.environ, "FIELDLAB_CATALOG": str(catalog)}
    proc = subprocess.Popen(
        [
            FIELDLAB,
            "generate",
            NAME,
            "--scheduler",
            killed,
            "--workers",
            "1",
            "--data-root",
            str(tmp_path),
        ],
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
    out = cli(
        "generate", NAME, "--scheduler", resumed, "--workers", "2", "--data-root", str(tmp_path),
        catalog=catalog,
    )  # fmt: skip
    assert "already done" in out.stdout
    assert store_digest(loc.store) == reference
    assert (
        cli("catalog", "verify", NAME, "--data-root", str(tmp_path), catalog=catalog).returncode
        == 0
    )
