"""Every NumPy backward pass against float64 central differences (``lenet_ref.testing``)."""

import numpy as np
import pytest

from lenet_ref import spec
from lenet_ref.numpy import (
    activation_backward,
    activation_forward,
    avgpool_backward,
    avgpool_forward,
    conv_backward,
    conv_backward_naive,
    conv_forward,
    conv_forward_naive,
    fc_backward,
    fc_forward,
    maxpool_backward,
    maxpool_forward,
    rbf_backward,
    rbf_forward,
    rbf_loss,
    softmax_cross_entropy,
    subsample_backward,
    subsample_forward,
)
from lenet_ref.testing import check_gradient, rel_error


def rng(seed=0):
    return np.random.default_rng(seed)


def tie_free(shape, seed=0):
    """Distinct values 0.01 apart in random order (as minitorch does for max pooling), so
    that no maximum changes under the +-1e-6 steps of the numerical gradient."""
    values = rng(seed).permutation(int(np.prod(shape))).reshape(shape) * 0.01
    return values - values.mean()


def off_kink(shape, seed=0):
    """Standard normal values at least 0.01 away from 0, where ReLU has its kink."""
    x = rng(seed).standard_normal(shape)
    return x + 0.01 * np.sign(x)


# --- Every backward pass against central differences, in float64 -------------------------


@pytest.mark.parametrize("pad", [0, 2])
@pytest.mark.parametrize("masked", [False, True], ids=["full", "masked"])
def test_conv_gradients(pad, masked):
    r = rng(4)
    x, w, b = r.standard_normal((2, 3, 5, 6)), r.standard_normal((4, 3, 3, 2)), r.standard_normal(4)
    mask = np.array([[1, 0, 1], [0, 1, 1], [1, 1, 1], [0, 0, 1]], bool) if masked else None
    out, cache = conv_forward(x, w, b, mask=mask, pad=pad)
    dout = r.standard_normal(out.shape)
    dx, dw, db = conv_backward(dout, cache)
    inputs = {"x": x, "w": w, "b": b, "mask": mask, "pad": pad}
    for arg, grad in [("x", dx), ("w", dw), ("b", db)]:
        check_gradient("conv_backward", conv_forward, inputs, arg, grad, dout)


def test_naive_conv_gradients():
    r = rng(5)
    x, w, b = r.standard_normal((1, 2, 4, 5)), r.standard_normal((2, 2, 2, 3)), r.standard_normal(2)
    out, cache = conv_forward_naive(x, w, b, pad=1)
    dout = r.standard_normal(out.shape)
    inputs = {"x": x, "w": w, "b": b, "pad": 1}
    for arg, grad in zip("xwb", conv_backward_naive(dout, cache), strict=True):
        check_gradient("conv_backward_naive", conv_forward_naive, inputs, arg, grad, dout)


def test_subsample_gradients():
    r = rng(6)
    x, coef, bias = r.standard_normal((2, 3, 4, 6)), r.standard_normal(3), r.standard_normal(3)
    out, cache = subsample_forward(x, coef, bias)
    dout = r.standard_normal(out.shape)
    inputs = {"x": x, "coef": coef, "bias": bias}
    for arg, grad in zip(["x", "coef", "bias"], subsample_backward(dout, cache), strict=True):
        check_gradient("subsample_backward", subsample_forward, inputs, arg, grad, dout)


@pytest.mark.parametrize("size", [2, 3])
def test_avgpool_gradient(size):
    x = rng(7).standard_normal((2, 3, 6, 6))
    out, cache = avgpool_forward(x, size)
    dout = rng(8).standard_normal(out.shape)
    dx = avgpool_backward(dout, cache)
    check_gradient("avgpool_backward", avgpool_forward, {"x": x, "size": size}, "x", dx, dout)


@pytest.mark.parametrize("size", [2, 3])
def test_maxpool_gradient(size):
    x = tie_free((2, 3, 6, 6), seed=9)
    out, cache = maxpool_forward(x, size)
    dout = rng(10).standard_normal(out.shape)
    dx = maxpool_backward(dout, cache)
    check_gradient("maxpool_backward", maxpool_forward, {"x": x, "size": size}, "x", dx, dout)


@pytest.mark.parametrize("kind", spec.ACTIVATIONS)
def test_activation_gradients(kind):
    x = off_kink((3, 4, 5), seed=11)
    x[0, 0, :] = [-5.0, -3.0, 3.0, 5.0, 0.5]  # into the saturated regions
    out, cache = activation_forward(x, kind)
    dout = rng(12).standard_normal(out.shape)
    dx = activation_backward(dout, cache)
    check_gradient(f"{kind}_backward", activation_forward, {"x": x, "kind": kind}, "x", dx, dout)


def test_fc_gradients_and_shapes():
    r = rng(13)
    x, w, b = r.standard_normal((3, 4, 2, 1)), r.standard_normal((5, 8)), r.standard_normal(5)
    out, cache = fc_forward(x, w, b)
    assert out.shape == (3, 5)
    dout = r.standard_normal(out.shape)
    dx, dw, db = fc_backward(dout, cache)
    assert dx.shape == x.shape  # the original shape, not (N, D)
    for arg, grad in [("x", dx), ("w", dw), ("b", db)]:
        check_gradient("fc_backward", fc_forward, {"x": x, "w": w, "b": b}, arg, grad, dout)


def test_rbf_gradients():
    r = rng(14)
    x, centers = r.standard_normal((4, 6)), r.choice([-1.0, 1.0], size=(3, 6))
    out, cache = rbf_forward(x, centers)
    dout = r.standard_normal(out.shape)
    dx, dcenters = rbf_backward(dout, cache)
    # Eq. (7) sums D squares: its rounding error (~1e-15), divided by 2h = 2e-6, leaves ~1e-9
    # in the numerical gradient, which is 1e-6 of a small entry (~1e-3).
    for arg, grad in [("x", dx), ("centers", dcenters)]:
        inputs = {"x": x, "centers": centers}
        check_gradient("rbf_backward", rbf_forward, inputs, arg, grad, dout, tol=1e-6)


def test_softmax_cross_entropy_gradient():
    scores, y = rng(15).standard_normal((5, 10)), np.array([1, 0, 9, 4, 4])
    _, dscores = softmax_cross_entropy(scores, y)
    inputs = {"scores": scores, "y": y}
    # A loss is one number (~2): central differences lose ~eps * 2 / 2h = 2e-10 on it, a
    # relative 1e-7 of the gradients of unlikely classes (~1e-3); hence tol 1e-6.
    check_gradient(
        "softmax_cross_entropy", softmax_cross_entropy, inputs, "scores", dscores, 1.0, tol=1e-6
    )


@pytest.mark.parametrize("j", [spec.RBF_LOSS_J, 3.0])
def test_rbf_loss_gradient(j):
    penalties, y = rng(16).uniform(0, 3, size=(5, 10)), np.array([1, 0, 9, 4, 4])
    _, dpen = rbf_loss(penalties, y, j=j)
    inputs = {"penalties": penalties, "y": y, "j": j}
    check_gradient("rbf_loss", rbf_loss, inputs, "penalties", dpen, 1.0, tol=1e-6)  # as above


def test_gradient_checks_cover_random_samples_of_big_inputs():
    """C1-sized input, checked at 20 random entries (``samples``), as a notebook would."""
    r = rng(17)
    x, w, b = (
        r.standard_normal((2, 1, 32, 32)),
        r.standard_normal((6, 1, 5, 5)),
        r.standard_normal(6),
    )
    out, cache = conv_forward(x, w, b)
    dout = r.standard_normal(out.shape)
    dx, _, _ = conv_backward(dout, cache)
    err = check_gradient(
        "conv_backward", conv_forward, {"x": x, "w": w, "b": b}, "x", dx, dout, samples=20
    )
    assert err < 1e-7 and rel_error(dx, dx) == 0
