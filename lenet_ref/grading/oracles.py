"""PyTorch as a second oracle beside lenet_ref.numpy: the same layer computed by
``torch.nn.functional``, and its gradients by autograd, all in float64. Torch is imported
only when a hidden test needs it."""

from __future__ import annotations

import numpy as np

from ..testing import numerical_gradient


def fresh_rng(hidden: bool) -> np.random.Generator:
    """Visible checks use fixed inputs (a student can rerun and compare); hidden checks draw
    new ones each run, so an answer cannot be tuned to them."""
    return np.random.default_rng(None if hidden else 0)


def torch_outputs_and_grads(f, arrays, dout=None):
    """f(*tensors) in float64 -> (output, [gradient of sum(output * dout) per array]);
    dout None: ones (when only the output is wanted)."""
    import torch

    tensors = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    out = f(*tensors)
    out.backward(torch.ones_like(out) if dout is None else torch.as_tensor(dout, dtype=torch.float64))
    return out.detach().numpy(), [t.grad.numpy() for t in tensors]


def torch_conv(x, w, b, dout=None, mask=None):
    import torch.nn.functional as F

    if mask is not None:
        w = w * mask[:, :, None, None]
    return torch_outputs_and_grads(F.conv2d, [x, w, b], dout)


def torch_pool(kind, x, size, dout=None):
    import torch.nn.functional as F

    pool = F.max_pool2d if kind == "max" else F.avg_pool2d
    return torch_outputs_and_grads(lambda t: pool(t, size), [x], dout)


def numeric_grad(f, x, dout):
    """Central differences of sum(f(x) * dout) over every entry of x (keep x small)."""
    return numerical_gradient(f, np.array(x, dtype=np.float64), dout)
