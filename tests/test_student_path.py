"""The students' path (issue 11): every released notebook runs where the book sends a student.

- The install cell of every notebook is the one ``lenet_ref.install`` writes; where
  ``lenet_ref`` is found (even as the grading sandbox's stub) it does nothing and reaches
  nothing.
- The MNIST subset shipped in the package is the head of the real MNIST, checked at load.
- The student release holds no file of solutions/ and no hidden test; binder/ is lean.
- The book serves the wheel, and its launch buttons exist on exercise pages only, pointing
  at files of the student release.
- Slow: a Colab-like fresh virtual environment (torch, numpy, matplotlib, ipykernel,
  nbclient; nothing of this project) runs each notebook as the built site serves it, with
  the solution's answers filled in, fetched over HTTP from the built site: the install cell
  installs lenet_ref from the site, every visible check passes with its ✓ line; a wrong
  answer is named; a kernel without pip still gets lenet_ref; binder/requirements.txt makes
  an environment in which every notebook runs with no network.

One fresh environment serves the whole module (about 2 minutes to make, under a temporary
folder); the slow tests run in file order on it.
"""

from __future__ import annotations

import hashlib
import html.parser
import os
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path

import nbformat
import numpy as np
import pytest

import lenet_ref
from lenet_ref import data
from lenet_ref.install import SITE_ENV, cell_source
from lenet_ref.release import (
    INSTALL_CELL_ID,
    book_url,
    build_wheel,
    student_release,
    wheel_name,
)

ROOT = Path(__file__).resolve().parents[1]
EXERCISES = sorted(p.relative_to(ROOT) for p in (ROOT / "exercises").glob("*/*.ipynb"))
IDS = [p.parent.name for p in EXERCISES]
NOWHERE = "http://127.0.0.1:9"  # the discard port: nothing listens there
HIDDEN_BEGIN, HIDDEN_END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
COLAB_PACKAGES = ["torch==2.13.0", "numpy", "matplotlib", "ipykernel", "nbclient"]


def nbgrader(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def solution_of(exercise: Path) -> Path:
    return ROOT / "solutions" / exercise.relative_to("exercises")


def hidden_lines() -> set[str]:
    """Every line of code inside a hidden-test region of solutions/."""
    lines = set()
    for path in (ROOT / "solutions").glob("*/*.ipynb"):
        for cell in nbformat.read(path, as_version=4).cells:
            if HIDDEN_BEGIN in cell.source:
                region = cell.source.split(HIDDEN_BEGIN, 1)[1].split(HIDDEN_END, 1)[0]
                lines |= {line.strip() for line in region.splitlines() if line.strip()}
    assert lines, "no hidden test found in solutions/"
    return lines


def with_answers(nb, solution: Path):
    """``nb`` with each answer cell's source taken from the solution's cell of that grade_id."""
    answers = {nbgrader(c)["grade_id"]: c.source for c in nbformat.read(solution, as_version=4).cells
               if nbgrader(c).get("solution")}  # fmt: skip
    for cell in nb.cells:
        if nbgrader(cell).get("solution"):
            cell.source = answers[nbgrader(cell)["grade_id"]]
    return nb


def output_text(cell) -> str:
    parts = []
    for out in cell.get("outputs", []):
        parts.append(out.get("text", ""))
        parts.append("\n".join(out.get("traceback", [])))
        parts.append(str(out.get("data", {}).get("text/plain", "")))
    return "\n".join(parts)


# --- The install cell ---------------------------------------------------------------------


@pytest.mark.parametrize("exercise", EXERCISES, ids=IDS)
def test_install_cell_is_lenet_ref_installs_own_and_comes_first(exercise):
    expected = cell_source(lenet_ref.__version__, book_url())
    for path in (solution_of(exercise), ROOT / exercise):
        cells = [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
        first = cells[0]
        assert nbgrader(first).get("grade_id") == INSTALL_CELL_ID, (
            f"{path}: the first code cell must be the install cell: run `make install-cells`"
        )
        assert nbgrader(first).get("locked") and not nbgrader(first).get("grade"), path
        assert first.source == expected, (
            f"{path}: the install cell differs from lenet_ref.install.cell_source: run "
            "`make install-cells` (it also regenerates exercises/)"
        )
        assert nbgrader(cells[1]).get("grade_id") == "setup", path


def run_cell(python: str, source: str, *, env=None, cwd=None, timeout=120, flags=()):
    """Run ``source`` as a script; this test run's PYTHONPATH is not passed on."""
    env = {**{k: v for k, v in os.environ.items() if k != "PYTHONPATH"}, **(env or {})}
    return subprocess.run([python, *flags, "-c", source], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=timeout)  # fmt: skip


def test_install_cell_installs_nothing_where_lenet_ref_is_found(tmp_path):
    cell = cell_source(lenet_ref.__version__, NOWHERE)
    # Installed (this environment), with the site unreachable: nothing printed, nothing fails.
    done = run_cell(sys.executable, cell, env={SITE_ENV: NOWHERE}, cwd=tmp_path)
    assert done.returncode == 0 and done.stdout == "", done.stdout + done.stderr
    # The grading sandbox's stub (lenet_ref holding only lenet_ref.grading) counts as found;
    # -S: no site-packages, so this lenet_ref is the stub.
    stub = tmp_path / "stub" / "lenet_ref" / "grading"
    stub.mkdir(parents=True)
    (stub.parent / "__init__.py").write_text("")
    (stub / "__init__.py").write_text("")
    done = run_cell(sys.executable, cell, env={"PYTHONPATH": str(stub.parents[1]), SITE_ENV: NOWHERE},
                    cwd=tmp_path, flags=("-S",))  # fmt: skip
    assert done.returncode == 0 and done.stdout == "", done.stdout + done.stderr
    # And with nothing found it does try the site (which is why the two above prove something).
    done = run_cell(sys.executable, cell, env={SITE_ENV: NOWHERE}, cwd=tmp_path, flags=("-S",))
    assert done.returncode != 0 and f"{NOWHERE}/_static/{wheel_name()}" in done.stdout


# --- MNIST inside the package ---------------------------------------------------------------


def test_shipped_subset_is_the_head_of_the_real_mnist(mnist):
    (x_train, y_train), (x_test, y_test) = mnist
    (xs_train, ys_train), (xs_test, ys_test) = data.load_mnist_subset()
    assert xs_train.dtype == np.uint8 and ys_train.dtype == np.int64
    np.testing.assert_array_equal(xs_train, x_train[: data.SUBSET_TRAIN])
    np.testing.assert_array_equal(ys_train, y_train[: data.SUBSET_TRAIN])
    np.testing.assert_array_equal(xs_test, x_test[: data.SUBSET_TEST])
    np.testing.assert_array_equal(ys_test, y_test[: data.SUBSET_TEST])
    (x, y), (xt, yt) = data.load_mnist_subset(100, 10)
    assert x.shape == (100, 28, 28) and yt.shape == (10,)


def test_shipped_subset_is_checked_at_load(monkeypatch):
    monkeypatch.setitem(data.SUBSET_SHA256, "y_test", "0" * 64)
    with pytest.raises(RuntimeError, match="y_test differs from the standard MNIST"):
        data.load_mnist_subset()


def test_the_wheel_works_from_its_zip(tmp_path):
    """What a kernel without pip gets: the wheel on sys.path, package data included."""
    wheel = build_wheel(tmp_path)
    assert wheel.name == wheel_name()
    names = zipfile.ZipFile(wheel).namelist()
    assert f"lenet_ref/{data.SUBSET_NAME}" in names and "lenet_ref/grading/__init__.py" in names
    probe = (f"import sys; sys.path.insert(0, {str(wheel)!r}); import lenet_ref.data as d; "
             "assert '.whl' in d.__file__, d.__file__; (x, y), _ = d.load_mnist_subset(); "
             "import lenet_ref.grading, lenet_ref.numpy; print(x.shape)")  # fmt: skip
    done = run_cell(sys.executable, probe, cwd=tmp_path)
    assert done.returncode == 0 and "(5000, 28, 28)" in done.stdout, done.stderr


# --- The student release --------------------------------------------------------------------


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    return student_release(tmp_path_factory.mktemp("student") / "release")


def test_student_release_holds_no_solution_and_no_hidden_test(release):
    files = sorted(p for p in release.rglob("*") if p.is_file())
    relative = [p.relative_to(release).as_posix() for p in files]
    assert not [r for r in relative if r.startswith("solutions") or "/solutions/" in r]
    solution_sums = {hashlib.sha256(p.read_bytes()).hexdigest()
                     for p in (ROOT / "solutions").rglob("*") if p.is_file()}  # fmt: skip
    assert not [r for p, r in zip(files, relative)
                if hashlib.sha256(p.read_bytes()).hexdigest() in solution_sums]  # fmt: skip
    # Every text: the release's own files and every member of the wheel.
    texts = {r: p.read_bytes() for p, r in zip(files, relative) if p.suffix != ".whl"}
    with zipfile.ZipFile(release / wheel_name()) as wheel:
        texts |= {f"{wheel_name()}!{n}": wheel.read(n) for n in wheel.namelist()}
    hidden = hidden_lines()
    for name, raw in texts.items():
        text = raw.decode("utf-8", errors="replace")
        if "!" not in name:  # the package's grading code names nbgrader's markers (to use them)
            assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN" not in text, name
        leaked = [line for line in hidden if line in text]
        assert not leaked, f"{name} holds hidden-test code: {leaked[:3]}"
    assert sorted(r for r in relative if r.endswith(".ipynb")) == [p.as_posix() for p in EXERCISES]
    for exercise in EXERCISES:  # nbgrader's release, as committed
        assert (release / exercise).read_bytes() == (ROOT / exercise).read_bytes()


def test_student_release_binder_is_lean(release):
    requirements = (release / "binder" / "requirements.txt").read_text()
    lines = [line.split("#")[0].strip() for line in requirements.splitlines()]
    lines = [line for line in lines if line]
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in lines
    names = {line.split(">")[0].split("=")[0] for line in lines if not line.startswith("-")}
    assert names == {"torch", "numpy", "matplotlib", "jupyterlab", f"./{wheel_name()}"}
    assert (release / wheel_name()).is_file()
    post_build = release / "binder" / "postBuild"
    assert os.access(post_build, os.X_OK) and "python -m lenet_ref data" in post_build.read_text()
    readme = (release / "README.md").read_text()
    assert "Run All" in readme and "✓" in readme and book_url() in readme


# --- The book: the wheel it serves, its launch buttons -----------------------------------------


class _Links(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs = []

    def handle_starttag(self, tag, attrs):
        if tag == "a" and dict(attrs).get("href"):
            self.hrefs.append(dict(attrs)["href"])


def page_links(page: Path) -> list[str]:
    parser = _Links()
    parser.feed(page.read_text())
    return parser.hrefs


LAUNCHERS = ("mybinder.org", "colab.research.google.com", "/hub/user-redirect/git-pull")


@pytest.mark.slow
def test_the_book_serves_the_wheel(built_book):
    served = built_book / "_static" / wheel_name()
    assert served.is_file(), "book/_ext/course_wheel.py did not publish the wheel"
    assert f"lenet_ref/{data.SUBSET_NAME}" in zipfile.ZipFile(served).namelist()


@pytest.mark.slow
def test_launch_buttons_only_on_exercise_pages_and_into_the_release(built_book, release):
    import yaml

    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    repo = urllib.parse.urlparse(config["repository"]["url"]).path.strip("/")  # org/repo
    for page in sorted(built_book.rglob("*.html")):
        name = page.relative_to(built_book).as_posix()
        if name.startswith(("_static/", "_sources/")):
            continue
        launches = [h for h in page_links(page) if any(s in h for s in LAUNCHERS)]
        if not name.startswith("exercises/"):
            assert not launches, f"{name} has launch buttons, but the students' repository has no chapters"
            continue
        assert len(launches) == len(LAUNCHERS), (name, launches)
        target = name.removesuffix(".html") + ".ipynb"
        assert (release / target).is_file(), f"{name} launches {target}, not in the student release"
        for href in launches:
            query = urllib.parse.parse_qs(urllib.parse.urlparse(href).query)
            if "mybinder.org" in href:
                assert f"/v2/gh/{repo}/" in href and query["urlpath"] == [f"lab/tree/{target}"]
            elif "colab" in href:
                assert href.endswith(f"/github/{repo}/blob/{config['repository']['branch']}/{target}")
            else:
                assert query["repo"] == [config["repository"]["url"]], href
                assert query["urlpath"][0].endswith(f"/{target}"), href


# --- A Colab-like kernel, fed from the served site -----------------------------------------------


@pytest.fixture(scope="module")
def site(built_book):
    """The built HTML served over HTTP on a free local port, as a host would serve it."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
                               "--directory", str(built_book)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(url, timeout=1).close()
            break
        except OSError:
            if server.poll() is not None:
                pytest.fail("python -m http.server did not start")
            time.sleep(0.1)
    yield url
    server.terminate()
    server.wait(10)


RUN_NOTEBOOKS = """\
import sys, nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
for path in sys.argv[1:]:
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(__import__("pathlib").Path(path).parent)}})
    try:
        client.execute()
    except CellExecutionError:
        pass  # the outputs tell which cell failed and why
    nbformat.write(nb, path)
"""


class Venv:
    """A virtual environment with its own kernel spec, and a way to run notebooks in it."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.python = str(folder / "venv" / "bin" / "python")
        kernels = folder / "jupyter" / "kernels" / "python3"
        kernels.mkdir(parents=True)
        # JUPYTER_PATH first: the kernel is this environment's Python, whatever else is installed
        (kernels / "kernel.json").write_text(
            '{"argv": ["%s", "-m", "ipykernel_launcher", "-f", "{connection_file}"], '
            '"display_name": "Python 3", "language": "python"}' % self.python
        )
        self.data_dir = folder / "mnist-cache"  # must stay empty: no student downloads MNIST
        self.data_dir.mkdir()
        (folder / "run_notebooks.py").write_text(RUN_NOTEBOOKS)

    def env(self, site: str) -> dict:
        env = {k: v for k, v in os.environ.items()
               if k not in ("PYTHONPATH", "VIRTUAL_ENV", "LENET_MNIST_SOURCE")}  # fmt: skip
        return {**env, "JUPYTER_PATH": str(self.folder / "jupyter"), SITE_ENV: site,
                "LENET_DATA_DIR": str(self.data_dir), "MPLBACKEND": "Agg",
                "PATH": f"{Path(self.python).parent}{os.pathsep}{env.get('PATH', '')}"}  # fmt: skip

    def pip(self, *args, cwd=None):
        done = subprocess.run([self.python, "-m", "pip", *args], capture_output=True, text=True, cwd=cwd)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    def run(self, notebooks: list[Path], site: str) -> list:
        done = subprocess.run([self.python, str(self.folder / "run_notebooks.py"), *map(str, notebooks)],
                              capture_output=True, text=True, env=self.env(site), timeout=1800)  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
        return [nbformat.read(path, as_version=4) for path in notebooks]


@pytest.fixture(scope="module")
def colab(tmp_path_factory):
    """Colab-like: a fresh venv with torch (CPU), numpy, matplotlib, ipykernel and nbclient."""
    venv = Venv(tmp_path_factory.mktemp("colab"))
    subprocess.run([sys._base_executable, "-m", "venv", str(venv.folder / "venv")], check=True)
    venv.pip("install", "--quiet", *COLAB_PACKAGES)
    return venv


def download_link(built_book: Path, exercise: Path) -> str:
    """The .ipynb that the exercise's page offers for download, relative to the site."""
    page = built_book / exercise.with_suffix(".html")
    links = [h for h in page_links(page) if h.endswith(".ipynb") and "://" not in h]
    assert links, f"{page} offers no .ipynb for download"
    return urllib.parse.urljoin(exercise.with_suffix(".html").as_posix(), links[0])


def assert_checks_pass(nb, name: str) -> None:
    for cell in nb.cells:
        out = output_text(cell)
        assert not any(o.get("output_type") == "error" for o in cell.get("outputs", [])), (
            f"{name}: cell {nbgrader(cell).get('grade_id')} failed:\n{out[-2000:]}"
        )
        visible_check = nbgrader(cell).get("grade") and "check(" in cell.source
        if visible_check:
            assert "✓" in out, f"{name}: {nbgrader(cell)['grade_id']} printed no ✓ line: {out!r}"


@pytest.mark.slow
@pytest.mark.parametrize("exercise", EXERCISES, ids=IDS)
def test_served_notebook_runs_in_a_colab_like_kernel(exercise, colab, site, built_book, tmp_path):
    colab.pip("uninstall", "--yes", "lenet_ref")  # each notebook's install cell installs it
    served = urllib.request.urlopen(f"{site}/{download_link(built_book, exercise)}").read()
    nb = with_answers(nbformat.reads(served.decode(), as_version=4), solution_of(exercise))
    path = tmp_path / exercise.name
    nbformat.write(nb, path)
    (nb,) = colab.run([path], site)
    install = next(c for c in nb.cells if nbgrader(c).get("grade_id") == INSTALL_CELL_ID)
    assert f"Installing the course package from {site}/_static/{wheel_name()}" in output_text(install)
    assert_checks_pass(nb, exercise.name)
    assert not any(colab.data_dir.iterdir()), "the notebook downloaded MNIST"


@pytest.mark.slow
def test_a_wrong_answer_is_named(colab, site, tmp_path):
    exercise = next(e for e in EXERCISES if e.parent.name == "ch1_convolution")
    nb = with_answers(nbformat.read(ROOT / exercise, as_version=4), solution_of(exercise))
    answer = next(c for c in nb.cells if nbgrader(c).get("grade_id") == "correlate2d")
    assert "* kernel)" in answer.source
    answer.source = answer.source.replace("* kernel)", "* kernel[::-1, ::-1])")  # true convolution
    nbformat.write(nb, tmp_path / exercise.name)
    (nb,) = colab.run([tmp_path / exercise.name], site)
    failed = [c for c in nb.cells if any(o.get("output_type") == "error" for o in c.get("outputs", []))]
    assert [nbgrader(c).get("grade_id") for c in failed] == ["test_correlate2d_example"]
    assert "kernel flipped" in output_text(failed[0]), output_text(failed[0])


@pytest.mark.slow
def test_a_kernel_without_pip_gets_the_wheel_itself(site, tmp_path):
    bare = tmp_path / "bare"
    subprocess.run([sys._base_executable, "-m", "venv", "--without-pip", str(bare)], check=True)
    python = str(bare / "bin" / "python")
    cell = cell_source(lenet_ref.__version__, NOWHERE)
    probe = ("import lenet_ref, importlib.resources as r; print(lenet_ref.__file__); "
             f"print(len(r.files('lenet_ref').joinpath({data.SUBSET_NAME!r}).read_bytes()))")  # fmt: skip
    done = run_cell(python, f"{cell}\n{probe}", env={SITE_ENV: site}, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "No module named pip" in done.stdout and f"{wheel_name()}/lenet_ref/__init__.py" in done.stdout


@pytest.mark.slow
def test_binder_requirements_make_an_environment_where_every_notebook_runs(colab, release, tmp_path):
    # download.pytorch.org is out of reach here: --retries 0 keeps pip from waiting on it;
    # the torch of the Colab-like environment satisfies `torch>=2.1`.
    colab.pip("install", "--quiet", "--retries", "0", "-r", "binder/requirements.txt", cwd=release)
    assert (Path(colab.python).parent / "jupyter-lab").exists()
    paths = []
    for exercise in EXERCISES:
        path = tmp_path / exercise
        path.parent.mkdir(parents=True)
        nbformat.write(with_answers(nbformat.read(release / exercise, as_version=4),
                                    solution_of(exercise)), path)  # fmt: skip
        paths.append(path)
    for path, nb in zip(paths, colab.run(paths, NOWHERE)):  # no site: nothing to install
        install = next(c for c in nb.cells if nbgrader(c).get("grade_id") == INSTALL_CELL_ID)
        assert output_text(install).strip() == "", output_text(install)
        assert_checks_pass(nb, path.name)
