"""The counter-based Gaussian generator: Box-Muller to within rounding, and a pure function."""

from __future__ import annotations

import numpy as np
from numba import njit

from fieldlab.simulators.counter_rng import normal_pairs, uniform53


@njit(cache=True)
def _pairs(key0: np.ndarray, key1: np.ndarray, n: int) -> np.ndarray:
    u = np.empty(key0.size)
    bits = u.view(np.int64)
    z0, z1 = np.empty(key0.size), np.empty(key0.size)
    out = np.empty((n, 2, key0.size))
    for k in range(n):
        normal_pairs(key0, key1, np.uint64(2 * k), 1.0, u, bits, z0, z1)
        out[k, 0] = z0
        out[k, 1] = z1
    return out


@njit(cache=True)
def _uniforms(key0: np.ndarray, key1: np.ndarray, n: int) -> np.ndarray:
    out = np.empty((n, 2, key0.size))
    for k in range(n):
        for s in range(key0.size):
            out[k, 0, s] = uniform53(key0[s], key1[s], np.uint64(2 * k))
            out[k, 1, s] = uniform53(key0[s], key1[s], np.uint64(2 * k + 1))
    return out


def _keys(n: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return tuple(rng.integers(0, 2**64, size=n, dtype=np.uint64) for _ in range(2))


def test_normals_are_box_muller_to_rounding_and_standard() -> None:
    key0, key1 = _keys(32)
    z = _pairs(key0, key1, 20_000)
    u = _uniforms(key0, key1, 20_000)
    rho = np.sqrt(-2 * np.log(1.0 - u[:, 0]))
    expected = np.stack([rho * np.cos(2 * np.pi * u[:, 1]), rho * np.sin(2 * np.pi * u[:, 1])], 1)
    np.testing.assert_allclose(z, expected, rtol=0, atol=1e-13)
    n = z.size
    assert abs(z.mean()) < 5 / np.sqrt(n)
    assert abs(z.var() - 1) < 5 * np.sqrt(2 / n)
    assert abs(np.corrcoef(z[:, 0].ravel(), z[:, 1].ravel())[0, 1]) < 5 / np.sqrt(n / 2)


def test_a_lane_depends_only_on_its_keys_and_counter() -> None:
    key0, key1 = _keys(32)
    whole = _pairs(key0, key1, 50)
    alone = _pairs(key0[7:8].copy(), key1[7:8].copy(), 50)
    np.testing.assert_array_equal(whole[:, :, 7], alone[:, :, 0])
