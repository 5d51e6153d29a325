r"""A counter-based Gaussian generator that vectorises across simulations (Numba).

A simulation's random numbers are a pure function of its two 64-bit keys (drawn from its own
seed stream, :mod:`fieldlab.simulators.seeding`) and a counter, so they do not depend on its
block, lane or thread, and any draw can be recomputed without replaying a stream.

- Uniforms: ``h = mix(mix(counter * G + key0) ^ key1)``, with ``mix`` the SplitMix64 finaliser
  and ``G`` the golden-ratio increment; the top 53 bits give a uniform on ``[0, 1)``.
- Normals: Box-Muller on two such uniforms, :math:`\rho = \sqrt{-2 \ln u_1}` with
  :math:`u_1 \in (0, 1]` and :math:`(\cos, \sin)(2 \pi u_2)`, so tails reach 8.5 standard
  deviations. ``ln``, ``sin`` and ``cos`` are evaluated by branch-free polynomials
  (:math:`\ln m = 2\, \mathrm{atanh}((m - 1)/(m + 1))` on :math:`m \in [\sqrt{2}/2, \sqrt 2)` after
  splitting off the binary exponent; Taylor series of sine and cosine on
  :math:`[-\pi/4, \pi/4]` after reducing :math:`2 \pi u_2` by quarter turns), accurate to a few
  units in the last place, so LLVM turns the loop over the ``B`` lanes of a block into SIMD code
  instead of four scalar library calls per pair.
"""

from __future__ import annotations

import numpy as np
from numba import njit

_U64 = np.uint64
_G = _U64(0x9E3779B97F4A7C15)
_M1 = _U64(0xBF58476D1CE4E5B9)
_M2 = _U64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11 = _U64(30), _U64(27), _U64(31), _U64(11)
_TWO_M53 = 2.0**-53
_TWO_PI = 2.0 * np.pi
_LN2 = np.log(2.0)
_SQRT2 = np.sqrt(2.0)
_EXP_MASK = np.int64(0x7FF)
_MANT_MASK = np.int64((1 << 52) - 1)
_ONE_BITS = np.int64(1023 << 52)

_INLINE = {"cache": True, "error_model": "numpy", "inline": "always"}


@njit(**_INLINE)
def _mix(z):
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@njit(**_INLINE)
def uniform53(key0, key1, counter):
    """A uniform on ``[0, 1)`` with 53 random bits, a pure function of the keys and counter."""
    h = _mix(_mix(counter * _G + key0) ^ key1)
    return float(h >> _S11) * _TWO_M53


@njit(**_INLINE)
def _log_mantissa(m):
    """:math:`\\ln m` on :math:`[\\sqrt 2 / 2, \\sqrt 2)`: the atanh series to :math:`f^{21}`."""
    f = (m - 1.0) / (m + 1.0)
    f2 = f * f
    p = 1.0 / 21.0
    p = p * f2 + 1.0 / 19.0
    p = p * f2 + 1.0 / 17.0
    p = p * f2 + 1.0 / 15.0
    p = p * f2 + 1.0 / 13.0
    p = p * f2 + 1.0 / 11.0
    p = p * f2 + 1.0 / 9.0
    p = p * f2 + 1.0 / 7.0
    p = p * f2 + 1.0 / 5.0
    p = p * f2 + 1.0 / 3.0
    p = p * f2 + 1.0
    return 2.0 * f * p


@njit(**_INLINE)
def _sin_cos_small(a):
    """``(sin a, cos a)`` for :math:`|a| \\le \\pi / 4`: Taylor series to :math:`a^{17}, a^{18}`."""
    a2 = a * a
    s = 1.0 / 355687428096000.0  # 1/17!
    s = s * a2 - 1.0 / 1307674368000.0
    s = s * a2 + 1.0 / 6227020800.0
    s = s * a2 - 1.0 / 39916800.0
    s = s * a2 + 1.0 / 362880.0
    s = s * a2 - 1.0 / 5040.0
    s = s * a2 + 1.0 / 120.0
    s = s * a2 - 1.0 / 6.0
    s = s * a2 + 1.0
    c = -1.0 / 6402373705728000.0  # -1/18!
    c = c * a2 + 1.0 / 20922789888000.0
    c = c * a2 - 1.0 / 87178291200.0
    c = c * a2 + 1.0 / 479001600.0
    c = c * a2 - 1.0 / 3628800.0
    c = c * a2 + 1.0 / 40320.0
    c = c * a2 - 1.0 / 720.0
    c = c * a2 + 1.0 / 24.0
    c = c * a2 - 0.5
    c = c * a2 + 1.0
    return a * s, c


@njit(**_INLINE)
def normal_pairs(key0, key1, counter, amp, u, bits, z0, z1):
    """Lanes ``s``: ``z0[s], z1[s] = amp * (two standard normals)`` of pair ``counter``.

    Args:
        key0, key1: ``(B,)`` uint64 keys of the lanes' simulations.
        counter: uint64, even: the pair uses uniforms ``counter`` and ``counter + 1``.
        amp: scale of the normals.
        u: ``(B,)`` float64 scratch; bits: ``u.view(np.int64)`` (the same memory).
        z0, z1: ``(B,)`` outputs.
    """
    n_b = u.shape[0]
    c1 = counter + _U64(1)
    for s in range(n_b):
        u[s] = 1.0 - uniform53(key0[s], key1[s], counter)  # (0, 1], never subnormal
        z1[s] = uniform53(key0[s], key1[s], c1)
    for s in range(n_b):  # split u = m 2^e, m in [1, 2): exponent to z0, mantissa bits back to u
        b = bits[s]
        z0[s] = float(((b >> 52) & _EXP_MASK) - 1023)
        bits[s] = (b & _MANT_MASK) | _ONE_BITS
    for s in range(n_b):
        m = u[s]
        e = z0[s]
        big = m > _SQRT2
        m = 0.5 * m if big else m
        e = e + 1.0 if big else e
        rho = amp * np.sqrt(-2.0 * (e * _LN2 + _log_mantissa(m)))
        v = z1[s]
        k = np.floor(4.0 * v + 0.5)  # quarter turns, 0 .. 4
        sa, ca = _sin_cos_small(_TWO_PI * (v - 0.25 * k))
        q = k - 4.0 * np.floor(0.25 * k)  # k mod 4, as a float
        swap = q == 1.0 or q == 3.0
        x = sa if swap else ca
        y = ca if swap else sa
        z0[s] = rho * (-x if (q == 1.0 or q == 2.0) else x)
        z1[s] = rho * (-y if q >= 2.0 else y)
