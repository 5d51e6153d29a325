r"""Velocity autocorrelation function.

.. math::

    C(\tau) = \big\langle v_i(t + \tau) \cdot v_i(t) \big\rangle_{t, i, \text{sim}},

averaged over every time origin, particle and simulation, for frame lags
:math:`0 .. \text{max\_lag}`, computed with FFTs (Wiener-Khinchin, zero-padded so the correlation
is not circular). For overdamped cybloids the saved velocity is the mean velocity over a frame
interval, so free diffusion gives :math:`C(0) = 2 d D / \Delta t` and :math:`C(\tau) = 0` beyond;
a delayed trap gives negative correlation near :math:`\tau = \delta`, an active particle positive
correlation out to its persistence time.
"""

from __future__ import annotations

import numpy as np

from fieldlab.errors import ParameterError


def velocity_autocorrelation(
    velocity: np.ndarray, time: np.ndarray, max_lag: int | None = None, normalise: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """``(lag_time (L,), C (L,))`` of ``velocity (sim, time, particle, space)``.

    Args:
        max_lag: largest frame lag (default: half the frames).
        normalise: divide by :math:`C(0)`.
    """
    v = np.asarray(velocity, dtype=np.float64)
    if v.ndim != 4:
        raise ParameterError(f"velocity must be (sim, time, particle, space), got shape {v.shape}")
    n_t = v.shape[1]
    max_lag = n_t // 2 if max_lag is None else int(max_lag)
    if not 0 <= max_lag < n_t:
        raise ParameterError(f"max_lag must lie in 0 .. {n_t - 1} frames, got {max_lag}")
    n_fft = 1 << int(np.ceil(np.log2(2 * n_t)))
    spec = np.fft.rfft(v, n=n_fft, axis=1)
    corr = np.fft.irfft(spec * spec.conj(), n=n_fft, axis=1)[:, : max_lag + 1]
    counts = n_t - np.arange(max_lag + 1)
    c = corr.sum(axis=(0, 2, 3)) / (counts * v.shape[0] * v.shape[2])
    if normalise:
        c = c / c[0]
    frame_dt = float(time[1] - time[0]) if len(time) > 1 else 1.0
    return np.arange(max_lag + 1) * frame_dt, c
