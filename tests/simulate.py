"""A simulated class: right, wrong and broken submissions made from a course's notebooks.

Used by ``bench/class_grading.py`` and the tests. A right answer is the release notebook
with every solution cell filled from the instructor's source; a wrong one has some of
those cells left as released (they raise NotImplementedError, so their tests fail); a
broken one is one of ``HOSTILE`` kinds, each a way a real submission goes wrong or
attacks the grader.
"""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path

MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")

# kind -> (what it does, the issue kind the report must give)
HOSTILE = {
    "loop": ("an infinite loop in the first answer", "timeout"),
    "os-exit": ("os._exit(1) in the first answer: the kernel dies", "kernel-died"),
    "sys-exit": ("sys.exit(0) at the top of every answer", "exit-called"),
    "memory": ("allocates until the memory limit", "memory"),
    "memory-forks": ("forked children that each take memory", "memory"),
    "flood": ("prints 30 MB, then answers right", "huge-output"),
    "deleted-tests": ("right answers, the first test cell deleted", "deleted-test-cells"),
    "edited-tests": ("no answers, every test cell replaced by `pass`", "edited-test-cells"),
    "stripped": ("right answers, all nbgrader metadata removed", "stripped-metadata"),
    "invalid-json": ("the file cut in the middle", "invalid-notebook"),
    "renamed": ("right answers, saved under another name", "renamed-notebook"),
    "empty": ("an empty file", "invalid-notebook"),
    "other-assignment": ("the right notebook of another assignment", "other-assignment"),
    "patches-numpy": ("no answers; np.allclose and np.testing patched to pass", "suspicious"),
    "imports-reference": ("right answers that import lenet_ref", "suspicious"),
}


def _is_solution(cell) -> bool:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return bool(meta.get("solution")) and not meta.get("locked")


def _is_test(cell) -> bool:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return bool(meta.get("grade")) and not meta.get("solution")


def _text(source) -> str:
    return "".join(source) if isinstance(source, list) else source


def right_answer(release: dict, source: dict) -> dict:
    """The release notebook with every solution cell as the instructor wrote it."""
    answers = {}
    for cell in source["cells"]:
        if _is_solution(cell):
            lines = _text(cell["source"]).splitlines()
            kept = [line for line in lines if line.strip() not in MARKERS]
            answers[cell["metadata"]["nbgrader"]["grade_id"]] = "\n".join(kept)
    nb = copy.deepcopy(release)
    for cell in nb["cells"]:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if _is_solution(cell) and grade_id in answers:
            cell["source"] = answers[grade_id]
    return nb


def wrong_answer(release: dict, right: dict, rng: random.Random, unanswered: int) -> dict:
    """``right`` with ``unanswered`` of its solution cells back as released (stubs)."""
    nb = copy.deepcopy(right)
    solutions = [k for k, cell in enumerate(nb["cells"]) if _is_solution(cell)]
    for k in rng.sample(solutions, min(unanswered, len(solutions))):
        nb["cells"][k]["source"] = release["cells"][k]["source"]
    return nb


def _prepend(nb: dict, code: str, every: bool = False) -> dict:
    nb = copy.deepcopy(nb)
    for cell in nb["cells"]:
        if _is_solution(cell) and cell["cell_type"] == "code":
            cell["source"] = code + "\n" + _text(cell["source"])
            if not every:
                break
    return nb


def _hostile_notebook(kind: str, release: dict, right: dict, other_right: dict) -> dict:
    if kind == "loop":
        return _prepend(right, "while True:\n    pass")
    if kind == "os-exit":
        return _prepend(right, "import os\nos._exit(1)")
    if kind == "sys-exit":
        return _prepend(right, "import sys\nsys.exit(0)", every=True)
    if kind == "memory":
        return _prepend(right, "hog = []\nwhile True:\n    hog.append(bytearray(1 << 26))")
    if kind == "memory-forks":
        # 512 MiB each, under the per-process limit: only the sum of them is too much
        return _prepend(right, "import os, time\nfor _ in range(8):\n    if os.fork() == 0:\n"
                               "        hog = bytearray(1 << 29)\n        hog[::4096] = b'x' * len(hog[::4096])\n"
                               "        time.sleep(600)\ntime.sleep(600)")  # fmt: skip
    if kind == "flood":
        return _prepend(right, "for _ in range(30):\n    print('x' * 1_000_000)")
    if kind == "deleted-tests":
        nb = copy.deepcopy(right)
        first = next(k for k, cell in enumerate(nb["cells"]) if _is_test(cell))
        del nb["cells"][first]
        return nb
    if kind == "edited-tests":
        nb = copy.deepcopy(release)
        for cell in nb["cells"]:
            if _is_test(cell):
                cell["source"] = "pass"
        return nb
    if kind == "stripped":
        nb = copy.deepcopy(right)
        for cell in nb["cells"]:
            cell.get("metadata", {}).pop("nbgrader", None)
        return nb
    if kind == "renamed":
        return copy.deepcopy(right)
    if kind == "other-assignment":
        return copy.deepcopy(other_right)
    if kind == "patches-numpy":
        patch = ("import numpy as np\nnp.allclose = lambda *a, **k: True\n"
                 "np.testing.assert_allclose = lambda *a, **k: None")  # fmt: skip
        return _prepend(release, patch)
    if kind == "imports-reference":
        return _prepend(right, "import lenet_ref", every=True)
    raise ValueError(f"unknown hostile kind {kind!r}; known: {sorted(HOSTILE)}")


def hostile(kind: str, release: dict, right: dict, other_right: dict, name: str) -> tuple[str, bytes]:
    """(file name, file content) of a broken submission of notebook ``name``."""
    if kind == "empty":
        return f"{name}.ipynb", b""
    if kind == "invalid-json":
        text = json.dumps(right)
        return f"{name}.ipynb", text[: len(text) // 2].encode()
    nb = _hostile_notebook(kind, release, right, other_right)
    filename = f"{name}_final.ipynb" if kind == "renamed" else f"{name}.ipynb"
    return filename, json.dumps(nb).encode()


def simulate_class(course, assignments: list[str], students: int, folder: Path, seed: int = 0,
                   right: float = 0.6, wrong: float = 0.3) -> dict:  # fmt: skip
    """Write ``folder/<student>/<assignment>/...``; returns ``{(student, assignment): kind}``.

    A share ``right`` of the submissions are right, ``wrong`` miss one to three answers,
    and the rest are broken, cycling through ``HOSTILE``.
    """
    rng = random.Random(seed)
    notebooks = {}
    for a in assignments:
        (src,) = course.source_notebooks(a)  # the exercises of this course: one notebook each
        release = json.loads((course.release_dir / a / src.name).read_text())
        notebooks[a] = (src.stem, release, right_answer(release, json.loads(src.read_text())))
    kinds = {}
    hostile_kinds = sorted(HOSTILE)
    broken = 0
    for s in range(students):
        student = f"student{s:03d}"
        for k, a in enumerate(assignments):
            name, release, good = notebooks[a]
            draw = rng.random()
            target = folder / student / a
            target.mkdir(parents=True, exist_ok=True)
            if draw < right:
                kind, filename, content = "right", f"{name}.ipynb", json.dumps(good).encode()
            elif draw < right + wrong:
                nb = wrong_answer(release, good, rng, rng.randint(1, 3))
                kind, filename, content = "wrong", f"{name}.ipynb", json.dumps(nb).encode()
            else:
                kind = hostile_kinds[broken % len(hostile_kinds)]
                broken += 1
                other = notebooks[assignments[(k + 1) % len(assignments)]][2]
                filename, content = hostile(kind, release, good, other, name)
            (target / filename).write_bytes(content)
            kinds[(student, a)] = kind
    return kinds
