"""Pooling layers over non-overlapping size x size windows (stride = size).

- ``subsample``: LeCun's trainable subsampling, Sec. II.B of LeCun et al. 1998: "The four
  inputs to a unit in S2 are added, then multiplied by a trainable coefficient, and added
  to a trainable bias." One coefficient and one bias per map; the squashing function that
  follows in the paper is a separate layer (``activations``).
- ``avgpool`` and ``maxpool``: the parameter-free poolings of later networks.

Each one views x (N, C, H, W) as (N, C, H/s, s, W/s, s): axes 3 and 5 run over a window.
"""

from __future__ import annotations

import numpy as np

from ._checks import check_dout, check_window, float_array, require_shape


def _windows(fn: str, x, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Validate x and return it with its (N, C, H/s, s, W/s, s) window view."""
    x = float_array(fn, "x", x, 4, "(N, C, H, W)")
    check_window(fn, x, size)
    N, C, H, W = x.shape
    return x, x.reshape(N, C, H // size, size, W // size, size)


def _spread(dwin: np.ndarray, size: int) -> np.ndarray:
    """(N, C, H/s, W/s) per-window gradient -> (N, C, H, W), the same value over each window."""
    N, C, H_out, W_out = dwin.shape
    dx = np.broadcast_to(dwin[:, :, :, None, :, None], (N, C, H_out, size, W_out, size))
    return dx.reshape(N, C, H_out * size, W_out * size)  # reshape of a broadcast copies


def subsample_forward(x, coef, bias, size=2):
    """LeCun's subsampling: out = coef * (sum of each window) + bias, per map.

    Inputs:
    - x: (N, C, H, W), H and W divisible by size.
    - coef, bias: (C,) trainable coefficient and bias of each map.

    Returns (out, cache): out (N, C, H/size, W/size); cache = (window_sums, coef, size)
    with window_sums (N, C, H/size, W/size).
    """
    fn = "subsample_forward"
    x, win = _windows(fn, x, size)
    C = x.shape[1]
    coef = float_array(fn, "coef", coef)
    require_shape(fn, "coef", coef, coef.shape == (C,), f"(C,) with C = {C} matching x")
    bias = float_array(fn, "bias", bias)
    require_shape(fn, "bias", bias, bias.shape == (C,), f"(C,) with C = {C} matching x")
    window_sums = win.sum(axis=(3, 5))  # (N, C, H/s, W/s)
    out = coef[:, None, None] * window_sums + bias[:, None, None]
    return out.astype(x.dtype, copy=False), (window_sums, coef, size)


def subsample_backward(dout, cache):
    """Returns (dx, dcoef, dbias) of shapes (N, C, H, W), (C,), (C,)."""
    window_sums, coef, size = cache
    dout = check_dout("subsample_backward", dout, window_sums.shape)
    dcoef = (dout * window_sums).sum(axis=(0, 2, 3))
    dbias = dout.sum(axis=(0, 2, 3))
    dx = _spread(dout * coef[:, None, None], size)  # every input of a window weighs coef
    return dx, dcoef, dbias


def avgpool_forward(x, size=2):
    """Average pooling. x (N, C, H, W) -> out (N, C, H/size, W/size); cache = (x.shape, size)."""
    x, win = _windows("avgpool_forward", x, size)
    return win.mean(axis=(3, 5)), (x.shape, size)


def avgpool_backward(dout, cache):
    """Returns dx (N, C, H, W): each input gets dout of its window / size**2."""
    (N, C, H, W), size = cache
    dout = check_dout("avgpool_backward", dout, (N, C, H // size, W // size))
    return _spread(dout / size**2, size)


def maxpool_forward(x, size=2):
    """Max pooling. x (N, C, H, W) -> out (N, C, H/size, W/size).

    cache = (x.shape, argmax, size), argmax (N, C, H/s, W/s) the row-major position in its
    window of the first maximum: the backward pass sends the whole gradient there, as
    PyTorch's max_pool2d does when a window holds several equal maxima.
    """
    x, win = _windows("maxpool_forward", x, size)
    N, C, H, W = x.shape
    flat = win.transpose(0, 1, 2, 4, 3, 5).reshape(N, C, H // size, W // size, size * size)
    argmax = flat.argmax(axis=-1)  # np.argmax returns the first of equal maxima
    out = np.take_along_axis(flat, argmax[..., None], axis=-1)[..., 0]
    return out, (x.shape, argmax, size)


def maxpool_backward(dout, cache):
    """Returns dx (N, C, H, W): dout goes to the (first) maximum of each window, 0 elsewhere."""
    (N, C, H, W), argmax, size = cache
    dout = check_dout("maxpool_backward", dout, argmax.shape)
    dflat = np.zeros((*argmax.shape, size * size), dtype=dout.dtype)
    np.put_along_axis(dflat, argmax[..., None], dout[..., None], axis=-1)
    dx = dflat.reshape(N, C, H // size, W // size, size, size).transpose(0, 1, 2, 4, 3, 5)
    return dx.reshape(N, C, H, W)
