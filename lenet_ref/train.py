"""Training LeNet-5 on MNIST: one flat loop for both networks.

The loop owns everything that must not depend on the implementation or the device: the
data, the order of the batches (one NumPy generator, seeded), the learning-rate schedule,
the evaluation, the progress bar, the metrics file and the checkpoint. A small runner per
implementation does the one step that differs: a gradient step on a batch.

The optimiser is the network's (``spec.PRESETS``) or ``--optimizer``: SGD with momentum,
Adam, or the paper's stochastic diagonal Levenberg-Marquardt (``sdlm``, Appendix C), whose
curvature is re-estimated on ``curvature_patterns`` training patterns before each pass,
online with ``batch_size=1`` as in the paper, or in the mini-batch form of
``lenet_ref.optim.SDLM``. The schedule has the paper's shape (learning rate divided over
20 passes as 0.0005, 0.0002, 0.0001, 0.00005, 0.00001, Sec. III.B) scaled to ``lr``; for
sdlm the default lr is the paper's 0.0005, so the schedule is the paper's own.

With ``distort``, every epoch trains on a fresh random affine distortion of every
training image (``lenet_ref.distort``); the paper instead drew 20 passes of 60,000 from a
fixed set of the 60,000 originals and 540,000 distorted copies.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from . import spec
from .checkpoint import save_checkpoint
from .data import load_mnist, to_lenet_input
from .distort import random_affine
from .optim import (
    CURVATURE_KEEPS,
    OPTIMIZERS,
    SDLM,
    SDLM_LR,
    SDLM_MU,
    SDLM_PATTERNS,
    SGD,
    Adam,
    check_keep,
    curvature_summary,
)


@dataclass
class TrainConfig:
    """Every knob of a training run; ``python -m lenet_ref train`` has one flag per field.

    The network is LeNet-5 with options (the paper's for each one left None) or a named
    preset; ``lr`` and ``optimizer`` left None take the network's defaults
    (``spec.PRESETS``; the paper's network: SGD with momentum, lr 0.0015).
    """

    impl: str = field(
        default="torch", metadata={"help": "numpy or torch", "choices": ("numpy", "torch")}
    )
    epochs: int = field(
        default=20, metadata={"help": "passes over the training set (the paper: 20)"}
    )
    batch_size: int = field(default=32, metadata={"help": "images per gradient step"})
    lr: float | None = field(
        default=None,
        metadata={"help": "learning rate of the first two epochs (None: the network's)"},
    )
    optimizer: str | None = field(
        default=None,
        metadata={
            "help": "sgd (with momentum), adam, or sdlm (the paper's stochastic diagonal "
            "Levenberg-Marquardt; lr 0.0005 unless given) (None: the network's)",
            "choices": OPTIMIZERS,
        },
    )
    momentum: float = field(default=0.9, metadata={"help": "SGD momentum (PyTorch's formula)"})
    mu: float = field(
        default=SDLM_MU, metadata={"help": "sdlm: step sizes are lr / (mu + h_kk) (Appendix C)"}
    )
    curvature_patterns: int = field(
        default=SDLM_PATTERNS,
        metadata={"help": "sdlm: patterns the curvature is re-estimated on before each pass"},
    )
    curvature_keep: str = field(
        default="latest",
        metadata={"help": "sdlm: the curvature a pass steps with: latest (the paper: the "
                  "estimate made before the pass) or max (per parameter, the largest "
                  "estimate so far: no step size grows between passes; not the paper's)",
                  "choices": CURVATURE_KEEPS},
    )  # fmt: skip
    seed: int = field(
        default=0,
        metadata={"help": "seeds the initial weights, the batch order and the distortions"},
    )
    device: str = field(default="auto", metadata={"help": "torch only: auto, cpu, cuda, cuda:1..."})
    limit: int | None = field(
        default=None, metadata={"help": "train on the first N images only (quick runs)"}
    )
    test_limit: int | None = field(
        default=None, metadata={"help": "evaluate on the first N test images only"}
    )
    train_error: bool = field(
        default=False,
        metadata={"help": "also measure the error on the training set after each epoch (Fig. 5)"},
    )
    distort: bool = field(
        default=False,
        metadata={"help": "train on randomly distorted images, new ones every epoch (Sec. III.B)"},
    )
    out: str | None = field(
        default="runs/latest", metadata={"help": "folder for metrics.json and checkpoint.npz"}
    )
    preset: str | None = field(
        default=None,
        metadata={"help": "a named network instead of the options", "choices": tuple(spec.PRESETS)},
    )
    activation: str | None = field(default=None, metadata={"choices": spec.ACTIVATIONS})
    pool: str | None = field(default=None, metadata={"choices": spec.POOLINGS})
    c3: str | None = field(default=None, metadata={"choices": spec.C3_CONNECTIONS})
    head: str | None = field(default=None, metadata={"choices": spec.HEADS})
    init: str | None = field(
        default=None,
        metadata={"help": "initial weights: paper (2.4/F_i, Appendix A as printed), fan-in-sqrt "
                  "(2.4/sqrt(F_i)), lecun (sqrt(3/F_i), Efficient BackProp); sdlm needs one of "
                  "these two; he, glorot (None: the network's)",
                  "choices": spec.INITS},
    )  # fmt: skip
    init_gain: float | None = field(
        default=None,
        metadata={"help": "scales the initial weights' limits (None: 1, the rule's own); "
                  "not the paper's"},
    )  # fmt: skip
    progress: bool = field(default=True, metadata={"help": "show a progress bar"})
    verbose: bool = field(default=True, metadata={"help": "print a line per epoch"})

    def network(self) -> tuple[dict, spec.Preset]:
        """The LeNet5 keyword arguments and the network's description."""
        options = {
            "activation": self.activation,
            "pool": self.pool,
            "c3": self.c3,
            "head": self.head,
            "init": self.init,
            "init_gain": self.init_gain,
        }
        return spec.network(self.preset, **options)


def lr_at(epoch: int, lr: float) -> float:
    """The paper's schedule shape (Sec. III.B), epochs counted from 1: the rate of the
    first two passes, then x0.4 for three, x0.2 for three, x0.1 for four, x0.02 after."""
    for last_epoch, factor in ((2, 1.0), (5, 0.4), (8, 0.2), (12, 0.1)):
        if epoch <= last_epoch:
            return lr * factor
    return lr * 0.02


class NumpyRunner:
    """``lenet_ref.numpy.LeNet5`` in float32 with a NumPy optimiser that follows PyTorch's
    formula (``lenet_ref.optim``), so that both networks take the same steps."""

    def __init__(self, config: TrainConfig, options: dict, optimizer: str):
        from .numpy import LeNet5

        self.net = LeNet5(seed=config.seed, dtype=np.float32, **options)
        params = self.net.params
        self.opt = {"sgd": lambda: SGD(params, config.momentum), "adam": lambda: Adam(params),
                    "sdlm": lambda: SDLM(params, config.mu, config.curvature_keep),
                    }[optimizer]()  # fmt: skip
        self.device = "cpu (numpy)"

    def estimate_curvature(self, x: np.ndarray, y: np.ndarray) -> tuple[dict, dict]:
        """Estimate h on the patterns and hand it to the optimiser; returns the estimate
        and the curvature the steps will use (the same, unless ``curvature_keep="max"``)."""
        from .numpy.curvature import curvature

        h = curvature(self.net, x, y)
        self.opt.set_curvature(h)
        return h, self.opt.curvature

    def step(self, x: np.ndarray, y: np.ndarray, lr: float) -> float:
        loss, grads = self.net.loss_and_grads(x, y)
        if isinstance(self.opt, SDLM):
            self.opt.step(grads, lr, batch_size=len(x))
        else:
            self.opt.step(grads, lr)
        return float(loss)


class TorchRunner:
    """``lenet_ref.torch.LeNet5`` in float32 with torch.optim, on the GPU where there is one."""

    def __init__(self, config: TrainConfig, options: dict, optimizer: str):
        import torch

        from .torch import LeNet5

        self.torch = torch
        self.net = LeNet5(seed=config.seed, device=config.device, **options)
        if optimizer == "sgd":
            self.opt = torch.optim.SGD(self.net.parameters(), lr=1.0, momentum=config.momentum)
        elif optimizer == "adam":
            self.opt = torch.optim.Adam(self.net.parameters(), lr=1.0)
        else:
            from .torch.sdlm import SDLM as TorchSDLM

            self.opt = TorchSDLM(self.net.parameters(), lr=1.0, mu=config.mu,
                                 keep=config.curvature_keep)
        self.sdlm = optimizer == "sdlm"
        self.device = str(self.net.device)

    def estimate_curvature(self, x: np.ndarray, y: np.ndarray) -> tuple[dict, dict]:
        """As ``NumpyRunner.estimate_curvature``."""
        from .torch.sdlm import curvature

        h = curvature(self.net, x, y)
        params = dict(self.net.named_parameters())
        self.opt.set_curvature({params[name]: h[name] for name in params})
        return h, {name: self.opt.state[p]["curvature"] for name, p in params.items()}

    def step(self, x: np.ndarray, y: np.ndarray, lr: float) -> float:
        xb = self.torch.as_tensor(x).to(self.net.device, non_blocking=True)
        yb = self.torch.as_tensor(y).to(self.net.device, non_blocking=True)
        for group in self.opt.param_groups:
            group["lr"] = lr
        self.opt.zero_grad(set_to_none=True)
        loss = self.net.loss(self.net(xb), yb)
        loss.backward()
        if self.sdlm:
            self.opt.step(batch_size=len(x))
        else:
            self.opt.step()
        return loss.item()


def train(config: TrainConfig, data=None):
    """Train, evaluate on the test set after every epoch, write ``metrics.json`` and
    ``checkpoint.npz`` to ``config.out`` (if set); return ``(net, metrics)``.

    ``data``: ``((x_train, y_train), (x_test, y_test))`` as ``load_mnist`` returns them;
    loaded from the cache when omitted.
    """
    options, net_spec = config.network()
    optimizer = config.optimizer or net_spec.optimizer
    base_lr = config.lr if config.lr is not None else net_spec.lr
    if config.lr is None and optimizer == "sdlm" and net_spec.optimizer != "sdlm":
        base_lr = SDLM_LR  # the network's rate is another optimiser's
    check_keep(config.curvature_keep)
    if optimizer != "sdlm" and config.curvature_keep != "latest":
        raise ValueError(f"curvature_keep={config.curvature_keep!r} is an option of sdlm; the "
                         f"optimiser here is {optimizer!r}")  # fmt: skip
    if optimizer == "sdlm" and config.curvature_patterns < 1:
        raise ValueError(f"curvature_patterns must be at least 1; got {config.curvature_patterns}")
    if config.impl not in ("numpy", "torch"):
        raise ValueError(f"impl must be 'numpy' or 'torch'; got {config.impl!r}")
    runner = (NumpyRunner if config.impl == "numpy" else TorchRunner)(config, options, optimizer)

    (x_train, y_train), (x_test, y_test) = data if data is not None else load_mnist()
    x_train, y_train = x_train[: config.limit], y_train[: config.limit]
    size = net_spec.input_size
    x_test, y_test = to_lenet_input(x_test[: config.test_limit], size), y_test[: config.test_limit]
    inputs = None if config.distort else to_lenet_input(x_train, size)  # converted once
    rng = np.random.default_rng(config.seed)  # the batch order and the distortions
    run = {"lr": base_lr, "optimizer": optimizer, **options}
    metrics = {
        "config": asdict(config),
        "run": run,
        "device": runner.device,
        "epochs": [],
        **_provenance(),
    }

    for epoch in range(1, config.epochs + 1):
        lr = lr_at(epoch, base_lr)
        order = rng.permutation(len(x_train))
        batches = [
            order[i : i + config.batch_size] for i in range(0, len(order), config.batch_size)
        ]
        start, losses = time.perf_counter(), []
        bar = tqdm(batches, desc=f"epoch {epoch}/{config.epochs}", unit="batch",
                   disable=not config.progress, leave=False)  # fmt: skip
        if config.distort:  # a fresh distortion of every image, every epoch
            inputs = to_lenet_input(random_affine(x_train, rng), size)
        curvature = estimate = None
        if optimizer == "sdlm":  # Sec. III.B: re-estimated on 500 patterns before each pass
            count = min(config.curvature_patterns, len(x_train))
            sample = np.sort(rng.choice(len(x_train), size=count, replace=False))
            h, used = runner.estimate_curvature(inputs[sample], y_train[sample])
            curvature = curvature_summary(used, config.mu)
            if config.curvature_keep != "latest":
                estimate = curvature_summary(h, config.mu)
        for idx in bar:
            loss = runner.step(inputs[idx], y_train[idx], lr)
            if not np.isfinite(loss):
                raise FloatingPointError(
                    f"the loss became {loss} in epoch {epoch}: the learning rate ({lr:g}) is "
                    "too large for this network; try a smaller --lr"
                )
            losses.append(loss)
            if len(losses) % 50 == 0:
                bar.set_postfix(loss=f"{np.mean(losses[-50:]):.4g}")
        seconds = time.perf_counter() - start
        test_error = float(np.mean(runner.net.predict(x_test) != y_test))
        row = {"epoch": epoch, "lr": lr, "train_loss": float(np.mean(losses)),
               "test_error": test_error, "seconds": seconds}  # fmt: skip
        if curvature is not None:  # the curvature this pass's steps were taken with
            row["curvature"] = curvature
        if estimate is not None:  # and the pass's own estimate, where they differ
            row["curvature_estimate"] = estimate
        if config.train_error:  # on the undistorted training images, after the pass
            train_inputs = inputs if not config.distort else to_lenet_input(x_train, size)
            row["train_error"] = float(np.mean(runner.net.predict(train_inputs) != y_train))
        metrics["epochs"].append(row)
        if config.out:  # after every epoch, so that a stopped run keeps its record
            Path(config.out).mkdir(parents=True, exist_ok=True)
            _write_json(Path(config.out) / "metrics.json", {**metrics, "complete": False})
        if config.verbose:
            tqdm.write(f"epoch {epoch:>2}/{config.epochs}  lr {lr:.2e}  train loss {row['train_loss']:.4f}  "
                       f"test error {100 * test_error:.2f} %  ({seconds:.1f} s)")  # fmt: skip
    metrics["test_error"] = metrics["epochs"][-1]["test_error"] if metrics["epochs"] else None
    metrics["complete"] = True
    if config.out:
        out = Path(config.out)
        save_checkpoint(out / "checkpoint.npz", runner.net.state_dict(), options,
                        impl=config.impl, test_error=metrics["test_error"])  # fmt: skip
        _write_json(out / "metrics.json", metrics)
    return runner.net, metrics


def _provenance() -> dict:
    """What reproduces a run: the command, the commit, the versions and the machine."""
    as_module = Path(sys.argv[0]).parent.name == "lenet_ref"  # python -m lenet_ref ...
    argv = ["python", "-m", "lenet_ref", *sys.argv[1:]] if as_module else sys.argv
    return {
        "command": " ".join(argv),
        "commit": _git_commit(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "torch": sys.modules["torch"].__version__ if "torch" in sys.modules else None,
        "machine": platform.machine(),
        "processor": _cpu_name(),
        "cpus": os.cpu_count(),
        "threads": sys.modules["torch"].get_num_threads() if "torch" in sys.modules else None,
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


# the parts of the package that training never imports (edited by others meanwhile)
_NOT_TRAINING = (":(exclude)lenet_ref/grading",)


def _git_commit() -> str | None:
    """HEAD of the repository holding this package, with "+dirty" when the package's
    training code has uncommitted changes; None outside a git checkout."""
    root = Path(__file__).resolve().parents[1]
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                              text=True, timeout=10, check=True).stdout.strip()  # fmt: skip
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "lenet_ref", *_NOT_TRAINING],
                               cwd=root, capture_output=True, text=True, timeout=10).stdout  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    return head + ("+dirty" if dirty.strip() else "")


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _write_json(path: Path, obj) -> None:
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(obj, indent=2))
    os.replace(tmp, path)
