"""``grade-class SUBMISSIONS`` (or ``python -m grade_class``): grade a whole class.

``python -m lenet_ref grade-class`` is the same command, kept as an alias.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .collect import DEFAULT_REGEXP


def add_arguments(grade: argparse.ArgumentParser) -> argparse.ArgumentParser:
    grade.add_argument("submissions", help="folder <student>/<assignment>/*.ipynb, or a zip")
    grade.add_argument("--course", default=".", help="course root with nbgrader_config.py (default: .)")
    grade.add_argument("--assignment", action="append", dest="assignments", default=None,
                       help="grade only this assignment (repeatable; default: all)")  # fmt: skip
    grade.add_argument("--jobs", type=int, default=None, help="parallel notebooks (default: cores)")
    grade.add_argument("--timeout", type=float, default=600.0,
                       help="seconds per submission, wall clock (default: 600)")  # fmt: skip
    grade.add_argument("--cell-timeout", type=int, default=None,
                       help="seconds per cell (default: the course's Execute.timeout)")  # fmt: skip
    grade.add_argument("--memory", type=float, default=3.0,
                       help="GiB per kernel, its children included (default: 3)")  # fmt: skip
    grade.add_argument("--out", default=None,
                       help="output folder (default: the folder of the course's gradebook)")  # fmt: skip
    grade.add_argument("--collect-regexp", default=DEFAULT_REGEXP,
                       help="for an LMS zip: nbgrader zip_collect's named_regexp")  # fmt: skip
    grade.add_argument("--scheduler", default=None, metavar="ADDRESS",
                       help="a Dask scheduler (tcp://host:8786): grade on its workers; needs "
                            "Dask's distributed and a file system shared with them")  # fmt: skip
    grade.add_argument("--no-progress", action="store_true", help="no progress bar")
    return grade


DESCRIPTION = "autograde a class's submissions in parallel, sandboxed: grades, feedback, report"


def run(args: argparse.Namespace) -> int:
    from .grade import GradeOptions, grade_class

    options = GradeOptions(
        submissions=Path(args.submissions), course=Path(args.course),
        out=Path(args.out) if args.out else None, assignments=args.assignments,
        jobs=args.jobs or os.cpu_count() or 1, timeout=args.timeout,
        cell_timeout=args.cell_timeout, memory_gb=args.memory,
        collect_regexp=args.collect_regexp, progress=not args.no_progress,
        scheduler=args.scheduler,
    )  # fmt: skip
    try:
        result = grade_class(options)
    except KeyboardInterrupt:
        print("interrupted: what was graded is kept; run the same command again to go on",
              file=sys.stderr)  # fmt: skip
        return 130
    except (ValueError, RuntimeError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)  # says what is wrong and what to do
        return 2
    out = result["out"]
    print(result["report"])
    print(f"\ngrades {out / 'grades.csv'}; feedback {out / 'feedback'}; report {out / 'report.txt'}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="grade-class", description=DESCRIPTION)
    return run(add_arguments(parser).parse_args(argv))
