"""What can be told about a submission before running it, by the trusted parent.

``inspect_submission`` reads one student's folder for one assignment and decides which
file to grade as which notebook, and which issues to report: what staging found
(``collect``: odd packaging, files left out, a bad timestamp), a notebook that is not
valid JSON or not a notebook, missing or renamed, the notebook of another assignment,
stripped nbgrader metadata, test or read-only cells deleted or edited (compared with the
release), and code that does what a solution should not need (``scan``).

It is the one place where a notebook is repaired before nbgrader sees it (``normalize``):
nbformat 3 converted, metadata of the wrong type fixed, copied cells' repeated grade ids
given to the first copy only. The repaired copy is what the job grades, and what was
repaired is reported (``repaired-notebook``): honest work oddly saved keeps its marks.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from .collect import MAX_ENTRY_BYTES, META, clean_name, submission_issues
from .course import NotebookSpec
from .issues import Issue
from .scan import scan_cells

MAX_FILE_BYTES = 20_000_000  # a notebook of these exercises is well under 1 MB with outputs
MAX_DEPTH = 100  # levels of JSON nesting in a notebook without outputs (a real one has < 10)
NORMALIZED = "normalized"  # in the submission's META folder: the notebooks nbgrader is given
FLAGS = ("grade", "solution", "locked", "task")
CELL_ID = re.compile(r"[a-zA-Z0-9_-]{1,64}")  # nbformat 4.5's cell id


@dataclass
class Inspection:
    files: dict[str, Path] = field(default_factory=dict)  # name in the job -> file to copy
    issues: list[Issue] = field(default_factory=list)
    gradable: set[str] = field(default_factory=set)  # notebooks that go to nbgrader
    digest: str = ""  # of everything submitted: a changed submission is graded again


def _depth(value) -> int:
    """How deeply a JSON value nests, without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if depth <= MAX_DEPTH:
            children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
            stack += [(child, depth + 1) for child in children if isinstance(child, (dict, list))]
    return deepest


def _text(source) -> str | None:
    if isinstance(source, str):
        return source
    if isinstance(source, list) and all(isinstance(line, str) for line in source):
        return "".join(source)
    return None


def _number(value) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value) if value == value and abs(value) != float("inf") else None
    try:
        number = float(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if number == number and abs(number) != float("inf") else None


def _released_meta(spec: NotebookSpec, grade_id: str) -> dict | None:
    """The flags and points the release gives the cell ``grade_id`` (None: not its cell)."""
    if grade_id in spec.locked:
        meta = spec.locked[grade_id].get("metadata", {}).get("nbgrader", {})
        return {k: meta[k] for k in (*FLAGS, "points") if k in meta}
    if grade_id in spec.all_ids:  # an answer cell
        meta = {"grade": grade_id in spec.points, "solution": True, "locked": False}
        return {**meta, "points": spec.points[grade_id]} if meta["grade"] else meta
    return None


def _valid_for_nbgrader(meta: dict, cell_type: str) -> bool:
    """nbgrader's own rules (``MetadataValidatorV3``): what it would refuse to grade."""
    grade, solution = meta.get("grade", False), meta.get("solution", False)
    if grade and _number(meta.get("points")) is None:
        return False
    if meta.get("task", False):
        return cell_type == "markdown"
    return cell_type != "markdown" or grade == solution


def _nbgrader_meta(meta, cell_type: str, where: str, spec: NotebookSpec, changes: list[str]):
    """A cell's nbgrader metadata as nbgrader can use it, or None (an ordinary cell).

    A cell the release knows (by its grade_id) gets the release's flags and points, as
    nbgrader would enforce them. Any other loses its nbgrader metadata: nbgrader would drop
    its id and then fail on the notebook (``add_missing_task_cells``: KeyError 'grade_id').
    """
    if not isinstance(meta, dict):
        changes.append(f"{where}: nbgrader metadata {type(meta).__name__}, not a mapping: removed")
        return None
    grade_id = meta.get("grade_id")
    if isinstance(grade_id, (int, float)) and not isinstance(grade_id, bool):
        changes.append(f"{where}: grade_id {grade_id!r} is a number: taken as the text {str(grade_id)!r}")
        grade_id = str(grade_id)
    released = _released_meta(spec, grade_id) if isinstance(grade_id, str) else None
    if released is None:
        changes.append(f"{where}: grade_id {grade_id!r} is not a cell of the release: nbgrader "
                       "metadata removed")  # fmt: skip
        return None
    given = {k: meta.get(k, False if k in FLAGS else None) for k in released}  # a flag left out: False
    differs = [f"{k} = {given[k]!r}" for k, v in released.items()
               if not (given[k] == v and type(given[k]) in (type(v), int, float))]  # fmt: skip
    fixed = {k: v for k, v in meta.items()
             if isinstance(v, bool) and k in FLAGS or isinstance(v, str) and k in ("checksum", "cell_type")}
    if fixed.get("task") and not released.get("task"):
        differs.append("task = True")
        fixed["task"] = False
    if differs:
        changes.append(f"{where} ({grade_id}): {', '.join(differs)} restored as released")
    fixed.update(released, grade_id=grade_id, schema_version=3)
    if not _valid_for_nbgrader(fixed, cell_type):
        changes.append(f"{where} ({grade_id}): a {cell_type} cell now, which nbgrader cannot "
                       "grade as this cell: graded as an ordinary cell")  # fmt: skip
        return None
    return fixed


def submitted_ids(raw: dict) -> set[str]:
    """Every grade id a notebook's cells name, of whatever type (to tell its assignment)."""
    found = set()
    for cell in raw.get("cells") or []:
        meta = cell.get("metadata") if isinstance(cell, dict) else None
        nbg = meta.get("nbgrader") if isinstance(meta, dict) else None
        grade_id = nbg.get("grade_id") if isinstance(nbg, dict) else None
        if isinstance(grade_id, (str, int, float)) and not isinstance(grade_id, bool):
            found.add(str(grade_id))
    return found


def normalize(raw: dict, spec: NotebookSpec) -> tuple[dict, list[str], set[str]]:
    """The notebook nbgrader is given, as a v4 dict; what was repaired (for a person); and
    every grade id the submitted cells named (to tell which assignment it is).

    Outputs are cleared (nbgrader clears them before running anyway) and sources joined;
    cells that are not cells are dropped; nbgrader metadata that is not a mapping, or whose
    grade_id is not a name, is removed; values of the wrong type are converted; of cells
    sharing a grade_id (a copied cell) the first keeps it and the later ones become
    ordinary cells.
    """
    import nbformat

    changes: list[str] = []
    if raw.get("nbformat") != 4:
        version = raw.get("nbformat")
        raw = json.loads(json.dumps(nbformat.convert(nbformat.from_dict(raw), 4)))
        changes.append(f"nbformat {version} converted to 4")
    submitted = submitted_ids(raw)
    cells, seen, ids = [], set(), set()
    for index, cell in enumerate(raw.get("cells") or []):
        where = f"cell {index}"
        kind = cell.get("cell_type") if isinstance(cell, dict) else None
        source = _text(cell.get("source", "")) if isinstance(cell, dict) else None
        if kind not in ("code", "markdown", "raw") or source is None:
            changes.append(f"{where}: not a notebook cell: dropped")
            continue
        original = cell.get("metadata", {})
        if not isinstance(original, dict):
            changes.append(f"{where}: metadata {type(original).__name__}, not a mapping: removed")
            original = {}
        meta = {k: v for k, v in original.items() if k != "nbgrader"}
        if "nbgrader" in original:
            nbg = _nbgrader_meta(original["nbgrader"], kind, where, spec, changes)
            if nbg is not None and nbg["grade_id"] in seen:
                changes.append(f"{where}: a copy of cell {nbg['grade_id']!r} (the id is used "
                               "above): graded as an ordinary cell")  # fmt: skip
            elif nbg is not None:
                seen.add(nbg["grade_id"])
                meta["nbgrader"] = nbg
        fresh = {"cell_type": kind, "metadata": meta, "source": source}
        cell_id = cell.get("id")
        if not isinstance(cell_id, str) or cell_id in ids or not CELL_ID.fullmatch(cell_id):
            cell_id = next(f"cell-{index}-{k}" for k in range(len(ids) + 1) if f"cell-{index}-{k}" not in ids)
        ids.add(cell_id)
        fresh["id"] = cell_id
        if kind == "code":
            fresh.update(outputs=[], execution_count=None)
        elif isinstance(cell.get("attachments"), dict):
            fresh["attachments"] = cell["attachments"]
        cells.append(fresh)
    metadata = raw.get("metadata") if isinstance(raw.get("metadata"), dict) else {}
    return {"cells": cells, "metadata": metadata, "nbformat": 4, "nbformat_minor": 5}, changes, submitted


def _read_notebook(path: Path, spec: NotebookSpec):
    """(normalized notebook, what was repaired, its grade ids, None), or
    (None, [], set(), why it is not one)."""
    import nbformat

    if path.is_symlink() or not path.is_file():
        return None, [], set(), "not a regular file"
    size = path.stat().st_size
    if size == 0:
        return None, [], set(), "empty file"
    if size > MAX_FILE_BYTES:
        return None, [], set(), f"{size / 1e6:.0f} MB, more than the {MAX_FILE_BYTES / 1e6:.0f} MB allowed"
    text = path.read_bytes().decode("utf-8", errors="replace")
    try:
        raw = json.loads(text)
    except RecursionError:
        return None, [], set(), "JSON nested too deep to read"
    except ValueError as error:
        return None, [], set(), f"invalid JSON ({str(error)[:200]})"
    if not isinstance(raw, dict) or not isinstance(raw.get("cells", raw.get("worksheets")), list):
        return None, [], set(), "not a notebook (no list of cells)"
    try:
        raw, changes, ids = normalize(raw, spec)
        if _depth(raw) > MAX_DEPTH:
            return None, [], set(), f"JSON nested more than {MAX_DEPTH} levels deep"
        nb = nbformat.from_dict(raw)
    except RecursionError:
        return None, [], set(), "JSON nested too deep to read"
    except Exception as error:
        return None, [], set(), f"not a notebook ({type(error).__name__}: {str(error)[:200]})"
    return nb, changes, ids, None


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


def _check_cells(nb, submitted: set[str], name: str, spec: NotebookSpec, specs: dict,
                 assignment: str, package: str | None) -> list[Issue]:  # fmt: skip
    ids = _ids(nb)  # the cells nbgrader will know, in the repaired notebook
    if not submitted:
        return [Issue("stripped-metadata", "no cell has nbgrader metadata: not graded", name)]
    mine = len(submitted & spec.all_ids)
    other, theirs = _other_notebook(submitted, specs, assignment)
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
    findings = scan_cells(student_code, package)
    if findings:
        issues.append(Issue("suspicious", "; ".join(findings), name))
    return issues


def _digest(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(path.name.encode("utf-8", "surrogateescape") + b"\0")
        if path.is_file() and not path.is_symlink():
            if path.stat().st_size <= MAX_ENTRY_BYTES:
                digest.update(hashlib.sha256(path.read_bytes()).digest())
            else:
                digest.update(str(path.stat().st_size).encode())
    return digest.hexdigest()


def _write(nb, path: Path) -> Path:
    import nbformat

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(nbformat.writes(nb, version=4))
    return path


def inspect_submission(folder: Path, assignment: str, specs: dict,
                       package: str | None = None) -> Inspection:
    """Which file is graded as which notebook, and what a person should know about it.

    Each notebook that goes to nbgrader is written, normalized (``normalize``), to
    ``folder/.grade-class/normalized/<notebook>/``: that copy is what the job grades. What
    staging found (``collect``) comes first among the issues. Whatever goes wrong here is
    this submission's alone: it is listed, not graded, and the class goes on.
    """
    try:
        return _inspect(Path(folder), assignment, specs, package)
    except Exception as error:  # a bug or an unreadable file: not a reason to stop the class
        detail = f"could not be inspected before grading: {type(error).__name__}: {str(error)[:300]}"
        return Inspection(issues=[Issue("grader-error", clean_name(detail))],
                          digest=f"uninspectable-{error!r}"[:200])  # fmt: skip


def _inspect(folder: Path, assignment: str, specs: dict, package: str | None) -> Inspection:
    entries = sorted(p for p in folder.iterdir() if p.name not in ("timestamp.txt", META))
    result = Inspection(digest=_digest(entries + [folder / "timestamp.txt"]))
    result.issues += submission_issues(folder)
    expected = specs[assignment]
    notebooks = {p.stem: p for p in entries if p.suffix == ".ipynb"}
    strays = [p for stem, p in notebooks.items() if stem not in expected]
    for name, spec in expected.items():
        path = notebooks.get(name)
        if path is None and len(strays) == 1 and len(expected) == 1:
            path = strays[0]
            result.issues.append(Issue("renamed-notebook", f"graded {clean_name(path.name)} as {name}.ipynb", name))
        if path is None:
            result.issues.append(Issue("missing-notebook", f"{name}.ipynb was not submitted", name))
            continue
        nb, changes, ids, why = _read_notebook(path, spec)
        if nb is None:
            result.issues.append(Issue("invalid-notebook", f"{clean_name(path.name)}: {why}", name))
            continue
        issues = _check_cells(nb, ids, name, spec, specs, assignment, package)
        # the notebook of another assignment fails every test; one without nbgrader metadata
        # makes nbgrader fail (add_missing_cells cannot place the cells): 0, for a person
        refused = any(i.kind in ("other-assignment", "stripped-metadata") for i in issues)
        if changes and not refused:
            shown = changes[:10] + [f"and {len(changes) - 10} more"] * (len(changes) > 10)
            result.issues.append(Issue("repaired-notebook", "; ".join(shown), name))
        result.issues += issues
        if not refused:
            # the repaired copy of what was submitted, under the submitted name
            result.files[f"{name}.ipynb"] = _write(nb, folder / META / NORMALIZED / name / path.name)
            result.gradable.add(name)
    for path in entries:  # data files a notebook may read travel with it
        if path.suffix != ".ipynb" and path.is_file() and not path.is_symlink():
            if path.stat().st_size <= MAX_FILE_BYTES:
                result.files[path.name] = path
    return result
