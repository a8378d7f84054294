"""``make serve``: the live preview, with search brought up to date after each save.

``python -m kb.preview [options] SOURCEDIR OUTDIR`` builds the site into
*OUTDIR* (reading on all cores), serves it, and after each saved change
rebuilds it (on one core: faster for a few pages) and tells the open pages to
reload.  Watching, serving and reloading are sphinx-autobuild's, as its own
command sets them up (:func:`server`), but each file is sent as it was read
in one piece, so a page the build is writing is never sent half written
(:func:`kb.upstream.starlette.files_served_whole`); the builds are not:
sphinx-autobuild would start a new Python process for each, which spends most
of a rebuild loading Sphinx and the extensions.  Each build is forked from a process that
has them loaded (:mod:`kb.warm`).

If a build indexed search itself, the reload would wait for Pagefind, which
reads and indexes every post again (Pagefind issue 71: no incremental mode).
So the builds run with ``KB_SEARCH_QUEUE`` set: as soon as the saved pages
are written, and again once every page is, each hands over the list of its
post pages and of its glossary's entries, written as pages of their own
beside the output folder (:func:`kb.search.hand_over`), instead of indexing
them.  A thread of this process, at a lower priority than the build, makes
them searchable (:func:`keep_searchable`) while the build writes its feeds
and listing pages.  The browser reloads before that, once the saved post's
page is written (:mod:`kb.warm`, :mod:`kb.upstream.sphinx`).

Pagefind's Python API keeps an index in memory and takes pages until it is
written: a page added again under the same address replaces the old one, and
an index written again is written whole (Pagefind skips the files whose
content-named file is already there).  Written whole, it takes seconds on a
large site, so the pages written since they were last read first go into a
small recent index of their own (:mod:`kb.preview.recent`); the main index
takes them in once the author has paused (:meth:`Indexer.catch_up`).  A post
that is gone has no such step (Pagefind cannot remove a page), nor does a
first build: then the index is made afresh from this build's pages.  The
main index is then the same as Pagefind's command makes of the same pages
(``tests/test_preview.py``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gzip
import json
import multiprocessing
import multiprocessing.forkserver
import os
import shutil
import tempfile
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from kb import pagefind_index, search, search_parts, warm
from kb.preview import recent

if TYPE_CHECKING:
    from collections.abc import Coroutine, Sequence

    from pagefind.index import PagefindIndex
    from pagefind.service import PagefindService
    from sphinx_autobuild.filter import IgnoreFilter
    from starlette.applications import Starlette

T = TypeVar("T")

#: How often the queue is looked at, in seconds.
POLL_S = 0.05
#: How much lower the indexer's priority is than the build's (and the browser's).
NICENESS = 10
#: The most a written index may take to reach the disk (Pagefind answers first).
WRITTEN_WITHIN_S = 30.0
#: How long after the last save the main index takes in the saved pages (the recent
#: index answers for them meanwhile), or after how many saved pages.
MAIN_AFTER_S = 5.0
MAIN_AT_PAGES = 50


def unwritten(bundle: Path, kept: frozenset[Path] = frozenset()) -> list[str]:
    """The files of the index in *bundle* that are missing or not yet whole.

    Pagefind's service answers that the index is written while its last files
    may still be on their way to the disk; each is compressed, and gzip checks
    a file's length and checksum at its end.  The files in *kept* were there,
    whole, before the index was written (Pagefind does not write them again).
    """
    try:
        entry = json.loads((bundle / "pagefind-entry.json").read_text(encoding="utf-8"))
        metas = [bundle / f"pagefind.{language['hash']}.pf_meta" for language in entry["languages"].values()]
        files = list(metas)
        for meta in metas:
            _, pages, chunks, filters, *_ = pagefind_index.read_pagefind(meta)
            files += [bundle / "fragment" / f"{name}.pf_fragment" for name, _ in pages]
            files += [bundle / "index" / f"{chunk[-1]}.pf_index" for chunk in chunks]
            files += [bundle / "filter" / f"{name}.pf_filter" for _, name in filters]
    except (OSError, ValueError, EOFError, KeyError, gzip.BadGzipFile) as error:
        return [f"{bundle}: {error}"]
    broken = []
    for path in files[len(metas) :]:
        if path in kept:
            continue
        try:
            gzip.decompress(path.read_bytes())
        except (OSError, EOFError) as error:
            broken.append(f"{path}: {error}")
    return broken


@dataclass
class Indexer:
    """Pagefind's index of the preview's post pages and glossary entries, kept in memory between builds,
    and the recent index written beside it after each save (:mod:`kb.preview.recent`)."""

    loop: asyncio.AbstractEventLoop = field(default_factory=asyncio.new_event_loop)
    #: The main index's Pagefind, and the recent index's (whose writes never wait for the main one's).
    service: PagefindService | None = None
    recent_service: PagefindService | None = None
    index: PagefindIndex | None = None
    recent_index: PagefindIndex | None = None
    outdir: Path | None = None
    #: Each page in the index, with the modification time it had when it was read.
    read: dict[str, int] = field(default_factory=dict)
    #: The pages saved since the main index was last written, by address: the recent index's.
    saved: dict[str, recent.Saved] = field(default_factory=dict)
    written: recent.Written = field(default_factory=recent.Written)
    #: The documents the index holds (:data:`~kb.search_parts.INDEXED_FILE`).
    indexed: tuple[str, ...] = ()
    #: The main index being written, in a thread of its own, and the saved pages it takes in.
    main: Future[int] | None = None
    #: When a saved page was last taken (:func:`time.monotonic`).
    last_saved: float = 0.0
    taking: dict[str, recent.Saved] = field(default_factory=dict)
    writer: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(1, thread_name_prefix="pagefind"))

    def __post_init__(self) -> None:
        # A thread of its own, whatever loop the caller may run (a test's browser).
        threading.Thread(target=self.serve, name="pagefind", daemon=True).start()

    def serve(self) -> None:
        """Run the loop, at a lower priority: Pagefind's processes, started from it, have that priority too."""
        os.nice(NICENESS)  # this thread only (Linux), and the processes it starts
        self.loop.run_forever()

    def run(self, work: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(work, self.loop).result()

    def update(self, handover: search.Handover) -> str | None:
        """Make the pages of *handover* searchable; say what was done (None: nothing had changed).

        A first build, or one without a page the index holds, is indexed
        afresh; otherwise the pages written since they were read go into the
        recent index, and the main index takes them in afterwards (:meth:`catch_up`).
        """
        files = handover.files()
        self.indexed = handover.indexed
        if self.index is None or handover.outdir != self.outdir or self.read.keys() - files.keys():
            self.start(handover)
            count = self.write_main()
            self.written.read(handover.outdir / search.BUNDLE_DIR)
            self.prepare_recent()
            recent.remove(handover.outdir)
            return f"indexed {len(files)} pages afresh; {count} pages in the index"
        changed = {page: path for page, path in files.items() if self.read.get(page) != mtime(path)}
        if not changed:
            return None
        for page, path in changed.items():
            self.read[page] = mtime(path)  # before reading: a later change is seen next time
            self.saved[f"/{page}"] = recent.Saved(self.read[page], path.read_text(encoding="utf-8"))
        self.write_recent([f"/{page}" for page in changed])
        self.last_saved = time.monotonic()
        plural = "s" * (len(changed) != 1)
        return f"indexed {len(changed)} changed page{plural} again; {len(self.saved)} in the recent index"

    def start(self, handover: search.Handover) -> None:
        """A new index of the pages of *handover* (Pagefind reads them all in one pass)."""
        from pagefind.service import PagefindService

        async def launch() -> PagefindService:  # in the loop that will serve it
            return await PagefindService().launch()

        self.close()
        self.service, self.recent_service = self.run(launch()), self.run(launch())
        self.index = self.run(self.service.create_index(INDEX_CONFIG))
        self.outdir = handover.outdir
        self.read = {page: mtime(path) for page, path in handover.files().items()}
        for page, path in handover.files().items():  # one page at a time: a large site does not fit
            text = path.read_text(encoding="utf-8")
            self.written.words[f"/{page}"] = recent.words_of(text)
            self.written.language = recent.language_of(text)
        staged = Path(tempfile.mkdtemp(prefix="kb-search-", dir=handover.outdir.parent))
        try:
            pagefind_index.stage(handover.outdir, [Path(page) for page in handover.pages], staged)
            pagefind_index.stage(handover.terms, [Path(page) for page in handover.term_pages], staged)
            self.run(self.index.add_directory(str(staged)))
        finally:
            shutil.rmtree(staged, ignore_errors=True)

    def write_main(self) -> int:
        """Write the main index, with the saved pages of :attr:`taking` in it; return how many pages it holds.

        It is written beside the one it replaces, which stays whole until the
        new one takes its place: the search page may read it meanwhile.
        """
        assert self.index is not None and self.outdir is not None
        for url, saved in self.taking.items():  # each in place of its last version (same address)
            self.run(self.index.add_html_file(content=saved.text, url=url))
        bundle = self.outdir / search.BUNDLE_DIR
        beside = self.outdir.parent / f"{self.outdir.name}-{search.BUNDLE_DIR}"
        fresh, old = beside.with_name(f"{beside.name}-new"), beside.with_name(f"{beside.name}-old")
        for folder in (fresh, old):
            shutil.rmtree(folder, ignore_errors=True)
        keep_fragments = search_parts.indexed_posts(bundle) is not None
        if keep_fragments:  # linked, not copied: Pagefind only ever adds files to its fragments
            shutil.copytree(bundle, fresh, copy_function=os.link)
        index = self.index
        count = pagefind_index.index_pages(fresh, lambda into: self.write(index, into), keep_fragments=keep_fragments)
        (fresh / search_parts.INDEXED_FILE).write_text(json.dumps(list(self.indexed)), encoding="utf-8")
        if bundle.exists():
            bundle.rename(old)
        fresh.rename(bundle)
        shutil.rmtree(old, ignore_errors=True)
        return count

    def prepare_recent(self) -> None:
        """A new recent index, holding only the hidden page of the main index's words as last
        written; the pages saved since are added to it as they come."""
        assert self.recent_service is not None
        if self.recent_index is not None:
            self.run(self.recent_index.delete_index())
        self.recent_index = self.run(self.recent_service.create_index(INDEX_CONFIG))
        self.run(self.recent_index.add_html_file(content=recent.words_page(self.written), url=recent.WORDS_PAGE))

    def write_recent(self, urls: list[str]) -> None:
        """Add the saved pages at *urls* to the recent index, and write it beside the main index as
        last written."""
        assert self.recent_index is not None and self.outdir is not None
        for url in urls:  # each in place of its last version, if any (same address)
            self.run(self.recent_index.add_html_file(content=self.saved[url].text, url=url))
        folder = self.outdir / recent.RECENT_DIR
        recent.remove(self.outdir)
        self.write(self.recent_index, folder)
        recent.write_record(folder, recent.record(self.written, self.saved, folder))

    def catch_up(self, *, wait: bool = False) -> str | None:
        """Start writing the main index once it is due (:meth:`due`); take it in once written.

        Say what was done, None if nothing was (or, without *wait*, the
        main index is still being written, or not yet due).
        """
        if self.main is None and (wait or self.due()):
            self.start_main()
        if self.main is None:
            return None
        if not (wait or self.main.done()):
            return None
        main, self.main = self.main, None
        count = main.result()
        assert self.outdir is not None
        self.written.read(self.outdir / search.BUNDLE_DIR)
        for url, saved in self.taking.items():
            self.written.words[url] = saved.words
            if self.saved.get(url) is saved:  # not saved again since
                del self.saved[url]
        self.taking = {}
        self.prepare_recent()
        if self.saved:
            self.write_recent(list(self.saved))
        else:
            recent.remove(self.outdir)
        return f"main index written; {count} pages in the index"

    def due(self) -> bool:
        """Whether the main index should take in the saved pages now: the author has not saved for
        :data:`MAIN_AFTER_S` (writing it takes the CPU a save's build would want), or the recent
        index has grown to :data:`MAIN_AT_PAGES` pages."""
        quiet = time.monotonic() - self.last_saved >= MAIN_AFTER_S
        return bool(self.saved) and (quiet or len(self.saved) >= MAIN_AT_PAGES)

    def start_main(self) -> None:
        """Start writing the main index with the pages saved since it was last written, in a thread."""
        if self.main is None and self.saved and self.index is not None:
            self.taking = dict(self.saved)
            self.main = self.writer.submit(self.write_main)

    def settle(self) -> None:
        """Wait until the main index holds every saved page."""
        while self.main is not None or self.saved:
            self.catch_up(wait=True)

    def write(self, index: PagefindIndex, bundle: Path) -> None:
        """Write the whole of *index* into *bundle*, and wait until it is on the disk."""
        kept = frozenset(bundle.glob("*/*.pf_*"))  # whole: each was checked when it was written
        self.run(index.write_files(str(bundle)))
        deadline = time.monotonic() + WRITTEN_WITHIN_S
        while broken := unwritten(bundle, kept):
            if time.monotonic() > deadline:
                raise RuntimeError(f"the index was not written whole: {broken[0]}")
            time.sleep(POLL_S)

    def close(self) -> None:
        """Stop Pagefind's processes; the next update starts a new index."""
        if self.main is not None:
            with contextlib.suppress(Exception):  # its failure was, or will not be, reported
                self.main.result()
        for service in (self.service, self.recent_service):
            if service is not None:
                with contextlib.suppress(Exception):  # it may have ended already
                    self.run(service.close())
        self.service = self.recent_service = self.index = self.recent_index = self.outdir = self.main = None
        self.read, self.saved, self.taking, self.written = {}, {}, {}, recent.Written()


#: How Pagefind reads the pages (the parts that are not their text: :data:`~kb.pagefind_index.NOT_CONTENT`).
INDEX_CONFIG = {"exclude_selectors": list(pagefind_index.NOT_CONTENT)}


def mtime(path: Path) -> int:
    return path.stat().st_mtime_ns


def index_next(indexer: Indexer, queue: Path) -> str | None:
    """Index the pages of the build waiting in *queue*, or else take in the main index once written;
    say how it went.

    None if nothing was done.  A failure is reported, and the next build's
    pages are indexed afresh.
    """
    started = time.perf_counter()
    try:
        handover = search.Handover.take(queue)
        done = indexer.catch_up() if handover is None else indexer.update(handover)
    except Exception as error:  # any failure of Pagefind or of the files, never a traceback
        indexer.close()
        return f"search index not updated: {error}"
    if done is None:
        return None
    return f"search: {done}" if handover is None else f"search: {done} in {time.perf_counter() - started:.1f} s"


def keep_searchable(indexer: Indexer, queue: Path, stopped: threading.Event) -> None:
    """Index the pages each build hands over, at a lower priority than the builds and the server, until *stopped*."""
    os.nice(NICENESS)  # this thread only (Linux): the server, in the main thread, answers first
    while not stopped.is_set():
        if (done := index_next(indexer, queue)) is None:
            time.sleep(POLL_S)
        else:
            print(f"kb: {done}", flush=True)


def server(watched: Path, ignored: IgnoreFilter, rebuild: warm.Rebuild, outdir: Path, url: str) -> Starlette:
    """sphinx-autobuild's server (as its command makes it): serves *outdir*, runs *rebuild* after each
    change in *watched*, then tells the browser to reload (once *rebuild* returns: when the saved pages
    are written)."""
    from sphinx_autobuild.middleware import JavascriptInjectorMiddleware
    from sphinx_autobuild.server import RebuildServer
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.routing import Mount, WebSocketRoute

    from kb.upstream.starlette import files_served_whole

    watcher = RebuildServer([watched], ignored, change_callback=rebuild)
    return Starlette(
        routes=[
            WebSocketRoute("/websocket-reload", watcher, name="reload"),
            Mount("/", app=files_served_whole()(directory=outdir, html=True), name="static"),
        ],
        middleware=[Middleware(JavascriptInjectorMiddleware, ws_url=url)],
        lifespan=watcher.lifespan,
    )


def arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m kb.preview", description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1", help="the address to serve on (default: %(default)s)")
    parser.add_argument("--port", type=int, default=8000, help="the port to serve on (default: %(default)s)")
    parser.add_argument("--doctrees", required=True, metavar="DIR", help="Sphinx's folder of read pages")
    parser.add_argument("--ignore", action="append", default=[], metavar="PATH", help="a path not to watch")
    parser.add_argument(
        "--re-ignore", action="append", default=[], metavar="REGEX", help="paths not to watch, as a pattern"
    )
    parser.add_argument("sourcedir", type=Path, help="the site")
    parser.add_argument("outdir", type=Path, help="where the preview is built")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Build the site, serve it, rebuild it after each change, keep its search current; see the docstring."""
    import uvicorn
    from sphinx_autobuild.filter import IgnoreFilter

    args = arguments(argv)
    multiprocessing.set_start_method("forkserver")  # the server's threads are not forked with it
    multiprocessing.set_forkserver_preload(["kb.warm"])
    multiprocessing.forkserver.ensure_running()
    folder = Path(tempfile.mkdtemp(prefix="kb-preview-"))
    queue, address = folder / "request.json", str(folder / "builds.sock")
    os.environ[search.QUEUE_VARIABLE] = str(queue)  # for the builds: hand over, do not index
    sphinx = ("-b", "html", "-d", str(args.doctrees), str(args.sourcedir), str(args.outdir))
    builds = warm.start(address, args.sourcedir)
    indexer, stopped = Indexer(), threading.Event()
    try:
        args.outdir.mkdir(parents=True, exist_ok=True)
        # The first reads on all cores; a rebuild on one is faster, and is set up before the save.
        warm.build(address, ("-j", "auto", *sphinx), then=sphinx)
        threading.Thread(target=keep_searchable, args=(indexer, queue, stopped), name="search", daemon=True).start()
        url = f"{args.host}:{args.port}"
        ignored = IgnoreFilter([*args.ignore, args.outdir, args.doctrees], args.re_ignore)
        site = server(args.sourcedir, ignored, warm.Rebuild(address, sphinx), args.outdir, url)
        print(f"kb: serving the preview on http://{url}/ (Ctrl+C to stop); waiting for changes", flush=True)
        uvicorn.run(site, host=args.host, port=args.port, log_level="warning")
    except KeyboardInterrupt:
        pass
    finally:
        stopped.set()
        builds.terminate()
        builds.wait()
        indexer.close()
        shutil.rmtree(folder, ignore_errors=True)
    return 0
