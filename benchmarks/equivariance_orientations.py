"""PONITA's orientation grid: equivariance error and step time against the grid's size, and the
step time of every equivariant n-body model against EGNN, in the same run.

1. **Equivariance error** of PONITA (a small network, float64, weights perturbed off their tiny
   initial values; the weights do not depend on the grid, so every grid size evaluates the same
   function) under random rotations and reflections, translations and permutations
   (:func:`fieldlab.testing.equivariance_error`, the mean over ``--transforms`` transforms), for
   2-D (evenly spaced angles) and 3-D (Fibonacci) grids of 4 to 128 orientations. Baseline: the
   paper's 16 orientations; printed as the ratio of each error to it.
2. **Step time** (forward and backward of the position MSE, median of ``--steps``) on a batch of
   100 charged-egnn simulations of 5 particles in 3-D, fully connected, one thread by default:
   PONITA at the paper's size (128 channels, 5 blocks, 256 basis functions) for each grid size,
   then EMPCN (coupled and decoupled), FA-GNN and the plain GNN at their published sizes.
   Baseline: EGNN at its published size (4 layers, 64 hidden), timed in every round; printed as
   each model's time over EGNN's.

    python benchmarks/equivariance_orientations.py [--threads 1] [--steps 5] [--transforms 5]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch import nn

from fieldlab.models import EMPCN, Ponita, build_graph, build_model
from fieldlab.testing import equivariance_error
from fieldlab.testing.particles import SPEC, charged_batch

GRIDS = (4, 8, 16, 32, 64, 128)


def _small_ponita(dim: int, orientations: int) -> Ponita:
    torch.manual_seed(0)
    model = Ponita(dim, 2, 1, hidden=16, layers=2, orientations=orientations, basis=32).double()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.1 * torch.randn_like(p))
    return model


def error_curve(transforms: int) -> None:
    print("PONITA equivariance error (mean relative error; ratio to 16 orientations)")
    for dim in (2, 3):
        b = charged_batch(dim, 8, seed=0, dtype=torch.float64)
        g = build_graph(b.position, b.velocity, b.charge, SPEC)
        errors = {}
        for n in GRIDS:
            model = _small_ponita(dim, n)
            errors[n] = statistics.mean(
                equivariance_error(model, g, seed=s) for s in range(transforms)
            )
        row = "  ".join(f"{n}: {e:.2e} ({e / errors[16]:.3g}x)" for n, e in errors.items())
        print(f"  {dim}-D  {row}")


def _step_time(model: nn.Module, g, target: torch.Tensor, steps: int) -> float:
    def step() -> None:
        out = model(g)
        ((out.position - target) ** 2).mean().backward()

    step()
    times = []
    for _ in range(steps):
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def step_times(steps: int) -> None:
    b = charged_batch(3, 100, seed=0)
    g = build_graph(b.position, b.velocity, b.charge, SPEC)
    target = b.target_position.reshape(-1, 3)
    torch.manual_seed(0)
    models: dict[str, nn.Module] = {
        f"ponita, {n} orientations": Ponita(3, 2, 1, orientations=n) for n in (4, 8, 16, 32)
    }
    models["empcn"] = build_model("empcn", dim=3, node_features=2)
    models["empcn, decoupled"] = EMPCN(2, 1, decoupled=True)
    models["fa-gnn"] = build_model("fa-gnn", dim=3, node_features=2)
    models["gnn"] = build_model("gnn", dim=3, node_features=2)
    egnn = build_model("egnn", dim=3, node_features=2)
    print("step time, forward + backward, batch of 100 (ratio to EGNN in the same round)")
    for name, model in models.items():
        base = _step_time(egnn, g, target, steps)
        t = _step_time(model, g, target, steps)
        print(f"  {name:28s} {1e3 * t:8.1f} ms   EGNN {1e3 * base:6.1f} ms   {t / base:6.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--transforms", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    error_curve(args.transforms)
    step_times(args.steps)


if __name__ == "__main__":
    main()
