r"""PCA frames of point clouds (Puny et al. 2022, "Frame Averaging for Invariant and Equivariant
Network Design", sec. 3 and app. on E(n)).

For a simulation with positions :math:`X \in \mathbb{R}^{P \times D}`, centroid
:math:`t = \frac1P X^\top \mathbf{1}` and covariance
:math:`C = \frac1P (X - \mathbf{1} t^\top)^\top (X - \mathbf{1} t^\top) = U \Lambda U^\top`
(eigenvalues ascending, eigenvectors the columns of :math:`U`), the frame is the set

.. math:: \mathcal{F}(X) = \{(U S, t) : S = \mathrm{diag}(s),\ s \in \{\pm 1\}^D\}.

Under :math:`X \mapsto X Q^\top + \mathbf{1} b^\top` with :math:`Q \in O(D)`, :math:`t \mapsto Q t
+ b` and :math:`C \mapsto Q C Q^\top`, so each eigenvector maps to :math:`Q u` up to its sign and
the frame maps to :math:`\{(Q U S, Q t + b)\}`, the same set transformed: this is the
equivariance that frame averaging needs, and it is why all :math:`2^D` sign choices are kept for
:math:`E(D)`. For :math:`SE(D)` only the :math:`2^{D-1}` frames with :math:`\det(U S) = +1` are
needed (``proper=True``); they are not closed under reflections.

**Degenerate spectra.** When two eigenvalues coincide, the eigenvectors of that eigenspace are
any orthonormal basis of it and the frame is no longer a finite set: the decomposition returns one
basis, which does not rotate with the input, and equivariance holds only up to that choice
(exactly for the rotations that preserve the returned basis). This happens for symmetric
configurations and always when the particles span fewer than :math:`D - 1` dimensions (two
particles in 3-D). :func:`pca_frames` returns the relative spectral gap
:math:`\min_k (\lambda_{k+1} - \lambda_k) / \max(\lambda_D, \text{tiny})` of each simulation so
that callers can flag simulations below a tolerance; generic simulations, such as the n-body
data sets, have gaps of order one. Near-degenerate spectra also make eigenvectors
ill-conditioned (their error grows as machine precision over the gap).

The eigendecomposition runs in float64 without gradient: the frames are constants of the input,
and the derivative of eigenvectors diverges at degenerate spectra. The averaged network's
gradient with respect to its parameters is unaffected; no gradient flows to the input positions
through the frame.

Shapes: ``position (N, D)``, ``graph (N,)`` the simulation of each node; returns centroids
``(B, D)``, bases ``(B, K, D, D)`` (columns are the axes of frame ``k``), gaps ``(B,)``.
"""

from __future__ import annotations

from itertools import product

import torch


def sign_choices(dim: int, proper: bool = False) -> torch.Tensor:
    """The ``(K, D)`` sign vectors: all ``2^D``, or the ``2^(D-1)`` with product +1."""
    signs = torch.tensor(list(product((1.0, -1.0), repeat=dim)), dtype=torch.float64)
    if proper:
        signs = signs[signs.prod(-1) > 0]
    return signs


@torch.no_grad()
def pca_frames(
    position: torch.Tensor, graph: torch.Tensor, n_graphs: int, proper: bool = False
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Centroids ``(B, D)``, frame bases ``(B, K, D, D)`` and relative spectral gaps ``(B,)``."""
    x = position.detach().to(torch.float64)
    dim = x.shape[-1]
    count = torch.bincount(graph, minlength=n_graphs).clamp_min(1)[:, None].to(x.dtype)
    centroid = x.new_zeros(n_graphs, dim).index_add(0, graph, x) / count
    r = x - centroid[graph]
    outer = (r[:, :, None] * r[:, None, :]).reshape(-1, dim * dim)
    cov = x.new_zeros(n_graphs, dim * dim).index_add(0, graph, outer).view(-1, dim, dim)
    cov = cov / count[:, :, None]
    eigval, basis = torch.linalg.eigh(cov)
    if proper:  # make every U a rotation, so that det(U S) = prod(s)
        flip = torch.linalg.det(basis) < 0
        basis[flip, :, -1] = -basis[flip, :, -1]
    scale = eigval[:, -1:].clamp_min(torch.finfo(x.dtype).tiny)
    gap = (
        ((eigval[:, 1:] - eigval[:, :-1]) / scale).amin(-1)
        if dim > 1
        else scale[:, 0] / scale[:, 0]
    )
    signs = sign_choices(dim, proper).to(x.device)
    bases = basis[:, None, :, :] * signs[None, :, None, :]  # scale column d by s_d
    dtype = position.dtype
    return centroid.to(dtype), bases.to(dtype), gap.to(dtype)
