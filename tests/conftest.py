"""Shared fixtures: the real MNIST (loaded once per session from the verified cache), and
the book built once per session for tests/test_book.py and tests/test_site.py."""

import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from lenet_ref import spec

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = ROOT / "_build" / "screenshots"  # git-ignored; `make book` clears _build
STARTED = time.time()

PAPER = spec.PAPER_OPTIONS
MODERN = spec.MODERN_OPTIONS


@pytest.fixture(scope="session")
def mnist():
    from lenet_ref.data import load_mnist

    return load_mnist()


@pytest.fixture(scope="session")
def digits(mnist):
    """64 real test digits in the paper's input format, and their labels."""
    from lenet_ref.data import to_lenet_input

    (_, _), (x_test, y_test) = mnist
    return to_lenet_input(x_test[:64]).astype(np.float64), y_test[:64]


@pytest.fixture(scope="session")
def built_book(tmp_path_factory):
    """The HTML folder of the real build (`jupyter-book build . -W -n --keep-going`, as
    `make book` runs it), made in a temporary folder so that a developer's _build is left
    alone, and made once however many test files read it."""
    jupyter_book = shutil.which("jupyter-book", path=str(Path(sys.executable).parent))
    if jupyter_book is None:
        pytest.fail("jupyter-book is not installed in this environment: run `make setup`")
    out = tmp_path_factory.mktemp("book")
    done = subprocess.run(
        [jupyter_book, "build", str(ROOT), "-W", "-n", "--keep-going", "--path-output", str(out)],
        capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    return out / "_build" / "html"


def _toc_files(entries):
    for entry in entries:
        if "file" in entry:
            yield entry["file"]
        yield from _toc_files(entry.get("sections", []))
        yield from _toc_files(entry.get("chapters", []))


@pytest.fixture(scope="session")
def book_pages() -> dict[str, Path]:
    """Every page that _toc.yml lists, in its order: docname ("book/ch1_convolution") -> source."""
    import yaml

    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    docnames = [
        toc["root"],
        *_toc_files(toc.get("parts", [])),
        *_toc_files(toc.get("chapters", [])),
    ]
    pages = {}
    for docname in docnames:
        sources = [ROOT / f"{docname}{suffix}" for suffix in (".md", ".ipynb")]
        pages[docname] = next((path for path in sources if path.is_file()), sources[0])
    return pages


@pytest.fixture(scope="session")
def screenshots_dir() -> Path:
    """Where tests/test_site.py saves a full-page screenshot of each page: <page>.png."""
    return SCREENSHOTS


def pytest_terminal_summary(terminalreporter):
    """Say where the screenshots are, when this run took any."""
    taken = [path for path in SCREENSHOTS.rglob("*.png") if path.stat().st_mtime >= STARTED]
    if taken:
        terminalreporter.write_sep(
            "-", f"{len(taken)} screenshots of the book's pages in {SCREENSHOTS}"
        )
