"""The layers of LeNet-5 as PyTorch modules, each the twin of a NumPy function pair.

Parameter names match ``lenet_ref.spec.Layer.param_shapes`` so that a module's
``state_dict`` equals the NumPy network's parameter dict, name for name and shape for shape.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .. import spec
from ..params import table_index


def scaled_tanh(x: torch.Tensor) -> torch.Tensor:
    """Appendix A: f(a) = A tanh(S a), A = 1.7159, S = 2/3."""
    return spec.A * torch.tanh(spec.S * x)


ACTIVATIONS = {
    "scaled_tanh": scaled_tanh,
    "tanh": torch.tanh,
    "relu": F.relu,
    "sigmoid": torch.sigmoid,
}


class Conv(nn.Module):
    """Cross-correlation, fully connected across maps or restricted by a connection table.

    With a table the weight is packed, (n_connections, K, K), and scattered into a dense
    (F, C, K, K) kernel with zeros elsewhere at each call (as ``lenet_ref.numpy`` does):
    the gradient of the scatter is the gather, so only the connections are trained.
    """

    def __init__(self, layer: spec.Conv):
        super().__init__()
        shapes = layer.param_shapes()
        self.layer = layer
        self.weight = nn.Parameter(torch.empty(shapes["weight"]))
        self.bias = nn.Parameter(torch.empty(shapes["bias"]))
        if layer.table is not None:
            rows, cols = table_index(layer)
            self.register_buffer("rows", torch.as_tensor(rows), persistent=False)
            self.register_buffer("cols", torch.as_tensor(cols), persistent=False)

    def dense_weight(self) -> torch.Tensor:
        if self.layer.table is None:
            return self.weight
        k = self.layer.kernel
        dense = self.weight.new_zeros(self.layer.out_maps, self.layer.in_maps, k, k)
        return dense.index_put((self.rows, self.cols), self.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.dense_weight(), self.bias, padding=self.layer.pad)


class Subsample(nn.Module):
    """LeCun's trainable subsampling (Sec. II.B): the sum of each window times a trainable
    coefficient, plus a trainable bias, one of each per map."""

    def __init__(self, layer: spec.Pool):
        super().__init__()
        self.size = layer.size
        self.coef = nn.Parameter(torch.empty(layer.maps))
        self.bias = nn.Parameter(torch.empty(layer.maps))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        window_sum = F.avg_pool2d(x, self.size) * self.size**2  # (N, C, H/s, W/s)
        return window_sum * self.coef[:, None, None] + self.bias[:, None, None]


class Pool(nn.Module):
    """Parameter-free average or max pooling over non-overlapping windows."""

    def __init__(self, layer: spec.Pool):
        super().__init__()
        self.size = layer.size
        self.pool = F.avg_pool2d if layer.kind == "avg" else F.max_pool2d

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(x, self.size)


class Dense(nn.Linear):
    """nn.Linear that flattens its input first (C5's (N, 120, 1, 1) feeds F6)."""

    def __init__(self, layer: spec.Dense):
        super().__init__(layer.in_features, layer.out_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.flatten(1))


class RBF(nn.Module):
    """Eq. (7): y_i = sum_j (x_j - w_ij)^2 with the fixed codes of ``spec.rbf_prototypes``.
    The centres are a non-persistent buffer: not trained, not in the state_dict."""

    def __init__(self, layer: spec.RBF):
        super().__init__()
        self.register_buffer(
            "centers", torch.as_tensor(spec.rbf_prototypes(), dtype=torch.float32), persistent=False
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        diff = x[:, None, :] - self.centers.to(x.dtype)  # (N, 10, 84)
        return (diff * diff).sum(-1)


def make_layer(layer: spec.Layer) -> nn.Module:
    if isinstance(layer, spec.Conv):
        return Conv(layer)
    if isinstance(layer, spec.Pool):
        return Subsample(layer) if layer.kind == "subsample" else Pool(layer)
    if isinstance(layer, spec.Dense):
        return Dense(layer)
    return RBF(layer)


def rbf_loss(penalties: torch.Tensor, y: torch.Tensor, j: float = spec.RBF_LOSS_J) -> torch.Tensor:
    """Eq. (9), averaged over the batch: y_D + log(e^-j + sum_i e^-y_i)."""
    rubbish = penalties.new_full((len(penalties), 1), -j)
    competition = torch.logsumexp(torch.cat([rubbish, -penalties], dim=1), dim=1)
    return (penalties.gather(1, y[:, None]).squeeze(1) + competition).mean()
