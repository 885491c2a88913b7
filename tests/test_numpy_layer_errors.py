"""A wrong argument is a ValueError at the call that names the function, the argument and
what was expected (STYLE.md, principle 2), never a broadcast error three frames deeper."""

import numpy as np
import pytest

from lenet_ref import spec
from lenet_ref.numpy import (
    activation_forward,
    avgpool_forward,
    conv_backward,
    conv_forward,
    conv_forward_naive,
    fc_forward,
    maxpool_forward,
    rbf_forward,
    rbf_loss,
    softmax_cross_entropy,
    subsample_forward,
)

X = np.zeros((2, 6, 14, 14))
W = np.zeros((16, 6, 5, 5))
B = np.zeros(16)


@pytest.mark.parametrize("forward", [conv_forward, conv_forward_naive])
def test_conv_x_of_ndim_3(forward):
    name = forward.__name__
    with pytest.raises(
        ValueError, match=rf"{name}: x must have shape \(N, C, H, W\).*got \(6, 14, 14\)"
    ):
        forward(X[0], W, B)


def test_conv_channel_mismatch_names_w_and_the_expected_c():
    message = (
        r"conv_forward: w must have shape \(F, C, KH, KW\) with C = 6 matching x; "
        r"got \(16, 3, 5, 5\)"
    )
    with pytest.raises(ValueError, match=message):
        conv_forward(X, np.zeros((16, 3, 5, 5)), B)


def test_conv_bias_of_the_wrong_length():
    with pytest.raises(
        ValueError, match=r"conv_forward: b must have shape \(F,\) with F = 16.*got \(6,\)"
    ):
        conv_forward(X, W, np.zeros(6))


def test_conv_mask_of_the_wrong_shape():
    mask = spec.connection_mask(spec.C3_TABLE, 6)
    with pytest.raises(
        ValueError, match=r"conv_forward: mask must have shape \(F, C\) = \(16, 6\).*got \(6, 16\)"
    ):
        conv_forward(X, W, B, mask=mask.T)
    with pytest.raises(ValueError, match="conv_forward: mask must be boolean or hold only 0 and 1"):
        conv_forward(X, W, B, mask=mask * 2)


def test_conv_kernel_larger_than_input_and_bad_pad():
    with pytest.raises(ValueError, match="conv_forward: w must have a kernel no larger"):
        conv_forward(np.zeros((1, 6, 4, 4)), W, B)
    with pytest.raises(ValueError, match="conv_forward: pad must be a non-negative integer"):
        conv_forward(X, W, B, pad=-1)


def test_conv_backward_checks_dout():
    out, cache = conv_forward(X, W, B)
    with pytest.raises(ValueError, match=r"conv_backward: dout must have shape \(2, 16, 10, 10\)"):
        conv_backward(out[:, :8], cache)


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda x: conv_forward(x, W, B), "x"),
        (lambda x: conv_forward(X, x.astype(int)[:16, :6, :5, :5], B), "w"),
        (lambda x: fc_forward(x, np.zeros((3, 6 * 14 * 14)), np.zeros(3)), "x"),
        (lambda x: subsample_forward(x, np.ones(6), np.zeros(6)), "x"),
        (lambda x: maxpool_forward(x), "x"),
        (lambda x: activation_forward(x, "relu"), "x"),
        (lambda x: softmax_cross_entropy(np.ones((2, 3), int), np.array([0, 1])), "scores"),
    ],
)
def test_int_arrays_are_refused(call, name):
    with pytest.raises(
        ValueError, match=rf": {name} must be a floating-point array; got dtype int"
    ):
        call(X.astype(np.int64))


@pytest.mark.parametrize("forward", [subsample_forward, avgpool_forward, maxpool_forward])
def test_pooling_size_must_divide_h_and_w(forward):
    x = np.zeros((1, 6, 5, 4))
    args = (np.ones(6), np.zeros(6)) if forward is subsample_forward else ()
    with pytest.raises(
        ValueError, match=rf"{forward.__name__}: x must have H and W divisible by size = 2"
    ):
        forward(x, *args)


def test_subsample_coef_and_bias_shapes():
    with pytest.raises(
        ValueError, match=r"subsample_forward: coef must have shape \(C,\) with C = 6"
    ):
        subsample_forward(X, np.ones(16), np.zeros(6))
    with pytest.raises(
        ValueError, match=r"subsample_forward: bias must have shape \(C,\) with C = 6"
    ):
        subsample_forward(X, np.ones(6), np.zeros((6, 1)))


def test_fc_and_rbf_shapes():
    with pytest.raises(ValueError, match=r"fc_forward: w must have shape \(M, D\) with D = 120"):
        fc_forward(np.zeros((4, 120, 1, 1)), np.zeros((84, 100)), np.zeros(84))
    with pytest.raises(ValueError, match=r"fc_forward: b must have shape \(M,\) with M = 84"):
        fc_forward(np.zeros((4, 120)), np.zeros((84, 120)), np.zeros(10))
    with pytest.raises(
        ValueError, match=r"rbf_forward: centers must have shape \(K, D\) with D = 84"
    ):
        rbf_forward(np.zeros((4, 84)), np.zeros((10, 83)))


@pytest.mark.parametrize("loss", [softmax_cross_entropy, rbf_loss])
def test_labels_are_checked(loss):
    scores = np.zeros((3, 10))
    name = loss.__name__
    with pytest.raises(
        ValueError, match=rf"{name}: y must hold labels in \[0, 10\); got values in \[0, 10\]"
    ):
        loss(scores, np.array([0, 10, 3]))
    with pytest.raises(
        ValueError, match=rf"{name}: y must hold labels in \[0, 10\); got values in \[-1, 3\]"
    ):
        loss(scores, np.array([0, -1, 3]))
    with pytest.raises(ValueError, match=rf"{name}: y must have shape \(N,\) with N = 3"):
        loss(scores, np.array([0, 1]))
    with pytest.raises(ValueError, match=rf"{name}: y must hold integer class labels"):
        loss(scores, np.array([0.0, 1.0, 2.0]))


def test_unknown_activation_lists_the_allowed_ones():
    with pytest.raises(
        ValueError, match="kind must be one of 'scaled_tanh', 'tanh', 'relu', 'sigmoid'; got 'gelu'"
    ):
        activation_forward(X, "gelu")
