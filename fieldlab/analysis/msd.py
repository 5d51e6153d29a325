r"""Mean-squared displacement over lag times, and its local exponent.

.. math::

    \mathrm{MSD}(\tau) = \big\langle |r_i(t + \tau) - r_i(t)|^2 \big\rangle_{t, i, \text{sim}},
    \qquad \alpha(\tau) = \frac{d \ln \mathrm{MSD}}{d \ln \tau},

averaged over every time origin :math:`t` (time average), particle and simulation. Free diffusion
in :math:`d` dimensions gives :math:`2 d D \tau` (:math:`\alpha = 1`); :math:`\alpha < 1` is
subdiffusive, :math:`\alpha > 1` superdiffusive (active, ballistic at :math:`\alpha = 2`).

The standard error is taken over simulations (independent by construction), from each
simulation's own time- and particle-averaged MSD, so correlations between overlapping time
origins are accounted for.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from fieldlab.errors import ParameterError


class MSD(NamedTuple):
    """lag_time ``(L,)``; msd ``(L,)``, the mean over simulations; stderr ``(L,)``, its standard
    error over simulations (NaN with a single simulation); per_sim ``(sim, L)``."""

    lag_time: np.ndarray
    msd: np.ndarray
    stderr: np.ndarray
    per_sim: np.ndarray


def log_lags(n_frames: int, n_lags: int = 30, max_fraction: float = 0.5) -> np.ndarray:
    """About ``n_lags`` distinct frame lags, log-spaced from 1 to ``max_fraction * n_frames``."""
    top = max(1, int(max_fraction * n_frames))
    return np.unique(np.round(np.geomspace(1, top, n_lags)).astype(np.int64))


def mean_squared_displacement(
    position: np.ndarray, time: np.ndarray, lags: np.ndarray | None = None
) -> MSD:
    """MSD of trajectories ``position (sim, time, particle, space)`` at frame lags ``lags``.

    Args:
        position: saved positions; frames must be equally spaced in time.
        time: ``(time,)`` the frames' times.
        lags: frame lags (positive integers below the number of frames); default
            :func:`log_lags`.
    """
    position = np.asarray(position, dtype=np.float64)
    if position.ndim != 4:
        raise ParameterError(
            f"position must be (sim, time, particle, space), got shape {position.shape}"
        )
    n_frames = position.shape[1]
    if n_frames < 2:
        raise ParameterError("position needs at least two frames to compute an MSD")
    lags = log_lags(n_frames) if lags is None else np.asarray(lags, dtype=np.int64)
    if lags.min() < 1 or lags.max() >= n_frames:
        raise ParameterError(f"lags must lie in 1 .. {n_frames - 1} (frames), got {lags}")
    frame_dt = float(time[1] - time[0])
    per_sim = np.empty((position.shape[0], lags.size))
    for k, lag in enumerate(lags):
        step = position[:, lag:] - position[:, :-lag]
        per_sim[:, k] = np.einsum("stpd,stpd->s", step, step) / (step.shape[1] * step.shape[2])
    n = per_sim.shape[0]
    stderr = per_sim.std(axis=0, ddof=1) / np.sqrt(n) if n > 1 else np.full(lags.size, np.nan)
    return MSD(lags * frame_dt, per_sim.mean(axis=0), stderr, per_sim)


def local_exponent(lag_time: np.ndarray, msd: np.ndarray) -> np.ndarray:
    """:math:`\\alpha = d \\ln \\mathrm{MSD} / d \\ln \\tau` by finite differences, ``(L,)``."""
    return np.gradient(np.log(msd), np.log(lag_time))
