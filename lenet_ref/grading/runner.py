"""Run one of the student's functions for a check: the only place a check touches student
code. It runs where the student's code lives (the kernel, or this process on a student's
own machine) and answers with plain data (``wire.plain``) that the checks then judge.

Imports only numpy and ``wire``: in the class grader's sandbox it is part of the small
``lenet_ref`` the kernel is given.
"""

from __future__ import annotations

import copy
import warnings

import numpy as np

from .wire import Ref, plain


def resolve(value, kept: dict):
    """Replace every ``Ref`` in ``value`` by the object it names in ``kept``."""
    if isinstance(value, Ref):
        found = kept[value.call]
        for step in value.path:
            found = found[step]
        return found
    if type(value) in (list, tuple):
        return type(value)(resolve(v, kept) for v in value)
    if type(value) is dict:
        return {k: resolve(v, kept) for k, v in value.items()}
    return value


def _has_ref(value) -> bool:
    if isinstance(value, Ref):
        return True
    if type(value) in (list, tuple):
        return any(_has_ref(v) for v in value)
    return type(value) is dict and any(_has_ref(v) for v in value.values())


def run(function, call_id: int, args, kwargs, refs, kept: dict) -> dict:
    """``function(*args, **kwargs)``, with the outcome as plain data.

    Arguments holding a ``Ref`` are the student's own objects, passed as they are; the
    others are copies, compared afterwards with what was passed ("mutated": the indices of
    the arrays changed in place). The result is kept under ``call_id``; the elements of a
    returned tuple at the indices ``refs`` come back as ``Ref``s, the rest as plain data.
    Returns ``{"value", "mutated"}`` or ``{"raised", "message", "exception"}``.
    """
    given = [resolve(a, kept) if _has_ref(a) else copy.deepcopy(a) for a in args]
    before = [a.copy() if isinstance(a, np.ndarray) and not _has_ref(args[i]) else None
              for i, a in enumerate(given)]  # fmt: skip
    kwargs = {k: resolve(v, kept) if _has_ref(v) else copy.deepcopy(v) for k, v in kwargs.items()}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a warning on stderr is not a mistake
            result = function(*given, **kwargs)
    except NotImplementedError:  # the stub: nothing of theirs to show
        return {"raised": "NotImplementedError", "message": "", "exception": None}
    except Exception as error:  # the student's error, reported; KeyboardInterrupt goes on
        return {"raised": type(error).__name__, "message": str(error)[:2000], "exception": error}
    kept[call_id] = result
    if refs and isinstance(result, tuple):
        value = tuple(Ref(call_id, (i,)) if i in refs else plain(v) for i, v in enumerate(result))
    else:
        value = plain(result)
    mutated = [i for i, b in enumerate(before)
               if b is not None and not np.array_equal(b, given[i], equal_nan=True)]  # fmt: skip
    return {"value": value, "mutated": mutated}
