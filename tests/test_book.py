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


@pytest.mark.slow
def test_fig5_page_prints_what_the_committed_runs_say(built_book):
    """The numbers of the Fig. 5 section are read from book/data/runs when the book builds:
    the page prints exactly the summary that lenet_ref.figures computes from those files."""
    from lenet_ref.figures import load_runs, runs_text

    runs = load_runs(ROOT / "book" / "data" / "runs")
    page = (built_book / "book" / "ch5_lenet5.html").read_text()
    assert runs_text(runs) in page
    for run in runs:
        assert f"test error {100 * run['metrics']['test_error']:.2f} %" in page, run["name"]


def test_every_exercise_links_back_to_its_chapter():
    """A student who opens an exercise on Colab or a hub, away from the book, finds in its
    first cell a link to its chapter on the published site (html.baseurl of _config.yml),
    named by that chapter's title."""
    import json
    import re

    import yaml

    base = yaml.safe_load((ROOT / "_config.yml").read_text())["html"]["baseurl"]
    notebooks = sorted(ROOT.glob("exercises/*/*.ipynb"))
    assert notebooks
    for notebook in notebooks:
        chapter = notebook.parent.name
        source = ROOT / "book" / f"{chapter}.md"
        title = re.search(r"^# (.+)$", source.read_text(), re.M).group(1)
        first = "".join(json.loads(notebook.read_text())["cells"][0]["source"])
        links = re.findall(r"\[\*?([^\]]+?)\*?\]\(([^)]+)\)", first)
        assert (title, f"{base}book/{chapter}.html") in links, (
            f"{notebook.relative_to(ROOT)}: its first cell should link to its chapter, "
            f"[{title}]({base}book/{chapter}.html); it links to {links}"
        )
