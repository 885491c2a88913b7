"""Stochastic diagonal Levenberg-Marquardt in PyTorch (LeCun et al. 1998, Appendix C).

The twin of ``lenet_ref.numpy.curvature`` and ``lenet_ref.optim.SDLM``; see the first for
the three approximations of the curvature estimate and the second for the update.

``curvature(net, x, y)`` is the second-order backward pass: for each layer with weights,
the vector-Jacobian product of the layer run with its squared parameters on its squared
input (``torch.func.vjp`` of ``functional_call``) gives both d2E/dx^2 = sum_i w_ij^2 d2E/da_i^2
and, in the parameters, the sum over shared connections of d2E/da_i^2 x_j^2; the
activation contributes f'(a)^2.
"""

from __future__ import annotations

import torch
from torch.func import functional_call, vjp

from .. import spec
from ..optim import SDLM_MU, check_keep
from .layers import ACTIVATIONS


def rbf_loss_gauss_newton(x: torch.Tensor, centers: torch.Tensor, j: float = spec.RBF_LOSS_J):
    """(N, D): the diagonal of the Gauss-Newton matrix of Eq. (9) in the RBF layer's input,
    per pattern: 2 (from y_D) + diag(J^T H J) (from the log-sum-exp); the derivation is in
    ``lenet_ref.numpy.curvature.rbf_loss_gauss_newton``."""
    jac = 2 * (x[:, None, :] - centers.to(x.dtype))  # (N, K, D) dy_i/dx_d
    penalties = (jac * jac).sum(-1) / 4
    rubbish = penalties.new_full((len(x), 1), -j)
    q = torch.softmax(torch.cat([rubbish, -penalties], dim=1), dim=1)[:, 1:]  # (N, K)
    mean = torch.einsum("nk,nkd->nd", q, jac)
    return 2 + torch.einsum("nk,nkd->nd", q, jac * jac) - mean * mean


def _layer_curvature(module, layer: spec.Layer, d2out, x, pre_activation, h: dict):
    """One layer's second-order backward pass; adds its parameters' sums to ``h`` and
    returns d2E/dx^2 shaped like x."""
    if getattr(layer, "activation", None):  # Gauss-Newton: f'(a)^2, the f'' term dropped
        _, pullback = vjp(ACTIVATIONS[layer.activation], pre_activation)
        (fprime,) = pullback(torch.ones_like(pre_activation))
        d2out = d2out * fprime * fprime
    squared = {k: p.detach() ** 2 for k, p in module.named_parameters()}
    if squared:  # conv (its table gathered by the module itself), subsampling, dense
        _, pullback = vjp(lambda inp, prm: functional_call(module, prm, (inp,)), x * x, squared)
        d2x, sums = pullback(d2out)
        h.update({f"{layer.name}.{k}": v for k, v in sums.items()})
        return d2x
    _, pullback = vjp(module, x)  # parameter-free pooling
    (d2x,) = pullback(d2out)
    if layer.kind == "avg":  # each input weighs 1/size^2; the pullback applied it once
        d2x = d2x / layer.size**2
    return d2x  # max pooling: the winner's weight is 1, squared 1


@torch.no_grad()
def _forward_with_inputs(net, x):
    inputs, pre_activations = [], []
    for layer in net.spec_layers:
        inputs.append(x)
        x = getattr(net, layer.name)(x)
        pre_activations.append(x)
        if getattr(layer, "activation", None):
            x = ACTIVATIONS[layer.activation](x)
    return x, inputs, pre_activations


def curvature(net, x, y) -> dict[str, torch.Tensor]:
    """h_kk for every parameter of ``net`` (a ``lenet_ref.torch.LeNet5``), averaged over
    the patterns x: (N, 1, S, S) with labels y: (N,); keyed like ``net.state_dict()``."""
    ref = next(net.parameters())
    x = torch.as_tensor(x).to(ref.device, ref.dtype)
    out, inputs, pre_activations = _forward_with_inputs(net, x)
    layers = list(net.spec_layers)
    if net.rbf:  # start at F6's output with the Gauss-Newton term of Eq. (9)
        d2 = rbf_loss_gauss_newton(inputs[-1], net.output.centers)
        layers, inputs, pre_activations = layers[:-1], inputs[:-1], pre_activations[:-1]
    else:  # softmax cross-entropy: p (1 - p) at the logits
        p = torch.softmax(out, dim=1)
        d2 = p * (1 - p)
    h: dict[str, torch.Tensor] = {}
    for layer, inp, pre in reversed(list(zip(layers, inputs, pre_activations, strict=True))):
        d2 = _layer_curvature(getattr(net, layer.name), layer, d2, inp, pre, h)
    return {k: (h[k] / len(x)).detach() for k, _ in net.named_parameters()}


class SDLM(torch.optim.Optimizer):
    """Stochastic diagonal Levenberg-Marquardt: p -= lr * batch_size / (mu + h) * p.grad.

    ``lr`` is the paper's eta, ``h`` the curvature set by ``set_curvature`` before each
    pass. ``p.grad`` is the gradient of the batch's MEAN loss, so ``step(batch_size=B)``
    takes the sum of the B online steps from the same weights (``lenet_ref.optim.SDLM``
    says why); with B = 1 it is the paper's online update. ``keep``: "latest" (the paper)
    steps with the curvature just set, "max" with the largest set so far, per parameter
    (``lenet_ref.optim.SDLM`` says why).
    """

    def __init__(self, params, lr: float = 0.0005, mu: float = SDLM_MU, keep: str = "latest"):
        check_keep(keep)
        super().__init__(params, {"lr": lr, "mu": mu, "keep": keep})

    def set_curvature(self, curvature: dict[torch.nn.Parameter, torch.Tensor]) -> None:
        """h_kk of each parameter, a tensor shaped like it (all >= 0)."""
        keep = {p: group["keep"] for group in self.param_groups for p in group["params"]}
        for p, h in curvature.items():
            h = h.to(p.device, p.dtype)
            if keep[p] == "max" and "curvature" in self.state[p]:
                h = torch.maximum(self.state[p]["curvature"], h)
            self.state[p]["curvature"] = h

    @torch.no_grad()
    def step(self, closure=None, batch_size: int = 1):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if "curvature" not in self.state[p]:
                    raise RuntimeError("SDLM.step: estimate the curvature first (set_curvature)")
                step = (group["lr"] * batch_size) / (group["mu"] + self.state[p]["curvature"])
                p.sub_(step * p.grad)
        return loss
