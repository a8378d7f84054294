"""Tags and practices: the vocabulary, their pages, the tag index and related posts."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from bs4 import BeautifulSoup
from sphinx.util.console import strip_colors

from kb import model, related, tags
from kb.render import reading_minutes

from .conftest import ROOT, BuiltSite

if TYPE_CHECKING:
    from collections.abc import Callable

    from sphinx.testing.util import SphinxTestApp


def page(app: SphinxTestApp, name: str) -> BeautifulSoup:
    return BeautifulSoup((Path(app.outdir) / name).read_text(encoding="utf-8"), "html.parser")


def listed(soup: BeautifulSoup, scope: str = "") -> list[str]:
    """Titles of the posts a listing shows, in order."""
    return [a.get_text(strip=True) for a in soup.select(f"{scope} .kb-post-title a".strip())]


def related_titles(soup: BeautifulSoup) -> list[str]:
    return listed(soup, ".kb-related")


def related_to(site: model.Site, post: model.Post) -> list[model.Post]:
    """*post*'s related posts by the rule (kb/related.py)."""
    shown = related.related_posts(related.input_of(site, [post]))[post.docname]
    return [site.posts[docname] for docname in shown]


# -- the vocabulary (content model, no Sphinx) ----------------------------------

VOCABULARY = """\
tags:
  GMP:
    description: Good manufacturing practice.
    aliases: [cGMP, good manufacturing practice]
  Cell and gene therapy:
    description: Advanced therapies.
    aliases: [CGT]
  Training:
    description: Skills.
practices:
  Quality Systems:
    description: Quality systems.
"""


def make_site(root: Path, vocabulary: str = VOCABULARY, tags_line: str = "[GMP]") -> model.Site:
    """A one-post site in *root*; the post's ``tags:`` is on line 5."""
    (root / "authors").mkdir(parents=True)
    (root / "posts").mkdir()
    (root / "vocabulary.yaml").write_text(vocabulary, encoding="utf-8")
    (root / "authors" / "AA.md").write_text("---\nname: Ann Able\n---\n\nBio.\n", encoding="utf-8")
    (root / "posts" / "p.md").write_text(
        f"---\ntitle: P\ndate: 2024-01-10\nauthor: AA\ntags: {tags_line}\npractice: quality systems\n---\n\nText.\n",
        encoding="utf-8",
    )
    return model.load(root)


def messages(site: model.Site) -> list[str]:
    return [str(p) for p in site.problems]


def test_any_case_and_any_alias_map_to_the_canonical_tag(tmp_path: Path) -> None:
    site = make_site(tmp_path, tags_line="[gmp, cgt, TRAINING]")
    assert messages(site) == []
    assert site.posts["posts/p"].tags == ("GMP", "Cell and gene therapy", "Training")
    assert site.posts["posts/p"].practice == "Quality Systems"


def test_duplicates_within_a_post_are_merged(tmp_path: Path) -> None:
    site = make_site(tmp_path, tags_line="[GMP, cGMP, gmp, good manufacturing practice, Training]")
    assert messages(site) == []
    assert site.posts["posts/p"].tags == ("GMP", "Training")


def test_unknown_tag_names_file_line_value_and_closest_tags(tmp_path: Path) -> None:
    site = make_site(tmp_path, tags_line="[GMP, Trainer]")
    assert messages(site) == [
        "posts/p.md:5: unknown tag 'Trainer'. Fix: did you mean 'Training'? Or add it to vocabulary.yaml"
    ]


def test_unknown_tag_close_to_an_alias_suggests_the_canonical_tag(tmp_path: Path) -> None:
    site = make_site(tmp_path, tags_line="cGMPs")
    assert messages(site) == [
        "posts/p.md:5: unknown tag 'cGMPs'. Fix: did you mean 'GMP'? Or add it to vocabulary.yaml"
    ]


@pytest.mark.parametrize(
    ("first", "second"),
    [("GMP", "gmp"), ("a/b", "ab"), ("Qualität", "Qualitat"), ("Risk management", "risk-management")],
)
def test_entries_whose_pages_collide_are_an_error(tmp_path: Path, first: str, second: str) -> None:
    entries = f'tags:\n  "{first}":\n    description: One.\n  "{second}":\n    description: Two.\n'
    practices = "practices:" + VOCABULARY.partition("practices:")[2]
    site = make_site(tmp_path, entries + practices, f'"{first}"')
    assert messages(site) == [
        f"vocabulary.yaml:4: {second!r} and {first!r} would share the page '{model.slugify(first)}'."
        " Fix: merge them, or make one an alias of the other"
    ]


def test_a_tag_whose_page_name_is_empty_is_an_error(tmp_path: Path) -> None:
    vocabulary = VOCABULARY.replace("  Training:", '  "???":')
    site = make_site(tmp_path, vocabulary)
    assert messages(site) == [
        "vocabulary.yaml:8: tags entry '???' has an empty page name. Fix: use letters or digits in the name"
    ]


def test_an_alias_claimed_by_two_entries_is_an_error(tmp_path: Path) -> None:
    vocabulary = VOCABULARY.replace("description: Skills.", "description: Skills.\n    aliases: [cgmp]")
    site = make_site(tmp_path, vocabulary)
    assert messages(site) == [
        "vocabulary.yaml:8: alias 'cgmp' of 'Training' already names 'GMP'. Fix: keep each spelling under one entry"
    ]


def test_a_name_that_is_another_entrys_alias_is_an_error(tmp_path: Path) -> None:
    vocabulary = VOCABULARY.replace("  Training:", "  CGT:")
    site = make_site(tmp_path, vocabulary)
    assert messages(site) == [
        "vocabulary.yaml:8: 'CGT' already names 'Cell and gene therapy'. Fix: keep each spelling under one entry"
    ]


def test_an_empty_alias_is_an_error(tmp_path: Path) -> None:
    vocabulary = VOCABULARY.replace("aliases: [CGT]", "aliases: [CGT, '']")
    site = make_site(tmp_path, vocabulary)
    assert messages(site) == ["vocabulary.yaml:5: empty alias in 'Cell and gene therapy'. Fix: remove it from aliases"]


@pytest.mark.sphinx("html", testroot="tags-bad")
def test_the_build_reports_each_vocabulary_error_with_its_location(app: SphinxTestApp) -> None:
    app.build()
    text = strip_colors(app.warning.getvalue())
    warnings = [re.sub(r"^.*?/(posts|vocabulary)", r"\1", w) for w in text.splitlines()]
    assert warnings == [
        "posts/p.md:5: WARNING: unknown tag 'gama' (did you mean 'Gamma'? Or add it to vocabulary.yaml) [kb.content]",
        "vocabulary.yaml:7: WARNING: 'a/b' and 'ab' would share the page 'ab'"
        " (merge them, or make one an alias of the other) [kb.content]",
        "vocabulary.yaml:9: WARNING: tags entry '!!!' has an empty page name"
        " (use letters or digits in the name) [kb.content]",
        "vocabulary.yaml:11: WARNING: alias 'G' of 'Delta' already names 'Gamma'"
        " (keep each spelling under one entry) [kb.content]",
    ]


# -- ranking -------------------------------------------------------------------------


def test_cloud_sizes_are_linear_in_the_count() -> None:
    assert [tags.cloud_size(n, 1, 9) for n in (1, 3, 5, 7, 9)] == [1, 2, 3, 4, 5]
    assert tags.cloud_size(4, 4, 4) == 3


# -- pages of a small site ---------------------------------------------------------


@pytest.mark.sphinx("html", testroot="tags", freshenv=True)
def test_the_site_builds_without_warnings(app: SphinxTestApp) -> None:
    app.build()
    assert app.warning.getvalue() == ""


@pytest.mark.sphinx("html", testroot="tags")
def test_tag_page_shows_description_count_feed_and_posts(app: SphinxTestApp) -> None:
    app.build()
    soup = page(app, "blog/tag/alpha.html")
    body = soup.select_one(".kb-collection")
    assert body.select_one("h1").get_text() == "Alpha"
    assert body.select_one(".kb-term-description").get_text() == "The first letter."
    assert body.select_one(".kb-collection-count").get_text(" ", strip=True).startswith("6 posts")
    assert body.select_one("a.kb-feed")["href"] == "../../feeds/tag/alpha.xml"
    assert listed(soup) == [
        'Salt & "Vinegar"',
        "Series Part Two",
        "Post Two",
        "Post One",
        "Post Seven",
        "Series Part One",
    ]
    two = body.select(".kb-post-item")[2]
    assert two.select_one(".kb-post-title a")["href"] == "../../posts/p2.html"
    meta = two.select_one(".kb-post-meta").get_text(" ", strip=True)
    assert meta == "5 February 2024 · Ann Able and Bob Baker · 1 min read"
    assert [a["href"] for a in two.select(".kb-author")] == ["../../authors/AA.html", "../../authors/BB.html"]
    assert two.select_one(".kb-post-excerpt").get_text() == "Excerpt of p2, the first paragraph."
    assert [a.get_text() for a in two.select(".kb-tag")] == ["Alpha", "Beta", "Gamma"]
    one = body.select(".kb-post-item")[3]
    assert [a.get_text() for a in one.select(".kb-tag")] == ["Alpha", "Beta"]  # [alpha, BETA, a1, first letter]
    badge = body.select(".kb-post-item")[1].select_one(".kb-series-badge")
    assert badge.get_text() == "The Series · Part 2"
    assert badge["href"] == "../../series/s.html"


@pytest.mark.sphinx("html", testroot="tags")
def test_tag_pages_escape_every_value(app: SphinxTestApp) -> None:
    app.build()
    raw = (Path(app.outdir) / "blog/tag/fish-chips.html").read_text(encoding="utf-8")
    assert "<Chips>" not in raw and "<Vinegar>" not in raw and "<chips>" not in raw and "<b>" not in raw
    soup = BeautifulSoup(raw, "html.parser")
    assert soup.select_one(".kb-collection h1").get_text() == "Fish & <Chips>"
    assert soup.select_one(".kb-term-description").get_text() == "Chips <b>not</b> crisps."
    assert soup.select_one(".kb-post-excerpt").get_text() == "Fish & <chips> with salt, an excerpt to escape."
    assert soup.title.get_text().startswith("Posts tagged Fish & <Chips>")


@pytest.mark.sphinx("html", testroot="tags")
def test_practice_page_shows_description_count_feed_and_posts(app: SphinxTestApp) -> None:
    app.build()
    soup = page(app, "blog/category/practice-two.html")
    assert soup.select_one(".kb-collection-label").get_text() == "Practice"
    assert soup.select_one(".kb-term-description").get_text() == "The second practice."
    assert soup.select_one(".kb-collection-count").get_text(" ", strip=True).startswith("3 posts")
    assert soup.select_one("a.kb-feed")["href"] == "../../feeds/practice/practice-two.xml"
    assert listed(soup) == ['Salt & "Vinegar"', "Post Three", "Post Seven"]


@pytest.mark.sphinx("html", testroot="tags")
def test_archive_groups_posts_by_year(app: SphinxTestApp) -> None:
    app.build()
    # The archive is the one page of every post (kb/pages.py): ABlog's "All Posts"
    # page and its pages per year are not written, and the archive does not link them.
    assert not (Path(app.outdir) / "blog.html").exists()
    assert not (Path(app.outdir) / "blog/2024.html").exists()
    catalog = page(app, "blog/archive.html")
    groups = catalog.select(".kb-catalog-group h2")
    assert [h.contents[0].strip() for h in groups] == ["2024", "2023"]
    assert catalog.select(".kb-catalog-group h2 a") == []
    assert len(catalog.select(".kb-catalog-group")[0].select("li")) == 6
    first = catalog.select_one(".kb-catalog-posts > li")
    assert first.get_text() == '10 March 2024 · Salt & "Vinegar"'
    assert first.select_one(".kb-date").get_text() == "10 March 2024"
    assert first.select_one("a")["href"] == "../posts/p6.html"


@pytest.mark.sphinx("html", testroot="tags")
def test_tag_index_lists_every_tag_with_description_and_count(app: SphinxTestApp) -> None:
    app.build()
    soup = page(app, "tags.html")
    index = soup.select_one(".kb-tag-index")
    entries = {
        dt.get_text(" ", strip=True): dd.get_text(strip=True)
        for dt, dd in zip(index.select("dt"), index.select("dd"), strict=True)
    }
    assert entries == {
        "Alpha (6 posts)": "The first letter.",
        "Beta (4 posts)": "The second letter.",
        "Delta (1 post)": "The fourth letter.",
        "Fish & <Chips> (1 post)": "Chips <b>not</b> crisps.",
        "Gamma (2 posts)": "The third letter.",
        "Unused (no posts yet)": "A tag no post carries.",
    }
    assert index.select_one("dt:-soup-contains('Unused') a") is None
    cloud = {a.get_text(): (a["class"], a["href"]) for a in index.select(".kb-tag-cloud a")}
    assert cloud["Alpha"] == (["kb-tag", "kb-cloud-5", "reference", "internal"], "blog/tag/alpha.html")
    assert "kb-cloud-1" in cloud["Delta"][0]
    assert "kb-cloud-3" in cloud["Beta"][0]
    assert "Unused" not in cloud
    practices = soup.select_one(".kb-practice-index")
    assert [dt.get_text(" ", strip=True) for dt in practices.select("dt")] == [
        "Practice One (4 posts)",
        "Practice Two (3 posts)",
    ]
    assert practices.select_one("dd").get_text(strip=True) == "The first practice."
    assert not (Path(app.outdir) / "blog/tag/unused.html").exists()


@pytest.mark.sphinx("html", testroot="tags")
def test_related_posts_rank_by_shared_tags_then_recency(app: SphinxTestApp) -> None:
    app.build()
    # Three posts share two tags with Post Two, three share one; five are shown.
    assert related_titles(page(app, "posts/p2.html")) == [
        "Series Part Two",
        "Post One",
        "Series Part One",
        'Salt & "Vinegar"',
        "Post Three",
    ]
    related = page(app, "posts/p2.html").select_one(".kb-related")
    assert related.select_one(".kb-posts-heading").get_text() == "Related posts"
    assert related.parent.name in ("section", "div") and related.find_next_sibling() is None


@pytest.mark.sphinx("html", testroot="tags")
def test_related_posts_leave_out_the_same_series(app: SphinxTestApp) -> None:
    app.build()
    titles = related_titles(page(app, "posts/p4.html"))
    assert "Series Part Two" not in titles
    assert titles == ["Post Two", "Post One", 'Salt & "Vinegar"', "Post Seven"]


@pytest.mark.sphinx("html", testroot="tags")
def test_reading_time_on_the_post_and_in_listings(app: SphinxTestApp) -> None:
    app.build()
    words = len((app.srcdir / "posts/p6.md").read_text(encoding="utf-8").split("---")[2].split())
    assert reading_minutes(words) == 4
    assert reading_minutes(0) == 1
    assert reading_minutes(230) == 1
    assert reading_minutes(231) == 2
    post = page(app, "posts/p6.html")
    assert post.select_one(".kb-byline .kb-reading-time").get_text() == "4 min read"
    item = page(app, "blog/tag/fish-chips.html").select_one(".kb-post-item")
    assert item.select_one(".kb-reading-time").get_text() == "4 min read"


# -- incremental builds --------------------------------------------------------------


def test_changing_a_posts_tags_updates_every_page_without_clean(
    make_app: Callable[..., SphinxTestApp], rootdir: Path, tmp_path: Path
) -> None:
    srcdir = tmp_path / "tags"
    shutil.copytree(rootdir / "test-tags", srcdir)
    app = make_app("html", srcdir=srcdir)
    app.build()
    out = Path(app.outdir)
    assert "Post Seven" in listed(page(app, "blog/tag/alpha.html"))
    assert "Post Seven" in related_titles(page(app, "posts/p1.html"))
    assert "Post Seven" not in related_titles(page(app, "posts/p3.html"))
    assert (out / "blog/tag/delta.html").is_file()
    # Each tag in use has its feed (kb/feeds.py); Delta's goes stale below.
    assert (out / "feeds/tag/delta.xml").is_file()
    assert (out / "feeds/tag/gamma.xml").is_file()

    post = srcdir / "posts/p7.md"
    post.write_text(post.read_text(encoding="utf-8").replace("[Delta, Alpha]", "[Gamma]"), encoding="utf-8")
    app.cleanup()
    app2 = make_app("html", srcdir=srcdir)
    app2.build()

    assert "0 added, 1 changed, 0 removed" in app2.status.getvalue()
    assert app2.warning.getvalue() == ""
    assert "Post Seven" not in listed(page(app2, "blog/tag/alpha.html"))
    assert "Post Seven" in listed(page(app2, "blog/tag/gamma.html"))
    assert "Post Seven" not in related_titles(page(app2, "posts/p1.html"))
    assert "Post Seven" in related_titles(page(app2, "posts/p3.html"))
    index = page(app2, "tags.html").select_one(".kb-tag-index").get_text(" ", strip=True)
    assert "Alpha (5 posts)" in index and "Gamma (3 posts)" in index and "Delta (no posts yet)" in index
    # The tag nobody uses any more leaves nothing behind; the others stay.
    assert not (out / "blog/tag/delta.html").exists()
    assert not (out / "blog/tag/delta").exists()
    assert not (out / "feeds/tag/delta.xml").exists()
    assert (out / "feeds/tag/gamma.xml").is_file()
    assert (out / "blog/tag/alpha.html").is_file()
    assert (out / "blog/category/practice-two.html").is_file()

    app2.cleanup()
    app3 = make_app("html", srcdir=srcdir)
    app3.build()
    assert "0 added, 0 changed, 0 removed" in app3.status.getvalue()
    assert len(page(app3, "blog/archive.html").select(".kb-catalog-posts li")) == 7
    assert len(listed(page(app3, "blog/tag/gamma.html"))) == 3
    assert sorted(p.name for p in (out / "blog/tag").glob("*.html")) == [
        "alpha.html",
        "beta.html",
        "fish-chips.html",
        "gamma.html",
    ]


def test_a_vocabulary_change_rewrites_the_tag_index(
    make_app: Callable[..., SphinxTestApp], rootdir: Path, tmp_path: Path
) -> None:
    srcdir = tmp_path / "tags"
    shutil.copytree(rootdir / "test-tags", srcdir)
    first = make_app("html", srcdir=srcdir)
    first.build()
    first.cleanup()
    vocabulary = srcdir / "vocabulary.yaml"
    text = vocabulary.read_text(encoding="utf-8")
    vocabulary.write_text(text.replace("The fourth letter.", "The fourth letter, revised."), encoding="utf-8")
    app = make_app("html", srcdir=srcdir)
    app.build()
    assert "The fourth letter, revised." in page(app, "tags.html").select_one(".kb-tag-index").get_text()
    assert page(app, "blog/tag/delta.html").select_one(".kb-term-description").get_text() == (
        "The fourth letter, revised."
    )


# -- the real site -----------------------------------------------------------------------

CONTENT = model.load(ROOT)


def test_every_tag_is_used_by_at_least_two_posts() -> None:
    found = tags.counts(CONTENT, "tag")
    assert {name: found[name] for name in CONTENT.tags if found[name] < 2} == {}
    assert {name: n for name, n in tags.counts(CONTENT, "practice").items() if n < 1} == {}


def test_site_tag_index_lists_every_tag_and_practice(site: BuiltSite) -> None:
    soup = site.page("tags.html")
    found = tags.counts(CONTENT, "tag")
    terms = [dt.get_text(" ", strip=True) for dt in soup.select(".kb-tag-index dt")]
    assert terms == [f"{name} ({found[name]} posts)" for name in sorted(CONTENT.tags, key=str.casefold)]
    assert len(soup.select(".kb-practice-index dt")) == len(CONTENT.practices)
    home = site.page("index.html")
    assert any(a["href"] == "tags.html" for a in home.select("a[href]"))


@pytest.mark.parametrize("post", CONTENT.published, ids=lambda p: p.docname)
def test_site_related_posts_share_a_tag_and_skip_the_series(site: BuiltSite, post: model.Post) -> None:
    titles = related_titles(site.page(f"{post.docname}.html"))
    expected = related_to(CONTENT, post)
    assert titles == [p.title for p in expected]
    assert 1 <= len(titles) <= 5
    for other in expected:
        assert set(other.tags) & set(post.tags)
        assert not (post.series and other.series == post.series)


def test_site_related_posts_of_a_seed_post() -> None:
    myth = CONTENT.posts["posts/myth-1-complying-with-regulations-and-product-specifications"]
    titles = [p.title for p in related_to(CONTENT, myth)]
    assert not any(t.startswith("Myth #2") for t in titles)
    assert "Is it Time to Outsource Internal Auditing?" in titles
    retrofit = CONTENT.posts["posts/retrofitting-your-facility-part-1"]
    first = related_to(CONTENT, retrofit)[0]
    assert "Risk management" in first.tags
