"""grade-class on the course's real exercises: the instructor's answers get every point,
the untouched exercises none, and answers that borrow from or patch the reference get no
points for what they borrowed, and are named in the report."""

from __future__ import annotations

import json
from pathlib import Path

import grade_class_course as toy
import pytest
from test_grade_class import grade_class_command

import simulate
from grade_class.course import load_course

REPO = Path(__file__).resolve().parents[1]
BORROWED_CONV = '''def conv_forward(x, w, b):
    from lenet_ref.numpy import conv
    return conv.conv_forward(x, w, b)'''


@pytest.mark.slow
def test_real_exercises_through_grade_class(tmp_path):
    import subprocess

    course = load_course(REPO)
    assignments = course.assignments()
    assert len(assignments) == 5, assignments
    submissions = tmp_path / "submitted"
    rights = {}
    for a in assignments:
        (source,) = course.source_notebooks(a)
        release = json.loads((course.release_dir / a / source.name).read_text())
        rights[a] = right = simulate.right_answer(release, json.loads(source.read_text()))
        toy.submit(submissions, "right", a, right, name=source.name)
        toy.submit(submissions, "untouched", a, release, name=source.name)
    ch1 = assignments[0]
    release = json.loads((course.release_dir / ch1 / "convolution.ipynb").read_text())
    _, patched = simulate.hostile("patches-numpy", release, rights[ch1], rights[ch1], "convolution")
    toy.submit(submissions, "patcher", ch1, raw=patched, name="convolution.ipynb")
    borrower = json.loads(json.dumps(rights[ch1]))
    for cell in borrower["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("grade_id") == "conv_forward":
            cell["source"] = BORROWED_CONV
    toy.submit(submissions, "borrower", ch1, borrower, name="convolution.ipynb")

    command, env = grade_class_command(submissions, REPO, tmp_path / "out")
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stderr[-3000:]
    records = {(r["student"], r["assignment"]): r
               for r in json.loads((tmp_path / "out" / "report.json").read_text())}  # fmt: skip
    for a in assignments:
        right, untouched = records[("right", a)], records[("untouched", a)]
        assert right["score"] == right["max_score"] > 0 and not right["issues"], right
        assert untouched["score"] == 0 and not untouched["issues"], untouched
    for student in ("patcher", "borrower"):
        record = records[(student, ch1)]
        assert "suspicious" in {i["kind"] for i in record["issues"]}, record
    assert records[("patcher", ch1)]["score"] == 0
    assert 0 < records[("borrower", ch1)]["score"] < records[("right", ch1)]["score"]
