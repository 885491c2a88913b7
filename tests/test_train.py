"""Training on the real MNIST: the loop, the schedule, checkpoints, and the command line."""

import json
import subprocess
import sys

import numpy as np
import pytest

from lenet_ref import spec
from lenet_ref.checkpoint import load_checkpoint, save_checkpoint
from lenet_ref.numpy import LeNet5
from lenet_ref.testing import rel_error
from lenet_ref.train import TrainConfig, lr_at, train

torch = pytest.importorskip("torch")
from lenet_ref.torch import LeNet5 as TorchLeNet5  # noqa: E402

# The stated error of a short run: one epoch on the first 20,000 training images with the
# default settings, tested on the first 2,000 test images. Both networks measured 5.6 %
# (`python -m lenet_ref train --impl numpy --epochs 1 --limit 20000 --test-limit 2000`);
# a network that does not learn stays near 90 %.
SHORT_RUN = {"epochs": 1, "limit": 20_000, "test_limit": 2_000, "progress": False, "verbose": False}
SHORT_RUN_MAX_ERROR = 0.07


def test_schedule_has_the_papers_shape():
    rates = [lr_at(e, 1.0) for e in range(1, 21)]
    assert rates[:2] == [1.0, 1.0] and rates[2:5] == [0.4] * 3 and rates[5:8] == [0.2] * 3
    assert rates[8:12] == [0.1] * 4 and rates[12:] == [0.02] * 8


@pytest.mark.parametrize("impl", ["numpy", "torch"])
def test_short_run_on_real_mnist_reaches_the_stated_error(impl, mnist, tmp_path):
    net, metrics = train(
        TrainConfig(impl=impl, device="cpu", out=str(tmp_path), **SHORT_RUN), data=mnist
    )
    assert metrics["test_error"] < SHORT_RUN_MAX_ERROR, metrics["epochs"]
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert saved["test_error"] == metrics["test_error"] and saved["config"]["impl"] == impl
    assert (tmp_path / "checkpoint.npz").is_file()


def test_both_implementations_take_the_same_steps(mnist):
    """Same seed, same batches, same update rule: after 30 steps in float32 the weights
    of the two networks still agree closely (they would not with another batch order,
    initialisation or momentum formula)."""
    run = {
        "epochs": 1,
        "limit": 30 * 32,
        "test_limit": 100,
        "progress": False,
        "verbose": False,
        "out": None,
    }
    numpy_net, _ = train(TrainConfig(impl="numpy", **run), data=mnist)
    torch_net, _ = train(TrainConfig(impl="torch", device="cpu", **run), data=mnist)
    start = LeNet5(seed=0).params
    assert rel_error(numpy_net.params["F6.weight"], start["F6.weight"]) > 1e-2, (
        "training did not move"
    )
    for k, v in numpy_net.params.items():
        other = torch_net.state_dict()[k].numpy()
        assert np.linalg.norm(v - other) < 1e-3 * np.linalg.norm(v), k


def test_checkpoint_moves_between_implementations(tmp_path, digits):
    x, _ = digits
    net = LeNet5(seed=4, head="softmax", c3="full")
    path = save_checkpoint(tmp_path / "ck.npz", net.state_dict(), net.options, epoch=3)
    options, state, meta = load_checkpoint(path)
    assert options == net.options and meta["epoch"] == 3
    twin = TorchLeNet5(device="cpu", dtype=torch.float64, **options)
    twin.load_state_dict(state)
    np.testing.assert_array_equal(twin.predict(x), net.predict(x))
    back = LeNet5(**options)
    back.load_state_dict(twin.state_dict())
    np.testing.assert_array_equal(back.forward(x), net.forward(x))


def test_broken_checkpoint_is_a_clear_error(tmp_path):
    path = save_checkpoint(tmp_path / "ck.npz", LeNet5().state_dict(), LeNet5().options)
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(ValueError, match="not a readable lenet_ref checkpoint"):
        load_checkpoint(path)
    with pytest.raises(FileNotFoundError, match="python -m lenet_ref train"):
        load_checkpoint(tmp_path / "none.npz")


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the overflow is the point
@pytest.mark.parametrize("impl", ["numpy", "torch"])
def test_diverging_run_says_what_to_do(impl, mnist):
    # ReLU does not saturate: with an absurd learning rate the loss overflows at once
    with pytest.raises(FloatingPointError, match="smaller --lr"):
        train(TrainConfig(impl=impl, device="cpu", lr=1e8, epochs=1, limit=640, test_limit=10,
                          progress=False, verbose=False, out=None, **spec.MODERN_OPTIONS), data=mnist)  # fmt: skip


def run_cli(*args, **kwargs):
    return subprocess.run(
        [sys.executable, "-m", "lenet_ref", *args], capture_output=True, text=True, **kwargs
    )


def test_cli_train_writes_metrics_and_a_checkpoint(tmp_path):
    done = run_cli("train", "--impl", "torch", "--device", "cpu", "--epochs", "1", "--limit", "2000",
                   "--test-limit", "500", "--out", str(tmp_path), "--no-progress")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "test error" in done.stdout
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["config"]["limit"] == 2000 and len(metrics["epochs"]) == 1
    options, state, _ = load_checkpoint(tmp_path / "checkpoint.npz")
    LeNet5(**options).load_state_dict(state)


def test_cli_count_and_bad_flags():
    done = run_cli("count")
    assert done.returncode == 0 and "60,000" in done.stdout and "340,908" in done.stdout
    done = run_cli("count", "--c3", "full")
    assert "2,416" in done.stdout
    done = run_cli("train", "--pool", "median")
    assert done.returncode == 2 and "invalid choice" in done.stderr


def test_distorted_training_is_reproducible_and_learns(mnist):
    # the modern preset learns fastest from few images (8.5 % undistorted after 5,000:
    # `python -m lenet_ref compare --limit 5000 --test-limit 1000`); the paper's network
    # needs more steps to get going
    run = {"impl": "torch", "device": "cpu", "distort": True, "epochs": 1, "limit": 5_000, "preset": "modern",
           "test_limit": 1_000, "progress": False, "verbose": False, "out": None}  # fmt: skip
    _, first = train(TrainConfig(**run), data=mnist)
    _, again = train(TrainConfig(**run), data=mnist)
    _, plain = train(TrainConfig(**{**run, "distort": False}), data=mnist)
    assert first["epochs"][0]["train_loss"] == again["epochs"][0]["train_loss"]
    assert first["epochs"][0]["train_loss"] != plain["epochs"][0]["train_loss"]
    assert first["test_error"] < 0.3  # it learns from distorted digits (chance: 0.9)


def test_cli_reports_a_missing_gpu_without_a_traceback():
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    done = run_cli("train", "--device", "cuda", "--epochs", "1", "--limit", "64", "--no-progress")
    assert done.returncode == 2
    assert "no CUDA GPU" in done.stderr and "Traceback" not in done.stderr
