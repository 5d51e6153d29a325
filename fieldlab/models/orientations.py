r"""Deterministic grids of orientations on the sphere :math:`S^{n-1}`, the fibre of PONITA.

- 2-D: ``n`` evenly spaced angles, :math:`o_k = (\cos 2\pi k / n, \sin 2\pi k / n)`. The grid is
  invariant under the rotations by multiples of :math:`2\pi / n` and under the reflections through
  its own axes, and averages over it integrate trigonometric polynomials of degree below ``n``
  exactly.
- 3-D: the Fibonacci (golden-spiral) lattice,
  :math:`z_k = 1 - (2k + 1) / n`, :math:`\varphi_k = k \pi (3 - \sqrt 5)`,
  :math:`o_k = (\sqrt{1 - z_k^2} \cos\varphi_k, \sqrt{1 - z_k^2} \sin\varphi_k, z_k)`:
  near-uniform for every ``n``, with cells of equal area, and no random seed to carry.

A network that convolves over such a grid is equivariant only up to the grid: the error of a
rotation shrinks as ``n`` grows (PONITA's tests measure it).

Shape: ``(n, dim)``, unit rows.
"""

from __future__ import annotations

import math

import torch

from fieldlab.errors import ParameterError


def orientation_grid(
    dim: int, n: int, *, dtype: torch.dtype = torch.float32, device: torch.device | None = None
) -> torch.Tensor:
    """``n`` unit vectors spread evenly over :math:`S^{dim - 1}`: ``(n, dim)``."""
    if n < 1:
        raise ParameterError(f"the orientation grid needs at least one orientation, got {n}")
    k = torch.arange(n, dtype=torch.float64)
    if dim == 2:
        angle = 2.0 * math.pi * k / n
        grid = torch.stack([angle.cos(), angle.sin()], dim=-1)
    elif dim == 3:
        z = 1.0 - (2.0 * k + 1.0) / n
        r = (1.0 - z * z).clamp_min(0.0).sqrt()
        phi = k * math.pi * (3.0 - math.sqrt(5.0))
        grid = torch.stack([r * phi.cos(), r * phi.sin(), z], dim=-1)
    else:
        raise ParameterError(f"orientation grids exist for 2-D and 3-D positions, got dim={dim}")
    return grid.to(dtype=dtype, device=device)
