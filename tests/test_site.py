"""The built site as a reader gets it: every HTML page of the book opened in headless Chromium.

The pages are served over a local HTTP server, as a host would serve them. On every page:
no error in the browser console, every image loaded, the math typeset by MathJax (which
the site serves itself), every link to a page or anchor of the site resolves. Every
exercise page offers its .ipynb for download and the launch buttons of _config.yml. A
full-page screenshot of each page of _toc.yml is saved to _build/screenshots/<page>.png.

The browser is Debian's chromium with its chromedriver (scripts/setup-browser.sh, which
`make test` runs). Without them this file fails, saying what to install; set
LENET_SKIP_BROWSER=1 to skip it on purpose.
"""

import base64
import functools
import http.server
import os
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path(os.environ.get("LENET_CHROMIUM", "/usr/bin/chromium"))
CHROMEDRIVER = Path(os.environ.get("LENET_CHROMEDRIVER", "/usr/bin/chromedriver"))
# RECIPES.md: without the networking flags Chromium keeps trying to reach the internet.
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run",
                  "--window-size=1280,900"]  # fmt: skip
LAUNCH_URLS = ("binderhub_url", "jupyterhub_url", "colab_url")

pytestmark = pytest.mark.slow

# Run in the page once it has loaded: wait for every image and for MathJax, then report.
INSPECT_PAGE = r"""
const done = arguments[arguments.length - 1];
(async () => {
  const images = Array.from(document.images);
  images.forEach(img => { img.loading = "eager"; });   // lazy images load now, not on scroll
  await Promise.all(images.map(img => img.complete ? null : new Promise(settle => {
    img.addEventListener("load", settle); img.addEventListener("error", settle);
    setTimeout(settle, 15000);
  })));
  const maths = Array.from(document.querySelectorAll(".math"));
  let mathjax = null;
  if (maths.length && window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
    mathjax = MathJax.version;
  }
  // Text a reader sees outside code: raw TeX delimiters there mean math left untypeset.
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const rawTeX = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (node.parentElement.closest("pre, code, script, style, textarea, mjx-container")) continue;
    if (/\$\$|\\\(|\\\)|\\\[|\\\]/.test(node.textContent)) rawTeX.push(node.textContent.trim().slice(0, 80));
  }
  done({
    brokenImages: images.filter(img => !(img.complete && img.naturalWidth > 0))
                        .map(img => img.getAttribute("src")),
    mathCount: maths.length,
    mathjax: mathjax,
    typesetCount: document.querySelectorAll("mjx-container").length,
    untypeset: maths.filter(m => !m.querySelector("mjx-container"))
                    .map(m => m.textContent.trim().slice(0, 80)),
    mathErrors: Array.from(document.querySelectorAll("mjx-merror"))
                     .map(e => e.getAttribute("data-mjx-error") || e.textContent),
    rawTeX: rawTeX,
    links: Array.from(document.querySelectorAll("a[href]")).map(a => a.href),
    articleLinks: Array.from(document.querySelectorAll("article a[href]")).map(a => a.href),
    ids: Array.from(document.querySelectorAll("[id]")).map(e => e.id)
         .concat(Array.from(document.querySelectorAll("a[name]")).map(a => a.name)),
    downloads: Array.from(document.querySelectorAll("a.btn-download-source-button")).map(a => a.href),
  });
})().catch(error => done({error: String(error)}));
"""


@dataclass
class Visit:
    """What the browser found on one page."""

    url: str
    console_errors: list[str] = field(default_factory=list)
    found: dict = field(default_factory=dict)  # INSPECT_PAGE's report
    redirect_to: str | None = None


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # one line per request would bury pytest's output
        pass


@pytest.fixture(scope="session")
def site(built_book):
    """The built book served at http://127.0.0.1:<free port>/."""
    handler = functools.partial(QuietHandler, directory=str(built_book))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def browser(tmp_path_factory):
    if os.environ.get("LENET_SKIP_BROWSER") == "1":
        pytest.skip("LENET_SKIP_BROWSER=1: the built site is not checked in a browser")
    missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not os.access(path, os.X_OK)]
    if missing:
        pytest.fail(
            f"no headless browser: {', '.join(missing)} missing. Run scripts/setup-browser.sh "
            "(make test does; it installs Debian's chromium and chromium-driver with apt-get when "
            "root), or set LENET_CHROMIUM/LENET_CHROMEDRIVER, or LENET_SKIP_BROWSER=1 to skip",
            pytrace=False,
        )
    from selenium import webdriver
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in CHROMIUM_FLAGS + [f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    try:
        driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    except WebDriverException as error:
        pytest.fail(f"{CHROMIUM} did not start under {CHROMEDRIVER}: {error.msg}", pytrace=False)
    driver.set_script_timeout(60)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def site_pages(built_book: Path) -> list[str]:
    """Every HTML page of the site, relative to its root (not the theme's templates in _static)."""
    pages = (path.relative_to(built_book).as_posix() for path in built_book.rglob("*.html"))
    return sorted(
        page for page in pages if not page.startswith(("_static/", "_sources/", "_images/"))
    )


def full_page_screenshot(driver, path: Path) -> None:
    """The whole page as one PNG: the viewport is made as tall as the page for the shot (with
    captureBeyondViewport instead, the theme's sticky sidebar is drawn out of place)."""
    width, height = driver.execute_script(
        "return [window.innerWidth, document.documentElement.scrollHeight]"
    )
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
    )
    try:
        shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png"})
    finally:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(base64.b64decode(shot["data"]))


@pytest.fixture(scope="session")
def visits(built_book, site, browser, book_pages, screenshots_dir) -> dict[str, Visit]:
    """Open every page once; take the screenshots of the pages of _toc.yml on the way."""
    from selenium.webdriver.support.ui import WebDriverWait

    found = {}
    for page in site_pages(built_book):
        url = site + page
        html = (built_book / page).read_text(errors="ignore")
        redirect = re.search(r'http-equiv="refresh"\s+content="\d+;\s*url=([^"]+)"', html, re.I)
        browser.get(url)
        if redirect:  # index.html: a bare redirect to the first page
            WebDriverWait(browser, 30).until(lambda driver, url=url: driver.current_url != url)
            found[page] = Visit(url, redirect_to=browser.current_url)
            browser.get_log("browser")
            continue
        report = browser.execute_async_script(INSPECT_PAGE)
        errors = [
            entry["message"] for entry in browser.get_log("browser") if entry["level"] == "SEVERE"
        ]
        found[page] = Visit(url, errors, report)
        docname = page.removesuffix(".html")
        if docname in book_pages:
            full_page_screenshot(browser, screenshots_dir / f"{docname}.png")
    return found


def failures(visits, check) -> str:
    """One line per page where `check(visit)` returns something, for an assertion message."""
    lines = [f"{page}: {problem}" for page, visit in visits.items() if (problem := check(visit))]
    return "\n".join(lines)


def test_every_page_ran_its_inspection(visits):
    assert "book/intro.html" in visits
    problems = failures(visits, lambda v: v.found.get("error"))
    assert not problems, "the page inspection failed on\n" + problems


def test_no_console_errors(visits):
    problems = failures(visits, lambda v: v.console_errors)
    assert not problems, "console errors:\n" + problems


def test_every_image_loads(visits):
    problems = failures(visits, lambda v: v.found.get("brokenImages"))
    assert not problems, "images that did not load:\n" + problems


def test_math_is_typeset_by_the_local_mathjax(visits, built_book):
    assert (built_book / "_static" / "mathjax").is_dir(), "MathJax is not served by the site"
    for page in visits:
        if page.endswith(".html"):
            html = (built_book / page).read_text(errors="ignore")
            assert "cdn.jsdelivr.net/npm/mathjax" not in html, f"{page} loads MathJax from a CDN"

    def math_problems(visit):
        found = visit.found
        if not found.get("mathCount"):
            return found.get("rawTeX")  # no math expected, so no TeX delimiters either
        if found["mathjax"] is None:
            return f"{found['mathCount']} math elements, but MathJax did not load"
        if found["untypeset"] or found["mathErrors"] or found["rawTeX"]:
            return {key: found[key] for key in ("untypeset", "mathErrors", "rawTeX") if found[key]}
        if found["typesetCount"] < found["mathCount"]:
            return f"{found['typesetCount']} typeset of {found['mathCount']} math elements"

    problems = failures(visits, math_problems)
    assert not problems, "math not typeset:\n" + problems
    assert any(visit.found.get("typesetCount") for visit in visits.values()), "no math anywhere?"


def target_of(href: str, site: str, built_book: Path) -> tuple[Path, str] | None:
    """The file and #anchor that an href of the site names; None for links elsewhere."""
    if not href.startswith(site):
        return None
    parts = urlsplit(href)
    path = unquote(parts.path).lstrip("/")
    if path == "" or path.endswith("/"):
        path += "index.html"
    return built_book / path, unquote(parts.fragment)


def anchors_of(path: Path, built_book: Path, visits) -> set[str]:
    visit = visits.get(path.relative_to(built_book).as_posix())
    if visit is not None and "ids" in visit.found:
        return set(visit.found["ids"])
    html = path.read_text(errors="ignore")  # a page the browser did not open
    return set(re.findall(r'\b(?:id|name)="([^"]+)"', html))


def test_every_internal_link_resolves(visits, site, built_book):
    def broken_links(visit):
        broken = []
        for href in sorted(set(visit.found.get("links", []))):
            target = target_of(href, site, built_book)
            if target is None:
                continue
            path, anchor = target
            if not path.is_file():
                broken.append(f"{href.removeprefix(site)} (no such file)")
            elif (
                anchor
                and path.suffix == ".html"
                and anchor not in anchors_of(path, built_book, visits)
            ):
                broken.append(f"{href.removeprefix(site)} (no #{anchor} on that page)")
        return broken

    problems = failures(visits, broken_links)
    assert not problems, "broken links:\n" + problems
    for page, visit in visits.items():
        if visit.redirect_to:
            assert target_of(visit.redirect_to, site, built_book)[0].is_file(), (
                f"{page} redirects nowhere"
            )


def test_exercise_pages_offer_the_notebook_and_launch_buttons(visits, site, built_book):
    exercises = sorted(page for page in visits if page.startswith("exercises/"))
    assert exercises, (
        "no exercise page in the site: _toc.yml must list exercises/<chapter>/<notebook>"
    )
    launch = yaml.safe_load((ROOT / "_config.yml").read_text()).get("launch_buttons", {})
    launch_urls = [launch[key].rstrip("/") for key in LAUNCH_URLS if launch.get(key)]
    assert launch_urls, "_config.yml names no launch service"
    chapter_links = {href.split("#")[0] for page, visit in visits.items() if page.startswith("book/")
                     for href in visit.found.get("articleLinks", [])}  # fmt: skip
    for page in exercises:
        visit = visits[page]
        notebook = f"_sources/{page.removesuffix('.html')}.ipynb"
        downloads = [href for href in visit.found["downloads"] if href.endswith(notebook)]
        assert downloads, f"{page} offers no download of {notebook}: {visit.found['downloads']}"
        assert (built_book / notebook).is_file(), f"{page}'s download {notebook} is not in the site"
        for service in launch_urls:
            assert any(href.startswith(service) for href in visit.found["links"]), (
                f"{page} has no launch button for {service}"
            )
        assert site + page in chapter_links, f"no chapter of book/ links to {page} in its text"
