"""The writer lock of a store: one process writes a dataset at a time, and a dead writer's lock is
taken over.

The lock is a small JSON object beside the store, ``<data root>/<name>/<fingerprint>.lock``, on
the same file system (a local path or any fsspec URL)::

    {"host": "node-3", "pid": 4121, "started": 1767000000.2, "since": 1767000004.9,
     "expires": 1767000064.9, "lease": 60.0, "token": "5f0c..."}

``started`` is the holder process's start time (so a recycled pid is not mistaken for the holder),
``since`` when it took the lock and ``expires`` the end of its lease, which a background thread
renews every third of the lease. The lock is created with an exclusive create (``open(..., "xb")``:
``O_EXCL`` on a local file system, a conditional write on object stores that support it), so of
two processes that race for a free lock exactly one wins.

A lock is *stale*, and the next writer takes it over, when its holder is certainly gone: on the
same host, when no process with the holder's pid and start time is running (a ``kill -9`` is
noticed at once); from another host, when its lease has expired. A live holder's lock is never
taken: the second writer gets a :class:`~fieldlab.errors.DatasetLockedError` naming the holder.
If a holder's lease runs out while it still writes (the process was suspended longer than the
lease) and another writer takes over, the first notices at its next check
(:meth:`WriterLock.check`) and stops with :class:`~fieldlab.errors.WriterLockLostError` instead of
finishing the store under the new holder.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from types import TracebackType

import fsspec
import psutil

from fieldlab.errors import DatasetLockedError, WriterLockLostError

LEASE_SECONDS = 60.0
"""Default lease: a holder on another host is presumed dead this long after its last renewal."""

_START_TOLERANCE = 1.0  # seconds: process start times are rounded by the operating system
_READ_RETRIES = 20  # an exclusive create is visible before its bytes: retry an empty read


@dataclass(frozen=True)
class LockHolder:
    """The contents of a lock: who holds it, since when, and until when its lease runs."""

    host: str
    pid: int
    started: float
    since: float
    expires: float
    lease: float
    token: str

    def describe(self) -> str:
        """``host H, pid P, since T`` for messages."""
        return f"host {self.host}, pid {self.pid}, since {_iso(self.since)}"

    def stale_reason(self, now: float | None = None) -> str | None:
        """Why the holder is certainly gone, or None while it may be alive."""
        if self.host == socket.gethostname():
            if not _running(self.pid, self.started):
                return f"process {self.pid} is no longer running on this host"
            return None
        now = time.time() if now is None else now
        if now > self.expires:
            return f"its lease expired at {_iso(self.expires)} without renewal"
        return None


def read_holder(url: str) -> LockHolder | None:
    """The holder of the lock at ``url``, or None if nobody holds it."""
    fs, path = fsspec.core.url_to_fs(url)
    return _read(fs, path)


class WriterLock:
    """An exclusive, lease-based lock on one store, held by this process.

    >>> with WriterLock(loc.lock, "nri-charged-2d"):   # doctest: +SKIP
    ...     write_the_store()

    Args:
        url: the lock object's path or URL (:attr:`DatasetLocation.lock`).
        dataset: the dataset name, for messages.
        lease: seconds a holder on another host is trusted without a renewal.
    """

    def __init__(self, url: str, dataset: str, lease: float = LEASE_SECONDS) -> None:
        if lease <= 0:
            raise ValueError(f"lease must be positive, got {lease}")
        self.url = url
        self.dataset = dataset
        self.lease = float(lease)
        self._fs, self._path = fsspec.core.url_to_fs(url)
        self._holder: LockHolder | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lost: LockHolder | None = None

    @property
    def held(self) -> bool:
        """Whether this object holds the lock (until released or lost)."""
        return self._holder is not None and self._lost is None

    def acquire(self) -> None:
        """Take the lock, taking over a stale one.

        Raises:
            DatasetLockedError: a live process holds it; the message names it.
        """
        for _ in range(5):  # each pass either wins, fails, or removes a stale lock
            mine = self._new_holder()
            if self._create(mine):
                self._holder = mine
                self._start_heartbeat()
                return
            holder = _read(self._fs, self._path)
            if holder is None:
                if self._fs.exists(self._path):
                    self._take_over_unreadable()
                continue  # released meanwhile: try again
            if holder.stale_reason() is None:
                raise DatasetLockedError(self._locked_message(holder))
            self._take_over(holder)
        raise DatasetLockedError(
            f"dataset {self.dataset!r}: could not take the writer lock {self.url}: other "
            "processes keep taking it; make sure only one `fieldlab generate` runs for this "
            "dataset and try again"
        )

    def release(self) -> None:
        """Stop renewing and remove the lock if this process still holds it."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._holder is None:
            return
        current = _read(self._fs, self._path)
        if current is not None and current.token == self._holder.token:
            self._fs.rm(self._path)
        self._holder = None

    def check(self) -> None:
        """Raise :class:`WriterLockLostError` unless the lock object still names this process."""
        if self._holder is None:
            raise WriterLockLostError(f"dataset {self.dataset!r}: the writer lock is not held")
        current = _read(self._fs, self._path)
        if self._lost is None and (current is None or current.token != self._holder.token):
            self._lost = current or self._holder
        if self._lost is not None:
            by = "removed" if current is None else f"taken over by {current.describe()}"
            raise WriterLockLostError(
                f"dataset {self.dataset!r}: the writer lock {self.url} was {by} while this "
                f"process was writing (its lease of {self.lease:g} s ran out: was it suspended?); "
                f"the store is left unfinished; run `fieldlab generate {self.dataset}` again "
                "once no other generation of it runs"
            )

    @property
    def lost(self) -> bool:
        """True once the heartbeat found the lock taken over (no I/O: for tight loops)."""
        return self._lost is not None

    def __enter__(self) -> WriterLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()

    # -- internals -------------------------------------------------------------------------

    def _new_holder(self) -> LockHolder:
        now = time.time()
        return LockHolder(
            host=socket.gethostname(),
            pid=os.getpid(),
            started=psutil.Process().create_time(),
            since=now,
            expires=now + self.lease,
            lease=self.lease,
            token=uuid.uuid4().hex,
        )

    def _create(self, holder: LockHolder) -> bool:
        """Create the lock object exclusively; False if it exists."""
        parent = self._path.rsplit("/", 1)[0]
        if parent and parent != self._path:
            self._fs.makedirs(parent, exist_ok=True)
        data = _encode(holder)
        try:
            with self._fs.open(self._path, "xb") as f:
                f.write(data)
            return True
        except FileExistsError:
            return False
        except (ValueError, NotImplementedError):  # no exclusive create: write, settle, re-read
            if self._fs.exists(self._path):
                return False
            self._fs.pipe_file(self._path, data)
            time.sleep(0.5)
            current = _read(self._fs, self._path)
            return current is not None and current.token == holder.token

    def _take_over(self, stale: LockHolder) -> None:
        """Remove ``stale``'s lock object, unless it changed since it was judged stale."""
        aside = f"{self._path}.{uuid.uuid4().hex}.stale"
        try:
            self._fs.mv(self._path, aside)  # an atomic rename on a local file system
        except FileNotFoundError:
            return  # another writer took it over first
        moved = _read(self._fs, aside)
        changed = moved is not None and moved.token != stale.token
        if changed and not self._fs.exists(self._path):
            # a live writer took the lock over between our read and our move: put it back
            self._fs.mv(aside, self._path)
            return
        self._fs.rm(aside)

    def _take_over_unreadable(self) -> None:
        """A lock object that stays unreadable (a writer died mid-create): remove it once it is
        older than a lease."""
        try:
            modified = self._fs.modified(self._path).timestamp()
        except (FileNotFoundError, NotImplementedError, AttributeError):
            return
        if time.time() - modified > self.lease:
            self._fs.rm(self._path)
            return
        raise DatasetLockedError(
            f"dataset {self.dataset!r}: the writer lock {self.url} is being written by another "
            "process; try again in a moment"
        )

    def _locked_message(self, holder: LockHolder) -> str:
        here = holder.host == socket.gethostname()
        takeover = (
            "on this host it is taken over as soon as that process has exited"
            if here
            else f"from another host it is taken over once its lease expires "
            f"(at {_iso(holder.expires)}, unless renewed)"
        )
        return (
            f"dataset {self.dataset!r} is being generated by another process ({holder.describe()}; "
            f"lock {self.url}); wait for it to finish (it writes the same dataset), or stop it "
            f"and run `fieldlab generate {self.dataset}` again to resume. A lock left by a "
            f"process that died is not in the way: {takeover}"
        )

    def _start_heartbeat(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._renew_until_stopped, name=f"fieldlab-lock-{self.dataset}", daemon=True
        )
        self._thread.start()

    def _renew_until_stopped(self) -> None:
        while not self._stop.wait(self.lease / 3):
            holder = self._holder
            if holder is None:
                return
            current = _read(self._fs, self._path)
            if current is None or current.token != holder.token:
                self._lost = current or holder
                return
            renewed = LockHolder(**{**asdict(holder), "expires": time.time() + self.lease})
            tmp = f"{self._path}.{holder.token}.renew"
            self._fs.pipe_file(tmp, _encode(renewed))
            self._fs.mv(tmp, self._path)  # whole or not at all, as the records are
            self._holder = renewed


def _encode(holder: LockHolder) -> bytes:
    return json.dumps(asdict(holder), sort_keys=True).encode()


def _read(fs: fsspec.AbstractFileSystem, path: str) -> LockHolder | None:
    for _ in range(_READ_RETRIES):
        try:
            raw = fs.cat_file(path)
        except FileNotFoundError:
            return None
        try:
            return LockHolder(**json.loads(raw))
        except (ValueError, TypeError):
            time.sleep(0.05)  # created but not yet written
    return None


def _running(pid: int, started: float) -> bool:
    """Whether process ``pid``, started at ``started``, is still running on this host."""
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        return abs(proc.create_time() - started) <= _START_TOLERANCE
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:  # it exists, under another user: presume it is the holder
        return True


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
