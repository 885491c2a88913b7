"""Compare what an answer returned with what it should have, and say what is wrong the way a
teacher would: which output, at which index, expected and received values, and, where the
received values match a known mistake, the name of that mistake."""

from __future__ import annotations

import numpy as np

from ..testing import rel_error


def _show(a: np.ndarray) -> str:
    text = np.array2string(np.asarray(a), precision=4, suppress_small=True, threshold=24)
    return text.replace("\n", "\n    ")


def same_shape(what: str, got, expected_shape: tuple[int, ...]) -> np.ndarray:
    if not isinstance(got, np.ndarray):
        raise AssertionError(f"{what} should be a NumPy array of shape {expected_shape}; "
                             f"got a {type(got).__name__}")  # fmt: skip
    if got.shape != tuple(expected_shape):
        raise AssertionError(f"{what} has shape {got.shape}; expected {tuple(expected_shape)}")
    return got


def close(what: str, got, expected, tol: float = 1e-7, mistakes=None, atol: float = 0.0) -> None:
    """Assert got ~ expected: |got - expected| <= tol * (|got| + |expected|) at every entry
    (with the floor of ``rel_error``), or <= atol where that is larger (for numerical
    gradients, whose error does not shrink with the value).

    ``mistakes``: {description: what that mistake would have returned}; when the answer
    matches one of them the message names it.
    """
    expected = np.asarray(expected, dtype=np.float64)
    got = same_shape(what, got, expected.shape) if expected.ndim else got
    _require_float64(what, got)
    try:
        got_f = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        raise AssertionError(f"{what} should be numbers; got {got!r}") from None
    error = rel_error(got_f, expected)
    with np.errstate(invalid="ignore"):
        within = np.abs(got_f - expected) <= np.maximum(
            tol * np.maximum(np.abs(got_f) + np.abs(expected), 1e-8), atol)
    if np.all(within):  # NaN and inf compare False: they fail
        return
    message = [f"{what} is wrong (relative error {error:.2g})."]
    if expected.ndim == 0:
        message.append(f"  expected {float(expected)!r}, got {float(got_f)!r}")
    else:
        diff = np.abs(got_f - expected)
        diff[~np.isfinite(diff)] = np.inf
        ix = np.unravel_index(int(np.argmax(diff)), expected.shape)
        ix_text = ", ".join(map(str, ix))
        message.append(f"  largest difference at [{ix_text}]: expected {expected[ix]:.6g}, "
                       f"got {got_f[ix]:.6g}")  # fmt: skip
        if expected.size <= 64:
            message.append(f"  expected:\n    {_show(expected)}\n  got:\n    {_show(got_f)}")
    for description, wrong in (mistakes or {}).items():
        if wrong is None:
            continue
        wrong = np.asarray(wrong, dtype=np.float64)
        if wrong.shape != got_f.shape or (wrong.shape == expected.shape
                                          and rel_error(wrong, expected) <= tol):
            continue  # not this shape, or not a mistake on these inputs
        if rel_error(got_f, wrong) <= tol:
            message.append(f"  Your answer matches a common mistake: {description}.")
            break
    raise AssertionError("\n".join(message))


def _require_float64(what: str, got) -> None:
    """The exercises compute in float64 (NumPy's default): a lower precision is named, not
    reported as wrong numbers that print the same."""
    dtype = getattr(got, "dtype", None)
    if dtype is not None and dtype.kind == "f" and dtype.itemsize < 8:
        raise AssertionError(
            f"{what} is {dtype} (lower precision); the checks need float64, NumPy's default: "
            "make your arrays with np.zeros(shape) or like the inputs (np.zeros_like(x))"
        )


def equal(what: str, got, expected, mistakes=None) -> None:
    """Exact equality, for integers, booleans and counts."""
    if isinstance(expected, np.ndarray):
        same_shape(what, got, expected.shape)
        ok = np.array_equal(got, expected)
    else:
        ok = isinstance(got, int) and not isinstance(got, bool) and got == expected
        if not ok and isinstance(got, float) and got == expected:
            raise AssertionError(f"{what} should be an int; got the float {got!r} "
                                 "(use // to divide whole numbers)")  # fmt: skip
    if ok:
        return
    message = [f"{what} is wrong: expected {_show(expected)}, got {_show(got)}"
               if isinstance(expected, np.ndarray) else
               f"{what} is wrong: expected {expected!r}, got {got!r}"]  # fmt: skip
    for description, wrong in (mistakes or {}).items():
        right = np.array_equal(np.asarray(wrong), np.asarray(expected))  # not a mistake here
        if not right and np.array_equal(np.asarray(got), np.asarray(wrong)):
            message.append(f"  Your answer matches a common mistake: {description}.")
            break
    raise AssertionError("\n".join(message))
