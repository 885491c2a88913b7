"""The trusted side of a graded job: scores, reasons, and the class's gradebook.

Scores are computed here, in the parent. A check cell (one ``check(...)`` call in the
course's source) scores by the verdict the worker's verdict server recorded for it
(``verdict``): its points from the release if it passed, else none, whatever the notebook
shows. Any other grade cell is looked up in the autograded notebook that nbgrader wrote
after the kernel had exited, takes its points from the release (not from the notebook),
and is scored by nbgrader's own rule (an error or stderr: nothing; a number as the
result: partial credit; else full points). What went wrong is read from the outputs
(a cell interrupted at its time limit, a MemoryError, SystemExit, output cut) and from the
jail's status (the kernel killed past the memory limit, or dead).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from .capped import METADATA_KEY
from .course import NotebookSpec
from .issues import Issue
from .protocol import Job, Result, Settings

GiB = 1 << 30
TIMEOUT_ERRORS = {"KeyboardInterrupt", "CellTimeoutError", "TimeoutError"}


def verdict_score(verdicts: dict, grade_id: str, points: float) -> float:
    """A check cell's points: all of them with a passing verdict on record, else none."""
    verdict = verdicts.get(grade_id)
    return float(points) if isinstance(verdict, dict) and verdict.get("passed") is True else 0.0


def notebook_scores(nb, spec: NotebookSpec, verdicts: dict | None = None) -> dict[str, float | None]:
    """Grade cell id -> points earned (None: needs a person). A check cell (``spec.checks``)
    scores by the verdict server's record alone; any other grade cell by nbgrader's rule."""
    from nbgrader.utils import determine_grade

    cells = {}
    for cell in nb.cells:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id is not None:
            cells.setdefault(grade_id, cell)
    scores = {}
    for grade_id, points in spec.points.items():
        if grade_id in spec.checks:
            scores[grade_id] = verdict_score(verdicts or {}, grade_id, points)
            continue
        cell = cells.get(grade_id)
        if cell is None:
            scores[grade_id] = 0.0
            continue
        cell.metadata.nbgrader["points"] = points  # the release's points, not the notebook's
        score, _ = determine_grade(cell)
        scores[grade_id] = None if score is None else min(float(score), points)
    return scores


def output_issues(nb, name: str) -> list[Issue]:
    """What the outputs of an autograded notebook say went wrong."""
    found: dict[str, list[str]] = {}
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            if output.get("output_type") != "error":
                continue
            ename = output.get("ename", "")
            if ename in TIMEOUT_ERRORS:
                found.setdefault("timeout", []).append(f"cell {index} interrupted at its time limit")
            elif "MemoryError" in ename:
                found.setdefault("memory", []).append(f"cell {index} raised {ename}")
            elif ename == "SystemExit":
                found.setdefault("exit-called", []).append(f"cell {index} raised SystemExit")
    issues = [Issue(kind, "; ".join(dict.fromkeys(details)), name) for kind, details in found.items()]
    dropped = nb.metadata.get(METADATA_KEY, {}).get("dropped_output_bytes")
    if dropped:
        issues.append(Issue("huge-output", f"{dropped / 1e6:.1f} MB of output dropped", name))
    return issues


def failure_issue(result: Result, settings: Settings) -> Issue:
    """Why nbgrader could not grade a job at all."""
    jail = result.jail or {}
    log = result.log
    # Memory first: a kernel at its memory limit thrashes, so the clock may stop it first.
    late = f", and ran past {settings.timeout:.0f} s" if result.timeout else ""
    if jail.get("event") == "memory":
        return Issue("memory", f"used {jail['rss_bytes'] / GiB:.2f} GiB, more than the "
                               f"{settings.memory_bytes / GiB:.1f} GiB allowed{late}: stopped")  # fmt: skip
    if result.cgroup_memory:
        return Issue("memory", f"reached the {settings.memory_bytes / GiB:.1f} GiB allowed "
                               f"(memory, files in memory and shared memory counted){late}: "
                               "stopped")  # fmt: skip
    if result.timeout:
        return Issue("timeout", f"the notebook ran past {settings.timeout:.0f} s and was stopped")
    if "CellTimeoutError" in log or "Timeout waiting for" in log:
        return Issue("timeout", "a cell ran past its time limit and did not stop when interrupted")
    if result.crashed:
        return Issue("grader-error", "the grading worker died (out of memory holding the output?)")
    if "Kernel died" in log or "DeadKernelError" in log or jail.get("event") == "exited":
        how = (f"killed by {jail['signal_name']}" if "signal_name" in jail
               else f"exited with code {jail.get('exit_code', '?')}")  # fmt: skip
        if jail.get("signal_name") == "SIGXCPU":
            how += " (CPU time limit)"
        last = [line for line in (jail.get("stderr") or "").splitlines() if line.strip()][-1:]
        words = f" (its last words: {last[0][:200]})" if last else ""
        return Issue("kernel-died", f"the kernel {how} before the notebook was done{words}")
    last = [line for line in log.strip().splitlines() if line.strip()][-1:] or ["no log"]
    return Issue("grader-error", f"nbgrader failed: {last[0][:300]}")


def apply_verdicts(db: str, assignment: str, student: str, verdicts: dict, checks: dict) -> None:
    """Score the check cells of a submission in a gradebook by the verdicts (nbgrader had
    scored them by their outputs): the scratch course's, before its feedback is written."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{db}") as gb:
        submission = gb.find_submission(assignment, student)
        for notebook in submission.notebooks:
            cells = checks.get(notebook.name, {})
            for grade in notebook.grades:
                if grade.name in cells:
                    grade.auto_score = verdict_score(verdicts.get(notebook.name, {}), grade.name,
                                                     grade.max_score)  # fmt: skip
        gb.db.commit()


def write_grades(gb, job: Job, scores: dict, failed: set[str], course_config) -> None:
    """Put one submission's scores in the gradebook (created or replaced), late penalty too."""
    from nbgrader.plugins import LateSubmissionPlugin
    from nbgrader.utils import parse_utc

    student, assignment = job.student, job.assignment
    gb.update_or_create_student(student)
    extra = {"timestamp": parse_utc(job.timestamp)} if job.timestamp else {}
    submission = gb.update_or_create_submission(assignment, student, **extra)
    for notebook in submission.notebooks:
        earned = scores.get(notebook.name, {})
        for grade in notebook.grades:
            score = earned.get(grade.name, 0.0)
            grade.auto_score = score
            grade.needs_manual_grade = (score is None or grade.manual_score is not None
                                        or notebook.name in failed)  # fmt: skip
    late = submission.total_seconds_late
    if late > 0:
        plugin = LateSubmissionPlugin(config=course_config)
        for notebook in submission.notebooks:
            notebook.late_submission_penalty = plugin.late_submission_penalty(
                student, notebook.score, late
            )
    gb.db.commit()


def replace_tree(src: Path, dest: Path) -> None:
    """``dest`` becomes a copy of ``src`` (or disappears when there is no ``src``)."""
    if dest.exists():
        shutil.rmtree(dest)
    if src.exists():
        shutil.copytree(src, dest)
