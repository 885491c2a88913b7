"""The class's grades in the CSV layouts two learning management systems import, made
from nbgrader's own export (``grades.csv``: one row per student and assignment).

- ``canvas-grades.csv``: Canvas's gradebook import (Grades > Import): the columns
  ``Student, ID, SIS User ID, SIS Login ID, Section``, then one column per assignment,
  and a ``Points Possible`` row. The nbgrader student id goes in ``SIS Login ID`` (and
  ``Student``): Canvas matches a row by its ID, SIS User ID or SIS Login ID, so use ids
  that are Canvas logins in nbgrader, or move the column to the one your ids are.
- ``moodle-grades.csv``: Moodle's "Import grades from CSV": a ``Username`` column (map it
  to the user field your ids are: username, ID number or email), then one column per
  assignment, each mapped to a grade item on import.

A student with no submission of an assignment gets 0, as in nbgrader's export.
"""

from __future__ import annotations

import csv
from pathlib import Path

CANVAS_FIXED = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]


def _table(grades_csv: Path) -> tuple[list[str], dict[str, dict[str, str]], dict[str, str]]:
    """(assignments, {student: {assignment: score}}, {assignment: max score})."""
    assignments: list[str] = []
    scores: dict[str, dict[str, str]] = {}
    maximum: dict[str, str] = {}
    with open(grades_csv, newline="") as f:
        for row in csv.DictReader(f):
            a = row["assignment"]
            if a not in assignments:
                assignments.append(a)
            scores.setdefault(row["student_id"], {})[a] = row["score"]
            maximum[a] = row["max_score"]
    return assignments, scores, maximum


def export_lms(grades_csv: Path, out: Path) -> list[Path]:
    """Write the Canvas and Moodle CSVs beside ``grades_csv``; returns their paths."""
    assignments, scores, maximum = _table(grades_csv)
    canvas, moodle = out / "canvas-grades.csv", out / "moodle-grades.csv"
    with open(canvas, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(CANVAS_FIXED + assignments)
        writer.writerow(["Points Possible", "", "", "", ""] + [maximum[a] for a in assignments])
        for student in sorted(scores):
            writer.writerow([student, "", "", student, ""] +
                            [scores[student].get(a, "0") for a in assignments])  # fmt: skip
    with open(moodle, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["Username"] + assignments)
        for student in sorted(scores):
            writer.writerow([student] + [scores[student].get(a, "0") for a in assignments])
    return [canvas, moodle]
