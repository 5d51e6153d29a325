"""A SQLite tracking store opened and served by a process of its own.

Opening MLflow's SQL store costs a command about 1.2 s on one core before its first request:
importing SQLAlchemy, Alembic and MLflow's table models, and configuring the ORM's ~70 mappers.
None of it needs the training process, so ``fieldlab train`` starts this store process first
(:meth:`StoreProcess.start`, before it imports torch), and that work is done on another core
while the command imports torch and loads its data. The database itself opens on the first
request, so a command that fails on its inputs creates no store.

The training process reaches the store through :class:`StoreProxy`, registered for that one
URI in MLflow's store registry (:func:`routed`): every call of MLflow's client (fluent API,
:class:`~mlflow.tracking.MlflowClient`, model logging, the system-metrics thread) is sent in
order, one at a time, and answered with the store's return value or its exception. Artifacts
do not pass here: they are files, written by the training process under the run's artifact URI
as before.

Requests are pickled ``(method, args, kwargs)`` over a pipe pair; the store process ends when
its pipe closes (the command exits, however it exits). A store process that has ended fails the
request with an :class:`~mlflow.exceptions.MlflowException`, which a run treats as a tracking
store that stopped answering.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any, BinaryIO

from fieldlab.training.store import sqlite_path

PROTOCOL = pickle.HIGHEST_PROTOCOL


class StoreProcess:
    """The store of ``uri`` in a child process; :meth:`call` runs one of its methods."""

    def __init__(self, uri: str, proc: subprocess.Popen[bytes], send: BinaryIO, recv: BinaryIO):
        self.uri = uri
        self.proc = proc
        self._send = send
        self._recv = recv
        self._lock = threading.Lock()

    @classmethod
    def start(cls, uri: str) -> StoreProcess:
        """Start the store process of the SQLite store ``uri``: it imports and configures
        MLflow's SQL store at once and opens the store on the first request."""
        if sqlite_path(uri) is None:
            raise ValueError(f"a store process serves SQLite stores only, not {uri!r}")
        to_child, from_parent = os.pipe()
        to_parent, from_child = os.pipe()
        proc = subprocess.Popen(
            [sys.executable, "-m", __name__, uri, str(to_child), str(from_child)],
            pass_fds=(to_child, from_child),
        )
        os.close(to_child)
        os.close(from_child)
        return cls(uri, proc, os.fdopen(from_parent, "wb"), os.fdopen(to_parent, "rb"))

    def call(
        self, name: str, args: tuple[Any, ...] = (), kwargs: dict[str, Any] | None = None
    ) -> Any:
        """The store's ``name(*args, **kwargs)``: its return value, or its exception raised."""
        request = pickle.dumps((name, args, kwargs or {}), PROTOCOL)  # whole, or nothing sent
        with self._lock:
            try:
                self._send.write(request)
                self._send.flush()
                ok, value = pickle.load(self._recv)
            except (EOFError, OSError, ValueError, pickle.UnpicklingError) as err:
                from mlflow.exceptions import MlflowException

                raise MlflowException(
                    f"the process serving the tracking store {self.uri} ended "
                    f"(exit status {self.proc.poll()}): {type(err).__name__}"
                ) from None
        if not ok:
            raise value
        return value

    def close(self) -> None:
        """End the store process and wait for it (it leaves without the interpreter's
        teardown, at once)."""
        for stream in (self._send, self._recv):
            with contextlib.suppress(OSError):
                stream.close()
        self.proc.wait()


class StoreProxy:
    """Stands in for MLflow's tracking store in the training process: a method is a request to
    the store process; any other attribute is read from the store once and kept."""

    def __init__(self, process: StoreProcess) -> None:
        self._process = process
        self._values: dict[str, Any] = {}

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        if name not in self._values:
            callable_, value = self._process.call("__attribute__", (name,))
            self._values[name] = self._method(name) if callable_ else value
        return self._values[name]

    def _method(self, name: str) -> Any:
        def method(*args: Any, **kwargs: Any) -> Any:
            return self._process.call(name, args, kwargs)

        method.__name__ = name
        return method


@contextlib.contextmanager
def routed(process: StoreProcess) -> Iterator[StoreProcess]:
    """MLflow in this process reaches the store of ``process.uri`` through the store process
    while inside (other stores open as before); on leaving, the store process ends. Enter it
    before MLflow opens that store here."""
    from mlflow.tracking._tracking_service import utils

    registry = utils._tracking_store_registry
    default = registry._registry["sqlite"]
    target = sqlite_path(process.uri)

    def build(store_uri: str, artifact_uri: str | None = None) -> Any:
        if sqlite_path(store_uri) == target:
            return StoreProxy(process)
        return default(store_uri, artifact_uri)

    registry.register("sqlite", build)
    registry._get_store_with_resolved_uri.cache_clear()
    try:
        yield process
    finally:
        registry.register("sqlite", default)
        registry._get_store_with_resolved_uri.cache_clear()
        process.close()


def _answer(store: Any, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    if name == "__attribute__":
        value = getattr(store, args[0])
        return (True, None) if callable(value) else (False, value)
    return getattr(store, name)(*args, **kwargs)


def _picklable(err: BaseException) -> BaseException:
    """``err`` if it survives pickling, else an MLflowException with its message."""
    try:
        pickle.loads(pickle.dumps(err, PROTOCOL))
        return err
    except Exception:
        from mlflow.exceptions import MlflowException

        return MlflowException(f"{type(err).__name__}: {err}")


def serve(uri: str, recv: BinaryIO, send: BinaryIO) -> None:
    """Import and configure MLflow's SQL store, then answer requests until the pipe closes.

    The store itself (the database file, created with its tables if new) opens on the first
    request, so a command that fails before it tracks anything leaves no store behind; an error
    opening it is that request's answer, and the next request tries again."""
    from mlflow.store.tracking import sqlalchemy_store  # noqa: F401  (SQLAlchemy, Alembic)
    from mlflow.tracking._tracking_service.utils import _get_store
    from sqlalchemy.orm import configure_mappers

    configure_mappers()  # the ORM's mappers of MLflow's tables, built before they are needed
    store: Any = None
    while True:
        try:
            name, args, kwargs = pickle.load(recv)
        except EOFError:
            return
        try:
            if store is None:
                store = _get_store(uri)
            reply: tuple[bool, Any] = (True, _answer(store, name, args, kwargs))
        except Exception as err:
            reply = (False, _picklable(err))
        try:
            data = pickle.dumps(reply, PROTOCOL)
        except Exception as err:
            data = pickle.dumps((False, _picklable(err)), PROTOCOL)
        try:
            send.write(data)
            send.flush()
        except BrokenPipeError:  # the command has gone: nothing waits for the answer
            return


if __name__ == "__main__":
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the command's to handle
    _uri, _recv_fd, _send_fd = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    with os.fdopen(_recv_fd, "rb") as _recv, os.fdopen(_send_fd, "wb") as _send:
        serve(_uri, _recv, _send)
    os._exit(0)  # every answer is sent and committed; the interpreter's teardown is not needed
