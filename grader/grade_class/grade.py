"""Grade a whole class with one call: ``grade_class(GradeOptions(submissions=...))``.

The steps, each in its own module: read the course (``course``) and the submissions
(``collect``); look at each submission before running it (``checks``); skip what an
earlier run already graded (``state``); grade the rest in parallel, every kernel in a
sandbox (``pool``, ``worker``, ``jail``); merge each result into the class's gradebook as
it comes (``merge``); export the grades as CSV and write the report (``report``).

Everything lands in the output folder, in nbgrader's layout, so that nbgrader's own
commands (formgrader, export, generate_feedback) work on it afterwards::

    OUT/gradebook.db   OUT/submitted/  OUT/autograded/  OUT/feedback/  (nbgrader's)
    OUT/grades.csv     OUT/report.txt  OUT/report.json  OUT/state/     OUT/logs/
"""

from __future__ import annotations

import os
import shutil
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from . import jail, sandbox
from .checks import MAX_FILE_BYTES, inspect_submission
from .collect import DEFAULT_REGEXP, collect, find_submissions
from .course import Course, build_reference, load_course, source_digest
from .exports import export_lms
from .issues import Issue
from .merge import failure_issue, notebook_scores, output_issues, replace_tree, write_grades
from .pool import WorkerPool
from .protocol import Job, Result, Settings
from .report import export_csv, format_report, write_report
from .state import State
from .worker import SCRATCH_STUDENT

GiB = 1 << 30
# only what every kernel may hold: a forked kernel inherits it in memory (never the
# reference); the course's checks' client (``<course_package>.grading``) is added to it
PRELOAD = ("numpy", "ipykernel.kernelapp", "ipykernel.ipkernel")


@dataclass
class GradeOptions:
    submissions: Path
    course: Path = Path(".")
    out: Path | None = None  # default: the folder of the course's gradebook
    assignments: list[str] | None = None  # default: every assignment of the course
    jobs: int = field(default_factory=lambda: os.cpu_count() or 1)
    timeout: float = 600.0  # seconds of wall clock per submission
    cell_timeout: int | None = None  # default: the course's Execute.timeout
    memory_gb: float = 3.0  # per kernel, everything it starts included
    collect_regexp: str = DEFAULT_REGEXP
    progress: bool = True
    # imported once per worker, before any student code, for kernels forked warm (``zygote``)
    preload: tuple[str, ...] = PRELOAD
    isolation: str | None = None  # "namespaces" or "limits"; default: the best this machine allows
    scheduler: str | None = None  # a Dask scheduler's address: grade on its workers (``dask_pool``)


def _python_paths(course_package: Path) -> list[str]:
    """What a kernel must see to run: Python's standard library, the virtual environment's
    interpreter, and the packages of ``sandbox.kernel_site_paths`` (not the others, and
    never the course's package)."""
    paths = [sys.base_prefix, os.path.join(sys.prefix, "bin"), os.path.join(sys.prefix, "pyvenv.cfg"),
             *sandbox.kernel_site_paths(hidden=(course_package,))]  # fmt: skip
    return [p for p in paths if os.path.exists(p)]


def _kernel_modules(course: Course) -> dict:
    found = course.config.get("GradeClass", {}).get("kernel_modules", {}) or {}
    if not isinstance(found, dict):
        raise ValueError("GradeClass.kernel_modules in nbgrader_config.py must be a dict")
    return dict(found)


def _settings(options: GradeOptions, course: Course, work: Path, isolation: str, specs: dict) -> Settings:
    memory = int(options.memory_gb * GiB)
    modules = _kernel_modules(course)
    package = course.package
    handouts = {a: str(sandbox.build_handout(work / "handout" / a / package, modules.get(a, {}), package))
                for a in specs}  # fmt: skip
    preload = [*options.preload, *([f"{package}.grading"] if options.preload else [])]
    return Settings(
        course_root=str(course.root), source_dir=str(course.source_dir),
        template_db=str(work / "reference" / "template.db"), work_dir=str(work),
        cell_timeout=options.cell_timeout, timeout=options.timeout,
        memory_bytes=memory, cpu_seconds=int(options.timeout),
        file_bytes=256 << 20, tmp_bytes=256 << 20, max_output_bytes=2_000_000,
        nproc=256 if isolation == "namespaces" else 4096,  # the latter shares our uid
        isolation=isolation, uid_base=jail.SANDBOX_UID_BASE,
        ro_paths=_python_paths(sandbox.package_dir(package)), handouts=handouts,
        course_package=package, package_dir=str(sandbox.package_dir(package)),
        checks={a: {name: {cell: list(check) for cell, check in spec.checks.items()}
                    for name, spec in notebooks.items()} for a, notebooks in specs.items()},
        worker_memory_bytes=memory + 2 * GiB, preload=preload,
    )  # fmt: skip


def _ensure_gradebook(db: Path, template: Path, course: Course, assignments: list[str]) -> None:
    """The class's gradebook knows these assignments as the source defines them now."""
    from nbgrader.api import Gradebook, MissingEntry

    if not db.exists():
        shutil.copyfile(template, db)
        return

    def cells(gb, assignment):
        try:
            found = gb.find_assignment(assignment)
        except MissingEntry:
            return None
        return sorted((nb.name, c.name, c.max_score) for nb in found.notebooks for c in nb.grade_cells)

    with Gradebook(f"sqlite:///{db}") as gb, Gradebook(f"sqlite:///{template}") as tb:
        stale = [a for a in assignments if cells(gb, a) != cells(tb, a)]
    if stale:
        build_reference(course, stale, db.parent / ".work" / "regenerate", db=db)


class ClassGrader:
    """The parent's side of a run: turns each finished job into grades, files and a record."""

    def __init__(self, out: Path, specs: dict, sources: dict, settings: Settings, course: Course):
        from nbgrader.api import Gradebook

        self.out, self.specs, self.sources = out, specs, sources
        self.settings, self.course = settings, course
        self.state = State(out / "state")
        self.gradebook = Gradebook(f"sqlite:///{out / 'gradebook.db'}")

    def finish(self, job: Job, inspection, result: Result | None) -> dict:
        assignment = job.assignment
        issues = list(inspection.issues)
        scores, failed = {}, set()
        job_dir = Path(job.dir)
        autograded = job_dir / "course" / "autograded" / SCRATCH_STUDENT / assignment
        graded = bool(result and result.graded)
        if result is not None and not graded:
            issues.append(failure_issue(result, self.settings))
        for name, spec in self.specs[assignment].items():
            path = autograded / f"{name}.ipynb"
            if name in inspection.gradable and graded and path.exists():
                import nbformat

                nb = nbformat.read(path, as_version=4)
                verdicts = (result.verdicts if result else {}).get(name, {})
                scores[name] = notebook_scores(nb, spec, verdicts)
                issues += output_issues(nb, name)
            else:
                failed.add(name)
        missing = {i.notebook for i in inspection.issues if i.kind == "missing-notebook"}
        with warnings.catch_warnings():  # nbgrader's SQLAlchemy use warns on every new submission
            warnings.simplefilter("ignore")
            write_grades(self.gradebook, job, scores, failed - missing, self.course.config)
        self._keep_files(job, inspection, result)
        record = self._record(job, inspection, scores, issues, result)
        self.state.save(record)
        shutil.rmtree(job_dir, ignore_errors=True)
        return record

    def _keep_files(self, job: Job, inspection, result: Result | None) -> None:
        student, assignment = job.student, job.assignment
        course = Path(job.dir) / "course"
        for step in ("autograded", "feedback"):
            replace_tree(course / step / SCRATCH_STUDENT / assignment, self.out / step / student / assignment)
        folder, submitted = Path(job.folder), self.out / "submitted" / student / assignment
        if folder.resolve() != submitted.resolve():  # keep what was graded, for a person
            shutil.rmtree(submitted, ignore_errors=True)
            submitted.mkdir(parents=True)
            for path in folder.iterdir():
                if path.is_file() and not path.is_symlink() and path.stat().st_size <= MAX_FILE_BYTES:
                    shutil.copyfile(path, submitted / path.name)
        if result and result.log:
            log = self.out / "logs" / assignment / f"{student}.log"
            log.parent.mkdir(parents=True, exist_ok=True)
            log.write_text(result.log)

    def _record(self, job, inspection, scores, issues, result) -> dict:
        assignment = job.assignment
        notebooks = {}
        for name, spec in self.specs[assignment].items():
            earned = scores.get(name)
            total = sum(s or 0.0 for s in earned.values()) if earned else 0.0
            notebooks[name] = {"score": total, "max_score": spec.max_score, "graded": earned is not None}
        return {
            "student": job.student, "assignment": assignment,
            "digest": inspection.digest, "source": self.sources[assignment],
            "score": sum(n["score"] for n in notebooks.values()),
            "max_score": sum(n["max_score"] for n in notebooks.values()),
            "notebooks": notebooks, "issues": [i.to_dict() for i in issues],
            "seconds": result.seconds if result else 0.0,
            "phases": result.phases if result else {},
        }  # fmt: skip

    def close(self) -> None:
        self.gradebook.close()


def _assignments(course: Course, wanted: list[str] | None) -> list[str]:
    known = course.assignments()
    if not known:
        raise FileNotFoundError(f"no assignments in {course.source_dir}: nothing to grade against")
    unknown = [a for a in wanted or [] if a not in known]
    if unknown:
        raise ValueError(f"unknown assignment(s) {unknown}; the course has {known}")
    return list(wanted) if wanted else known


def grade_class(options: GradeOptions) -> dict:
    """Grade every submission; returns ``{"report": text, "records": [...], "out": Path}``."""
    course = load_course(options.course)
    assignments = _assignments(course, options.assignments)
    out = Path(options.out or course.grading_dir).resolve()
    work = out / ".work"
    shutil.rmtree(work, ignore_errors=True)  # scratch of a run that was stopped
    work.mkdir(parents=True)
    specs = build_reference(course, assignments, work / "reference")
    sources = {a: source_digest(course, a) for a in assignments}
    lms = options.assignments[0] if options.assignments and len(options.assignments) == 1 else None
    root = collect(options.submissions, assignments, out / "submitted", work / "collect",
                   work / "reference" / "release", lms, options.collect_regexp)  # fmt: skip
    _ensure_gradebook(out / "gradebook.db", work / "reference" / "template.db", course, assignments)
    isolation = options.isolation or jail.isolation()
    if isolation not in ("namespaces", "limits"):
        raise ValueError(f"isolation {isolation!r}: 'namespaces' or 'limits'")
    settings = _settings(options, course, work, isolation, specs)
    settings.save(work / "settings.json")
    grader = ClassGrader(out, specs, sources, settings, course)
    try:
        records = _grade_all(options, root, assignments, grader, work)
    finally:
        grader.close()
    export_csv(f"sqlite:///{out / 'gradebook.db'}", out / "grades.csv", assignments, course.config)
    export_lms(out / "grades.csv", out)
    header = [f"graded {len(records)} submissions of {len({r['student'] for r in records})} "
              f"students in {out}", f"sandbox: {jail.describe(isolation)}"]  # fmt: skip
    text = format_report(records, assignments, header)
    write_report(out, text, records)
    shutil.rmtree(work, ignore_errors=True)
    return {"report": text, "records": records, "out": out}


def _grade_all(options, root: Path, assignments, grader: ClassGrader, work: Path) -> list[dict]:
    from tqdm import tqdm

    found = find_submissions(root, assignments)
    keys, jobs, inspections = [], [], {}
    for k, (student, assignment, folder) in enumerate(found):
        keys.append((assignment, student))
        inspection = inspect_submission(folder, assignment, grader.specs, grader.settings.course_package)
        if grader.state.is_done(assignment, student, inspection.digest, grader.sources[assignment]):
            continue
        timestamp = folder / "timestamp.txt"
        job = Job(id=k, student=student, assignment=assignment, folder=str(folder),
                  dir=str(work / f"job-{k}"), files={n: str(p) for n, p in inspection.files.items()},
                  timestamp=timestamp.read_text().strip() if timestamp.is_file() else None)  # fmt: skip
        inspections[k] = inspection
        if inspection.gradable:
            jobs.append(job)
        else:  # nothing nbgrader could run: recorded as it is
            grader.finish(job, inspection, None)
    bar = tqdm(total=len(found), initial=len(found) - len(jobs), unit="submission",
               desc="grading", disable=not options.progress, file=sys.stderr)  # fmt: skip
    flagged = 0

    def on_done(job, result):
        nonlocal flagged
        record = grader.finish(job, inspections[job.id], result)
        flagged += bool(record["issues"])
        bar.set_postfix(need_a_look=flagged)
        bar.update()

    try:
        if jobs:
            if options.scheduler:
                from .dask_pool import DaskPool

                pool = DaskPool(options.scheduler, work / "settings.json", options.timeout)
            else:
                workers = max(1, min(options.jobs, len(jobs)))
                pool = WorkerPool(work / "settings.json", workers, options.timeout, grader.out / "logs")
            with pool:
                pool.run(jobs, on_done)
    finally:
        bar.close()
    records = [grader.state.load(a, s) for a, s in keys]
    return [r for r in records if r]


__all__ = ["GradeOptions", "Issue", "grade_class"]
