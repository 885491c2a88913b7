"""Argument checks shared by the NumPy layers.

A wrong argument from a caller should fail at the call, with a message that names the
function, the argument and what was expected (STYLE.md, principle 2), not as a broadcast
error three frames deeper. Every message starts with ``"<function>: <argument> ..."``.
"""

from __future__ import annotations

import numpy as np


def float_array(fn: str, name: str, a, ndim: int | None = None, shape: str = "") -> np.ndarray:
    """``a`` as a floating-point array of ``ndim`` dimensions (any, if None).

    ``shape`` is the expected shape in words, e.g. ``"(N, C, H, W)"``, for the message.
    """
    a = np.asarray(a)
    if ndim is not None and a.ndim != ndim:
        raise ValueError(f"{fn}: {name} must have shape {shape} ({ndim}-D); got {a.shape}")
    if not np.issubdtype(a.dtype, np.floating):
        raise ValueError(f"{fn}: {name} must be a floating-point array; got dtype {a.dtype}")
    return a


def require_shape(fn: str, name: str, a: np.ndarray, ok: bool, expected: str) -> None:
    """Raise unless ``ok``; ``expected`` describes the shape wanted, e.g. ``"(F,) with F = 6"``."""
    if not ok:
        raise ValueError(f"{fn}: {name} must have shape {expected}; got {a.shape}")


def check_dout(fn: str, dout, shape: tuple[int, ...]) -> np.ndarray:
    """The upstream gradient of a backward pass: floating point, shaped like the output."""
    dout = float_array(fn, "dout", dout)
    require_shape(fn, "dout", dout, dout.shape == tuple(shape), f"{tuple(shape)} (the output's)")
    return dout


def check_labels(fn: str, y, num_samples: int, num_classes: int) -> np.ndarray:
    """Class labels: 1-D integers in [0, num_classes), one per sample."""
    y = np.asarray(y)
    if y.ndim != 1 or y.shape[0] != num_samples:
        raise ValueError(f"{fn}: y must have shape (N,) with N = {num_samples}; got {y.shape}")
    if not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"{fn}: y must hold integer class labels; got dtype {y.dtype}")
    if y.size and (y.min() < 0 or y.max() >= num_classes):
        raise ValueError(
            f"{fn}: y must hold labels in [0, {num_classes}); got values in [{y.min()}, {y.max()}]"
        )
    return y


def check_window(fn: str, x: np.ndarray, size: int) -> None:
    """Non-overlapping pooling needs H and W divisible by ``size``."""
    if not isinstance(size, (int, np.integer)) or size < 1:
        raise ValueError(f"{fn}: size must be a positive integer; got {size!r}")
    H, W = x.shape[2:]
    if H % size or W % size:
        raise ValueError(
            f"{fn}: x must have H and W divisible by size = {size} "
            f"(non-overlapping windows); got {x.shape}"
        )
