"""The catalog sits below the pipelines: it holds the on-disk contract and never imports them."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import fieldlab.catalog

CATALOG = Path(fieldlab.catalog.__file__).parent


def test_no_catalog_module_imports_the_pipelines() -> None:
    offenders = []
    for path in sorted(CATALOG.glob("*.py")):
        if path.name == "cli.py":  # the command line sits above every layer
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.startswith("fieldlab.pipelines")]
    assert offenders == []


def test_reading_a_dataset_loads_neither_the_pipelines_nor_dask_distributed() -> None:
    code = (
        "import sys, fieldlab.catalog, fieldlab.catalog.records, fieldlab.catalog.seeds,"
        " fieldlab.catalog.verify, fieldlab.catalog.lock;"
        "print(sorted(m for m in sys.modules"
        " if m.startswith(('fieldlab.pipelines', 'distributed'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "[]"
