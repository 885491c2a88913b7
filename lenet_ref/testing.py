"""Gradient checks, for the test suite and for the exercise notebooks.

In the style of CS231n's ``gradient_check.py``: the gradient of a scalar ``sum(f(x) * dout)``
with a random ``dout`` is estimated by central differences and compared with the analytic
one, in float64, by a relative error with a floor. A failure names the function, the
argument, the worst index and both values, so a student knows where to look.

NumPy only: importing this module never imports torch.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np


def rel_error(a, b) -> float:
    """max |a - b| / max(|a| + |b|, 1e-8), elementwise then the maximum.

    The floor keeps two tiny numbers (two gradients that are both about zero) from
    counting as a large relative error.
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(_rel_errors(a, b), initial=0.0))


def _rel_errors(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), 1e-8)


def _output(result):
    """A forward function returns out or (out, cache); a loss returns (loss, grad)."""
    return result[0] if isinstance(result, tuple) else result


def numerical_gradient(
    f: Callable[[np.ndarray], object],
    x: np.ndarray,
    dout,
    h: float = 1e-6,
    indices=None,
) -> np.ndarray:
    """Central differences of sum(f(x) * dout) with respect to x.

    f(x) returns an array shaped like dout (or a tuple whose first element is one, as the
    forward passes return (out, cache)). x is changed in place one entry at a time and
    restored. ``indices``: None for every entry, else an iterable of index tuples; the
    entries not computed are left 0. Returns an array shaped like x.
    """
    if not np.issubdtype(x.dtype, np.floating):
        raise ValueError(f"numerical_gradient: x must be a floating-point array; got {x.dtype}")
    grad = np.zeros(x.shape, dtype=np.float64)
    if indices is None:
        indices = np.ndindex(*x.shape)
    for ix in indices:
        original = x[ix]
        try:
            x[ix] = original + h
            plus = np.array(_output(f(x)), dtype=np.float64)  # a copy: f may reuse memory
            x[ix] = original - h
            minus = np.array(_output(f(x)), dtype=np.float64)
        finally:
            x[ix] = original
        # Subtract before summing: the outputs that x[ix] does not reach cancel exactly,
        # instead of adding their rounding errors to the sum.
        grad[ix] = np.sum((plus - minus) * dout) / (2 * h)
    return grad


def check_gradient(
    name: str,
    f: Callable[..., object],
    inputs: Mapping[str, np.ndarray],
    arg: str,
    analytic,
    dout,
    tol: float = 1e-7,
    samples: int | None = None,
    seed: int = 0,
    h: float = 1e-6,
) -> float:
    """Compare the analytic gradient of ``arg`` with central differences.

    Inputs:
    - name: the function's name, for the message (e.g. "conv_backward").
    - f: called as f(**inputs); returns the output (or (output, cache)).
    - inputs: the arguments of f; inputs[arg] must be a float64 array. It is changed
      in place during the check and restored.
    - arg: which argument the gradient is for.
    - analytic: the gradient to check, shaped like inputs[arg].
    - dout: the upstream gradient the analytic one was computed with (1.0 for a loss).
    - samples: check this many random entries (drawn with ``seed``); None for all.

    Returns the largest relative error. Raises AssertionError, naming the function, the
    argument, the worst index and both values, when it exceeds ``tol``.
    """
    x = inputs[arg]
    if not isinstance(x, np.ndarray) or x.dtype != np.float64:
        raise ValueError(
            f"check_gradient: {name}: inputs[{arg!r}] must be a float64 array "
            "(central differences are meaningless in float32)"
        )
    analytic = np.asarray(analytic)
    if analytic.shape != x.shape:
        raise AssertionError(
            f"{name}: the gradient of {arg} has shape {analytic.shape}, but {arg} has {x.shape}"
        )
    if samples is None or samples >= x.size:
        indices = list(np.ndindex(*x.shape))
    else:
        flat = np.random.default_rng(seed).choice(x.size, size=samples, replace=False)
        indices = [np.unravel_index(i, x.shape) for i in flat]

    def f_of_arg(value):
        return f(**{**inputs, arg: value})

    numeric = numerical_gradient(f_of_arg, x, dout, h=h, indices=indices)
    picked = tuple(np.array(indices).T)
    errors = _rel_errors(analytic[picked].astype(np.float64), numeric[picked])
    worst = int(np.argmax(errors))
    if not errors[worst] <= tol:  # also fails on NaN
        ix = tuple(int(i) for i in indices[worst])
        raise AssertionError(
            f"{name}: gradient of {arg} is wrong at index {ix}: analytic {float(analytic[ix])!r}, "
            f"numerical {float(numeric[ix])!r} (relative error {errors[worst]:.2e} > tol {tol:.0e})"
        )
    return float(errors[worst])
