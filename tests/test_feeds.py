"""Atom feeds: the main feed, one per author, series, tag and practice."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING
from xml.etree import ElementTree as ET

import pytest
from bs4 import BeautifulSoup

from kb import model
from kb.feeds import feed_uri

from .conftest import ROOT, BuiltSite

if TYPE_CHECKING:
    from sphinx.testing.util import SphinxTestApp

ATOM = "{http://www.w3.org/2005/Atom}"
CONTENT = model.load(ROOT)


def parse(path: Path) -> ET.Element:
    """Parse a feed; fails the test if it is not well-formed XML."""
    return ET.fromstring(path.read_bytes())


def entries(feed: ET.Element) -> dict[str, ET.Element]:
    return {e.findtext(f"{ATOM}title"): e for e in feed.findall(f"{ATOM}entry")}


def authors_of(entry: ET.Element) -> list[str]:
    return [a.findtext(f"{ATOM}name") for a in entry.findall(f"{ATOM}author")]


def test_feed_uri_follows_the_site_convention() -> None:
    assert feed_uri("main") == "blog/atom.xml"
    assert feed_uri("author", "MR") == "feeds/author/MR.xml"
    assert feed_uri("series", "quality-myths") == "feeds/series/quality-myths.xml"
    assert feed_uri("tag", "Deviations and CAPA") == "feeds/tag/deviations-and-capa.xml"
    assert feed_uri("tag", "deviations-and-capa") == "feeds/tag/deviations-and-capa.xml"
    assert feed_uri("practice", "Quality Systems") == "feeds/practice/quality-systems.xml"
    with pytest.raises(ValueError, match="unknown feed kind 'tags'"):
        feed_uri("tags", "GMP")


# -- a small site with a two-author post ---------------------------------------


@pytest.mark.sphinx("html", testroot="authors")
def test_two_author_post_is_in_both_author_feeds_with_both_names(app: SphinxTestApp) -> None:
    app.build()
    for key in ("ZW", "AB"):
        feed = parse(Path(app.outdir) / f"feeds/author/{key}.xml")
        assert authors_of(entries(feed)["A Joint Post: Q&A"]) == ["Zoe Wren", "Anna Berg"]
        assert authors_of(entries(feed)["A Comma Post"]) == ["Anna Berg", "Zoe Wren"]


@pytest.mark.sphinx("html", testroot="authors")
def test_main_feed_has_full_text_and_every_author(app: SphinxTestApp) -> None:
    app.build()
    feed = parse(Path(app.outdir) / "blog/atom.xml")
    titles = [e.findtext(f"{ATOM}title") for e in feed.findall(f"{ATOM}entry")]
    assert titles == ["A Solo Post", "A Joint Post: Q&A", "A Comma Post"]
    joint = entries(feed)["A Joint Post: Q&A"]
    assert authors_of(joint) == ["Zoe Wren", "Anna Berg"]
    assert joint.findtext(f"{ATOM}id") == "https://kb.test/posts/joint.html"
    html = BeautifulSoup(joint.findtext(f"{ATOM}content"), "html.parser")
    assert html.select_one("h2").get_text() == "Body"
    assert "More text, with a link to Anna Berg." in html.get_text()
    assert html.select_one(".kb-byline") is None
    assert [a["href"] for a in html.select("a[href]")] == ["https://kb.test/authors/AB.html"]


@pytest.mark.sphinx("html", testroot="authors")
def test_kind_feeds_carry_summaries_only(app: SphinxTestApp) -> None:
    app.build()
    out = Path(app.outdir)
    expected = {
        "feeds/author/ZW.xml": ["A Joint Post: Q&A", "A Comma Post"],
        "feeds/author/QN.xml": [],
        "feeds/series/basics.xml": ["A Joint Post: Q&A"],
        "feeds/tag/gmp.xml": ["A Solo Post", "A Joint Post: Q&A"],
        "feeds/tag/training.xml": ["A Solo Post", "A Comma Post"],
        "feeds/practice/quality-systems.xml": ["A Solo Post", "A Joint Post: Q&A", "A Comma Post"],
    }
    for name, titles in expected.items():
        feed = parse(out / name)
        assert [e.findtext(f"{ATOM}title") for e in feed.findall(f"{ATOM}entry")] == titles, name
        assert feed.find(f"{ATOM}entry/{ATOM}content") is None
        assert feed.find(f"{ATOM}link[@rel='self']").get("href") == f"https://kb.test/{name}"
    joint = entries(parse(out / "feeds/author/ZW.xml"))["A Joint Post: Q&A"]
    assert joint.findtext(f"{ATOM}summary") == "Two authors wrote this post & its excerpt."


@pytest.mark.sphinx("html", testroot="authors")
def test_ablog_feeds_are_not_written(app: SphinxTestApp) -> None:
    app.build()
    out = Path(app.outdir)
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("atom.xml")) == ["blog/atom.xml"]
    assert page_links(app, "blog/tag/gmp.html") == ["../atom.xml", "../../feeds/tag/gmp.xml"]
    assert not BeautifulSoup((out / "blog/tag/gmp.html").read_text(encoding="utf-8"), "html.parser").select(".fa-rss")


def page_links(app: SphinxTestApp, name: str) -> list[str]:
    soup = BeautifulSoup((Path(app.outdir) / name).read_text(encoding="utf-8"), "html.parser")
    return [link["href"] for link in soup.select('head link[rel="alternate"][type="application/atom+xml"]')]


@pytest.mark.sphinx("html", testroot="authors")
def test_pages_announce_their_feeds(app: SphinxTestApp) -> None:
    app.build()
    assert page_links(app, "index.html") == ["blog/atom.xml"]
    assert page_links(app, "authors/ZW.html") == ["../blog/atom.xml", "../feeds/author/ZW.xml"]
    assert page_links(app, "series/basics.html") == ["../blog/atom.xml", "../feeds/series/basics.xml"]
    assert page_links(app, "blog/category/quality-systems.html") == [
        "../atom.xml",
        "../../feeds/practice/quality-systems.xml",
    ]
    assert page_links(app, "posts/joint.html") == [
        "../blog/atom.xml",
        "../feeds/series/basics.xml",
        "../feeds/author/ZW.xml",
        "../feeds/author/AB.xml",
    ]


# -- the real site ----------------------------------------------------------------


@pytest.mark.parametrize("author", CONTENT.authors.values(), ids=lambda a: a.key)
def test_real_author_feed_is_valid_and_complete(site: BuiltSite, author: model.Author) -> None:
    feed = parse(site.outdir / feed_uri("author", author.key))
    assert feed.findtext(f"{ATOM}id") == f"https://kb.qxp.example/feeds/author/{author.key}.xml"
    assert feed.findtext(f"{ATOM}updated")
    found = entries(feed)
    assert list(found) == [p.title for p in CONTENT.published if author.key in p.authors]
    for entry in found.values():
        assert author.name in authors_of(entry)
        assert entry.findtext(f"{ATOM}summary")


def test_real_main_feed_has_full_text(site: BuiltSite) -> None:
    feed = parse(site.outdir / "blog/atom.xml")
    for entry in feed.findall(f"{ATOM}entry"):
        assert len(entry.findtext(f"{ATOM}content")) > len(entry.findtext(f"{ATOM}summary"))


def test_real_site_has_a_feed_per_series_tag_and_practice(site: BuiltSite) -> None:
    expected = [feed_uri("series", key) for key in CONTENT.series]
    expected += [feed_uri("tag", t) for t in {t for p in CONTENT.published for t in p.tags}]
    expected += [feed_uri("practice", p.practice) for p in CONTENT.published]
    for name in expected:
        parse(site.outdir / name)
    assert len(list((site.outdir / "feeds").glob("*/*.xml"))) == len(set(expected)) + len(CONTENT.authors)


@pytest.mark.sphinx("html", testroot="authors", confoverrides={"blog_feed_fulltext": False})
def test_main_feed_without_full_text_carries_summaries(app: SphinxTestApp) -> None:
    app.build()
    feed = parse(Path(app.outdir) / "blog/atom.xml")
    assert feed.find(f"{ATOM}entry/{ATOM}content") is None
    assert entries(feed)["A Solo Post"].findtext(f"{ATOM}summary") == "Anna wrote this one alone."


@pytest.mark.sphinx("html", testroot="authors")
def test_unused_tags_have_no_feed(app: SphinxTestApp) -> None:
    app.build()
    feeds = sorted(p.name for p in (Path(app.outdir) / "feeds/tag").iterdir())
    assert feeds == ["auditing.xml", "gmp.xml", "training.xml"]


def test_real_site_links_only_to_feeds_that_exist(site: BuiltSite) -> None:
    """Every feed a page links or announces (ours, the series' and the tags') is written."""
    checked = 0
    for path in site.outdir.rglob("*.html"):
        soup = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")
        links = soup.select('a[href$=".xml"], link[type="application/atom+xml"]')
        for link in links:
            # The 404 page is served at any address, so its links start from the root.
            href = link["href"]
            target = site.outdir / href.lstrip("/") if href.startswith("/") else (path.parent / href).resolve()
            assert target.is_file(), f"{path.relative_to(site.outdir)} links {link['href']}"
            checked += 1
    assert checked > 100
