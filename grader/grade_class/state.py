"""What a run has graded, kept on disk so that a stopped run goes on where it was.

One small JSON file per (assignment, student), written atomically (a temporary file in the
same folder, flushed, then renamed over) once the grades are in the gradebook and the
feedback is in place. A restarted run skips every submission whose record matches what is
submitted now (same files, same assignment source); a record that does not match, or a
file that cannot be read, is graded again. Nothing in it is ever trusted from a kernel.

A student id is whatever the submissions' folder calls the student (spaces, ``*``, ``[``,
``?``, escapes included): the file is named by the id with every character but letters,
digits and ``-_.@+`` percent-encoded (an id too long for a file name: a prefix and a hash),
and the record keeps the id itself.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from urllib.parse import quote

MAX_NAME = 200  # bytes of a file name, well under the usual 255


def file_name(student: str) -> str:
    """The record's file name for a student id: safe, distinct per id, not hidden."""
    name = quote(student.encode("utf-8", "surrogateescape"), safe="-_@+.")
    if name.startswith(".") or not name:
        name = "%2E" + name[1:] if name else "%00"
    if len(name) > MAX_NAME:
        name = name[:MAX_NAME - 17] + "~" + hashlib.sha256(name.encode()).hexdigest()[:16]
    return name + ".json"


class State:
    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def _path(self, assignment: str, student: str) -> Path:
        return self.folder / assignment / file_name(student)

    def load(self, assignment: str, student: str) -> dict | None:
        record = self._read(self._path(assignment, student))
        return record if record and record.get("student") == student else None

    @staticmethod
    def _read(path: Path) -> dict | None:
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError):
            return None  # not graded yet, or cut short: grade it (again)
        return record if isinstance(record, dict) else None

    def is_done(self, assignment: str, student: str, digest: str, source: str) -> bool:
        record = self.load(assignment, student)
        return bool(record) and record.get("digest") == digest and record.get("source") == source

    def save(self, record: dict) -> None:
        path = self._path(record["assignment"], record["student"])
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(fd, "w") as f:
                json.dump(record, f, indent=1)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def records(self, assignments: list[str]) -> list[dict]:
        found = []
        for assignment in assignments:
            folder = self.folder / assignment
            names = sorted(os.listdir(folder)) if folder.is_dir() else []
            for name in names:  # not glob: the names hold what glob would read as patterns
                record = self._read(folder / name) if name.endswith(".json") else None
                if record and record.get("assignment") == assignment and "student" in record:
                    found.append(record)
        return found
