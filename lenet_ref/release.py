"""What students are given: the package's wheel, the notebooks' install cell, the student release.

Instructor-side (run from the course's repository; needs PyYAML and nbformat, which the
course's requirements.txt installs):

- ``build_wheel`` builds the ``lenet_ref`` wheel that the book serves (book/_ext/course_wheel.py)
  and the install cell of every exercise installs (``lenet_ref.install``);
- ``sync_install_cells`` writes that cell, locked, before the setup cell of every notebook in
  solutions/ (then ``nbgrader generate_assignment`` carries it into exercises/);
- ``student_release`` writes the folder an instructor publishes as the students' repository:
  exercises/, the wheel, binder/ (a lean environment), a README, and nothing of solutions/.

The book's address (``html.baseurl`` of _config.yml) is the one setting the install cell
and the release take their links from.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from lenet_ref import __version__
from lenet_ref.install import WHEEL, cell_source

ROOT = Path(__file__).resolve().parents[1]
INSTALL_CELL_ID = "install"
RELEASE_MARKER = ".lenet-student-release"  # a folder holding it may be replaced
BINDER_REQUIREMENTS = """\
# The students' environment on Binder: repo2docker runs pip from the repository's root.
# The CPU build of PyTorch (the exercises need no GPU): a fifth of the CUDA build's size.
--extra-index-url https://download.pytorch.org/whl/cpu
torch>=2.1
numpy>=1.24
matplotlib>=3.7
jupyterlab>=4
./{wheel}
"""
BINDER_POSTBUILD = """\
#!/bin/bash
# Binder runs this once, after installing binder/requirements.txt: the full MNIST, verified,
# into the image (the exercises need only the subset inside lenet_ref; the book's chapters
# train on all of it).
set -euo pipefail
python -m lenet_ref data
"""


def wheel_name(version: str = __version__) -> str:
    return WHEEL.format(version=version)


def book_config(root: Path = ROOT) -> dict:
    import yaml

    return yaml.safe_load((root / "_config.yml").read_text())


def book_url(root: Path = ROOT) -> str:
    """The published book's address: ``html.baseurl`` of _config.yml, without a final /."""
    url = (book_config(root).get("html") or {}).get("baseurl")
    if not url:
        raise ValueError(f"{root / '_config.yml'} sets no html.baseurl (the book's address)")
    return url.rstrip("/")


def build_wheel(out_dir: Path, root: Path = ROOT) -> Path:
    """Build ``lenet_ref-<version>-py3-none-any.whl`` into ``out_dir`` and return its path.

    From a copy of pyproject.toml and lenet_ref/ in a scratch folder, so that the build
    leaves nothing (build/, egg-info) in the working tree that others share.
    """
    out_dir = Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="lenet-ref-wheel-") as tmp:
        shutil.copy2(root / "pyproject.toml", tmp)
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
        shutil.copytree(root / "lenet_ref", Path(tmp) / "lenet_ref", ignore=ignore)
        build = "import setuptools.build_meta as b, sys; print(b.build_wheel(sys.argv[1]))"
        done = subprocess.run([sys.executable, "-c", build, str(out_dir)], cwd=tmp,
                              capture_output=True, text=True)  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"building the lenet_ref wheel failed:\n{done.stderr[-3000:]}")
        built = out_dir / done.stdout.strip().splitlines()[-1]
    if built.name != wheel_name():  # pyproject.toml's version against lenet_ref.__version__
        raise RuntimeError(f"built {built.name}, but lenet_ref.__version__ names {wheel_name()}")
    return built


def install_cell(site: str):
    """The locked first code cell of every exercise notebook (``lenet_ref.install``)."""
    import nbformat

    cell = nbformat.v4.new_code_cell(cell_source(__version__, site))
    cell.metadata["nbgrader"] = {"grade": False, "grade_id": INSTALL_CELL_ID, "locked": True,
                                 "schema_version": 3, "solution": False}  # fmt: skip
    return cell


def sync_install_cells(root: Path = ROOT) -> list[Path]:
    """Put the install cell, as ``install_cell`` writes it, before the setup cell of every
    notebook in solutions/ (or refresh it there). Returns the notebooks it changed."""
    import nbformat

    site, changed = book_url(root), []
    for path in sorted((root / "solutions").glob("*/*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells]
        wanted = install_cell(site)
        if INSTALL_CELL_ID in ids:
            cell = nb.cells[ids.index(INSTALL_CELL_ID)]
            if cell.source == wanted.source and cell.metadata == wanted.metadata:
                continue
            cell.source, cell.metadata = wanted.source, wanted.metadata
        else:
            if "setup" not in ids:
                raise ValueError(f"{path} has no cell with grade_id 'setup'")
            nb.cells.insert(ids.index("setup"), wanted)
        nbformat.write(nb, path)
        changed.append(path)
    return changed


def student_release(out: Path, root: Path = ROOT) -> Path:
    """Write the students' repository to ``out`` (replacing an earlier release there):

        exercises/<assignment>/<notebook>.ipynb   nbgrader's release, as committed
        lenet_ref-<version>-py3-none-any.whl      the course package
        binder/requirements.txt, binder/postBuild a lean Binder environment
        README.md                                 for students

    Nothing of solutions/ goes in: the notebooks are nbgrader's release, without solutions
    or hidden tests.
    """
    out = Path(out).resolve()
    if out.exists():
        if not (out / RELEASE_MARKER).exists() and any(out.iterdir()):
            raise FileExistsError(f"{out} is not empty and is not a student release: not replacing it")
        shutil.rmtree(out)
    out.mkdir(parents=True)
    (out / RELEASE_MARKER).write_text("made by lenet_ref.release.student_release\n")
    notebooks = sorted((root / "exercises").glob("*/*.ipynb"))
    if not notebooks:
        raise FileNotFoundError(f"no notebook in {root / 'exercises'}: run nbgrader generate_assignment")
    for nb in notebooks:
        target = out / nb.relative_to(root)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(nb, target)
    wheel = build_wheel(out, root)
    binder = out / "binder"
    binder.mkdir()
    (binder / "requirements.txt").write_text(BINDER_REQUIREMENTS.format(wheel=wheel.name))
    (binder / "postBuild").write_text(BINDER_POSTBUILD)
    (binder / "postBuild").chmod(0o755)
    (out / "README.md").write_text(student_readme(notebooks, root))
    return out


def student_readme(notebooks: list[Path], root: Path = ROOT) -> str:
    site = book_url(root)
    rows = "\n".join(f"| `{nb.relative_to(root).as_posix()}` |" for nb in notebooks)
    return f"""\
# LeNet-5: the exercises

The exercise notebooks of the course *LeNet-5, from one convolution to the trained network*.
Read the book at <{site}>: each chapter ends with its exercise.

| notebook |
| --- |
{rows}

## Working on an exercise

- **Open it.** From the exercise's page in the book: the rocket button opens it on Binder,
  Colab or the course's JupyterHub; the download button gives the `.ipynb` for your own
  Jupyter (Python 3.10+ with numpy, matplotlib and PyTorch).
- **Run it from the top.** The first cell installs the course package `lenet_ref` where it
  is missing (from the book's site; nothing is done where it is installed). Then write
  your code where it says `YOUR CODE HERE` and delete the `raise NotImplementedError()`.
- **Check it.** Each test cell checks one behaviour: a passing check prints a line that
  starts with ✓, a failing one says what was called, what was expected and what came back.
  *Run All* stops at the first failing check: fix it, then run on. Some checks are hidden
  in your copy; the grader runs them.
- **Hand it in** as your course says (the notebook file itself, with its name unchanged).
  Before that, *Restart and Run All* once: what is graded is what runs from the top.

On your own machine without Jupyter: `pip install jupyterlab matplotlib torch
{wheel_name()}` (the wheel is in this repository), then `jupyter lab`.
"""
