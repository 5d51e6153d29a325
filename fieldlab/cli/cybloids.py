"""``fieldlab cybloids plot SYSTEM_OR_NAME``: MSD and trajectory figures of a fresh simulation.

``SYSTEM_OR_NAME`` is a cybloid system (``cybloid-trap``, ``cybloid-annular``,
``cybloid-crystal``, ``cybloid-static-trap``) or the name of a catalogued dataset whose card uses
one; a card supplies its parameters (of ``--split``) and seed, which ``--set`` and ``--seed``
override. Nothing is read from disk but the card: the simulations run afresh.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from fieldlab.cli.options import Settings
from fieldlab.errors import ParameterError

cybloids_app = typer.Typer(
    help="Cybloids: colloids under programmed, time-delayed feedback potentials.",
    no_args_is_help=True,
)


def resolve_target(name: str, split: str = "train") -> tuple[str, dict[str, Any], int | None]:
    """``(system, params, seed)`` for a cybloid system name (no params, no seed) or a card name.

    Raises:
        ParameterError: when ``name`` is neither, or its card simulates something else.
    """
    from fieldlab.simulators import SYSTEMS, cybloids

    cybloid_systems = sorted(s.name for s in cybloids.SYSTEMS)
    if name in SYSTEMS:
        system, params, seed = name, {}, None
    else:
        from fieldlab.catalog.loading import card_names, load_card

        if name not in card_names():
            raise ParameterError(
                f"{name!r} is neither a cybloid system nor a catalogued dataset; choose a system "
                f"({', '.join(cybloid_systems)}) or a card (see `fieldlab catalog list`)"
            )
        card = load_card(name)
        if split not in card.splits:
            raise ParameterError(
                f"dataset {name!r} has no split {split!r}; choose one of: {', '.join(card.splits)}"
            )
        system, params, seed = card.simulator, card.resolved_params(split), card.seed
    if system not in cybloid_systems:
        raise ParameterError(
            f"{name!r} simulates {system!r}, not a cybloid; choose one of: "
            f"{', '.join(cybloid_systems)}"
        )
    return system, params, seed


@cybloids_app.command("plot")
def plot(
    target: Annotated[
        str, typer.Argument(metavar="SYSTEM_OR_NAME", help="a cybloid system or dataset card")
    ],
    n_sims: Annotated[int, typer.Option(help="number of simulations")] = 16,
    seed: Annotated[int | None, typer.Option(help="batch seed (default: the card's, or 0)")] = None,
    set_: Settings = None,
    split: Annotated[str, typer.Option(help="the card's split whose parameters to use")] = "train",
    out: Annotated[Path, typer.Option(help="directory for the PNG files")] = Path("figures"),
) -> None:
    """Simulate afresh and save SYSTEM-msd.png and SYSTEM-trajectories.png."""
    import numpy as np

    from fieldlab.analysis import local_exponent, mean_squared_displacement
    from fieldlab.overrides import parse_overrides
    from fieldlab.simulators import simulate
    from fieldlab.viz.cybloids import plot_cybloid_paths, plot_msd

    system, params, card_seed = resolve_target(target, split)
    params = {**params, **parse_overrides(set_ or [])}
    seed = seed if seed is not None else (card_seed or 0)
    result = simulate(system, n_sims, seed, params)
    msd_png = plot_msd(result, out / f"{target}-msd.png")
    traj_png = plot_cybloid_paths(result, out / f"{target}-trajectories.png")
    m = mean_squared_displacement(result.position, result.time)
    alpha = local_exponent(m.lag_time, m.msd)
    k_min, k_max = int(np.argmin(alpha)), int(np.argmax(alpha))
    typer.echo(
        f"{system} (seed {seed}, {n_sims} simulations): MSD exponent "
        f"min {alpha[k_min]:.2f} at lag {m.lag_time[k_min]:g}, "
        f"max {alpha[k_max]:.2f} at lag {m.lag_time[k_max]:g}"
    )
    typer.echo(f"figures: {msd_png}, {traj_png}")
