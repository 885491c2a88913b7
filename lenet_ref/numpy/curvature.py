"""The diagonal Gauss-Newton estimate of Appendix C of LeCun et al. 1998, in NumPy.

The stochastic diagonal Levenberg-Marquardt method (``lenet_ref.optim.SDLM``) gives each
parameter w_k the step size eta / (mu + h_kk); h_kk estimates the second derivative of
the loss with respect to w_k. Appendix C computes it by back-propagating second
derivatives as the gradient is back-propagated, with three approximations:

- Gauss-Newton: the term in f''(a) is dropped, so a unit's second derivative is
  d2E/da^2 = f'(a)^2 d2E/dx^2, never negative;
- diagonal: d2E/dx_j^2 = sum_i w_ij^2 d2E/da_i^2, the cross terms between the units
  that x_j feeds are dropped;
- shared weights: h_kk is the sum over the connections (i, j) that share w_k of
  d2E/da_i^2 x_j^2.

So the second-order pass is the ordinary backward pass of every layer run with the
squared weights on the squared inputs (``conv_backward`` of ``conv_forward(x**2, w**2)``
gives both sums at once), and the activation's derivative squared.

At the output the pass starts from the Gauss-Newton term of the loss itself, at F6's
output for the RBF head and Eq. (9) (``rbf_loss_gauss_newton``), at the logits for the
softmax head (p (1 - p)).

``curvature`` returns the mean over the patterns of the per-pattern estimates, keyed like
``LeNet5.params``: h_kk of the pattern-wise loss E^p, the paper's quantity, not of the
batch mean.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .. import spec
from ..params import table_index
from ._checks import check_labels
from .activations import activation_backward, activation_forward
from .conv import conv_backward, conv_forward
from .dense import fc_backward, fc_forward
from .losses import _log_softmax
from .pool import (
    avgpool_backward,
    maxpool_backward,
    maxpool_forward,
    subsample_backward,
    subsample_forward,
)
from .rbf import rbf_forward


def rbf_loss_gauss_newton(x, centers, j=spec.RBF_LOSS_J):
    """The diagonal of the Gauss-Newton matrix of Eq. (9) with respect to the RBF layer's
    input, per pattern.

    Inputs:
    - x: (N, D) F6's outputs.
    - centers: (K, D) the RBF codes.

    Returns (N, D). Eq. (9) is E = y_D + log(e^-j + sum_i e^-y_i) with the penalties
    y_i = sum_d (x_d - c_id)^2 (Eq. 7). Each of its two terms is a convex function of an
    inner map, and Gauss-Newton keeps the outer Hessian between the inner Jacobians:
    - y_D is the squared error of the residuals x - c_D (the MSE criterion, Eq. 8),
      linear in x: its Gauss-Newton term is its Hessian, 2 on every coordinate;
    - the log-sum-exp is convex in the logits -y, Hessian H = diag(q) - q q^T with
      q = softmax(-j, -y_0, ..., -y_{K-1})[1:]; with J_id = dy_i/dx_d = 2 (x_d - c_id),
      (J^T H J)_dd = sum_i q_i J_id^2 - (sum_i q_i J_id)^2 >= 0 (the variance of J_.d
      under q, the rubbish class having J = 0).
    What is left out is the log-sum-exp's curvature through the RBF, -2 sum_i q_i on every
    coordinate: the exact diagonal is this one minus 2 sum_i q_i (a test checks it).
    Without the 2 of y_D the estimate would vanish at the start, where every penalty is
    large and q ~ 0, and give every weight the largest step, eta / mu.
    """
    penalties, (diff,) = rbf_forward(x, centers)  # diff (N, K, D)
    N = len(penalties)
    z = np.concatenate([np.full((N, 1), -j, dtype=penalties.dtype), -penalties], axis=1)
    q = np.exp(_log_softmax(z))[:, 1:]  # (N, K)
    jac = 2 * diff  # (N, K, D)
    mean = np.einsum("nk,nkd->nd", q, jac)
    return 2 + np.einsum("nk,nkd->nd", q, jac * jac) - mean * mean


def softmax_gauss_newton(logits):
    """The diagonal of the Hessian of the cross-entropy in the logits, p (1 - p), (N, K):
    softmax cross-entropy is convex in the logits, so this is already its Gauss-Newton term."""
    p = np.exp(_log_softmax(logits))
    return p * (1 - p)


def layer_curvature(net, layer: spec.Layer, d2out, x: np.ndarray, act_cache, h: dict):
    """The second-order backward pass of one layer (Appendix C).

    d2out: (N, ...) d2E/d(out)^2 per pattern at the layer's output (after its
    activation); x: the layer's input. Adds the sum over patterns and over shared
    connections of the layer's parameters' second derivatives to ``h`` and returns
    d2E/dx^2, shaped like x.
    """
    if act_cache is not None:  # Gauss-Newton: f'(a)^2, the f''(a) dE/dx term dropped
        fprime = activation_backward(np.ones_like(d2out), act_cache)
        d2out = d2out * fprime * fprime
    name = layer.name
    p = {k.split(".", 1)[1]: v for k, v in net.params.items() if k.startswith(name + ".")}
    x2 = x * x
    if isinstance(layer, spec.Conv):
        w = p["weight"] if layer.table is None else net._dense_kernel(layer, p["weight"])
        zeros = np.zeros_like(p["bias"])
        _, cache = conv_forward(x2, w * w, zeros, mask=layer.mask(), pad=layer.pad)
        d2x, hw, h[f"{name}.bias"] = conv_backward(d2out, cache)
        h[f"{name}.weight"] = hw if layer.table is None else hw[table_index(layer)]
    elif isinstance(layer, spec.Pool) and layer.kind == "subsample":
        coef = p["coef"]
        _, cache = subsample_forward(x2, coef * coef, np.zeros_like(p["bias"]), size=layer.size)
        d2x, h[f"{name}.coef"], h[f"{name}.bias"] = subsample_backward(d2out, cache)
    elif isinstance(layer, spec.Pool) and layer.kind == "avg":  # each input weighs 1/size^2
        d2x = avgpool_backward(d2out / layer.size**2, (x.shape, layer.size))
    elif isinstance(layer, spec.Pool):  # max: the winner's weight is 1, the others' 0
        d2x = maxpool_backward(d2out, maxpool_forward(x, size=layer.size)[1])
    elif isinstance(layer, spec.Dense):
        w = p["weight"]
        _, cache = fc_forward(x2, w * w, np.zeros_like(p["bias"]))
        d2x, h[f"{name}.weight"], h[f"{name}.bias"] = fc_backward(d2out, cache)
    else:
        raise ValueError(f"layer_curvature: the RBF output {name!r} is the loss's, not a layer's")
    return d2x.reshape(x.shape)


def _second_order_pass(net, x: np.ndarray, y: np.ndarray):
    """The forward pass and Appendix C's second-order pass on the patterns x, y: returns
    (h summed over the patterns, each layer's input, each layer's activation cache, each
    layer's d2E/d(out)^2 per pattern), the last three keyed by layer name."""
    check_labels("curvature", y, len(x), spec.NUM_CLASSES)
    if x.dtype != net.dtype:
        x = x.astype(net.dtype)
    inputs, act_caches = [], []
    for layer in net.layers:
        inputs.append(x)
        x, (_, act_cache) = net.layer_forward(layer, x)
        act_caches.append(act_cache)
    layers = list(net.layers)
    if net.rbf:  # start at F6's output with the Gauss-Newton term of Eq. (9)
        d2 = rbf_loss_gauss_newton(inputs[-1], net.prototypes).astype(net.dtype)
        layers, inputs, act_caches = layers[:-1], inputs[:-1], act_caches[:-1]
    else:
        d2 = softmax_gauss_newton(x)
    h: dict[str, np.ndarray] = {}
    d2_out = {}
    for layer, inp, act_cache in reversed(list(zip(layers, inputs, act_caches, strict=True))):
        d2_out[layer.name] = d2
        d2 = layer_curvature(net, layer, d2, inp, act_cache, h)
    names = [layer.name for layer in layers]
    return (h, dict(zip(names, inputs, strict=True)), dict(zip(names, act_caches, strict=True)),
            d2_out)  # fmt: skip


def curvature(net, x: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
    """h_kk for every parameter of ``net`` (a ``lenet_ref.numpy.LeNet5``), averaged over
    the patterns x: (N, 1, S, S) with labels y: (N,). Keyed and shaped like ``net.params``;
    every entry >= 0."""
    h = _second_order_pass(net, x, y)[0]
    N = len(y)
    return {k: (h[k] / N).astype(net.dtype) for k in net.params}


SATURATED = 0.1  # a unit is saturated on a pattern where f'(a) < SATURATED * f'(0)


def curvature_factors(net, x: np.ndarray, y: np.ndarray, layer: str = "C5") -> dict[str, float]:
    """What the curvature of ``layer``'s weights is made of, on the patterns x, y.

    A weight w_ij's h_kk is the mean over the patterns of f'(a_i)^2 d2E/dx_i^2 x_j^2: the
    squared slope of its unit's squashing function, the second derivative that reaches the
    unit's output from the layers above, and its input squared. Returns, as floats:
    - ``weight_rms``: the root mean square of the layer's weights;
    - ``sum_sd``: the standard deviation of its units' weighted sums a over units and
      patterns (the scaled tanh leaves its linear range past |a| ~ 1);
    - ``saturated``: the fraction of (unit, pattern) pairs where f'(a) < SATURATED f'(0);
    - ``slope2``: the mean of (f'(a) / f'(0))^2;
    - ``input2``: the mean of its inputs squared, x_j^2;
    - ``d2_out``: the mean of d2E/dx_i^2 at its units' outputs;
    - ``median_h``: the median h_kk of its weights (what ``curvature_summary`` records).
    Only for a convolution or dense layer with a squashing activation (scaled_tanh, tanh,
    sigmoid).
    """
    weighted = (spec.Conv, spec.Dense)
    found = {lay.name: lay for lay in net.layers
             if isinstance(lay, weighted) and lay.activation not in (None, "relu")}  # fmt: skip
    if layer not in found:
        raise ValueError(
            "curvature_factors: layer must be a weighted layer with a squashing activation, "
            f"one of {list(found)}; got {layer!r}"
        )
    h, inputs, act_caches, d2_out = _second_order_pass(net, x, y)
    cache = act_caches[layer]
    slope = activation_backward(np.ones_like(cache[1][0]), cache)
    zero = np.zeros(1, dtype=net.dtype)
    _, zero_cache = activation_forward(zero, found[layer].activation)
    slope0 = float(activation_backward(np.ones_like(zero), zero_cache)[0])
    weighted_sum = _weighted_sum(net, found[layer], inputs[layer])
    ratio = slope / slope0
    return {
        "weight_rms": float(np.sqrt(np.mean(net.params[f"{layer}.weight"] ** 2))),
        "sum_sd": float(np.std(weighted_sum)),
        "saturated": float(np.mean(ratio < SATURATED)),
        "slope2": float(np.mean(ratio**2)),
        "input2": float(np.mean(inputs[layer] ** 2)),
        "d2_out": float(np.mean(d2_out[layer])),
        "median_h": float(np.median(h[f"{layer}.weight"] / len(y))),
    }


def _weighted_sum(net, layer: spec.Layer, x: np.ndarray) -> np.ndarray:
    """The layer's weighted sums a (before its activation) on its input x."""
    return net.layer_forward(dataclasses.replace(layer, activation=None), x)[0]
