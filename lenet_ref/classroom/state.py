"""What a run has graded, kept on disk so that a stopped run goes on where it was.

One small JSON file per (assignment, student), written atomically (a temporary file in the
same folder, flushed, then renamed over) once the grades are in the gradebook and the
feedback is in place. A restarted run skips every submission whose record matches what is
submitted now (same files, same assignment source); a record that does not match, or a
file that cannot be read, is graded again. Nothing in it is ever trusted from a kernel.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path


class State:
    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def _path(self, assignment: str, student: str) -> Path:
        return self.folder / assignment / f"{student}.json"

    def load(self, assignment: str, student: str) -> dict | None:
        try:
            return json.loads(self._path(assignment, student).read_text())
        except (OSError, ValueError):
            return None  # not graded yet, or cut short: grade it (again)

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
            for path in sorted((self.folder / assignment).glob("*.json")):
                record = self.load(assignment, path.stem)
                if record:
                    found.append(record)
        return found
