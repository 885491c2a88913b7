"""The book builds clean with every page executed, and publishes no solution.

The build is the real one (`jupyter-book build . -W -n --keep-going`, as `make book` runs
it), made once per session by the `built_book` fixture of conftest.py, which
tests/test_site.py shares.
"""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_every_page_is_built_and_executed(built_book, book_pages):
    for page, source in book_pages.items():
        html = built_book / f"{page}.html"
        assert html.is_file(), f"{page} was not built"
        # The exercise notebooks (.ipynb) are published as the students get them, unexecuted.
        if source.suffix == ".md" and "code-cell" in source.read_text():
            assert "cell_output" in html.read_text(), (
                f"{page} has code cells but no outputs: was it executed?"
            )


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


def test_every_chapter_has_its_exercise_page(book_pages):
    """Chapter book/<name>.md pairs with the notebook of exercises/<name>/ (DESIGN.md): each
    such notebook is a page of the book, where students find its download and launch buttons."""
    in_book = {page for page in book_pages if page.startswith("exercises/")}
    released = {path.relative_to(ROOT).with_suffix("").as_posix()
                for path in ROOT.glob("exercises/*/*.ipynb")}  # fmt: skip
    assert not released - in_book, f"exercise notebooks missing from _toc.yml: {released - in_book}"
    assert not in_book - released, (
        f"_toc.yml lists exercises that are not there: {in_book - released}"
    )
    chapters = sorted(path.stem for path in (ROOT / "book").glob("ch[0-9]*_*.md"))
    assert chapters, "no chapter book/chN_*.md"
    for chapter in chapters:
        assert any(page.startswith(f"exercises/{chapter}/") for page in in_book), (
            f"book/{chapter}.md has no exercise page: exercises/{chapter}/*.ipynb in _toc.yml"
        )
