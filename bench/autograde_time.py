"""How long the real `nbgrader autograde` takes on each exercise notebook, one at a time.

    python bench/autograde_time.py            # every assignment
    python bench/autograde_time.py ch5_lenet5

For each assignment, in one run and one after the other: the solution notebook (every
check runs, ch5 trains on 5,000 MNIST images) and the untouched student notebook (every
check fails at once), each graded alone by its own `nbgrader autograde` command, so the
times include nbgrader's and the kernel's start-up. The aim is at most 30 s per notebook
on the 2-core machine; the stub's time is what start-up alone costs there.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the simulated class

import samples

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def nbgrader(grading: Path, *args: str) -> None:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
           "NBGRADER_GRADING_DIR": str(grading)}  # fmt: skip
    done = subprocess.run([str(BIN / "nbgrader"), *args], cwd=ROOT, env=env, capture_output=True,
                          text=True)  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"nbgrader {' '.join(args)} failed:\n{done.stderr[-2000:]}")


def autograde_seconds(assignment: str, student: str, notebook: Path, grading: Path) -> float:
    folder = grading / "submitted" / student / assignment
    folder.mkdir(parents=True)
    shutil.copy(notebook, folder / notebook.name)
    start = time.perf_counter()
    nbgrader(grading, "autograde", assignment, "--create", "--student", student)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignments", nargs="*", default=list(samples.ASSIGNMENTS))
    args = parser.parse_args()
    print(f"{'assignment':<18} {'solution (s)':>12} {'stub (s)':>9}")
    with tempfile.TemporaryDirectory() as tmp:
        for assignment in args.assignments:
            grading = Path(tmp) / assignment
            nbgrader(grading, "generate_assignment", assignment, "--force",  # into the gradebook
                     f"--CourseDirectory.release_directory={grading / 'release'}")
            solution = autograde_seconds(assignment, "solution", samples.solution_path(assignment), grading)
            stub = autograde_seconds(assignment, "stub", samples.exercise_path(assignment), grading)
            print(f"{assignment:<18} {solution:>12.1f} {stub:>9.1f}", flush=True)


if __name__ == "__main__":
    main()
