"""Convolution layers: the paper's "convolution", which is a cross-correlation.

Sec. II.B of LeCun et al. 1998: each unit of a feature map takes inputs from a 5x5
neighbourhood of the previous layer, every unit of the map sharing the same weights and
bias. Written out, that is a cross-correlation (the kernel is not flipped), as in every
deep-learning library:

    out[n, f, i, j] = b[f] + sum_c mask[f, c] * sum_{k, l} xpad[n, c, i + k, j + l] * w[f, c, k, l]

``mask`` is a connection table as an (F, C) 0/1 array: output map f reads input map c
only where mask[f, c] (Table I, which C3 uses, in ``spec.C3_TABLE``). Stride is always 1.
Here w is always the dense (F, C, KH, KW) array; the model unpacks the packed
per-connection weights of ``spec.Conv`` into it.

Two versions with the same signatures: ``conv_forward_naive`` / ``conv_backward_naive``
are loops, the specification; ``conv_forward`` / ``conv_backward`` are the fast ones
(im2col and one matrix product), which training uses. The tests hold them equal to 1e-10.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ._checks import float_array, gradient, require_shape


def _check_conv_args(fn: str, x, w, b, mask, pad):
    """Validate the arguments of a convolution; return x, w, b and mask as a boolean (F, C)."""
    x = float_array(fn, "x", x, 4, "(N, C, H, W)")
    w = float_array(fn, "w", w, 4, "(F, C, KH, KW)")
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    require_shape(fn, "w", w, w.shape[1] == C, f"(F, C, KH, KW) with C = {C} matching x")
    b = float_array(fn, "b", b)
    require_shape(fn, "b", b, b.shape == (F,), f"(F,) with F = {F} matching w")
    if not isinstance(pad, (int, np.integer)) or pad < 0:
        raise ValueError(f"{fn}: pad must be a non-negative integer; got {pad!r}")
    if H + 2 * pad < KH or W + 2 * pad < KW:
        raise ValueError(
            f"{fn}: w must have a kernel no larger than the padded input "
            f"({H + 2 * pad}, {W + 2 * pad}); got {w.shape}"
        )
    if mask is None:
        return x, w, b, np.ones((F, C), dtype=bool)
    mask = np.asarray(mask)
    require_shape(fn, "mask", mask, mask.shape == (F, C), f"(F, C) = {(F, C)} matching w")
    if mask.dtype != bool and not np.isin(mask, (0, 1)).all():
        raise ValueError(f"{fn}: mask must be boolean or hold only 0 and 1")
    return x, w, b, mask.astype(bool)


def _pad(x: np.ndarray, pad: int) -> np.ndarray:
    """Zero padding of ``pad`` on each side of H and W: (N, C, H + 2pad, W + 2pad)."""
    if pad == 0:
        return x
    return np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))


# --- Naive: the loops a student writes --------------------------------------------------


def conv_forward_naive(x, w, b, mask=None, pad=0):
    """Convolution (cross-correlation) forward pass, with explicit loops.

    Inputs:
    - x: (N, C, H, W) input maps.
    - w: (F, C, KH, KW) kernels.
    - b: (F,) biases, one per output map (Sec. II.B: weights and bias shared across a map).
    - mask: None (every output map reads every input map) or (F, C) boolean / 0-1
      connection table.
    - pad: zeros added on each side of H and W.

    Returns (out, cache):
    - out: (N, F, H_out, W_out), H_out = H + 2 pad - KH + 1, W_out = W + 2 pad - KW + 1.
    - cache: (x, w, b, mask, pad), mask as a boolean (F, C) array.
    """
    x, w, b, mask = _check_conv_args("conv_forward_naive", x, w, b, mask, pad)
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    xpad = _pad(x, pad)
    H_out, W_out = H + 2 * pad - KH + 1, W + 2 * pad - KW + 1
    out = np.zeros((N, F, H_out, W_out), dtype=np.result_type(x, w))
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    total = b[f]
                    for c in range(C):
                        if mask[f, c]:  # Table I: is map f connected to map c?
                            total += np.sum(xpad[n, c, i : i + KH, j : j + KW] * w[f, c])
                    out[n, f, i, j] = total
    return out, (x, w, b, mask, pad)


def conv_backward_naive(dout, cache):
    """Convolution backward pass, with explicit loops.

    Inputs:
    - dout: (N, F, H_out, W_out) upstream gradient.
    - cache: from ``conv_forward_naive``.

    Returns (dx, dw, db) of shapes (N, C, H, W), (F, C, KH, KW), (F,); dw is zero where
    mask is 0 (those kernels do not exist).
    """
    x, w, b, mask, pad = cache
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    H_out, W_out = H + 2 * pad - KH + 1, W + 2 * pad - KW + 1
    dout = gradient("conv_backward_naive", dout, (N, F, H_out, W_out))
    xpad = _pad(x, pad)
    dxpad = np.zeros_like(xpad)
    dw = np.zeros_like(w)
    db = np.zeros_like(b)
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    g = dout[n, f, i, j]
                    db[f] += g
                    for c in range(C):
                        if mask[f, c]:
                            dw[f, c] += g * xpad[n, c, i : i + KH, j : j + KW]
                            dxpad[n, c, i : i + KH, j : j + KW] += g * w[f, c]
    dx = dxpad[:, :, pad : pad + H, pad : pad + W]
    return dx, dw, db


# --- Fast: im2col and one matrix product -------------------------------------------------
#
# im2col lays every KH x KW window of every input map out as a column, so that the
# convolution becomes one matrix product (GEMM) with the kernels as rows:
#     cols: (C*KH*KW, N*H_out*W_out),  w: (F, C*KH*KW)  ->  w @ cols: (F, N*H_out*W_out)
# The column order (C, KH, KW) x (N, H_out, W_out) was the fastest of those we timed
# (rows (N, H_out, W_out) x (C, KH, KW), a batched product per image, np.einsum with
# optimize=True and np.tensordot on the window view were slower): copying the window view
# into this order keeps runs of W_out contiguous, and the product has few rows (F) and many
# long columns, which BLAS handles well. The transposition of the result to
# (N, F, H_out, W_out) is small.


def conv_forward(x, w, b, mask=None, pad=0):
    """Convolution forward pass, vectorised (im2col + one GEMM).

    Same arguments and output as ``conv_forward_naive``. The output has the dtype of
    x and w (float32 stays float32).

    Returns (out, cache); cache = (x_shape, cols, w_masked, mask, pad) where cols is the
    (C*KH*KW, N*H_out*W_out) im2col matrix, reused by the backward pass for dw.
    """
    x, w, b, mask = _check_conv_args("conv_forward", x, w, b, mask, pad)
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    xpad = _pad(x, pad)
    windows = sliding_window_view(xpad, (KH, KW), axis=(2, 3))  # (N, C, H_out, W_out, KH, KW)
    H_out, W_out = windows.shape[2:4]
    cols = windows.transpose(1, 4, 5, 0, 2, 3).reshape(C * KH * KW, N * H_out * W_out)
    # An absent connection is a zero kernel; bool * float keeps w's dtype.
    w_masked = w * mask[:, :, None, None]
    out = w_masked.reshape(F, C * KH * KW) @ cols  # (F, N*H_out*W_out)
    out = out.reshape(F, N, H_out, W_out).transpose(1, 0, 2, 3)  # (N, F, H_out, W_out)
    out = np.ascontiguousarray(out)
    out += b[:, None, None]
    return out, ((N, C, H, W), cols, w_masked, mask, pad)


def conv_backward(dout, cache):
    """Convolution backward pass, vectorised.

    Inputs:
    - dout: (N, F, H_out, W_out) upstream gradient.
    - cache: from ``conv_forward``.

    Returns (dx, dw, db) of shapes (N, C, H, W), (F, C, KH, KW), (F,); dw is exactly
    zero where mask is 0.
    """
    (N, C, H, W), cols, w_masked, mask, pad = cache
    F, _, KH, KW = w_masked.shape
    H_out, W_out = H + 2 * pad - KH + 1, W + 2 * pad - KW + 1
    dout = gradient("conv_backward", dout, (N, F, H_out, W_out))
    db = dout.sum(axis=(0, 2, 3))
    dout2 = dout.transpose(1, 0, 2, 3).reshape(F, N * H_out * W_out)  # rows match out's GEMM
    dw = (dout2 @ cols.T).reshape(F, C, KH, KW)
    dw *= mask[:, :, None, None]  # no gradient for kernels that do not exist
    # col2im: each column entry came from one input pixel; add the column gradients back
    # into the pixels they came from, one shift (k, l) of the kernel at a time.
    dcols = (w_masked.reshape(F, C * KH * KW).T @ dout2).reshape(C, KH, KW, N, H_out, W_out)
    dxpad = np.zeros((C, N, H + 2 * pad, W + 2 * pad), dtype=dcols.dtype)
    for kh in range(KH):
        for kw in range(KW):
            dxpad[:, :, kh : kh + H_out, kw : kw + W_out] += dcols[:, kh, kw]
    dx = dxpad[:, :, pad : pad + H, pad : pad + W].transpose(1, 0, 2, 3)  # (N, C, H, W)
    return np.ascontiguousarray(dx), dw, db
