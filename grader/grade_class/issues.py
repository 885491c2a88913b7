"""Why a submission needs a person to look at it: the reasons the report can give.

Each reason is a kind (a short stable name, for scripts and tests) and a detail (for the
person). The kinds, in the order the report lists them:
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

KINDS = {
    "left-out": "part of the submission could not be taken (a symlink, a file too large, an "
                "unreadable zip entry, too many files): listed, the rest graded",
    "invalid-notebook": "not a readable notebook (invalid JSON, nested too deep, empty, too large, "
                        "not a file)",
    "missing-notebook": "a notebook of the assignment was not submitted",
    "renamed-notebook": "the notebook was submitted under another name (graded as the expected one)",
    "other-assignment": "the notebook is that of another assignment",
    "odd-packaging": "packaged oddly (a notebook in a sub-folder or outside its assignment's "
                     "folder, a file name not in UTF-8): graded as found",
    "bad-timestamp": "timestamp.txt could not be read as a time: graded without it (no late penalty)",
    "repaired-notebook": "the notebook's nbgrader metadata was repaired before grading (copied "
                         "cells' repeated ids, values of the wrong type, nbformat 3): graded",
    "stripped-metadata": "the nbgrader metadata was removed: no cell could be matched",
    "deleted-test-cells": "test or read-only cells were deleted (nbgrader put them back)",
    "edited-test-cells": "test or read-only cells were edited (nbgrader put them back)",
    "kernel-died": "the kernel died (os._exit, a crash, a signal): the notebook got no points",
    "exit-called": "the code called sys.exit() or raised SystemExit",
    "timeout": "a cell ran out of time, or the whole notebook did",
    "memory": "the code used more memory than allowed",
    "huge-output": "the code printed more output than the feedback keeps",
    "suspicious": "the code does something a solution should not need (listed)",
    "grader-error": "nbgrader itself failed on this submission",
}


@dataclass(frozen=True)
class Issue:
    kind: str
    detail: str
    notebook: str = ""

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"unknown issue kind {self.kind!r}; known: {sorted(KINDS)}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> Issue:
        return cls(**d)

    def __str__(self) -> str:
        where = f"{self.notebook}: " if self.notebook else ""
        return f"{self.kind}: {where}{self.detail}"
