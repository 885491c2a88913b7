"""Activation functions ("squashing functions" in the paper), each a forward/backward pair.

The paper's is the scaled hyperbolic tangent of Appendix A, f(a) = A tanh(S a) with
A = 1.7159 and S = 2/3: with them f(1) = 1 and f(-1) = -1, so the gain is about 1 in
normal operation, and |f''| is largest at +-1, which "improves the convergence towards the
end of the learning session" (Appendix A).
tanh, ReLU and the logistic sigmoid are the options of later networks.
"""

from __future__ import annotations

import numpy as np

from .. import spec
from ._checks import check_dout, float_array


def scaled_tanh_forward(x):
    """f(x) = A tanh(S x), Appendix A. x any shape; returns (out, cache), cache = (tanh(S x),)."""
    x = float_array("scaled_tanh_forward", "x", x)
    t = np.tanh(spec.S * x)
    return spec.A * t, (t,)


def scaled_tanh_backward(dout, cache):
    """f'(x) = A S (1 - tanh(S x)^2). Returns dx, shaped like x."""
    (t,) = cache
    dout = check_dout("scaled_tanh_backward", dout, t.shape)
    return dout * (spec.A * spec.S) * (1 - t * t)


def tanh_forward(x):
    """tanh(x). Returns (out, cache), cache = (out,)."""
    out = np.tanh(float_array("tanh_forward", "x", x))
    return out, (out,)


def tanh_backward(dout, cache):
    (out,) = cache
    dout = check_dout("tanh_backward", dout, out.shape)
    return dout * (1 - out * out)


def relu_forward(x):
    """max(x, 0). Returns (out, cache), cache = (x,)."""
    x = float_array("relu_forward", "x", x)
    return np.maximum(x, 0), (x,)


def relu_backward(dout, cache):
    """The derivative is taken as 0 at x = 0 (as PyTorch does)."""
    (x,) = cache
    dout = check_dout("relu_backward", dout, x.shape)
    return dout * (x > 0)


def sigmoid_forward(x):
    """The logistic function 1 / (1 + exp(-x)). Returns (out, cache), cache = (out,).

    Computed from exp(-|x|), which never overflows: for x < 0, 1 / (1 + exp(-x)) is
    rewritten exp(x) / (1 + exp(x)).
    """
    x = float_array("sigmoid_forward", "x", x)
    z = np.exp(-np.abs(x))
    out = np.where(x >= 0, 1 / (1 + z), z / (1 + z))
    return out, (out,)


def sigmoid_backward(dout, cache):
    (out,) = cache
    dout = check_dout("sigmoid_backward", dout, out.shape)
    return dout * out * (1 - out)


_PAIRS = {
    "scaled_tanh": (scaled_tanh_forward, scaled_tanh_backward),
    "tanh": (tanh_forward, tanh_backward),
    "relu": (relu_forward, relu_backward),
    "sigmoid": (sigmoid_forward, sigmoid_backward),
}
assert tuple(_PAIRS) == spec.ACTIVATIONS, "one pair per activation of the spec"


def activation_forward(x, kind):
    """The activation ``kind`` (one of spec.ACTIVATIONS). Returns (out, cache)."""
    spec.check_option("activation_forward: kind", kind, spec.ACTIVATIONS)
    forward, _ = _PAIRS[kind]
    out, cache = forward(x)
    return out, (kind, cache)


def activation_backward(dout, cache):
    """Returns dx for the activation that ``activation_forward`` applied."""
    kind, inner = cache
    _, backward = _PAIRS[kind]
    return backward(dout, inner)
