"""Options that several commands share: where data and runs live, and ``--set``."""

from __future__ import annotations

from typing import Annotated

import typer

DataRoot = Annotated[
    str | None,
    typer.Option(
        "--data-root",
        help="where datasets are generated: a path or fsspec URL (default $FIELDLAB_DATA, ./data)",
    ),
]
TrackingUri = Annotated[
    str | None,
    typer.Option(
        "--tracking-uri",
        help="MLflow tracking store or server, e.g. http://127.0.0.1:5000 "
        "(default: $MLFLOW_TRACKING_URI, else sqlite:///mlflow/mlflow.db)",
    ),
]
Settings = Annotated[
    list[str] | None,
    typer.Option("--set", help="a setting as KEY=VALUE, the value read as YAML (repeatable)"),
]
