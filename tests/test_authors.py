"""Authors: profiles, the author index, validation and incremental builds."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from bs4 import BeautifulSoup

from kb import model

from .conftest import ROOT, BuiltSite

if TYPE_CHECKING:
    from collections.abc import Callable

    from sphinx.testing.util import SphinxTestApp

CONTENT = model.load(ROOT)


def page(app: SphinxTestApp, name: str) -> BeautifulSoup:
    return BeautifulSoup((Path(app.outdir) / name).read_text(encoding="utf-8"), "html.parser")


def listed_titles(soup: BeautifulSoup) -> list[str]:
    return [a.get_text(strip=True) for a in soup.select("article .kb-post-title a")]


# -- a small site with a two-author post ----------------------------------------


@pytest.mark.sphinx("html", testroot="authors", freshenv=True)
def test_good_root_builds_without_warnings(app: SphinxTestApp) -> None:
    app.build()
    assert app.warning.getvalue() == ""  # type: ignore[attr-defined]


@pytest.mark.sphinx("html", testroot="authors")
def test_two_author_post_is_on_both_profiles(app: SphinxTestApp) -> None:
    app.build()
    assert listed_titles(page(app, "authors/ZW.html")) == ["A Joint Post: Q&A", "A Comma Post"]
    assert listed_titles(page(app, "authors/AB.html")) == ["A Solo Post", "A Joint Post: Q&A", "A Comma Post"]


@pytest.mark.sphinx("html", testroot="authors")
def test_listings_credit_every_author_in_order(app: SphinxTestApp) -> None:
    app.build()
    items = {
        item.select_one(".kb-post-title").get_text(strip=True): [a.get_text() for a in item.select("a.kb-author")]
        for item in page(app, "authors/ZW.html").select(".kb-post-item")
    }
    assert items == {"A Joint Post: Q&A": ["Zoe Wren", "Anna Berg"], "A Comma Post": ["Anna Berg", "Zoe Wren"]}


@pytest.mark.sphinx("html", testroot="authors")
def test_profile_shows_name_role_bio_links_and_practice(app: SphinxTestApp) -> None:
    app.build()
    article = page(app, "authors/ZW.html").select_one("article")
    assert article.select_one("h1").get_text(strip=True).rstrip("#") == "Zoe Wren"
    head = article.select_one(".kb-profile-head")
    assert head.select_one(".kb-author-role").get_text() == "Lead Auditor"
    assert head.select_one(".kb-author-practice a")["href"] == "../blog/category/quality-systems.html"
    assert head.select_one(".kb-author-expertise").get_text() == "Expertise: Auditing, GMP"
    assert [(a.get_text(), a["href"]) for a in head.select(".kb-author-links a")] == [
        ("Website", "https://example.com/zoe")
    ]
    assert "Zoe Wren writes about audits." in article.get_text()


@pytest.mark.sphinx("html", testroot="authors")
def test_profile_uses_the_photo(app: SphinxTestApp) -> None:
    app.build()
    img = page(app, "authors/ZW.html").select_one(".kb-profile-head img.kb-avatar")
    assert img["src"] == "../_images/avatars/ZW.svg"
    written = (Path(app.outdir) / "_images/avatars/ZW.svg").read_bytes()
    assert written == (Path(app.srcdir) / "authors/zw.svg").read_bytes()


@pytest.mark.sphinx("html", testroot="authors")
def test_profile_without_photo_gets_an_initials_avatar(app: SphinxTestApp) -> None:
    app.build()
    img = page(app, "authors/AB.html").select_one(".kb-profile-head img.kb-avatar")
    svg = BeautifulSoup((Path(app.outdir) / "authors" / img["src"]).read_text(encoding="utf-8"), "html.parser")
    assert svg.select_one("text").get_text() == "AB"
    assert svg.select_one("svg")["aria-label"] == "Anna Berg"


def test_initials_avatar_escapes_the_name() -> None:
    from kb.authors import initials_svg

    author = model.Author("XY", 'X <Y> & "Z"', "Consultant", "authors/XY.md")
    svg = initials_svg(author)
    assert "<Y>" not in svg and "&lt;Y&gt; &amp;" in svg


@pytest.mark.sphinx("html", testroot="authors")
def test_profile_shows_top_tags_and_feed(app: SphinxTestApp) -> None:
    app.build()
    soup = page(app, "authors/AB.html")
    topics = soup.select_one(".kb-author-topics")
    assert [a.get_text() for a in topics.select("a")] == ["GMP", "Training", "Auditing"]
    assert "GMP (2)" in topics.get_text()
    assert topics.select_one("a")["href"] == "../blog/tag/gmp.html"
    feed = soup.select_one(".kb-author-feed a")
    assert feed["href"] == "../feeds/author/AB.xml"
    assert (Path(app.outdir) / "feeds/author/AB.xml").is_file()


@pytest.mark.sphinx("html", testroot="authors")
def test_profile_list_has_series_badge(app: SphinxTestApp) -> None:
    app.build()
    item = page(app, "authors/ZW.html").select(".kb-post-item")[0]
    assert item.select_one(".kb-series-badge").get_text() == "GMP Basics · Part 1"


@pytest.mark.sphinx("html", testroot="authors")
def test_author_without_posts_has_an_empty_profile(app: SphinxTestApp) -> None:
    app.build()
    soup = page(app, "authors/QN.html")
    assert soup.select_one(".kb-empty").get_text() == "No posts yet."
    assert soup.select_one(".kb-author-topics") is None
    assert soup.select_one(".kb-author-role").get_text() == "Consultant"


@pytest.mark.sphinx("html", testroot="authors")
def test_author_index_is_a_card_grid_sorted_by_name(app: SphinxTestApp) -> None:
    app.build()
    cards = page(app, "authors/index.html").select(".kb-author-grid .sd-card")
    seen = [
        (
            card.select_one(".kb-author-name a").get_text(),
            card.select_one(".kb-author-role").get_text(),
            card.select_one(".kb-author-count").get_text(),
            card.select_one(".kb-author-latest a").get_text() if card.select_one(".kb-author-latest") else None,
            card.select_one("img.kb-avatar")["src"],
        )
        for card in cards
    ]
    assert seen == [
        ("Anna Berg", "Trainer", "3 posts", "A Solo Post", "../_images/avatars/AB.svg"),
        ("Quinn Noor", "Consultant", "0 posts", None, "../_images/avatars/QN.svg"),
        ("Zoe Wren", "Lead Auditor", "2 posts", "A Joint Post: Q&A", "../_images/avatars/ZW.svg"),
    ]
    assert cards[0].select_one(".kb-author-name a")["href"] == "AB.html"


@pytest.mark.sphinx("html", testroot="authors")
def test_ablog_writes_no_author_pages_and_links_the_profiles(app: SphinxTestApp) -> None:
    app.build()
    out = Path(app.outdir)
    assert not (out / "blog/author").exists()
    assert not (out / "blog/author.html").exists()
    links = {a["href"] for a in page(app, "blog/tag/gmp.html").select("article a") if "authors/" in a["href"]}
    assert {"../../authors/ZW.html", "../../authors/AB.html"} <= links


# -- errors ------------------------------------------------------------------------

VOCABULARY = """\
tags:
  GMP:
    description: Good manufacturing practice.
practices:
  Quality Systems:
    description: The quality management system.
"""
PROFILE = "---\nname: Mark Roache\n---\n\nBio.\n"


def post(author_line: str) -> str:
    head = ["title: T", "date: 2024-01-01", author_line, "tags: GMP", "practice: Quality Systems"]
    return "---\n" + "".join(f"{line}\n" for line in head if line) + "---\n\nText.\n"


def load(tmp_path: Path, files: dict[str, str]) -> list[str]:
    """Write a site holding *files* (plus a vocabulary and authors/MR.md) and return its problems."""
    files = {"vocabulary.yaml": VOCABULARY, "authors/MR.md": PROFILE, **files}
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return [str(p) for p in model.load(tmp_path).problems]


@pytest.mark.parametrize(
    ("author_line", "expected"),
    [
        ("author: mr", "posts/p.md:4: unknown author 'mr'. Fix: did you mean 'MR'? Keys are case-sensitive"),
        ("author: XY", "posts/p.md:4: unknown author 'XY'. Fix: known values: 'MR'. Or add authors/XY.md"),
        ("author: MRR", "posts/p.md:4: unknown author 'MRR'. Fix: did you mean 'MR'? Or add authors/MRR.md"),
        ("author: Mark Roache", "posts/p.md:4: 'Mark Roache' is a name, not an author key. Fix: write 'MR'"),
        ("author: [MR, mark roache]", "posts/p.md:4: 'mark roache' is a name, not an author key. Fix: write 'MR'"),
        ("author:", "posts/p.md:4: missing 'author'. Fix: add 'author: ...'"),
        ('author: ""', "posts/p.md:4: missing 'author'. Fix: add 'author: ...'"),
        ("author: []", "posts/p.md:4: the post has no author: the list is empty. Fix: author: MR, or [MR, CM]"),
        ("author: [MR, null]", "posts/p.md:4: empty author in the list. Fix: remove it or write an author key"),
        ("author: 'MR,'", "posts/p.md:4: empty author in the list. Fix: remove it or write an author key"),
        (
            "author: {MR: 1}",
            "posts/p.md:4: author must be author key, or list of keys, not a mapping. "
            "Fix: write it as author: MR, or [MR, CM]",
        ),
        ("", "posts/p.md:1: missing 'author'. Fix: add 'author: ...'"),
    ],
    ids=[
        "case",
        "unknown",
        "close",
        "name",
        "name-in-list",
        "null",
        "empty",
        "empty-list",
        "null-in-list",
        "trailing-comma",
        "mapping",
        "no-author",
    ],
)
def test_bad_post_author_is_reported(tmp_path: Path, author_line: str, expected: str) -> None:
    problems = load(tmp_path, {"posts/p.md": post(author_line)})
    assert len(problems) == 1, problems
    assert problems[0].startswith(expected)


def test_author_keys_differing_only_in_case_clash(tmp_path: Path) -> None:
    problems = load(tmp_path, {"authors/mr.md": "---\nname: Someone Else\n---\n"})
    assert problems == [
        "authors/mr.md:1: author key 'mr' clashes with 'authors/MR.md': keys must differ in more than case "
        "or punctuation. Fix: rename one of the two files, or merge them"
    ]


def test_author_keys_with_the_same_slug_clash(tmp_path: Path) -> None:
    problems = load(tmp_path, {"authors/M.R.md": "---\nname: Someone Else\n---\n"})
    assert problems == [
        "authors/MR.md:1: author key 'MR' clashes with 'authors/M.R.md': keys must differ in more than case "
        "or punctuation. Fix: rename one of the two files, or merge them"
    ]


def test_profile_without_name_is_reported_and_posts_say_why(tmp_path: Path) -> None:
    problems = load(tmp_path, {"authors/NN.md": "---\nrole: Consultant\n---\n", "posts/p.md": post("author: NN")})
    assert problems == [
        "authors/NN.md:1: missing 'name'. Fix: add 'name: ...' (full name as it should be printed)",
        "posts/p.md:4: author 'NN' has no valid profile. Fix: fix the problems reported for authors/NN.md",
    ]


def test_every_bad_file_is_reported_in_one_run(tmp_path: Path) -> None:
    problems = load(
        tmp_path,
        {
            "authors/mr.md": "---\nname: Someone Else\n---\n",
            "authors/NN.md": "---\nrole: Consultant\n---\n",
            "posts/a.md": post("author: mr"),
            "posts/b.md": post("author: Mark Roache"),
            "posts/c.md": post("author: []"),
            "posts/d.md": post(""),
        },
    )
    assert [p.split(":")[0] for p in problems] == [
        "authors/NN.md",
        "authors/mr.md",
        "posts/a.md",
        "posts/b.md",
        "posts/c.md",
        "posts/d.md",
    ]


@pytest.mark.sphinx("html", testroot="authors-bad", freshenv=True)
def test_build_reports_author_errors_with_file_and_line(app: SphinxTestApp) -> None:
    app.build()
    warnings = app.warning.getvalue()  # type: ignore[attr-defined]
    src = Path(app.srcdir)
    expected = [
        f"{src / 'posts/case.md'}:4: WARNING: unknown author 'zw' (did you mean 'ZW'? Keys are case-sensitive)",
        f"{src / 'posts/name.md'}:4: WARNING: 'Zoe Wren' is a name, not an author key (write 'ZW') [kb.content]",
        f"{src / 'posts/none.md'}:1: WARNING: missing 'author'",
        f"{src / 'authors/zw.md'}:1: WARNING: author key 'zw' clashes with 'authors/ZW.md'",
        f"{src / 'authors/NN.md'}:1: WARNING: missing 'name'",
    ]
    for line in expected:
        assert line in warnings
    assert "Traceback" not in warnings
    assert (Path(app.outdir) / "posts/case.html").is_file()


# -- incremental builds --------------------------------------------------------------


def build_again(srcdir: Path) -> Path:
    """Build *srcdir* as ``make html`` does: a new process, keeping the previous build."""
    outdir = srcdir / "_build/html"
    command = [sys.executable, "-m", "sphinx", "-W", "-n", "--keep-going", "-b", "html", str(srcdir), str(outdir)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    return outdir


def read(outdir: Path, name: str) -> BeautifulSoup:
    return BeautifulSoup((outdir / name).read_text(encoding="utf-8"), "html.parser")


def test_edits_to_authors_reach_every_page_without_a_clean_build(rootdir: Path, tmp_path: Path) -> None:
    srcdir = tmp_path / "site"
    shutil.copytree(rootdir / "test-authors", srcdir)
    out = build_again(srcdir)
    card = read(out, "authors/index.html").select(".kb-author-grid .sd-card")[0]
    assert card.select_one(".kb-author-role").get_text() == "Trainer"

    # A profile's role changes: the cards on the author index and the home page follow.
    profile = srcdir / "authors/AB.md"
    profile.write_text(profile.read_text().replace("role: Trainer", "role: Head of Training"))
    out = build_again(srcdir)
    for name in ("authors/index.html", "index.html"):
        card = read(out, name).select(".kb-author-grid .sd-card")[0]
        assert card.select_one(".kb-author-role").get_text() == "Head of Training", name

    # A profile's name changes: bylines and both authors' lists follow.
    profile.write_text(profile.read_text().replace("Anna Berg", "Anna Bergman"))
    out = build_again(srcdir)
    byline = read(out, "posts/joint.html").select_one(".kb-byline").get_text(" ", strip=True)
    assert "Zoe Wren and Anna Bergman" in byline
    assert "Anna Bergman" in read(out, "authors/ZW.html").select_one(".kb-post-list").get_text()

    # A post changes author: it leaves one profile and joins the other, everywhere.
    solo = srcdir / "posts/solo.md"
    solo.write_text(solo.read_text().replace("author: AB", "author: ZW"))
    out = build_again(srcdir)
    assert "A Solo Post" in listed_titles(read(out, "authors/ZW.html"))
    assert "A Solo Post" not in listed_titles(read(out, "authors/AB.html"))
    counts = [c.get_text() for c in read(out, "authors/index.html").select(".kb-author-count")]
    assert counts == ["2 posts", "0 posts", "3 posts"]
    assert "Zoe Wren" in read(out, "posts/solo.html").select_one(".kb-byline").get_text()
    assert "A Solo Post" in (out / "feeds/author/ZW.xml").read_text(encoding="utf-8")
    assert "A Solo Post" not in (out / "feeds/author/AB.xml").read_text(encoding="utf-8")


# -- the real site -----------------------------------------------------------------


@pytest.mark.parametrize("author", CONTENT.authors.values(), ids=lambda a: a.key)
def test_real_author_has_a_profile_with_avatar_and_feed(site: BuiltSite, author: model.Author) -> None:
    soup = site.page(f"authors/{author.key}.html")
    assert soup.select_one("article h1").get_text(strip=True).rstrip("#") == author.name
    img = soup.select_one(".kb-profile-head img.kb-avatar")
    assert (site.outdir / "authors" / img["src"]).is_file()
    assert soup.select_one(".kb-author-feed a")["href"] == f"../feeds/author/{author.key}.xml"


def test_real_author_index_has_a_card_per_author(site: BuiltSite) -> None:
    names = [a.get_text() for a in site.page("authors/index.html").select(".kb-author-grid .kb-author-name a")]
    assert names == sorted((a.name for a in CONTENT.authors.values()), key=model.fold)


def test_real_site_has_no_ablog_author_pages(site: BuiltSite) -> None:
    assert not (site.outdir / "blog/author").exists()


def test_post_without_date_is_reported_and_left_out_of_listings(tmp_path: Path) -> None:
    undated = post("author: MR").replace("date: 2024-01-01\n", "")
    problems = load(tmp_path, {"posts/p.md": undated, "posts/q.md": post("author: MR")})
    assert len(problems) == 1
    assert problems[0].startswith("posts/p.md:1: missing 'date'.")
    assert [p.docname for p in model.load(tmp_path).published] == ["posts/q"]


def test_each_build_in_a_process_gets_its_own_ablog_state(
    make_app: Callable[..., SphinxTestApp], rootdir: Path, tmp_path: Path
) -> None:
    """ABlog's shared state would otherwise carry the first site's posts into the second."""
    for name in ("test-authors-bad", "test-authors"):
        shutil.copytree(rootdir / name, tmp_path / name)
        app = make_app("html", srcdir=tmp_path / name)
        app.build()
    titles = [a.get_text() for a in page(app, "blog/tag/gmp.html").select(".kb-post-title a")]
    assert titles == ["A Solo Post", "A Joint Post: Q&A"]
    assert not (Path(app.outdir) / "blog/author").exists()


def test_real_authors_page_lists_authors_by_name(site: BuiltSite) -> None:
    # No page has a left sidebar (conf.py html_sidebars): the page's cards are its list.
    cards = site.page("authors/index.html").select(".kb-author-card .kb-author-name a")
    names = [a.get_text(strip=True) for a in cards]
    assert names == sorted((a.name for a in CONTENT.authors.values()), key=model.fold)
