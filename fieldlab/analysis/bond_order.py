r"""Bond-orientational order :math:`\psi_n` (n = 4 square, n = 6 triangular) in two dimensions.

.. math::

    \psi_n(j) = \frac{1}{N_j} \sum_{k \in \mathcal N(j)} e^{\, i n \theta_{jk}},

with :math:`\theta_{jk}` the angle of the bond from particle ``j`` to neighbour ``k`` and
:math:`\mathcal N(j)` the :math:`N_j` particles closer than a cutoff. In a perfect lattice of the
matching symmetry every bond angle is a multiple of :math:`2\pi / n`, so :math:`|\psi_n(j)| = 1`
even at the edge of a crystallite; a triangular lattice gives :math:`|\psi_4|` near 0 at bulk
sites and a square lattice :math:`\psi_6 = 0`.

Summaries: :func:`local_order`, :math:`\langle |\psi_n(j)| \rangle_j` (orientation of each
crystallite ignored) and :func:`global_order`, :math:`|\langle \psi_n(j) \rangle_j|` (one
orientation across the configuration).
"""

from __future__ import annotations

import numpy as np

from fieldlab.errors import ParameterError


def bond_order(position: np.ndarray, n: int, cutoff: float | None = None) -> np.ndarray:
    """:math:`\\psi_n(j)`, complex ``(..., particle)``, of ``position (..., particle, 2)``.

    Args:
        n: the symmetry (4 or 6, any positive integer works).
        cutoff: neighbour distance; default 1.3 times each configuration's median
            nearest-neighbour distance (between the first and second shells of both lattices).

    A particle without neighbours gets NaN.
    """
    x = np.asarray(position, dtype=np.float64)
    if x.ndim < 2 or x.shape[-1] != 2:
        raise ParameterError(
            f"bond order needs 2-D positions (..., particle, 2), got shape {x.shape}"
        )
    if x.shape[-2] < 2:
        raise ParameterError("bond order needs at least two particles")
    d = x[..., None, :, :] - x[..., :, None, :]  # (..., j, k, 2): bond from j to k
    r = np.hypot(d[..., 0], d[..., 1])
    n_p = x.shape[-2]
    r[..., np.arange(n_p), np.arange(n_p)] = np.inf
    if cutoff is None:
        nearest = r.min(axis=-1)
        cut = 1.3 * np.median(nearest, axis=-1)[..., None, None]
    else:
        cut = float(cutoff)
    nb = r < cut
    phase = np.exp(1j * n * np.arctan2(d[..., 1], d[..., 0]))
    count = nb.sum(axis=-1)
    total = np.where(nb, phase, 0.0).sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / count, np.nan + 0j)


def local_order(psi: np.ndarray) -> np.ndarray:
    """:math:`\\langle |\\psi_n(j)| \\rangle_j` over particles with neighbours; ``psi (..., P)``."""
    return np.nanmean(np.abs(psi), axis=-1)


def global_order(psi: np.ndarray) -> np.ndarray:
    """:math:`|\\langle \\psi_n(j) \\rangle_j|` over particles with neighbours."""
    ok = ~np.isnan(psi)
    return np.abs(np.where(ok, psi, 0).sum(axis=-1) / ok.sum(axis=-1))
