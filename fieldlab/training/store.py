"""Where runs are tracked by default: the embedded store under ``mlflow/``.

A SQLite database ``mlflow/mlflow.db`` with artifacts beside it in ``mlflow/artifacts`` (both
relative to the working directory, both git-ignored). ``MLFLOW_TRACKING_URI`` overrides it. This
module imports nothing heavy, so ``fieldlab ui`` starts quickly.
"""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_STORE = Path("mlflow") / "mlflow.db"
DEFAULT_ARTIFACTS = Path("mlflow") / "artifacts"


def default_tracking_uri() -> str:
    """``$MLFLOW_TRACKING_URI``, else the embedded SQLite store ``mlflow/mlflow.db``."""
    if env := os.environ.get("MLFLOW_TRACKING_URI"):
        return env
    return f"sqlite:///{DEFAULT_STORE.resolve()}"


def sqlite_path(uri: str) -> Path | None:
    """The database file of a ``sqlite:///`` URI, resolved; None for other stores."""
    if not uri.startswith("sqlite:///"):
        return None
    return Path(uri.removeprefix("sqlite:///")).resolve()


def local_artifact_root(uri: str) -> str | None:
    """Artifacts beside a SQLite store (``<dir>/artifacts``) as a URI; None for other stores."""
    path = sqlite_path(uri)
    return None if path is None else (path.parent / "artifacts").as_uri()
