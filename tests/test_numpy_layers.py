"""The NumPy layers: hand-computed cases, and the fast convolution against the naive one.

The gradient checks are in test_numpy_layer_gradients.py."""

import numpy as np
import pytest

from lenet_ref import spec
from lenet_ref.numpy import (
    activation_forward,
    avgpool_forward,
    conv_backward,
    conv_backward_naive,
    conv_forward,
    conv_forward_naive,
    maxpool_backward,
    maxpool_forward,
    rbf_forward,
    rbf_loss,
    softmax_cross_entropy,
    subsample_backward,
    subsample_forward,
)


def rng(seed=0):
    return np.random.default_rng(seed)


# --- Hand-computed cases ------------------------------------------------------------------


@pytest.mark.parametrize("forward", [conv_forward, conv_forward_naive])
def test_conv_is_cross_correlation_by_hand(forward):
    x = np.arange(1.0, 10.0).reshape(1, 1, 3, 3)  # [[1 2 3] [4 5 6] [7 8 9]]
    w = np.array([[1.0, 2.0], [3.0, 4.0]]).reshape(1, 1, 2, 2)
    out, _ = forward(x, w, np.array([0.5]))
    # out[0, 0] = 1*1 + 2*2 + 3*4 + 4*5 + 0.5: the kernel is not flipped. A true
    # convolution would give 4*1 + 3*2 + 2*4 + 1*5 + 0.5 = 23.5 there.
    np.testing.assert_array_equal(out[0, 0], [[37.5, 47.5], [67.5, 77.5]])


def test_conv_mask_cuts_connections_by_hand():
    x = np.stack([np.ones((3, 3)), 10 * np.ones((3, 3))])[None]  # two maps: 1s and 10s
    w = np.ones((2, 2, 3, 3))
    mask = np.array([[1, 0], [1, 1]])  # map 0 reads only input 0; map 1 reads both
    out, _ = conv_forward(x, w, np.zeros(2), mask=mask)
    np.testing.assert_array_equal(out[0, :, 0, 0], [9.0, 99.0])


def test_maxpool_by_hand():
    x = np.array([[10, 15, 80, 12], [18, 30, 11, 20], [11, 19, 48, 51], [30, 31, 45, 59]], float)
    out, cache = maxpool_forward(x[None, None])
    np.testing.assert_array_equal(out[0, 0], [[30, 80], [31, 59]])
    dx = maxpool_backward(np.array([[[[1.0, 2.0], [3.0, 4.0]]]]), cache)
    expected = np.zeros((4, 4))
    expected[1, 1], expected[0, 2], expected[3, 1], expected[3, 3] = 1, 2, 3, 4
    np.testing.assert_array_equal(dx[0, 0], expected)


def test_maxpool_tie_sends_the_gradient_to_the_first_maximum():
    x = np.array([[2.0, 2.0, 1.0, 3.0], [2.0, 2.0, 3.0, 0.0]])[None, None]
    out, cache = maxpool_forward(x)
    np.testing.assert_array_equal(out[0, 0], [[2.0, 3.0]])
    dx = maxpool_backward(np.array([[[[5.0, 7.0]]]]), cache)
    # first window: all four equal -> top-left; second: 3 at (0, 3) and (1, 2) -> (0, 3)
    np.testing.assert_array_equal(dx[0, 0], [[5.0, 0.0, 0.0, 7.0], [0.0, 0.0, 0.0, 0.0]])


def test_subsample_by_hand():
    x = np.arange(1.0, 17.0).reshape(1, 1, 4, 4)
    out, cache = subsample_forward(x, coef=np.array([0.5]), bias=np.array([1.0]))
    # window sums 14, 22, 46, 54 (Sec. II.B: the four inputs are added), times 0.5, plus 1
    np.testing.assert_array_equal(out[0, 0], [[8.0, 12.0], [24.0, 28.0]])
    dx, dcoef, dbias = subsample_backward(np.ones((1, 1, 2, 2)), cache)
    np.testing.assert_array_equal(dx, np.full((1, 1, 4, 4), 0.5))
    np.testing.assert_array_equal(dcoef, [14.0 + 22 + 46 + 54])
    np.testing.assert_array_equal(dbias, [4.0])


def test_avgpool_by_hand():
    x = np.arange(1.0, 17.0).reshape(1, 1, 4, 4)
    out, _ = avgpool_forward(x)
    np.testing.assert_array_equal(out[0, 0], [[3.5, 5.5], [11.5, 13.5]])


def test_rbf_by_hand():
    out, _ = rbf_forward(np.array([[1.0, 2.0]]), np.array([[0.0, 0.0], [1.0, 1.0]]))
    np.testing.assert_array_equal(out, [[5.0, 1.0]])  # Eq. (7): squared distances


def test_scaled_tanh_maps_plus_minus_one_to_themselves():
    out, _ = activation_forward(np.array([-1.0, 0.0, 1.0]), "scaled_tanh")
    np.testing.assert_allclose(out, [-1.0, 0.0, 1.0], atol=1e-4)  # Appendix A: f(+-1) = +-1


def test_rbf_loss_with_huge_j_is_cross_entropy_of_minus_penalties():
    penalties = rng().uniform(0, 20, size=(6, 10))
    y = np.array([0, 3, 9, 2, 2, 7])
    loss, dpen = rbf_loss(penalties, y, j=1e4)
    ce, dscores = softmax_cross_entropy(-penalties, y)
    assert loss == pytest.approx(ce, rel=1e-12)
    np.testing.assert_allclose(dpen, -dscores, atol=1e-15)


def test_losses_are_stable_for_huge_scores():
    scores = np.array([[1000.0, 0.0, -1000.0], [0.0, 2000.0, 0.0]])
    loss, dscores = softmax_cross_entropy(scores, np.array([0, 0]))
    assert loss == pytest.approx(1000.0) and np.isfinite(dscores).all()
    loss, dpen = rbf_loss(np.array([[5000.0, 0.0, 3000.0]]), np.array([0]))
    # 5000 + log(exp(-j) + exp(-5000) + exp(0) + exp(-3000))
    assert loss == pytest.approx(5000 + np.log1p(np.exp(-spec.RBF_LOSS_J)), rel=1e-12)
    assert np.isfinite(dpen).all()


def test_initial_softmax_loss_is_log_k():
    loss, _ = softmax_cross_entropy(np.zeros((4, 10)), np.array([0, 1, 2, 3]))
    assert loss == pytest.approx(np.log(10))


# --- The fast convolution against the naive one --------------------------------------------

CONV_SHAPES = [  # (N, C, H, W), (F, KH, KW), pad
    ((2, 3, 7, 9), (4, 3, 3), 0),
    ((2, 3, 7, 9), (4, 3, 2), 2),
    ((3, 6, 8, 6), (5, 2, 4), 1),
    ((1, 2, 5, 5), (3, 5, 5), 0),  # 1x1 output, as in C5
    ((2, 1, 4, 4), (2, 1, 1), 0),
    ((2, 6, 14, 14), (16, 5, 5), 0),  # C3
]


@pytest.mark.parametrize("x_shape, w_shape, pad", CONV_SHAPES)
@pytest.mark.parametrize("masked", [False, True], ids=["full", "masked"])
def test_fast_conv_equals_naive(x_shape, w_shape, pad, masked):
    r = rng(1)
    N, C, H, W = x_shape
    F, KH, KW = w_shape
    x, w, b = r.standard_normal(x_shape), r.standard_normal((F, C, KH, KW)), r.standard_normal(F)
    mask = r.random((F, C)) < 0.6 if masked else None
    if masked and C == 6 and F == 16:
        mask = spec.connection_mask(spec.C3_TABLE, 6)
    out, cache = conv_forward(x, w, b, mask=mask, pad=pad)
    out_naive, cache_naive = conv_forward_naive(x, w, b, mask=mask, pad=pad)
    assert out.shape == (N, F, H + 2 * pad - KH + 1, W + 2 * pad - KW + 1)
    np.testing.assert_allclose(out, out_naive, rtol=0, atol=1e-10)
    dout = r.standard_normal(out.shape)
    grads, grads_naive = conv_backward(dout, cache), conv_backward_naive(dout, cache_naive)
    for fast, naive, name in zip(grads, grads_naive, "xwb", strict=True):
        assert fast.shape == naive.shape, name
        np.testing.assert_allclose(fast, naive, rtol=0, atol=1e-10, err_msg=f"d{name}")
    if masked:
        dw = conv_backward(dout, cache)[1]
        assert np.all(dw[~np.asarray(mask, bool)] == 0)  # exactly zero: no such kernel


def test_conv_keeps_float32():
    r = rng(2)
    x = r.standard_normal((2, 6, 14, 14)).astype(np.float32)
    w = r.standard_normal((16, 6, 5, 5)).astype(np.float32)
    b = np.zeros(16, np.float32)
    mask = spec.connection_mask(spec.C3_TABLE, 6)
    for forward, backward in [
        (conv_forward, conv_backward),
        (conv_forward_naive, conv_backward_naive),
    ]:
        out, cache = forward(x, w, b, mask=mask)
        assert out.dtype == np.float32
        grads = backward(np.ones_like(out), cache)
        assert [g.dtype for g in grads] == [np.float32] * 3


@pytest.mark.parametrize(
    "forward, args",
    [
        (lambda x: subsample_forward(x, np.ones(3, np.float32), np.zeros(3, np.float32)), ()),
        (avgpool_forward, ()),
        (maxpool_forward, ()),
        *[(activation_forward, (kind,)) for kind in spec.ACTIVATIONS],
    ],
)
def test_pooling_and_activations_keep_float32(forward, args):
    x = rng(3).standard_normal((2, 3, 4, 4)).astype(np.float32)
    out, _ = forward(x, *args)
    assert out.dtype == np.float32
