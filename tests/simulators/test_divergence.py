"""A run that blows up (finite but enormous values) is an error naming the step size, not data."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from fieldlab.errors import SimulationError
from fieldlab.simulators import simulate
from fieldlab.simulators.registry import DIVERGED_ABOVE

ROOT = Path(__file__).resolve().parents[2]


def test_a_blown_up_step_size_raises_naming_dt() -> None:
    with pytest.raises(SimulationError) as err:
        simulate("charged", 2, 0, {"dt": 1e3, "n_steps": 2000})
    message = str(err.value)
    assert "system 'charged'" in message
    assert "blew up: |position| reached" in message
    assert "reduce dt (now 1000)" in message
    flagged = simulate("charged", 2, 0, {"dt": 1e3, "n_steps": 2000}, on_nonfinite="flag")
    assert np.abs(flagged.position).max() > DIVERGED_ABOVE  # kept, for callers that ask


def test_the_published_step_size_is_far_from_the_bound() -> None:
    ok = simulate("charged", 2, 0, {"n_steps": 2000})
    assert np.abs(ok.position).max() < DIVERGED_ABOVE / 1000


def test_the_simulate_command_fails_instead_of_printing_a_blown_up_run() -> None:
    result = subprocess.run(
        [sys.executable, "-c", "from fieldlab.cli import app; app()", "simulate", "charged",
         "--n-sims", "2", "--set", "dt=1e3", "--set", "n_steps=2000"],
        capture_output=True, text=True, timeout=240,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert result.returncode != 0
    assert "reduce dt (now 1000)" in result.stderr
    assert "Traceback" not in result.stderr
