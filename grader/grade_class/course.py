"""The course being graded: its nbgrader config, its assignments and what they expect.

``load_course`` reads ``nbgrader_config.py`` from the course root (as nbgrader does from
the working directory). ``build_reference`` runs nbgrader's generate_assignment once per
run into a template gradebook, and keeps the release notebooks it writes: the gradebook is
what every scratch course starts from, and the release is what a student's notebook is
compared with (a locked cell must come back as it was released).
"""

from __future__ import annotations

import hashlib
import importlib
import os
from dataclasses import dataclass, field
from pathlib import Path

CONFIG_FILE = "nbgrader_config.py"


@dataclass(frozen=True)
class Course:
    root: Path
    config: object  # traitlets Config, as nbgrader_config.py sets it
    source_dir: Path
    release_dir: Path  # the student notebooks, as nbgrader generated them
    grading_dir: Path  # where the course keeps its gradebook: the default output folder

    def source_notebooks(self, assignment: str) -> list[Path]:
        return sorted((self.source_dir / assignment).glob("*.ipynb"))

    @property
    def package(self) -> str:
        """``c.GradeClass.course_package``: the Python package whose ``grading`` module holds
        the course's checks (``course_grading``); a kernel sees a hand-out of it only."""
        package = self.config.get("GradeClass", {}).get("course_package")
        if not isinstance(package, str) or not package.isidentifier():
            raise ValueError(
                f"{CONFIG_FILE} must name the course's package: c.GradeClass.course_package = "
                "'yourpackage' (the package whose `grading` module holds the checks; see "
                f"grade_class's docstring); got {package!r}"
            )
        return package

    def assignments(self) -> list[str]:
        """Every assignment with a source notebook, in order."""
        if not self.source_dir.is_dir():
            return []
        return sorted(d.name for d in self.source_dir.iterdir() if self.source_notebooks(d.name))


GRADING_API = ("run_check", "behaviours", "guard", "wire")


def course_grading(package: str):
    """``<package>.grading``, the course's side of the checks: ``run_check(exercise, name,
    answers)`` returns a verdict (``.passed``, ``.message``); ``behaviours()`` imports every
    check (the worker calls it once, before the first job); ``guard.Answer`` is how a check
    holds a student's function; ``wire`` is the plain-data codec that its kernel client
    (``grading.remote``, handed out to every kernel) speaks."""
    try:
        module = importlib.import_module(f"{package}.grading")
    except ImportError as error:
        raise ValueError(f"GradeClass.course_package: cannot import {package}.grading ({error})") from None
    missing = [name for name in GRADING_API if not hasattr(module, name)]
    if missing:
        raise ValueError(f"{package}.grading lacks {', '.join(missing)}: see grade_class's docstring")
    return module


def load_course(root: str | os.PathLike) -> Course:
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    root = Path(root).resolve()
    if not (root / CONFIG_FILE).is_file():
        raise FileNotFoundError(
            f"no {CONFIG_FILE} in {root}: run from the course root or pass --course DIR"
        )
    config = PyFileConfigLoader(CONFIG_FILE, path=str(root)).load_config()
    coursedir = CourseDirectory(config=config)
    coursedir.root = str(root) if not coursedir.root else coursedir.root
    source = Path(coursedir.format_path(coursedir.source_directory, ".", ".")).resolve()
    release = Path(coursedir.format_path(coursedir.release_directory, ".", ".")).resolve()
    db_url = coursedir.db_url
    if db_url.startswith("sqlite:///"):
        grading = Path(db_url[len("sqlite:///") :]).resolve().parent
    else:
        grading = root / ".grading"
    return Course(root=root, config=config, source_dir=source, release_dir=release,
                  grading_dir=grading)  # fmt: skip


@dataclass
class NotebookSpec:
    """What one notebook of an assignment expects of a submission."""

    name: str
    points: dict[str, float]  # grade cell id -> points, in notebook order
    locked: dict[str, dict] = field(default_factory=dict)  # locked cell id -> released cell
    all_ids: set[str] = field(default_factory=set)  # every nbgrader cell id
    # grade cell id -> (exercise, behaviour, hidden): the test cells that are one
    # ``check("exercise", "behaviour", ...)`` call in the source; scored by the verdict server
    checks: dict[str, tuple[str, str, bool]] = field(default_factory=dict)

    @property
    def max_score(self) -> float:
        return sum(self.points.values())


def _released_spec(path: Path) -> NotebookSpec:
    import nbformat

    nb = nbformat.read(path, as_version=4)
    spec = NotebookSpec(name=path.stem, points={})
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if "grade_id" not in meta:
            continue
        spec.all_ids.add(meta["grade_id"])
        if meta.get("grade"):
            spec.points[meta["grade_id"]] = float(meta.get("points", 0))
        if meta.get("locked"):
            spec.locked[meta["grade_id"]] = cell
    return spec


def check_call(source: str) -> tuple[str, str] | None:
    """("exercise", "behaviour") of a test cell's ``check("exercise", "behaviour", ...)``."""
    import ast

    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "check"
                and len(node.args) >= 2 and all(isinstance(a, ast.Constant) and isinstance(a.value, str)
                                                for a in node.args[:2])):  # fmt: skip
            return node.args[0].value, node.args[1].value
    return None


def _source_checks(path: Path) -> dict[str, tuple[str, str, bool]]:
    import nbformat

    found = {}
    if not path.is_file():
        return found
    for cell in nbformat.read(path, as_version=4).cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("grade") and not meta.get("solution"):
            call = check_call(cell.source)
            if call is not None:
                found[meta["grade_id"]] = (*call, "BEGIN HIDDEN TESTS" in cell.source)
    return found


def build_reference(course: Course, assignments: list[str], folder: Path, db: Path | None = None) -> dict:
    """Template gradebook (``folder/template.db``) and release notebooks of each assignment.

    Returns ``{assignment: {notebook: NotebookSpec}}`` read from the release it writes.
    With ``db``, the assignments go into that gradebook instead (an existing one, updated).
    """
    from nbgrader.converters import GenerateAssignment
    from nbgrader.coursedir import CourseDirectory

    folder.mkdir(parents=True, exist_ok=True)
    if db is None:
        db = folder / "template.db"
        db.unlink(missing_ok=True)
    specs = {}
    for assignment in assignments:
        cfg = course.config.copy()
        cd = cfg.CourseDirectory
        cd.root = str(course.root)
        cd.source_directory = str(course.source_dir)
        cd.release_directory = str(folder / "release")
        cd.db_url = f"sqlite:///{db}"
        cd.assignment_id = assignment
        app = GenerateAssignment(coursedir=CourseDirectory(config=cfg), config=cfg)
        app.force = True
        app.start()
        released = sorted((folder / "release" / assignment).glob("*.ipynb"))
        specs[assignment] = {p.stem: _released_spec(p) for p in released}
        for name, spec in specs[assignment].items():
            spec.checks = _source_checks(course.source_dir / assignment / f"{name}.ipynb")
    return specs


def source_digest(course: Course, assignment: str) -> str:
    """Changes when the assignment's source changes: a result graded before is then stale."""
    digest = hashlib.sha256()
    for path in sorted((course.source_dir / assignment).rglob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(course.source_dir)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()
