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
(one matrix product each way), which training uses. The tests hold them equal to 1e-10.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ._checks import check_dout, float_array, require_shape


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
    dout = check_dout("conv_backward_naive", dout, (N, F, H_out, W_out))
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
    return np.ascontiguousarray(dx), dw, db


# --- Fast: one matrix product on whole input rows --------------------------------------
#
# The textbook fast convolution is im2col: copy every KH x KW window into a column and do
# one matrix product (GEMM) with the kernels as rows. For LeNet's small maps that copy is
# KH*KW = 25 times the input, and moving it costs more than the arithmetic (col2im, its
# backward, even more: 25 strided additions). On a 2-core machine we timed im2col in
# several layouts, np.einsum(optimize=True), np.tensordot, a batched product per image,
# im2col in chunks of the batch, and the variant below with the row cut into blocks; this
# variant was the fastest, by 1.2x to 1.8x on LeNet's C1 and C3 forward + backward (im2col
# is as fast on C5, whose output is 1x1):
#
# - im2row: for each output row i, lay out the KH whole input rows it reads, i + kh for
#   kh < KH, side by side: rows[n, i, kh, c, x] = xpad[n, c, i + kh, x]. That copies the
#   input only KH = 5 times, in contiguous runs.
# - banded weights: along a row, the KW taps of a kernel become a banded matrix,
#   band[kh, c, x, f, j] = w[f, c, kh, x - j] for 0 <= x - j < KW (else 0), so that
#   out[n, f, i, j] = sum_{kh, c, x} rows[n, i, kh, c, x] * band[kh, c, x, f, j]
#   is one GEMM: (N*H_out, KH*C*W_in) @ (KH*C*W_in, F*W_out).
#
# The band is mostly zeros (it multiplies W_in / KW times more than it needs: 6.4 for C1,
# 2.8 for C3, 1 for C5), but BLAS does that extra arithmetic faster than NumPy moves the
# im2col copy. The tests hold both against the naive loops to 1e-10.


def _banded_weights(w: np.ndarray, W_in: int) -> np.ndarray:
    """The (KH, C, W_in, F, W_out) band with band[kh, c, x, f, j] = w[f, c, kh, x - j]."""
    F, C, KH, KW = w.shape
    W_out = W_in - KW + 1
    band = np.zeros((KH, C, W_in, F, W_out), dtype=w.dtype)
    j = np.arange(W_out)
    w_t = w.transpose(2, 1, 3, 0)  # (KH, C, KW, F)
    for kw in range(KW):
        # the two index arrays pair up (x = j + kw, j); their axis goes first: (W_out, KH, C, F)
        band[:, :, j + kw, :, j] = w_t[:, :, kw]
    return band


def conv_forward(x, w, b, mask=None, pad=0):
    """Convolution forward pass, vectorised (im2row + one GEMM with a banded weight matrix).

    Same arguments and output as ``conv_forward_naive``. The output has the dtype of
    x and w (float32 stays float32).

    Returns (out, cache); cache = (x_shape, w_shape, rows, band, mask, pad) where rows is the
    (N*H_out, KH*C*W_in) im2row matrix and band the (KH*C*W_in, F*W_out) banded weights
    (W_in = W + 2 pad), both reused by the backward pass.
    """
    x, w, b, mask = _check_conv_args("conv_forward", x, w, b, mask, pad)
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    H_in, W_in = H + 2 * pad, W + 2 * pad
    H_out, W_out = H_in - KH + 1, W_in - KW + 1
    x_rows = np.ascontiguousarray(_pad(x, pad).transpose(0, 2, 1, 3))  # (N, H_in, C, W_in)
    # window kh of output row i is input row i + kh: (N, KH, C, W_in, H_out) -> rows
    rows = sliding_window_view(x_rows, H_out, axis=1).transpose(0, 4, 1, 2, 3)
    rows = rows.reshape(N * H_out, KH * C * W_in)
    # An absent connection (Table I) is a zero kernel; bool * float keeps w's dtype.
    band = _banded_weights(w * mask[:, :, None, None], W_in).reshape(KH * C * W_in, F * W_out)
    out_rows = (rows @ band).reshape(N, H_out, F, W_out)
    out = np.empty((N, F, H_out, W_out), dtype=out_rows.dtype)
    np.add(out_rows.transpose(0, 2, 1, 3), b[:, None, None], out=out, casting="same_kind")
    return out, (x.shape, w.shape, rows, band, mask, pad)


def conv_backward(dout, cache):
    """Convolution backward pass, vectorised.

    Inputs:
    - dout: (N, F, H_out, W_out) upstream gradient.
    - cache: from ``conv_forward``.

    Returns (dx, dw, db) of shapes (N, C, H, W), (F, C, KH, KW), (F,); dw is exactly
    zero where mask is 0.
    """
    (N, C, H, W), (F, _, KH, KW), rows, band, mask, pad = cache
    H_in, W_in = H + 2 * pad, W + 2 * pad
    H_out, W_out = H_in - KH + 1, W_in - KW + 1
    dout = check_dout("conv_backward", dout, (N, F, H_out, W_out))
    db = dout.sum(axis=(0, 2, 3))
    dout_rows = dout.transpose(0, 2, 1, 3).reshape(N * H_out, F * W_out)  # like rows @ band
    # dw: the gradient of the band, then summed along each diagonal x - j = kw.
    dband = (rows.T @ dout_rows).reshape(KH, C, W_in, F, W_out)
    j = np.arange(W_out)
    dw = np.empty((F, C, KH, KW), dtype=dband.dtype)
    for kw in range(KW):
        dw[:, :, :, kw] = dband[:, :, j + kw, :, j].sum(axis=0).transpose(2, 1, 0)
    dw *= mask[:, :, None, None]  # no gradient for kernels that do not exist
    # dx: the gradient of rows, added back into the input rows they were copied from.
    drows = (dout_rows @ band.T).reshape(N, H_out, KH, C, W_in)
    dx_rows = np.zeros((N, H_in, C, W_in), dtype=drows.dtype)
    for kh in range(KH):
        dx_rows[:, kh : kh + H_out] += drows[:, :, kh]
    dx = dx_rows.transpose(0, 2, 1, 3)[:, :, pad : pad + H, pad : pad + W]  # (N, C, H, W)
    return np.ascontiguousarray(dx), dw, db
