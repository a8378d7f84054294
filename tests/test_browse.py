"""Ways in on a small site: {kb-browse} lists, {kb-search-box} and the search index."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from bs4 import BeautifulSoup
from sphinx.util.console import strip_colors

if TYPE_CHECKING:
    from sphinx.testing.util import SphinxTestApp


def page(app: SphinxTestApp, name: str) -> BeautifulSoup:
    return BeautifulSoup((Path(app.outdir) / name).read_text(encoding="utf-8"), "html.parser")


def entries(soup: BeautifulSoup, selector: str) -> list[tuple[str, str, str]]:
    """``(text, href, count)`` of each entry of a browse list."""
    out = []
    for item in soup.select(f"{selector} > li"):
        link = item.select_one("a")
        out.append((link.get_text(), link["href"], item.select_one(".kb-browse-count").get_text(strip=True)))
    return out


@pytest.mark.sphinx("html", testroot="browse")
def test_home_lists_series_practices_tags_and_authors_with_posts(app: SphinxTestApp) -> None:
    app.build()
    assert strip_colors(app._warning.getvalue()) == ""
    home = page(app, "index.html")

    card = home.select_one(".kb-browse-series .kb-browse-card")
    assert card.select_one("a").get_text() == "The Series & Co."
    assert card.select_one("a")["href"] == "series/s.html"
    assert "Two parts & more." in card.get_text()
    assert card.select_one(".kb-post-meta").get_text() == "2 parts · ongoing"

    # Only entries with published posts; names are escaped by the writer.
    assert entries(home, "ul.kb-browse-described") == [("Practice One", "blog/category/practice-one.html", "2")]
    assert "The first practice." in home.select_one("ul.kb-browse-described").get_text()
    assert entries(home, "ul.kb-browse-cloud") == [
        ("Alpha", "blog/tag/alpha.html", "2"),
        ("Fish & <Chips>", "blog/tag/fish-chips.html", "1"),
    ]
    assert entries(home, "ul.kb-browse-authors") == [("Ann Able", "authors/AA.html", "2")]
    assert "Lead" in home.select_one("ul.kb-browse-authors").get_text()
    assert "<Chips>" not in str(home.select_one("ul.kb-browse-cloud")).replace("&lt;Chips&gt;", "")


@pytest.mark.sphinx("html", testroot="browse")
def test_search_box_leads_to_the_search_page(app: SphinxTestApp) -> None:
    app.build()
    form = page(app, "index.html").select_one("form.kb-search-box")
    assert form["action"] == "search.html"
    assert form["role"] == "search"
    field = form.select_one("input[name=q]")
    assert form.select_one(f"label[for={field['id']}]").get_text() == "Search the knowledge base"


@pytest.mark.sphinx("html", testroot="browse")
def test_only_posts_are_indexed_with_their_filters(app: SphinxTestApp) -> None:
    app.build()
    entry = json.loads((Path(app.outdir) / "pagefind" / "pagefind-entry.json").read_text(encoding="utf-8"))
    assert sum(language["page_count"] for language in entry["languages"].values()) == 2
    # A build into an output folder that already holds this index keeps it.
    log = strip_colors(app._status.getvalue())
    assert "kb: indexed 2 pages for search" in log or "kb: search index is up to date (2 pages)" in log
    post = page(app, "posts/p1.html")
    assert post.select_one("[data-pagefind-body]") is not None
    filters = sorted((e["data-pagefind-filter"], e.get_text()) for e in post.select("[data-pagefind-filter]"))
    assert filters == [
        ("author", "Ann Able"),
        ("kind", "Post"),
        ("practice", "Practice One"),
        # Pagefind's interface shows filter values as HTML: no markup characters.
        ("series", "The Series & Co."),
        ("tag", "Alpha"),
        ("tag", "Fish & \uff1cChips\uff1e"),
        ("year", "2024"),
    ]
    assert page(app, "index.html").select_one("[data-pagefind-body]") is None


@pytest.mark.sphinx("html", testroot="browse-bad")
def test_an_unknown_list_is_reported_where_it_is_asked_for(app: SphinxTestApp) -> None:
    app.build()
    warnings = strip_colors(app._warning.getvalue()).strip().splitlines()
    assert len(warnings) == 1
    assert warnings[0].endswith(
        "index.md:5: WARNING: unknown list 'colours' for kb-browse: choose one of series, practices, tags, authors"
        " [kb.browse]"
    )


@pytest.mark.sphinx("html", testroot="browse", freshenv=True)
def test_only_this_builds_posts_are_indexed(app: SphinxTestApp) -> None:
    """A page left in the output by an earlier build (a post since made a draft) is not found."""
    app.build()
    outdir = Path(app.outdir)
    (outdir / "posts" / "withdrawn.html").write_text(
        (outdir / "posts" / "p1.html").read_text(encoding="utf-8").replace("kingfisher", "heron"), encoding="utf-8"
    )
    app.build()
    entry = json.loads((outdir / "pagefind" / "pagefind-entry.json").read_text(encoding="utf-8"))
    assert sum(language["page_count"] for language in entry["languages"].values()) == 2
    # A build into an output folder that already holds this index keeps it.
    log = strip_colors(app._status.getvalue())
    assert "kb: indexed 2 pages for search" in log or "kb: search index is up to date (2 pages)" in log
