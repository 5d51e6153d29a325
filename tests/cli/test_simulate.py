"""The ``fieldlab`` command: help, the simulate quick look, and clear errors."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from fieldlab.cli import app

runner = CliRunner()


def test_help_lists_the_commands() -> None:
    out = runner.invoke(app, ["--help"])
    assert out.exit_code == 0
    assert "simulate" in out.output


def test_simulate_draws_a_trajectory_figure(tmp_path: Path) -> None:
    png = tmp_path / "traj.png"
    out = runner.invoke(
        app, ["simulate", "charged", "--n-sims", "4", "--seed", "0", "--plot", str(png)]
    )
    assert out.exit_code == 0, out.output
    assert "4 simulations, 49 frames, 5 particles in 2-D" in out.output
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert png.stat().st_size > 10_000


def test_simulate_accepts_parameter_overrides() -> None:
    out = runner.invoke(
        app,
        [
            "simulate",
            "lorentz",
            "--n-sims",
            "2",
            "--set",
            "n_steps=1000",
            "--set",
            "magnetic_field=[0, 0, 1]",
        ],
    )
    assert out.exit_code == 0, out.output
    assert "9 frames" in out.output


def test_simulate_reports_bad_input_without_a_traceback() -> None:
    out = runner.invoke(app, ["simulate", "charged", "--set", "dt=-1"])
    assert out.exit_code == 2
    assert "dt" in out.output
    assert "greater than 0" in out.output
    assert "Traceback" not in out.output
    out = runner.invoke(app, ["simulate", "charged", "--set", "dt"])
    assert out.exit_code == 2
    assert "KEY=VALUE" in out.output
