r"""Check that a forecaster commutes with the symmetries of the physics.

For a random orthogonal :math:`Q` (a rotation, composed with a reflection half of the time), a
random translation :math:`t` and a random permutation :math:`\pi` of the particles of each
simulation, an E(n)-equivariant forecaster :math:`f` satisfies

.. math::

    f_x(\pi(Q x + t), \pi(Q v)) = \pi(Q f_x(x, v) + t), \qquad
    f_v(\pi(Q x + t), \pi(Q v)) = \pi(Q f_v(x, v)).

:func:`equivariance_error` returns the largest violation relative to the output's scale;
:func:`assert_equivariant` raises when it exceeds the dtype's tolerance (1e-5 for float32, 1e-10 for
float64). Invariant node and edge attributes are carried along unchanged.
"""

from __future__ import annotations

import torch
from torch import nn

from fieldlab.models.batch import GraphBatch

TOLERANCE = {torch.float32: 1e-5, torch.float64: 1e-10}


class EquivarianceError(AssertionError):
    """A model's outputs did not transform with its inputs."""


def random_orthogonal(dim: int, generator: torch.Generator, dtype: torch.dtype) -> torch.Tensor:
    """A Haar-random orthogonal matrix, a reflection with probability 1/2."""
    a = torch.randn(dim, dim, generator=generator, dtype=torch.float64)
    q, r = torch.linalg.qr(a)
    q = q * torch.sign(torch.diagonal(r))
    if torch.rand((), generator=generator) < 0.5:
        q[:, 0] = -q[:, 0]
    return q.to(dtype)


def _permutation(g: GraphBatch, generator: torch.Generator) -> torch.Tensor:
    """``perm[n]`` = the new index of node ``n``: a random shuffle within each simulation."""
    sizes = g.batch_num_nodes().tolist()
    parts, start = [], 0
    for n in sizes:
        parts.append(start + torch.randperm(n, generator=generator))
        start += n
    return torch.cat(parts)


def _transformed(g: GraphBatch, q: torch.Tensor, t: torch.Tensor, perm: torch.Tensor) -> GraphBatch:
    src, dst = g.edges()
    h = GraphBatch(perm[src], perm[dst], g.num_nodes(), g.batch_num_nodes(), g.batch_num_edges())
    inv = torch.empty_like(perm)
    inv[perm] = torch.arange(len(perm), device=perm.device)
    for key, val in g.ndata.items():
        h.ndata[key] = val[inv]
    h.ndata["position"] = (g.ndata["position"] @ q.T + t)[inv]
    h.ndata["velocity"] = (g.ndata["velocity"] @ q.T)[inv]
    if "context" in g.ndata:  # observed history: positions then velocities per frame
        c = g.ndata["context"]
        d = q.shape[0]
        h.ndata["context"] = torch.cat([c[..., :d] @ q.T + t, c[..., d:] @ q.T], dim=-1)[inv]
    for key, val in g.edata.items():
        h.edata[key] = val
    return h


@torch.no_grad()
def equivariance_error(
    model: nn.Module, g: GraphBatch, *, seed: int = 0, translation_scale: float = 1.0
) -> float:
    """Largest relative violation of E(n) x permutation equivariance over one random transform."""
    gen = torch.Generator().manual_seed(seed)
    x = g.ndata["position"]
    q = random_orthogonal(x.shape[-1], gen, x.dtype).to(x.device)
    t = torch.randn(x.shape[-1], generator=gen, dtype=torch.float64).to(x.dtype) * translation_scale
    t = t.to(x.device)
    perm = _permutation(g, gen).to(x.device)
    model.eval()
    ref = model(g)
    out = model(_transformed(g, q, t, perm))
    err = 0.0
    for name, shift in (("position", t), ("velocity", torch.zeros_like(t))):
        expected = (getattr(ref, name) @ q.T + shift)[torch.argsort(perm)]
        got = getattr(out, name)
        scale = expected.abs().max().clamp_min(1.0)
        err = max(err, float((got - expected).abs().max() / scale))
    return err


def assert_equivariant(
    model: nn.Module, g: GraphBatch, *, seed: int = 0, tol: float | None = None
) -> float:
    """Raise :class:`EquivarianceError` unless ``model`` is equivariant on ``g``; return the error."""
    dtype = g.ndata["position"].dtype
    tol = TOLERANCE.get(dtype, 1e-5) if tol is None else tol
    err = equivariance_error(model, g, seed=seed)
    if not err <= tol:
        raise EquivarianceError(
            f"{type(model).__name__} is not E(n)-equivariant: relative error {err:.3g} exceeds "
            f"{tol:.1g} for {dtype}"
        )
    return err
