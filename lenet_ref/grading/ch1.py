"""Chapter 1, convolution: the output size, a single-channel cross-correlation, the batched
multi-channel forward pass and its backward pass."""

from __future__ import annotations

import numpy as np

from ..numpy import conv_backward, conv_forward
from . import backward_behaviours, behaviour, expect, pairs
from .guard import call
from .oracles import fresh_rng, torch_conv


def _size(H, K, pad=0, stride=1):
    return (H + 2 * pad - K) // stride + 1


# --- conv_output_size(H, K, pad=0, stride=1) -----------------------------------------


def _sizes(answer, cases):
    for H, K, pad, stride in cases:
        got = call(answer, H, K, pad=pad, stride=stride)
        expect.equal(f"conv_output_size(H={H}, K={K}, pad={pad}, stride={stride})",
                     got, _size(H, K, pad, stride), mistakes={
                         "H - K (one too few: count the first position too)": H + 2 * pad - K,
                         "the padding forgotten": (H - K) // stride + 1,
                         "the padding added on one side only": (H + pad - K) // stride + 1,
                         "the stride forgotten": H + 2 * pad - K + 1,
                         "dividing by the stride without rounding down": (H + 2 * pad - K) / stride + 1,
                     })  # fmt: skip


@behaviour("conv_output_size", "lenet")
def _(answer):
    """The sizes in LeNet-5: C1 32 -> 28, C3 14 -> 10, C5 5 -> 1."""
    _sizes(answer, [(32, 5, 0, 1), (14, 5, 0, 1), (5, 5, 0, 1)])


@behaviour("conv_output_size", "padding")
def _(answer):
    """Zero padding on each side: a 28x28 MNIST digit padded by 2 gives C1's 28x28 maps."""
    _sizes(answer, [(28, 5, 2, 1), (7, 3, 1, 1), (10, 3, 3, 1)])


@behaviour("conv_output_size", "stride")
def _(answer):
    """Strides, where the last window may not fit (round down)."""
    _sizes(answer, [(32, 5, 0, 2), (28, 4, 0, 2), (9, 3, 1, 3), (227, 11, 0, 4)])


# --- correlate2d(image, kernel) -> (H - K + 1, W - L + 1) ----------------------------

def _correlate_ref(image, kernel):
    out, _ = conv_forward(image[None, None], kernel[None, None], np.zeros(1))
    return out[0, 0]


def _correlate(answer, image, kernel):
    got = call(answer, image, kernel, name="correlate2d")
    expected = _correlate_ref(image, kernel)
    what = f"correlate2d of a {image.shape} image with a {kernel.shape} kernel"
    expect.close(what, got, expected, mistakes={
        "the kernel flipped (that is true convolution; the paper's is cross-correlation)":
            _correlate_ref(image, kernel[::-1, ::-1]),
        "the kernel transposed (rows and columns swapped)": _correlate_ref(image, kernel.T)
            if kernel.shape[0] == kernel.shape[1] else None,
    })  # fmt: skip


@behaviour("correlate2d", "example")
def _(answer):
    """The 4x4 example of the chapter with its 2x2 kernel."""
    image = np.array([[1, 2, 0, 3], [4, 1, 2, 1], [0, 3, 1, 0], [2, 1, 4, 2]], dtype=np.float64)
    _correlate(answer, image, np.array([[1.0, 0.0], [2.0, -1.0]]))


@behaviour("correlate2d", "random")
def _(answer):
    """Random images and kernels, square and not, against lenet_ref and PyTorch."""
    rng = fresh_rng(hidden=True)
    for (H, W), (K, L) in [((6, 6), (3, 3)), ((7, 5), (2, 4)), ((8, 9), (5, 5)), ((4, 4), (4, 4))]:
        image, kernel = rng.standard_normal((H, W)), rng.standard_normal((K, L))
        _correlate(answer, image, kernel)
        got = call(answer, image, kernel, name="correlate2d")
        out, _ = torch_conv(image[None, None], kernel[None, None], np.zeros(1))
        expect.close("correlate2d, compared with torch.nn.functional.conv2d", got, out[0, 0])


# --- conv_forward(x, w, b) -> (out, cache) --------------------------------------------

def _forward(answer, x, w, b, torch_too=False):
    pairs.forward(answer, "conv_forward", {"x": x, "w": w, "b": b}, conv_forward, mistakes={
        "the bias left out": conv_forward(x, w, np.zeros_like(b))[0],
        "the kernels flipped (true convolution)": conv_forward(x, w[:, :, ::-1, ::-1], b)[0],
        "only the first input map read, not the sum over all of them":
            conv_forward(x[:, :1], w[:, :1], b)[0],
    }, torch_out=torch_conv(x, w, b)[0] if torch_too else None)  # fmt: skip


@behaviour("conv_forward", "shape")
def _(answer):
    """The output shape (N, F, H - K + 1, W - K + 1)."""
    rng = fresh_rng(hidden=False)
    x, w, b = rng.standard_normal((2, 3, 7, 6)), rng.standard_normal((4, 3, 3, 2)), np.zeros(4)
    got = call(answer, x, w, b, name="conv_forward")
    if not (isinstance(got, tuple) and len(got) == 2):
        raise AssertionError("conv_forward should return a pair (out, cache)")
    expect.same_shape("conv_forward's out for x (2, 3, 7, 6) and w (4, 3, 3, 2)", got[0], (2, 4, 5, 5))


@behaviour("conv_forward", "one_map")
def _(answer):
    """One image, one input map, one output map, with a bias."""
    rng = fresh_rng(hidden=False)
    x, w = rng.standard_normal((1, 1, 5, 5)), rng.standard_normal((1, 1, 3, 3))
    _forward(answer, x, w, np.array([0.5]))


@behaviour("conv_forward", "maps_and_batch")
def _(answer):
    """Several images, input maps and output maps, random shapes, against lenet_ref and PyTorch."""
    rng = fresh_rng(hidden=True)
    for shape_x, shape_w in [((2, 3, 8, 8), (4, 3, 3, 3)), ((3, 6, 9, 7), (2, 6, 5, 4)),
                             ((1, 2, 5, 5), (3, 2, 5, 5))]:  # fmt: skip
        x, w = rng.standard_normal(shape_x), rng.standard_normal(shape_w)
        _forward(answer, x, w, rng.standard_normal(shape_w[0]), torch_too=True)


# --- conv_backward(dout, cache) -> (dx, dw, db) ----------------------------------------

def _backward(forward, backward, hidden: bool, keys=None):
    rng = fresh_rng(hidden)
    shapes = [((2, 3, 6, 6), (4, 3, 3, 3))] if not hidden else \
             [((2, 2, 6, 5), (3, 2, 3, 2)), ((3, 3, 5, 5), (2, 3, 5, 5))]  # fmt: skip
    for shape_x, shape_w in shapes:
        x, w = rng.standard_normal(shape_x), rng.standard_normal(shape_w)
        b = rng.standard_normal(shape_w[0])
        dout = rng.standard_normal(conv_forward(x, w, b)[0].shape)
        mistakes = {
            "dw": {"the gradient of the first image only, not summed over the batch":
                   conv_backward(dout[:1], conv_forward(x[:1], w, b)[1])[1]},
            "dx": {"the kernel not flipped when sending the gradient back":
                   conv_backward(dout, conv_forward(x, w[:, :, ::-1, ::-1], b)[1])[0]},
            "db": {"the mean over positions instead of the sum": dout.mean(axis=(0, 2, 3))},
        }  # fmt: skip
        pairs.backward(forward, backward, ("conv_forward", "conv_backward"),
                       {"x": x, "w": w, "b": b}, conv_forward, conv_backward, dout, keys=keys,
                       mistakes=mistakes, torch_grads=torch_conv(x, w, b, dout)[1] if hidden else None)  # fmt: skip


backward_behaviours("conv_backward", _backward, ("dx", "dw", "db"),
                    "lenet_ref, PyTorch and a numerical gradient")
