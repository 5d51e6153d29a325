"""Render and log a run's figures on one background thread, off the training loop's path.

A figure's model work (a rollout, a field on a grid) runs where it is built, on the training
thread, with the weights of that moment; what is left, rasterising the
:class:`~matplotlib.figure.Figure` (about 0.2 s for a three-panel figure on one core), encoding
the PNG and writing it to the tracking store, needs neither the model nor the loop. So
:class:`FigureLogger` queues it on a single worker thread, which logs through
:class:`~mlflow.tracking.MlflowClient` with the run's id (MLflow's active run is per thread).
Figures are handed over whole and never touched again by the caller (the figure modules in
:mod:`fieldlab.viz` build them on :class:`~matplotlib.figure.Figure` directly, without pyplot's
shared state, for this). A figure is rasterised once: logged again (the best epoch's figures as
artifacts at the end of a run), its pixels are kept from the first time, for as long as the
caller holds the figure.

:meth:`FigureLogger.wait` blocks until everything queued is logged and re-raises the first
error (a tracking store that stopped answering fails the run as it would on the training
thread); the run waits before it reads its artifacts back or ends.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
from matplotlib.figure import Figure
from mlflow.tracking import MlflowClient

from fieldlab.training.tracking import figure_image


class FigureLogger:
    """Logs figures to run ``run_id`` in the order queued, one at a time, in the background."""

    def __init__(self, run_id: str, client: MlflowClient | None = None) -> None:
        self.run_id = run_id
        self.client = client or MlflowClient()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fieldlab-figures")
        self._pending: list[Future[None]] = []
        self._pixels: weakref.WeakKeyDictionary[Figure, np.ndarray] = weakref.WeakKeyDictionary()

    def image_series(self, figures: Mapping[str, Figure], step: int) -> None:
        """Queue ``figures`` as images ``key`` at ``step`` (MLflow's image series by step)."""
        for key, fig in figures.items():
            self._pending.append(self._pool.submit(self._log_image, fig, key, step))

    def artifact(self, fig: Figure, path: str) -> None:
        """Queue ``fig`` as the PNG artifact ``path`` of the run."""
        self._pending.append(self._pool.submit(self._log_artifact, fig, path))

    def _image(self, fig: Figure) -> np.ndarray:
        """``fig``'s RGB pixels ``(H, W, 3)``, rasterised on its first use only."""
        pixels = self._pixels.get(fig)
        if pixels is None:
            pixels = self._pixels[fig] = figure_image(fig)
        return pixels

    def _log_image(self, fig: Figure, key: str, step: int) -> None:
        self.client.log_image(self.run_id, self._image(fig), key=key, step=step)

    def _log_artifact(self, fig: Figure, path: str) -> None:
        self.client.log_image(self.run_id, self._image(fig), artifact_file=path)

    def wait(self) -> None:
        """Block until every queued figure is logged; re-raise the first failure."""
        pending, self._pending = self._pending, []
        errors = [f.exception() for f in pending]
        first = next((e for e in errors if e is not None), None)
        if first is not None:
            raise first

    def abandon(self) -> None:
        """Drop what has not started (the tracking store is gone); do not wait for the rest."""
        for f in self._pending:
            f.cancel()
        self._pending = []
        self._pool.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        """Wait for what is queued, then stop the thread."""
        try:
            self.wait()
        finally:
            self._pool.shutdown(wait=True)
