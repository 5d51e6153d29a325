"""The Dask cluster generation runs on: a local one by default, or an existing one.

The local cluster has one single-threaded worker process per core: each task runs its Numba
kernel on one thread, and parallelism comes from running tasks side by side. Its scheduler, workers
and dashboard listen on the loopback interface only (``127.0.0.1``) unless ``host`` says
otherwise: a dask scheduler runs whatever code a client sends it, so it must not be reachable from
the network by default. An existing
``dask.distributed`` cluster is reached by its scheduler address; its workers must be able to
import fieldlab and to reach the data root (a shared file system or an object store URL).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager

from distributed import Client, LocalCluster

from fieldlab.errors import FieldlabError

LOOPBACK = "127.0.0.1"


@contextmanager
def connect(
    workers: int | None = None, scheduler: str | None = None, host: str = LOOPBACK
) -> Iterator[Client]:
    """A client of the cluster at ``scheduler``, or of a new local cluster of ``workers`` processes.

    The local cluster (default: one worker per core) is shut down on exit; an existing cluster is
    left running. ``host`` is the interface the local cluster's scheduler, workers and dashboard
    listen on (default: loopback only; ``"0.0.0.0"`` exposes them to the network).
    """
    if scheduler is not None:
        try:
            client = Client(scheduler, timeout="20s")
        except (OSError, TimeoutError) as err:
            raise FieldlabError(
                f"cannot reach the Dask scheduler at {scheduler} ({err}); start one with "
                "`dask scheduler` and workers with `dask worker ADDRESS`, or drop --scheduler "
                "to use a local cluster"
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
