"""Where generation tasks run: chosen from the card's size, overridable, and never a difference in
the bytes written."""

from __future__ import annotations

from pathlib import Path

import pytest

from fieldlab.catalog import load_card, locate
from fieldlab.pipelines import cluster, generate
from fieldlab.pipelines.cluster import PROCESSES, THREADS, ThreadTasks, choose
from fieldlab.pipelines.plan import work
from tests.pipelines.helpers import store_digest


@pytest.mark.parametrize(
    ("name", "where"),
    [
        ("egnn-charged-3d-mini", THREADS),
        ("nri-charged-2d-mini", THREADS),
        ("navier-stokes-torus-mini", THREADS),
        ("nri-charged-2d", THREADS),
        ("segnn-gravity-100", PROCESSES),
    ],
)
def test_shipped_cards_run_where_their_size_says(name: str, where: str) -> None:
    assert choose(None, work(load_card(name))) == where


def test_a_scheduler_named_by_the_user_wins_over_the_size() -> None:
    assert choose(PROCESSES, 1.0) == PROCESSES
    assert choose(THREADS, 1e15) == THREADS
    assert choose("tcp://127.0.0.1:8786", 1.0) == "tcp://127.0.0.1:8786"


def test_the_work_of_a_card_counts_steps_and_pairs() -> None:
    card = load_card("nri-charged-2d")
    # 60,000 simulations of 5,000 steps and 10,000 of 10,000 steps, 5 particles
    assert work(card) == (60_000 * 5_000 + 10_000 * 10_000) * 25


def test_one_kernel_at_a_time_where_the_threading_layer_forbids_more(
    catalog: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Numba's workqueue layer aborts on kernels launched from two threads at once: there the
    pool has one thread whose kernels use every Numba thread, and writes the same bytes."""
    generate("tiny-springs", data_root=tmp_path / "a", catalog=catalog, scheduler=THREADS,
             workers=2, progress=False)  # fmt: skip
    monkeypatch.setattr(cluster, "_threads_may_launch_kernels_together", lambda: False)
    pool = ThreadTasks(2)
    assert pool.threads_per_task == 2
    assert pool._pool._max_workers == 1
    pool.close()
    generate("tiny-springs", data_root=tmp_path / "b", catalog=catalog, scheduler=THREADS,
             workers=2, progress=False)  # fmt: skip
    card = load_card("tiny-springs", catalog)
    assert store_digest(locate(card, tmp_path / "a").store) == store_digest(
        locate(card, tmp_path / "b").store
    )
