"""A class's submissions, from a folder or a zip, in nbgrader's layout.

Three inputs are understood:

- a folder laid out as nbgrader expects: ``ROOT/<student>/<assignment>/<notebook>.ipynb``;
- a zip of such a folder (possibly inside one top folder, ``submitted/`` say): it is
  extracted, entry by entry, with limits on sizes and without leaving the target folder;
- the zip a learning management system exports for one assignment, with the student in
  each file's name: it goes through nbgrader's ``zip_collect``, whose
  ``FileNameCollectorPlugin.named_regexp`` (``--collect-regexp``) reads the student and
  the notebook from each extracted file's path.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path, PurePosixPath

# nbgrader's documented example: ps1_bitdiddle_attempt_2016-01-30-15-00-00_problem1.ipynb
DEFAULT_REGEXP = r".*_(?P<student_id>\w+)_attempt_(?P<timestamp>[0-9\-]+)_(?P<file_id>\w+)"
MAX_ZIP_BYTES = 4_000_000_000  # uncompressed: a class of notebooks is far smaller
MAX_ZIP_ENTRIES = 100_000
MAX_ENTRY_BYTES = 50_000_000


def find_submissions(root: Path, assignments: list[str]) -> list[tuple[str, str, Path]]:
    """``(student, assignment, folder)`` for each submitted folder, by student then assignment."""
    found = []
    for student in sorted(root.iterdir()):
        if student.name.startswith(".") or student.is_symlink() or not student.is_dir():
            continue
        for assignment in assignments:
            folder = student / assignment
            if folder.is_dir() and not folder.is_symlink():
                found.append((student.name, assignment, folder))
    return found


def _check_zip(archive: zipfile.ZipFile, path: Path) -> None:
    infos = archive.infolist()
    total = sum(i.file_size for i in infos)
    if len(infos) > MAX_ZIP_ENTRIES or total > MAX_ZIP_BYTES:
        raise ValueError(f"{path}: {len(infos)} entries, {total / 1e9:.1f} GB uncompressed: "
                         f"more than a class's notebooks (a zip bomb?)")  # fmt: skip


def _safe(name: str) -> bool:
    parts = PurePosixPath(name).parts
    return not name.startswith("/") and not name.endswith("/") and ".." not in parts


def _nbgrader_layout(names: list[str], assignments: list[str]) -> dict[str, PurePosixPath] | None:
    """Entry name -> ``student/assignment/file`` when the zip holds nbgrader's layout.

    Entries that would land outside the target folder (absolute, ``..``) are left out.
    """
    names = [n for n in names if _safe(n)]
    mapping = {}
    for name in names:
        parts = PurePosixPath(name).parts
        for k in range(1, len(parts) - 1):
            if parts[k] in assignments and k + 2 == len(parts):
                mapping[name] = PurePosixPath(parts[k - 1], parts[k], parts[k + 1])
                break
    notebooks = [n for n in names if n.endswith(".ipynb")]
    return mapping if notebooks and all(n in mapping for n in notebooks) else None


def _extract(archive: zipfile.ZipFile, mapping: dict, dest: Path) -> None:
    for name, relative in mapping.items():
        info = archive.getinfo(name)
        if info.file_size > MAX_ENTRY_BYTES:
            continue  # reported as a missing notebook; far too big to be one
        target = dest / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        with archive.open(info) as src, open(target, "wb") as out:
            shutil.copyfileobj(src, out)


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
    """The folder, in nbgrader's layout, that holds the submissions ``path`` points to."""
    path = Path(path)
    if path.is_dir():
        return path
    if not path.is_file():
        raise FileNotFoundError(f"no submissions at {path}: give a folder or a zip")
    if not zipfile.is_zipfile(path):
        raise ValueError(f"{path} is neither a folder nor a zip file")
    with zipfile.ZipFile(path) as archive:
        _check_zip(archive, path)
        mapping = _nbgrader_layout(archive.namelist(), assignments)
        if mapping is not None:
            dest.mkdir(parents=True, exist_ok=True)
            _extract(archive, mapping, dest)
            return dest
    if lms_assignment is None:
        raise ValueError(
            f"{path} is not laid out as <student>/<assignment>/<notebook>.ipynb; if it is "
            "a learning management system's export of one assignment, name it with "
            "--assignment A (and --collect-regexp if its file names differ from nbgrader's "
            "example)"
        )
    _zip_collect(path, lms_assignment, dest, scratch, release, regexp)
    return dest
