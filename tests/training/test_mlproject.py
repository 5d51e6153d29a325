"""mlflow/MLproject: three entry points whose commands are valid fieldlab invocations."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
from mlflow.exceptions import ExecutionException
from mlflow.projects import _project_spec
from typer.testing import CliRunner

from fieldlab.cli import app

PROJECT = Path(__file__).resolve().parents[2] / "mlflow"


def test_entry_points_run_fieldlab_from_the_repository_root() -> None:
    project = _project_spec.load_project(str(PROJECT))
    assert set(project._entry_points) == {"generate", "train", "evaluate"}
    commands = {
        "generate": project.get_entry_point("generate").compute_command({}, None),
        "train": project.get_entry_point("train").compute_command({"epochs": "3"}, None),
        "evaluate": project.get_entry_point("evaluate").compute_command({"run_id": "abc"}, None),
    }
    for name, command in commands.items():
        cd, fieldlab_cmd = command.split(" && ")
        assert cd == "cd .."
        argv = shlex.split(fieldlab_cmd)
        assert argv[:2] == ["fieldlab", name]
        # every option the project passes is one the command accepts
        out = CliRunner().invoke(app, [*argv[1:], "--help"])
        assert out.exit_code == 0, out.output
    assert "--epochs 3" in commands["train"]
    assert commands["evaluate"].endswith(
        "fieldlab evaluate abc --dataset egnn-charged-3d-mini --rollout-sims 200"
    )


def test_evaluate_needs_a_run_id() -> None:
    entry = _project_spec.load_project(str(PROJECT)).get_entry_point("evaluate")
    with pytest.raises(ExecutionException, match="run_id"):
        entry.compute_command({}, None)
