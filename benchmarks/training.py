"""EGNN training throughput: fieldlab's DGL EGNN against a plain-PyTorch EGNN, in the same run.

The task is EGNN's n-body setting: batches of 100 simulations of 5 charged particles in 3-D, fully
connected graphs (2,000 directed edges per batch), 4 layers of 64 hidden units, Adam. One training
step is forward, MSE loss, backward and an optimiser step. The baseline is a straightforward
PyTorch EGNN in the style of the reference implementation
(:class:`fieldlab.testing.reference_egnn.ReferenceEGNN`, which the tests check computes the same
function as fieldlab's): concatenated edge inputs through the edge MLP, index_add segment sums,
edge index rebuilt for every batch, torch's default Adam. Inputs are random states
of the right shapes (throughput does not depend on their values).

    python benchmarks/training.py [--steps 60] [--threads 2]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fieldlab.models import GraphSpec, build_graph, build_model
from fieldlab.testing.reference_egnn import ReferenceEGNN
from fieldlab.training.flat_parameters import FlatParameters

BATCH, PARTICLES, DIM, HIDDEN, LAYERS = 100, 5, 3, 64, 4


def reference_step_inputs(x, v, charge):
    """The reference's per-batch preparation: edge index rebuilt, speeds and q_i q_j."""
    b, p, d = x.shape
    i, j = torch.meshgrid(torch.arange(p), torch.arange(p), indexing="ij")
    keep = i != j
    offset = (torch.arange(b) * p)[:, None]
    row = (i[keep][None] + offset).reshape(-1)
    col = (j[keep][None] + offset).reshape(-1)
    x, v, q = x.reshape(-1, d), v.reshape(-1, d), charge.reshape(-1)
    return v.norm(dim=-1, keepdim=True), x, v, row, col, (q[row] * q[col])[:, None]


def _batch(gen: torch.Generator) -> tuple[torch.Tensor, ...]:
    x = torch.randn(BATCH, PARTICLES, DIM, generator=gen)
    v = torch.randn(BATCH, PARTICLES, DIM, generator=gen)
    q = torch.sign(torch.randn(BATCH, PARTICLES, generator=gen))
    y = x + 0.1 * torch.randn(BATCH, PARTICLES, DIM, generator=gen)
    return x, v, q, y


def samples_per_s(step, batches, steps: int) -> float:
    for k in range(5):  # warm-up
        step(*batches[k % len(batches)])
    t0 = time.perf_counter()
    for k in range(steps):
        step(*batches[k % len(batches)])
    return steps * BATCH / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3, help="alternate the two this many times")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)
    batches = [_batch(gen) for _ in range(8)]

    ref = ReferenceEGNN(1, 1, HIDDEN, LAYERS)
    ref_opt = torch.optim.Adam(ref.parameters(), lr=5e-4, weight_decay=1e-12)

    def ref_step(x, v, q, y):
        ref_opt.zero_grad(set_to_none=True)
        loss = ((ref(*reference_step_inputs(x, v, q)) - y.reshape(-1, DIM)) ** 2).mean()
        loss.backward()
        ref_opt.step()

    ours = build_model("egnn", dim=DIM, node_features=1, hidden=HIDDEN, layers=LAYERS)
    # As fieldlab.training.loop.Trainer builds it: Adam on the flat parameter vector.
    flat = FlatParameters(ours)
    opt = torch.optim.Adam([flat.data], lr=5e-4, weight_decay=1e-12, foreach=False)
    spec = GraphSpec(kind="full", node_features=("speed",))

    def our_step(x, v, q, y):
        flat.zero_grad()
        loss = ((ours(build_graph(x, v, q, spec)).position - y.reshape(-1, DIM)) ** 2).mean()
        loss.backward()
        opt.step()

    best_ref, best_ours = 0.0, 0.0
    for _ in range(args.rounds):
        best_ref = max(best_ref, samples_per_s(ref_step, batches, args.steps))
        best_ours = max(best_ours, samples_per_s(our_step, batches, args.steps))
    print(
        f"threads={args.threads} batch={BATCH} particles={PARTICLES} layers={LAYERS} hidden={HIDDEN}"
    )
    print(f"plain PyTorch EGNN (baseline): {best_ref:8.0f} samples/s")
    print(f"fieldlab DGL EGNN:             {best_ours:8.0f} samples/s")
    print(f"ratio: {best_ours / best_ref:.2f}x (target 2x)")
    ref_flops, our_flops = step_flops(ref_step, batches[0]), step_flops(our_step, batches[0])
    print(
        f"matrix-product work per step: baseline {ref_flops / 1e6:.0f} MFLOP, fieldlab "
        f"{our_flops / 1e6:.0f} MFLOP ({ref_flops / our_flops:.2f}x less): the speed-up that "
        "less work alone would give"
    )


def step_flops(step, batch) -> int:
    """FLOPs of the matrix products in one training step (forward and backward)."""
    with FlopCounterMode(display=False) as counter:
        step(*batch)
    return counter.get_total_flops()


if __name__ == "__main__":
    main()
