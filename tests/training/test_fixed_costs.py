"""A tracked run pays only for what it uses: an EGNN run, from start to logged model and a
reload, never imports DGL, torch's compiler or dask (the loaders read zarr through xarray
directly), nor maps the installed distributions to their modules (MLflow's requirement check),
nor serves its input example back at logging time, and still logs and serves its model."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

RUN = """
import json, sys
import mlflow.models.utils as model_utils
import mlflow.utils.requirements_utils as requirements
served = []
serve = model_utils._validate_serving_input
model_utils._validate_serving_input = lambda *a, **k: served.append(a) or serve(*a, **k)
from fieldlab.training.run import train
from fieldlab.training.runs import load_forecaster_from_run
from tests.training.conftest import tiny_config

result = train(tiny_config(epochs=2), progress=False)
model = load_forecaster_from_run(result.run_id)
print(json.dumps({
    "stopped": result.stopped,
    "model": type(model).__name__,
    "dgl": "dgl" in sys.modules,
    "dynamo": "torch._dynamo" in sys.modules,
    "dask": sorted(m for m in ("dask.array", "distributed") if m in sys.modules),
    "distributions_mapped": requirements._PACKAGES_TO_MODULES is not None,
    "served_at_logging": len(served),
}))
"""


def test_an_egnn_run_loads_nothing_it_does_not_use(tmp_path: Path, data_root: Path) -> None:
    repo = Path(__file__).resolve().parents[2]
    env = {"FIELDLAB_DATA": str(data_root), "PYTHONPATH": str(repo), "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [sys.executable, "-c", RUN], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr[-2000:]
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen["stopped"] == "finished"
    assert seen["model"] != ""
    assert not seen["dgl"], "DGL was imported by a run whose model does not need it"
    assert not seen["dynamo"], "torch._dynamo was imported (torch.optim's optimizer class)"
    assert not seen["distributions_mapped"], "MLflow checked the declared requirements"
    assert seen["dask"] == [], f"the run imported {seen['dask']} to read its data"
    assert seen["served_at_logging"] == 0, "MLflow served the input example at logging time"
