"""The fully connected layer (F6 of LeNet-5, and the softmax head of the modern variant).

Sec. II.B: "units in layer F6 compute a dot product between their input vector and their
weight vector, to which a bias is added." The weight has PyTorch's nn.Linear layout
(M, D), so that weights move between the NumPy and the PyTorch networks unchanged.
"""

from __future__ import annotations

import numpy as np

from ._checks import check_dout, float_array, require_shape


def fc_forward(x, w, b):
    """Fully connected forward pass: out = x2d @ w.T + b.

    Inputs:
    - x: (N, d1, ..., dk), flattened to (N, D), D = d1 * ... * dk; a (N, 120, 1, 1) C5
      output feeds F6 directly.
    - w: (M, D).
    - b: (M,).

    Returns (out, cache): out (N, M); cache = (x, w).
    """
    fn = "fc_forward"
    x = float_array(fn, "x", x)
    if x.ndim < 2:
        raise ValueError(f"{fn}: x must have shape (N, d1, ..., dk) (at least 2-D); got {x.shape}")
    N, D = x.shape[0], int(np.prod(x.shape[1:]))
    w = float_array(fn, "w", w, 2, "(M, D)")
    require_shape(fn, "w", w, w.shape[1] == D, f"(M, D) with D = {D} matching x")
    b = float_array(fn, "b", b)
    M = w.shape[0]
    require_shape(fn, "b", b, b.shape == (M,), f"(M,) with M = {M} matching w")
    out = x.reshape(N, D) @ w.T + b  # (N, M)
    return out, (x, w)


def fc_backward(dout, cache):
    """Returns (dx, dw, db): dx in x's original shape (N, d1, ..., dk), dw (M, D), db (M,)."""
    x, w = cache
    N, M = x.shape[0], w.shape[0]
    dout = check_dout("fc_backward", dout, (N, M))
    dx = (dout @ w).reshape(x.shape)
    dw = dout.T @ x.reshape(N, -1)
    db = dout.sum(axis=0)
    return dx, dw, db
