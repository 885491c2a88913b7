"""Chapter 5, the full LeNet-5: the forward pass assembled from the layers, the loss of
Eq. (9) and its gradient, the backward pass, one SGD step, and a short training run on
real MNIST that must reach ``TRAIN_MAX_ERROR``.

The layer functions of ``lenet_ref.numpy`` are given in this chapter (chapters 1-3 wrote
them): in the class grader's sandbox the kernel holds those and ``lenet_ref.spec``, not the
model, the loss or the optimiser (``nbgrader_config.py``, ``GradeClass.kernel_modules``).
"""

from __future__ import annotations

import contextlib
import time

import numpy as np

from .. import numpy as ref
from ..data import load_mnist_subset, to_lenet_input
from . import behaviour, expect
from .guard import call
from .oracles import fresh_rng, numeric_grad

# The training check: TRAIN_IMAGES training images, TRAIN_EPOCHS passes, then the error on
# the first TEST_IMAGES test images. Measured with the course's solution, seed 0: see
# tests/test_exercises.py and the note in solutions/ch5_lenet5.
# Plain SGD (no momentum) on the RBF loss diverges at lr 0.02 with batches of 16 or 32.
# Measured with the course's solution (lr 0.01, batches of 16): 14 % after 6,000 images,
# 16-21 % after 4,000 (shuffling seeds 0 and 1), against 90 % before training.
TRAIN_IMAGES, TRAIN_EPOCHS, TEST_IMAGES = 5000, 1, 2000
TRAIN_LR, TRAIN_BATCH = 0.01, 16
TRAIN_MAX_ERROR = 0.25


def _net(seed):
    return ref.LeNet5(seed=seed)


def _images(rng, n):
    """Inputs like the network's: background -0.1, ink up to 1.175, with random strokes."""
    return rng.uniform(-0.1, 1.175, size=(n, 1, 32, 32))


# --- lenet5_forward(x, params) -> (penalties, caches) --------------------------------------


def _forward(answer, x, net):
    got = call(answer, x, dict(net.params), name="lenet5_forward")
    if not (isinstance(got, tuple) and len(got) == 2):
        raise AssertionError("lenet5_forward should return a pair (penalties, caches)")
    expect.close(f"lenet5_forward's penalties for x {x.shape}", got[0], net.forward(x), tol=1e-6)
    return got


@behaviour("lenet5_forward", "penalties")
def _(answer):
    """Two images through the network with the weights of seed 0."""
    _forward(answer, _images(fresh_rng(hidden=False), 2), _net(0))


@behaviour("lenet5_forward", "random")
def _(answer):
    """Other weights and batch sizes, against lenet_ref in NumPy and in PyTorch."""
    import torch

    from ..torch import LeNet5 as TorchLeNet5

    rng = fresh_rng(hidden=True)
    for n in (1, 5):
        net = _net(int(rng.integers(1, 10**6)))
        x = _images(rng, n)
        penalties, _ = _forward(answer, x, net)
        twin = TorchLeNet5(dtype=torch.float64, device="cpu")
        twin.load_state_dict(net.params)
        with torch.no_grad():
            expect.close("lenet5_forward's penalties, compared with PyTorch", penalties,
                         twin(torch.from_numpy(x)).numpy(), tol=1e-6)  # fmt: skip


# --- rbf_loss(penalties, y, j=0.1) -> (loss, dpenalties) -----------------------------------


def _loss(answer, penalties, y, keys=("loss", "dpenalties"), j=0.1):
    got = call(answer, penalties, y, j=j, name="rbf_loss")
    if not (isinstance(got, tuple) and len(got) == 2):
        raise AssertionError("rbf_loss should return a pair (loss, dpenalties)")
    loss, dpen = ref.rbf_loss(penalties, y, j=j)
    N = len(y)
    rows = np.arange(N)
    ce_loss, ce_grad = ref.softmax_cross_entropy(-penalties, y)
    what = f"rbf_loss for penalties {penalties.shape}, j={j}"
    if "loss" in keys:
        expect.close(what + ": the loss", got[0], loss, mistakes={
            "the exp(-j) term left out (that is softmax cross-entropy of -penalties)": ce_loss,
            "the sum over the batch instead of the mean": loss * N,
            "only the penalty of the correct class (the competitive term left out)":
                penalties[rows, y].mean(),
        })  # fmt: skip
    if "dpenalties" in keys:
        only_first = np.zeros_like(dpen)
        only_first[rows, y] = 1 / N
        expect.close(what + ": dpenalties", got[1], dpen, mistakes={
            "the gradient of the exp(-j) term left out": -ce_grad,
            "the gradient not divided by the batch size": dpen * N,
            "only the gradient of the correct class's penalty": only_first,
        })  # fmt: skip
        expect.close(what + ": dpenalties, against a numerical gradient", got[1],
                     numeric_grad(lambda p: np.array(ref.rbf_loss(p, y, j=j)[0]), penalties, 1.0),
                     tol=1e-6, atol=1e-6)  # fmt: skip


def _penalties(rng, n):
    return rng.uniform(0, 150, size=(n, 10)), rng.integers(0, 10, size=n)


@behaviour("rbf_loss", "example")
def _(answer):
    """A batch of 3."""
    _loss(answer, *_penalties(fresh_rng(hidden=False), 3))


@behaviour("rbf_loss", "loss")
def _(answer):
    """Random batches, penalties large and small, other j."""
    rng = fresh_rng(hidden=True)
    for n, j in [(1, 0.1), (7, 0.1), (16, 2.0)]:
        _loss(answer, *_penalties(rng, n), keys=("loss",), j=j)


@behaviour("rbf_loss", "gradient")
def _(answer):
    """dpenalties on random batches, against lenet_ref and a numerical gradient."""
    rng = fresh_rng(hidden=True)
    for n, j in [(2, 0.1), (9, 1.0)]:
        _loss(answer, *_penalties(rng, n), keys=("dpenalties",), j=j)


# --- lenet5_backward(dpenalties, caches) -> grads (a dict keyed like params) ----------------


def _backward(forward, backward, rng, seed, n, keys=None):
    net, x = _net(seed), _images(rng, n)
    y = rng.integers(0, 10, size=n)
    _, expected = net.loss_and_grads(x, y)
    _, caches = call(forward, x, dict(net.params), name="lenet5_forward", refs=(1,))
    _, dpen = ref.rbf_loss(net.forward(x), y)
    grads = call(backward, dpen, caches, name="lenet5_backward")
    if not isinstance(grads, dict):
        raise AssertionError(f"lenet5_backward should return a dict of gradients, keyed like params; "
                             f"got a {type(grads).__name__}")  # fmt: skip
    missing = sorted(set(expected) - set(grads))
    if missing:
        raise AssertionError(f"lenet5_backward's gradients lack {', '.join(missing)}")
    for key in keys or expected:
        expect.close(f"lenet5_backward's gradient of {key} for {n} images", grads[key],
                     expected[key], tol=1e-6)  # fmt: skip


@behaviour("lenet5_backward", "gradients")
def _(forward, backward):
    """Every parameter's gradient for two images, against the reference backward pass."""
    _backward(forward, backward, fresh_rng(hidden=False), 0, 2)


@behaviour("lenet5_backward", "random")
def _(forward, backward):
    """Other weights and batches."""
    rng = fresh_rng(hidden=True)
    _backward(forward, backward, rng, int(rng.integers(1, 10**6)), 4)


@behaviour("lenet5_backward", "c3_packed")
def _(forward, backward):
    """The C3 gradient comes back packed, one 5x5 kernel per connection of Table I (60, 5, 5)."""
    rng = fresh_rng(hidden=True)
    _backward(forward, backward, rng, int(rng.integers(1, 10**6)), 3, keys=("C3.weight",))


# --- sgd_step(params, grads, lr) -> new params ------------------------------------------------


@behaviour("sgd_step", "one_step")
def _(answer):
    """params - lr * grads, for every parameter, the given dicts left unchanged."""
    rng = fresh_rng(hidden=False)
    params = {k: v.copy() for k, v in _net(0).params.items()}
    grads = {k: rng.standard_normal(v.shape) for k, v in params.items()}
    got = call(answer, params, grads, 0.01, name="sgd_step")
    if not isinstance(got, dict) or set(got) != set(params):
        raise AssertionError("sgd_step should return a dict with the same keys as params")
    for key in params:
        expect.close(f"sgd_step's {key}", got[key], params[key] - 0.01 * grads[key], mistakes={
            "a step up the gradient (+ instead of -)": params[key] + 0.01 * grads[key]})


# --- train(params, x, y, lr, batch_size, num_epochs, seed) -> params ----------------------------


@behaviour("train", "mnist")
def _(answer):
    """TRAIN_EPOCHS pass over TRAIN_IMAGES MNIST training images, then at most
    TRAIN_MAX_ERROR test error on the first TEST_IMAGES test images."""
    # the package's own subset of MNIST: no download in a student's kernel
    (x_train, y_train), (x_test, y_test) = load_mnist_subset(TRAIN_IMAGES, TEST_IMAGES)
    x = to_lenet_input(x_train[:TRAIN_IMAGES])
    y = y_train[:TRAIN_IMAGES]
    net = _net(0)
    started = time.perf_counter()
    with _one_blas_thread():  # steadier and, on a busy machine, faster (17-74 s without)
        got = call(answer, dict(net.params), x, y, lr=TRAIN_LR, batch_size=TRAIN_BATCH,
                   num_epochs=TRAIN_EPOCHS, seed=0, name="train")  # fmt: skip
    seconds = time.perf_counter() - started
    if not isinstance(got, dict) or set(got) != set(net.params):
        raise AssertionError("train should return the trained params, a dict keyed like params")
    net.load_state_dict(got)
    error = float(np.mean(net.predict(to_lenet_input(x_test[:TEST_IMAGES])) != y_test[:TEST_IMAGES]))
    if not error <= TRAIN_MAX_ERROR:
        raise AssertionError(
            f"after training, the test error on {TEST_IMAGES} images is {error:.1%}; it should be "
            f"at most {TRAIN_MAX_ERROR:.0%}. Check that each step uses a new batch, that the "
            "step goes down the gradient, and that train returns the updated params."
        )
    return f"test error {error:.1%} after {TRAIN_IMAGES:,} images, trained in {seconds:.0f} s"


@contextlib.contextmanager
def _one_blas_thread():
    """One BLAS thread for the student's training, where this process runs it (a student's
    own kernel); in the class grader the sandboxed kernel already has one."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield
