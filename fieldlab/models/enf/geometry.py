r"""The domains of an equivariant neural field: points, poses, bi-invariants and group actions.

A latent's pose :math:`p` and a query :math:`x` live in the same space, on which the domain's
symmetry group :math:`G` acts; everything the networks see of a pair :math:`(x, p)` is a
*bi-invariant* :math:`a(x, p) = a(g x, g p)` for all :math:`g \in G`, so outputs commute with
:math:`G` by construction (Knigge, Wessels et al. 2024, sec. 3).

==========  =========================  ======================================================
domain      points and poses           bi-invariant :math:`a(x, p)` (``scale`` :math:`\ell`)
==========  =========================  ======================================================
``plane``   :math:`\mathbb{R}^2`       :math:`(x - p) / \ell`; group: translations
``torus``   :math:`[0, L)^2`           :math:`\frac{L}{2\pi\ell}\,(\sin\theta, 1 - \cos\theta)`
                                       per axis, :math:`\theta = 2\pi (x - p) / L`: exactly
                                       periodic, smooth, and :math:`\approx (x - p)/\ell` near 0
``sphere``  unit vectors of            :math:`(1 - x \cdot p) / \ell^2`, a function of the
            :math:`\mathbb{R}^3`       angle; group: rotations SO(3)
==========  =========================  ======================================================

Every geometry also gives a smooth squared distance :math:`d^2(x, p)` for the Gaussian window
(plane :math:`|x - p|^2`; torus :math:`(L/2\pi)^2 \sum 2(1 - \cos\theta)`; sphere
:math:`2(1 - x \cdot p)`, the squared chord), a tangent vector from one pose towards another
(:meth:`Geometry.log`: :math:`p_j - p_i`; on the torus :math:`\frac{L}{2\pi}\sin\theta`
per axis; on the sphere :math:`p_j - (p_i \cdot p_j) p_i`), a step along a tangent vector
(:meth:`Geometry.step`; on the sphere followed by re-normalisation) and, for the non-equivariant
ablation, features of absolute position (:meth:`Geometry.absolute`).

**Frames.** A shared initial latent point cloud is invariant only under the symmetries of its own
layout, so fitting latents from it would be equivariant only to those. :meth:`Geometry.frame`
therefore places the learned initial poses in a frame :math:`g_f` read off the observed field
with positive weights :math:`w_m = \exp(\tilde f_m)` (:math:`\tilde f` the field standardised
over the observed points): the weighted centroid on the plane, the phase of
:math:`\sum_m w_m e^{2\pi i x_m / L}` per axis on the torus, and on the sphere the rotation whose
first two columns are the Gram-Schmidt orthonormalisation of
:math:`\sum_m w_m x_m` and :math:`\sum_m w_m^{-1} x_m`. Each satisfies
:math:`g_{h f} = h\, g_f` exactly for :math:`h \in G` (a translation by whole grid cells on the
torus permutes the observations and shifts the phase), so the fitted latents, and all that
follows, are equivariant. The frame is ill-conditioned only for fields with a symmetry of their own
(a single Fourier mode on the torus, an axisymmetric field on the sphere), where equivariance
still holds but the frame is sensitive to rounding.

Shapes: points ``x (..., D)``, poses ``p (..., D)`` with ``D`` = :attr:`Geometry.dim`
(2, 2, 3); bi-invariants ``(..., A)`` with ``A`` = :attr:`Geometry.invariant_dim`.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import Literal

import torch

from fieldlab.errors import FieldlabError

Domain = Literal["plane", "torus", "sphere"]
DOMAINS: tuple[str, ...] = ("plane", "torus", "sphere")


class UnknownDomainError(FieldlabError, ValueError):
    """A domain name that no geometry implements."""


class Geometry(ABC):
    """One domain: its points, bi-invariants, tangent steps and frames (see module docstring)."""

    name: str
    dim: int
    invariant_dim: int
    absolute_dim: int

    def __init__(self, extent: float) -> None:
        if not extent > 0:
            raise ValueError(f"the {self.name} domain needs a positive extent, got {extent}")
        self.extent = float(extent)

    @abstractmethod
    def invariant(self, x: torch.Tensor, p: torch.Tensor, scale: float) -> torch.Tensor:
        """Bi-invariant features of ``(x, p)`` in units of ``scale``: ``(..., A)``."""

    @abstractmethod
    def sq_distance(self, x: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
        """Smooth squared distance ``(...)``, :math:`\\approx |x - p|^2` when they are close."""

    @abstractmethod
    def absolute(self, x: torch.Tensor, scale: float) -> torch.Tensor:
        """Features of the absolute position (the ablation's input): ``(..., absolute_dim)``."""

    @abstractmethod
    def log(self, p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
        """A tangent vector at ``p`` pointing towards ``q``, equivariant in both: ``(..., D)``."""

    def tangent(self, p: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """The component of an ambient vector ``v`` tangent at ``p``."""
        return v

    def step(self, p: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """Move pose ``p`` along tangent vector ``v`` (a retraction)."""
        return p + v

    @abstractmethod
    def layout(self, n: int) -> torch.Tensor:
        """``n`` poses spread evenly over the domain, centred on its origin: ``(n, D)``."""

    @abstractmethod
    def spacing(self, n: int) -> float:
        """Typical distance between neighbours of ``n`` evenly spread poses."""

    @abstractmethod
    def frame(self, coords: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """The frame :math:`g_f` of each field from observation ``weights (B, M)`` at
        ``coords (M, D)``: ``(B, D)`` shifts, or ``(B, 3, 3)`` rotations on the sphere."""

    @abstractmethod
    def act(self, g: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
        """Apply frames ``g`` (:meth:`frame`'s) to poses ``p (N, D)``: ``(B, N, D)``."""


def _grid(n: int, side: float) -> torch.Tensor:
    """``n`` cell centres of a ``k x k`` grid (``k = ceil(sqrt(n))``, row by row) on
    ``[-side/2, side/2)^2``; the first ``n`` are kept when ``n`` is not a square."""
    k = math.ceil(math.sqrt(n))
    axis = (torch.arange(k, dtype=torch.float64) + 0.5) * (side / k) - side / 2
    yy, xx = torch.meshgrid(axis, axis, indexing="ij")
    return torch.stack([xx.reshape(-1), yy.reshape(-1)], dim=-1)[:n].float()


class Plane(Geometry):
    """The plane :math:`\\mathbb{R}^2` under translations; ``extent`` is the side of the data's
    square (it sets the initial layout and the length scale, not a boundary)."""

    name, dim, invariant_dim, absolute_dim = "plane", 2, 2, 2

    def invariant(self, x: torch.Tensor, p: torch.Tensor, scale: float) -> torch.Tensor:
        return (x - p) / scale

    def sq_distance(self, x: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
        return ((x - p) ** 2).sum(-1)

    def absolute(self, x: torch.Tensor, scale: float) -> torch.Tensor:
        return x / scale

    def log(self, p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
        return q - p

    def layout(self, n: int) -> torch.Tensor:
        return _grid(n, self.extent)

    def spacing(self, n: int) -> float:
        return self.extent / math.sqrt(n)

    def frame(self, coords: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        return weights @ coords / weights.sum(-1, keepdim=True)

    def act(self, g: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
        return p + g[:, None, :]


class Torus(Geometry):
    """The flat torus :math:`[0, L)^2` under periodic translations; ``extent`` is the period
    :math:`L`. Poses are stored unwrapped: every use of them is periodic."""

    name, dim, invariant_dim, absolute_dim = "torus", 2, 4, 4

    def _angle(self, x: torch.Tensor) -> torch.Tensor:
        return x * (2 * math.pi / self.extent)

    def invariant(self, x: torch.Tensor, p: torch.Tensor, scale: float) -> torch.Tensor:
        theta = self._angle(x - p)
        return torch.cat([theta.sin(), 1 - theta.cos()], -1) * (self.extent / (2 * math.pi * scale))

    def sq_distance(self, x: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
        theta = self._angle(x - p)
        return (2 * (1 - theta.cos())).sum(-1) * (self.extent / (2 * math.pi)) ** 2

    def absolute(self, x: torch.Tensor, scale: float) -> torch.Tensor:
        theta = self._angle(x)
        return torch.cat([theta.sin(), theta.cos()], -1) * (self.extent / (2 * math.pi * scale))

    def log(self, p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
        return self._angle(q - p).sin() * (self.extent / (2 * math.pi))

    def layout(self, n: int) -> torch.Tensor:
        return _grid(n, self.extent)

    def spacing(self, n: int) -> float:
        return self.extent / math.sqrt(n)

    def frame(self, coords: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        theta = self._angle(coords)  # (M, 2)
        phase = torch.atan2(weights @ theta.sin(), weights @ theta.cos())
        return phase * (self.extent / (2 * math.pi))

    def act(self, g: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
        return p + g[:, None, :]


class Sphere(Geometry):
    """The unit sphere :math:`S^2 \\subset \\mathbb{R}^3` under rotations (``extent`` is its
    radius and must be 1: coordinates are unit vectors)."""

    name, dim, invariant_dim, absolute_dim = "sphere", 3, 1, 3

    def __init__(self, extent: float = 1.0) -> None:
        if extent != 1.0:
            raise ValueError(
                f"the sphere domain is the unit sphere: extent must be 1, got {extent}"
            )
        super().__init__(extent)

    def invariant(self, x: torch.Tensor, p: torch.Tensor, scale: float) -> torch.Tensor:
        return (1 - (x * p).sum(-1, keepdim=True)) / scale**2

    def sq_distance(self, x: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
        return 2 * (1 - (x * p).sum(-1))

    def absolute(self, x: torch.Tensor, scale: float) -> torch.Tensor:
        return x / scale

    def log(self, p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
        return q - (p * q).sum(-1, keepdim=True) * p

    def tangent(self, p: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        return v - (p * v).sum(-1, keepdim=True) * p

    def step(self, p: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        q = p + v
        return q / q.norm(dim=-1, keepdim=True)

    def layout(self, n: int) -> torch.Tensor:
        """The Fibonacci lattice: ``n`` nearly evenly spread unit vectors."""
        i = torch.arange(n, dtype=torch.float64) + 0.5
        z = 1 - 2 * i / n
        r = (1 - z**2).sqrt()
        phi = i * math.pi * (3 - math.sqrt(5))
        return torch.stack([r * phi.cos(), r * phi.sin(), z], -1).float()

    def spacing(self, n: int) -> float:
        return math.sqrt(4 * math.pi / n)

    def frame(self, coords: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        e1 = weights @ coords
        e1 = e1 / e1.norm(dim=-1, keepdim=True)
        inverse = torch.where(weights > 0, 1 / weights, torch.zeros_like(weights))
        m2 = inverse @ coords
        e2 = m2 - (m2 * e1).sum(-1, keepdim=True) * e1
        e2 = e2 / e2.norm(dim=-1, keepdim=True)
        return torch.stack([e1, e2, torch.linalg.cross(e1, e2)], dim=-1)  # columns

    def act(self, g: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
        return torch.einsum("bij,nj->bni", g, p)


def geometry(domain: str, extent: float) -> Geometry:
    """The geometry of ``domain`` ("plane", "torus" or "sphere") with its extent or period."""
    if domain == "plane":
        return Plane(extent)
    if domain == "torus":
        return Torus(extent)
    if domain == "sphere":
        return Sphere(extent)
    raise UnknownDomainError(f"unknown domain {domain!r}; choose one of: {', '.join(DOMAINS)}")


def frame_weights(values: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
    r"""Positive weights :math:`w_m = \exp(\sum_c \tilde f_{mc} / \sqrt{C})` of observations
    ``values (B, M, C)``, :math:`\tilde f` standardised per field and channel over the observed
    points (``weights (B, M)`` in {0, 1}, or all); unobserved points get weight 0."""
    if weights is None:
        weights = values.new_ones(values.shape[:2])
    count = weights.sum(1, keepdim=True)[..., None]
    mean = (weights[..., None] * values).sum(1, keepdim=True) / count
    var = (weights[..., None] * (values - mean) ** 2).sum(1, keepdim=True) / count
    z = (values - mean) / var.sqrt().clamp_min(1e-12)
    return (z.sum(-1) / math.sqrt(values.shape[-1])).clamp(-30, 30).exp() * weights
