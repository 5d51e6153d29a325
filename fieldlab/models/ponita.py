r"""PONITA forecaster (Bekkers et al. 2024, "Fast, Expressive SE(n) Equivariant Networks through
Weight-Sharing in Position-Orientation Space", ICLR 2024), in its n-body form.

Every particle carries a feature map over a fixed grid of ``O`` orientations
(:func:`~fieldlab.models.orientations.orientation_grid`), so the network works on
:math:`\mathbb{R}^n \times S^{n-1}` with invariants only:

1. **Lift.** Scalars are copied to every orientation and vectors are projected on it:
   :math:`f_i(o) = W [a_i, v_i \cdot o]`, ``(N, O, C)``.
2. **Bases.** For each edge :math:`j \to i` and orientation :math:`o` the invariants
   :math:`a_1 = (x_j - x_i) \cdot o`, :math:`a_2 = |(x_j - x_i) - a_1 o|` and the edge's invariant
   attributes are embedded by a polynomial of degree ``degree``
   (:class:`~fieldlab.models.polynomial.PolynomialFeatures`) and an MLP into ``basis`` functions,
   once per forward pass; likewise :math:`o \cdot o'` for the fibre.
3. **Blocks.** ``layers`` :class:`~fieldlab.models.ponita_layer.PonitaBlock` s (separable
   convolution, ConvNeXt).
4. **Read-out.** After every block (the paper's multiple read-outs) a linear map gives two
   fields on the sphere, :math:`r_k(o)`, and each becomes a vector as the orientation-weighted
   average :math:`u_k = \frac{1}{O} \sum_o r_k(o)\, o`; the prediction is
   :math:`\hat x_i = x_i + \bar u_{i,1}`, :math:`\hat v_i = v_i + \bar u_{i,2}`, the bars averaging
   over blocks.

Equivariance: each step commutes with a rotation or reflection :math:`Q` that maps the grid onto
itself, and with translations and permutations. For a general :math:`Q` the grid is not mapped onto
itself, so the network is equivariant up to the quadrature error of the sums over the grid: the
error falls as ``O`` grows (measured in the tests), and training on randomly rotated samples, as
the paper does, teaches the remainder. The positions never move inside the network, so the
geometric bases are computed once and shared by every block.

Defaults are the paper's n-body setting: 16 orientations, 128 channels, 256 basis functions,
polynomial degree 3, 5 blocks, widening 4, layer scale 1e-6, a read-out after every block.
Cost: matrix products. A training step at the paper's size on a batch of 100 five-particle 3-D
simulations (``E O`` = 32,000 edge-orientation rows) does about 70 GFLOP of them: the spatial
kernels :math:`W_s b`, ``E O B C`` multiply-adds per block in the forward pass and twice that in
the backward, 31 GFLOP over the five blocks; the ConvNeXt layers as much; the bases' MLP 7. They
take about four fifths of the step's time, so the step cannot get much faster without changing
the function. On one thread of a shared 2-core machine a step ran at 65 to 90 samples/s (an epoch
of 3,000 simulations in 39 to 46 s). Against EGNN, about 35 times its step time (10 times with 4
orientations), growing faster than linearly with ``O``
(``benchmarks/equivariance_orientations.py`` prints the error and time against the grid's size).

Shapes: ``position``, ``velocity`` ``(N, D)``, ``attr`` ``(N, F)``, edge ``attr`` ``(E, F_e)``.
"""

from __future__ import annotations

import torch
from torch import nn

from fieldlab.models.batch import GraphBatch
from fieldlab.models.edges import Edges
from fieldlab.models.orientations import orientation_grid
from fieldlab.models.polynomial import PolynomialFeatures
from fieldlab.models.ponita_layer import PonitaBlock
from fieldlab.models.prediction import Prediction


def _basis_mlp(inputs: int, degree: int, hidden: int, basis: int) -> nn.Sequential:
    poly = PolynomialFeatures(inputs, degree)
    return nn.Sequential(
        poly, nn.Linear(poly.n_features, hidden), nn.GELU(), nn.Linear(hidden, basis), nn.GELU()
    )


class Ponita(nn.Module):
    """PONITA on a fibre bundle of ``orientations`` directions per particle."""

    def __init__(
        self,
        dim: int,
        node_features: int,
        edge_features: int,
        hidden: int = 128,
        layers: int = 5,
        orientations: int = 16,
        basis: int = 256,
        degree: int = 3,
    ) -> None:
        super().__init__()
        self.register_buffer("grid", orientation_grid(dim, orientations), persistent=False)
        self.spatial_basis = _basis_mlp(2 + edge_features, degree, hidden, basis)
        self.fiber_basis = _basis_mlp(1, degree, hidden, basis)
        self.embed = nn.Linear(node_features + 1, hidden)
        self.blocks = nn.ModuleList(PonitaBlock(hidden, basis) for _ in range(layers))
        self.readout = nn.ModuleList(nn.Linear(hidden, 2) for _ in range(layers))
        self.edge_features = edge_features

    @property
    def orientations(self) -> int:
        return self.grid.shape[0]

    def forward(self, g: GraphBatch) -> Prediction:
        x, v = g.ndata["position"], g.ndata["velocity"]
        ori = self.grid.to(x.dtype)
        n_ori = ori.shape[0]
        edges = Edges.of(g)
        # 1. lift: scalars on every orientation, velocities projected on it
        attr = g.ndata["attr"]
        lifted = torch.cat([attr[:, None, :].expand(-1, n_ori, -1), (v @ ori.T)[..., None]], -1)
        f = self.embed(lifted)  # (N, O, C)
        # 2. bases of the invariants, shared by every block
        rel = x.index_select(0, edges.src) - x.index_select(0, edges.dst)  # x_j - x_i, (E, D)
        a1 = rel @ ori.T  # (E, O)
        a2 = torch.linalg.vector_norm(rel[:, None, :] - a1[..., None] * ori, dim=-1)
        e = g.edata["attr"][:, None, :].expand(-1, n_ori, -1)
        spatial = self.spatial_basis(torch.cat([a1[..., None], a2[..., None], e], dim=-1))
        self_basis = self.spatial_basis(x.new_zeros(2 + self.edge_features))
        fiber = self.fiber_basis((ori @ ori.T)[..., None])  # (O, O, B)
        # 3. blocks, 4. a read-out after each
        out = x.new_zeros(x.shape[0], n_ori, 2)
        for block, readout in zip(self.blocks, self.readout, strict=True):
            f = block(f, edges, spatial, self_basis, fiber)
            out = out + readout(f)
        vec = torch.einsum("nok,od->nkd", out, ori) / (n_ori * len(self.blocks))
        return Prediction(x + vec[:, 0], v + vec[:, 1])
