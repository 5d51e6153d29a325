"""Fixed costs of the command line: what a user waits for beyond the computation itself.

Three figures, each a fresh process against its baseline measured in the same run, interleaved
round by round so that both see the same machine load; the median of ``--repeat`` rounds:

1. **help**: ``fieldlab --help``. Baseline: ``python -c pass`` (the interpreter's own start).
   Target: under 0.5 s.
2. **small card**: ``fieldlab generate egnn-charged-3d-mini --overwrite``. Baseline: the same
   simulations from the kernel called directly in a fresh process (``simulate`` once per split
   on the card's parameters and seeds, nothing written). Target: at most 1.5 s more.
3. **nri-charged-2d** (``--full``; about a minute a round): ``fieldlab generate nri-charged-2d``
   end to end into an empty data root, against its kernel called directly in a fresh process as
   in 2. Target: at most 1.5x.

    python benchmarks/startup.py [--repeat 7] [--full] [--data-root /tmp/somewhere]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FIELDLAB = str(Path(sys.executable).with_name("fieldlab"))
KERNEL = """
import sys
from fieldlab.catalog.loading import load_card
from fieldlab.catalog.seeds import split_seed
from fieldlab.simulators import simulate
card = load_card(sys.argv[1])
for split in card.split_names():
    simulate(card.simulator, card.splits[split].n_sims, split_seed(card.seed, split),
             card.resolved_params(split))
"""


def timed(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def rounds(pair: dict[str, list[str]], repeat: int, before: object = None) -> dict[str, list]:
    out: dict[str, list[float]] = {k: [] for k in pair}
    for _ in range(repeat):
        for k, cmd in pair.items():
            if callable(before):
                before()
            out[k].append(timed(cmd))
    return out


def show(title: str, times: dict[str, list[float]], ours: str, base: str) -> tuple[float, float]:
    a, b = statistics.median(times[ours]), statistics.median(times[base])
    spread = ", ".join(f"{k} {min(v):.2f}-{max(v):.2f}" for k, v in times.items())
    print(f"{title}\n   median {ours} {a:.2f} s, {base} {b:.2f} s (ranges: {spread})")
    return a, b


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--full", action="store_true", help="also nri-charged-2d (minutes)")
    parser.add_argument("--data-root", default=None, help="default: a temporary directory")
    args = parser.parse_args()
    root = str(Path(args.data_root or tempfile.mkdtemp(prefix="fieldlab-bench-")).resolve())
    py = sys.executable
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}, data root {root}")
    try:
        subprocess.run([py, "-c", KERNEL, "egnn-charged-3d-mini"], check=True)  # warm caches
        t = rounds({"fieldlab --help": [FIELDLAB, "--help"], "python -c pass": [py, "-c", "pass"]},
                   args.repeat)  # fmt: skip
        a, b = show("1. fieldlab --help", t, "fieldlab --help", "python -c pass")
        print(f"   ratio {a / b:.1f}x the bare interpreter; target < 0.5 s: "
              f"{'met' if a < 0.5 else 'MISSED'}")  # fmt: skip
        small = "egnn-charged-3d-mini"
        t = rounds(
            {
                "generate": [FIELDLAB, "generate", small, "--overwrite", "--data-root", root],
                "kernel": [py, "-c", KERNEL, small],
            },
            args.repeat,
        )
        a, b = show(f"2. fieldlab generate {small} --overwrite", t, "generate", "kernel")
        print(f"   {a - b:+.2f} s over the kernel in a fresh process (ratio {a / b:.2f}); "
              f"target <= +1.5 s: {'met' if a - b <= 1.5 else 'MISSED'}")  # fmt: skip
        if args.full:
            big = "nri-charged-2d"

            def wipe() -> None:
                shutil.rmtree(Path(root) / big, ignore_errors=True)
                os.sync()

            t = rounds(
                {
                    "generate": [FIELDLAB, "generate", big, "--data-root", root],
                    "kernel": [py, "-c", KERNEL, big],
                },
                max(1, args.repeat // 3),
                before=wipe,
            )
            a, b = show(f"3. fieldlab generate {big} (end to end)", t, "generate", "kernel")
            print(f"   ratio {a / b:.2f}; target <= 1.5x: {'met' if a / b <= 1.5 else 'MISSED'}")
    finally:
        if args.data_root is None:
            shutil.rmtree(root, ignore_errors=True)
    print(f"load average after: {os.getloadavg()[0]:.2f} (other processes share these cores)")


if __name__ == "__main__":
    main()
