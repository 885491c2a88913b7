"""One training epoch of the NumPy and of the PyTorch LeNet-5, side by side, in one run.

    python bench/epoch_time.py                      # full epoch (60,000 images), batch 32, CPU
    python bench/epoch_time.py --limit 10000        # quicker: the first 10,000 images
    python bench/epoch_time.py --gpu                # also PyTorch on CUDA, where there is a GPU

Prints the seconds of each and the ratio NumPy / PyTorch (CPU). Both run the paper's
network in float32 with the same batches; only the training loop is timed, not the
evaluation. Absolute times depend on the machine; the ratio is the result.
"""

from __future__ import annotations

import argparse
import os
import platform

from lenet_ref.data import load_mnist
from lenet_ref.train import TrainConfig, train


def epoch_seconds(data, **overrides) -> float:
    config = TrainConfig(
        epochs=1, out=None, progress=False, verbose=False, test_limit=1000, **overrides
    )
    _, metrics = train(config, data=data)
    return metrics["epochs"][0]["seconds"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--limit", type=int, default=None, help="images per epoch (default: all 60,000)"
    )
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--gpu", action="store_true", help="also time PyTorch on CUDA")
    args = parser.parse_args()

    import torch

    data = load_mnist()
    images = args.limit or len(data[0][0])
    common = {"batch_size": args.batch_size, "limit": args.limit}
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"torch {torch.__version__} ({torch.get_num_threads()} threads); "
          f"one epoch of {images:,} images, batch {args.batch_size}, float32")  # fmt: skip
    torch_cpu = epoch_seconds(data, impl="torch", device="cpu", **common)
    numpy_cpu = epoch_seconds(data, impl="numpy", **common)
    print(f"numpy  cpu   {numpy_cpu:8.2f} s  ({images / numpy_cpu:8.0f} images/s)")
    print(f"torch  cpu   {torch_cpu:8.2f} s  ({images / torch_cpu:8.0f} images/s)")
    print(f"ratio numpy / torch (cpu): {numpy_cpu / torch_cpu:.2f}")
    if args.gpu:
        if not torch.cuda.is_available():
            print("torch  cuda  skipped: PyTorch sees no CUDA GPU here")
        else:
            cuda = epoch_seconds(data, impl="torch", device="cuda", **common)
            print(f"torch  cuda  {cuda:8.2f} s  ({images / cuda:8.0f} images/s)  "
                  f"on {torch.cuda.get_device_name()}; torch cpu / cuda: {torch_cpu / cuda:.1f}")  # fmt: skip


if __name__ == "__main__":
    main()
