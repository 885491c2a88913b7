"""The NumPy and the PyTorch LeNet-5 trained alike, in one run: the test error of each after
every pass, the difference, and the seconds per pass of each.

    python bench/twins.py                       # the default training: SGD, batch 32, 20 passes
    python bench/twins.py --optimizer sdlm --init lecun --curvature-keep max   # SDLM, batch 32
    python bench/twins.py --optimizer sdlm --init lecun --batch-size 1  # the paper's form (hours)
    python bench/twins.py --epochs 2 --limit 10000          # quick

Both train in float32 from the same initial weights, on the same batches, with the same
curvature patterns, and take the same steps (tests/test_sdlm.py holds them to it for a few
steps); over many passes float32 rounding, summed in a different order, parts them, as a
different seed would but less. The result is the difference of their errors, to set
beside the spread over seeds; the ratio of their times depends on the machine. Where the
training is unstable (SDLM in mini-batches of 32 with the paper's curvature rule: the second
pass jumps to tens of per cent), the two part at once and their difference says nothing.
``--out DIR`` keeps both metrics files (DIR/numpy, DIR/torch).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics

from lenet_ref.data import load_mnist
from lenet_ref.optim import CURVATURE_KEEPS, OPTIMIZERS
from lenet_ref.train import TrainConfig, train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--optimizer", default="sgd", choices=OPTIMIZERS)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--init", default=None, help="initial weights (lenet_ref.spec.INITS; "
                        "sdlm needs fan-in-sqrt or lecun) (default: the network's)")
    parser.add_argument("--curvature-keep", default="latest", choices=CURVATURE_KEEPS)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--limit", type=int, default=None, help="training images (default: all)")
    parser.add_argument("--out", default=None, help="keep the metrics in OUT/numpy and OUT/torch")
    args = parser.parse_args()

    import torch

    data = load_mnist()
    common = {"optimizer": args.optimizer, "batch_size": args.batch_size, "init": args.init,
              "seed": args.seed, "epochs": args.epochs, "limit": args.limit,
              "progress": False, "verbose": False}  # fmt: skip
    if args.optimizer == "sdlm":
        common["curvature_keep"] = args.curvature_keep
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch "
          f"{torch.__version__} ({torch.get_num_threads()} threads); {common}",
          flush=True)  # fmt: skip
    metrics = {}
    for impl in ("numpy", "torch"):
        out = os.path.join(args.out, impl) if args.out else None
        config = TrainConfig(impl=impl, device="cpu", out=out, **common)
        metrics[impl] = train(config, data=data)[1]["epochs"]
        print(f"{impl}: {100 * metrics[impl][-1]['test_error']:.2f} % after {args.epochs} passes",
              flush=True)  # fmt: skip
    print(f"\n{'pass':>4} {'numpy %':>8} {'torch %':>8} {'numpy - torch':>14}")
    for a, b in zip(metrics["numpy"], metrics["torch"], strict=True):
        diff = 100 * (a["test_error"] - b["test_error"])
        print(f"{a['epoch']:>4} {100 * a['test_error']:8.2f} {100 * b['test_error']:8.2f} "
              f"{diff:+14.2f}")  # fmt: skip
    seconds = {impl: statistics.median(row["seconds"] for row in rows)
               for impl, rows in metrics.items()}  # fmt: skip
    print(f"median seconds per pass: numpy {seconds['numpy']:.1f}, torch {seconds['torch']:.1f}, "
          f"numpy / torch {seconds['numpy'] / seconds['torch']:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
