"""Generating through an existing cluster: ``dask scheduler`` and ``dask worker`` processes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from distributed import Client
from typer.testing import CliRunner

from fieldlab.catalog import load_card, open_dataset
from fieldlab.catalog.seeds import split_seed
from fieldlab.cli import app
from fieldlab.pipelines.cluster import connect
from fieldlab.simulators import simulate
from tests.pipelines.helpers import cli

DASK = str(Path(sys.executable).with_name("dask"))
ROOT = Path(__file__).resolve().parents[2]
NAME = "tiny-charged"


def _chunks_run(dask_worker) -> int:
    """Chunk tasks of this dataset that the worker ran (from its transition log)."""
    keys = {str(entry[0]) for entry in dask_worker.state.log}
    return sum(k.startswith(f"{NAME}-") and "-template-" not in k for k in keys)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


@pytest.fixture
def scheduler(tmp_path: Path) -> Iterator[str]:
    """A scheduler and a worker (two single-threaded processes), each its own OS process."""
    address = f"tcp://127.0.0.1:{free_port()}"
    logs = [open(tmp_path / f"{n}.log", "w") for n in ("scheduler", "worker")]  # noqa: SIM115
    procs = []
    try:
        procs.append(
            subprocess.Popen(
                [
                    DASK,
                    "scheduler",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    address.rsplit(":", 1)[1],
                    "--no-dashboard",
                ],
                stdout=logs[0],
                stderr=subprocess.STDOUT,
            )
        )
        procs.append(
            subprocess.Popen(
                [
                    DASK,
                    "worker",
                    address,
                    "--nworkers",
                    "2",
                    "--nthreads",
                    "1",
                    "--no-dashboard",
                    "--host",
                    "127.0.0.1",
                ],
                stdout=logs[1],
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONPATH": str(ROOT)},  # so c.run can ship test helpers
            )
        )
        with Client(address, timeout=60) as c:
            c.wait_for_workers(2, timeout=60)
        yield address
    finally:
        for proc in reversed(procs):
            stop(proc)
        for log in logs:
            log.close()


def test_generate_through_an_existing_scheduler(
    catalog: Path, scheduler: str, tmp_path: Path
) -> None:
    out = cli(
        "generate", NAME, "--scheduler", scheduler, "--data-root", str(tmp_path), catalog=catalog
    )
    assert "12 chunk(s) written" in out.stdout
    with Client(scheduler) as c:  # the cluster is left running, and its workers did the work
        workers = c.scheduler_info()["workers"]
        assert len(workers) == 2
        ran = c.run(_chunks_run)
        assert sum(ran.values()) == 12, ran
    card = load_card(NAME, catalog)
    for split in card.split_names():  # the kernel's numbers for the derived seeds
        ds = open_dataset(NAME, split, data_root=tmp_path, catalog=catalog)
        ref = simulate(
            "charged", card.splits[split].n_sims, split_seed(7, split), card.resolved_params(split)
        )
        np.testing.assert_array_equal(ds.position.values, ref.position)
        np.testing.assert_array_equal(ds.velocity.values, ref.velocity)
    assert (
        cli("catalog", "verify", NAME, "--data-root", str(tmp_path), catalog=catalog).returncode
        == 0
    )


def test_workers_and_scheduler_are_exclusive(catalog: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "generate",
            NAME,
            "--workers",
            "2",
            "--scheduler",
            "tcp://127.0.0.1:1",
            "--data-root",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 2
    assert "omit it with --scheduler" in result.output


def test_the_local_cluster_listens_on_loopback_only() -> None:
    with connect(1) as client:
        info = client.scheduler_info()
        assert client.scheduler.address.startswith("tcp://127.0.0.1:")
        workers = list(info["workers"])
        assert workers
        assert all(w.startswith("tcp://127.0.0.1:") for w in workers), workers
        dashboard = client.dashboard_link
        assert dashboard.startswith("http://127.0.0.1:"), dashboard
        port = int(dashboard.split(":")[2].split("/")[0])
        sockets = client.run_on_scheduler(_listening)
    assert ("127.0.0.1", port) in sockets
    assert all(addr in ("127.0.0.1", "::1") for addr, _ in sockets), sockets


def _listening(dask_scheduler=None) -> list[tuple[str, int]]:
    """The (address, port) of every TCP socket the scheduler's process listens on."""
    import psutil

    return [
        (c.laddr.ip, c.laddr.port)
        for c in psutil.Process().net_connections(kind="tcp")
        if c.status == psutil.CONN_LISTEN
    ]
