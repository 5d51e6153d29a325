"""Every error a user can cause is one line on stderr and exit status 2, from every command."""

from __future__ import annotations

import errno
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from fieldlab.catalog.loading import catalog_dir
from fieldlab.cli import app
from fieldlab.cli.errors import describe

runner = CliRunner()


def _fieldlab(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The real command, in a fresh process, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-c", "from fieldlab.cli import app; app()", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
    )


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["train", "--dataset", "nope"], "'nope'"),
        (["generate", "nope"], "'nope'"),
        (["catalog", "show", "nope"], "'nope'"),
        (["simulate", "charged", "--set", "dt=[1,"], "dt=[1,"),
    ],
)
def test_a_users_error_is_one_line_and_exit_status_2(
    argv: list[str], says: str, tmp_path: Path
) -> None:
    done = _fieldlab(*argv, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: ")
    assert says in lines[0]
    assert "Traceback" not in done.stdout + done.stderr


def test_a_data_root_below_a_file_is_named_with_the_fix(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    out = runner.invoke(
        app, ["generate", "egnn-charged-3d-mini", "--data-root", str(blocker / "data")]
    )
    assert out.exit_code == 2, out.output
    assert "error:" in out.output
    assert str(blocker) in out.output
    assert "Traceback" not in out.output


@pytest.mark.parametrize(
    ("code", "fix"),
    [(errno.ENOSPC, "free some space"), (errno.EROFS, "writable"), (errno.EACCES, "permissions")],
)
def test_operational_errors_name_the_path_and_the_fix(code: int, fix: str) -> None:
    message = describe(OSError(code, "refused", "/data/x.zarr"))
    assert message is not None
    assert "/data/x.zarr" in message
    assert fix in message


def test_a_missing_storage_protocol_package_says_what_to_install() -> None:
    message = describe(ImportError("Install s3fs to access S3 (fsspec)"))
    assert message is not None
    assert "s3fs" in message
    assert "install" in message
    assert describe(ValueError("a bug")) is None  # anything else keeps its traceback


def test_one_bad_card_is_reported_while_the_others_are_listed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = yaml.safe_load((catalog_dir() / "egnn-charged-3d-mini.yaml").read_text())
    (tmp_path / "egnn-charged-3d-mini.yaml").write_text(yaml.safe_dump(good))
    (tmp_path / "broken.yaml").write_text(yaml.safe_dump({**good, "name": "broken", "seed": "x"}))
    monkeypatch.setenv("FIELDLAB_CATALOG", str(tmp_path))
    out = runner.invoke(app, ["catalog", "list", "--data-root", str(tmp_path / "data")])
    assert out.exit_code == 2
    assert "egnn-charged-3d-mini" in out.output
    assert "broken.yaml" in out.output
    assert "Traceback" not in out.output
