"""LeNet-5 in PyTorch, layer for layer the twin of ``lenet_ref.numpy``."""

from .layers import RBF, Conv, Dense, Pool, Subsample, rbf_loss, scaled_tanh
from .model import LeNet5, resolve_device

__all__ = [
    "LeNet5",
    "Conv",
    "Subsample",
    "Pool",
    "Dense",
    "RBF",
    "rbf_loss",
    "scaled_tanh",
    "resolve_device",
]
