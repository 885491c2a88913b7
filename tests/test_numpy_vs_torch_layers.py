"""Every NumPy layer against PyTorch on the same float64 inputs: the forward pass and every
gradient (PyTorch's autograd as the oracle)."""

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

torch = pytest.importorskip("torch")
F = torch.nn.functional

TOL = {"rtol": 1e-10, "atol": 1e-12}


def leaves(*arrays):
    """float64 tensors that record gradients, on the same values as the arrays."""
    return [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]


def torch_grads(out, dout, inputs):
    """Forward output and gradients of sum(out * dout) w.r.t. inputs, as arrays."""
    grads = torch.autograd.grad(out, inputs, torch.as_tensor(dout))
    return out.detach().numpy(), [g.numpy() for g in grads]


def assert_close(actual, expected, name):
    np.testing.assert_allclose(actual, expected, **TOL, err_msg=name)


@pytest.mark.parametrize(
    "x_shape, w_shape, pad, masked",
    [
        ((2, 1, 32, 32), (6, 1, 5, 5), 0, False),  # C1
        ((2, 6, 14, 14), (16, 6, 5, 5), 0, True),  # C3 with Table I
        ((2, 16, 5, 5), (120, 16, 5, 5), 0, False),  # C5
        ((2, 3, 7, 9), (4, 3, 3, 2), 2, True),
    ],
)
@pytest.mark.parametrize("impl", ["fast", "naive"])
def test_conv(x_shape, w_shape, pad, masked, impl):
    forward, backward = {
        "fast": (conv_forward, conv_backward),
        "naive": (conv_forward_naive, conv_backward_naive),
    }[impl]
    r = np.random.default_rng(0)
    x, w, b = r.standard_normal(x_shape), r.standard_normal(w_shape), r.standard_normal(w_shape[0])
    if masked:
        mask = (
            spec.connection_mask(spec.C3_TABLE, 6)
            if w_shape[:2] == (16, 6)
            else r.random(w_shape[:2]) < 0.5
        )
    else:
        mask = np.ones(w_shape[:2], bool)
    out, cache = forward(x, w, b, mask=mask if masked else None, pad=pad)
    dout = r.standard_normal(out.shape)
    grads = backward(dout, cache)

    xt, wt, bt = leaves(x, w, b)
    # an absent connection is a zero kernel; autograd then gives it a zero gradient
    masked_w = wt * torch.as_tensor(mask, dtype=torch.float64)[:, :, None, None]
    expected, expected_grads = torch_grads(
        F.conv2d(xt, masked_w, bt, padding=pad), dout, [xt, wt, bt]
    )
    assert_close(out, expected, "out")
    for name, g, e in zip(["dx", "dw", "db"], grads, expected_grads, strict=True):
        assert_close(g, e, name)


def test_subsample():
    r = np.random.default_rng(1)
    x, coef, bias = r.standard_normal((3, 6, 28, 28)), r.standard_normal(6), r.standard_normal(6)
    out, cache = subsample_forward(x, coef, bias)
    dout = r.standard_normal(out.shape)
    grads = subsample_backward(dout, cache)
    xt, ct, bt = leaves(x, coef, bias)
    window_sums = F.avg_pool2d(xt, 2, divisor_override=1)  # the sum of each 2x2 window
    expected, expected_grads = torch_grads(
        ct[:, None, None] * window_sums + bt[:, None, None], dout, [xt, ct, bt]
    )
    assert_close(out, expected, "out")
    for name, g, e in zip(["dx", "dcoef", "dbias"], grads, expected_grads, strict=True):
        assert_close(g, e, name)


@pytest.mark.parametrize("size", [2, 4])
def test_avgpool(size):
    r = np.random.default_rng(2)
    x = r.standard_normal((3, 4, 8, 12))
    out, cache = avgpool_forward(x, size)
    dout = r.standard_normal(out.shape)
    (xt,) = leaves(x)
    expected, (dx,) = torch_grads(F.avg_pool2d(xt, size), dout, [xt])
    assert_close(out, expected, "out")
    assert_close(avgpool_backward(dout, cache), dx, "dx")


@pytest.mark.parametrize("ties", [False, True], ids=["distinct", "ties"])
def test_maxpool(ties):
    r = np.random.default_rng(3)
    # with ties: small integers, so most windows hold equal maxima; PyTorch sends the
    # gradient to the first one in row-major order, and so must we
    x = (
        r.integers(0, 3, size=(3, 4, 8, 12)).astype(float)
        if ties
        else r.standard_normal((3, 4, 8, 12))
    )
    out, cache = maxpool_forward(x)
    dout = r.standard_normal(out.shape)
    (xt,) = leaves(x)
    expected, (dx,) = torch_grads(F.max_pool2d(xt, 2), dout, [xt])
    assert_close(out, expected, "out")
    assert_close(maxpool_backward(dout, cache), dx, "dx")


TORCH_ACTIVATIONS = {
    "scaled_tanh": lambda a: spec.A * torch.tanh(spec.S * a),  # Appendix A
    "tanh": torch.tanh,
    "relu": F.relu,
    "sigmoid": torch.sigmoid,
}


@pytest.mark.parametrize("kind", spec.ACTIVATIONS)
def test_activation(kind):
    r = np.random.default_rng(4)
    x = r.standard_normal((3, 4, 5)) * 3
    x[0, 0] = [0.0, -800.0, 800.0, -40.0, 40.0]  # ReLU's kink (derivative 0 there), and overflow
    out, cache = activation_forward(x, kind)
    dout = r.standard_normal(out.shape)
    (xt,) = leaves(x)
    expected, (dx,) = torch_grads(TORCH_ACTIVATIONS[kind](xt), dout, [xt])
    assert np.isfinite(out).all()
    assert_close(out, expected, "out")
    assert_close(activation_backward(dout, cache), dx, "dx")


def test_fc():
    r = np.random.default_rng(5)
    x, w, b = r.standard_normal((4, 120, 1, 1)), r.standard_normal((84, 120)), r.standard_normal(84)
    out, cache = fc_forward(x, w, b)
    dout = r.standard_normal(out.shape)
    grads = fc_backward(dout, cache)
    xt, wt, bt = leaves(x, w, b)
    expected, expected_grads = torch_grads(F.linear(xt.flatten(1), wt, bt), dout, [xt, wt, bt])
    assert_close(out, expected, "out")
    for name, g, e in zip(["dx", "dw", "db"], grads, expected_grads, strict=True):
        assert_close(g, e, name)


def test_rbf():
    r = np.random.default_rng(6)
    x, centers = r.standard_normal((4, 84)), spec.rbf_prototypes()
    out, cache = rbf_forward(x, centers)
    dout = r.standard_normal(out.shape)
    grads = rbf_backward(dout, cache)
    xt, ct = leaves(x, centers)
    penalties = ((xt[:, None, :] - ct[None, :, :]) ** 2).sum(dim=2)  # Eq. (7)
    expected, expected_grads = torch_grads(penalties, dout, [xt, ct])
    assert_close(out, expected, "out")
    for name, g, e in zip(["dx", "dcenters"], grads, expected_grads, strict=True):
        assert_close(g, e, name)


def test_softmax_cross_entropy():
    r = np.random.default_rng(7)
    scores, y = r.standard_normal((8, 10)) * 5, r.integers(0, 10, size=8)
    loss, dscores = softmax_cross_entropy(scores, y)
    (st,) = leaves(scores)
    expected = F.cross_entropy(st, torch.as_tensor(y))
    expected.backward()
    assert loss == pytest.approx(expected.item(), rel=1e-12)
    assert_close(dscores, st.grad.numpy(), "dscores")


@pytest.mark.parametrize("j", [spec.RBF_LOSS_J, 5.0])
def test_rbf_loss(j):
    r = np.random.default_rng(8)
    penalties, y = r.uniform(0, 200, size=(8, 10)), r.integers(0, 10, size=8)
    loss, dpen = rbf_loss(penalties, y, j=j)
    (pt,) = leaves(penalties)
    # Eq. (9): E = mean_p [ y_Dp + log(exp(-j) + sum_i exp(-y_i)) ]
    exponents = torch.cat([torch.full((8, 1), -j, dtype=torch.float64), -pt], dim=1)
    target = pt.gather(1, torch.as_tensor(y)[:, None])[:, 0]
    expected = (target + torch.logsumexp(exponents, dim=1)).mean()
    expected.backward()
    assert loss == pytest.approx(expected.item(), rel=1e-12)
    assert_close(dpen, pt.grad.numpy(), "dpenalties")
