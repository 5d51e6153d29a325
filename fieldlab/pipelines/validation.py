"""Invalid simulations, caught before anything is written.

A simulation is invalid when a saved position or velocity (for grid systems, a saved field) is not
finite, or exceeds ``max_abs`` in absolute value (it diverged). The card chooses: ``fail`` raises a
:class:`~fieldlab.errors.DatasetError` naming the dataset, split and simulations; ``resample``
redraws each invalid simulation from the split's attempt-``a`` stream
(:func:`~fieldlab.pipelines.plan.resample_seed`) at the same global index, which is deterministic
whatever the chunking, and counts the replacements.

The magnitude check walks each simulation's values once and stops at the first bad one, with no
temporary array: in a Dask worker, whose ``MALLOC_TRIM_THRESHOLD_`` returns freed memory at once,
a temporary the size of the chunk arrives as fresh pages to fault in, and ``np.abs(x).max()``
took 4.5 ms per 1,000-simulation chunk of ``nri-charged-2d`` against 0.9 ms for this walk.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from fieldlab.catalog.seeds import resample_seed
from fieldlab.errors import DatasetError
from fieldlab.pipelines.plan import ChunkJob
from fieldlab.pipelines.schema import has_sim
from fieldlab.simulators import SimulationResult, simulate


def invalid(result: SimulationResult, max_abs: float | None) -> np.ndarray:
    """``(sim,)`` bool: True where a simulation is not finite or diverged."""
    bad = ~result.status.finite
    if max_abs is not None:
        for name in result.state_names:
            bad |= exceeds(result.variables[name].reshape(len(bad), -1), float(max_abs))
    return bad


@njit(cache=True)
def exceeds(x: np.ndarray, limit: float) -> np.ndarray:  # pragma: no cover
    """``(sim,)`` bool: True where a row of ``x`` ``(sim, values)`` has a value that is not
    ``<= limit`` in absolute value (so NaN and infinities count as exceeding)."""
    out = np.zeros(x.shape[0], dtype=np.bool_)
    for s in range(x.shape[0]):
        for k in range(x.shape[1]):
            if not abs(x[s, k]) <= limit:
                out[s] = True
                break
    return out


def repair(job: ChunkJob, result: SimulationResult) -> tuple[dict[str, np.ndarray], int]:
    """The chunk's variables with every invalid simulation handled per the card.

    Returns:
        ``(variables, n_resampled)``; variables have the shapes of ``result.variables``.

    Raises:
        DatasetError: with ``on_invalid: fail``, or when ``max_attempts`` redraws of a simulation
            are all invalid.
    """
    variables = dict(result.variables)
    bad = np.flatnonzero(invalid(result, job.max_abs))
    if bad.size == 0:
        return variables, 0
    if job.on_invalid == "fail":
        raise DatasetError(_message(job, bad, "are not finite or diverged"))
    variables = {k: v.copy() if has_sim(k) else v for k, v in variables.items()}
    pending = list(bad)
    for attempt in range(job.max_attempts):
        seed = resample_seed(job.card_seed, job.split, attempt)
        still = []
        for i in pending:
            redraw = simulate(
                job.system,
                1,
                seed,
                job.params,
                first_sim=job.start + int(i),
                threads=job.threads,
                on_nonfinite="flag",
            )
            if invalid(redraw, job.max_abs)[0]:
                still.append(i)
                continue
            for k, v in redraw.variables.items():
                if has_sim(k):
                    variables[k][i] = v[0]
        pending = still
        if not pending:
            return variables, int(bad.size)
    raise DatasetError(
        _message(job, np.asarray(pending), f"stayed invalid after {job.max_attempts} redraws")
    )


def _message(job: ChunkJob, local: np.ndarray, what: str) -> str:
    sims = [job.start + int(i) for i in local[:10]]
    more = f" and {local.size - 10} more" if local.size > 10 else ""
    return (
        f"dataset {job.dataset!r}, split {job.split!r}: simulations {sims}{more} {what} "
        f"(a saved value above {job.max_abs} in absolute value, or NaN/inf); reduce dt or the interaction "
        "strength in the card, raise validation.max_abs, or set validation.on_invalid: resample"
    )
