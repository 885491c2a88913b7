"""How a check calls the student's functions: through an ``Answers`` session.

A check never touches a student's function itself. It asks its session to run answer
``i`` on arguments it made, and judges the plain data that comes back (``wire.plain``:
arrays, numbers, tuples, lists, dicts; anything else is an ``Opaque`` marker). Two
sessions exist:

- ``LocalAnswers``: the functions are in this process (a student's own kernel running the
  notebook's checks, or the test suite);
- ``grade_class.verdict.RemoteAnswers``: the functions are in a sandboxed kernel, and the
  checks run in the trusted grading process, which never runs student code; arguments
  and results cross a socket as plain data.

So the same checks give the same verdicts in both places. A value the checks need back
later as it was (a forward pass's ``cache``, handed to the backward pass) is asked for as
a ``Ref`` (``refs=``), and stays where it was made.
"""

from __future__ import annotations

import numpy as np

from . import runner
from .wire import Opaque, Ref

__all__ = ["AnswerRaised", "Answers", "LocalAnswers", "Opaque", "Ref", "call", "describe"]


class AnswerRaised(AssertionError):
    """The answer raised an exception."""


def describe(args) -> str:
    parts = []
    for a in args:
        if isinstance(a, np.ndarray):
            parts.append(f"array{a.shape}")
        elif isinstance(a, (int, float, str, bool, type(None))):
            parts.append(repr(a))
        elif isinstance(a, Ref):
            parts.append("your cache")
        else:
            parts.append(type(a).__name__)
    return ", ".join(parts)


class Answers:
    """The student's functions of one check; ``run`` is what a session implements."""

    names: list[str]
    callable: list[bool]

    def run(self, index: int, args, kwargs, refs) -> dict:
        raise NotImplementedError

    def __len__(self):
        return len(self.names)

    def answer(self, index: int) -> Answer:
        return Answer(self, index)

    def exception(self):
        """The student's exception behind the last AnswerRaised, where it is at hand."""
        return None


class LocalAnswers(Answers):
    def __init__(self, functions):
        self.functions = list(functions)
        self.names = [getattr(f, "__name__", "your function") for f in self.functions]
        self.callable = [callable(f) for f in self.functions]
        self.kept: dict = {}
        self.calls = 0
        self.last_error = None

    def run(self, index, args, kwargs, refs):
        self.calls += 1
        outcome = runner.run(self.functions[index], self.calls, args, kwargs, refs, self.kept)
        self.last_error = outcome.pop("exception", None)
        return outcome

    def exception(self):
        return self.last_error


class Answer:
    """Answer ``index`` of a session, as the checks hold it."""

    def __init__(self, session: Answers, index: int):
        self.session, self.index = session, index
        self.__name__ = session.names[index]


def call(answer: Answer, *args, name: str | None = None, refs=(), **kwargs):
    """answer(*args, **kwargs) run by its session; its result as plain data.

    ``refs``: indices of a returned tuple to keep as ``Ref``s (the student's cache).
    Raises AnswerRaised when the answer raised, AssertionError when it changed an input.
    """
    if not isinstance(answer, Answer):  # a plain function (the test suite)
        answer = LocalAnswers([answer]).answer(0)
    name = name or answer.__name__
    if not answer.session.callable[answer.index]:
        raise AssertionError(f"{answer.__name__} is not a function")
    outcome = answer.session.run(answer.index, args, kwargs, tuple(refs))
    if "raised" in outcome:
        if outcome["raised"] == "NotImplementedError":
            raise AnswerRaised(f"{name} is not written yet (it raises NotImplementedError)")
        raise AnswerRaised(f"{name}({describe(args)}) raised {outcome['raised']}: "
                           f"{outcome['message']}")  # fmt: skip
    if outcome["mutated"]:
        i = outcome["mutated"][0]
        raise AssertionError(
            f"{name} changed its argument {i + 1} (an array{np.shape(args[i])}) in place; "
            "a forward or backward pass must leave its inputs as they were"
        )
    value = outcome["value"]
    if refs and not (isinstance(value, tuple) and len(value) > max(refs)):
        raise AssertionError(f"{name} should return a tuple (out, cache); it returned "
                             f"{describe([value])}")  # fmt: skip
    return value
