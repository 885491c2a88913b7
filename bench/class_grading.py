"""Grade a simulated class of the course's real exercises, and nbgrader's serial autograde beside it.

    python bench/class_grading.py                        # 100 students x every assignment
    python bench/class_grading.py --students 20          # quicker
    python bench/class_grading.py --serial-students 5    # a smaller serial sample
    python bench/class_grading.py --students 20 --dask-workers 1 2 4   # also through local Dask clusters

The class (``tests/simulate.py``): about 60 % right answers (the instructor's),
30 % wrong (one to three answers left as released) and 10 % broken (every hostile kind in
turn: infinite loop, os._exit, memory hogs, floods of output, deleted or edited tests,
invalid files...). ``grade-class`` grades all of it with one worker per core, every kernel
sandboxed. nbgrader's own ``autograde``, serial and unsandboxed, grades the right and
wrong answers of the first ``--serial-students`` students in the same run (the whole class
would take hours, and the broken kinds would endanger the machine outside the sandbox).

Prints the wall time of grade-class, its median seconds per notebook (one worker's time,
kernel included), the serial seconds per notebook, and the speed-up: the serial time per
notebook times the class's notebooks, over grade-class's wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the simulated class

from grade_class import jail  # noqa: E402 (after the path)
from grade_class.course import load_course
from grade_class.grade import GradeOptions, grade_class
from nbgrader_serial import serial_autograde
from simulate import simulate_class

REPO = Path(__file__).resolve().parents[1]


PHASES = {  # where a notebook's time goes in a worker (grader/grade_class/worker.py)
    "prepare": "scratch course, gradebook copy, jail spec",
    "kernel_start": "from nbgrader's Execute to the kernel's first cell",
    "cells": "running the cells (the checks included)",
    "checks": "  of which the checks, the student's functions included",
    "autograde": "nbgrader's autograde in all (kernel and cells included)",
    "feedback": "verdicts into the gradebook, feedback HTML",
    "cleanup": "control group, status",
}


def print_breakdown(records) -> None:
    """Median seconds per notebook of each phase, in a worker."""
    print("    where a notebook's time goes (median seconds in a worker):")
    for phase, what in PHASES.items():
        values = [r["phases"][phase] for r in records if r.get("phases", {}).get(phase) is not None]
        if values:
            print(f"      {phase:13s} {statistics.median(values):5.2f}  {what}")


def grade_on_local_dask(base: Path, workers: int) -> float:
    """Wall seconds of grade-class through ``dask scheduler`` and ``workers`` ``dask worker``
    processes started here (one thread each), on a fresh output folder."""
    import json as _json
    import shutil
    import signal
    import subprocess
    import sys

    dask = str(Path(sys.executable).parent / "dask")
    file = base / f"scheduler-{workers}.json"
    procs = [subprocess.Popen([dask, "scheduler", "--scheduler-file", str(file), "--no-dashboard",
                               "--port", "0"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)]  # fmt: skip
    try:
        while not (file.exists() and file.read_text().strip()):
            time.sleep(0.1)
        address = _json.loads(file.read_text())["address"]
        procs += [subprocess.Popen([dask, "worker", "--scheduler-file", str(file), "--nthreads", "1",
                                    "--no-dashboard"], stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, start_new_session=True)
                  for _ in range(workers)]  # fmt: skip
        out = base / f"out-dask-{workers}"
        shutil.rmtree(out, ignore_errors=True)
        started = time.monotonic()
        grade_class(GradeOptions(submissions=base / "class", course=REPO, out=out, scheduler=address))
        return time.monotonic() - started
    finally:
        for proc in procs:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=100)
    parser.add_argument("--serial-students", type=int, default=4)
    parser.add_argument("--jobs", type=int, default=os.cpu_count())
    parser.add_argument("--out", default=None, help="keep everything here (default: a temporary folder)")
    parser.add_argument("--assignments", nargs="+", default=None, help="default: all")
    parser.add_argument("--dask-workers", nargs="*", type=int, default=[],
                        help="also grade the class through a local Dask cluster of each size")
    args = parser.parse_args()

    course = load_course(REPO)
    assignments = args.assignments or course.assignments()
    with tempfile.TemporaryDirectory(prefix="bench-grade-class-") as scratch:
        base = Path(args.out or scratch)
        kinds = simulate_class(course, assignments, args.students, base / "class")
        counts = {k: sum(1 for v in kinds.values() if (v if v in ("right", "wrong") else "broken") == k)
                  for k in ("right", "wrong", "broken")}  # fmt: skip
        print(f"{os.cpu_count()} cores; {args.students} students x {len(assignments)} assignments = "
              f"{len(kinds)} notebooks ({counts['right']} right, {counts['wrong']} wrong, "
              f"{counts['broken']} broken); sandbox: {jail.isolation()}")  # fmt: skip

        started = time.monotonic()
        result = grade_class(GradeOptions(submissions=base / "class", course=REPO, out=base / "out",
                                          jobs=args.jobs))  # fmt: skip
        wall = time.monotonic() - started
        seconds = [r["seconds"] for r in result["records"] if r["seconds"] > 0]
        flagged = sum(1 for r in result["records"] if r["issues"])
        print(f"grade-class   --jobs {args.jobs}: {wall:8.1f} s wall for {len(kinds)} notebooks "
              f"({wall / len(kinds):.2f} s each); median {statistics.median(seconds):.1f} s per "
              f"notebook in a worker; {flagged} flagged for a look")  # fmt: skip

        for a in assignments:
            mine = [r["seconds"] for r in result["records"] if r["assignment"] == a and r["seconds"] > 0]
            print(f"    {a:16s} median {statistics.median(mine):5.1f} s, max {max(mine):5.1f} s per notebook")
        print_breakdown(result["records"])
        for n in args.dask_workers:
            dask_wall = grade_on_local_dask(base, n)
            print(f"grade-class on a local Dask cluster of {n} worker process(es): {dask_wall:8.1f} s "
                  f"wall ({len(kinds) / dask_wall * 60:.0f} notebooks a minute)")  # fmt: skip
        sample = {key for key, kind in kinds.items() if kind in ("right", "wrong")
                  and int(key[0][-3:]) < args.serial_students}  # fmt: skip
        serial = serial_autograde(course, assignments, base / "class", sample, base / "serial")
        per_notebook = serial / len(sample)
        print(f"nbgrader autograde, serial: {serial:8.1f} s for {len(sample)} notebooks "
              f"({per_notebook:.2f} s each; right and wrong answers of {args.serial_students} students)")  # fmt: skip
        print(f"speed-up over serial nbgrader: {per_notebook * len(kinds) / wall:.1f}x "
              f"(serial time per notebook x {len(kinds)} notebooks / grade-class wall time)")
        (base / "bench.json").write_text(json.dumps({"wall": wall, "serial_per_notebook": per_notebook,
                                                     "notebooks": len(kinds)}))  # fmt: skip


if __name__ == "__main__":
    main()
