"""Each workaround of kb/upstream/ against the real upstream objects it changes,
and the check that reports a workaround which no longer fits."""

from __future__ import annotations

import asyncio
import copyreg
import logging
import os
import pickle
import shutil
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import ablog.blog
import ablog.post
import pytest
import sphinx.builders
import sphinx.util.parallel
from sphinx.application import ENV_PICKLE_FILENAME
from sphinx.environment import BuildEnvironment
from sphinx.testing.util import SphinxTestApp
from sphinx.util.console import strip_colors
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.staticfiles import StaticFiles

from kb import bench, keys, upstream
from kb.upstream import ablog as ablog_workarounds
from kb.upstream import python as python_workarounds
from kb.upstream import sphinx as sphinx_workarounds
from kb.upstream import starlette as starlette_workarounds

from .conftest import ROOT

if TYPE_CHECKING:
    from collections.abc import Iterator

POSTS = 12


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> bench.Corpus:
    return bench.generate(tmp_path_factory.mktemp("bench"), POSTS)


def make_app(srcdir: Path, builddir: Path | None = None, **kwargs: object) -> SphinxTestApp:
    return SphinxTestApp("html", srcdir=srcdir, builddir=builddir or srcdir / "_build", **kwargs)  # type: ignore[arg-type]


def build_app(srcdir: Path, builddir: Path, **kwargs: object) -> SphinxTestApp:
    """An application that has built *srcdir* without a warning (cleaned up by the caller)."""
    app = make_app(srcdir, builddir, **kwargs)
    app.build()
    assert strip_colors(app.warning.getvalue()) == ""
    return app


# -- require: the check every workaround makes first ------------------------------------


class Records(logging.Handler):
    """The warnings logged by kb/upstream/, whether or not an application set up Sphinx's logging."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def logged() -> Iterator[Records]:
    handler = Records()
    logger = logging.getLogger("sphinx.kb.upstream")
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)


def warnings(logged: Records) -> list[str]:
    """The messages, each checked to be a ``kb.upstream`` warning (what -W fails on and
    ``suppress_warnings`` names)."""
    assert all((r.type, r.subtype) == ("kb", "upstream") for r in logged.records)  # type: ignore[attr-defined]
    return [record.getMessage() for record in logged.records]


def test_require_gives_the_real_target_when_it_fits(logged: Records) -> None:
    def workaround() -> object:
        return upstream.require(ablog.post, "generate_archive_pages", versions="ablog>=0.11", parameters=("app",))

    assert workaround() is ablog.post.generate_archive_pages
    assert warnings(logged) == []


def test_a_missing_target_is_reported_by_the_workarounds_name(logged: Records) -> None:
    def collection_pages_when_changed() -> object:
        return upstream.require(ablog.post, "generate_archive_page", versions="ablog>=0.11")

    assert collection_pages_when_changed() is None
    [message] = warnings(logged)
    assert "upstream workaround collection_pages_when_changed is not applied" in message
    assert "ablog.post.generate_archive_page" in message and "no longer exists" in message


def test_a_target_of_another_shape_is_reported(logged: Records) -> None:
    def parallel_work_in_fewer_chunks() -> object:
        return upstream.require(sphinx.util.parallel, "make_chunks", versions="Sphinx>=9", parameters=("docs", "n"))

    assert parallel_work_in_fewer_chunks() is None
    [message] = warnings(logged)
    assert "parallel_work_in_fewer_chunks is not applied" in message
    assert "make_chunks, which it changes, takes (arguments, nproc, maxbatch) instead of (docs, n)" in message


@pytest.mark.parametrize("versions", ["Sphinx<9", "Sphinx>=99", "no-such-distribution>=1"])
def test_a_release_outside_the_range_is_reported_but_a_fitting_target_still_used(
    logged: Records, versions: str
) -> None:
    def read_few_documents_serially() -> object:
        return upstream.require(sphinx.util.parallel, "make_chunks", versions=versions)

    assert read_few_documents_serially() is sphinx.util.parallel.make_chunks
    [message] = warnings(logged)
    assert f"read_few_documents_serially was written for {versions}" in message


def test_python_is_gated_by_the_interpreters_release(logged: Records) -> None:
    import gc

    def collect_garbage_less_often() -> object:
        return upstream.require(gc, "freeze", versions=python_workarounds.PYTHON)

    assert collect_garbage_less_often() is gc.freeze
    assert warnings(logged) == []


def test_a_missing_target_fails_the_strict_build(rootdir: Path, tmp_path: Path) -> None:
    """As if Sphinx renamed ``make_chunks``: ``sphinx-build -W`` stops, naming the workaround."""
    shutil.copytree(rootdir / "test-tags", tmp_path / "src")
    script = (
        "import sys, sphinx.builders; del sphinx.builders.make_chunks; "
        "from sphinx.cmd.build import main; sys.exit(main(sys.argv[1:]))"
    )
    command = [sys.executable, "-c", script, "-W", "-b", "html", str(tmp_path / "src"), str(tmp_path / "out")]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(command, capture_output=True, text=True, check=False, env=env, cwd=ROOT)
    assert result.returncode != 0
    assert "upstream workaround parallel_work_in_fewer_chunks is not applied" in result.stderr
    assert "sphinx.builders.make_chunks, which it changes, no longer exists" in result.stderr
    assert "[kb.upstream]" in result.stderr


def test_every_workaround_fits_the_installed_releases(corpus: bench.Corpus, tmp_path: Path) -> None:
    """The real site's extensions with the pinned releases: no kb.upstream warning at start-up."""
    app = make_app(corpus.kb, tmp_path)
    try:
        assert "kb.upstream" not in app.warning.getvalue()
    finally:
        app.cleanup()


# -- ABlog -----------------------------------------------------------------------------


def test_parallel_read_merges_every_post_and_keeps_lean_records(
    corpus: bench.Corpus, monkeypatch: pytest.MonkeyPatch
) -> None:
    """-j 2 really reads in parallel, and ABlog's posts from every reader reach the main environment.

    ABlog's ``Post.to_html`` renders an excerpt for every page and feed showing
    it, each time with a new docutils settings parser (17% of a build at 500
    posts); listings, tag pages and feeds here show excerpts as text, so a build
    must never call it.
    """
    rendered: list[str] = []
    monkeypatch.setattr(ablog.blog.Post, "to_html", lambda self, pagename, *a, **k: rendered.append(pagename) or "")
    app = make_app(corpus.kb, parallel=2)
    try:
        assert app.is_parallel_allowed("read")
        app.build()
        assert app.warning.getvalue() == ""
        posts = {f"posts/{name.rpartition('/')[2][:-3]}" for name in corpus.posts}
        assert set(app.env.ablog_posts) == posts
        # lean_post_records: no copy of the whole post is kept, excerpts are detached
        records = [info for infos in app.env.ablog_posts.values() for info in infos]
        assert all(info["doctree"] is None for info in records)
        assert all(node.parent is None for info in records for node in info["excerpt"])
    finally:
        app.cleanup()
    assert rendered == []


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


def test_each_build_starts_with_an_empty_blog(corpus: bench.Corpus, tmp_path: Path) -> None:
    """A second build in the same process does not see the first build's posts."""
    ablog.blog.Blog._dict["kb_stale"] = True
    app = make_app(corpus.kb, builddir=tmp_path)
    try:
        assert "kb_stale" not in ablog.blog.Blog._dict
    finally:
        app.cleanup()


def test_ablog_writes_no_feed_and_no_unchanged_page(rootdir: Path, tmp_path: Path) -> None:
    """ABlog's feed writer is off (kb/feeds.py writes the feeds); a rebuild with
    nothing changed renders none of ABlog's pages again."""
    shutil.copytree(rootdir / "test-tags", tmp_path / "src")
    app = build_app(tmp_path / "src", tmp_path / "build")
    try:
        handlers = [listener.handler for listener in app.events.listeners["html-collect-pages"]]
        assert ablog.post.generate_atom_feeds not in handlers
        assert ablog.post.generate_archive_pages not in handlers
        outdir = Path(app.outdir)
        pages = sorted(outdir.glob("blog/**/*.html"))
        assert outdir / "blog/tag/alpha.html" in pages
        assert not list(outdir.glob("blog/*/*/atom.xml"))  # ABlog's feed of each collection
        written = {page: page.stat().st_mtime_ns for page in pages}
    finally:
        app.cleanup()
    again = build_app(tmp_path / "src", tmp_path / "build")
    try:
        assert {page: page.stat().st_mtime_ns for page in pages} == written
        assert ablog_workarounds.archive_state(again)["pages"]
    finally:
        again.cleanup()


def test_ablog_links_authors_to_their_profiles(rootdir: Path, tmp_path: Path) -> None:
    shutil.copytree(rootdir / "test-authors", tmp_path / "src")
    app = build_app(tmp_path / "src", tmp_path / "build")
    try:
        blog = ablog.blog.Blog(app)
        assert blog.author.docname == "authors/index"
        assert {c._path for c in blog.author.collections.values()} == {
            f"authors/{key}" for key in blog.author.collections
        }
        assert not (Path(app.outdir) / "blog" / "author").exists()
    finally:
        app.cleanup()


# -- Sphinx ----------------------------------------------------------------------------


def test_sphinx_writes_no_search_index_of_its_own(rootdir: Path, tmp_path: Path) -> None:
    shutil.copytree(rootdir / "test-tags", tmp_path / "src")
    app = build_app(tmp_path / "src", tmp_path / "build")
    try:
        assert app.builder.search is False
        assert not (Path(app.outdir) / "searchindex.js").exists()
    finally:
        app.cleanup()


def test_a_few_documents_are_read_in_this_process(corpus: bench.Corpus, tmp_path: Path) -> None:
    """One changed post of many is read by the main process; -j 2 holds again for writing."""
    shutil.copytree(corpus.kb, tmp_path / "src")
    build_app(tmp_path / "src", tmp_path / "build", parallel=2).cleanup()
    post = tmp_path / "src" / corpus.posts[0]
    post.write_text(post.read_text(encoding="utf-8") + "\nOne more line.\n", encoding="utf-8")
    readers: list[int] = []
    app = make_app(tmp_path / "src", tmp_path / "build", parallel=2)
    try:
        app.connect("doctree-read", lambda app, doctree: readers.append(os.getpid()))
        app.build()
        assert readers == [os.getpid()]
        assert app.parallel == 2
    finally:
        app.cleanup()


def test_parallel_work_takes_every_core_and_longer_chunks(
    corpus: bench.Corpus, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With -j 2 Sphinx would write in one process while the main one waits, in short chunks."""
    processes: list[int] = []

    class Tasks(sphinx.builders.ParallelTasks):  # type: ignore[name-defined, misc]
        def __init__(self, nproc: int) -> None:
            processes.append(nproc)
            super().__init__(nproc)

    monkeypatch.setattr(sphinx.builders, "ParallelTasks", Tasks)
    app = build_app(corpus.kb, tmp_path, parallel=2)
    app.cleanup()
    assert processes == [2]  # writing (reading: the next test)
    assert sphinx.builders.make_chunks is sphinx_workarounds.longer_chunks
    docnames = [f"posts/{n}" for n in range(2000)]
    longer = sphinx.builders.make_chunks(docnames, 2)
    assert len(longer) < len(sphinx.util.parallel.make_chunks(docnames, 2)) / 1.5
    assert [doc for chunk in longer for doc in chunk] == docnames


def test_every_parallel_reader_sends_back_only_what_it_read(corpus: bench.Corpus, tmp_path: Path) -> None:
    """A full build with -j 2 in three or more chunks: no reader forks after another's documents were merged."""
    sent: list[tuple[set[str], set[str]]] = []
    app = make_app(corpus.kb, tmp_path, parallel=2)
    app.connect("env-merge-info", lambda app, env, docnames, other: sent.append((set(docnames), set(other.all_docs))))
    app.build()
    app.cleanup()
    assert strip_colors(app.warning.getvalue()) == ""
    assert len(sent) >= 3
    assert [held - read for read, held in sent] == [set()] * len(sent)
    assert set().union(*(read for read, _ in sent)) == set(app.env.all_docs)


def test_the_page_of_a_deleted_document_is_removed(rootdir: Path, tmp_path: Path) -> None:
    shutil.copytree(rootdir / "test-tags", tmp_path / "src")
    build_app(tmp_path / "src", tmp_path / "build").cleanup()
    page = tmp_path / "build" / "html" / "posts" / "p7.html"
    assert page.is_file()
    (tmp_path / "src" / "posts" / "p7.md").unlink()
    build_app(tmp_path / "src", tmp_path / "build").cleanup()
    assert not page.exists()


def test_the_collector_runs_less_often_during_a_build(corpus: bench.Corpus, tmp_path: Path) -> None:
    import gc

    before = gc.get_threshold()
    app = make_app(corpus.kb, builddir=tmp_path)
    try:
        assert gc.get_threshold() == python_workarounds.GC_THRESHOLDS
        app.build()
        assert gc.get_threshold() == before
    finally:
        gc.set_threshold(*before)
        app.cleanup()


# -- sphinx-sitemap ---------------------------------------------------------------------


def test_sitemap_lists_every_page_encoded_without_a_manager(corpus: bench.Corpus, tmp_path: Path) -> None:
    """No multiprocessing manager (a server process, a round trip per page); a
    name with a space or an accent is percent-encoded; a rebuild lists every page."""
    import queue

    shutil.copytree(corpus.kb, tmp_path / "src")
    (tmp_path / "src" / "Über uns.md").write_text("---\norphan: true\n---\n\n# Über uns\n\nWho we are.\n", "utf-8")
    app = build_app(tmp_path / "src", tmp_path / "build")
    try:
        assert type(app.sitemap_links) is queue.Queue
        sitemap = (Path(app.outdir) / "sitemap.xml").read_text(encoding="utf-8")
    finally:
        app.cleanup()
    assert "/%C3%9Cber%20uns.html</loc>" in sitemap
    assert "Über" not in sitemap
    for name in corpus.posts:
        assert f"{name.removesuffix('.md')}.html</loc>" in sitemap
    post = tmp_path / "src" / corpus.posts[0]
    post.write_text(post.read_text(encoding="utf-8") + "\nOne more line.\n", encoding="utf-8")
    build_app(tmp_path / "src", tmp_path / "build").cleanup()
    assert (Path(app.outdir) / "sitemap.xml").read_text(encoding="utf-8") == sitemap


# -- what the caches are keyed on (kb/keys.py) -------------------------------------------


def test_build_key_looks_for_the_newest_template_once_per_build(corpus: bench.Corpus, tmp_path: Path) -> None:
    """Every feed and ABlog page is keyed on it; finding the newest template walks every template folder."""
    app = make_app(corpus.kb, builddir=tmp_path)
    try:
        walks: list[int] = []
        newest = app.builder.templates.newest_template_mtime

        def counted() -> float:
            walks.append(1)
            return newest()

        app.builder.templates.newest_template_mtime = counted
        assert keys.build_key(app) == keys.build_key(app)
        assert len(walks) == 1
    finally:
        app.cleanup()


def test_a_standby_build_has_the_environment_pickled_by_a_forked_copy(tmp_path: Path) -> None:
    """Sphinx pickles the environment before writing; in a standby's build (only) a copy forked at
    that moment writes the pickle while the pages are written, and the next build loads it whole."""
    from io import StringIO

    from kb import standby

    srcdir = tmp_path / "site"
    shutil.copytree(ROOT / "tests" / "roots" / "test-parity", srcdir)
    writing: list[list[int]] = []
    for asked in (False, True):  # each build a process's one, as in the preview
        app = SphinxTestApp("html", srcdir=srcdir, status=StringIO(), warning=StringIO())
        app.connect("write-started", lambda app, builder: writing.append(list(sphinx_workarounds.PICKLING)))
        try:
            if asked:
                (srcdir / "posts" / "good.md").touch()
                standby.ASKED.append(app)
            app.build()
            assert sphinx_workarounds.PICKLING == []  # waited for at the end
            env = pickle.loads((app.doctreedir / ENV_PICKLE_FILENAME).read_bytes())
            assert isinstance(env, BuildEnvironment)
            assert env.all_docs.keys() == app.env.all_docs.keys()
            assert BuildEnvironment not in copyreg.dispatch_table  # pickled as usual again
        finally:
            standby.ASKED.clear()
            app.cleanup()
    assert len(writing) == 2
    assert writing[0] == []  # a build of its own: pickled by Sphinx itself
    assert len(writing[1]) == 1  # a standby's: the copy was at work while the pages were written


# -- the preview's files, sent whole----------------------------------------

SERVED = "<!DOCTYPE html><html><body><p>The page as the build wrote it.</p></body></html>"


def served(files: StaticFiles, path: str) -> Response:
    """*files*' answer to a request for *path*, in a thread of its own (a test may run an event loop)."""
    scope = {"type": "http", "method": "GET", "path": f"/{path}", "headers": []}
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, files.get_response(path, scope)).result()


def test_a_page_asked_for_while_it_is_written_is_served_whole(tmp_path: Path) -> None:
    """Sphinx empties a page, then writes it: the preview serves it once written, never empty."""
    page = tmp_path / "post.html"
    page.write_text("", encoding="utf-8")
    writing = threading.Timer(0.2, lambda: page.write_text(SERVED, encoding="utf-8"))
    writing.start()
    try:
        response = served(starlette_workarounds.WholeFiles(directory=tmp_path, html=True), "post.html")
    finally:
        writing.join()
    assert response.body == SERVED.encode()
    assert response.headers["content-length"] == str(len(SERVED))
    assert response.headers["content-type"].startswith("text/html")


def test_a_page_written_again_after_it_was_looked_up_is_sent_with_its_own_length(tmp_path: Path) -> None:
    """Starlette sends the length a file had when looked up; a page written again meanwhile was cut short."""
    page = tmp_path / "post.html"
    page.write_text("<p>Short.</p>", encoding="utf-8")

    class RewrittenAfterLookup(starlette_workarounds.WholeFiles):
        def lookup_path(self, path: str) -> tuple[str, os.stat_result | None]:
            found = super().lookup_path(path)
            page.write_text(SERVED, encoding="utf-8")  # the build, between the lookup and the sending
            return found

    response = served(RewrittenAfterLookup(directory=tmp_path, html=True), "post.html")
    assert response.body == SERVED.encode()
    assert response.headers["content-length"] == str(len(SERVED))


def test_a_page_removed_after_it_was_looked_up_is_not_found(tmp_path: Path) -> None:
    page = tmp_path / "post.html"
    page.write_text(SERVED, encoding="utf-8")

    class RemovedAfterLookup(starlette_workarounds.WholeFiles):
        def lookup_path(self, path: str) -> tuple[str, os.stat_result | None]:
            found = super().lookup_path(path)
            page.unlink()
            return found

    with pytest.raises(HTTPException) as raised:
        served(RemovedAfterLookup(directory=tmp_path, html=True), "post.html")
    assert raised.value.status_code == 404


def test_the_preview_serves_starlettes_own_files_when_the_target_moved(
    logged: Records, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert starlette_workarounds.files_served_whole() is starlette_workarounds.WholeFiles  # the installed release
    assert warnings(logged) == []

    async def get_response(self: StaticFiles, path: str, scope: object, send: object) -> Response:
        raise AssertionError

    monkeypatch.setattr(StaticFiles, "get_response", get_response)
    assert starlette_workarounds.files_served_whole() is StaticFiles
    [message] = warnings(logged)
    assert "files_served_whole is not applied" in message and "takes (self, path, scope, send)" in message
