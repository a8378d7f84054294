"""The benchmark's corpus, and each upstream workaround that keeps large sites fast."""

from __future__ import annotations

import pickle
import subprocess
import sys
import types
from typing import TYPE_CHECKING

import pytest
from sphinx.testing.util import SphinxTestApp

from kb import bench, model, upstream

if TYPE_CHECKING:
    from pathlib import Path

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
    assert len(site.authors) == bench.AUTHORS
    assert all(1 <= len(post.tags) <= 4 for post in site.published)
    assert any(post.series for post in site.published)
    for name in corpus.posts:
        body = (corpus.kb / name).read_text(encoding="utf-8").partition("\n---\n")[2]
        assert 600 <= len(body.split()) <= 1000
        assert (corpus.reference / name).read_text(encoding="utf-8") == (corpus.kb / name).read_text(encoding="utf-8")


def test_table_shows_ratios_to_the_reference() -> None:
    figures = {
        "posts": 10,
        "reference": {"full_s": 2.0, "full_cpu_s": 3.0, "noop_s": 1.0, "peak_mb": 100.0, "output_mb": 1.0},
        "kb": {
            "full_s": 4.0,
            "full_cpu_s": 6.0,
            "noop_s": 0.2,
            "edit_s": 0.4,
            "retag_s": 0.4,
            "peak_mb": 150.0,
            "output_mb": 2.0,
            "kb_per_post": 195.3,
            "edit_correct": True,
            "retag_correct": True,
        },
    }
    text = bench.table([figures])
    assert "2.00x" in text  # full build against the reference
    assert "5% full" in text  # no-op rebuild
    assert "correct" in text


def test_sphinx_search_uses_the_compiled_stemmer() -> None:
    """PyStemmer (requirements.txt) replaces the pure-Python stemmer, 12% of a build."""
    from sphinx.search.en import SearchEnglish

    assert type(SearchEnglish({}).stemmer).__module__ == "Stemmer"


def test_excerpt_settings_are_built_once() -> None:
    import ablog.blog

    upstream.ablog_excerpt_settings()
    first, second = ablog.blog.new_document(""), ablog.blog.new_document("")
    assert first.settings is second.settings is upstream.default_settings()


def test_parallel_read_merges_every_post_and_caches_excerpts(corpus: bench.Corpus) -> None:
    """-j 2 really reads in parallel, and ABlog's posts from every reader reach the main environment."""
    app = make_app(corpus.kb, parallel=2)
    try:
        assert app.is_parallel_allowed("read")
        app.build()
        assert app.warning.getvalue() == ""
        posts = {f"posts/{name.rpartition('/')[2][:-3]}" for name in corpus.posts}
        assert set(app.env.ablog_posts) == posts
        # ablog_lean_environment: no copy of the whole post is kept
        records = [info for infos in app.env.ablog_posts.values() for info in infos]
        assert all(info["doctree"] is None for info in records)
        assert all(node.parent is None for info in records for node in info["excerpt"])
        # ablog_excerpt_cache: one rendering per excerpt, not one per page showing it
        import ablog.blog

        post = next(iter(ablog.blog.Blog(app).posts))
        first = post.to_html("blog/tag/alpha")
        assert post.to_html("blog/author/someone") == first
        assert len(app.kb_excerpt_cache) == 1
        upstream.save_excerpt_cache(app, None)  # as at the end of a build
    finally:
        app.cleanup()
    with (app.doctreedir / upstream.EXCERPT_CACHE).open("rb") as stream:
        _, saved = pickle.load(stream)
    assert saved
    assert saved.items() <= app.kb_excerpt_cache.items()

    again = make_app(corpus.kb)
    try:
        assert again.kb_excerpt_cache == saved  # the next build starts from them
    finally:
        again.cleanup()


def test_post_doctrees_are_kept_only_for_ablog_full_text_feeds() -> None:
    import ablog.post

    def app_with(fulltext: bool, handlers: list[object]) -> types.SimpleNamespace:
        listeners = {"html-collect-pages": [types.SimpleNamespace(handler=h) for h in handlers]}
        env = types.SimpleNamespace(docname="p", ablog_posts={"p": [{"excerpt": [], "doctree": "tree"}]})
        return types.SimpleNamespace(
            config=types.SimpleNamespace(blog_feed_fulltext=fulltext),
            events=types.SimpleNamespace(listeners=listeners),
            env=env,
        )

    for fulltext, handlers, kept in (
        (True, [ablog.post.generate_atom_feeds], True),
        (True, [], False),  # kb.feeds replaced ABlog's feeds
        (False, [ablog.post.generate_atom_feeds], False),
    ):
        app = app_with(fulltext, handlers)
        upstream.lighten_post_records(app, None)  # type: ignore[arg-type]
        assert (app.env.ablog_posts["p"][0]["doctree"] is not None) == kept


def test_each_build_starts_with_an_empty_blog(corpus: bench.Corpus, tmp_path: Path) -> None:
    """A second build in the same process does not see the first build's posts."""
    import ablog.blog

    ablog.blog.Blog._dict["kb_stale"] = True
    app = make_app(corpus.kb, builddir=tmp_path)
    try:
        assert "kb_stale" not in ablog.blog.Blog._dict
    finally:
        app.cleanup()


def test_parallel_and_serial_builds_write_the_same_pages(corpus: bench.Corpus, tmp_path: Path) -> None:
    """What the parallel readers found is merged completely: -j 2 and -j 1 give the same site."""
    from .conftest import build
    from .test_incremental import differences, pages

    serial = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "-n", "-j", "1", "-b", "html", str(corpus.kb), str(tmp_path / "serial")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert serial.returncode == 0, serial.stderr[-3000:]
    parallel = build(corpus.kb, tmp_path / "parallel", "-j", "2")
    assert parallel.returncode == 0, parallel.stderr[-3000:]
    assert differences(pages(tmp_path / "parallel"), pages(tmp_path / "serial")) == []


def test_a_few_documents_are_read_in_one_process() -> None:
    app = types.SimpleNamespace(parallel=2)
    upstream.read_few_serially(app, None, ["posts/one"])  # type: ignore[arg-type]
    assert app.parallel == 1
    upstream.restore_parallel(app, None)  # type: ignore[arg-type]
    assert app.parallel == 2
    upstream.read_few_serially(app, None, [f"posts/{n}" for n in range(upstream.SERIAL_READS)])  # type: ignore[arg-type]
    assert app.parallel == 2


def test_compiled_templates_are_kept(corpus: bench.Corpus, tmp_path: Path) -> None:
    app = make_app(corpus.kb, builddir=tmp_path)
    try:
        assert app.builder.templates.environment.bytecode_cache is not None
        app.build()
        assert any((app.doctreedir / upstream.TEMPLATE_CACHE).iterdir())
    finally:
        app.cleanup()
