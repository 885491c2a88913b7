"""grade-class on submissions that are broken or oddly packaged: each is its student's
problem alone.

A class is built on the toy course (``grade_class_course``) with one student per odd input:
metadata that is null or of the wrong type, JSON nested too deep, a free-text timestamp,
names that are not UTF-8, copied cells, an nbformat 3 notebook, a notebook beside many
files or in a sub-folder, student ids with glob characters and spaces, symbolic links; and
a zip with a notebook at an unexpected depth, an entry over the size limit and a corrupt
entry. Honest controls sit in the same runs. The fast tests read what ``collect`` and
``inspect_submission`` make of each; the slow ones grade the class with the real
``python -m lenet_ref grade-class``: the run finishes, every student is in the report
(graded, or listed with a reason), honest work keeps its marks and the controls' scores
do not move.
"""

from __future__ import annotations

import json
import os
import subprocess
import zipfile
from pathlib import Path

import grade_class_course as toy
import nbformat
import pytest
import test_grade_class
from test_grade_class import grade_class_command

from grade_class import collect as collect_module
from grade_class.checks import inspect_submission, normalize
from grade_class.collect import collect, find_submissions
from grade_class.course import build_reference, load_course
from grade_class.report import format_report
from grade_class.state import State, file_name

FULL = sum(toy.POINTS.values())
ROOT = Path(__file__).resolve().parents[1]
GLOB_ID, SPACED_ID = "ann[1]*?", " bo b "
LATIN1_ID = b"caf\xe9"  # not UTF-8: graded as the text 'caf\xe9'

# student -> (score it must get, issue kinds the report must give); a score of FULL is honest
# work that must keep its marks
FOLDER_CLASS = {
    "right": (FULL, set()),
    "wrong": (0, set()),
    "null-meta": (FULL, {"repaired-notebook"}),
    "bad-types": (FULL, {"repaired-notebook"}),
    "copied-cells": (FULL, {"repaired-notebook"}),
    "v3": (FULL, {"repaired-notebook"}),
    "deep-json": (0, {"invalid-notebook"}),
    "free-timestamp": (FULL, {"bad-timestamp"}),
    "many-files": (FULL, {"left-out"}),
    "nested": (FULL, {"odd-packaging"}),
    "beside": (FULL, {"odd-packaging"}),
    "latin1-file": (FULL, {"odd-packaging", "renamed-notebook"}),
    "caf\\xe9": (FULL, {"odd-packaging"}),
    GLOB_ID: (FULL, set()),
    SPACED_ID: (FULL, set()),
    "linked": (0, {"left-out", "missing-notebook"}),
    "linked-assignment": (0, {"left-out", "missing-notebook"}),
    "linked-notebook": (0, {"left-out", "missing-notebook"}),
}
ZIP_CLASS = {
    "zright": (FULL, set()),
    "zdeep": (FULL, {"odd-packaging"}),
    "zbig": (0, {"left-out", "missing-notebook"}),
    "zcorrupt-data": (FULL, {"left-out"}),
    "zcorrupt": (0, {"left-out", "missing-notebook"}),
}


def _copy(nb: dict) -> dict:
    return json.loads(json.dumps(nb))


def _cell(source: str, nbgrader=..., metadata=None) -> dict:
    meta = {} if metadata is None else metadata
    if nbgrader is not ...:
        meta["nbgrader"] = nbgrader
    return {"cell_type": "code", "metadata": meta, "source": source, "outputs": [], "execution_count": None}


def odd_notebooks(right: dict) -> dict[str, dict | str]:
    """The honest right answer, saved in each odd way a notebook can be."""
    null_meta = _copy(right)
    null_meta["cells"] += [_cell("x = 1", None), _cell("y = 2", metadata=["not", "a", "dict"])]
    null_meta["cells"][0]["metadata"]["nbgrader"] = {"grade_id": None}
    bad_types = _copy(right)
    bad_types["cells"][2]["metadata"]["nbgrader"]["points"] = "2"  # the visible test's
    bad_types["cells"][3]["metadata"]["nbgrader"]["locked"] = "yes"
    bad_types["cells"].append(_cell("z = 3", {"grade_id": 7, "grade": "yes", "points": "lots",
                                              "solution": 0, "locked": False}))  # fmt: skip
    copied = _copy(right)  # the answer and the visible test pasted again below themselves
    copied["cells"] = [*copied["cells"][:2], _copy(copied["cells"][1]), copied["cells"][2],
                       _copy(copied["cells"][2]), *copied["cells"][3:]]  # fmt: skip
    v3 = nbformat.writes(nbformat.convert(nbformat.reads(json.dumps(right), as_version=4), 3), version=3)
    deep = '{"cells": [], "metadata": {"x": ' + "[" * 200_000 + "]" * 200_000 + "}, "
    deep += '"nbformat": 4, "nbformat_minor": 5}'
    return {"null-meta": null_meta, "bad-types": bad_types, "copied-cells": copied, "v3": v3,
            "deep-json": deep}  # fmt: skip


def build_folder_class(course: Path, root: Path) -> Path:
    """The class of FOLDER_CLASS, as a folder; links point at ``root/../elsewhere``."""
    notebooks = toy.toy_notebooks(course)
    release, right = notebooks["toy"]
    toy.submit(root, "right", "toy", right)
    toy.submit(root, "right", "toy2", notebooks["toy2"][1])
    toy.submit(root, "wrong", "toy", release)
    for student, nb in odd_notebooks(right).items():
        toy.submit(root, student, "toy", raw=nb) if isinstance(nb, str) else toy.submit(root, student, "toy", nb)
    toy.submit(root, "free-timestamp", "toy", right)
    (root / "free-timestamp" / "toy" / "timestamp.txt").write_text("handed in on time, promise\n")
    toy.submit(root, "many-files", "toy", right)
    for k in range(120):  # sorted before the notebook: a listing cut at 50 lost it
        (root / "many-files" / "toy" / f"a{k:03d}.txt").write_text(str(k))
    nested = root / "nested" / "toy" / "my work" / "final"
    nested.mkdir(parents=True)
    (nested / "toy.ipynb").write_text(json.dumps(right))
    (root / "beside").mkdir()
    (root / "beside" / "toy.ipynb").write_text(json.dumps(right))
    latin1 = root / "latin1-file" / "toy"
    latin1.mkdir(parents=True)
    with open(os.path.join(os.fsencode(latin1), b"t\xf6y.ipynb"), "w") as f:
        f.write(json.dumps(right))
    with open(os.path.join(os.fsencode(latin1), b"donn\xe9es.txt"), "w") as f:
        f.write("data")
    student = os.path.join(os.fsencode(root), LATIN1_ID, b"toy")
    os.makedirs(student)
    with open(os.path.join(student, b"toy.ipynb"), "w") as f:
        f.write(json.dumps(right))
    for odd_id in (GLOB_ID, SPACED_ID):
        toy.submit(root, odd_id, "toy", right)
    elsewhere = root.parent / "elsewhere"
    toy.submit(elsewhere, "someone", "toy", right)
    (root / "linked").symlink_to(elsewhere / "someone")
    (root / "linked-assignment").mkdir()
    (root / "linked-assignment" / "toy").symlink_to(elsewhere / "someone" / "toy")
    (root / "linked-notebook" / "toy").mkdir(parents=True)
    (root / "linked-notebook" / "toy" / "toy.ipynb").symlink_to(elsewhere / "someone" / "toy" / "toy.ipynb")
    return root


def build_zip_class(course: Path, path: Path, big_bytes: int = 51_000_000) -> Path:
    """The class of ZIP_CLASS, as a zip inside a top folder, two entries corrupted."""
    release, right = toy.toy_notebooks(course)["toy"]
    text = json.dumps(right)
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("export/zright/toy/toy.ipynb", text, zipfile.ZIP_DEFLATED)
        z.writestr("export/zdeep/toy/a/b/toy.ipynb", text, zipfile.ZIP_DEFLATED)
        z.writestr("export/zbig/toy/toy.ipynb", b"\0" * big_bytes, zipfile.ZIP_DEFLATED)
        z.writestr("export/zcorrupt-data/toy/toy.ipynb", text, zipfile.ZIP_DEFLATED)
        z.writestr("export/zcorrupt-data/toy/data.txt", "CORRUPT-ME-1" * 10, zipfile.ZIP_STORED)
        z.writestr("export/zcorrupt/toy/toy.ipynb", text.replace('"cells"', '"cells" ', 1)
                   + " " * 10 + "CORRUPT-ME-2", zipfile.ZIP_STORED)  # fmt: skip
    data = bytearray(path.read_bytes())
    for marker in (b"CORRUPT-ME-1", b"CORRUPT-ME-2"):
        at = data.index(marker)
        data[at : at + len(marker)] = b"x" * len(marker)  # the CRC no longer matches
    path.write_bytes(bytes(data))
    return path


course = test_grade_class.course  # the toy course, a module fixture


@pytest.fixture(scope="module")
def specs(course, tmp_path_factory):
    ref = tmp_path_factory.mktemp("ref")
    return build_reference(load_course(course), ["toy", "toy2"], ref), ref / "release"


def _inspect_all(root: Path, specs) -> dict:
    return {s: inspect_submission(f, a, specs) for s, a, f in find_submissions(root, ["toy"])}


def _gradable(expected_kinds: set[str]) -> bool:
    return not expected_kinds & {"invalid-notebook", "missing-notebook"}


def _kinds(inspection) -> set[str]:
    return {i.kind for i in inspection.issues}


# ---- what collect and inspect_submission make of each, no kernel -----------------------


@pytest.fixture(scope="module")
def staged_folder_class(course, specs, tmp_path_factory):
    base = tmp_path_factory.mktemp("folder-class")
    build_folder_class(course, base / "class")
    root = collect(base / "class", ["toy", "toy2"], base / "out", base / "scratch", specs[1], None, "")
    return root, _inspect_all(root, specs[0])


@pytest.mark.parametrize("student", sorted(FOLDER_CLASS))
def test_every_odd_folder_submission_is_inspected_with_its_reason(staged_folder_class, student):
    _, seen = staged_folder_class
    score, kinds = FOLDER_CLASS[student]
    assert student in seen, f"{student} was dropped; found {sorted(seen)}"
    inspection = seen[student]
    assert kinds <= _kinds(inspection), inspection.issues
    assert (inspection.gradable == {"toy"}) == _gradable(expected_kinds=kinds), inspection.issues
    if not kinds:
        assert inspection.issues == []


def test_the_graded_copy_is_repaired_and_reports_what_changed(staged_folder_class):
    _, seen = staged_folder_class
    for student in ("null-meta", "bad-types", "copied-cells", "v3", "right"):
        nb = nbformat.read(seen[student].files["toy.ipynb"], as_version=4)
        assert nb["nbformat"] == 4
        ids = [c["metadata"]["nbgrader"]["grade_id"] for c in nb["cells"] if "nbgrader" in c["metadata"]]
        assert len(ids) == len(set(ids)), (student, ids)
        for cell in nb["cells"]:
            assert isinstance(cell["metadata"], dict) and isinstance(cell["source"], str)
            meta = cell["metadata"].get("nbgrader", {})
            assert isinstance(meta, dict)
            assert all(isinstance(meta.get(k, False), bool) for k in ("grade", "solution", "locked"))
            if meta.get("grade"):
                assert isinstance(meta["points"], (int, float)), (student, meta)
        nbformat.validate(nbformat.from_dict(nb))
    details = {s: " ".join(i.detail for i in seen[s].issues) for s in seen}
    assert "copy of cell 'add_answer'" in details["copied-cells"]
    assert "copy of cell 'add_visible'" in details["copied-cells"]
    assert "points = '2' restored as released" in details["bad-types"]
    assert "nbformat 3 converted to 4" in details["v3"]
    assert "not a mapping" in details["null-meta"]
    copied = nbformat.read(seen["copied-cells"].files["toy.ipynb"], as_version=4)["cells"]
    assert "nbgrader" in copied[1]["metadata"] and "nbgrader" not in copied[2]["metadata"]


def test_what_staging_did_is_said(staged_folder_class):
    root, seen = staged_folder_class
    details = {s: " ".join(i.detail for i in seen[s].issues) for s in seen}
    assert "my work/final/toy.ipynb taken as toy.ipynb" in details["nested"]
    assert "not in toy/" in details["beside"]
    assert "handed in on time" in details["free-timestamp"]
    assert not (root / "free-timestamp" / "toy" / "timestamp.txt").exists()
    assert "a symbolic link: not followed" in details["linked"]
    assert "a symbolic link: not followed" in details["linked-assignment"]
    assert "a symbolic link: not followed" in details["linked-notebook"]
    assert "graded as 'caf\\\\xe9'" in details["caf\\xe9"]
    assert (root / "latin1-file" / "toy" / "donn\\xe9es.txt").is_file()
    many = seen["many-files"]
    assert "toy.ipynb" in many.files and len(many.files) == 1 + collect_module.MAX_SUBMISSION_FILES
    assert "a119.txt" in details["many-files"]
    for student in (GLOB_ID, SPACED_ID):
        assert (root / student / "toy" / "toy.ipynb").is_file()


def test_timestamps_kept_normalized_or_dropped(course, specs, tmp_path):
    right = toy.toy_notebooks(course)["toy"][1]
    for student, stamp in {"ok": "2024-01-30T15:00:00+01:00", "junk": "\xff\xfe\0",
                           "empty": ""}.items():  # fmt: skip
        toy.submit(tmp_path / "in", student, "toy", right)
        (tmp_path / "in" / student / "toy" / "timestamp.txt").write_bytes(stamp.encode("latin-1"))
    root = collect(tmp_path / "in", ["toy"], tmp_path / "out", tmp_path / "s", specs[1], None, "")
    assert (root / "ok" / "toy" / "timestamp.txt").read_text().strip() == "2024-01-30 14:00:00"
    seen = _inspect_all(root, specs[0])
    assert _kinds(seen["junk"]) == {"bad-timestamp"} and not (root / "junk" / "toy" / "timestamp.txt").exists()
    assert seen["ok"].issues == [] and seen["empty"].issues == []


def test_a_zip_with_odd_entries_keeps_the_others(course, specs, tmp_path, monkeypatch):
    monkeypatch.setattr(collect_module, "MAX_ENTRY_BYTES", 1_000_000)
    archive = build_zip_class(course, tmp_path / "class.zip", big_bytes=1_500_000)
    root = collect(archive, ["toy"], tmp_path / "out", tmp_path / "s", specs[1], None, "")
    seen = _inspect_all(root, specs[0])
    assert set(seen) == set(ZIP_CLASS)
    for student, (_, kinds) in ZIP_CLASS.items():
        assert kinds <= _kinds(seen[student]), (student, seen[student].issues)
        assert (seen[student].gradable == {"toy"}) == _gradable(kinds), (student, seen[student].issues)
    detail = " ".join(i.detail for i in seen["zcorrupt"].issues)
    assert "unreadable: BadZipFile" in detail


def test_an_unreadable_zip_is_a_clear_error(specs, tmp_path):
    archive = tmp_path / "class.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("alice/toy/toy.ipynb", "{}")
    archive.write_bytes(archive.read_bytes()[:-30])  # the central directory cut
    with pytest.raises(ValueError, match="zip"):
        collect(archive, ["toy"], tmp_path / "out", tmp_path / "s", specs[1], None, "")


def test_entries_that_belong_to_nobody_are_listed(specs, tmp_path):
    archive = tmp_path / "class.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("alice/toy/toy.ipynb", "{}")
        z.writestr("readme.ipynb", "{}")
        z.writestr("../../evil/toy/toy.ipynb", "{}")
    root = collect(archive, ["toy"], tmp_path / "out", tmp_path / "s", specs[1], None, "")
    assert [s for s, _, _ in find_submissions(root, ["toy"])] == ["alice"]
    assert len(collect_module.unplaced(root)) == 2
    assert not (tmp_path / "evil").exists()


def test_a_folder_inside_a_folder_and_misnamed_folders(course, specs, tmp_path):
    right = toy.toy_notebooks(course)["toy"][1]
    toy.submit(tmp_path / "in" / "export", "alice", "toy", right)  # one folder above the class
    toy.submit(tmp_path / "in" / "export", "bob", "toy (final)", right, name="toy.ipynb")  # misnamed
    toy.submit(tmp_path / "in" / "export", "carol", "toy", right)
    (tmp_path / "in" / "export" / "carol" / "toy.ipynb").write_text("{}")  # a draft beside it
    (tmp_path / "in" / "export" / "stray.ipynb").write_text("{}")
    root = collect(tmp_path / "in", ["toy"], tmp_path / "out", tmp_path / "s", specs[1], None, "")
    seen = _inspect_all(root, specs[0])
    assert set(seen) == {"alice", "bob", "carol"}
    assert seen["alice"].issues == [] and seen["carol"].issues == []
    assert json.loads((root / "carol" / "toy" / "toy.ipynb").read_text()) == right  # not the draft
    assert _kinds(seen["bob"]) == {"odd-packaging"} and seen["bob"].gradable == {"toy"}
    assert "toy (final)/toy.ipynb was not in toy/" in seen["bob"].issues[0].detail
    assert collect_module.unplaced(root) == ["export/stray.ipynb: no <student>/<assignment>/ in its path"]


def test_ids_stay_distinct_and_hidden_folders_are_nobody_s(course, specs, tmp_path):
    right = toy.toy_notebooks(course)["toy"][1]
    for student in (b"caf\xe9", b"caf\\xe9"):  # the second is already what the first is spelled as
        folder = os.path.join(os.fsencode(tmp_path / "in"), student, b"toy")
        os.makedirs(folder)
        with open(os.path.join(folder, b"toy.ipynb"), "w") as f:
            f.write(json.dumps(right))
    toy.submit(tmp_path / "in", ".git", "toy", right)
    root = collect(tmp_path / "in", ["toy"], tmp_path / "out", tmp_path / "s", specs[1], None, "")
    seen = _inspect_all(root, specs[0])
    assert set(seen) == {"caf\\xe9", "caf\\xe9~2"}
    assert seen["caf\\xe9"].issues == [] and _kinds(seen["caf\\xe9~2"]) == {"odd-packaging"}


def test_names_too_long_for_a_file_are_cut_and_kept_distinct(course, specs, tmp_path):
    right = toy.toy_notebooks(course)["toy"][1]
    for k in range(2):  # 250 bytes, each of which becomes a 4-character escape
        folder = os.path.join(os.fsencode(tmp_path / "in"), bytes([0xE9, 0x30 + k]) * 125, b"toy")
        os.makedirs(folder)
        with open(os.path.join(folder, b"toy.ipynb"), "w") as f:
            f.write(json.dumps(right))
        with open(os.path.join(folder, b"\xff" * 200 + b".csv"), "w") as f:
            f.write("data")
    root = collect(tmp_path / "in", ["toy"], tmp_path / "out", tmp_path / "s", specs[1], None, "")
    seen = _inspect_all(root, specs[0])
    assert len(seen) == 2
    for student, inspection in seen.items():
        assert len(student.encode()) <= 160 and inspection.gradable == {"toy"}
        assert [p.suffix for n, p in inspection.files.items() if n != "toy.ipynb"] == [".csv"]


def test_an_uninspectable_submission_is_listed_not_raised(specs, tmp_path, monkeypatch):
    from grade_class import checks

    (tmp_path / "alice" / "toy").mkdir(parents=True)
    (tmp_path / "alice" / "toy" / "toy.ipynb").write_text("{}")
    monkeypatch.setattr(checks, "_read_notebook", lambda *a: 1 / 0)
    inspection = inspect_submission(tmp_path / "alice" / "toy", "toy", specs[0])
    assert _kinds(inspection) == {"grader-error"} and not inspection.gradable


def test_normalize_leaves_a_clean_notebook_as_it_is(course, specs):
    right = toy.toy_notebooks(course)["toy"][1]
    fixed, changes, ids = normalize(_copy(right), specs[0]["toy"]["toy"])
    assert changes == []
    assert [c["source"] for c in fixed["cells"]] == [
        "".join(c["source"]) if isinstance(c["source"], list) else c["source"] for c in right["cells"]
    ]
    assert [c["metadata"] for c in fixed["cells"]] == [c["metadata"] for c in right["cells"]]


@pytest.mark.parametrize("path", sorted((ROOT / "exercises").glob("*/*.ipynb")), ids=lambda p: p.parent.name)
def test_the_course_s_own_notebooks_need_no_repair(path):
    """The released exercises, and each with its solution, are given to nbgrader as they are."""
    from grade_class.course import _released_spec
    from simulate import right_answer

    spec = _released_spec(path)
    release = json.loads(path.read_text())
    source = json.loads((ROOT / "solutions" / path.parent.name / path.name).read_text())
    for nb in (release, right_answer(release, source)):
        fixed, changes, ids = normalize(_copy(nb), spec)
        assert changes == [] and ids == spec.all_ids
        assert [c["metadata"] for c in fixed["cells"]] == [c["metadata"] for c in nb["cells"]]


@pytest.mark.parametrize("student", [GLOB_ID, SPACED_ID, "caf\\xe9", ".hidden", "a/b".replace("/", "%2F"),
                                     "x" * 300, "é"])  # fmt: skip
def test_state_keeps_any_student_id(tmp_path, student):
    state = State(tmp_path)
    state.save({"student": student, "assignment": "toy", "digest": "d", "source": "s", "score": 1})
    assert state.is_done("toy", student, "d", "s")
    assert not state.is_done("toy", student + "x", "d", "s")
    assert [r["student"] for r in state.records(["toy"])] == [student]
    assert not file_name(student).startswith(".") and len(file_name(student).encode()) < 255


def test_report_survives_a_record_of_another_version():
    record = {"student": "s", "assignment": "a", "score": 0, "max_score": 5,
              "issues": [{"kind": "no-longer-known", "detail": "d", "notebook": "nb"}]}  # fmt: skip
    assert "no-longer-known" in format_report([record], ["a"], [])


# ---- the real grade-class ------------------------------------------------------------------


def _grade(course, submissions, out, *extra) -> tuple[dict, str]:
    command, env = grade_class_command(submissions, course, out, "--timeout", "60", *extra)
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    records = {(r["student"], r["assignment"]): r for r in json.loads((out / "report.json").read_text())}
    return records, done.stdout


def _check(records, stdout, student, expected):
    score, kinds = expected
    assert (student, "toy") in records, f"{student!r} is not in the report: {sorted(records)}"
    record = records[(student, "toy")]
    found = {i["kind"] for i in record["issues"]}
    assert record["score"] == score, f"{student!r}: {record['score']} points, {record['issues']}"
    assert kinds <= found and (kinds or not found), f"{student!r}: {record['issues']}"
    if kinds:
        assert f"toy  {student}  (" in stdout, f"{student!r} is not in the printed report"


@pytest.fixture(scope="module")
def graded_folder_class(course, tmp_path_factory):
    base = tmp_path_factory.mktemp("graded-folder")
    build_folder_class(course, base / "class")
    return _grade(course, base / "class", base / "out")


@pytest.mark.slow
@pytest.mark.parametrize("student", sorted(FOLDER_CLASS))
def test_grade_class_grades_or_lists_every_odd_submission(graded_folder_class, student):
    records, stdout = graded_folder_class
    _check(records, stdout, student, FOLDER_CLASS[student])


@pytest.mark.slow
def test_grade_class_controls_keep_their_scores_and_nobody_is_dropped(graded_folder_class):
    records, _ = graded_folder_class
    assert records[("right", "toy")]["score"] == FULL and records[("right", "toy")]["issues"] == []
    assert records[("right", "toy2")]["score"] == FULL
    assert records[("wrong", "toy")]["score"] == 0 and records[("wrong", "toy")]["issues"] == []
    assert {s for s, a in records if a == "toy"} == set(FOLDER_CLASS)


@pytest.mark.slow
def test_grade_class_a_zip_with_odd_entries(course, tmp_path):
    archive = build_zip_class(course, tmp_path / "class.zip")
    records, stdout = _grade(course, archive, tmp_path / "out")
    assert {s for s, _ in records} == set(ZIP_CLASS)
    for student, expected in ZIP_CLASS.items():
        _check(records, stdout, student, expected)
