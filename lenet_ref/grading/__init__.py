"""The checks the exercise notebooks call: one line per test cell.

    from lenet_ref.grading import check
    check("conv_forward", "one_map", conv_forward)

Each chapter module (``ch1`` ... ``ch5``) registers its behaviours with ``@behaviour``; a
test cell checks one behaviour of one exercise, so a partly right answer keeps the points
of what it gets right. Visible test cells check what a student sees; hidden ones (nbgrader's
hidden tests) compare with ``lenet_ref`` and PyTorch on random inputs of several shapes,
and check gradients numerically.

Where the verdict is made:

- on a student's own machine, ``check`` runs the behaviour here, in the kernel: a passing
  check prints one ``✓`` line, a failing one raises AssertionError with a message meant
  for the student;
- in the class grader (``$LENET_VERDICT_SOCKET`` set), ``check`` is only a client
  (``remote``): the behaviour runs in the trusted grading process, which sends the inputs,
  has the kernel run the student's function on them, judges the plain data that comes
  back, and records the verdict of the test cell being run. The score comes from that
  record, never from what the kernel prints; the kernel holds neither the checks nor the
  reference (``grade_class.sandbox``).
"""

from __future__ import annotations

import importlib
import os
import textwrap
from collections.abc import Callable
from dataclasses import dataclass

from .guard import AnswerRaised, LocalAnswers

__all__ = ["AnswerRaised", "Verdict", "behaviour", "behaviours", "check", "run_check"]

SOCKET_ENV = "LENET_VERDICT_SOCKET"
WIDTH = 88  # nbgrader validate cuts longer lines


@dataclass(frozen=True)
class Behaviour:
    exercise: str
    name: str
    run: Callable[..., str | None]  # run(*answers): raises AssertionError when wrong; a note
    doc: str


@dataclass(frozen=True)
class Verdict:
    passed: bool
    message: str  # the pass line, or what is wrong
    cause: BaseException | None = None  # the student's exception, where it is at hand


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


def behaviours() -> dict[tuple[str, str], Behaviour]:
    for chapter in CHAPTERS:  # importing a chapter registers its behaviours
        importlib.import_module(f"{__name__}.{chapter}")
    return dict(_REGISTRY)


def _wrap(text: str) -> str:
    lines = []
    for line in text.splitlines():
        indent = line[: len(line) - len(line.lstrip())]
        lines += textwrap.wrap(line, WIDTH, subsequent_indent=indent + "  ",
                               break_long_words=False) or [""]  # fmt: skip
    return "\n".join(lines)


def pass_line(exercise: str, name: str, note: str | None = None) -> str:
    return f"✓ {exercise}: {name.replace('_', ' ')}" + (f" ({note})" if note else "")


def run_check(exercise: str, name: str, answers) -> Verdict:
    """Run behaviour ``name`` of ``exercise`` on a session of the student's answers
    (``guard.Answers``); the verdict, with a message for the student."""
    known = behaviours()
    if (exercise, name) not in known:
        names = sorted(n for e, n in known if e == exercise)
        return Verdict(False, f"no check {name!r} for {exercise!r}; known: {names}")
    try:
        note = known[(exercise, name)].run(*[answers.answer(i) for i in range(len(answers))])
    except AnswerRaised as failure:
        return Verdict(False, _wrap(str(failure)), answers.exception())
    except AssertionError as failure:
        return Verdict(False, _wrap(f"{exercise} ({name}): {failure}"))
    except Exception as error:  # data the checks cannot read (an Opaque where an array was due)
        return Verdict(False, _wrap(f"{exercise} ({name}): your answer could not be checked: "
                                    f"{type(error).__name__}: {error}"))  # fmt: skip
    return Verdict(True, pass_line(exercise, name, note))


def check(exercise: str, name: str, *answers) -> None:
    """Check behaviour ``name`` of ``exercise`` on the student's answer(s): prints a ✓
    line when right, raises AssertionError saying what is wrong otherwise."""
    if os.environ.get(SOCKET_ENV):
        from .remote import check_remote

        return check_remote(exercise, name, *answers)
    verdict = run_check(exercise, name, LocalAnswers(answers))
    if not verdict.passed:
        # raised here, so that a student sees the test cell, this line and their own code
        raise AssertionError(verdict.message) from verdict.cause
    print(verdict.message)
