"""The benchmark's corpus and table, and the listings that keep large sites fast."""

from __future__ import annotations

import collections
import posixpath
import re
import types
from pathlib import Path

import pytest
from sphinx.testing.util import SphinxTestApp

from kb import bench, model

POSTS = 12


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> bench.Corpus:
    return bench.generate(tmp_path_factory.mktemp("bench"), POSTS)


def make_app(srcdir: Path, builddir: Path | None = None, **kwargs: object) -> SphinxTestApp:
    return SphinxTestApp("html", srcdir=srcdir, builddir=builddir or srcdir / "_build", **kwargs)  # type: ignore[arg-type]


def test_corpus_is_valid_and_realistic(corpus: bench.Corpus) -> None:
    site = model.load(corpus.kb)
    assert site.problems == []
    assert len(site.published) == POSTS
    assert len(site.authors) == bench.corpus.AUTHORS
    assert len(site.tags) >= 60
    assert any(post.series for post in site.published)
    for name in corpus.posts:
        body = (corpus.kb / name).read_text(encoding="utf-8").partition("\n---\n")[2]
        assert 600 <= len(body.split()) <= 1000
        assert (corpus.reference / name).read_text(encoding="utf-8") == (corpus.kb / name).read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def larger(tmp_path_factory: pytest.TempPathFactory) -> bench.Corpus:
    return bench.generate(tmp_path_factory.mktemp("bench"), 300)


def test_corpus_has_the_mix_of_the_real_posts(larger: bench.Corpus) -> None:
    """Across the corpus, posts use every kind of block and link the real posts use."""
    site = model.load(larger.kb)
    assert site.problems == []
    texts = [(larger.kb / name).read_text(encoding="utf-8") for name in larger.posts]
    every = "\n".join(texts)
    for markup in ("```{note}", "| --- |", "::::{tab-set}", "::::{grid}", "```{figure} figures/", "**", "](https://"):
        assert markup in every, markup
    assert len(set(re.findall(r"^```(python|yaml|json|bash|sql)$", every, re.M))) >= 3
    for role in ("doc", "post", "part", "author", "series", "term", "cfr", "eu-gmp", "ich"):
        assert f"{{{role}}}`" in every, role
    assert {len(post.tags) for post in site.published} == set(range(1, 9))
    assert max(len(post.authors) for post in site.published) > 1
    parts = collections.Counter(post.series for post in site.published if post.series)
    assert min(parts.values()) >= 2 and max(parts.values()) <= 10 and len(set(parts.values())) > 3
    for text in texts:
        assert 600 <= len(text.partition("\n---\n")[2].split()) <= 1000


def test_corpus_cites_only_what_the_site_accepts() -> None:
    from kb import citations

    for written in bench.corpus.known_citations():
        role, text = re.fullmatch(r"\{(.+)\}`(.+)`", written).groups()  # type: ignore[union-attr]
        assert isinstance(citations.parse(role, text, citations.DEFAULT_CITATIONS), citations.Citation), written
    assert "CAPA" in bench.corpus.glossary_terms(bench.corpus.ROOT / "glossary.md")


def test_reference_builds_the_same_posts_with_stand_ins_for_our_roles(corpus: bench.Corpus) -> None:
    """The reference resolves the site's own roles too (no warning, no error message in a page)."""
    from bs4 import BeautifulSoup

    app = make_app(corpus.reference, builddir=corpus.reference / "_build-test")
    try:
        app.build()
        warnings = app.warning.getvalue()
    finally:
        app.cleanup()
    assert warnings == ""
    pages = [
        BeautifulSoup((app.outdir / name).with_suffix(".html").read_text(encoding="utf-8"), "html.parser")
        for name in corpus.posts
    ]
    links = {a["href"].partition("#")[0] for page in pages for a in page.select("a.reference.internal")}
    assert {"../glossary.html", "../index.html"} <= links
    assert any(re.fullmatch(r"post-\d{5}\.html", link) for link in links)
    official = ("https://www.ecfr.gov", "https://health.ec.europa.eu", "https://www.ich.org")
    assert any(a["href"].startswith(official) for page in pages for a in page.select("a.reference.external"))
    assert not any(page.select(".problematic, .system-message") for page in pages)


def figures_of(size: int, full_s: float, reference_s: float) -> dict[str, object]:
    """What :func:`kb.bench.measure` reports for one size, with the given full-build times."""
    return {
        "posts": size,
        "reference": {
            "full_s": reference_s,
            "full_cpu_s": 1.5 * reference_s,
            "noop_s": 1.0,
            "peak_mb": 100.0,
            "output_mb": 1.0,
            "largest_page": "index.html",
            "largest_page_kb": 12.0,
        },
        "kb": {
            "full_s": full_s,
            "full_cpu_s": 1.5 * full_s,
            "noop_s": 0.2,
            "edit_s": 0.4,
            "retag_s": 0.4,
            "history_s": 0.8,
            "history_noop_s": 0.0,
            "peak_mb": 150.0,
            "output_mb": 2.0,
            "kb_per_post": 195.3,
            "largest_page": "glossary.html",
            "largest_page_kb": 900.0,
            "edit_correct": True,
            "retag_correct": True,
        },
    }


def test_table_shows_ratios_to_the_reference() -> None:
    figures = figures_of(10, 4.0, 2.0)
    text = bench.table([figures])
    assert "2.00x" in text  # full build against the reference
    assert "5% full" in text  # no-op rebuild
    assert "20% full" in text  # reading the history after a new commit
    assert "correct" in text
    assert re.search(r"largest page \(KB\) +900\.0 +12\.0", text)
    assert "largest page             glossary.html (reference: index.html)" in text
    assert "make check" not in text.split("targets:")[0]
    figures["check"] = {"seconds": 3.25, "cpu_s": 3.0, "ok": True}
    preview = {"ok": True, "seconds": [1.25, 1.5, 1.0], "median_s": 1.25, "rebuilds_per_save": 1.0}
    corpus = {**preview, "site": "2000 posts", "search_seconds": [2.5, 3.0, 3.5], "search_median_s": 3.0}
    corpus |= {"reload_seconds": [1.5, 2.0, 2.5], "reload_median_s": 2.0}
    text = bench.table([figures], (preview, corpus, {"ok": False, "site": "2000 posts"}))
    assert re.search(r"make check \(s\) +3\.2", text)
    assert "real site: save a post -> page shows it: median 1.25 s (1.25, 1.50, 1.00); 1.0 rebuilds per save" in text
    assert "2000 posts: save a post -> page shows it: median 1.25 s (1.25, 1.50, 1.00); browser reloads" in text
    assert "(1.25, 1.50, 1.00); browser reloads: median 2.00 s (1.50, 2.00, 2.50); search finds it" in text
    assert "search finds it: median 3.00 s (2.50, 3.00, 3.50); 1.0 rebuilds per save" in text
    assert "make serve, 2000 posts: the preview did not show the edit" in text


def test_cost_per_post_is_compared_with_the_smallest_size_of_at_least_1000() -> None:
    sizes = [figures_of(100, 1.0, 1.0), figures_of(1000, 20.0, 20.0), figures_of(2000, 44.0, 40.0)]
    rows = [line for line in bench.table(sizes).splitlines() if "full build per post" in line]
    assert re.search(r"^  100  full build per post \(ms\) +10\.0 +10\.0 +0\.50x 1000$", rows[0])
    assert re.search(r"^ 1000  full build per post \(ms\) +20\.0 +20\.0 +1\.00x 1000$", rows[1])
    assert re.search(r"^ 2000  full build per post \(ms\) +22\.0 +20\.0 +1\.10x 1000$", rows[2])
    alone = bench.table([figures_of(100, 1.0, 1.0)])
    assert re.search(r"full build per post \(ms\) +10\.0 +10\.0 *$", alone, re.M)  # no size to compare with


def test_make_check_runs_on_the_corpus(corpus: bench.Corpus) -> None:
    run = bench.check_run(corpus.kb)
    assert run.ok, run.log
    assert f"checked {POSTS} posts" in run.log


def test_history_is_read_once_per_commit(tmp_path: Path) -> None:
    source = tmp_path / "corpus"
    (source / "posts").mkdir(parents=True)
    for name in ("a", "b"):
        (source / "posts" / f"{name}.md").write_text("text\n", encoding="utf-8")
    figures = bench.measure_history(source)
    assert set(figures) == {"history_s", "history_noop_s"}
    assert (source / "_build" / "history.pickle").is_file(), "the second read came from the cache"


def test_links_between_pages_are_worked_out_once_per_folder() -> None:
    from sphinx.util.osutil import relative_uri

    from kb import render

    asked: list[tuple[str, str]] = []

    def get_relative_uri(fromdoc: str, todoc: str) -> str:
        asked.append((fromdoc, todoc))
        return relative_uri(f"{fromdoc}.html", f"{todoc}.html")

    builder = types.SimpleNamespace(name="html", get_relative_uri=get_relative_uri)
    for fromdoc in ("posts/a", "posts/b", "authors/MR", "posts/a"):
        for todoc in ("posts/a", "posts/a/notes", "blog/tag/gmp", "index"):
            expected = relative_uri(f"{fromdoc}.html", f"{todoc}.html")
            assert render.relative(builder, fromdoc, todoc) == expected  # type: ignore[arg-type]
    # posts/a: 4 targets; posts/b: only posts/a is new for the folder; authors/MR: 4;
    # posts/a again: only the link to itself, which is never cached.
    assert len(asked) == 4 + 1 + 4 + 1
    builder.name = "dirhtml"  # every document a folder of its own: never cached
    render.relative(builder, "posts/a", "index")  # type: ignore[arg-type]
    render.relative(builder, "posts/a", "index")  # type: ignore[arg-type]
    assert len(asked) == 12


def test_posts_listed_once_link_where_sphinx_links_from_each_page(
    corpus: bench.Corpus, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A listed post is rendered once and placed on every page that lists it: each
    of its links leads where Sphinx's own relative link from that page leads."""
    from sphinx.util.osutil import relative_uri

    from kb import render, tags

    from .test_incremental import differences, pages

    def build(outdir: Path) -> dict[str, str]:
        app = make_app(corpus.kb, builddir=outdir)
        try:
            app.build()
        finally:
            app.cleanup()
        return pages(outdir / "html")

    def without_description(found: dict[str, str]) -> dict[str, str]:
        # sphinxext-opengraph describes a page by its text nodes, and a kept item is HTML.
        return {name: re.sub(r'<meta [^>]*description" content="[^"]*" />', "", text) for name, text in found.items()}

    def resolved(found: dict[str, str]) -> dict[str, str]:
        """Every relative link of every page written as the file it leads to."""

        def page(name: str, text: str) -> str:
            def target(link: re.Match[str]) -> str:
                return f'href="/{posixpath.normpath(posixpath.join(posixpath.dirname(name), link[1]))}"'

            return re.sub(r'href="([\w./-]+\.html)"', target, text)

        return {name: page(name, text) for name, text in found.items()}

    def rendered_on_each_page(env: object, builder: object, fromdoc: str, post: model.Post, form: object = None) -> str:
        def uri(docname: str) -> str:  # as Sphinx links (a page's own address: its file name)
            source, target = builder.get_target_uri(fromdoc), builder.get_target_uri(docname)  # type: ignore[attr-defined]
            return relative_uri(source, target) or posixpath.basename(target)

        return render.render_item(builder, post, form or render.ITEM, uri)  # type: ignore[arg-type]

    kept = build(tmp_path / "kept")
    monkeypatch.setattr(render, "listed_html", rendered_on_each_page)
    monkeypatch.setattr(tags, "listed_html", rendered_on_each_page)
    each = build(tmp_path / "each")
    assert differences(without_description(resolved(kept)), without_description(resolved(each))) == []
    assert kept != each  # the same pages, linked from the root rather than from the folder
    assert "\x00" not in "".join(kept.values())
    profiles = {name.removeprefix("authors/"): text for name, text in kept.items() if name.startswith("authors/A")}
    assert any(f'class="kb-author reference internal" href="../authors/{name}"' in t for name, t in profiles.items())
