"""Search index, publishing extras and intranet safety of the real site."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from xml.etree import ElementTree as ET

import pytest
from bs4 import BeautifulSoup

from kb import model

from .conftest import ROOT, BuiltSite

CONTENT = model.load(ROOT)
POSTS = CONTENT.published
SITE_URL = "https://kb.qxp.example/"

#: Elements that make the browser fetch something when the page is shown.
LOADING = (("script", "src"), ("img", "src"), ("source", "src"), ("iframe", "src"), ("link", "href"))
CSS_IMPORT = re.compile(r"""@import\s+(?:url\()?\s*['"]?([^'")\s;]+)""")
CSS_URL = re.compile(r"""url\(\s*['"]?([^'")]+)""")


def off_site(url: str) -> bool:
    """A URL that the browser would fetch from another host."""
    return url.startswith("//") or urlsplit(url).scheme in ("http", "https")


def loaded_urls(page: BeautifulSoup) -> list[str]:
    urls = []
    for tag, attribute in LOADING:
        for element in page.find_all(tag):
            if tag == "link" and not {"stylesheet", "preload", "icon", "modulepreload"} & set(element.get("rel", [])):
                continue  # canonical and alternate links are never fetched by the page
            if element.get(attribute):
                urls.append(element[attribute])
    for style in page.find_all("style"):
        urls += CSS_IMPORT.findall(style.get_text()) + CSS_URL.findall(style.get_text())
    return urls


def test_no_page_loads_anything_from_another_host(site: BuiltSite) -> None:
    pages = sorted(site.outdir.rglob("*.html"))
    assert len(pages) > len(POSTS)
    offenders = {}
    for path in pages:
        urls = [u for u in loaded_urls(site.page(str(path.relative_to(site.outdir)))) if off_site(u)]
        if urls:
            offenders[str(path.relative_to(site.outdir))] = urls
    for path in sorted(site.outdir.rglob("*.css")):
        text = path.read_text(encoding="utf-8", errors="replace")
        urls = [u for u in CSS_IMPORT.findall(text) + CSS_URL.findall(text) if off_site(u)]
        if urls:
            offenders[str(path.relative_to(site.outdir))] = urls
    assert offenders == {}


def glossary_entries(site: BuiltSite) -> list[tuple[str, list[str]]]:
    """Each entry of the glossary page as a reader sees it: its anchor and its terms."""
    entries: list[tuple[str, list[str]]] = []
    terms: list[tuple[str, str]] = []
    for element in site.page("glossary.html").select_one("dl.glossary").find_all(["dt", "dd"], recursive=False):
        if element.name == "dt":
            terms.append((element["id"], "".join(element.find_all(string=True, recursive=False)).strip()))
        else:
            entries.append((terms[0][0], [term for _, term in terms]))
            terms = []
    return entries


def index_records(outdir: Path) -> list[dict[str, Any]]:
    """Every record of the search index (Pagefind's fragments), in the index's order, which filters count by."""
    from kb.pagefind_index import read_pagefind

    bundle = outdir / "pagefind"
    (language,) = json.loads((bundle / "pagefind-entry.json").read_text(encoding="utf-8"))["languages"].values()
    records = []
    for name, _words in read_pagefind(bundle / f"pagefind.{language['hash']}.pf_meta")[1]:
        data = gzip.decompress((bundle / "fragment" / f"{name}.pf_fragment").read_bytes())
        records.append(json.loads(data.removeprefix(b"pagefind_dcd")))
    return records


def index_filter(outdir: Path, name: str) -> dict[str, list[int]]:
    """One filter of the search index: each value and the records (their places in :func:`index_records`)."""
    from kb.pagefind_index import read_pagefind

    for path in (outdir / "pagefind" / "filter").iterdir():
        key, values = read_pagefind(path)
        if key == name:
            return dict(values)
    raise AssertionError(f"the index has no filter {name!r}")


def test_search_index_holds_every_post_and_each_glossary_entry_and_nothing_else(site: BuiltSite) -> None:
    expected = len(POSTS) + len(glossary_entries(site))
    assert len(glossary_entries(site)) > 20
    entry = json.loads((site.outdir / "pagefind" / "pagefind-entry.json").read_text(encoding="utf-8"))
    assert sum(language["page_count"] for language in entry["languages"].values()) == expected
    assert f"kb: indexed {expected} pages for search" in site.log
    assert (site.outdir / "pagefind" / "pagefind-ui.js").is_file()
    pages = site.outdir.rglob("*.html")
    bodies = {
        p.relative_to(site.outdir).as_posix() for p in pages if "data-pagefind-body" in p.read_text(encoding="utf-8")
    }
    assert bodies == {f"{p.docname}.html" for p in POSTS}


@pytest.mark.parametrize("post", POSTS[:3], ids=lambda p: p.docname)
def test_post_carries_its_filters_and_sort_key(site: BuiltSite, post: model.Post) -> None:
    page = site.page(f"{post.docname}.html")
    body = page.select_one("[data-pagefind-body]")
    assert body.select_one("h1") is not None
    assert page.select_one('[data-pagefind-meta="title"]').get_text() == post.title
    facets: dict[str, set[str]] = {}
    for element in page.select("[data-pagefind-filter]"):
        facets.setdefault(element["data-pagefind-filter"], set()).add(element.get_text())
    assert facets["author"] == {CONTENT.authors[key].name for key in post.authors}
    assert facets["tag"] == set(post.tags)
    assert facets["practice"] == {post.practice}
    assert facets["year"] == {str(post.date.year)}
    assert facets["kind"] == {"Post"}
    if post.series:
        assert facets["series"] == {CONTENT.series[post.series].title}
    assert page.select_one('[data-pagefind-sort="date"]').get_text() == post.date.date().isoformat()
    # The filters are metadata, not text to search or show in excerpts.
    assert page.select_one(".kb-search-data").has_attr("data-pagefind-ignore")


def test_each_glossary_entry_is_a_result_of_its_own_found_by_any_of_its_terms(site: BuiltSite) -> None:
    """A search for any term of an entry (CAPA, or corrective and preventive action) finds that entry,
    which leads to its anchor on the glossary page; the "kind" filter tells terms from posts."""
    records = index_records(site.outdir)
    by_url = {record["meta"].get("url"): record for record in records}
    glossary = site.page("glossary.html")
    for anchor, terms in glossary_entries(site):
        record = by_url[f"glossary.html#{anchor}"]
        assert glossary.find(id=anchor) is not None
        assert record["meta"]["title"] == " · ".join(terms)
        assert all(term in record["content"] for term in terms), (terms, record["content"][:200])
        assert record["filters"] == {"kind": ["Glossary term"]}
    capa = by_url["glossary.html#term-CAPA"]["content"]
    assert "Corrective and preventive action" in capa and "removes the causes of problems" in capa
    kinds = index_filter(site.outdir, "kind")
    assert sorted(kinds) == ["Glossary term", "Post"]
    terms = {records[index]["meta"]["url"] for index in kinds["Glossary term"]}
    assert terms == {f"glossary.html#{anchor}" for anchor, _ in glossary_entries(site)}
    posts = {records[index]["url"] for index in kinds["Post"]}
    assert posts == {f"/{post.docname}.html" for post in POSTS}


def test_the_review_banner_is_not_a_posts_text_in_search(site: BuiltSite) -> None:
    """A post past its review date shows a banner above its text; search shows the text."""
    due = {f"/{p.docname}.html" for p in POSTS if site.page(f"{p.docname}.html").select_one(".kb-due")}
    assert due, "the test site has no post past its review date"
    for record in index_records(site.outdir):
        if record["url"] in due:
            assert "due for review" not in record["content"].lower(), record["url"]


def test_search_page_explains_it_needs_a_server(site: BuiltSite) -> None:
    page = site.page("search.html")
    assert "file://" in page.select_one("#kb-search-offline").get_text()
    scripts = [s["src"] for s in page.select("script[src]")]
    assert "_static/kb-search.js" in scripts  # it imports pagefind/pagefind.js, over http only
    # Sphinx's index of the whole site is neither built nor loaded by any page.
    assert not (site.outdir / "searchindex.js").exists()
    for path in (site.outdir / "index.html", site.outdir / "search.html", site.outdir / f"{POSTS[0].docname}.html"):
        assert "searchindex.js" not in path.read_text(encoding="utf-8")
    # The header's search box (and Ctrl+K) submits to this page.
    form = site.page("posts/cost-of-quality-worth-every-cent.html").select_one("form.bd-search")
    assert form["action"] == "../search.html"


def test_sitemap_lists_published_pages_only(site: BuiltSite) -> None:
    namespace = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
    root = ET.fromstring((site.outdir / "sitemap.xml").read_text(encoding="utf-8"))
    urls = {loc.text for loc in root.iter(f"{namespace}loc")}
    assert {f"{SITE_URL}{p.docname}.html" for p in POSTS} <= urls
    assert f"{SITE_URL}index.html" in urls
    held = [p for p in CONTENT.posts.values() if not p.published]
    assert not {f"{SITE_URL}{p.docname}.html" for p in held} & urls
    assert f"{SITE_URL}search.html" not in urls
    assert all(url.startswith(SITE_URL) for url in urls)


def test_post_has_open_graph_tags_from_its_summary(site: BuiltSite) -> None:
    post = POSTS[0]
    page = site.page(f"{post.docname}.html")
    og = {m["property"]: m["content"] for m in page.select("meta[property^='og:']")}
    assert og["og:url"] == f"{SITE_URL}{post.docname}.html"
    assert og["og:type"] == "article"
    assert og["og:title"] == post.title
    assert not og["og:description"].startswith("By ")
    assert page.select_one("meta[name=description]")["content"] == og["og:description"]


def test_not_found_page_works_at_any_depth(site: BuiltSite) -> None:
    page = site.page("404.html")
    assert page.select_one("h1").get_text(strip=True) == "Page not found"
    stylesheets = [link["href"] for link in page.select("link[rel=stylesheet]")]
    assert stylesheets
    assert all(href.startswith("/_static/") for href in stylesheets)


def test_code_blocks_get_copy_buttons(site: BuiltSite) -> None:
    page = site.page("index.html")
    assert any("clipboard" in s.get("src", "") for s in page.select("script[src]"))
    assert any("copybutton" in s.get("src", "") for s in page.select("script[src]"))


@pytest.mark.parametrize("failing_step", ["stage", "write_index"])
def test_a_failed_index_is_reported_and_leaves_nothing_behind(
    failing_step: str, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Indexing runs beside the end of the build; its failure still reaches the log."""
    from sphinx.testing.util import SphinxTestApp

    from kb import bench, pagefind_index, search

    def stage(outdir: object, pages: object, folder: Path) -> None:
        (folder / "posts").mkdir(parents=True)
        raise OSError("no room to stage the pages")

    def write_index(bundle: object, staged: object) -> None:
        raise RuntimeError("the indexer stopped")

    monkeypatch.setattr(pagefind_index, failing_step, {"stage": stage, "write_index": write_index}[failing_step])
    corpus = bench.generate(tmp_path_factory.mktemp("failing"), 3)
    app = SphinxTestApp("html", srcdir=corpus.kb, builddir=corpus.kb / "_build")  # type: ignore[arg-type]
    try:
        app.build()
        log = app.warning.getvalue()
    finally:
        app.cleanup()
    reason = "no room to stage the pages" if failing_step == "stage" else "the indexer stopped"
    assert f"search index not built: {reason}" in log
    assert not (app.outdir / search.BUNDLE_DIR / search.INDEXED_FILE).exists()
    assert not list(app.outdir.parent.glob("kb-search-*"))  # the staged pages are removed


def test_pagefind_failing_is_reported_with_its_own_words(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import pagefind.service

    from kb import pagefind_index

    fake = tmp_path / "pagefind"
    fake.write_text("#!/bin/sh\necho 'Running Pagefind'\necho 'Error: no room left' >&2\nexit 3\n", "utf-8")
    fake.chmod(0o755)
    monkeypatch.setattr(pagefind.service, "get_executable", lambda: fake)
    with pytest.raises(RuntimeError, match="pagefind exited with status 3: Error: no room left"):
        pagefind_index.write_index(tmp_path / "bundle", tmp_path)


def test_only_pagefinds_own_files_are_read(tmp_path: Path) -> None:
    """Pagefind's compressed files start with its mark; anything else is refused by name."""
    import gzip

    import cbor2

    from kb.pagefind_index import PAGEFIND_MARK, read_pagefind

    meta = tmp_path / "pagefind.en.pf_meta"
    meta.write_bytes(gzip.compress(PAGEFIND_MARK + cbor2.dumps(["1.5.2", [["en_1234567", 120]]])))
    assert read_pagefind(meta) == ["1.5.2", [["en_1234567", 120]]]
    other = tmp_path / "other.pf_meta"
    other.write_bytes(gzip.compress(cbor2.dumps([])))
    with pytest.raises(ValueError, match=r"other\.pf_meta: not a Pagefind index file"):
        read_pagefind(other)


@pytest.mark.parametrize(
    ("kept", "written", "suspects"),
    [
        ({"en_abcdef1", "en_1234567"}, {"en_7654321"}, set()),  # no two names alike
        ({"en_abcdef1", "en_abcdef12"}, set(), set()),  # alike since the last index: both kept as they were
        ({"en_abcdef1"}, {"en_abcdef12"}, {"en_abcdef1"}),  # alike now: which page holds the short name?
        ({"en_abcdef1", "de_abcdef1"}, {"en_abcdef13"}, {"en_abcdef1"}),  # each language has its own names
    ],
)
def test_kept_fragments_whose_name_another_page_may_now_hold(
    kept: set[str], written: set[str], suspects: set[str]
) -> None:
    from kb.pagefind_index import mistaken

    assert mistaken(kept, written) == suspects


@pytest.mark.parametrize("left", ["unfinished", "by another Pagefind"])
def test_fragments_are_kept_only_from_a_finished_index_of_the_same_pagefind(left: str, tmp_path: Path) -> None:
    """Fragments are kept only from an index that was completed (its marker
    is written last) by the same version of Pagefind."""
    from kb import bench, search

    from .conftest import build

    corpus = bench.generate(tmp_path, 3).kb
    outdir = corpus / "_build" / "html"
    assert build(corpus, outdir).returncode == 0
    bundle = outdir / search.BUNDLE_DIR
    fragments = {path: path.read_bytes() for path in (bundle / "fragment").iterdir()}
    glossary = BeautifulSoup((outdir / "glossary.html").read_text(encoding="utf-8"), "html.parser")
    assert len(fragments) == 3 + len(glossary.select("dl.glossary > dd"))  # the posts and the glossary's entries
    # The fragment of post-00000, which stays as it is (post-00001 changes below).
    damaged = next(path for path, data in fragments.items() if b"post-00000" in gzip.decompress(data))
    damaged.write_bytes(b"cut short")  # as if the last indexing had been stopped, or wrote another format
    if left == "unfinished":
        (bundle / search.INDEXED_FILE).unlink()
    else:
        entry = bundle / "pagefind-entry.json"
        entry.write_text(entry.read_text(encoding="utf-8").replace('"version":"', '"version":"0.'), "utf-8")
        post = corpus / "posts" / "post-00001.md"  # a post changes: the index is no longer current
        post.write_text(post.read_text(encoding="utf-8") + "\nOne more sentence.\n", encoding="utf-8")
    result = build(corpus, outdir)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"kb: indexed {len(fragments)} pages for search" in result.stdout
    now = {path: path.read_bytes() for path in (bundle / "fragment").iterdir()}
    assert len(now) == len(fragments)
    assert now[damaged] == fragments[damaged]
    if left == "unfinished":
        assert now == fragments


@pytest.mark.parametrize(
    ("posts", "terms", "limit", "sizes"),
    [(5, 2, 10, [7]), (10, 3, 5, [4, 4, 5]), (9, 0, 3, [3, 3, 3]), (5, 5, 5, [2, 4, 4]), (0, 3, 2, [1, 2])],
)
def test_a_large_site_is_indexed_in_indexes_of_at_most_the_limit_split_by_date(
    posts: int, terms: int, limit: int, sizes: list[int]
) -> None:
    from kb.glossary import Entry
    from kb.search_parts import BUNDLE_DIR, bundles

    newest_first = [f"posts/{n:02d}" for n in range(posts)]
    entries = [Entry("glossary", f"term-{n}", (f"term {n}",), "a definition") for n in range(terms)]
    parts = bundles(newest_first, entries, limit)
    assert [len(part.posts) + len(part.terms) for part in parts] == sizes
    assert [part.folder for part in parts] == [BUNDLE_DIR, *(f"{BUNDLE_DIR}-{n}" for n in range(2, len(parts) + 1))]
    assert [post for part in parts for post in part.posts] == newest_first  # each a span of dates, in turn
    assert [term for part in parts for term in part.terms] == entries
    if posts >= len(parts):  # an index of terms only would answer a search sorted by date with all of them
        assert all(part.posts for part in parts)


def test_the_indexes_of_a_large_site_are_indexed_again_only_where_pages_changed(tmp_path: Path) -> None:
    """Six posts and the glossary's entries, at most four pages (and the hidden page of the
    site's words) to an index: each post in one index, by date; every index knows every
    word; a post edited is indexed again in its index only, unless it brings a new word,
    which every index must learn; a site grown smaller loses the indexes it no longer needs."""
    from kb import bench, pagefind_index, search
    from kb.search_parts import VOCABULARY_PAGE

    from .conftest import build

    corpus = bench.generate(tmp_path, 6).kb
    outdir = corpus / "_build" / "html"
    words = ("deviat", "qualiti", "audit")
    assert build(corpus, outdir).returncode == 0
    one_index = {word: pagefind_index.found(outdir / search.BUNDLE_DIR, word) for word in words}
    small = ("-D", "kb_search_pages_per_bundle=4")
    result = build(corpus, outdir, *small)
    assert result.returncode == 0, result.stderr[-3000:]
    site = model.load(corpus)
    listed = BeautifulSoup((outdir / "search.html").read_text("utf-8"), "html.parser").select_one("#kb-search")
    folders = [bundle["folder"] for bundle in json.loads(listed["data-bundles"])]
    assert len(folders) >= 3
    held = [json.loads((outdir / folder / search.INDEXED_FILE).read_text("utf-8")) for folder in folders]
    posts = [[doc for doc in documents if doc in site.posts] for documents in held]
    assert sorted(doc for part in posts for doc in part) == sorted(site.posts)
    dates = [site.posts[doc].date for part in posts for doc in part]
    assert dates == sorted(dates, reverse=True)
    counts = [pagefind_index.pages_indexed(outdir / folder) - 1 for folder in folders]  # but the hidden page
    assert all(count <= 4 for count in counts)
    hidden = f"/{VOCABULARY_PAGE}"

    def found(folder: str, word: str) -> list[str]:
        """The pages of index *folder* holding *word*, and whether its hidden page holds it."""
        pages = pagefind_index.found(outdir / folder, word)
        assert hidden in pages, (folder, word)  # every index knows every word of the site
        return [page for page in pages if page != hidden]

    for word in words:  # each page is found in its own index, as one index of them all finds it
        merged = sorted(url for folder in folders for url in found(folder, word))
        assert merged and merged == one_index[word]

    edited = next(doc for part in posts[1:] for doc in part)
    where = next(folder for folder, part in zip(folders, posts, strict=True) if edited in part)
    post = corpus / f"{edited}.md"
    text = post.read_text(encoding="utf-8")
    first_paragraph = text.split("\n---\n", 1)[1].strip().split("\n")[0]

    def edit(added: str) -> set[str]:
        """Add *added* to the post, build; the indexes made again."""
        before = {folder: (outdir / folder / search.INDEXED_FILE).stat().st_mtime_ns for folder in folders}
        post.write_text(post.read_text(encoding="utf-8") + f"\n{added}\n", encoding="utf-8")
        result = build(corpus, outdir, *small)
        assert result.returncode == 0, result.stderr[-3000:]
        assert f"(1 of {len(folders)} indexes, " in result.stdout
        now = {folder: (outdir / folder / search.INDEXED_FILE).stat().st_mtime_ns for folder in folders}
        return {folder for folder in folders if now[folder] != before[folder]}

    assert edit(first_paragraph) == {where}  # no word the site did not have
    assert edit("One more sentence about zanzibar.") == set(folders)
    assert [url for folder in folders for url in found(folder, "zanzibar")] == [f"/{edited}.html"]

    result = build(corpus, outdir)  # one index holds them all again
    assert result.returncode == 0, result.stderr[-3000:]
    assert sorted(path.name for path in outdir.glob("pagefind*")) == [search.BUNDLE_DIR]
    assert pagefind_index.pages_indexed(outdir / search.BUNDLE_DIR) == sum(counts)
    assert hidden not in pagefind_index.found(outdir / search.BUNDLE_DIR, "zanzibar")
