"""The real site, as a reader sees it."""

from __future__ import annotations

from collections import deque
from urllib.parse import urldefrag, urljoin

import pytest

from kb import model

from .conftest import ROOT, BuiltSite

CONTENT = model.load(ROOT)
POSTS = CONTENT.published


def test_build_has_no_warnings(site: BuiltSite) -> None:
    assert site.returncode == 0, site.log[-3000:]
    assert site.warnings() == []


def test_content_is_complete() -> None:
    assert CONTENT.problems == []
    assert len(POSTS) == 16
    assert len(CONTENT.authors) == 8
    assert sorted(CONTENT.series) == ["cgt-key-drivers", "quality-myths", "retrofitting-your-facility"]


@pytest.mark.parametrize("post", POSTS, ids=lambda p: p.docname)
def test_post_page_shows_title_date_and_authors(site: BuiltSite, post: model.Post) -> None:
    page = site.page(f"{post.docname}.html")
    assert page.select_one("article h1").get_text(strip=True).rstrip("#") == post.title
    byline = page.select_one(".kb-byline").get_text(" ", strip=True)
    assert f"{post.date.day} {post.date:%B %Y}" in byline  # 8 May 2023, never 08 May
    for key in post.authors:
        assert CONTENT.authors[key].name in byline


def titles_linked(page) -> set[str]:
    return {a.get_text(strip=True) for a in page.select("article a")}


@pytest.mark.parametrize("author", CONTENT.authors.values(), ids=lambda a: a.key)
def test_author_page_lists_exactly_their_posts(site: BuiltSite, author: model.Author) -> None:
    page = site.page(f"authors/{author.key}.html")
    listed = [a.get_text(strip=True) for a in page.select(".kb-post-title a")]
    expected = [p.title for p in POSTS if author.key in p.authors]
    assert listed == expected


@pytest.mark.parametrize("tag", CONTENT.tags.values(), ids=lambda t: t.slug)
def test_tag_page_lists_the_tagged_posts(site: BuiltSite, tag: model.Term) -> None:
    page = site.page(f"blog/tag/{tag.slug}.html")
    expected = {p.title for p in POSTS if tag.name in p.tags}
    assert expected, f"{tag.name} is used by no post"
    assert expected <= titles_linked(page)
    others = {p.title for p in POSTS} - expected
    assert not (others & titles_linked(page))


def test_archive_lists_every_post(site: BuiltSite) -> None:
    assert {p.title for p in POSTS} <= titles_linked(site.page("blog/archive.html"))


def test_feed_carries_every_post(site: BuiltSite) -> None:
    feed = (site.outdir / "blog" / "atom.xml").read_text(encoding="utf-8")
    from xml.etree import ElementTree as ET

    entries = ET.fromstring(feed).findall("{http://www.w3.org/2005/Atom}entry")
    titles = {e.findtext("{http://www.w3.org/2005/Atom}title") for e in entries}
    assert titles == {p.title for p in POSTS}


def test_home_lists_newest_posts_first(site: BuiltSite) -> None:
    listed = [a.get_text(strip=True) for a in site.page("index.html").select(".kb-post-title a")]
    assert listed == [p.title for p in POSTS[: len(listed)]]
    assert len(listed) == 10


def test_every_post_author_and_series_is_reachable_from_home(site: BuiltSite) -> None:
    seen: set[str] = set()
    queue = deque(["index.html"])
    while queue:
        name = queue.popleft()
        if name in seen or not (site.outdir / name).is_file():
            continue
        seen.add(name)
        for a in site.page(name).select("a[href]"):
            href = urldefrag(a["href"]).url
            if not href or "://" in href or href.startswith("mailto:") or not href.endswith(".html"):
                continue
            target = urljoin(name, href)
            if target not in seen:
                queue.append(target)
    wanted = {f"{p.docname}.html" for p in POSTS}
    wanted |= {f"{a.docname}.html" for a in CONTENT.authors.values()}
    wanted |= {f"{s.docname}.html" for s in CONTENT.series.values()}
    assert wanted - seen == set()


def test_navigation_does_not_list_every_post(site: BuiltSite) -> None:
    nav = site.page("authors/MR.html").select_one(".bd-sidebar-primary")
    post_links = [a for a in (nav.select("a") if nav else []) if "posts/" in a.get("href", "")]
    assert post_links == []
