"""Call a student's function so that it can neither borrow the answer nor hide a mistake.

``call(answer, *args)``:
- passes copies of the arguments and checks afterwards that the answer did not change
  the caller's arrays;
- watches every call made while the answer runs (``sys.setprofile``): entering
  ``lenet_ref`` (the reference), PyTorch or SciPy from the student's own code means the
  answer borrowed it instead of computing. Functions a chapter hands the student (the
  reference layers in chapter 5) are listed in ``allow``;
- turns the result into plain float64 arrays inside the watched window, so a clever
  array subclass cannot compute later, unwatched;
- turns the student's exception into a message that says what was called with what.
"""

from __future__ import annotations

import copy
import os
import sys
import warnings
from importlib.util import find_spec

import numpy as np

FORBIDDEN_PACKAGES = ("lenet_ref", "torch", "scipy")
_HERE = os.path.dirname(os.path.abspath(__file__)) + os.sep


class BorrowedAnswer(AssertionError):
    """The answer called the reference (or PyTorch, SciPy) instead of computing."""


class AnswerRaised(AssertionError):
    """The answer raised an exception."""


def _package_dir(name: str) -> str | None:
    spec = find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return os.path.realpath(list(spec.submodule_search_locations)[0]) + os.sep


_DIRS: dict[str, str] = {}  # filled once, in place (integrity watches this module too)


def _forbidden_dirs() -> dict[str, str]:
    if not _DIRS:
        for package in FORBIDDEN_PACKAGES:
            where = _package_dir(package)
            if where:
                _DIRS[where] = package
    return _DIRS


def _owner(filename: str, dirs: dict[str, str]) -> str | None:
    for where, package in dirs.items():
        if filename.startswith(where):
            return package
    return None


class _Watch:
    """The profile hook: records calls from outside the forbidden packages into them."""

    def __init__(self, allow: frozenset[str], entry):
        self.allow = allow
        self.entry = entry  # the frame of ``call``: what it calls directly is the answer
        self.dirs = _forbidden_dirs()
        self.real = {}  # filename -> realpath, cached
        self.borrowed: list[str] = []

    def _package_of(self, filename: str) -> str | None:
        real = self.real.get(filename)
        if real is None:
            real = self.real[filename] = os.path.realpath(filename)
        return _owner(real, self.dirs)

    def __call__(self, frame, event, arg):
        if event == "call":
            package = self._package_of(frame.f_code.co_filename)
            if package is None:
                return
            if frame.f_code.co_filename.startswith(_HERE):
                return  # the checks' own helpers (converting the result)
            caller = frame.f_back
            if (caller is not None and caller is not self.entry
                    and self._package_of(caller.f_code.co_filename) is not None):
                return  # a call inside the package, made by the package
            name = f"{frame.f_globals.get('__name__', package)}.{frame.f_code.co_qualname}"
            if name not in self.allow:
                self.borrowed.append(name)
        elif event == "c_call":
            module = getattr(arg, "__module__", None) or ""
            if module.split(".")[0] in FORBIDDEN_PACKAGES:
                self.borrowed.append(f"{module}.{getattr(arg, '__qualname__', arg)}")


def _plain(value):
    """Results as plain Python/NumPy values: arrays become float64 (or int/bool) copies."""
    if isinstance(value, tuple):
        return tuple(_plain(v) for v in value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (bool, int, float, str, type(None), np.generic)):
        return value.item() if isinstance(value, np.generic) else value
    if type(value) is np.ndarray:
        return value.copy()
    raise AssertionError(
        f"returned a {type(value).__module__}.{type(value).__qualname__}; expected NumPy "
        "arrays, numbers, or tuples/dicts of them"
    )


def describe(args) -> str:
    parts = []
    for a in args:
        if isinstance(a, np.ndarray):
            parts.append(f"array{a.shape}")
        elif isinstance(a, (int, float, str, bool, type(None))):
            parts.append(repr(a))
        else:
            parts.append(type(a).__name__)
    return ", ".join(parts)


def call(answer, *args, name: str | None = None, allow=(), opaque=(), watch=True, **kwargs):
    """answer(*args, **kwargs) watched; returns its result as plain values.

    ``allow``: full names of reference functions the answer may call, e.g.
    "lenet_ref.numpy.conv.conv_forward".
    ``watch=False``: do not look for borrowed calls (a forward pass called only to get the
    cache its backward pass needs: the forward is graded, and watched, by its own cells).
    ``opaque``: indices of arguments passed as they are (a cache the student's forward
    made: its contents are the student's own). Others are deep-copied and checked unchanged.
    """
    name = name or getattr(answer, "__name__", "your function")
    if not callable(answer):
        raise AssertionError(f"{name} is not a function (it is a {type(answer).__name__})")
    given = [a if i in opaque else copy.deepcopy(a) for i, a in enumerate(args)]
    kept = [None if i in opaque else copy.deepcopy(a) for i, a in enumerate(args)]
    # The answer may be the reference itself (``conv_forward = lenet_ref.numpy.conv_forward``):
    # calls made straight from this frame count as the student's.
    watcher = _Watch(frozenset(allow), sys._getframe())
    previous = sys.getprofile()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a warning on stderr would zero the whole cell
            sys.setprofile(watcher if watch else previous)
            try:
                result = _plain(answer(*given, **kwargs))
            finally:
                hook_left = sys.getprofile()
                sys.setprofile(previous)
    except NotImplementedError:
        raise AnswerRaised(f"{name} is not written yet (it raises NotImplementedError)") from None
    except AssertionError as error:
        raise AssertionError(f"{name}: {error}") from None
    except Exception as error:
        raise AnswerRaised(
            f"{name}({describe(args)}) raised {type(error).__name__}: {error}"
        ) from error
    if hook_left is not (watcher if watch else previous):
        raise BorrowedAnswer(f"no points: {name} switched off the check that watches its calls")
    if watcher.borrowed:
        seen = sorted(set(watcher.borrowed))
        raise BorrowedAnswer(
            f"no points: {name} called {', '.join(seen[:4])} instead of computing the answer "
            "itself. Write it with NumPy operations (that is the exercise)."
        )
    for i, before in enumerate(kept):
        if isinstance(before, np.ndarray) and not np.array_equal(before, given[i], equal_nan=True):
            raise AssertionError(
                f"{name} changed its argument {i + 1} (an array{before.shape}) in place; "
                "a forward or backward pass must leave its inputs as they were"
            )
    return result
