"""The ``fieldlab`` command.

Each subcommand is a thin wrapper: parse, call the library, print. ``fieldlab --help`` lists them.
"""

from __future__ import annotations

import typer

app = typer.Typer(
    name="fieldlab",
    help="Machine learning on physical systems: simulate, generate datasets, train, track.",
    no_args_is_help=True,
    add_completion=False,
)


@app.command()
def version() -> None:
    """Print fieldlab's version."""
    from fieldlab import __version__

    typer.echo(__version__)


if __name__ == "__main__":
    app()
