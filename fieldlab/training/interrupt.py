"""Ctrl-C during training: a request to stop cleanly, not an exception at a random line.

A ``KeyboardInterrupt`` raised wherever the main thread happens to be can land inside MLflow's
SQLAlchemy session or halfway through a checkpoint, and the run's store is then left locked or
inconsistent, so the run cannot even be marked as interrupted. :class:`CtrlC` turns the first
Ctrl-C into a flag (:attr:`CtrlC.stop`) that the training loop reads between batches: it
abandons the epoch in progress (the checkpoint of the last finished epoch stays the resume
point), and the run is closed as KILLED in the ordinary way. A second Ctrl-C stops at once, with
``KeyboardInterrupt``, but never inside a :meth:`CtrlC.held` block (logging an epoch and
checkpointing it), where it is held until the block ends.

Signal handlers can be set only from the main thread; elsewhere :meth:`CtrlC.installed` leaves
the process's handler alone and the flag is never set.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


class CtrlC:
    """The first SIGINT sets :attr:`stop`; a second raises ``KeyboardInterrupt`` (see module)."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self._held = False
        self._pending = False

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if not self.stop.is_set():
            self.stop.set()
            print(
                "\nCtrl-C: stopping after the current batch (press it again to stop at once)",
                file=sys.stderr,
                flush=True,
            )
        elif self._held:
            self._pending = True
        else:
            raise KeyboardInterrupt

    @contextmanager
    def installed(self) -> Iterator[CtrlC]:
        """Handle SIGINT as above inside the block; restore the previous handler after it."""
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        previous = signal.signal(signal.SIGINT, self._handle)
        try:
            yield self
        finally:
            signal.signal(signal.SIGINT, previous)

    @contextmanager
    def held(self) -> Iterator[None]:
        """A block that a second Ctrl-C does not cut: it takes effect when the block ends."""
        self._held = True
        try:
            yield
        finally:
            self._held = False
            if self._pending:
                self._pending = False
                raise KeyboardInterrupt
