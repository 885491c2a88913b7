"""nbgrader's own autograde, serial and unsandboxed, as the baseline of the bench.

What an instructor runs without grade-class: one ``nbgrader autograde A --create`` per
assignment, over the submissions of a sample of students, in a scratch copy of the course's
folders. Only the autograde commands are timed (not generate_assignment before them).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path


def serial_autograde(course, assignments: list[str], submissions: Path,
                     sample: set[tuple[str, str]], scratch: Path) -> float:  # fmt: skip
    """Seconds that ``nbgrader autograde`` takes over the ``(student, assignment)`` sample."""
    for student, assignment in sample:
        shutil.copytree(submissions / student / assignment, scratch / "submitted" / student / assignment)
    env = {**os.environ, "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"]}
    where = [f"--CourseDirectory.submitted_directory={scratch / 'submitted'}",
             f"--CourseDirectory.autograded_directory={scratch / 'autograded'}",
             f"--CourseDirectory.release_directory={scratch / 'release'}",
             f"--CourseDirectory.db_url=sqlite:///{scratch / 'gradebook.db'}"]  # fmt: skip
    seconds = 0.0
    for assignment in assignments:
        if not any(a == assignment for _, a in sample):
            continue
        nbgrader = [sys.executable, "-m", "nbgrader"]
        subprocess.run(nbgrader + ["generate_assignment", assignment, "--force", *where],
                       cwd=course.root, env=env, check=True, capture_output=True)  # fmt: skip
        started = time.monotonic()
        subprocess.run(nbgrader + ["autograde", assignment, "--create", "--force", *where],
                       cwd=course.root, env=env, capture_output=True)  # fmt: skip
        seconds += time.monotonic() - started
    return seconds
