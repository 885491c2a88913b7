"""The optimisers side by side, in one run: seconds per pass of each (NumPy and PyTorch on
the CPU), then the test error of the finished training runs found on disk.

    python bench/optimizers.py                          # a pass of 10,000 images, every optimizer
    python bench/optimizers.py --limit 60000            # a full pass (slow on a small CPU)
    python bench/optimizers.py --runs book/data/runs    # also: the runs' errors, mean +- sd
    python bench/optimizers.py --no-time --runs book/data/runs --epoch 20

Timing: the paper's network in float32 with the same batches; a pass includes the
curvature estimate of sdlm (500 patterns) and not the evaluation. sdlm-online is the
paper's form (batch 1), timed on a tenth of the images and scaled up. The ratios to sgd
(same implementation) are the result; absolute times depend on the machine and its load.

Errors: every ``<folder>/<optimizer>-seed<k>/metrics.json`` (as ``python -m lenet_ref
train --out`` writes them); for each optimizer, the test error after ``--epoch`` passes
(default: the last epoch every run reached), mean +- sd over the seeds, and the seeds.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
from collections import defaultdict
from pathlib import Path

from lenet_ref.data import load_mnist
from lenet_ref.train import TrainConfig, train

# (label, TrainConfig fields, share of the images timed)
SETUPS = [
    ("sgd", {"optimizer": "sgd"}, 1.0),
    ("adam", {"optimizer": "adam"}, 1.0),
    ("sdlm", {"optimizer": "sdlm"}, 1.0),
    ("sdlm-online", {"optimizer": "sdlm", "batch_size": 1}, 0.1),
]


def pass_seconds(data, impl: str, limit: int, share: float, **overrides) -> float:
    images = max(int(limit * share), 1)
    config = TrainConfig(impl=impl, device="cpu", epochs=1, limit=images, test_limit=10,
                         out=None, progress=False, verbose=False, **overrides)  # fmt: skip
    _, metrics = train(config, data=data)
    return metrics["epochs"][0]["seconds"] * limit / images


def time_passes(limit: int) -> None:
    import torch

    data = load_mnist()
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch "
          f"{torch.__version__} ({torch.get_num_threads()} threads); seconds per pass of "
          f"{limit:,} images, float32, batch 32 unless online")  # fmt: skip
    print(f"{'run':<18} {'numpy s':>9} {'torch s':>9} {'numpy/torch':>12} "
          f"{'numpy/sgd':>10} {'torch/sgd':>10}")  # fmt: skip
    rows = {}
    for label, overrides, share in SETUPS:
        rows[label] = tuple(pass_seconds(data, impl, limit, share, **overrides)
                            for impl in ("numpy", "torch"))  # fmt: skip
        numpy_s, torch_s = rows[label]
        sgd_numpy, sgd_torch = rows["sgd"]
        print(f"{label:<12} {numpy_s:9.1f} {torch_s:9.1f} {numpy_s / torch_s:12.2f} "
              f"{numpy_s / sgd_numpy:10.2f} {torch_s / sgd_torch:10.2f}", flush=True)  # fmt: skip


def error_table(folder: Path, epoch: int | None) -> None:
    runs = defaultdict(dict)
    for path in sorted(folder.glob("*-seed*/metrics.json")):
        optimizer, seed = path.parent.name.rsplit("-seed", 1)
        runs[optimizer][int(seed)] = json.loads(path.read_text())
    if not runs:
        print(f"no <optimizer>-seed<k>/metrics.json under {folder}")
        return
    reached = min(len(m["epochs"]) for seeds in runs.values() for m in seeds.values())
    epoch = epoch or reached
    print(f"\ntest error (10,000 test images) after {epoch} passes, {folder}")
    width = max(18, *(len(name) + 1 for name in runs))
    print(f"{'run':<{width}} {'mean %':>7} {'sd %':>6}  seeds: error %")
    for optimizer, seeds in sorted(runs.items()):
        errors = {s: 100 * m["epochs"][epoch - 1]["test_error"]
                  for s, m in sorted(seeds.items()) if len(m["epochs"]) >= epoch}  # fmt: skip
        if not errors:
            print(f"{optimizer:<{width}} no run reached {epoch} passes")
            continue
        values = list(errors.values())
        sd = f"{statistics.stdev(values):6.2f}" if len(values) > 1 else f"{'-':>6}"  # one seed
        listed = ", ".join(f"{s}: {e:.2f}" for s, e in errors.items())
        print(f"{optimizer:<{width}} {statistics.mean(values):7.2f} {sd}  {listed}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=10_000, help="images per timed pass")
    parser.add_argument("--time", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--runs", type=Path, default=None, help="folder of <optimizer>[-<init>]-seed<k>/")
    parser.add_argument("--epoch", type=int, default=None, help="passes to compare the errors at")
    args = parser.parse_args()
    if args.time:
        time_passes(args.limit)
    if args.runs is not None:
        error_table(args.runs, args.epoch)


if __name__ == "__main__":
    main()
