r"""Fields on the unit sphere: the latitude-longitude grid, real spherical harmonics, quadrature.

**Coordinates.** Latitude :math:`\vartheta \in (-\pi/2, \pi/2)` (the grid's ``y`` axis) and
longitude :math:`\varphi \in [0, 2\pi)` (its ``x`` axis), in radians; the point
:math:`n = (\cos\vartheta \cos\varphi, \cos\vartheta \sin\varphi, \sin\vartheta)`.
The equiangular grid has ``n_lat`` cell-centred latitudes
:math:`\vartheta_i = -\pi/2 + (i + \tfrac12)\pi / n_{lat}` (no point on a pole) and ``n_lon``
longitudes :math:`\varphi_j = 2\pi j / n_{lon}`.

**Real spherical harmonics**, orthonormal on the sphere (:math:`\int Y_k Y_{k'} dA = \delta_{kk'}`),
without the Condon-Shortley phase, indexed :math:`k = l^2 + l + m`, :math:`|m| \le l`:

.. math::
    Y_{l0} = \bar P_l^0(\sin\vartheta), \quad
    Y_{lm} = \sqrt2\, \bar P_l^m(\sin\vartheta) \cos m\varphi, \quad
    Y_{l,-m} = \sqrt2\, \bar P_l^m(\sin\vartheta) \sin m\varphi \quad (m > 0),

with :math:`\bar P_l^m = \sqrt{\tfrac{2l+1}{4\pi}\tfrac{(l-m)!}{(l+m)!}}\, P_l^m` evaluated by
the stable three-term recurrence in :math:`l` at fixed :math:`m` (no factorials, no overflow):

.. math::
    \bar P_0^0 = \tfrac{1}{\sqrt{4\pi}}, \quad
    \bar P_m^m = \sqrt{\tfrac{2m+1}{2m}}\, \cos\vartheta\, \bar P_{m-1}^{m-1}, \quad
    \bar P_{m+1}^m = \sqrt{2m+3}\, \sin\vartheta\, \bar P_m^m,

    \bar P_l^m = a_{lm} (\sin\vartheta\, \bar P_{l-1}^m - b_{lm} \bar P_{l-2}^m), \quad
    a_{lm} = \sqrt{\tfrac{4l^2 - 1}{l^2 - m^2}}, \quad
    b_{lm} = \sqrt{\tfrac{(l-1)^2 - m^2}{4(l-1)^2 - 1}}.

Each :math:`Y_{lm}` is an eigenfunction of the Laplace-Beltrami operator with eigenvalue
:math:`-l(l+1)`.

**Band limit and sampling.** A field of degree at most :math:`L` is fixed by its samples on the
grid exactly when ``n_lon >= 2 L + 1`` (its Fourier series in longitude has orders
:math:`|m| \le L`) and ``n_lat >= L + 1`` (along a meridian circle, both halves of which the grid
samples, it is a trigonometric polynomial of degree :math:`L`); :func:`check_band_limit` says
which one a grid misses. :func:`area_weights` integrate such fields exactly (Fejer's first rule in
:math:`\sin\vartheta`), and :func:`project` computes the coefficients of any function by
Gauss-Legendre quadrature, exact for band-limited functions.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np


def latitudes(n_lat: int) -> np.ndarray:
    """``(n_lat,)`` cell-centred latitudes in radians, south to north, avoiding the poles."""
    return -np.pi / 2 + (np.arange(n_lat) + 0.5) * np.pi / n_lat


def longitudes(n_lon: int) -> np.ndarray:
    """``(n_lon,)`` equally spaced longitudes ``2 pi j / n_lon`` in radians."""
    return 2.0 * np.pi * np.arange(n_lon) / n_lon


def unit_vectors(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """``(..., 3)`` points of the unit sphere at broadcast ``lat``, ``lon``."""
    lat, lon = np.broadcast_arrays(np.asarray(lat, float), np.asarray(lon, float))
    c = np.cos(lat)
    return np.stack([c * np.cos(lon), c * np.sin(lon), np.sin(lat)], axis=-1)


def lat_lon(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Latitude and longitude (in ``[0, 2 pi)``) of points ``(..., 3)`` of the unit sphere."""
    x, y, z = points[..., 0], points[..., 1], points[..., 2]
    return np.arctan2(z, np.hypot(x, y)), np.mod(np.arctan2(y, x), 2.0 * np.pi)


def n_coefficients(l_max: int) -> int:
    """Real harmonics of degree at most ``l_max``: :math:`(L + 1)^2`."""
    return (l_max + 1) ** 2


def band_limit(n: int) -> int:
    """The ``l_max`` of ``n = (l_max + 1)^2`` coefficients; another ``n`` is a :class:`ValueError`."""
    l_max = math.isqrt(n) - 1
    if n < 1 or n_coefficients(l_max) != n:
        raise ValueError(f"{n} coefficients is not (l_max + 1)^2 for any l_max")
    return l_max


def degrees(l_max: int) -> np.ndarray:
    """``(n_coefficients,)`` the degree :math:`l` of each index :math:`k = l^2 + l + m`."""
    return np.repeat(np.arange(l_max + 1), 2 * np.arange(l_max + 1) + 1)


def index(l: int, m: int) -> int:  # noqa: E741  # the degree is l by universal convention
    """The index :math:`k = l^2 + l + m` of :math:`Y_{lm}`."""
    if not abs(m) <= l:
        raise ValueError(f"need |m| <= l, got l = {l}, m = {m}")
    return l * l + l + m


def legendre(l_max: int, lat: np.ndarray) -> np.ndarray:
    r"""``(l_max + 1, l_max + 1, *lat.shape)``: :math:`\bar P_l^m(\sin\vartheta)` at ``[l, m]``,
    zero where :math:`m > l` (see the module docstring for the recurrence)."""
    lat = np.asarray(lat, dtype=np.float64)
    z, s = np.sin(lat), np.cos(lat)
    p = np.zeros((l_max + 1, l_max + 1, *lat.shape))
    p[0, 0] = 1.0 / np.sqrt(4.0 * np.pi)
    for m in range(1, l_max + 1):
        p[m, m] = np.sqrt((2 * m + 1) / (2 * m)) * s * p[m - 1, m - 1]
    for m in range(l_max):
        p[m + 1, m] = np.sqrt(2 * m + 3) * z * p[m, m]
        for l in range(m + 2, l_max + 1):  # noqa: E741
            a = np.sqrt((4 * l * l - 1) / (l * l - m * m))
            b = np.sqrt(((l - 1) ** 2 - m * m) / (4 * (l - 1) ** 2 - 1))
            p[l, m] = a * (z * p[l - 1, m] - b * p[l - 2, m])
    return p


def harmonics(l_max: int, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """``(n_coefficients, *shape)``: every real :math:`Y_k` at broadcast points ``lat``, ``lon``."""
    lat, lon = np.broadcast_arrays(np.asarray(lat, float), np.asarray(lon, float))
    p = legendre(l_max, lat)
    out = np.empty((n_coefficients(l_max), *lat.shape))
    for l in range(l_max + 1):  # noqa: E741
        out[index(l, 0)] = p[l, 0]
        for m in range(1, l + 1):
            out[index(l, m)] = np.sqrt(2.0) * p[l, m] * np.cos(m * lon)
            out[index(l, -m)] = np.sqrt(2.0) * p[l, m] * np.sin(m * lon)
    return out


def synthesise(coefficients: np.ndarray, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """``(..., *shape)``: the field :math:`\\sum_k c_k Y_k` of ``coefficients (..., K)`` at points
    ``lat``, ``lon`` (any broadcastable shapes); a plain reference evaluation."""
    coefficients = np.asarray(coefficients, dtype=np.float64)
    y = harmonics(band_limit(coefficients.shape[-1]), lat, lon)
    return np.tensordot(coefficients, y, axes=([-1], [0]))


def project(f: Callable[[np.ndarray], np.ndarray], l_max: int) -> np.ndarray:
    """``(n_coefficients,)``: :math:`c_k = \\int f Y_k\\, dA` of ``f(points (..., 3)) -> (...)``.

    Gauss-Legendre in :math:`\\sin\\vartheta` (``l_max + 1`` nodes) times ``2 l_max + 2``
    longitudes integrates products of degree up to ``2 l_max`` exactly, so the coefficients of a
    field band-limited to ``l_max`` (e.g. a polynomial of that degree in the point's coordinates)
    are exact to round-off; higher degrees alias.
    """
    z, wz = np.polynomial.legendre.leggauss(l_max + 1)
    n_lon = 2 * l_max + 2
    lat = np.arcsin(z)[:, None]
    lon = longitudes(n_lon)[None, :]
    values = np.asarray(f(unit_vectors(lat, lon)), dtype=np.float64)
    w = wz[:, None] * (2.0 * np.pi / n_lon)
    return (harmonics(l_max, lat, lon) * (values * w)[None]).sum(axis=(1, 2))


def area_weights(n_lat: int, n_lon: int) -> np.ndarray:
    r"""``(n_lat, n_lon)`` quadrature weights of the grid, summing to :math:`4\pi`.

    Fejer's first rule in :math:`\theta = \pi/2 - \vartheta` (weights
    :math:`\tfrac{2}{N}(1 - 2 \sum_{j=1}^{\lfloor N/2 \rfloor} \tfrac{\cos 2 j \theta_i}{4j^2 - 1})`)
    times the trapezoidal rule in longitude: exact for fields of degree up to ``n_lat - 1`` whose
    longitudinal orders are below ``n_lon``, so the area mean of any field the grid resolves
    (:func:`check_band_limit`) is exact.
    """
    theta = np.pi / 2 - latitudes(n_lat)
    j = np.arange(1, n_lat // 2 + 1)
    w = (2.0 / n_lat) * (
        1.0 - 2.0 * (np.cos(2.0 * j[None, :] * theta[:, None]) / (4.0 * j**2 - 1.0)).sum(axis=1)
    )
    return np.repeat(w[:, None] * (2.0 * np.pi / n_lon), n_lon, axis=1)


def band_limit_problem(l_max: int, n_lat: int, n_lon: int) -> str | None:
    """Why an ``n_lat x n_lon`` grid cannot hold fields of degree ``l_max``, or None if it can."""
    if n_lon < 2 * l_max + 1:
        return (
            f"n_lon = {n_lon} aliases longitudinal order {l_max} of l_max = {l_max}: "
            f"use n_lon >= 2 l_max + 1 = {2 * l_max + 1} or a smaller l_max"
        )
    if n_lat < l_max + 1:
        return (
            f"n_lat = {n_lat} latitudes alias degree {l_max} of l_max = {l_max}: "
            f"use n_lat >= l_max + 1 = {l_max + 1} or a smaller l_max"
        )
    return None


def check_band_limit(l_max: int, n_lat: int, n_lon: int) -> None:
    """Raise :class:`ValueError` naming the grid size that aliases degree ``l_max``."""
    problem = band_limit_problem(l_max, n_lat, n_lon)
    if problem is not None:
        raise ValueError(problem)
