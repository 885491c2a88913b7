"""A toy nbgrader course and a suite of hostile submissions, for the grade-class tests.

The toy course has two small assignments (``toy`` and ``toy2``), each one notebook with a
solution cell, a visible test and a hidden test, so that grading it takes a second and the
hostile suite can cover every way a submission breaks without waiting on real exercises.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat

CONFIG = '''
import os
c = get_config()
HERE = os.path.dirname(os.path.abspath(__file__))
GRADING = os.path.join(HERE, "grading")
c.CourseDirectory.root = HERE
c.CourseDirectory.source_directory = "source"
c.CourseDirectory.release_directory = "release"
for step in ("submitted", "autograded", "feedback", "solution"):
    setattr(c.CourseDirectory, f"{step}_directory", os.path.join(GRADING, step))
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(GRADING, "gradebook.db")
c.Execute.timeout = 10  # a memory hog must reach 2 GiB before it: ~2.5 s of memset on a slow, busy VM
c.OverwriteCells.add_missing_cells = True
c.GradeClass.course_package = "lenet_ref"  # the checks' client the kernels are handed
'''

ASSIGNMENTS = {  # assignment -> (notebook, function, its body, visible test, hidden test)
    "toy": ("toy", "add", "return a + b", "assert add(1, 2) == 3", "assert add(-1, 1) == 0"),
    "toy2": ("toy2", "mul", "return a * b", "assert mul(2, 3) == 6", "assert mul(-1, 4) == -4"),
}
POINTS = {"visible": 2, "hidden": 3}


def _meta(grade_id, grade=False, solution=False, locked=False, points=0):
    nbg = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3,
           "solution": solution, "task": False}  # fmt: skip
    if grade:
        nbg["points"] = points
    return {"nbgrader": nbg}


def source_notebook(assignment: str) -> nbformat.NotebookNode:
    _, fn, body, visible, hidden = ASSIGNMENTS[assignment]
    v4 = nbformat.v4
    cells = [
        v4.new_markdown_cell(f"Write `{fn}(a, b)`.", metadata=_meta(f"{fn}_intro", locked=True)),
        v4.new_code_cell(f"def {fn}(a, b):\n    ### BEGIN SOLUTION\n    {body}\n    ### END SOLUTION",
                         metadata=_meta(f"{fn}_answer", solution=True)),  # fmt: skip
        v4.new_code_cell(visible, metadata=_meta(f"{fn}_visible", grade=True, locked=True,
                                                 points=POINTS["visible"])),  # fmt: skip
        v4.new_code_cell(f"{visible}\n### BEGIN HIDDEN TESTS\n{hidden}\n### END HIDDEN TESTS",
                         metadata=_meta(f"{fn}_hidden", grade=True, locked=True,
                                        points=POINTS["hidden"])),  # fmt: skip
    ]
    nb = v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def make_course(root: Path) -> Path:
    """A course folder: nbgrader_config.py, source/ and the generated release/."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "nbgrader_config.py").write_text(CONFIG)
    for assignment, (notebook, *_) in ASSIGNMENTS.items():
        folder = root / "source" / assignment
        folder.mkdir(parents=True, exist_ok=True)
        nbformat.write(source_notebook(assignment), folder / f"{notebook}.ipynb")
        env = {**os.environ, "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"]}
        subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", assignment,
                        "--force", "--no-db"], cwd=root, env=env, check=True,
                       capture_output=True)  # fmt: skip
    return root


def released(root: Path, assignment: str) -> nbformat.NotebookNode:
    notebook = ASSIGNMENTS[assignment][0]
    return nbformat.read(root / "release" / assignment / f"{notebook}.ipynb", as_version=4)


def answered(root: Path, assignment: str, answer: str) -> nbformat.NotebookNode:
    """The released notebook with ``answer`` as the source of its solution cell."""
    nb = released(root, assignment)
    nb.cells[1].source = answer
    return nb


def right(root, assignment="toy"):
    _, fn, body, *_ = ASSIGNMENTS[assignment]
    return answered(root, assignment, f"def {fn}(a, b):\n    {body}")


def wrong(root, assignment="toy"):
    _, fn, *_ = ASSIGNMENTS[assignment]
    return answered(root, assignment, f"def {fn}(a, b):\n    return 0")


def submit(submissions: Path, student: str, assignment: str, nb=None, name=None, raw=None):
    """Write one submitted file: a notebook, or ``raw`` bytes/text as they are."""
    folder = submissions / student / assignment
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (name or f"{ASSIGNMENTS[assignment][0]}.ipynb")
    if raw is not None:
        path.write_bytes(raw if isinstance(raw, bytes) else raw.encode())
    else:
        path.write_text(json.dumps(nb))
    return path


def toy_notebooks(root: Path) -> dict:
    """``{assignment: (release, right answer)}`` of the toy course, as plain dicts."""
    from simulate import right_answer

    found = {}
    for assignment, (notebook, *_) in ASSIGNMENTS.items():
        release = json.loads((root / "release" / assignment / f"{notebook}.ipynb").read_text())
        source = json.loads((root / "source" / assignment / f"{notebook}.ipynb").read_text())
        found[assignment] = (release, right_answer(release, source))
    return found


# An answer that looks around the sandbox, then answers right. Each probe prints its result
# or the name of the exception it raised; a daemon tries to outlive the kernel.
PROBE = '''import os, socket, time
def _try(f):
    try:
        return repr(f())[:100]
    except BaseException as e:
        return type(e).__name__
print("uid", os.getuid())
print("source", _try(lambda: os.listdir({source!r})))
print("submissions", _try(lambda: os.listdir({submissions!r})))
print("gradebook", _try(lambda: open({gradebook!r}, "rb").read(4)))
print("git", _try(lambda: os.listdir({git!r})))
print("net", _try(lambda: socket.create_connection(("1.1.1.1", 53), timeout=2)))
print("procs", len([p for p in os.listdir("/proc") if p.isdigit()]))
print("write", _try(lambda: open({marker!r}, "w").write("x")))
if os.fork() == 0:
    os.setsid()
    time.sleep(600)
    os._exit(0)
def add(a, b):
    return a + b
'''


def probe(root: Path, submissions: Path, out: Path, marker: Path) -> dict:
    """The probe answer, as a toy notebook."""
    release, _ = toy_notebooks(root)["toy"]
    code = PROBE.format(source=str(root / "source"), submissions=str(submissions),
                        gradebook=str(out / "gradebook.db"), marker=str(marker),
                        git=str(Path(__file__).resolve().parents[1] / ".git"))  # fmt: skip
    nb = json.loads(json.dumps(release))
    nb["cells"][1]["source"] = code
    return nb


def probe_results(out: Path, student: str = "probe") -> dict:
    """What the probe printed, read from its autograded notebook: ``{name: value}``."""
    nb = json.loads((out / "autograded" / student / "toy" / "toy.ipynb").read_text())
    streams = [o["text"] for o in nb["cells"][1]["outputs"] if o["output_type"] == "stream"]
    text = "".join("".join(t) if isinstance(t, list) else t for t in streams)
    return dict(line.split(" ", 1) for line in text.splitlines() if " " in line)
