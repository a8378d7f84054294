"""The real site in a real browser: search, series navigation, phone layout, accessibility.

The fixtures (the served build, Chromium, a tab that records console errors
and failed requests) are in ``tests/browsing.py``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kb import citations, model
from kb.search import QUEUE_VARIABLE, SORT_META, Handover, filter_value

from .browsing import (
    CONTENT,
    DESKTOP,
    PAGES,
    PHONE,
    POSTS,
    ROOT,
    BuiltSite,
    Visit,
    message,
    result_paths,
    screenshot,
    search,
    served,
    tab,
)
from .test_glossary import used_in
from .test_staging import BAD_POST

pytestmark = pytest.mark.browser


def body_text(site: BuiltSite, post: model.Post) -> str:
    """What search indexes of *post*: its body without byline and navigation."""
    body = site.page(f"{post.docname}.html").select_one("[data-pagefind-body]")
    for element in body.select(".kb-byline, .kb-series-banner, .kb-series-nav, .kb-related, .kb-search-data, h1"):
        element.decompose()
    return " ".join(body.get_text(" ").split())


def words(text: str) -> set[str]:
    return {w.lower() for w in re.findall(r"[A-Za-z]{6,}", text)}


def test_a_phrase_from_a_post_body_finds_that_post_first(site: BuiltSite, visit: Visit) -> None:
    post = next(p for p in POSTS if p.docname == "posts/bacterial-endotoxin-testing-is-on-the-move")
    page = site.page(f"{post.docname}.html")
    paragraphs = [" ".join(p.get_text(" ").split()) for p in page.select("[data-pagefind-body] section > p")]
    phrase = " ".join(paragraphs[-1].split()[:6])
    page = visit.go("search.html")
    found = search(page, phrase)
    assert found, phrase
    assert found[0] == f"{post.docname}.html", phrase


def test_a_word_in_only_one_post_body_returns_only_that_post(site: BuiltSite, visit: Visit) -> None:
    texts = {post.docname: words(body_text(site, post)) for post in POSTS}
    everywhere = set().union(*(words(post.title) for post in POSTS))
    post = POSTS[len(POSTS) // 2]
    others = set().union(*(t for d, t in texts.items() if d != post.docname))
    # Search stems words, so a word counts as unique when no other post has its stem.
    stems = {w[:6] for w in others | everywhere}
    unique = sorted(w for w in texts[post.docname] if w[:6] not in stems)
    assert unique, f"{post.docname} has no word of its own"
    page = visit.go(f"search.html?q={unique[0]}")
    assert result_paths(page) == [f"{post.docname}.html"], unique[0]


def test_the_header_search_box_leads_to_the_search_page(visit: Visit) -> None:
    page = visit.go("posts/cost-of-quality-worth-every-cent.html")
    page.keyboard.press("Control+k")
    field = page.locator("#pst-search-dialog input[name=q]")
    field.wait_for(state="visible")
    field.fill("deviation")
    field.press("Enter")
    page.wait_for_url("**/search.html?q=deviation")
    assert result_paths(page)
    assert page.input_value("#kb-search-input") == "deviation"


def test_filtering_by_an_author_keeps_only_their_posts(visit: Visit) -> None:
    author = max(CONTENT.authors.values(), key=lambda a: sum(a.key in p.authors for p in POSTS))
    theirs = {f"{p.docname}.html" for p in POSTS if author.key in p.authors}
    page = visit.go("search.html")
    everything = search(page, "quality")
    assert len(everything) > len(theirs)
    page.check(f"#kb-search-filter-groups input[name=author][value='{author.name}']")
    page.wait_for_url("**filter=author*")
    narrowed = result_paths(page)
    assert narrowed
    assert set(narrowed) <= theirs
    # The same filter, given in the address (as a shared link gives it).
    page = visit.go(f"search.html?q=quality&filter=author:{author.name}")
    assert result_paths(page) == narrowed


def test_sorting_by_date_puts_the_newest_first(visit: Visit) -> None:
    page = visit.go("search.html?q=quality")
    relevance = result_paths(page)
    page.select_option("#kb-search-sort", "date:desc")
    page.wait_for_url("**sort=date*")
    by_date = result_paths(page)
    # Glossary terms have no date: Pagefind leaves them out of a sorted search, and the page says so.
    assert "glossary.html" in relevance
    assert sorted(by_date) == sorted(path for path in relevance if path != "glossary.html")
    assert message(page).endswith(", posts only")
    dates = {f"{p.docname}.html": p.date.date() for p in POSTS}
    shown = [dates[p] for p in by_date]
    assert shown == sorted(shown, reverse=True)


def test_pages_opened_from_files_work_and_search_says_it_needs_a_server(site: BuiltSite, visit: Visit) -> None:
    home = (site.outdir / "index.html").as_uri()
    visit.page.goto(home, wait_until="networkidle")
    visit.page.click(".kb-post-title a >> nth=0")
    assert visit.page.url == (site.outdir / f"{POSTS[0].docname}.html").as_uri()
    visit.page.wait_for_load_state("networkidle")
    visit.page.goto((site.outdir / "search.html").as_uri(), wait_until="networkidle")
    note = visit.page.locator("#kb-search-offline")
    assert note.is_visible()
    assert "file://" in note.inner_text()


def test_search_works_when_the_site_is_served_below_a_folder(site: BuiltSite, browser: Any) -> None:
    with served(site.outdir.parent) as url, tab(browser, f"{url}{site.outdir.name}/") as visit:
        page = visit.go("search.html?q=endotoxin")
        found = result_paths(page)
        # The post, and the glossary's entry (Bacterial endotoxins, Endotoxin) at its address below the folder.
        post = "posts/bacterial-endotoxin-testing-is-on-the-move.html"
        assert {f"{site.outdir.name}/glossary.html", f"{site.outdir.name}/{post}"} <= set(found[:2])
        page.click(f".kb-search-result[href$='{post}']")
        page.wait_for_load_state("load")
        assert page.title().startswith("Bacterial Endotoxin Testing")


def test_names_written_as_markup_show_as_text_in_search(browser: Any, markup_url: str) -> None:
    with tab(browser, markup_url) as visit:
        page = visit.go("search.html?q=kingfisher")
        assert result_paths(page) == ["posts/p1.html"]
        assert page.inner_text(".kb-search-result") == "Kingfisher & 1 < 2"
        assert "<img src=x onerror=window.kbRan=3>" in page.inner_text(".kb-search-results .kb-post-excerpt")
        labels = page.eval_on_selector_all(
            "#kb-search-filter-groups label", "labels => labels.map(l => l.firstChild.textContent)"
        )
        assert "\uff1cimg src=x onerror=window.kbRan=1\uff1e" in labels
        assert "Ann \uff1cb\uff1eAble\uff1c/b\uff1e" in labels
        assert page.evaluate("window.kbRan") is None
        assert page.locator("#kb-search img").count() == 0


# -- reading ------------------------------------------------------------------


@pytest.mark.parametrize("key", sorted(CONTENT.series), ids=str)
def test_next_in_this_series_walks_the_whole_series(site: BuiltSite, visit: Visit, key: str) -> None:
    parts = CONTENT.parts(key)
    first = site.page(f"{parts[0].docname}.html")
    if len(parts) > 1 and not first.find(string=re.compile("Next in this series")):
        pytest.skip("posts have no 'Next in this series' link yet")
    page = visit.go(f"{parts[0].docname}.html")
    walked = [visit.path_of(page.url)]
    while (link := page.locator(".kb-series-next a")).count():
        link.first.click()
        page.wait_for_load_state("load")
        walked.append(visit.path_of(page.url))
        assert len(walked) <= len(parts), walked
    assert walked == [f"{p.docname}.html" for p in parts]


# -- accessibility ------------------------------------------------------------


@pytest.mark.parametrize("mode", ["light", "dark"])
@pytest.mark.parametrize("name", list(PAGES))
def test_no_serious_accessibility_violations(visit: Visit, axe_source: str, name: str, mode: str) -> None:
    page = visit.open_tab(mode=mode)
    visit.go(PAGES[name])
    assert page.evaluate("document.documentElement.dataset.theme") == mode
    if name.startswith("search"):
        result_paths(page)
    page.add_script_tag(content=axe_source)
    results = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    serious = [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:5]}"
        for v in results["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert serious == [], json.dumps(serious, indent=1)


# -- the glossary, history and reviews ----------------------------------------------------


@pytest.mark.browser
def test_a_reader_follows_a_term_to_the_glossary_and_on_to_another_post(browser: Any, base_url: str) -> None:
    with tab(browser, base_url) as visit:
        page = visit.go("posts/quality-is-number-one-even-when-addressing-supply-chain-issues.html")
        page.click("article a:has-text('change control')")
        assert visit.path_of(page.url) == "glossary.html"
        definition = page.locator("dt:has-text('Change control') + dd")
        definition.locator("a", has_text="Retrofitting Your Facility, Part 1").click()
        assert visit.path_of(page.url) == "posts/retrofitting-your-facility-part-1.html"


def test_a_reader_sees_when_a_post_changed_who_reviewed_it_and_that_it_is_due(tmp_path: Path, browser: Any) -> None:
    """In Chromium: last updated, the history opening on a click, the reviewer, and an overdue post's banner."""
    from .test_history import POST, add_front_matter, commit, make_repo
    from .test_history import build as history_build

    chromium, repo = browser, make_repo(tmp_path)
    add_front_matter(repo / POST, "reviewed: {by: AA, on: 2024-04-01}")
    commit(repo, "Myth one: reviewed", "2024-04-02T00:00:00+00:00")
    static = (
        "-D",
        f"html_static_path={ROOT / '_static'}",
        "-D",
        f"html_favicon={ROOT / '_static' / 'favicon.svg'}",
    )
    assert history_build(repo, *static, today="2025-06-01").returncode == 0
    with served(repo.parent / "html") as url, tab(chromium, url) as visit:
        page = visit.go("posts/myths-1.html")
        assert re.search(r"Last updated 0?2 April 2024", page.inner_text(".kb-byline"))
        assert re.search(r"Reviewed by .+ on 0?1 April 2024", page.inner_text(".kb-byline"))
        assert "due for review since" in page.inner_text(".kb-due")
        changes = page.locator("details.kb-history li").first
        assert not changes.is_visible(), "the history starts folded"
        page.click("details.kb-history summary")
        assert changes.is_visible()
        assert "Myth one: reviewed" in changes.inner_text()
        screenshot(page, "post-history-and-review")


# -- the preview (make serve) ----------------------------------------------------

#: A post of the test-parity site with a misspelled tag (the one the staging tests fail a build with).
MISSPELLED = BAD_POST


@pytest.fixture
def preview(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[tuple[Path, str, Path]]:
    """``make serve`` running on a small site with a misspelled tag: (site, address, log).

    With the parameter ``"site theme"``, in the site's theme, whose search page works.
    """
    root = tmp_path / "site"
    shutil.copytree(ROOT / "tests" / "roots" / "test-parity", root)
    shutil.copy2(ROOT / "Makefile", root)
    with (root / "conf.py").open("a", encoding="utf-8") as conf:  # else Chromium asks for /favicon.ico
        conf.write(f"html_favicon = {str(ROOT / '_static' / 'favicon.svg')!r}\n")
        if getattr(request, "param", None) == "site theme":
            conf.write(f"html_theme = 'pydata_sphinx_theme'\nhtml_static_path = [{str(ROOT / '_static')!r}]\n")
            conf.write("html_css_files = ['kb.css']\n")
    (root / "posts" / "misspelled.md").write_text(MISSPELLED, encoding="utf-8")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    venv = Path(sys.prefix)
    log = tmp_path / "serve.log"
    command = ["make", "--no-print-directory", "-o", str(venv / ".installed"), f"VENV={venv}", "serve", f"PORT={port}"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with log.open("w") as out:
        server = subprocess.Popen(
            command, cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    url = f"http://127.0.0.1:{port}/"
    try:
        # The preview says it waits for changes once its first build is done,
        # just before it starts listening: wait for both.
        for _attempt in range(900):  # on a machine that may be busy
            if "waiting for changes" in log.read_text(errors="replace"):
                with contextlib.suppress(OSError):
                    urllib.request.urlopen(f"{url}posts/misspelled.html", timeout=1).close()
                    break
            assert server.poll() is None, log.read_text()
            time.sleep(0.2)
        yield root, url, log
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait()


def rebuilds(log: Path) -> int:
    return log.read_text(errors="replace").count("kb: rebuilding")


def test_the_preview_shows_a_misspelled_tag_on_the_page_until_it_is_fixed(
    browser: Any, preview: tuple[Path, str, Path]
) -> None:
    root, url, log = preview
    with tab(browser, url) as visit:
        page = visit.go("posts/misspelled.html")
        banner = page.locator(".kb-problems")
        text = " ".join(banner.inner_text().split())
        assert "posts/misspelled.md:5" in text
        assert "unknown tag 'Trayning'" in text
        assert "did you mean 'Training'?" in text
        page.click(".kb-problems-all a")
        assert "posts/misspelled.md:5" in page.locator(".kb-problems-page").inner_text()
        before = rebuilds(log)
        # A fresh tab: the open one reloads itself after the rebuild, at a moment
        # this test cannot know, and that reload would cut short a navigation here.
        visit.open_tab()
        path = root / "posts" / "misspelled.md"
        path.write_text(MISSPELLED.replace(", Trayning", ", Training"), encoding="utf-8")
        for _attempt in range(300):  # until the rebuild has written the page (read outside the tab)
            # A page read while the build writes it ends short (IncompleteRead): read it again.
            with contextlib.suppress(OSError, http.client.HTTPException):
                html = urllib.request.urlopen(f"{url}posts/misspelled.html", timeout=1).read().decode()
                if "Training" in html and 'class="admonition error kb-problems"' not in html:
                    break
            time.sleep(0.2)
        page = visit.go("posts/misspelled.html")
        assert page.locator(".kb-problems").count() == 0
        assert "Training" in page.inner_text("body")
        time.sleep(3)  # room for a second rebuild, which must not come
        assert rebuilds(log) == before + 1, log.read_text()


# -- glossary terms in search ----------------------------------------------------


def test_a_term_is_found_by_its_alias_and_filtered_by_kind(visit: Visit) -> None:
    page = visit.go("search.html")
    found = search(page, "corrective and preventive action")
    assert found[0] == "glossary.html"
    first = page.locator(".kb-search-result").first
    assert first.get_attribute("href").endswith("/glossary.html#term-CAPA")
    assert first.inner_text() == "CAPA · Corrective and preventive action"
    assert page.locator(".kb-search-results > li").first.locator(".kb-post-meta").inner_text() == "Glossary term"
    screenshot(page, "search-glossary-term")
    # Only glossary terms, then only posts: each kind is a filter of its own, kept in the address.
    page.check("#kb-search-filter-groups input[name=kind][value='Glossary term']")
    page.wait_for_url("**filter=kind*")
    assert result_paths(page) == ["glossary.html"]
    page.uncheck("#kb-search-filter-groups input[name=kind][value='Glossary term']")
    page.check("#kb-search-filter-groups input[name=kind][value=Post]")
    page.wait_for_url("**filter=kind%3APost*")
    posts = result_paths(page)
    assert posts and "glossary.html" not in posts
    assert set(posts) <= {f"{post.docname}.html" for post in POSTS}
    screenshot(page, "search-kind-filter")
    # The term's result leads to its entry.
    page = visit.go("search.html?q=capa&filter=kind:Glossary term")
    assert result_paths(page) == ["glossary.html"]
    page.click(".kb-search-result >> nth=0")
    page.wait_for_url("**/glossary.html#term-CAPA")
    assert page.locator("dt#term-CAPA").is_visible()


# -- listings in pages -----------------------------------------------------------------

#: The tag of most posts, and so few posts to a page that its listing spans three pages or more.
PAGED_TAG = max(CONTENT.tags.values(), key=lambda tag: sum(tag.name in post.tags for post in POSTS))
POSTS_PER_PAGE = 3
#: So few posts under a glossary entry or a cited regulation that those used by more say how many more.
POSTS_PER_ENTRY = 1
#: So few pages to a search index that the site's search asks several.
PAGES_PER_BUNDLE = 8
#: A regulation several of the real posts cite, by its anchor on the regulations page.
REGULATION_ANCHOR = citations.anchor("21 CFR Part 211")


@pytest.fixture(scope="module")
def paged(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """The real site built with three posts to a page of a listing (one under each glossary
    entry or regulation, eight pages to a search index), and its address when served."""
    from .conftest import build

    outdir = tmp_path_factory.mktemp("paged") / "html"
    settings = ("-D", f"kb_posts_per_page={POSTS_PER_PAGE}", "-D", f"kb_posts_per_entry={POSTS_PER_ENTRY}")
    settings += ("-D", f"kb_search_pages_per_bundle={PAGES_PER_BUNDLE}")
    result = build(ROOT, outdir, *settings)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    with served(outdir) as url:
        yield outdir, url


def listing_page_seen(visit: Visit) -> list[str]:
    """The titles a page of a listing shows; its head must name the same neighbours as its pager."""
    page = visit.page
    pager = page.locator("nav.kb-pager")
    assert pager.get_attribute("aria-label")
    for rel in ("prev", "next"):
        head = page.eval_on_selector_all(f"head link[rel={rel}]", "links => links.map(l => l.href)")
        body = pager.locator(f"a[rel={rel}]").evaluate_all("links => links.map(a => a.href)")
        assert head == body, rel
    current = pager.locator("[aria-current=page]")
    assert current.count() == 1
    number = int(current.inner_text())
    assert visit.path_of(page.url).endswith(".html" if number == 1 else f"/page/{number}.html")
    return page.locator(".kb-post-list .kb-post-title a").all_inner_texts()


def test_a_reader_walks_a_tags_pages_and_meets_every_post_once(browser: Any, paged: tuple[Path, str]) -> None:
    """Next to the end, a page by its number, Previous; each post of the tag on exactly one page."""
    outdir, url = paged
    first = f"blog/tag/{PAGED_TAG.slug}.html"
    with tab(browser, url) as visit:
        page = visit.go(first)
        seen = {visit.path_of(page.url): listing_page_seen(visit)}
        while (following := page.locator(".kb-pager a[rel=next]")).count():
            following.click()
            page.wait_for_load_state("load")
            seen[visit.path_of(page.url)] = listing_page_seen(visit)
            assert len(seen) <= len(POSTS), list(seen)
        assert len(seen) >= 3
        assert all(0 < len(titles) <= POSTS_PER_PAGE for titles in seen.values())
        titles = [title for shown in seen.values() for title in shown]
        assert titles == [post.title for post in POSTS if PAGED_TAG.name in post.tags]
        page.locator(".kb-pager a", has_text=re.compile(r"^\s*2\s*$")).click()
        page.wait_for_load_state("load")
        assert visit.path_of(page.url) == f"blog/tag/{PAGED_TAG.slug}/page/2.html"
        page.locator(".kb-pager a[rel=prev]").click()
        page.wait_for_load_state("load")
        assert visit.path_of(page.url) == first
        for width, viewport in (("1280", {"width": 1280, "height": 900}), ("390", {"width": 390, "height": 844})):
            for mode in ("light", "dark"):
                visit.open_tab(viewport=viewport, mode=mode)
                shown = visit.go(f"blog/tag/{PAGED_TAG.slug}/page/2.html")
                assert shown.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
                screenshot(shown, f"tag-page-2-{width}-{mode}")
    # The sitemap lists every page of the tag, which are the pages a reader reaches.
    listed = re.findall(r"<loc>[^<]*/(blog/tag/[^<]*)</loc>", (outdir / "sitemap.xml").read_text(encoding="utf-8"))
    assert {loc for loc in listed if loc == first or loc.startswith(first.removesuffix(".html") + "/")} == set(seen)


@pytest.mark.parametrize("mode", ["light", "dark"])
def test_a_page_of_a_listing_has_no_serious_accessibility_violations(
    browser: Any, paged: tuple[Path, str], axe_source: str, mode: str
) -> None:
    with tab(browser, paged[1]) as visit:
        page = visit.open_tab(mode=mode)
        visit.go(f"blog/tag/{PAGED_TAG.slug}/page/2.html")
        page.add_script_tag(content=axe_source)
        results = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
        serious = [f"{v['id']}: {v['help']}" for v in results["violations"] if v["impact"] in ("serious", "critical")]
        assert serious == []


def test_an_entry_used_by_more_posts_than_it_lists_leads_to_a_search_for_them(
    browser: Any, site: BuiltSite, paged: tuple[Path, str]
) -> None:
    """The glossary and the regulations page list the newest posts of an entry, then how many
    more, with a search that finds every one of them."""
    users = used_in(site, "Change control")  # as the site lists them with no bound, newest first
    assert len(users) > POSTS_PER_ENTRY, "the real site has no entry to bound"
    pages = {post.title: f"{post.docname}.html" for post in POSTS}
    with tab(browser, paged[1]) as visit:
        for width, viewport in (("1280", DESKTOP), ("390", PHONE)):
            for mode in ("light", "dark"):
                for name in ("glossary", "regulations"):
                    shown = visit.open_tab(viewport=viewport, mode=mode)
                    visit.go(f"{name}.html")
                    assert shown.locator(".kb-more-posts").count() >= 1
                    assert shown.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
                    screenshot(shown, f"{name}-more-posts-{width}-{mode}")
        page = visit.open_tab()
        visit.go("glossary.html")
        entry = page.locator("dd", has=page.locator(".kb-more-posts", has_text="Change control"))
        assert entry.locator(".kb-term-posts > a").all_inner_texts() == users[:POSTS_PER_ENTRY]
        more = entry.locator(".kb-more-posts")
        assert more.inner_text().startswith(f"and {len(users) - POSTS_PER_ENTRY} more: ")
        more.locator("a").click()
        page.wait_for_load_state("load")
        assert set(result_paths(page)) >= {pages[title] for title in users}
        # A regulation's rest is search's Regulation filter: exactly the posts citing it.
        citing = [li.a.get_text() for li in site.page("regulations.html").select(f"#{REGULATION_ANCHOR} ~ ul li")]
        assert len(citing) > POSTS_PER_ENTRY, "no regulation of the real site has posts to bound"
        visit.go("regulations.html")
        page.locator(f"#{REGULATION_ANCHOR} ~ ul .kb-more-posts a").click()
        page.wait_for_load_state("load")
        assert sorted(result_paths(page)) == sorted(pages[title] for title in citing)
        assert page.locator("#kb-search-filter-groups input[name=regulation]:checked").count() == 1
        screenshot(page, "search-regulation-filter")


def searches_done(log: Path) -> int:
    """How many times the preview's indexer has brought search up to date (kb/preview/)."""
    return log.read_text(errors="replace").count("kb: search:")


def wait_for(done: Any, log: Path) -> None:
    for _attempt in range(600):  # generous: the machine may be busy
        if done():
            return
        time.sleep(0.2)
    raise AssertionError(log.read_text(errors="replace")[-4000:])


@pytest.mark.parametrize("preview", ["site theme"], indirect=True)
def test_search_in_the_preview_finds_a_saved_edit(browser: Any, preview: tuple[Path, str, Path]) -> None:
    root, url, log = preview
    wait_for(lambda: searches_done(log) == 1, log)  # the first build's pages, indexed afresh
    before = rebuilds(log)
    with tab(browser, url) as visit:
        visit.go("posts/good.html")  # open while the page is rebuilt: this tab takes the reload
        path = root / "posts" / "good.md"
        head, _, body = path.read_text(encoding="utf-8").partition("\n---\n\n")
        path.write_text(f"{head}\n---\n\nKestrelwing sightings come first. {body}", encoding="utf-8")
        wait_for(lambda: "kb: search: indexed 1 changed page again" in log.read_text(errors="replace"), log)
        visit.open_tab()
        page = visit.go("search.html")
        assert search(page, "kestrelwing") == ["posts/good.html"]
        screenshot(page, "preview-search-finds-an-edit")
        # Then in the main index, written again since the page was loaded: asked again, it answers the same.
        wait_for(lambda: "kb: search: main index written" in log.read_text(errors="replace"), log)
        page.fill("#kb-search-input", "")
        page.wait_for_function("() => !new URLSearchParams(location.search).get('q')")
        assert search(page, "kestrelwing") == ["posts/good.html"]
        assert search(page, "kestrelwing sightings") == ["posts/good.html"]
    time.sleep(3)  # room for a second rebuild, which indexing must not set off
    assert rebuilds(log) == before + 1, log.read_text()


def filter_labels(page: Any) -> list[str]:
    return page.eval_on_selector_all("#kb-search-filter-groups label", "labels => labels.map(l => l.textContent)")


def same_counts_and_message(one: Visit, other: Visit, query: str) -> tuple[list[str], list[str]]:
    """The search *query* in both tabs: it must show the same filter counts and message there;
    the result paths of each."""
    answers = []
    for visit in (one, other):
        page = visit.go(f"search.html?{query}")
        answers.append((result_paths(page), filter_labels(page), message(page)))
    (paths, *shown), (others, *other_shown) = answers
    assert other_shown == shown, query
    return paths, others


def test_search_asking_several_indexes_answers_as_one_index(
    browser: Any, base_url: str, paged: tuple[Path, str]
) -> None:
    """The real site searched in indexes of eight pages finds what one index finds, with the same
    filter counts (sorted by date: in the same order of dates), even for a word most indexes lack."""
    outdir, url = paged
    assert (outdir / "pagefind-3" / "pagefind.js").is_file()
    dates = {f"{p.docname}.html": p.date.date() for p in POSTS}
    searches = ["q=quality", "q=deviation&filter=kind:Post", "q=quality&sort=date:asc", "q=auditor"]
    searches += ["q=audit&sort=date:desc", "q=endotoxin", "q=zzyzx", f"filter=tag:{PAGED_TAG.name}&sort=date:desc"]
    with tab(browser, base_url) as one, tab(browser, url) as several:
        for query in searches:
            paths, merged = same_counts_and_message(one, several, query)
            assert paths or query == "q=zzyzx", query
            assert sorted(merged) == sorted(paths), query
            if "sort=date" in query:
                assert [dates[p] for p in merged] == [dates[p] for p in paths], query
        result_paths(several.go("search.html?q=audit&sort=date:desc"))
        screenshot(several.page, "search-several-indexes")


#: Edits of a built page: (page, old text, new text).
Edits = list[tuple[str, str, str]]


@pytest.fixture(scope="module")
def preview_built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Handover]:
    """The real site built as ``make serve`` builds it (its pages handed over for search, not
    indexed), and what the build handed over."""
    from .conftest import build

    folder = tmp_path_factory.mktemp("preview-built")
    queue = folder / "request.json"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(QUEUE_VARIABLE, str(queue))
        result = build(ROOT, folder / "html")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    handover = Handover.take(queue)
    assert handover is not None
    return folder, handover


def recent_site(built: tuple[Path, Handover], folder: Path, stale: Edits, saved: Edits, *, merged: bool) -> Path:
    """The preview's pages, with the *stale* edits and then the *saved* ones (page, old text,
    new text), and its search indexes.

    Merged: its main index made before the saved edits, and the recent index
    of the pages they change beside it (kb/preview/recent.py); otherwise: one
    index made after them.
    """
    from kb.preview import Indexer, recent

    shutil.copytree(built[0], folder, ignore=shutil.ignore_patterns("*.doctrees"))
    outdir, terms = folder / "html", folder / built[1].terms.name
    handover = dataclasses.replace(built[1], outdir=outdir, terms=terms)
    indexer = Indexer()
    try:
        for number, edits in enumerate((stale, saved)):
            for page, old, new in edits:
                path = outdir / page
                text = path.read_text(encoding="utf-8")
                assert old in text, (page, old)
                path.write_text(text.replace(old, new, 1), encoding="utf-8")
            if merged or number == 1:
                indexer.update(handover)
    finally:
        indexer.close()
    assert (recent.current(outdir) is not None) == merged
    return outdir


def test_search_beside_a_recent_index_answers_as_one_index_of_every_page(
    browser: Any, preview_built: tuple[Path, Handover], tmp_path: Path
) -> None:
    """The preview's main index, written before two posts were saved, with the recent index of
    those two beside it, finds what one index of the saved pages finds, with the same filter
    counts: a new word, a word taken out, common words and prefixes, a tag changed, a date moved
    (kb/preview/recent.py)."""
    first, second = POSTS[0], POSTS[1]
    a, b = f"{first.docname}.html", f"{second.docname}.html"
    day = second.date.date().isoformat()
    tag = filter_value(second.tags[0])
    stale = [(b, "<h1>", "<h1>Zanzibarite ")]  # a word that only the main index holds
    saved = [
        (a, "<h1>", "<p>Kestrelwing audits of the batch record.</p><h1>"),
        (b, "<h1>Zanzibarite ", "<h1>"),
        (b, f'data-pagefind-sort="date">{day}<', 'data-pagefind-sort="date">2001-01-01<'),
        (b, f'data-pagefind-meta="{SORT_META}">{day}<', f'data-pagefind-meta="{SORT_META}">2001-01-01<'),
        (b, f'data-pagefind-filter="tag">{tag}<', 'data-pagefind-filter="tag">Kestrelwatch<'),
    ]
    merged_site = recent_site(preview_built, tmp_path / "merged", stale, saved, merged=True)
    full_site = recent_site(preview_built, tmp_path / "full", stale, saved, merged=False)
    searches = ["q=kestrelwing", "q=zanzibarite", "q=quality", "q=qual", "q=audit", "q=zzyzx", "q=kestrelwing+audits"]
    searches += ["q=quality&sort=date:desc", "q=audit&sort=date:asc", "filter=tag:Kestrelwatch", "q=capa"]
    searches += ["filter=kind:Post&sort=date:desc", f"filter=tag:{tag}&sort=date:asc"]
    with (
        served(merged_site) as merged_url,
        served(full_site) as full_url,
        tab(browser, full_url) as one,
        tab(browser, merged_url) as beside,
    ):
        for query in searches:
            paths, merged = same_counts_and_message(one, beside, query)
            assert paths or query in ("q=zzyzx", "q=zanzibarite"), query
            if "sort=date" not in query:  # by best match, each index weighs words by its own pages
                paths, merged = sorted(paths), sorted(merged)
            assert merged == paths, query
        for width, viewport in (("1280", DESKTOP), ("390", PHONE)):
            for mode in ("light", "dark"):
                page = beside.open_tab(viewport=viewport, mode=mode)
                beside.go("search.html?q=kestrelwing")
                assert result_paths(page) == [a]
                assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
                screenshot(page, f"search-beside-a-recent-index-{width}-{mode}")
