"""A class's submissions, from a folder or a zip, staged in nbgrader's layout.

Three inputs are understood:

- a folder laid out as nbgrader expects: ``ROOT/<student>/<assignment>/<notebook>.ipynb``;
- a zip of such a folder (possibly inside one top folder, ``submitted/`` say): it is read
  entry by entry, with limits on sizes and without leaving the target folder;
- the zip a learning management system exports for one assignment, with the student in
  each file's name: it goes through nbgrader's ``zip_collect``, whose
  ``FileNameCollectorPlugin.named_regexp`` (``--collect-regexp``) reads the student and
  the notebook from each extracted file's path.

Whatever the input, ``collect`` copies it into a staged tree of regular files in the run's
scratch folder, ``<student>/<assignment>/<file>``, and that tree is what gets graded. What
one student packaged oddly stays that student's problem: a notebook in a sub-folder (or
beside its assignment's folder) is taken up to its place, names that are not UTF-8 are
spelled with escapes, a ``timestamp.txt`` that is not a time is dropped, and what cannot be
taken (a symbolic link, a file over the size limit, an unreadable zip entry, files past
the count limit) is left out. Each of these is written, as issues, to the submission's
``.grade-class/collect.json``, which ``checks.inspect_submission`` reports; a submission
whose every file was left out is still staged (empty), so that it is listed, not dropped.
Only an input that cannot be read at all (not a folder, not a zip, a zip whose directory
is unreadable) stops the run, with a clear error.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
import unicodedata
import zipfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from .issues import Issue

# nbgrader's documented example: ps1_bitdiddle_attempt_2016-01-30-15-00-00_problem1.ipynb
DEFAULT_REGEXP = r".*_(?P<student_id>\w+)_attempt_(?P<timestamp>[0-9\-]+)_(?P<file_id>\w+)"
MAX_ZIP_BYTES = 4_000_000_000  # uncompressed: a class of notebooks is far smaller
MAX_ZIP_ENTRIES = 100_000
MAX_ENTRY_BYTES = 50_000_000  # one file; a notebook over checks.MAX_FILE_BYTES is reported there
MAX_SUBMISSION_BYTES = 200_000_000  # everything one student hands in for one assignment
MAX_SUBMISSION_FILES = 50  # files besides the notebooks, which are always taken first
MAX_DEPTH = 4  # folders below <student>/<assignment>/ searched for notebooks
MAX_LISTED = 100_000  # names read from one folder
MAX_NAME_BYTES = 160  # a staged file or student name, escapes included (a file name is 255 at most)
META = ".grade-class"  # in each staged submission: what grade-class knows about it
STAGED = "class"  # the staged tree, in the scratch folder
SKIPPED = {".ipynb_checkpoints", "__MACOSX", ".DS_Store", "__pycache__", META}


def clean_name(name: str) -> str:
    """A name as valid, printable UTF-8: bytes that are not UTF-8 and control characters
    spelled as escapes (``caf\\xe9``), so that it can be a gradebook id and a file name."""
    raw = name.encode("utf-8", "surrogateescape")
    text = raw.decode("utf-8", "backslashreplace")
    return "".join(f"\\x{ord(c):02x}" if unicodedata.category(c) == "Cc" else c for c in text)


def short_name(name: str, limit: int = MAX_NAME_BYTES) -> str:
    """``name`` cut to fit a file name (a hash of the whole keeps it distinct), suffix kept."""
    if len(name.encode()) <= limit:
        return name
    stem, dot, suffix = name.rpartition(".") if "." in name[-12:] else (name, "", "")
    tag = "~" + hashlib.sha256(name.encode()).hexdigest()[:12]
    keep = limit - len(tag) - len((dot + suffix).encode())
    return stem.encode()[:keep].decode("utf-8", "ignore") + tag + dot + suffix


def notebook_names(release: Path | None, assignments: list[str]) -> dict[str, str]:
    """Notebook name -> its assignment, from the release (names in two assignments: none)."""
    found: dict[str, str | None] = {}
    for assignment in assignments:
        folder = Path(release) / assignment if release else None
        names = [p.stem for p in folder.glob("*.ipynb")] if folder and folder.is_dir() else []
        for name in names + [assignment]:
            found[name] = assignment if found.get(name, assignment) == assignment else None
    return {name: a for name, a in found.items() if a is not None}


def submission_issues(folder: Path) -> list[Issue]:
    """What staging found about one staged submission (none for a folder never staged)."""
    try:
        return [Issue.from_dict(d) for d in json.loads((folder / META / "collect.json").read_text())]
    except (OSError, ValueError, TypeError):
        return []


def unplaced(root: Path) -> list[str]:
    """Entries of the input that belong to no student and assignment, with why."""
    try:
        return json.loads((Path(root) / META / "unplaced.json").read_text())
    except (OSError, ValueError):
        return []


@dataclass
class _Staged:
    folder: Path
    issues: list[Issue] = field(default_factory=list)
    files: int = 0
    bytes: int = 0
    left_out: list[str] = field(default_factory=list)
    nested: list[str] = field(default_factory=list)


class _Stager:
    """Builds the staged tree, one file at a time, and remembers why something is odd."""

    def __init__(self, root: Path, assignments: list[str], release: Path | None):
        self.root = Path(root)
        if self.root.exists():
            shutil.rmtree(self.root)
        self.root.mkdir(parents=True)
        self.assignments = assignments
        self.notebooks = notebook_names(release, assignments)
        self.subs: dict[tuple[str, str], _Staged] = {}
        self.ids: dict[str, str] = {}  # folder name -> student id
        self.unplaced: list[str] = []

    def level(self, entries: list[_Entry]) -> int | None:
        """How many folders stand above the students' folders (None: no assignment's folder)."""
        levels = Counter(k - 1 for e in entries for k in range(1, len(e.parts) - (not e.is_dir))
                         if e.parts[k] in self.assignments)  # fmt: skip
        return levels.most_common(1)[0][0] if levels else None

    def place(self, parts: tuple[str, ...], level: int):
        """``(student, assignment, rest, in place)`` for an entry's path parts, or None.

        ``<level folders>/<student>/<assignment>/<rest>``; else a notebook named as one of an
        assignment's anywhere below ``<student>/``: taken for it, not in place.
        """
        if len(parts) <= level or parts[level].startswith("."):
            return None  # a hidden folder (.git, .ipynb_checkpoints) is nobody's
        if len(parts) > level + 1 and parts[level + 1] in self.assignments:
            return parts[level], parts[level + 1], parts[level + 2 :], True
        assignment = self.notebooks.get(parts[-1][: -len(".ipynb")]) if parts[-1].endswith(".ipynb") else None
        if assignment is None or len(parts) < level + 2:
            return None
        return parts[level], assignment, parts[level + 1 :], False

    def student_id(self, student: str) -> str:
        """The id a folder name is graded under: itself when it is clean text; else spelled
        with escapes, made distinct from every other id."""
        if student not in self.ids:
            clean, n = short_name(clean_name(student)), 1
            while (clean if n == 1 else f"{clean}~{n}") in self.ids.values():
                n += 1
            self.ids[student] = clean if n == 1 else f"{clean}~{n}"
        return self.ids[student]

    def submission(self, student: str, assignment: str) -> _Staged:
        key = (self.student_id(student), assignment)
        if key not in self.subs:
            folder = self.root / key[0] / assignment
            folder.mkdir(parents=True, exist_ok=True)
            self.subs[key] = _Staged(folder)
            if key[0] != student:
                self.note(key, "odd-packaging", f"the student's folder name is not valid UTF-8 "
                                                f"text, or too long: graded as {key[0]!r}")  # fmt: skip
        return self.subs[key]

    def note(self, key, kind: str, detail: str) -> None:
        self.subs[key].issues.append(Issue(kind, detail))

    def add(self, student: str, assignment: str, rest: tuple[str, ...], size: int, copy,
            in_place: bool = True) -> None:  # fmt: skip
        """One file of a submission; ``copy(target)`` writes its bytes (may raise)."""
        sub = self.submission(student, assignment)
        shown = clean_name("/".join(rest))
        if rest[-1] == "timestamp.txt" and len(rest) == 1:
            return self._timestamp(sub, size, copy)
        notebook = rest[-1].endswith(".ipynb")
        if not notebook and len(rest) > 1:
            return None  # data files travel from the submission's own folder only
        name = short_name(clean_name(rest[-1]))
        if name in SKIPPED or (name.startswith("._") and notebook):  # macOS resource forks
            return None
        if size > MAX_ENTRY_BYTES:
            sub.left_out.append(f"{shown} ({size / 1e6:.0f} MB, over the {MAX_ENTRY_BYTES / 1e6:.0f} MB limit)")
            return None
        if sub.bytes + size > MAX_SUBMISSION_BYTES or (not notebook and sub.files >= MAX_SUBMISSION_FILES):
            sub.left_out.append(f"{shown} (past the limit of {MAX_SUBMISSION_FILES} files or "
                                f"{MAX_SUBMISSION_BYTES / 1e6:.0f} MB a submission)")  # fmt: skip
            return None
        target = sub.folder / name
        if target.exists():
            return None  # a notebook at its place wins over a copy in a sub-folder
        try:
            copy(target)
        except Exception as error:  # a corrupt or encrypted zip entry, an unreadable file
            target.unlink(missing_ok=True)
            sub.left_out.append(f"{shown} (unreadable: {type(error).__name__}: {str(error)[:100]})")
            return None
        sub.files += not notebook
        sub.bytes += target.stat().st_size
        if not in_place:
            sub.nested.append(f"{shown} was not in {assignment}/: taken as its {name}")
        elif len(rest) > 1:
            sub.nested.append(f"{shown} taken as {name}")
        elif name != rest[-1]:
            sub.nested.append(f"the file name {shown!r} is not valid UTF-8 text, or too long: "
                              f"taken as {name!r}")  # fmt: skip
        return None

    def _timestamp(self, sub: _Staged, size: int, copy) -> None:
        from nbgrader.utils import parse_utc

        scratch = sub.folder / META / "timestamp.raw"
        scratch.parent.mkdir(exist_ok=True)
        text = ""
        try:
            if size > 1000:
                raise ValueError(f"{size} bytes")
            copy(scratch)
            text = scratch.read_bytes().decode("utf-8").strip()
            when = parse_utc(text) if text else None
        except Exception:  # free text, bytes that are not UTF-8, a date out of range
            when = None
        finally:
            scratch.unlink(missing_ok=True)
        if when is not None:
            (sub.folder / "timestamp.txt").write_text(when.isoformat(sep=" ") + "\n")
        elif text or size:
            shown = clean_name(text[:80]) if text else f"{size} bytes"
            sub.issues.append(Issue("bad-timestamp", f"timestamp.txt is not a time ({shown!r}): "
                                                     "graded without it"))  # fmt: skip

    def leave_out(self, student: str, assignment: str, what: str) -> None:
        self.submission(student, assignment).left_out.append(clean_name(what))

    def finish(self) -> Path:
        for sub in self.subs.values():
            issues = list(sub.issues)
            if sub.nested:
                issues.append(Issue("odd-packaging", "; ".join(sub.nested)))
            if sub.left_out:
                issues.append(Issue("left-out", "not taken: " + "; ".join(sub.left_out)))
            (sub.folder / META).mkdir(exist_ok=True)
            (sub.folder / META / "collect.json").write_text(json.dumps([i.to_dict() for i in issues]))
        if self.unplaced:
            (self.root / META).mkdir(exist_ok=True)
            (self.root / META / "unplaced.json").write_text(json.dumps(self.unplaced, indent=1))
            print(f"grade-class: {len(self.unplaced)} entries of the submissions belong to no "
                  f"student and assignment, not graded:\n  " + "\n  ".join(self.unplaced[:20]),
                  file=sys.stderr)  # fmt: skip
        return self.root


@dataclass
class _Entry:
    """A file, folder or link of the input, by its path below the input's root."""

    parts: tuple[str, ...]
    size: int = 0
    copy: Callable[[Path], None] | None = None  # writes its bytes (may raise)
    is_dir: bool = False
    is_link: bool = False
    target: Path | None = None  # a link's, in a folder


def _listing(folder: Path) -> list[os.DirEntry]:
    entries = []
    with os.scandir(folder) as it:
        for entry in it:
            entries.append(entry)
            if len(entries) >= MAX_LISTED:
                break
    return sorted(entries, key=lambda e: e.name)


def _copier(path: str):
    def copy(target: Path) -> None:
        # O_NOFOLLOW: a file swapped for a link since it was listed is not followed
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        with os.fdopen(fd, "rb") as src, open(target, "wb") as out:
            shutil.copyfileobj(src, out)

    return copy


def _folder_entries(root: Path, unplaced: list[str]) -> list[_Entry]:
    """Every file, folder and link below ``root``, links not followed, hidden top folders
    and Jupyter's or macOS's own folders left out."""
    found, stack = [], [(Path(root), ())]
    while stack:
        folder, parts = stack.pop()
        try:
            listing = _listing(folder)
        except OSError as error:
            unplaced.append(f"{clean_name('/'.join(parts))}: unreadable ({error.strerror})")
            continue
        for entry in listing:
            here = (*parts, entry.name)
            if entry.name in SKIPPED or (not parts and entry.name.startswith(".")):
                continue
            if entry.is_symlink():
                found.append(_Entry(here, is_link=True, target=Path(entry.path)))
            elif entry.is_dir(follow_symlinks=False):
                found.append(_Entry(here, is_dir=True))
                if len(here) <= MAX_DEPTH + 2:
                    stack.append((Path(entry.path), here))
            elif entry.is_file(follow_symlinks=False):
                found.append(_Entry(here, entry.stat(follow_symlinks=False).st_size, _copier(entry.path)))
    return found


def _check_zip(archive: zipfile.ZipFile, path: Path) -> None:
    infos = archive.infolist()
    total = sum(i.file_size for i in infos)
    if len(infos) > MAX_ZIP_ENTRIES or total > MAX_ZIP_BYTES:
        raise ValueError(f"{path}: {len(infos)} entries, {total / 1e9:.1f} GB uncompressed: "
                         f"more than a class's notebooks (a zip bomb?)")  # fmt: skip


def _parts(name: str) -> tuple[str, ...]:
    return PurePosixPath(name.replace("\\", "/")).parts  # zips made on Windows use backslashes


def _safe(name: str) -> bool:
    parts = _parts(name)
    return bool(parts) and not name.replace("\\", "/").startswith("/") and ".." not in parts \
        and ":" not in parts[0]  # fmt: skip


def _zip_entries(archive: zipfile.ZipFile, unplaced: list[str]) -> list[_Entry]:
    found = []
    for info in archive.infolist():
        if not _safe(info.filename):
            unplaced.append(f"{clean_name(info.filename)}: outside the folder")
            continue

        def copy(target: Path, info=info) -> None:
            with archive.open(info) as src, open(target, "wb") as out:
                shutil.copyfileobj(src, out)

        found.append(_Entry(_parts(info.filename), info.file_size, copy, is_dir=info.is_dir(),
                            is_link=stat.S_ISLNK(info.external_attr >> 16)))  # fmt: skip
    return [e for e in found if not any(p in SKIPPED for p in e.parts)]


def _stage(stager: _Stager, entries: list[_Entry], level: int) -> None:
    """Each entry to its student and assignment: in place first, then what is elsewhere."""
    placed = [(e, stager.place(e.parts, level)) for e in entries]
    placed.sort(key=lambda pair: (pair[1] is None or not pair[1][3], len(pair[0].parts), pair[0].parts))
    for student in sorted({found[0] for _, found in placed if found}, key=lambda s: clean_name(s) != s):
        stager.student_id(student)  # ids that are clean text first: they keep their name
    for entry, found in placed:
        if found is None:
            _unplaced(stager, entry, level)
            continue
        student, assignment, rest, in_place = found
        if entry.is_link:
            if entry.parts[-1].endswith(".ipynb") or len(rest) <= 1:
                what = "/".join(rest) if rest else "the assignment's folder"
                stager.leave_out(student, assignment, f"{what} (a symbolic link: not followed)")
        elif entry.is_dir:
            if not rest:
                stager.submission(student, assignment)
        elif len(rest) <= MAX_DEPTH + 1:
            stager.add(student, assignment, rest, entry.size, entry.copy, in_place)


def _unplaced(stager: _Stager, entry: _Entry, level: int) -> None:
    """An entry that belongs to no submission: a link to a student's folder is that student's;
    a notebook is listed; anything else (a README beside the students) is let be."""
    shown = clean_name("/".join(entry.parts))
    if entry.is_link and len(entry.parts) == level + 1:
        target = entry.target
        assignments = [a for a in stager.assignments if target and (target / a).is_dir()]
        for assignment in assignments:
            stager.leave_out(entry.parts[-1], assignment, "the student's folder (a symbolic link: not followed)")
        if not assignments:
            stager.unplaced.append(f"{shown}: a symbolic link, not followed")
    elif entry.parts[-1].endswith(".ipynb"):
        stager.unplaced.append(f"{shown}: no <student>/<assignment>/ in its path")


def find_submissions(root: Path, assignments: list[str]) -> list[tuple[str, str, Path]]:
    """``(student, assignment, folder)`` for each submitted folder, by student then assignment."""
    found = []
    for student in _listing(Path(root)):
        if student.name.startswith(".") or student.is_symlink() or not student.is_dir():
            continue
        for assignment in assignments:
            folder = Path(student.path) / assignment
            if folder.is_dir() and not folder.is_symlink():
                found.append((student.name, assignment, folder))
    return found


def _zip_collect(path: Path, assignment: str, dest: Path, scratch: Path, release: Path,
                 regexp: str) -> None:  # fmt: skip
    """nbgrader zip_collect, run in a scratch course that writes into ``dest``."""
    archive_dir = scratch / "downloaded" / assignment / "archive"
    archive_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, archive_dir / path.name)
    command = [sys.executable, "-m", "nbgrader", "zip_collect", assignment, "--force",
               f"--CourseDirectory.root={scratch}", f"--CourseDirectory.submitted_directory={dest}",
               f"--CourseDirectory.release_directory={release}",
               f"--FileNameCollectorPlugin.named_regexp={regexp}"]  # fmt: skip
    env = {**os.environ, "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"]}
    done = subprocess.run(command, cwd=scratch, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-5:])
        raise ValueError(f"nbgrader zip_collect could not read {path}:\n{tail}")


def collect(path: Path, assignments: list[str], dest: Path, scratch: Path, release: Path,
            lms_assignment: str | None, regexp: str) -> Path:  # fmt: skip
    """The staged folder, in nbgrader's layout, of the submissions ``path`` points to.

    It is ``scratch/class``; ``dest`` is where nbgrader's layout of what was submitted is
    kept for a person (the grader copies each graded submission there).
    """
    path, scratch = Path(path), Path(scratch)
    stager = _Stager(scratch / STAGED, assignments, release)
    if path.is_dir():
        return _stage_folder(stager, path)
    if not path.is_file():
        raise FileNotFoundError(f"no submissions at {path}: give a folder or a zip")
    if not zipfile.is_zipfile(path):
        raise ValueError(f"{path} is neither a folder nor a zip file")
    try:
        with zipfile.ZipFile(path) as archive:
            _check_zip(archive, path)
            entries = _zip_entries(archive, stager.unplaced)
            level = stager.level(entries)
            if level is not None:
                _stage(stager, entries, level)
                return stager.finish()
    except (zipfile.BadZipFile, OSError, EOFError) as error:
        raise ValueError(f"{path} cannot be read as a zip: {error}") from error
    if lms_assignment is None:
        raise ValueError(
            f"{path} is not laid out as <student>/<assignment>/<notebook>.ipynb; if it is "
            "a learning management system's export of one assignment, name it with "
            "--assignment A (and --collect-regexp if its file names differ from nbgrader's "
            "example)"
        )
    stager.unplaced.clear()
    collected = scratch / "lms"
    _zip_collect(path, lms_assignment, collected, scratch / "lms-course", release, regexp)
    return _stage_folder(stager, collected)


def _stage_folder(stager: _Stager, root: Path) -> Path:
    entries = _folder_entries(root, stager.unplaced)
    level = stager.level(entries)
    _stage(stager, entries, 0 if level is None else level)
    return stager.finish()
