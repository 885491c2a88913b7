"""Training LeNet-5 on MNIST: one flat loop for both networks.

The loop owns everything that must not depend on the implementation or the device: the
data, the order of the batches (one NumPy generator, seeded), the learning-rate schedule,
the evaluation, the progress bar, the metrics file and the checkpoint. A small runner per
implementation does the one step that differs: a gradient step on a batch.

Differences from the paper (Sec. III.C), named in ``TrainConfig``: mini-batch SGD with
momentum instead of online stochastic diagonal Levenberg-Marquardt; the paper's schedule
shape (learning rate divided over 20 passes as 0.0005, 0.0002, 0.0001, 0.00005, 0.00001)
scaled to ``lr``.
"""

from __future__ import annotations

import json
import os
import platform
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from . import spec
from .checkpoint import save_checkpoint
from .data import load_mnist, to_lenet_input


@dataclass
class TrainConfig:
    """Every knob of a training run; ``python -m lenet_ref train`` has one flag per field."""

    impl: str = field(
        default="torch", metadata={"help": "numpy or torch", "choices": ("numpy", "torch")}
    )
    epochs: int = field(
        default=20, metadata={"help": "passes over the training set (the paper: 20)"}
    )
    batch_size: int = field(default=32, metadata={"help": "images per gradient step"})
    lr: float = field(default=0.0015, metadata={"help": "learning rate of the first two epochs"})
    momentum: float = field(default=0.9, metadata={"help": "SGD momentum (PyTorch's formula)"})
    seed: int = field(default=0, metadata={"help": "seeds the initial weights and the batch order"})
    device: str = field(default="auto", metadata={"help": "torch only: auto, cpu, cuda, cuda:1..."})
    limit: int | None = field(
        default=None, metadata={"help": "train on the first N images only (quick runs)"}
    )
    test_limit: int | None = field(
        default=None, metadata={"help": "evaluate on the first N test images only"}
    )
    out: str | None = field(
        default="runs/latest", metadata={"help": "folder for metrics.json and checkpoint.npz"}
    )
    activation: str = field(default="scaled_tanh", metadata={"choices": spec.ACTIVATIONS})
    pool: str = field(default="subsample", metadata={"choices": spec.POOLINGS})
    c3: str = field(default="table", metadata={"choices": spec.C3_CONNECTIONS})
    head: str = field(default="rbf", metadata={"choices": spec.HEADS})
    progress: bool = field(default=True, metadata={"help": "show a progress bar"})
    verbose: bool = field(default=True, metadata={"help": "print a line per epoch"})

    def options(self) -> dict:
        return {"activation": self.activation, "pool": self.pool, "c3": self.c3, "head": self.head}


def lr_at(epoch: int, lr: float) -> float:
    """The paper's schedule shape (Sec. III.C), epochs counted from 1: the rate of the
    first two passes, then x0.4 for three, x0.2 for three, x0.1 for four, x0.02 after."""
    for last_epoch, factor in ((2, 1.0), (5, 0.4), (8, 0.2), (12, 0.1)):
        if epoch <= last_epoch:
            return lr * factor
    return lr * 0.02


class NumpyRunner:
    """SGD with momentum on ``lenet_ref.numpy.LeNet5``, float32, with PyTorch's update
    (v = momentum * v + g; p -= lr * v) so that both networks follow the same rule."""

    def __init__(self, config: TrainConfig, x: np.ndarray, y: np.ndarray):
        from .numpy import LeNet5

        self.x, self.y = x, y
        self.net = LeNet5(seed=config.seed, dtype=np.float32, **config.options())
        self.momentum = config.momentum
        self.velocity = {k: np.zeros_like(v) for k, v in self.net.params.items()}
        self.device = "cpu (numpy)"

    def step(self, idx: np.ndarray, lr: float) -> float:
        loss, grads = self.net.loss_and_grads(self.x[idx], self.y[idx])
        for k, g in grads.items():
            v = self.velocity[k]
            v *= self.momentum
            v += g
            self.net.params[k] -= lr * v
        return float(loss)

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.net.predict(x)

    def state_dict(self):
        return self.net.state_dict()


class TorchRunner:
    """torch.optim.SGD with momentum on ``lenet_ref.torch.LeNet5``, float32, on the GPU
    where there is one. The training set moves to the device once; batches are picked
    there by the same indices as for NumPy."""

    def __init__(self, config: TrainConfig, x: np.ndarray, y: np.ndarray):
        import torch

        from .torch import LeNet5

        self.torch = torch
        torch.manual_seed(config.seed)
        self.net = LeNet5(seed=config.seed, device=config.device, **config.options())
        self.opt = torch.optim.SGD(self.net.parameters(), lr=config.lr, momentum=config.momentum)
        self.device = str(self.net.device)
        self.x = torch.as_tensor(x).to(self.net.device)
        self.y = torch.as_tensor(y).to(self.net.device)

    def step(self, idx: np.ndarray, lr: float) -> float:
        idx = self.torch.as_tensor(idx, device=self.net.device)
        xb, yb = self.x[idx], self.y[idx]
        for group in self.opt.param_groups:
            group["lr"] = lr
        self.opt.zero_grad(set_to_none=True)
        loss = self.net.loss(self.net(xb), yb)
        loss.backward()
        self.opt.step()
        return loss.item()

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.net.predict(x)

    def state_dict(self):
        return self.net.state_dict()


def make_runner(config: TrainConfig, x_train: np.ndarray, y_train: np.ndarray):
    if config.impl == "numpy":
        return NumpyRunner(config, x_train, y_train)
    if config.impl == "torch":
        return TorchRunner(config, x_train, y_train)
    raise ValueError(f"impl must be 'numpy' or 'torch'; got {config.impl!r}")


def train(config: TrainConfig, data=None):
    """Train, evaluate on the test set after every epoch, write ``metrics.json`` and
    ``checkpoint.npz`` to ``config.out`` (if set); return ``(net, metrics)``.

    ``data``: ``((x_train, y_train), (x_test, y_test))`` as ``load_mnist`` returns them;
    loaded from the cache when omitted.
    """
    (x_train, y_train), (x_test, y_test) = data if data is not None else load_mnist()
    x_train, y_train = x_train[: config.limit], y_train[: config.limit]
    x_test, y_test = x_test[: config.test_limit], y_test[: config.test_limit]
    x_train, x_test = to_lenet_input(x_train), to_lenet_input(x_test)
    runner = make_runner(config, x_train, y_train)
    rng = np.random.default_rng(config.seed)
    out = Path(config.out) if config.out else None
    metrics = {"config": asdict(config), "device": runner.device, "epochs": [], **_versions()}

    for epoch in range(1, config.epochs + 1):
        lr = lr_at(epoch, config.lr)
        order = rng.permutation(len(x_train))
        batches = [
            order[i : i + config.batch_size] for i in range(0, len(order), config.batch_size)
        ]
        start, losses = time.perf_counter(), []
        bar = tqdm(batches, desc=f"epoch {epoch}/{config.epochs}", unit="batch",
                   disable=not config.progress, leave=False)  # fmt: skip
        for idx in bar:
            loss = runner.step(idx, lr)
            if not np.isfinite(loss):
                raise FloatingPointError(
                    f"the loss became {loss} in epoch {epoch}: the learning rate ({lr:g}) is "
                    "too large for this network; try a smaller --lr"
                )
            losses.append(loss)
            if len(losses) % 50 == 0:
                bar.set_postfix(loss=f"{np.mean(losses[-50:]):.4g}")
        seconds = time.perf_counter() - start
        test_error = float(np.mean(runner.predict(x_test) != y_test))
        row = {"epoch": epoch, "lr": lr, "train_loss": float(np.mean(losses)),
               "test_error": test_error, "seconds": seconds}  # fmt: skip
        metrics["epochs"].append(row)
        if config.verbose:
            tqdm.write(f"epoch {epoch:>2}/{config.epochs}  lr {lr:.2e}  train loss {row['train_loss']:.4f}  "
                       f"test error {100 * test_error:.2f} %  ({seconds:.1f} s)")  # fmt: skip
    metrics["test_error"] = metrics["epochs"][-1]["test_error"] if metrics["epochs"] else None
    if out is not None:
        save_checkpoint(out / "checkpoint.npz", runner.state_dict(), config.options(),
                        impl=config.impl, test_error=metrics["test_error"])  # fmt: skip
        _write_json(out / "metrics.json", metrics)
    return runner.net, metrics


def _versions() -> dict:
    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "machine": platform.machine(),
    }


def _write_json(path: Path, obj) -> None:
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(obj, indent=2))
    os.replace(tmp, path)
