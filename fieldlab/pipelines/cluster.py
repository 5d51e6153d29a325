"""Where generation tasks run: threads of this process, a local process cluster, or an existing
Dask cluster.

- ``"threads"``: a pool of threads in the calling process, one task per thread, each Numba
  kernel on one thread. The kernels release the GIL (their ``prange`` loops run outside it), so
  threads use the cores as processes would, without starting a cluster: no worker processes to
  spawn, nothing imported or loaded twice, nothing pickled. Dask is not imported.
- ``"processes"``: a local ``dask.distributed`` cluster of one single-threaded worker process per
  core, shut down at the end. Its scheduler, workers and dashboard listen on the loopback
  interface only (``127.0.0.1``) unless ``host`` says otherwise: a dask scheduler runs whatever
  code a client sends it, so it must not be reachable from the network by default.
- an address (``tcp://host:8786``): an existing ``dask.distributed`` cluster, left running; its
  workers must be able to import fieldlab and to reach the data root (a shared file system or an
  object store URL).

By default (``scheduler=None``) :func:`choose` picks threads for a card of a few seconds' work
(:func:`~fieldlab.pipelines.plan.work`) and a local process cluster for anything larger. Every
path runs the same two task functions on the same plain-data jobs, so they write the same bytes.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import as_completed as futures_completed
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Protocol

from fieldlab.errors import FieldlabError

if TYPE_CHECKING:
    from distributed import Client

LOOPBACK = "127.0.0.1"
THREADS = "threads"
PROCESSES = "processes"

THREADS_UP_TO = 3.0e10
"""The largest card, in :func:`~fieldlab.pipelines.plan.work` units (simulation steps times
interacting pairs), that runs in threads by default: about 30 s of one core for the charged
kernels (``nri-charged-2d`` is 1.0e10 and takes 9 to 14 s of one core). A local process cluster
costs 2 to 10 s to start on a small machine, a fixed cost that only larger cards amortise."""


class Tasks(Protocol):
    """What the pipeline needs of an executor: submit, wait in completion order, cancel."""

    threads_per_task: int
    """Numba threads each task's kernel may use."""

    def submit(self, fn: Callable[..., Any], *args: Any, key: str) -> Any: ...

    def as_completed(self, futures: Iterable[Any]) -> Iterator[Any]: ...

    def cancel(self, futures: Iterable[Any]) -> None: ...


class ThreadTasks:
    """Tasks on a pool of threads of this process (see the module docstring).

    Numba's ``workqueue`` threading layer (used where neither OpenMP nor TBB is installed) must
    not be entered from two threads at once; there the pool has one thread, whose kernels use
    all ``threads`` Numba threads instead.
    """

    def __init__(self, threads: int) -> None:
        concurrent = _threads_may_launch_kernels_together()
        self.threads_per_task = 1 if concurrent else threads
        self._pool = ThreadPoolExecutor(threads if concurrent else 1, "fieldlab-generate")

    def submit(self, fn: Callable[..., Any], *args: Any, key: str) -> Future[Any]:
        return self._pool.submit(fn, *args)

    def as_completed(self, futures: Iterable[Future[Any]]) -> Iterator[Future[Any]]:
        return futures_completed(list(futures))

    def cancel(self, futures: Iterable[Future[Any]]) -> None:
        for f in futures:
            f.cancel()  # tasks already running finish (each writes a whole chunk and its record)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class DaskTasks:
    """Tasks on a ``dask.distributed`` cluster through ``client``."""

    threads_per_task = 1

    def __init__(self, client: Client) -> None:
        self.client = client

    def submit(self, fn: Callable[..., Any], *args: Any, key: str) -> Any:
        return self.client.submit(fn, *args, key=key)

    def as_completed(self, futures: Iterable[Any]) -> Iterator[Any]:
        from distributed import as_completed

        return iter(as_completed(list(futures)))

    def cancel(self, futures: Iterable[Any]) -> None:
        self.client.cancel(list(futures))


def choose(scheduler: str | None, work: float) -> str:
    """``scheduler`` as given, or, when None, ``"threads"`` for a card of at most
    :data:`THREADS_UP_TO` work and ``"processes"`` above."""
    if scheduler is not None:
        return scheduler
    return THREADS if work <= THREADS_UP_TO else PROCESSES


@contextmanager
def tasks(
    scheduler: str, workers: int | None = None, host: str = LOOPBACK
) -> Iterator[ThreadTasks | DaskTasks]:
    """An executor for ``scheduler`` (``"threads"``, ``"processes"`` or an address) with
    ``workers`` threads or processes (default: one per core); closed on exit."""
    n = workers or os.cpu_count() or 1
    if scheduler == THREADS:
        pool = ThreadTasks(n)
        try:
            yield pool
        finally:
            pool.close()
        return
    with connect(n, None if scheduler == PROCESSES else scheduler, host) as client:
        yield DaskTasks(client)


@contextmanager
def connect(
    workers: int | None = None, scheduler: str | None = None, host: str = LOOPBACK
) -> Iterator[Client]:
    """A client of the cluster at ``scheduler``, or of a new local cluster of ``workers`` processes.

    The local cluster (default: one worker per core) is shut down on exit; an existing cluster is
    left running. ``host`` is the interface the local cluster's scheduler, workers and dashboard
    listen on (default: loopback only; ``"0.0.0.0"`` exposes them to the network).
    """
    from distributed import Client, LocalCluster

    if scheduler is not None:
        try:
            client = Client(scheduler, timeout="20s")
        except (OSError, TimeoutError) as err:
            raise FieldlabError(
                f"cannot reach the Dask scheduler at {scheduler} ({err}); start one with "
                "`dask scheduler` and workers with `dask worker ADDRESS`, or drop --scheduler "
                "to generate on this machine"
            ) from None
        with client:
            yield client
        return
    with (
        LocalCluster(
            n_workers=workers or os.cpu_count() or 1,
            threads_per_worker=1,
            processes=True,
            host=host,
            dashboard_address=f"{host}:0",  # any free port: never clash with another cluster
            silence_logs=logging.ERROR,
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


def _threads_may_launch_kernels_together() -> bool:
    """Whether Numba's threading layer accepts parallel kernels launched from several threads at
    once: OpenMP and TBB do, ``workqueue`` does not (it aborts the process)."""
    import numba
    from numba.np.ufunc import parallel

    try:
        parallel._launch_threads()  # loads the threading layer, as a first parallel kernel would
        return numba.threading_layer() != "workqueue"
    except Exception:  # an unknown Numba: run one kernel at a time, which is always safe
        return False
