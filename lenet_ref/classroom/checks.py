"""What can be told about a submission before running it, by the trusted parent.

``inspect_submission`` reads one student's folder for one assignment and decides which
file to grade as which notebook, and which issues to report: a notebook that is not valid
JSON or not a notebook, missing or renamed, the notebook of another assignment, stripped
nbgrader metadata, test or read-only cells deleted or edited (compared with the release),
and code that does what a solution should not need (``scan``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from .course import NotebookSpec
from .issues import Issue
from .scan import scan_cells

MAX_FILE_BYTES = 20_000_000  # a notebook of these exercises is well under 1 MB with outputs
MAX_FILES = 50


@dataclass
class Inspection:
    files: dict[str, Path] = field(default_factory=dict)  # name in the job -> submitted file
    issues: list[Issue] = field(default_factory=list)
    gradable: set[str] = field(default_factory=set)  # notebooks that go to nbgrader
    digest: str = ""  # of everything submitted: a changed submission is graded again


def _read_notebook(path: Path):
    """(notebook, None) or (None, why it is not one)."""
    import nbformat

    if path.is_symlink() or not path.is_file():
        return None, "not a regular file"
    size = path.stat().st_size
    if size == 0:
        return None, "empty file"
    if size > MAX_FILE_BYTES:
        return None, f"{size / 1e6:.0f} MB, more than the {MAX_FILE_BYTES / 1e6:.0f} MB allowed"
    text = path.read_bytes().decode("utf-8", errors="replace")
    try:
        json.loads(text)
    except json.JSONDecodeError as error:
        return None, f"invalid JSON ({error})"
    try:
        nb = nbformat.reads(text, as_version=4)
        if not isinstance(nb.get("cells"), list):
            raise ValueError("no list of cells")
    except Exception as error:
        return None, f"not a notebook ({type(error).__name__}: {str(error)[:200]})"
    return nb, None


def _ids(nb) -> dict[str, tuple[int, dict]]:
    found = {}
    for index, cell in enumerate(nb.cells):
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id is not None:
            found.setdefault(grade_id, (index, cell))
    return found


def _same_cell(submitted: dict, released: dict) -> bool:
    def norm(cell):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else source
        lines = [line.rstrip() for line in source.strip().splitlines()]
        return cell.get("cell_type"), lines, meta.get("points"), bool(meta.get("grade"))

    return norm(submitted) == norm(released)


def _other_notebook(ids: set[str], specs: dict, assignment: str) -> tuple[str | None, int]:
    """The 'assignment/notebook' of another assignment sharing most cell ids, and how many."""
    best, overlap = None, 0
    for other, notebooks in specs.items():
        for name, spec in notebooks.items():
            shared = len(ids & spec.all_ids)
            if other != assignment and shared > overlap:
                best, overlap = f"{other}/{name}.ipynb", shared
    return best, overlap


def _check_cells(nb, name: str, spec: NotebookSpec, specs: dict, assignment: str) -> list[Issue]:
    ids = _ids(nb)
    if not ids:
        return [Issue("stripped-metadata", "no cell has nbgrader metadata: not graded", name)]
    mine = len(set(ids) & spec.all_ids)
    other, theirs = _other_notebook(set(ids), specs, assignment)
    if theirs > mine or not mine:  # notebooks share a few ids ("setup"): the most wins
        where = f"its cells are those of {other}" if other else "none of its cells is of this course"
        return [Issue("other-assignment", where, name)]
    issues = []
    deleted = [i for i in spec.locked if i not in ids]
    edited = [i for i in spec.locked if i in ids and not _same_cell(ids[i][1], spec.locked[i])]
    if deleted:
        issues.append(Issue("deleted-test-cells", ", ".join(deleted), name))
    if edited:
        issues.append(Issue("edited-test-cells", ", ".join(edited), name))
    locked_cells = {ids[i][0] for i in spec.locked if i in ids}
    student_code = [(k, "".join(c.source) if isinstance(c.source, list) else c.source)
                    for k, c in enumerate(nb.cells)
                    if c.cell_type == "code" and k not in locked_cells]  # fmt: skip
    findings = scan_cells(student_code)
    if findings:
        issues.append(Issue("suspicious", "; ".join(findings), name))
    return issues


def _digest(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(path.name.encode() + b"\0")
        if path.is_file() and not path.is_symlink():
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def inspect_submission(folder: Path, assignment: str, specs: dict) -> Inspection:
    """Which file is graded as which notebook, and what a person should know about it."""
    entries = sorted(p for p in folder.iterdir() if p.name != "timestamp.txt")[:MAX_FILES]
    result = Inspection(digest=_digest(entries + [folder / "timestamp.txt"]))
    expected = specs[assignment]
    notebooks = {p.stem: p for p in entries if p.suffix == ".ipynb"}
    strays = [p for stem, p in notebooks.items() if stem not in expected]
    for name, spec in expected.items():
        path = notebooks.get(name)
        if path is None and len(strays) == 1 and len(expected) == 1:
            path = strays[0]
            result.issues.append(Issue("renamed-notebook", f"graded {path.name} as {name}.ipynb", name))
        if path is None:
            result.issues.append(Issue("missing-notebook", f"{name}.ipynb was not submitted", name))
            continue
        nb, why = _read_notebook(path)
        if nb is None:
            result.issues.append(Issue("invalid-notebook", f"{path.name}: {why}", name))
            continue
        issues = _check_cells(nb, name, spec, specs, assignment)
        result.issues += issues
        # the notebook of another assignment fails every test; one without nbgrader metadata
        # makes nbgrader fail (add_missing_cells cannot place the cells): 0, for a person
        if not any(i.kind in ("other-assignment", "stripped-metadata") for i in issues):
            result.files[f"{name}.ipynb"] = path
            result.gradable.add(name)
    for path in entries:  # data files a notebook may read travel with it
        if path.suffix != ".ipynb" and path.is_file() and not path.is_symlink():
            if path.stat().st_size <= MAX_FILE_BYTES:
                result.files[path.name] = path
    return result
