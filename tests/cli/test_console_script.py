"""The installed ``fieldlab`` script ends without the interpreter's teardown, yet keeps the
command's exit status and every line of its output."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(sys.executable).with_name("fieldlab")


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    if not SCRIPT.exists():
        pytest.skip(f"no installed console script at {SCRIPT} (pip install -e .)")
    return subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, timeout=120)


def test_success_keeps_status_zero_and_all_output() -> None:
    out = _run("catalog", "list")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.rstrip().splitlines()
    assert "egnn-charged-3d-mini" in out.stdout
    assert lines[-1].startswith("└"), "the table's last line was lost"


def test_a_user_error_keeps_status_two_and_its_message() -> None:
    out = _run("train", "--dataset", "no-such-card")
    assert out.returncode == 2
    assert "no dataset card named 'no-such-card'" in out.stderr


def test_help_is_complete() -> None:
    out = _run("--help")
    assert out.returncode == 0
    assert "Usage" in out.stdout
    assert "leaderboard" in out.stdout
