"""Listings: which pages a changed post rewrites (the named record of what
pages show of it), and listings in pages of ``kb_posts_per_page`` posts."""

from __future__ import annotations

import dataclasses
import posixpath
import types
import urllib.parse
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from bs4 import BeautifulSoup

from kb import bench, listings, model, paging, rules

from .conftest import build

if TYPE_CHECKING:
    from sphinx.testing.util import SphinxTestApp


def environment(site: model.Site, links: dict[str, list[str]]) -> tuple[types.SimpleNamespace, types.SimpleNamespace]:
    """A build's ``(app, env)``, as much of them as ``kb.listings`` reads."""
    posts = {p.docname: {"excerpt": f"First paragraph of {p.title}.", "words": 500} for p in site.published}
    listed = {"index": ["*"], **{a.docname: [f"author:{a.key}"] for a in site.authors.values()}}
    domain = types.SimpleNamespace(posts=posts, listings=listed, per_build=lambda name, make: make(site))
    env = types.SimpleNamespace(kb_site=site, domains={"kb": domain}, all_docs={*site.posts, *listed})
    app = types.SimpleNamespace(builder=types.SimpleNamespace(name="html"), kb_links=links)
    return app, env


def test_a_new_first_paragraph_rewrites_the_post_and_the_listings_that_link_to_it(tmp_path: Path) -> None:
    site = model.load(bench.generate(tmp_path, 12).kb)
    post, other = site.published[0], site.published[1]
    author = site.authors[post.authors[0]].docname
    app, env = environment(site, {author: [post.docname], other.docname: [post.docname], "index": []})
    assert listings.on_env_get_updated(app, env) == []  # the first build writes every page
    assert listings.on_env_get_updated(app, env) == []  # nothing changed
    env.domains["kb"].posts[post.docname]["excerpt"] = "Another first paragraph."
    # The other post links to it without its excerpt (related posts): it is left alone.
    assert listings.on_env_get_updated(app, env) == sorted({post.docname, author})
    record = env.kb_listed[post.docname]
    assert record.excerpt == "Another first paragraph." and record.version == listings.Listed.VERSION
    moved = dataclasses.replace(record, tags=("Auditing",))
    assert record.same_but(moved, frozenset({"tags"})) and record.placement != moved.placement


def test_records_kept_by_another_version_rewrite_every_page_that_shows_posts(tmp_path: Path) -> None:
    site = model.load(bench.generate(tmp_path, 12).kb)
    app, env = environment(site, {})
    listings.on_env_get_updated(app, env)
    # As an older version kept them: a tuple per post, read by position.
    env.kb_listed = {d: tuple(dataclasses.astuple(r)[:13]) for d, r in env.kb_listed.items()}
    pages = set(listings.on_env_get_updated(app, env))
    assert pages == {p.docname for p in site.published} | set(env.domains["kb"].listings)
    assert listings.on_env_get_updated(app, env) == []  # now kept as records of this version


# -- pages of a listing -------------------------------------------------------------


def test_a_listing_is_split_into_pages_below_its_first_address() -> None:
    pages = paging.pages_of("blog/tag/gmp", 5, 2)
    assert [p.name for p in pages] == ["blog/tag/gmp", "blog/tag/gmp/page/2", "blog/tag/gmp/page/3"]
    posts = list("abcde")
    assert [p.of(posts) for p in pages] == [["a", "b"], ["c", "d"], ["e"]]
    assert {(p.count, p.total) for p in pages} == {(3, 5)}
    # A listing of no posts, or of exactly one page, has one page and no pager.
    assert [p.name for p in paging.pages_of("authors/MR", 0, 2)] == ["authors/MR"]
    assert [p.of(posts[:2]) for p in paging.pages_of("authors/MR", 2, 2)] == [["a", "b"]]
    assert paging.pager(types.SimpleNamespace(), paging.pages_of("authors/MR", 2, 2)[0]) is None


@pytest.mark.parametrize("count", [2, 3, 7, 16, 40])
def test_the_pager_shows_the_ends_and_the_pages_near_the_current_one(count: int) -> None:
    for current in range(1, count + 1):
        shown = paging.shown_numbers(current, count)
        numbers = [n for n in shown if n is not None]
        assert numbers == sorted(set(numbers))
        near = range(max(1, current - paging.AROUND), min(count, current + paging.AROUND) + 1)
        assert {1, count, *near} <= set(numbers)
        # A gap stands for two pages or more, never for one that could be shown instead.
        for index, number in enumerate(shown):
            if number is None:
                assert shown[index + 1] - shown[index - 1] > 2
                assert None not in (shown[index - 1], shown[index + 1])


@pytest.mark.parametrize("name", ["kb_posts_per_page", "kb_posts_per_entry", "kb_search_pages_per_bundle"])
@pytest.mark.parametrize("value", [0, -3, "50", 2.5, True, None])
def test_a_wrong_count_is_a_problem_at_its_line_of_conf_py(tmp_path: Path, name: str, value: object) -> None:
    (tmp_path / "conf.py").write_text(f'project = "x"\n\n{name} = {value!r}\n', encoding="utf-8")
    settings = rules.Settings.of({name: value})
    [problem] = rules.check_settings(tmp_path, settings)
    assert (problem.path, problem.line) == ("conf.py", 3)
    assert problem.message.startswith(f"{name} = {value!r}") and "at least 1" in problem.fix
    assert rules.check_settings(tmp_path, rules.Settings.of({name: 7})) == []
    assert rules.check_settings(tmp_path, rules.Settings.of({})) == []  # the default


def soup_of(app: SphinxTestApp, name: str) -> BeautifulSoup:
    return BeautifulSoup((Path(app.outdir) / f"{name}.html").read_text(encoding="utf-8"), "html.parser")


def walk(app: SphinxTestApp, first: str) -> list[tuple[str, BeautifulSoup]]:
    """Every page of the listing at *first*, by following each page's "Next"."""
    name, walked = first, []
    while True:
        soup = soup_of(app, name)
        walked.append((name, soup))
        following = soup.select_one(".kb-pager a[rel=next]")
        if following is None:
            return walked
        assert len(walked) < 20, [n for n, _ in walked]
        name = posixpath.normpath(posixpath.join(posixpath.dirname(name), following["href"])).removesuffix(".html")


def head_feeds(soup: BeautifulSoup) -> list[str]:
    return [link["title"] for link in soup.select('head link[rel=alternate][type="application/atom+xml"]')]


def head_link(soup: BeautifulSoup, rel: str) -> str | None:
    found = soup.select(f"head link[rel={rel}]")
    assert len(found) <= 1, found
    return found[0]["href"] if found else None


@pytest.mark.sphinx("html", testroot="tags", confoverrides={"kb_posts_per_page": 2}, freshenv=True)
def test_every_listing_shows_each_of_its_posts_once_over_its_pages(app: SphinxTestApp) -> None:
    app.build()
    assert app.warning.getvalue() == ""
    site = app.env.kb_site
    titles = {p.docname: p.title for p in site.published}
    expected = {
        "blog/tag/alpha": listings.select(site, {"tag": "Alpha"}),
        "blog/category/practice-one": listings.select(site, {"practice": "Practice One"}),
        "authors/AA": listings.select(site, {"author": "AA"}),
        "blog/archive": site.published,
    }
    for first, posts in expected.items():
        pages = walk(app, first)
        assert [name for name, _ in pages] == [first] + [f"{first}/page/{n}" for n in range(2, len(pages) + 1)]
        assert len(pages) == -(-len(posts) // 2) > 1, first
        seen = []
        for number, (name, soup) in enumerate(pages, 1):
            if first == "blog/archive":
                shown = [a.get_text() for a in soup.select(".kb-catalog-posts a")]
            else:
                shown = [a.get_text() for a in soup.select(".kb-post-list .kb-post-title a")]
            assert 1 <= len(shown) <= 2, name
            seen += shown
            nav = soup.select_one("nav.kb-pager")
            assert nav["aria-label"]
            current = nav.select('[aria-current="page"]')
            assert [a.get_text() for a in current] == [str(number)]
            # The head names the same neighbours as the pager.
            pager_prev, pager_next = (nav.select_one(f"a[rel={rel}]") for rel in ("prev", "next"))
            assert head_link(soup, "prev") == (pager_prev["href"] if pager_prev else None)
            assert head_link(soup, "next") == (pager_next["href"] if pager_next else None)
            assert (pager_prev is None) == (number == 1) and (pager_next is None) == (number == len(pages))
            # Every page announces the listing's feeds.
            assert head_feeds(soup) == head_feeds(pages[0][1])
            # Listings are not search results, on any of their pages.
            assert soup.select("[data-pagefind-body]") == []
        assert seen == [titles[p.docname] for p in posts], first
    assert soup_of(app, site.published[0].docname).select("[data-pagefind-body]"), "posts are indexed"
    # The profile is the first page of the author's posts; its further pages sit below the authors, as it does.
    profile = soup_of(app, "authors/AA")
    assert profile.select_one(".kb-profile-head") is not None
    assert len(profile.select(".kb-post-list .kb-post-item")) == 2
    assert soup_of(app, "authors/AA/page/2").select_one('.related a[href="../../index.html"]').get_text() == "Authors"


# -- lists under a glossary entry or a cited regulation --------------------------


def entry_lists(outdir: Path) -> dict[str, tuple[list[str], str]]:
    """Each glossary entry's and cited regulation's posts: (titles listed, what stands for the rest)."""
    found = {}
    glossary = BeautifulSoup((outdir / "glossary.html").read_text(encoding="utf-8"), "html.parser")
    for para in glossary.select(".kb-term-posts"):
        terms = []  # an entry is its terms (a name and its aliases), then their definition
        node = para.find_parent("dd").find_previous_sibling()
        while node is not None and node.name == "dt":
            terms.insert(0, "".join(node.find_all(string=True, recursive=False)).strip())
            node = node.find_previous_sibling()
        more = para.select_one(".kb-more-posts")
        links = [a for a in para.select("a") if not (more and a in more.select("a"))]
        found[f"term {terms[0]}"] = ([a.get_text() for a in links], str(more or ""))
    regulations = BeautifulSoup((outdir / "regulations.html").read_text(encoding="utf-8"), "html.parser")
    for citing in regulations.select(".kb-regulation-posts"):
        document = citing.find_previous_sibling("p").strong.get_text()
        more = citing.select_one(".kb-more-posts")
        titles = [li.a.get_text() for li in citing.select("li") if not li.select_one(".kb-more-posts")]
        found[f"regulation {document}"] = (titles, str(more or ""))
    return found


def test_glossary_entries_and_regulations_list_their_newest_posts_and_count_the_rest(tmp_path: Path) -> None:
    src, bound = bench.generate(tmp_path, 12).kb, 1
    every = entry_lists(build_site(src, tmp_path / "every", "kb_posts_per_entry=100"))
    bounded = entry_lists(build_site(src, tmp_path / "bounded", f"kb_posts_per_entry={bound}"))
    assert every.keys() == bounded.keys()
    for kind in ("term", "regulation"):  # the corpus has entries of both kinds to bound
        assert any(entry.startswith(kind) and len(titles) > bound for entry, (titles, _) in every.items()), kind
    for entry, (titles, more) in every.items():
        assert more == ""
        shown, rest = bounded[entry]
        assert shown == titles[:bound], entry  # the newest, in the same order
        if len(titles) <= bound:
            assert rest == "", entry
            continue
        link = BeautifulSoup(rest, "html.parser").a
        kind, _, name = entry.partition(" ")
        assert f"and {len(titles) - bound} more" in rest, entry
        if kind == "term":  # the words of the term; a regulation, exactly: search's filter of the document
            expected = (f"search.html?q={urllib.parse.quote(name)}", f"search for “{name}”")
        else:
            address = urllib.parse.quote(f"regulation:{name}", safe="")
            expected = (f"search.html?filter={address}", f"every post citing {name}")
        assert (link["href"], link.get_text()) == expected, entry


def build_site(src: Path, outdir: Path, setting: str) -> Path:
    result = build(src, outdir, "-D", setting)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return outdir
