"""LeNet-5 in NumPy: layer function pairs ``*_forward(...) -> (out, cache)`` and
``*_backward(dout, cache) -> gradients``, NCHW throughout.

Importing this package never imports torch.
"""

from .activations import (
    activation_backward,
    activation_forward,
    relu_backward,
    relu_forward,
    scaled_tanh_backward,
    scaled_tanh_forward,
    sigmoid_backward,
    sigmoid_forward,
    tanh_backward,
    tanh_forward,
)
from .conv import conv_backward, conv_backward_naive, conv_forward, conv_forward_naive
from .dense import fc_backward, fc_forward
from .losses import rbf_loss, softmax_cross_entropy
from .pool import (
    avgpool_backward,
    avgpool_forward,
    maxpool_backward,
    maxpool_forward,
    subsample_backward,
    subsample_forward,
)
from .rbf import rbf_backward, rbf_forward

__all__ = [
    "LeNet5",
    "activation_backward",
    "activation_forward",
    "avgpool_backward",
    "avgpool_forward",
    "conv_backward",
    "conv_backward_naive",
    "conv_forward",
    "conv_forward_naive",
    "fc_backward",
    "fc_forward",
    "maxpool_backward",
    "maxpool_forward",
    "rbf_backward",
    "rbf_forward",
    "rbf_loss",
    "relu_backward",
    "relu_forward",
    "scaled_tanh_backward",
    "scaled_tanh_forward",
    "sigmoid_backward",
    "sigmoid_forward",
    "softmax_cross_entropy",
    "subsample_backward",
    "subsample_forward",
    "tanh_backward",
    "tanh_forward",
]

from .model import LeNet5  # noqa: E402
