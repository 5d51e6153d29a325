r"""The torch-native batch every model reads: a batch of graphs as plain tensors, on any device.

The pinned DGL 2.1 is a CPU-only build: a ``DGLGraph`` cannot move to a GPU. So particle and
mesh graphs are built as :class:`GraphBatch` es directly, with tensor operations on the device
of their inputs (:func:`~fieldlab.models.graphs.build_graph`,
:func:`~fieldlab.models.mesh_graph.build_mesh_graph`; topologies cached per device), DGL keeps
what it is needed for on the CPU (the heterographs of EMPCN's cell complexes, whose index tensors
then move), :meth:`GraphBatch.from_dgl` reads any ``DGLGraph`` into a batch and
:meth:`GraphBatch.to_dgl` gives one back. A batch moves with :meth:`GraphBatch.to`
(asynchronously from pinned memory, :meth:`GraphBatch.pin_memory`).

A :class:`GraphBatch` answers the part of the ``DGLGraph`` interface that fieldlab's models use
(``ndata``, ``edata``, ``edges()``, ``num_nodes()``, ``num_edges()``, ``in_degrees()``,
``batch_size``,
``batch_num_nodes()``, ``batch_num_edges()``, ``device``, ``local_scope()``, ``local_var()``),
so a model runs unchanged on either; message passing is written with index operations
(:class:`~fieldlab.models.edges.Edges`), never with DGL's kernels.

Shapes: ``src``, ``dst`` ``(E,)`` (messages flow ``src -> dst``); node features ``(N, ...)``;
edge features ``(E, ...)``; ``sizes`` ``(B,)`` nodes per graph, ``edge_sizes`` ``(B,)`` edges.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import torch


@dataclass
class GraphBatch:
    """A batch of ``B`` graphs with ``N`` nodes and ``E`` edges in all (see the module docstring)."""

    src: torch.Tensor
    dst: torch.Tensor
    n_nodes: int
    sizes: torch.Tensor
    edge_sizes: torch.Tensor
    ndata: dict[str, torch.Tensor] = field(default_factory=dict)
    edata: dict[str, torch.Tensor] = field(default_factory=dict)

    @classmethod
    def from_dgl(cls, g: Any) -> GraphBatch:
        """The batch of a (batched) ``DGLGraph``, or ``g`` itself if it is a batch already."""
        if isinstance(g, GraphBatch):
            return g
        src, dst = g.edges()
        return cls(
            src,
            dst,
            g.num_nodes(),
            g.batch_num_nodes(),
            g.batch_num_edges(),
            dict(g.ndata),
            dict(g.edata),
        )

    # -- the part of the DGLGraph interface that models use -----------------------------------
    def edges(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self.src, self.dst

    def num_nodes(self) -> int:
        return self.n_nodes

    def num_edges(self) -> int:
        return int(self.src.shape[0])

    def in_degrees(self) -> torch.Tensor:
        """``(N,)`` the number of edges into each node."""
        return torch.bincount(self.dst, minlength=self.n_nodes)

    @property
    def batch_size(self) -> int:
        return int(self.sizes.shape[0])

    def batch_num_nodes(self) -> torch.Tensor:
        return self.sizes

    def batch_num_edges(self) -> torch.Tensor:
        return self.edge_sizes

    @property
    def device(self) -> torch.device:
        return self.src.device

    def local_var(self) -> GraphBatch:
        """A view whose feature dicts can be changed without changing this batch's."""
        return replace(self, ndata=dict(self.ndata), edata=dict(self.edata))

    @contextmanager
    def local_scope(self) -> Iterator[None]:
        """Features set inside the block are dropped when it ends (as in DGL)."""
        ndata, edata = dict(self.ndata), dict(self.edata)
        try:
            yield
        finally:
            self.ndata, self.edata = ndata, edata

    # -- moving ---------------------------------------------------------------------------------
    def _map(self, fn: Any) -> GraphBatch:
        return GraphBatch(
            fn(self.src),
            fn(self.dst),
            self.n_nodes,
            fn(self.sizes),
            fn(self.edge_sizes),
            {k: fn(v) for k, v in self.ndata.items()},
            {k: fn(v) for k, v in self.edata.items()},
        )

    def to(self, device: torch.device | str, *, non_blocking: bool = False) -> GraphBatch:
        """This batch on ``device`` (itself if it is there already)."""
        device = torch.device(device)
        if self.device == device:
            return self
        return self._map(lambda t: t.to(device, non_blocking=non_blocking))

    def to_dgl(self) -> Any:
        """The same batch as a (CPU) ``DGLGraph``, for code written against DGL's API."""
        import dgl

        g = dgl.graph((self.src.cpu(), self.dst.cpu()), num_nodes=self.n_nodes)
        g.set_batch_num_nodes(self.sizes.cpu())
        g.set_batch_num_edges(self.edge_sizes.cpu())
        g.ndata.update({k: v.cpu() for k, v in self.ndata.items()})
        g.edata.update({k: v.cpu() for k, v in self.edata.items()})
        return g

    def pin_memory(self) -> GraphBatch:
        """This batch in page-locked memory, so that :meth:`to` a GPU can overlap computation."""
        return self._map(lambda t: t.pin_memory())


def stack(batch: GraphBatch, copies: int) -> GraphBatch:
    """``copies`` copies of ``batch`` as one batch of ``copies * B`` graphs (copy ``c``'s node
    ``n`` is node ``c N + n``); features are left to the caller."""
    offset = (torch.arange(copies, device=batch.device) * batch.n_nodes)[:, None]
    return GraphBatch(
        (batch.src[None] + offset).reshape(-1),
        (batch.dst[None] + offset).reshape(-1),
        copies * batch.n_nodes,
        batch.sizes.repeat(copies),
        batch.edge_sizes.repeat(copies),
    )
