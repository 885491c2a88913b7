"""The checks the exercise notebooks call: one line per test cell.

    from lenet_ref.grading import check
    check("conv_forward", "values", conv_forward)

Each chapter module (``ch1`` ... ``ch5``) registers its behaviours with ``@behaviour``; a
test cell checks one behaviour of one exercise, so a partly right answer keeps the points
of what it gets right. Visible test cells call the behaviours a student sees; hidden ones
(nbgrader's hidden tests) compare with ``lenet_ref`` and PyTorch on random inputs of
several shapes, and check gradients numerically.

Every check first makes sure nothing it relies on was patched (``integrity``), and calls
the answer through ``guard.call``, which catches an answer that calls the reference. A
failing check raises AssertionError with a message meant for the student; a passing one
returns None, so nbgrader gives the cell its points.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from . import integrity
from .guard import AnswerRaised, BorrowedAnswer
from .integrity import PatchedError

__all__ = ["AnswerRaised", "BorrowedAnswer", "PatchedError", "behaviour", "check", "behaviours"]


@dataclass(frozen=True)
class Behaviour:
    exercise: str
    name: str
    run: Callable[..., None]  # run(*answers): raises AssertionError when the answer is wrong
    doc: str


_REGISTRY: dict[tuple[str, str], Behaviour] = {}


def behaviour(exercise: str, name: str):
    """Register ``run`` as the check of one behaviour of one exercise."""

    def register(run):
        _REGISTRY[(exercise, name)] = Behaviour(exercise, name, run, (run.__doc__ or "").strip())
        return run

    return register


def backward_behaviours(exercise: str, check_pair, grads: tuple[str, ...], against: str) -> None:
    """Register the checks of a backward pass: "gradient_check" (visible: every gradient on
    one small input) and one hidden behaviour per gradient, so each earns its own points.
    ``check_pair(forward, backward, hidden, keys)`` runs the comparison."""

    def visible(forward, backward):
        check_pair(forward, backward, hidden=False, keys=None)

    visible.__doc__ = f"{', '.join(grads)} on one small input, against a numerical gradient."
    behaviour(exercise, "gradient_check")(visible)
    for key in grads:

        def hidden(forward, backward, key=key):
            check_pair(forward, backward, hidden=True, keys=(key,))

        hidden.__doc__ = f"{key} on random shapes, against {against}."
        behaviour(exercise, key)(hidden)


CHAPTERS = ("ch1", "ch2", "ch3", "ch4", "ch5")


def _load_chapters() -> None:
    for chapter in CHAPTERS:  # importing a chapter registers its behaviours
        importlib.import_module(f"{__name__}.{chapter}")


def behaviours() -> dict[tuple[str, str], Behaviour]:
    _load_chapters()
    return dict(_REGISTRY)


def check(exercise: str, name: str, *answers) -> None:
    """Check behaviour ``name`` of ``exercise`` on the student's answer(s); None when right."""
    known = behaviours()
    if (exercise, name) not in known:
        names = sorted(n for e, n in known if e == exercise)
        raise KeyError(f"no check {name!r} for {exercise!r}; known: {names}")
    integrity.verify()
    failure = None
    try:
        known[(exercise, name)].run(*answers)
    except AssertionError as error:
        failure = error
    if failure is not None:
        # Raised afresh here, so that the traceback a student sees is the test cell and this
        # line, not the insides of the checks (and, for an exception of the student's own
        # code, that code's traceback, chained).
        message = str(failure)
        if not isinstance(failure, (AnswerRaised, BorrowedAnswer, PatchedError)):
            message = f"{exercise} ({name}): {message}"
        raise type(failure)(message) from failure.__cause__
    integrity.verify()  # the answer ran during the check: did it patch anything?
