"""DGL loads in this environment (torch 2.2.1, numpy<2) and its message passing computes A^T h."""

from __future__ import annotations

import numpy as np


def test_dgl_message_passing_sums_neighbour_features() -> None:
    import dgl
    import dgl.function as fn
    import torch

    rng = np.random.default_rng(0)
    n = 7
    adj = (rng.random((n, n)) < 0.4) & ~np.eye(n, dtype=bool)
    src, dst = np.nonzero(adj)
    g = dgl.graph((torch.as_tensor(src), torch.as_tensor(dst)), num_nodes=n)
    h = torch.as_tensor(rng.normal(size=(n, 3)))
    g.ndata["h"] = h
    g.update_all(fn.copy_u("h", "m"), fn.sum("m", "out"))
    expected = adj.T.astype(float) @ h.numpy()  # node j receives the sum over edges i -> j
    np.testing.assert_allclose(g.ndata["out"].numpy(), expected, atol=1e-12)
    assert dgl.__version__.startswith("2.1")
