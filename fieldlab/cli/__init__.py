"""The ``fieldlab`` command: one Typer app, shared options (:mod:`.options`) and one error
handler (:mod:`.errors`).

Each subcommand is a thin wrapper: parse, call the library, print. Heavy imports (torch, DGL,
MLflow, Dask) happen inside the commands, so ``fieldlab --help`` stays fast. No library module
imports Typer.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from fieldlab.cli.errors import FieldlabGroup
from fieldlab.cli.options import Settings

app = typer.Typer(
    name="fieldlab",
    help="Machine learning on physical systems: simulate, generate datasets, train, track.",
    no_args_is_help=True,
    add_completion=False,
    cls=FieldlabGroup,
)


@app.command()
def simulate(
    system: Annotated[str, typer.Argument(help="a registered system, e.g. charged, gravity")],
    n_sims: Annotated[int, typer.Option(help="number of simulations")] = 4,
    seed: Annotated[int, typer.Option(help="seed of the batch")] = 0,
    set_: Settings = None,
    plot: Annotated[
        Path | None,
        typer.Option(help="save a trajectory (or, for grids, frames) figure here (PNG)"),
    ] = None,
) -> None:
    """Run a simulator with its published defaults and summarise (or draw) its trajectories or fields.

    Parameters are set with --set KEY=VALUE, e.g. --set n_steps=2000.
    """
    from fieldlab.overrides import parse_overrides
    from fieldlab.simulators import simulate as run_simulation

    result = run_simulation(system, n_sims, seed, parse_overrides(set_ or []))
    if result.is_grid:
        from fieldlab.viz.grid_frames import plot_grid_frames

        shape = result.variables[result.state_names[0]].shape
        typer.echo(
            f"{system}: {result.n_sims} simulations, {shape[1]} frames of "
            f"{', '.join(result.state_names)} on a {shape[2]} x {shape[3]} grid; "
            f"t = {result.time[0]:g} .. {result.time[-1]:g}"
        )
        if plot is not None:
            plot_grid_frames(result, plot)
            typer.echo(f"frames drawn to {plot}")
        return
    pos = result.position
    typer.echo(
        f"{system}: {result.n_sims} simulations, {pos.shape[1]} frames, {pos.shape[2]} particles "
        f"in {pos.shape[3]}-D; t = {result.time[0]:g} .. {result.time[-1]:g}; "
        f"force caps hit {int(result.status.clipped.sum())} times"
    )
    if plot is not None:
        from fieldlab.viz import plot_trajectories

        plot_trajectories(result, plot)
        typer.echo(f"trajectories drawn to {plot}")


@app.command()
def version() -> None:
    """Print fieldlab's version."""
    from fieldlab import __version__

    typer.echo(__version__)


from fieldlab.cli.catalog import catalog_app  # noqa: E402
from fieldlab.cli.cybloids import cybloids_app  # noqa: E402
from fieldlab.cli.fields import fields_app  # noqa: E402
from fieldlab.cli.generate import generate  # noqa: E402
from fieldlab.cli.leaderboard import leaderboard_command  # noqa: E402
from fieldlab.cli.train import evaluate_command, train_command, ui_command  # noqa: E402

app.add_typer(catalog_app, name="catalog")
app.add_typer(cybloids_app, name="cybloids")
app.add_typer(fields_app, name="fields")
app.command("generate")(generate)
app.command("train")(train_command)
app.command("evaluate")(evaluate_command)
app.command("ui")(ui_command)
app.command("leaderboard")(leaderboard_command)


def main() -> None:
    """The ``fieldlab`` console script: the app, then an exit without the interpreter's teardown.

    Tearing down a process that has loaded torch, MLflow, Numba and Dask (clearing every module
    and freeing every object one by one) takes one to two seconds after the work is done and
    its output written. A handler registered before the command runs, so that it runs after
    every other exit handler (they run in reverse order) and after non-daemon threads are
    joined, flushes the standard streams and ends the process with the command's status.
    """
    status = [1]
    atexit.register(_leave, status)
    try:
        app()
    except SystemExit as exit_:
        code = exit_.code
        status[0] = code if isinstance(code, int) else (0 if code is None else 1)
        raise
    except KeyboardInterrupt:
        status[0] = 130
        raise
    status[0] = 0  # returned without SystemExit (Click's standalone mode always raises one)


def _leave(status: list[int]) -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe: nothing more to write
            stream.flush()
    os._exit(status[0])


if __name__ == "__main__":
    main()
