"""Chapter 2, pooling and subsampling: max pooling forward and backward (ties as the
reference and PyTorch break them), average pooling, and LeCun's trainable subsampling
forward and backward."""

from __future__ import annotations

import numpy as np

from ..numpy import (
    avgpool_backward,
    avgpool_forward,
    maxpool_backward,
    maxpool_forward,
    subsample_backward,
    subsample_forward,
)
from . import backward_behaviours, behaviour, expect, pairs
from .guard import call
from .oracles import fresh_rng, torch_pool

EXAMPLE = np.array([[10, 15, 80, 12],
                    [18, 30, 11, 20],
                    [11, 19, 48, 51],
                    [30, 31, 45, 59]], dtype=np.float64)[None, None]  # fmt: skip
EXAMPLE_DOUT = np.array([[1.0, 2.0], [3.0, 4.0]])[None, None]
HIDDEN_SHAPES = [((2, 3, 6, 6), 2), ((1, 2, 9, 6), 3), ((3, 1, 4, 8), 2)]


def _pool_mistakes(x, size):
    N, C, H, W = x.shape
    win = x.reshape(N, C, H // size, size, W // size, size)
    return {"the minimum taken instead of the maximum": win.min(axis=(3, 5)),
            "the average taken instead of the maximum": win.mean(axis=(3, 5)),
            "the window sum instead of the average": win.sum(axis=(3, 5))}  # fmt: skip


# --- maxpool_forward(x, size=2) -> (out, cache) and maxpool_backward(dout, cache) -> dx --


@behaviour("maxpool_forward", "example")
def _(answer):
    """The chapter's 4x4 example: 30 80 / 31 59."""
    pairs.forward(answer, "maxpool_forward", {"x": EXAMPLE}, maxpool_forward,
                  mistakes=_pool_mistakes(EXAMPLE, 2), size=2)  # fmt: skip


@behaviour("maxpool_forward", "random")
def _(answer):
    """Random batches, maps and window sizes 2 and 3, against lenet_ref and PyTorch."""
    rng = fresh_rng(hidden=True)
    for shape, size in HIDDEN_SHAPES:
        x = rng.standard_normal(shape)
        pairs.forward(answer, "maxpool_forward", {"x": x}, maxpool_forward,
                      mistakes=_pool_mistakes(x, size),
                      torch_out=torch_pool("max", x, size)[0],
                      size=size)  # fmt: skip


def _max_backward(fwd, bwd, x, dout, size, torch_too):
    mistakes = {"dx": {"the gradient spread evenly over the window (that is average pooling)":
                       avgpool_backward(dout, avgpool_forward(x, size)[1]) * size * size,
                       "a quarter of the gradient spread over the window":
                       avgpool_backward(dout, avgpool_forward(x, size)[1])}}  # fmt: skip
    pairs.backward(fwd, bwd, ("maxpool_forward", "maxpool_backward"), {"x": x},
                   maxpool_forward, maxpool_backward, dout, mistakes=mistakes,
                   torch_grads=torch_pool("max", x, size, dout)[1] if torch_too else None,
                   size=size)  # fmt: skip


@behaviour("maxpool_backward", "example")
def _(fwd, bwd):
    """The chapter's example: each window's gradient lands on its maximum."""
    _max_backward(fwd, bwd, EXAMPLE, EXAMPLE_DOUT, 2, torch_too=False)


@behaviour("maxpool_backward", "ties")
def _(fwd, bwd):
    """A window holding its maximum twice: the whole gradient goes to the first maximum in
    row-major order, as lenet_ref and PyTorch do."""
    x = np.array([[7.0, 7.0, 1.0, 2.0],
                  [3.0, 7.0, 2.0, 2.0]])[None, None]  # fmt: skip
    dout = np.array([[1.5, -2.0]])[None, None]
    _, cache = call(fwd, x, name="maxpool_forward", refs=(1,), size=2)
    got = call(bwd, dout, cache, name="maxpool_backward")
    expected = maxpool_backward(dout, maxpool_forward(x, 2)[1])
    all_tied = np.array([[1.5, 1.5, 0, -2.0], [0, 1.5, -2.0, -2.0]])[None, None]
    expect.close("maxpool_backward's dx for windows with tied maxima", got, expected,
                 mistakes={"the gradient given to every tied maximum": all_tied})  # fmt: skip


@behaviour("maxpool_backward", "random")
def _(fwd, bwd):
    """Random shapes and sizes, against lenet_ref, PyTorch and a numerical gradient."""
    rng = fresh_rng(hidden=True)
    for shape, size in HIDDEN_SHAPES:
        x = rng.standard_normal(shape)  # continuous values: no ties, no kinks
        dout = rng.standard_normal((*shape[:2], shape[2] // size, shape[3] // size))
        _max_backward(fwd, bwd, x, dout, size, torch_too=True)


# --- avgpool_forward(x, size=2) -> (out, cache) ----------------------------------------


@behaviour("avgpool_forward", "example")
def _(answer):
    """The chapter's 4x4 example."""
    pairs.forward(answer, "avgpool_forward", {"x": EXAMPLE}, avgpool_forward,
                  mistakes=_pool_mistakes(EXAMPLE, 2), size=2)  # fmt: skip


@behaviour("avgpool_forward", "random")
def _(answer):
    """Random shapes and sizes, against lenet_ref and PyTorch."""
    rng = fresh_rng(hidden=True)
    for shape, size in HIDDEN_SHAPES:
        x = rng.standard_normal(shape)
        pairs.forward(answer, "avgpool_forward", {"x": x}, avgpool_forward,
                      mistakes=_pool_mistakes(x, size),
                      torch_out=torch_pool("avg", x, size)[0], size=size)  # fmt: skip


# --- subsample_forward(x, coef, bias, size=2) -> (out, cache) --------------------------
# --- subsample_backward(dout, cache) -> (dx, dcoef, dbias) ------------------------------


def _subsample_args(rng, shape):
    C = shape[1]
    return {"x": rng.standard_normal(shape), "coef": rng.standard_normal(C),
            "bias": rng.standard_normal(C)}  # fmt: skip


def _subsample_forward(answer, args, size):
    x, coef, bias = args.values()
    N, C, H, W = x.shape
    sums = x.reshape(N, C, H // size, size, W // size, size).sum(axis=(3, 5))
    c, b = coef[:, None, None], bias[:, None, None]
    pairs.forward(answer, "subsample_forward", args, subsample_forward, mistakes={
        "the window average instead of its sum": c * sums / size**2 + b,
        "the bias left out": c * sums,
        "the bias added before multiplying by the coefficient": c * (sums + b),
        "the squashing function applied (it is a separate layer here)":
            1.7159 * np.tanh(2 / 3 * (c * sums + b)),
    }, size=size)  # fmt: skip


@behaviour("subsample_forward", "example")
def _(answer):
    """The chapter's example with coefficient 0.5 and bias 1."""
    _subsample_forward(answer, {"x": EXAMPLE, "coef": np.array([0.5]), "bias": np.array([1.0])}, 2)


@behaviour("subsample_forward", "random")
def _(answer):
    """Random shapes, coefficients and biases, one per map."""
    rng = fresh_rng(hidden=True)
    for shape, size in HIDDEN_SHAPES:
        _subsample_forward(answer, _subsample_args(rng, shape), size)


def _subsample_backward(fwd, bwd, hidden, keys=None):
    rng = fresh_rng(hidden)
    for shape, size in HIDDEN_SHAPES if hidden else [((2, 3, 4, 4), 2)]:
        args = _subsample_args(rng, shape)
        x, coef, _ = args.values()
        dout = rng.standard_normal((*shape[:2], shape[2] // size, shape[3] // size))
        ref_dx = subsample_backward(dout, subsample_forward(*args.values(), size=size)[1])[0]
        mistakes = {"dx": {"the coefficient left out of dx": ref_dx / coef[:, None, None]},
                    "dbias": {"the bias gradient not summed over the batch": dout[0].sum(axis=(1, 2))},
                    "dcoef": {"dcoef taken as the sum of dout (the bias's gradient)":
                              dout.sum(axis=(0, 2, 3))}}  # fmt: skip
        pairs.backward(fwd, bwd, ("subsample_forward", "subsample_backward"), args,
                       subsample_forward, subsample_backward, dout, keys=keys,
                       mistakes=mistakes, size=size)  # fmt: skip


backward_behaviours("subsample_backward", _subsample_backward, ("dx", "dcoef", "dbias"),
                    "lenet_ref and a numerical gradient")
