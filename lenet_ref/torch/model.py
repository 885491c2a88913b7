"""LeNet-5 in PyTorch: the twin of ``lenet_ref.numpy.LeNet5``, built from the same spec.

``state_dict()`` has exactly the NumPy network's keys and shapes, so
``torch_net.load_state_dict({k: torch.as_tensor(v) for k, v in numpy_net.params.items()})``
moves weights across, and the two give the same scores.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .. import spec
from ..params import check_state_dict, init_params, param_shapes
from .layers import ACTIVATIONS, make_layer, rbf_loss


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"``: CUDA when there is a GPU, else the CPU. Asking for CUDA where there is
    none is an error that says so, not a silent fall-back."""
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device {str(device)!r} was asked for, but PyTorch sees no CUDA GPU "
            f"(torch {torch.__version__}, CUDA build: {torch.version.cuda or 'no'}). "
            "Use device='auto' or 'cpu', or install a CUDA build of torch on a GPU machine."
        )
    return device


class LeNet5(nn.Module):
    """LeNet-5 of LeCun et al. (1998); every default is the paper's.

    Same options (and presets) as ``lenet_ref.numpy.LeNet5``; with the same ``seed`` both start from the
    same weights (drawn by NumPy, Appendix A). ``device="auto"`` puts it on a GPU where
    there is one; nothing else depends on the device.
    """

    def __init__(
        self,
        seed: int = 0,
        activation: str | None = None,
        pool: str | None = None,
        c3: str | None = None,
        head: str | None = None,
        preset: str | None = None,
        init: str | None = None,
        init_gain: float | None = None,
        dtype: torch.dtype = torch.float32,
        device: str | torch.device = "auto",
    ):
        super().__init__()
        self.options, net = spec.network(
            preset, activation=activation, pool=pool, c3=c3, head=head, init=init,
            init_gain=init_gain,
        )  # fmt: skip
        self.spec_layers = list(net.layers)
        self.input_size = net.input_size
        self.rbf = isinstance(self.spec_layers[-1], spec.RBF)
        for layer in self.spec_layers:  # attributes named as in the paper: C1, S2, ..., output
            self.add_module(layer.name, make_layer(layer))
        self.to(dtype=dtype, device=resolve_device(device))
        self.load_state_dict(init_params(self.spec_layers, seed, rule=net.init, gain=net.init_gain))

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (N, 1, S, S), S = 32 (28 for some presets) -> (N, 10): RBF penalties
        (smaller is better) or logits."""
        size = self.input_size
        if x.ndim != 4 or tuple(x.shape[1:]) != (1, size, size):
            raise ValueError(
                f"LeNet5.forward: x must have shape (N, 1, {size}, {size}); got {tuple(x.shape)}"
            )
        if not x.is_floating_point():
            raise ValueError(
                f"LeNet5.forward: x must be a float tensor; got {x.dtype} "
                "(raw MNIST images go through lenet_ref.data.to_lenet_input first)"
            )
        for layer in self.spec_layers:
            x = getattr(self, layer.name)(x)
            if getattr(layer, "activation", None):
                x = ACTIVATIONS[layer.activation](x)
        return x

    def loss(self, scores: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if self.rbf:
            return rbf_loss(scores, y)
        return F.cross_entropy(scores, y)

    @torch.no_grad()
    def predict(self, x, batch_size: int = 1000) -> np.ndarray:
        """Class labels (N,) as a NumPy array; x a NumPy array or a tensor."""
        pick = torch.argmin if self.rbf else torch.argmax
        x = torch.as_tensor(x)
        out = []
        for i in range(0, len(x), batch_size):
            batch = x[i : i + batch_size].to(self.device, next(self.parameters()).dtype)
            out.append(pick(self(batch), dim=1).cpu())
        return torch.cat(out).numpy()

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters() if p.requires_grad)

    def load_state_dict(self, state: Mapping, strict: bool = True, assign: bool = False):
        """Load tensors or NumPy arrays with exactly this network's names and shapes (a
        NumPy network's ``params``, a checkpoint), cast to this network's dtype and device."""
        check_state_dict(state, param_shapes(self.spec_layers))
        ref = next(self.parameters())
        tensors = {
            k: torch.as_tensor(v).to(device=ref.device, dtype=ref.dtype) for k, v in state.items()
        }
        return super().load_state_dict(tensors, strict=True)
