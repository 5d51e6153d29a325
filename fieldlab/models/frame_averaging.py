r"""Frame averaging (Puny et al. 2022, "Frame Averaging for Invariant and Equivariant Network
Design", ICLR 2022): any particle backbone made exactly :math:`E(D)`-equivariant.

For a backbone :math:`\Phi` that maps positions and velocities to positions and velocities, and
the PCA frames :math:`\mathcal{F}(X) = \{(R_k, t)\}` of each simulation
(:func:`~fieldlab.models.frames.pca_frames`, :math:`R_k = U S_k`),

.. math::

    \hat x &= \frac{1}{|\mathcal F|} \sum_k \Big( R_k\, \Phi_x\big((X - t) R_k, V R_k\big)^\top
             \Big)^\top + t, \qquad
    \hat v = \frac{1}{|\mathcal F|} \sum_k \Big( R_k\, \Phi_v\big((X - t) R_k, V R_k\big)^\top
             \Big)^\top,

i.e. the backbone sees each simulation in the coordinates of each of its frames and its answers
are mapped back and averaged. Because the frame set moves with the input
(:math:`\mathcal F(g X) = g \mathcal F(X)`), the average is exactly equivariant for every
backbone, up to degenerate spectra (see :mod:`fieldlab.models.frames`; :attr:`FrameAveraging.
degenerate_gap` sets the relative eigenvalue gap below which a simulation is counted in
:attr:`FrameAveraging.last_degenerate` and a warning is raised). Permutation equivariance is
inherited from the backbone.

All ``2^D`` sign choices are used (``proper=False``): that is what :math:`O(D)`, hence
:math:`E(D)` with reflections, requires. ``proper=True`` keeps the ``2^{D-1}`` rotations, half the
cost, for :math:`SE(D)` only.

The ``K`` frames are evaluated as one batch: the graph is stacked ``K`` times, frame-major (node
``n`` of frame ``k`` is node ``k N + n``), so a backbone runs once on ``K B`` simulations. For
:func:`~fieldlab.models.graphs.build_graph`'s ``full`` layout the stacked structure is itself the
``full`` layout of ``K B`` simulations and is cached. Invariant node and edge attributes are
copied to every frame. The cost is ``K`` backbone passes: with the plain GNN in 3-D (8 frames),
about 7 times EGNN's forward and backward step on a batch of 100 five-particle simulations.

Shapes: ``position``, ``velocity`` ``(N, D)``; the backbone receives ``(K N, D)``.
"""

from __future__ import annotations

import warnings

import torch
from torch import nn

from fieldlab.models.batch import GraphBatch, stack
from fieldlab.models.frames import pca_frames
from fieldlab.models.prediction import Prediction


class DegenerateFrameWarning(UserWarning):
    """Some simulations have (nearly) repeated covariance eigenvalues: equivariance is not exact."""


def stack_graph(g: GraphBatch, copies: int) -> GraphBatch:
    """``copies`` disjoint copies of ``g``'s structure, copy-major, without features."""
    return stack(GraphBatch.from_dgl(g), copies)


class FrameAveraging(nn.Module):
    """``backbone`` averaged over the PCA frames of each simulation."""

    def __init__(
        self, backbone: nn.Module, proper: bool = False, degenerate_gap: float = 1e-6
    ) -> None:
        super().__init__()
        self.backbone = backbone
        self.proper = proper
        self.degenerate_gap = degenerate_gap
        self.last_degenerate = 0
        """Simulations of the last batch whose relative eigenvalue gap was below the tolerance."""

    def forward(self, g: GraphBatch) -> Prediction:
        x, v = g.ndata["position"], g.ndata["velocity"]
        n, dim = x.shape
        sizes = g.batch_num_nodes().to(x.device)
        n_graphs = len(sizes)
        graph = torch.repeat_interleave(torch.arange(n_graphs, device=x.device), sizes)
        centroid, bases, gap = pca_frames(x, graph, n_graphs, self.proper)
        self.last_degenerate = int((gap < self.degenerate_gap).sum())
        if self.last_degenerate:
            warnings.warn(
                f"{self.last_degenerate} of {n_graphs} simulations have a relative covariance "
                f"eigenvalue gap below {self.degenerate_gap:g}: their PCA frames are ambiguous "
                "and frame averaging is not exactly equivariant for them",
                DegenerateFrameWarning,
                stacklevel=2,
            )
        k = bases.shape[1]
        frame = bases[graph].transpose(0, 1)  # (K, N, D, D)
        local_x = torch.einsum("nd,knde->kne", x - centroid[graph], frame)
        local_v = torch.einsum("nd,knde->kne", v, frame)
        stacked = stack_graph(g, k)
        stacked.ndata["position"] = local_x.reshape(k * n, dim)
        stacked.ndata["velocity"] = local_v.reshape(k * n, dim)
        stacked.ndata["attr"] = g.ndata["attr"].repeat(k, 1)
        stacked.edata["attr"] = g.edata["attr"].repeat(k, 1)
        out = self.backbone(stacked)
        pos = torch.einsum("kne,knde->nd", out.position.view(k, n, dim), frame) / k
        vel = torch.einsum("kne,knde->nd", out.velocity.view(k, n, dim), frame) / k
        return Prediction(pos + centroid[graph], vel)
