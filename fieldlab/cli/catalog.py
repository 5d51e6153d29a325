"""``fieldlab catalog list | show NAME | verify NAME``: the data catalog on the command line."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from fieldlab.cli.errors import USER_ERROR
from fieldlab.cli.options import DataRoot

if TYPE_CHECKING:
    from rich.console import Console

    from fieldlab.catalog.location import DatasetLocation

catalog_app = typer.Typer(
    help="List, inspect and verify the catalogued datasets.", no_args_is_help=True
)


@catalog_app.command("list")
def list_cards(data_root: DataRoot = None) -> None:
    """One row per card: system, simulations per split, frames, generated or not, size on disk.

    A card that is not valid is reported after the table, with what is wrong, and the command
    exits with status 2; the valid cards are listed all the same.
    """
    from fieldlab.catalog.access import store_state
    from fieldlab.catalog.card import SPLITS
    from fieldlab.catalog.loading import scan_cards
    from fieldlab.catalog.location import locate
    from fieldlab.catalog.records import read_records

    table = _table("name", "system", "sims (train/val/test)", "frames", "generated", "size")
    scan = scan_cards()
    for name, card in scan.cards.items():
        loc = locate(card, data_root)
        state = store_state(loc)
        total = sum(card.n_chunks(s) for s in card.split_names())
        if state is None:
            generated, size = "no", "-"
        else:
            status = state.get("state")
            done = len(read_records(loc.records))
            generated = "yes" if status == "complete" else f"partial ({done}/{total} chunks)"
            size = _size(loc)
        frames = sorted({card.n_frames(s) for s in card.split_names()})
        table.add_row(
            name,
            card.simulator,
            "/".join(str(card.splits[s].n_sims) if s in card.splits else "-" for s in SPLITS),
            "/".join(str(card.n_frames(s)) for s in card.split_names())
            if len(frames) > 1
            else str(frames[0]),
            generated,
            size,
        )
    _console().print(table)
    for err in scan.errors.values():
        typer.secho(f"error: {err}", fg=typer.colors.RED, err=True)
    if scan.errors:
        raise typer.Exit(USER_ERROR)


@catalog_app.command("show")
def show(name: str, data_root: DataRoot = None) -> None:
    """The card's resolved parameters, fingerprint, store path and the paper it reproduces."""
    from fieldlab.catalog.access import store_state
    from fieldlab.catalog.loading import card_path, load_card
    from fieldlab.catalog.location import locate
    from fieldlab.catalog.seeds import split_seed

    card = load_card(name)
    loc = locate(card, data_root)
    state = store_state(loc)
    base = card.resolved_params("train")
    info = {
        "name": card.name,
        "description": card.description,
        "reference": card.reference,
        "card": str(card_path(name)),
        "simulator": f"{card.simulator} (version {card.simulator_version})",
        "params": base,
        "splits": {
            s: {
                "n_sims": card.splits[s].n_sims,
                "frames": card.n_frames(s),
                "chunks": card.n_chunks(s),
                "seed": split_seed(card.seed, s),
                "params (differing from train)": {
                    k: v for k, v in card.resolved_params(s).items() if base.get(k) != v
                },
            }
            for s in card.split_names()
        },
        "seed": card.seed,
        "chunk_size": card.chunk_size,
        "task": card.task.model_dump(mode="json") if card.task else None,
        "validation": card.validation.model_dump(mode="json"),
        "fingerprint": loc.fingerprint,
        "path": loc.store,
        "generated": _generated(state),
    }
    import yaml

    typer.echo(yaml.safe_dump(info, sort_keys=False, width=100).rstrip())


@catalog_app.command("verify")
def verify(
    name: str,
    data_root: DataRoot = None,
    repair: Annotated[
        bool,
        typer.Option(
            "--repair",
            help="Restore damaged metadata from its record and forget damaged chunks, so "
            "`fieldlab generate` rewrites them.",
        ),
    ] = False,
) -> None:
    """Rehash every chunk and every other file of the store (coordinates, attributes, statistics)
    against the records written at generation; exit status 1 if anything is damaged or missing."""
    from fieldlab.catalog.verify import repair as run_repair
    from fieldlab.catalog.verify import verify as run_verify

    report = run_verify(name, data_root=data_root)
    if report.ok:
        typer.echo(
            f"{name}: all {report.checked} chunks and {report.files_checked} other files verified "
            f"at {report.store}"
        )
        return
    table = _table("split", "where", "problem", title=f"{name}: {len(report.problems)} problem(s)")
    for p in report.problems:
        table.add_row(p.split or "/", p.where, p.problem)
    _console().print(table)
    if repair:
        done = run_repair(report, data_root=data_root)
        typer.echo(
            f"repaired: {len(done.restored)} file(s) restored from their records, "
            f"{len(done.forgotten)} chunk(s) forgotten, {len(done.unrepaired)} left as they are"
        )
        if done.forgotten:
            typer.echo(f"run `fieldlab generate {name}` (same data root) to rewrite the chunks")
    raise typer.Exit(1)


def _generated(state: dict | None) -> str:
    if state is None:
        return "no"
    return "yes" if state.get("state") == "complete" else "partial"


def _size(loc: DatasetLocation) -> str:
    from fieldlab.catalog.location import on_filesystem

    total = 0
    for url in (loc.store, loc.records):
        fs, path = on_filesystem(url)
        if fs.exists(path):
            total += fs.du(path)
    for unit in ("B", "KB", "MB", "GB"):
        if total < 1000 or unit == "GB":
            return f"{total:.0f} {unit}" if unit == "B" else f"{total:.1f} {unit}"
        total /= 1000
    return ""


def _table(*columns: str, **options: Any) -> Any:
    from rich.table import Table  # rich's tables and consoles: only for the commands that print one

    return Table(*columns, **options)


def _console() -> Console:
    """A console that does not squeeze tables to 80 columns when output is piped."""
    from rich.console import Console

    return Console(width=None if sys.stdout.isatty() else 160)
