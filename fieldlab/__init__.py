"""fieldlab: machine learning on physical systems.

Three jobs, each one subpackage: :mod:`fieldlab.simulators` (Numba kernels that produce
trajectories), :mod:`fieldlab.pipelines` and :mod:`fieldlab.catalog` (Dask pipelines that write
catalogued zarr datasets), and :mod:`fieldlab.models` / :mod:`fieldlab.training` (DGL forecasters
tracked in MLflow).
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("fieldlab")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
