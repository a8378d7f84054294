"""Series: banners, navigation, series pages, the index, cross-references,
validation and incremental builds, as a reader (or a writer) meets them."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urljoin

import pytest
from bs4 import BeautifulSoup

from kb import content, model

from .conftest import ROOT, BuiltSite

if TYPE_CHECKING:
    from sphinx.testing.util import SphinxTestApp

ROOTS = Path(__file__).parent / "roots"
CONTENT = model.load(ROOT)


def page(app: SphinxTestApp, name: str) -> BeautifulSoup:
    return BeautifulSoup((app.outdir / name).read_text(encoding="utf-8"), "html.parser")


def text(element) -> str:
    return " ".join(element.get_text(" ", strip=True).split())


def build_clean(app: SphinxTestApp) -> None:
    app.build()
    assert app.warning.getvalue() == ""


# -- a part of a series --------------------------------------------------------


@pytest.mark.sphinx("html", testroot="series")
def test_each_part_has_a_banner_under_the_byline(app: SphinxTestApp) -> None:
    build_clean(app)
    expected = {
        "myths-1": "Part 1 of 2 in Myths · an ongoing series: more parts are coming",
        "myths-2": "Part 2 of 2 in Myths · an ongoing series: more parts are coming",
        "guide-1": "Part 1 of 3 in The Guide",
        "guide-2": "Part 2 of 3 in The Guide",
        "guide-3": "Part 3 of 3 in The Guide",
    }
    for name, banner in expected.items():
        soup = page(app, f"posts/{name}.html")
        found = soup.select_one("article .kb-series-banner")
        assert text(found) == banner
        assert found.find_previous_sibling(class_="kb-byline") is not None, "the banner follows the byline"
        assert found.a["href"] == f"../series/{name.split('-')[0]}.html"
    assert page(app, "posts/alone.html").select(".kb-series-banner, .kb-series-nav") == []


@pytest.mark.sphinx("html", testroot="series")
def test_part_ends_with_previous_next_and_every_part(app: SphinxTestApp) -> None:
    build_clean(app)
    nav = page(app, "posts/guide-2.html").select_one("article .kb-series-nav")
    assert text(nav.select_one(".kb-series-prev")) == "Previous in this series: Guide one"
    assert nav.select_one(".kb-series-prev a")["href"] == "guide-1.html"
    assert text(nav.select_one(".kb-series-next")) == "Next in this series: Guide three"
    assert nav.select_one(".kb-series-next a")["href"] == "guide-3.html"
    items = nav.select("ol.kb-series-parts > li")
    assert [text(li) for li in items] == ["Guide one", "Guide two (you are here)", "Guide three"]
    current = nav.select_one("li.kb-current")
    assert current.strong.get_text() == "Guide two" and current.a is None

    first = page(app, "posts/guide-1.html").select_one(".kb-series-nav")
    assert first.select(".kb-series-prev") == []
    last = page(app, "posts/guide-3.html").select_one(".kb-series-nav")
    assert last.select(".kb-series-next") == []
    assert text(last.select_one(".kb-series-end")) == "This is the last part of the series."
    latest = page(app, "posts/myths-2.html").select_one(".kb-series-nav")
    assert text(latest.select_one(".kb-series-end")) == "This is the latest part; more parts are coming."


@pytest.mark.sphinx("html", testroot="series")
def test_neither_theme_nor_ablog_adds_its_own_prev_next(app: SphinxTestApp) -> None:
    build_clean(app)
    soup = page(app, "posts/guide-2.html")
    assert soup.select(".prev-next-area, .ablog__prev-next, .prev-next-footer") == []
    labels = [a for a in soup.select("a") if text(a).lower() in ("previous", "next")]
    assert labels == []


@pytest.mark.sphinx("html", testroot="series")
def test_a_draft_part_is_neither_counted_nor_linked(app: SphinxTestApp) -> None:
    build_clean(app)
    assert not (app.outdir / "posts" / "myths-draft.html").exists()
    nav = page(app, "posts/myths-2.html").select_one(".kb-series-nav")
    assert [text(li) for li in nav.select("ol.kb-series-parts > li")] == ["Myth one", "Myth two (you are here)"]


@pytest.mark.sphinx("html", testroot="series", confoverrides={"kb_include_drafts": True})
def test_a_preview_counts_the_draft_part(app: SphinxTestApp) -> None:
    build_clean(app)
    banner = page(app, "posts/myths-draft.html").select_one(".kb-series-banner")
    assert text(banner).startswith("Part 3 of 3 in Myths")
    nav = page(app, "posts/myths-2.html").select_one(".kb-series-nav")
    assert text(nav.select_one(".kb-series-next")) == "Next in this series: Myth three (draft)"


def test_one_rule_says_what_a_series_holds_drafts_only_in_previews() -> None:
    def post(name: str, part: int, status: str = "published", key: str = "myths") -> model.Post:
        date = dt.datetime(2024, 1, part, tzinfo=dt.UTC)
        return model.Post(f"posts/{name}", f"posts/{name}.md", name, date, (), (), None, status, series=key, part=part)

    posts = [
        post("three", 3, "draft"),
        post("one", 1),
        post("four", 4, "scheduled"),
        post("two", 2),
        post("broken", 5, "invalid"),
        post("other", 1, key="other"),
    ]
    site = model.Site(Path(), posts={p.docname: p for p in posts})
    names = {key: [p.title for p in parts] for key, parts in content.parts_by_series(site, previews=False).items()}
    assert names == {"myths": ["one", "two"], "other": ["other"]}
    assert [p.title for p in content.parts(site, "myths", previews=True)] == ["one", "two", "three", "four"]
    assert content.parts(site, "unknown", previews=True) == []


# -- series pages, the index, directives and roles -----------------------------


@pytest.mark.sphinx("html", testroot="series")
def test_series_page_shows_intro_status_feed_and_parts(app: SphinxTestApp) -> None:
    build_clean(app)
    soup = page(app, "series/guide.html")
    article = soup.select_one("article")
    assert article.h1.get_text(strip=True).rstrip("#") == "The Guide"
    paragraphs = [text(p) for p in article.select("section > p")]
    assert paragraphs[0] == "The introduction of the guide."
    status = article.select_one(".kb-series-status")
    assert text(status) == "Complete in 3 parts. Atom feed of this series"
    assert status.a["href"] == "../feeds/series/guide.xml"
    items = article.select(".kb-series-part-list .kb-post-item")
    assert [text(i.select_one(".kb-part-number")) for i in items] == ["Part 1", "Part 2", "Part 3"]
    assert [text(i.select_one(".kb-post-title")) for i in items] == ["Guide one", "Guide two", "Guide three"]
    assert text(items[1].select_one(".kb-post-meta")).startswith("8 March 2023 · Ben Baker and Ann Archer · ")
    assert text(items[1].select_one(".kb-post-excerpt")) == "The first paragraph of Guide two."
    assert article.select(".kb-series-badge") == [], "no badge repeating the page itself"

    myths = page(app, "series/myths.html").select_one(".kb-series-status")
    assert text(myths).startswith("Ongoing: 2 parts so far, more parts are coming.")
    upcoming = page(app, "series/next-year.html").select_one("article")
    assert text(upcoming.select_one(".kb-series-status")).startswith("Announced: no parts published yet")
    assert text(upcoming.select_one(".kb-empty")) == "No parts published yet."


@pytest.mark.sphinx("html", testroot="series")
def test_series_index_lists_every_series(app: SphinxTestApp) -> None:
    build_clean(app)
    entries = page(app, "series/index.html").select(".kb-series-index .kb-series-item")
    assert [text(e.select_one(".kb-post-title")) for e in entries] == ["Myths", "Next Year", "The Guide"]
    assert [text(e.select_one(".kb-post-meta")) for e in entries] == [
        "Ongoing · 2 parts · Ann Archer · 10 January 2023 to 10 February 2023",
        "Ongoing · 0 of 4 parts",
        "Complete · 3 parts · Ben Baker and Ann Archer · 1 March 2023 to 15 March 2023",
    ]
    assert [text(e.select_one(".kb-post-excerpt")) for e in entries] == [
        "One myth per post.",
        "A series announced before its first part.",
        "A guide in three parts.",
    ]
    assert entries[2].select_one(".kb-post-title a")["href"] == "guide.html"


@pytest.mark.sphinx("html", testroot="series")
def test_roles_and_parts_directive_on_any_page(app: SphinxTestApp) -> None:
    build_clean(app)
    soup = page(app, "index.html")
    links = {text(a): a["href"] for a in soup.select("article p a.reference")}
    assert links["Myths"] == "series/myths.html"
    assert links["Myth one"] == "posts/myths-1.html"
    assert links["Guide three"] == "posts/guide-3.html"
    embedded = soup.select("article ol.kb-series-parts > li")
    assert [text(li) for li in embedded] == ["Guide one", "Guide two", "Guide three"]
    assert [li.a["href"] for li in embedded] == ["posts/guide-1.html", "posts/guide-2.html", "posts/guide-3.html"]


@pytest.mark.sphinx("html", testroot="series")
def test_listings_show_a_series_badge(app: SphinxTestApp) -> None:
    build_clean(app)
    for name in ("index.html", "authors/AA.html"):
        items = {text(i.select_one(".kb-post-title")): i for i in page(app, name).select(".kb-post-item")}
        badge = items["Myth two"].select_one(".kb-series-badge")
        assert text(badge) == "Myths · Part 2"
        assert items["Standalone"].select_one(".kb-series-badge") is None


# -- validation -----------------------------------------------------------------

#: Every series problem of the bad root, as ``make check`` prints it.
BAD_SERIES = [
    "posts/dup-b.md:8: part 1 of series 'myths' is also claimed by posts/dup-a.md. Fix: give each part its own number",
    "posts/gappy-4.md:8: series 'gappy' jumps to part 4: part 3 is missing. "
    "Fix: renumber the parts 1, 2, 3... or publish part 3",
    "posts/no-part.md:7: series 'myths' without a part. Fix: add 'part: N' with this post's place in the series",
    "posts/orphan-part.md:7: part 2 without a series. "
    "Fix: add 'series: <key>' naming a file in series/, or remove 'part'",
    "posts/pair-3.md:8: part 3 is beyond the 2 parts of complete series 'pair'. "
    "Fix: set 'parts: 3' in series/pair.md, or renumber this post",
    "posts/part-text.md:8: part 'two' is not a positive whole number. "
    "Fix: write the part's place in the series as 1, 2, 3...",
    "posts/part-zero.md:8: part 0 is not a positive whole number. "
    "Fix: write the part's place in the series as 1, 2, 3...",
    "posts/typo.md:7: unknown series 'myhts'. Fix: did you mean 'myths'? Or add series/myhts.md",
    "series/trilogy.md:5: complete series 'trilogy' has no published part 3 (its last part). "
    "Fix: publish the last part, or set 'status: ongoing'",
]


def test_model_reports_every_series_problem_at_once() -> None:
    site = model.load(ROOTS / "test-series-bad")
    assert [str(p) for p in site.problems] == BAD_SERIES
    assert {p.kind for p in site.problems} == {"series"}


def test_gaps_name_every_missing_part(tmp_path: Path) -> None:
    root = tmp_path / "site"
    shutil.copytree(ROOTS / "test-series-bad", root)
    for name in ("gappy-2", "dup-b", "no-part", "orphan-part", "part-text", "part-zero", "typo"):
        (root / "posts" / f"{name}.md").unlink()
    problems = [str(p) for p in model.load(root).problems if "gappy" in str(p)]
    assert problems == [
        "posts/gappy-4.md:8: series 'gappy' jumps to part 4: parts 2 and 3 are missing. "
        "Fix: renumber the parts 1, 2, 3... or publish part 2"
    ]


@pytest.mark.sphinx("html", testroot="series-bad")
def test_strict_build_names_file_line_value_and_fix(app: SphinxTestApp) -> None:
    app.build()
    warnings = app.warning.getvalue()
    for problem in BAD_SERIES:
        where, message = problem.split(": ", 1)
        message, _, fix = message.partition(". Fix: ")
        assert f"{where}: WARNING: {message} ({fix}) [kb.series]" in warnings
    # Cross-references and the parts directive fail with a did-you-mean.
    assert "index.md:5: WARNING: unknown series 'myth' (did you mean 'myths'? A series' key names" in warnings
    assert "index.md:5: WARNING: unknown series 'mythz' in 'mythz/1' (did you mean 'myths'?) [kb.part]" in warnings
    assert "index.md:5: WARNING: series 'myths' has no published part '7'" in warnings
    assert (
        "index.md:7: WARNING: unknown series 'mythss' in kb-series-parts: did you mean 'myths'? [kb.series]" in warnings
    )
    assert "Traceback" not in warnings


# -- incremental builds -----------------------------------------------------------

PAGES = [
    "posts/myths-1.html",
    "posts/myths-2.html",
    "posts/myths-3.html",
    "series/myths.html",
    "series/index.html",
    "index.html",
    "authors/AA.html",
    "reading.html",
]

MYTH_THREE = """\
---
title: "Myth three"
date: 2023-05-10
author: AA
tags: [Audits]
practice: Quality Systems
series: myths
part: 3
---

The first paragraph of Myth three.
"""


def article_of(path: Path) -> str:
    return str(BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser").select_one("article"))


def sphinx_build(src: Path, out: Path) -> None:
    """Build as ``make html`` does, in its own process: only outdated pages are written."""
    cmd = [sys.executable, "-m", "sphinx", "-W", "-n", "--keep-going", "-j", "2", "-b", "html", str(src), str(out)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]


def assert_same_as_clean_build(src: Path, tmp_path: Path, step: str) -> None:
    clean_src = tmp_path / f"clean-{step}"
    shutil.copytree(src, clean_src, ignore=shutil.ignore_patterns("_build"))
    sphinx_build(clean_src, clean_src / "_build")
    for name in PAGES:
        if (clean_src / "_build" / name).exists():
            assert article_of(src / "_build" / name) == article_of(clean_src / "_build" / name), f"{step}: {name}"


def series_banner(src: Path, name: str) -> str:
    soup = BeautifulSoup((src / "_build" / name).read_text(encoding="utf-8"), "html.parser")
    return text(soup.select_one(".kb-series-banner"))


def test_adding_and_renumbering_parts_updates_every_page_without_clean(tmp_path: Path) -> None:
    src = tmp_path / "src"
    shutil.copytree(ROOTS / "test-series", src)
    sphinx_build(src, src / "_build")

    (src / "posts" / "myths-3.md").write_text(MYTH_THREE, encoding="utf-8")
    sphinx_build(src, src / "_build")
    assert series_banner(src, "posts/myths-1.html").startswith("Part 1 of 3 in Myths")
    assert_same_as_clean_build(src, tmp_path, "added")

    # Renumber: part 3 becomes part 1, the others move up.
    for name, new in (("myths-1", 2), ("myths-2", 3), ("myths-3", 1)):
        path = src / "posts" / f"{name}.md"
        source = path.read_text(encoding="utf-8")
        path.write_text(source.replace(f"part: {name[-1]}", f"part: {new}"), encoding="utf-8")
    sphinx_build(src, src / "_build")
    assert series_banner(src, "posts/myths-2.html").startswith("Part 3 of 3 in Myths")
    reading = BeautifulSoup((src / "_build" / "reading.html").read_text(encoding="utf-8"), "html.parser")
    assert text(reading.select_one("article p a")) == "Myth three", "{part}`myths/1` follows the renumbering"
    assert_same_as_clean_build(src, tmp_path, "renumbered")


def test_completing_a_series_rewrites_its_parts(tmp_path: Path) -> None:
    src = tmp_path / "src"
    shutil.copytree(ROOTS / "test-series", src)
    sphinx_build(src, src / "_build")
    intro = src / "series" / "myths.md"
    intro.write_text(intro.read_text(encoding="utf-8").replace("status: ongoing", "status: complete\nparts: 2"))
    sphinx_build(src, src / "_build")
    assert series_banner(src, "posts/myths-1.html") == "Part 1 of 2 in Myths"
    assert_same_as_clean_build(src, tmp_path, "completed")


# -- the real site ------------------------------------------------------------------


def series_parts(key: str) -> list[model.Post]:
    return content.parts(CONTENT, key, previews=False)


@pytest.mark.parametrize("key", sorted(CONTENT.series), ids=str)
def test_next_in_series_walks_from_part_one_to_the_last(site: BuiltSite, key: str) -> None:
    series = CONTENT.series[key]
    parts = series_parts(key)
    assert len(parts) >= 2
    total = max(series.parts or 0, len(parts))
    name, seen = f"{parts[0].docname}.html", []
    while True:
        soup = site.page(name)
        title = soup.select_one("article h1").get_text(strip=True).rstrip("#")
        seen.append(title)
        banner = text(soup.select_one("article .kb-series-banner"))
        assert banner.startswith(f"Part {len(seen)} of {total} in {series.title}")
        assert ("more parts are coming" in banner) == (series.status == "ongoing")
        following = soup.select_one("article .kb-series-nav .kb-series-next a")
        if following is None:
            break
        name = urljoin(name, following["href"])
    assert seen == [p.title for p in parts]


def test_real_posts_have_no_chronological_prev_next(site: BuiltSite) -> None:
    for post in CONTENT.published:
        soup = site.page(f"{post.docname}.html")
        assert soup.select(".prev-next-area, .ablog__prev-next, .prev-next-footer") == [], post.docname


def test_real_series_index_and_pages(site: BuiltSite) -> None:
    entries = site.page("series/index.html").select(".kb-series-index .kb-series-item")
    titles = [text(e.select_one(".kb-post-title")) for e in entries]
    assert sorted(titles) == sorted(s.title for s in CONTENT.series.values())
    for series in CONTENT.series.values():
        soup = site.page(f"{series.docname}.html")
        feed = soup.select_one(".kb-series-status a.kb-feed")
        assert feed["href"] == f"../feeds/series/{series.key}.xml"
        listed = [text(t) for t in soup.select(".kb-series-part-list .kb-post-title")]
        assert listed == [p.title for p in series_parts(series.key)]


def badges_by_title(site: BuiltSite, name: str) -> dict[str, str]:
    """Title of each listed post that carries a series badge -> the badge's text."""
    out = {}
    for badge in site.page(name).select("article .kb-series-badge"):
        item = badge.find_parent(class_="kb-post-item") or badge.find_parent("div")
        title = item.select_one(".kb-post-title a, h2 a, a")
        out[text(title)] = text(badge)
    return out


LISTINGS = [
    "index.html",
    "authors/BD.html",
    "blog/tag/inspections.html",
    "blog/category/facilities-and-engineering.html",
]


@pytest.mark.parametrize("name", LISTINGS)
def test_listings_badge_series_posts(site: BuiltSite, name: str) -> None:
    badges = badges_by_title(site, name)
    assert badges, f"{name} shows no series badge"
    for title, badge in badges.items():
        post = next(p for p in CONTENT.published if p.title == title)
        assert badge == f"{CONTENT.series[post.series].title} · Part {post.part}"


def test_series_index_is_linked_from_home(site: BuiltSite) -> None:
    hrefs = {a["href"] for a in site.page("index.html").select("a[href]")}
    assert "series/index.html" in hrefs


def test_readme_documents_series() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Series\n", 1)[1].split("\n## ", 1)[0]  # not "## Series as books"
    for word in ("status:", "parts:", "series:", "part:", "{series}", "{part}", "kb-series-parts"):
        assert word in section, word
    assert textwrap.dedent(section).strip()
