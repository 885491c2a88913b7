"""The book builds clean with every page executed, and publishes no solution.

The build is the real one (`jupyter-book build . -W -n --keep-going`, as `make book` runs
it), made once per session by the `built_book` fixture of conftest.py, which
tests/test_site.py shares.
"""

import pytest


@pytest.mark.slow
def test_every_page_is_built_and_executed(built_book, book_pages):
    for page, source in book_pages.items():
        html = built_book / f"{page}.html"
        assert html.is_file(), f"{page} was not built"
        # The exercise notebooks (.ipynb) are published as the students get them, unexecuted.
        if source.suffix == ".md" and "code-cell" in source.read_text():
            assert "cell_output" in html.read_text(), f"{page} has code cells but no outputs: was it executed?"


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
