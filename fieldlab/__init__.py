"""fieldlab: machine learning on physical systems.

Three jobs, each one subpackage: :mod:`fieldlab.simulators` (Numba kernels that produce
trajectories), :mod:`fieldlab.pipelines` and :mod:`fieldlab.catalog` (Dask pipelines that write
catalogued zarr datasets), and :mod:`fieldlab.models` / :mod:`fieldlab.training` (DGL forecasters
tracked in MLflow).
"""

import os
from typing import Any

# MLflow, as fieldlab uses it: no usage telemetry, no per-file progress bars for the small,
# local artifacts of a run (they interleave with the training output), and a tracking server
# that stops answering fails a request within about a minute (15 s a try, 2 retries) instead of
# MLflow's default of several minutes of retries. Set before any fieldlab module imports MLflow;
# a user's own setting wins.
for _key, _value in (
    ("MLFLOW_DISABLE_TELEMETRY", "true"),
    ("DO_NOT_TRACK", "true"),
    ("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false"),
    ("MLFLOW_HTTP_REQUEST_TIMEOUT", "15"),
    ("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2"),
    ("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "1"),
):
    os.environ.setdefault(_key, _value)

__all__ = ["__version__"]


def __getattr__(name: str) -> Any:
    """``__version__``, read from the installed metadata on first use: importlib.metadata costs
    a tenth of a second to import, which every command would pay at start-up otherwise."""
    if name != "__version__":
        raise AttributeError(f"module 'fieldlab' has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        value = version("fieldlab")
    except PackageNotFoundError:  # running from a source tree that was not installed
        value = "0.0.0+unknown"
    globals()["__version__"] = value
    return value
