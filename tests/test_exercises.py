"""The graded exercises: solutions/ is nbgrader's source, exercises/ its release.

- exercises/ is exactly what `nbgrader generate_assignment` makes from solutions/ now, and
  holds no solution and no hidden test;
- every known mistake (samples.MISTAKES) loses exactly the test cells it
  should, and keeps the others (partial credit), checked in-process with the notebooks'
  own test cells;
- through the real `nbgrader autograde`: the solution gets full marks, the untouched
  student notebook zero, a notebook with several mistakes loses just their cells; the
  feedback shows no hidden test. (Plain `nbgrader autograde` runs the checks in the
  student's kernel and trusts them; answers that borrow the reference or attack the checks
  are graded by the class grader: tests/test_grade_class_verdicts.py.)
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

import samples
from samples import ASSIGNMENTS, MISTAKES

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def nbgrader(*args, grading_dir: Path, timeout=900):
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
           "NBGRADER_GRADING_DIR": str(grading_dir)}  # fmt: skip
    done = subprocess.run([str(BIN / "nbgrader"), *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)  # fmt: skip
    return done


def grade_ids(nb, kind="grade"):
    return [c.metadata["nbgrader"]["grade_id"] for c in nb.cells
            if c.metadata.get("nbgrader", {}).get(kind)]  # fmt: skip


# --- exercises/ is generated from solutions/ ------------------------------------------------


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_exercises_are_what_generate_assignment_makes(assignment, tmp_path):
    done = nbgrader("generate_assignment", assignment, "--no-db", "--force",
                    f"--CourseDirectory.release_directory={tmp_path}", grading_dir=tmp_path / "g")  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    fresh = tmp_path / assignment / f"{ASSIGNMENTS[assignment]}.ipynb"
    assert fresh.read_bytes() == samples.exercise_path(assignment).read_bytes(), (
        f"exercises/{assignment} is out of date: run `nbgrader generate_assignment {assignment} --force`"
    )


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_no_solution_or_hidden_test_in_exercises(assignment):
    exercise = samples.exercise_path(assignment).read_text()
    assert "BEGIN SOLUTION" not in exercise and "BEGIN HIDDEN TESTS" not in exercise
    source = nbformat.read(samples.solution_path(assignment), as_version=4)
    given = "\n".join(c.source for c in source.cells if "BEGIN SOLUTION" not in c.source
                      and "BEGIN HIDDEN" not in c.source)  # fmt: skip
    hidden_lines = []
    for cell in source.cells:
        for region in re.findall(r"BEGIN (?:SOLUTION|HIDDEN TESTS)\n(.*?)### END", cell.source, re.S):
            hidden_lines += [line.strip() for line in region.splitlines()]
    leaked = [line for line in hidden_lines
              if len(line) > 20 and line not in given and line in exercise]  # fmt: skip
    assert not leaked, f"solution or hidden-test lines in exercises/{assignment}: {leaked[:3]}"
    assert len(hidden_lines) > 10  # the check above looked at something


# --- every known mistake loses exactly its cells, in-process ---------------------------------


def failing_test_cells(nb) -> dict[str, str]:
    """Run the notebook's code cells in order in one namespace: {grade_id: error} of the
    test cells that fail. (The checks are the same code the kernel runs under nbgrader.)"""
    namespace: dict = {"__name__": "__notebook__"}
    failing = {}
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade") and not meta.get("solution"):
            try:
                exec(compile(cell.source, "<test cell>", "exec"), namespace)  # noqa: S102
            except Exception as error:  # a test cell that fails, as nbgrader would see it
                failing[meta["grade_id"]] = f"{type(error).__name__}: {error}"
        else:
            exec(compile(cell.source, "<cell>", "exec"), namespace)  # noqa: S102
    return failing


@pytest.mark.slow
@pytest.mark.parametrize(
    "assignment, mistake",
    [(a, m) for a, ms in MISTAKES.items() for m in ms],
    ids=lambda v: v.name.replace(" ", "-") if isinstance(v, samples.Mistake) else v,
)  # fmt: skip
def test_a_mistake_loses_exactly_its_test_cells(assignment, mistake):
    failing = failing_test_cells(samples.with_mistakes(assignment, [mistake]))
    assert set(failing) == set(mistake.fails), failing
    for grade_id in mistake.fails:  # and the student is told what is wrong, not just "failed"
        assert len(failing[grade_id]) > 40, failing[grade_id]


# --- the real nbgrader autograde ---------------------------------------------------------------


def submissions(assignment: str) -> dict[str, nbformat.NotebookNode]:
    subs = {
        "solution": nbformat.read(samples.solution_path(assignment), as_version=4),
        "stub": nbformat.read(samples.exercise_path(assignment), as_version=4),
        "mistakes": samples.with_mistakes(assignment, samples.graded_mistakes(assignment)),
    }
    return subs


@pytest.fixture(scope="module")
def autograded(tmp_path_factory):
    """Every assignment autograded for the submissions above: {assignment: (gradebook
    scores {student: {grade_id: (score, max)}}, seconds per notebook, grading dir)}."""
    from nbgrader.api import Gradebook

    grading = tmp_path_factory.mktemp("grading")
    results = {}
    for assignment, notebook in ASSIGNMENTS.items():
        subs = submissions(assignment)
        for student, nb in subs.items():
            folder = grading / "submitted" / student / assignment
            folder.mkdir(parents=True)
            nbformat.write(nb, folder / f"{notebook}.ipynb")
        assert nbgrader("generate_assignment", assignment, "--force",
                        f"--CourseDirectory.release_directory={grading / 'release'}",
                        grading_dir=grading).returncode == 0  # fmt: skip
        start = time.perf_counter()
        done = nbgrader("autograde", assignment, "--create", grading_dir=grading)
        seconds = (time.perf_counter() - start) / len(subs)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        scores = {}
        with Gradebook(f"sqlite:///{grading / 'gradebook.db'}") as gb:
            for student in subs:
                sub = gb.find_submission_notebook(notebook, assignment, student)
                scores[student] = {g.name: (g.score, g.max_score) for g in sub.grades}
        results[assignment] = (scores, seconds, grading)
    times = ", ".join(f"{a} {r[1]:.1f} s" for a, r in results.items())
    print(f"\nautograde, seconds per notebook (incl. nbgrader start-up): {times}")
    return results


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_solution_full_marks_stub_zero_mistakes_lose_their_cells(autograded, assignment):
    scores, _, _ = autograded[assignment]
    tests = [g for g in scores["solution"] if g.startswith("test_")]
    assert tests and all(scores["solution"][g][0] == scores["solution"][g][1] for g in tests)
    assert sum(s for s, _ in scores["stub"].values()) == 0
    lost = {m for mistake in samples.graded_mistakes(assignment) for m in mistake.fails}
    for grade_id in tests:
        score, max_score = scores["mistakes"][grade_id]
        assert score == (0 if grade_id in lost else max_score), (grade_id, score)


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ["ch1_convolution", "ch3_s2_to_c3"])
def test_feedback_shows_no_hidden_test(autograded, assignment):
    _, _, grading = autograded[assignment]
    done = nbgrader("generate_feedback", assignment, "--student", "mistakes", "--force",
                    grading_dir=grading)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    html = (grading / "feedback" / "mistakes" / assignment /
            f"{ASSIGNMENTS[assignment]}.html").read_text()  # fmt: skip
    source = nbformat.read(samples.solution_path(assignment), as_version=4)
    hidden_calls = [line for c in source.cells if "BEGIN HIDDEN" in c.source
                    for line in c.source.splitlines() if line.startswith("check(")]  # fmt: skip
    assert hidden_calls
    text = html.replace("&quot;", '"').replace("&#34;", '"')
    text = re.sub(r"<[^>]+>", "", text)
    assert "BEGIN HIDDEN" not in text
    assert not [call for call in hidden_calls if call in text]
    assert "Score:" in text  # it is the feedback, with the failed cells' messages
    assert "is wrong" in text


def test_grading_folder_is_ignored_by_git():
    assert ".grading/" in (ROOT / ".gitignore").read_text()
    assert shutil.which("nbgrader", path=str(BIN)), "nbgrader is not installed: run `make setup`"
