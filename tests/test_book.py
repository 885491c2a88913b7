"""The book builds clean with every page executed, and publishes no solution.

The build is the real one (`jupyter-book build . -W -n --keep-going`, as `make book` runs
it), into a temporary folder so that a developer's _build is left alone.
"""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def toc_pages() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return [toc["root"]] + [entry["file"] for entry in toc.get("chapters", [])]


@pytest.fixture(scope="module")
def built_book(tmp_path_factory):
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


@pytest.mark.slow
def test_every_page_is_built_and_executed(built_book):
    for page in toc_pages():
        html = built_book / f"{page}.html"
        assert html.is_file(), f"{page} was not built"
        text = html.read_text()
        if "code-cell" in (ROOT / f"{page}.md").read_text():
            assert "cell_output" in text, f"{page} has code cells but no outputs: was it executed?"


@pytest.mark.slow
def test_no_solution_reaches_the_site(built_book):
    leaks = [
        str(path.relative_to(built_book))
        for path in built_book.rglob("*")
        if path.is_file() and path.suffix in {".html", ".ipynb", ".md", ".txt", ".js"}
        and any(marker in path.read_text(errors="ignore")
                for marker in ("BEGIN SOLUTION", "BEGIN HIDDEN TESTS"))
    ]  # fmt: skip
    assert not leaks, f"solution text published in {leaks}"
    assert not (built_book / "solutions").exists()
