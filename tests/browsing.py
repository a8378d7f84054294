"""The real site in a real browser: fixtures and helpers for the browser tests.

Debian's Chromium, driven by Playwright, reads the session's build served on
127.0.0.1.  Every page a test opens must load without console errors and
without failed requests.  Without Chromium the tests skip, except in CI
(``CI`` set), where a missing browser is a failure.  Loaded as a plugin by
``tests/conftest.py``, so every test module has these fixtures.
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from kb import model

from .conftest import ROOT, BuiltSite, build

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
AXE = ROOT / "tests" / "browser" / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "_build" / "screenshots"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}

CONTENT = model.load(ROOT)
POSTS = CONTENT.published

SERIES_POST = CONTENT.parts("retrofitting-your-facility")[-1]  # in a series, with a table
SECTIONED_POST = CONTENT.posts["posts/six-keys-for-effective-deviation-investigators"]  # h3 under h2
PRACTICE = CONTENT.practices[SERIES_POST.practice]
TAG = CONTENT.tags["GMP"]

#: One page of each type a reader meets, including search results and a filtered search.
PAGES = {
    "home": "index.html",
    "post": f"{SERIES_POST.docname}.html",
    "archive": "blog/archive.html",
    "series": f"{CONTENT.series[SERIES_POST.series].docname}.html",
    "series-index": "series/index.html",
    "author": f"{CONTENT.authors[SERIES_POST.authors[0]].docname}.html",
    "authors": "authors/index.html",
    "tag": f"blog/tag/{TAG.slug}.html",
    "practice": f"blog/category/{PRACTICE.slug}.html",
    "tags": "tags.html",
    "guide": "guide.html",
    "search": "search.html?q=quality",
    "search-filtered": f"search.html?q=quality&filter=tag:{TAG.name}&sort=date:desc",
    "not-found": "404.html",
    "reviews": "reviews.html",
    "glossary": "glossary.html",
    "regulations": "regulations.html",
}


def unavailable(reason: str) -> None:
    """Fail in CI, where the browser must be there; skip elsewhere, saying why."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so this is a failure)")
    pytest.skip(reason)


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def served(folder: Path) -> Iterator[str]:
    """*folder* served over http on 127.0.0.1 (search needs http), for as long as needed."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="session")
def base_url(site: BuiltSite) -> Iterator[str]:
    """The session's build of the real site, served."""
    assert site.returncode == 0, site.log[-3000:]
    with served(site.outdir) as url:
        yield url


@pytest.fixture(scope="session")
def markup_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A small site whose title, author and tag are written as markup, with the real theme, served."""
    outdir = tmp_path_factory.mktemp("markup") / "html"
    theme = ("-D", "html_theme=pydata_sphinx_theme", "-A", "default_mode=auto")
    static = ("-D", f"html_static_path={ROOT / '_static'}", "-D", f"html_favicon={ROOT / '_static' / 'favicon.svg'}")
    result = build(ROOT / "tests" / "roots" / "test-search-markup", outdir, *theme, *static)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    with served(outdir) as url:
        yield url


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One Chromium for the whole session."""
    if not CHROMIUM.exists():
        unavailable(f"{CHROMIUM} is not installed (sudo make deps installs it)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("playwright is not installed (pip install -r requirements.txt)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Visit:
    """A browser tab that records every console error and failed request."""

    def __init__(self, browser: Any, base_url: str) -> None:
        self.browser = browser
        self.base_url = base_url
        self.problems: list[str] = []
        self.context: Any = None
        self.page: Any = None
        self.open_tab()

    def open_tab(self, *, viewport: dict[str, int] = DESKTOP, mode: str = "light") -> Any:
        if self.context is not None:
            self.context.close()
        self.context = self.browser.new_context(viewport=viewport, color_scheme=mode)
        # The theme reads the reader's choice from localStorage before drawing.
        self.context.add_init_script(f'localStorage.setItem("mode", "{mode}"); localStorage.setItem("theme", "{mode}")')
        page = self.context.new_page()
        page.on("console", lambda m: m.type == "error" and self.problems.append(f"console: {m.text} ({page.url})"))
        page.on("pageerror", lambda e: self.problems.append(f"script error: {e} ({page.url})"))
        # A request aborted because the tab moved on (a favicon still loading when a
        # test navigates) is not a fault of the site; a missing file answers 404 below.
        page.on(
            "requestfailed",
            lambda r: r.failure != "net::ERR_ABORTED" and self.problems.append(f"request failed: {r.url} {r.failure}"),
        )
        page.on("response", lambda r: r.status >= 400 and self.problems.append(f"HTTP {r.status}: {r.url}"))
        self.page = page
        return page

    def go(self, path: str) -> Any:
        self.page.goto(self.base_url + path, wait_until="load")
        return self.page

    def path_of(self, url: str) -> str:
        return urlsplit(url).path.lstrip("/")


@contextlib.contextmanager
def tab(browser: Any, url: str) -> Iterator[Visit]:
    """A tab on the site at *url*; it must see no console error and no failed request."""
    visit = Visit(browser, url)
    yield visit
    visit.context.close()
    assert visit.problems == []


@pytest.fixture
def visit(browser: Any, base_url: str) -> Iterator[Visit]:
    with tab(browser, base_url) as visit:
        yield visit


def screenshot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


# -- search -------------------------------------------------------------------


def search(page: Any, term: str) -> list[str]:
    """Type *term* into the search page; the result paths, best first."""
    page.fill("#kb-search-input", term)
    page.wait_for_function("term => new URLSearchParams(location.search).get('q') === term", arg=term)
    return result_paths(page)


#: True once the page shows the results of the search in its address.
SHOWN = """() => {
    const app = document.getElementById('kb-search');
    return app && app.dataset.shown === location.pathname + location.search;
}"""


def result_paths(page: Any) -> list[str]:
    """Every result of the search in the address, once it is shown (all pages of it)."""
    page.wait_for_function(SHOWN)
    while page.locator("#kb-search-more").is_visible():
        before = page.locator(".kb-search-result").count()
        page.click("#kb-search-more")
        page.wait_for_function("n => document.querySelectorAll('.kb-search-result').length > n", arg=before)
    links = page.eval_on_selector_all(".kb-search-result", "links => links.map(a => a.getAttribute('href'))")
    return [urlsplit(link).path.lstrip("/") for link in links]


def message(page: Any) -> str:
    return page.text_content("#kb-search-message") or ""


@pytest.fixture(scope="session")
def axe_source() -> str:
    if not AXE.is_file():
        unavailable(f"{AXE.relative_to(ROOT)} is missing (npm ci --prefix tests/browser)")
    return AXE.read_text(encoding="utf-8")
