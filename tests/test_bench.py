"""The benchmark's corpus, and each upstream workaround that keeps large sites fast."""

from __future__ import annotations

import re
import subprocess
import sys
import types
from pathlib import Path

import pytest
from sphinx.testing.util import SphinxTestApp

from kb import bench, model, upstream

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
            "history_s": 0.8,
            "history_noop_s": 0.0,
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
    assert "20% full" in text  # reading the history after a new commit
    assert "correct" in text
    assert "make check" not in text.split("targets:")[0]
    figures["check"] = {"seconds": 3.25, "cpu_s": 3.0, "ok": True}
    preview = {"ok": True, "seconds": [1.25, 1.5, 1.0], "median_s": 1.25, "rebuilds_per_save": 1.0}
    text = bench.table([figures], preview)
    assert re.search(r"make check \(s\) +3\.2", text)
    assert "save a post -> page shows it: median 1.25 s (1.25, 1.50, 1.00); 1.0 rebuilds per save" in text


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


def test_build_key_looks_for_the_newest_template_once_per_build() -> None:
    """Every feed and ABlog page is keyed on it; finding the newest template walks every template folder."""
    walks: list[int] = []
    templates = types.SimpleNamespace(newest_template_mtime=lambda: walks.append(1) or 1700000000.0)
    builder = types.SimpleNamespace(build_info=None, templates=templates)
    app = types.SimpleNamespace(builder=builder)
    assert upstream.build_key(app) == upstream.build_key(app)  # type: ignore[arg-type]
    assert len(walks) == 1
    app.builder = types.SimpleNamespace(build_info=None, templates=templates)  # the next build
    upstream.build_key(app)  # type: ignore[arg-type]
    assert len(walks) == 2


def test_sphinx_search_uses_the_compiled_stemmer() -> None:
    """PyStemmer (requirements.txt) replaces the pure-Python stemmer, 12% of a build."""
    from sphinx.search.en import SearchEnglish

    assert type(SearchEnglish({}).stemmer).__module__ == "Stemmer"


def test_docutils_settings_are_built_once_per_parser_class_and_defaults() -> None:
    """Same values as Sphinx's own, built once; each document records its own dependencies."""
    from docutils.readers import standalone
    from myst_parser.parsers.sphinx_ import MystParser
    from sphinx.util import docutils as sphinx_docutils

    upstream.sphinx_docutils_settings_once()
    built = sphinx_docutils._get_settings.kb_built  # type: ignore[attr-defined]
    defaults = {"traceback": True, "tab_width": 4}
    first = sphinx_docutils._get_settings(standalone.Reader, MystParser(), defaults=defaults)
    size = len(built)
    second = sphinx_docutils._get_settings(standalone.Reader, MystParser(), defaults=dict(defaults))
    assert len(built) == size  # a new parser object of the same class: no new settings
    assert first is not second
    assert first.record_dependencies is not second.record_dependencies
    first.record_dependencies.add("one.md")
    assert second.record_dependencies.list == []
    original = sphinx_docutils._get_settings.kb_original  # type: ignore[attr-defined]
    expected = vars(original(standalone.Reader, MystParser(), defaults=defaults))
    found = vars(second)
    assert {k: v for k, v in found.items() if k != "record_dependencies"} == {
        k: v for k, v in expected.items() if k != "record_dependencies"
    }
    wider = sphinx_docutils._get_settings(standalone.Reader, MystParser(), defaults={**defaults, "tab_width": 8})
    assert wider.tab_width == 8


def test_myst_default_document_settings_are_built_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from myst_parser.mdit_to_docutils import base

    upstream.myst_default_document_once()
    base.make_document()  # the settings are built by now
    built = []
    monkeypatch.setattr(base, "get_default_settings", lambda *c: built.append(c))  # MyST's own way
    monkeypatch.setattr(upstream.frontend, "get_default_settings", lambda *c: built.append(c))
    first, second = base.make_document(), base.make_document("other.md")
    assert built == []
    assert first.settings is not second.settings
    assert first.settings.record_dependencies is not second.settings.record_dependencies
    assert vars(first.settings).keys() == vars(second.settings).keys()


def test_myst_reads_front_matter_with_libyaml(
    corpus: bench.Corpus, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import yaml

    loaders = []
    load, pure = yaml.load, yaml.safe_load

    def spy(stream: object, Loader: type) -> object:  # noqa: N803 - PyYAML's name
        loaders.append(Loader)
        return load(stream, Loader=Loader)

    monkeypatch.setattr(yaml, "load", spy)
    app = make_app(corpus.kb, builddir=tmp_path)
    try:
        app.build()
    finally:
        app.cleanup()
    assert loaders.count(yaml.CSafeLoader) >= 2 * POSTS  # MyST's two reads of each post's front matter
    assert yaml.SafeLoader not in loaders
    assert yaml.safe_load is pure  # only while MyST parses


def test_opengraph_walks_only_pages_without_a_description(
    corpus: bench.Corpus, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sphinxext.opengraph as ogp

    upstream.opengraph_walks_only_undescribed_pages()
    walked = []
    walk = ogp.get_tags.kb_walk  # type: ignore[attr-defined]

    def spy(doctree: object, *args: object) -> str:
        walked.append(Path(doctree["source"]).relative_to(corpus.kb).as_posix())  # type: ignore[index]
        return walk(doctree, *args)

    monkeypatch.setattr(ogp.get_tags, "kb_walk", spy)
    app = make_app(corpus.kb, builddir=tmp_path)
    try:
        app.build()
        post = (app.outdir / "posts" / "post-00001.html").read_text(encoding="utf-8")
        profile = (app.outdir / "authors" / "index.html").read_text(encoding="utf-8")
    finally:
        app.cleanup()
    assert "authors/index.md" in walked
    assert not [page for page in walked if page.startswith("posts/")]
    assert post.count('property="og:description"') == profile.count('property="og:description"') == 1


def test_opengraph_is_quiet_without_matplotlib() -> None:
    script = (
        "from kb import upstream; upstream.opengraph_quiet_without_matplotlib(); "
        "import sphinxext.opengraph as ogp; assert ogp.create_social_card is None"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert "matplotlib" not in result.stdout + result.stderr


def test_parallel_read_merges_every_post_and_never_renders_ablog_excerpts(
    corpus: bench.Corpus, monkeypatch: pytest.MonkeyPatch
) -> None:
    """-j 2 really reads in parallel, and ABlog's posts from every reader reach the main environment.

    ABlog's ``Post.to_html`` renders an excerpt for every page and feed showing
    it, each time with a new docutils settings parser (17% of a build at 500
    posts); listings, tag pages and feeds here show excerpts as text, so a build
    must never call it.
    """
    import ablog.blog

    rendered: list[str] = []
    monkeypatch.setattr(ablog.blog.Post, "to_html", lambda self, pagename, *a, **k: rendered.append(pagename) or "")
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
    finally:
        app.cleanup()
    assert rendered == []


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
        assert not app.builder.templates.environment.auto_reload
        app.build()
        assert any((app.doctreedir / upstream.TEMPLATE_CACHE).iterdir())
    finally:
        app.cleanup()


def test_collector_thresholds_are_raised_for_a_build_and_restored(corpus: bench.Corpus, tmp_path: Path) -> None:
    import gc

    before = gc.get_threshold()
    app = make_app(corpus.kb, builddir=tmp_path)
    try:
        assert gc.get_threshold() == upstream.GC_THRESHOLDS
        app.build()
        assert gc.get_threshold() == before
    finally:
        gc.set_threshold(*before)
        app.cleanup()


def test_pages_are_written_by_every_process() -> None:
    """With -j 2 Sphinx would write in one process while the main one waits."""
    calls: list[int] = []
    builder = types.SimpleNamespace(_write_parallel=lambda docnames, nproc: calls.append(nproc))
    upstream.write_on_every_core(types.SimpleNamespace(builder=builder, parallel=2))  # type: ignore[arg-type]
    builder._write_parallel(["index"], nproc=1)  # as Sphinx calls it: app.parallel - 1
    assert calls == [2]


def test_asset_checksums_are_computed_once_per_asset(corpus: bench.Corpus, tmp_path: Path) -> None:
    from sphinx.builders import html
    from sphinx.builders.html import _assets

    app = make_app(corpus.kb, builddir=tmp_path)
    app.cleanup()
    assert html._file_checksum is not _assets._file_checksum
    asset = tmp_path / "style.css"
    asset.write_text("body {}", encoding="utf-8")
    assert html._file_checksum(tmp_path, "style.css") == _assets._file_checksum(tmp_path, "style.css") != ""
    hits = html._file_checksum.cache_info().hits
    html._file_checksum(tmp_path, "style.css")
    assert html._file_checksum.cache_info().hits == hits + 1


TITLE = '<a class="reference internal" href="#">A <em>post</em></a>'
SECTION = (
    '<a class="reference internal" href="#{0}">Section '
    '<code class="docutils literal notranslate"><span class="pre">{0}</span></code></a>'
)


def toc(*entries: str) -> str:
    return "<ul>\n" + "".join(f"<li>{entry}</li>\n" for entry in entries) + "</ul>\n"


@pytest.mark.parametrize(
    "sphinx_toc",
    [
        "",
        toc(TITLE),
        toc(TITLE + toc(SECTION.format("one"), SECTION.format("two") + toc(SECTION.format("deep")))),
        toc(TITLE + toc(SECTION.format("one") + toc(SECTION.format("two") + toc(SECTION.format("three"))))),
        toc(SECTION.format("one"), SECTION.format("two") + toc(SECTION.format("three"))),
    ],
    ids=["none", "title only", "sections", "four levels", "two top-level entries"],
)
@pytest.mark.parametrize("level", [1, 2])
def test_page_toc_is_the_themes_markup_without_parsing(sphinx_toc: str, level: int) -> None:
    from bs4 import BeautifulSoup
    from pydata_sphinx_theme import toctree

    context = {"toc": sphinx_toc, "theme_show_toc_level": level}
    toctree.add_toctree_functions(None, "posts/a", "page.html", context, None)  # type: ignore[arg-type]

    def parsed(markup: object) -> str:
        return str(BeautifulSoup(str(markup).replace("\n", ""), "html.parser"))

    mine = upstream.page_toc(sphinx_toc, level)
    assert mine is not None
    assert parsed(mine) == parsed(context["generate_toc_html"]())


@pytest.mark.parametrize("odd", ['<ul class="simple">\n</ul>\n', "<ul><li>a</ul>", "</li>", "<li>a</li>"])
def test_page_toc_leaves_lists_it_does_not_know_to_the_theme(odd: str) -> None:
    assert upstream.page_toc(odd, 1) is None


def test_sitemap_collects_pages_in_this_process(corpus: bench.Corpus, tmp_path: Path) -> None:
    """No multiprocessing manager (a server process, a round trip per page): every
    document is listed again in the main process at the end (complete_sitemap)."""
    import queue

    app = make_app(corpus.kb, builddir=tmp_path)
    try:
        assert type(app.sitemap_links) is queue.Queue
        app.build()
        sitemap = (app.outdir / "sitemap.xml").read_text(encoding="utf-8")
    finally:
        app.cleanup()
    for name in corpus.posts:
        assert f"{name.removesuffix('.md')}.html</loc>" in sitemap


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


def test_posts_listed_once_per_folder_look_as_if_rendered_on_each_page(
    corpus: bench.Corpus, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every page is the same whether its listed posts are rendered there or kept
    from another page of its folder (a link to the page itself included)."""
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

    def rendered_each_time(env: object, builder: object, fromdoc: str, post: model.Post, form: object = None) -> str:
        return render.render_item(env, builder, fromdoc, post, form or render.ITEM)  # type: ignore[arg-type]

    kept = build(tmp_path / "kept")
    monkeypatch.setattr(render, "listed_html", rendered_each_time)
    monkeypatch.setattr(tags, "listed_html", rendered_each_time)
    each = build(tmp_path / "each")
    assert differences(without_description(kept), without_description(each)) == []
    assert kept["posts/post-00001.html"] == each["posts/post-00001.html"]  # posts carry their own description
    profiles = [text for name, text in kept.items() if name.startswith("authors/A")]
    assert any('class="kb-author reference internal" href="#"' in text for text in profiles)  # its own name


def test_parallel_readers_and_writers_take_longer_chunks() -> None:
    """Fewer, longer chunks: each reader sends back the whole environment."""
    import sphinx.builders

    chunks: dict[str, list[list[str]]] = {}

    def chunked(name: str) -> object:
        def method(docnames: list[str], nproc: int) -> None:
            chunks[name] = sphinx.builders.make_chunks(docnames, nproc)

        return method

    builder = types.SimpleNamespace(_read_parallel=chunked("read"), _write_parallel=chunked("write"))
    upstream.fewer_longer_chunks(types.SimpleNamespace(builder=builder))  # type: ignore[arg-type]
    docnames = [f"posts/{n}" for n in range(2000)]
    builder._read_parallel(docnames, 2)
    builder._write_parallel(docnames, nproc=2)  # as Sphinx calls it
    default = sphinx.builders.make_chunks(docnames, 2)  # restored afterwards
    for name in ("read", "write"):
        assert len(chunks[name]) < len(default) / 1.5
        assert sorted(doc for chunk in chunks[name] for doc in chunk) == sorted(docnames)
