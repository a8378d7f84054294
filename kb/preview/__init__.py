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
So the builds run with ``KB_SEARCH_QUEUE`` set: once its post pages are
written, each hands over the list of them and of its glossary's entries,
written as pages of their own beside the output folder
(:func:`kb.search.hand_over`), instead of indexing them.  A thread of this
process, at a lower priority than the build, brings the index up to date
(:func:`keep_searchable`) while the build writes its feeds and listing pages.
The browser reloads before that, once the saved post's page is written
(:mod:`kb.warm`, :mod:`kb.builder`).

Pagefind's Python API keeps an index in memory and takes pages until it is
written: a page added again under the same address replaces the old one, and
an index written again is written whole (Pagefind skips the files whose
content-named file is already there).  So after a save only the pages
written since they were last read are added again.  A post that is gone has
no such step (Pagefind cannot remove a page), nor does a first build: then the
index is made afresh from this build's pages.  Both give the same index as
Pagefind's command on the same pages (``tests/test_preview.py``).
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from kb import pagefind_index, search, search_parts, warm

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


def unwritten(bundle: Path) -> list[str]:
    """The files of the index in *bundle* that are missing or not yet whole.

    Pagefind's service answers that the index is written while its last files
    may still be on their way to the disk; each is compressed, and gzip checks
    a file's length and checksum at its end.
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
        try:
            gzip.decompress(path.read_bytes())
        except (OSError, EOFError) as error:
            broken.append(f"{path}: {error}")
    return broken


@dataclass
class Indexer:
    """Pagefind's index of the preview's post pages and glossary entries, kept in memory between builds."""

    loop: asyncio.AbstractEventLoop = field(default_factory=asyncio.new_event_loop)
    service: PagefindService | None = None
    index: PagefindIndex | None = None
    outdir: Path | None = None
    #: Each page in the index, with the modification time it had when it was read.
    read: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # A thread of its own, whatever loop the caller may run (a test's browser).
        threading.Thread(target=self.serve, name="pagefind", daemon=True).start()

    def serve(self) -> None:
        """Run the loop, at a lower priority: Pagefind's process, started from it, has that priority too."""
        os.nice(NICENESS)  # this thread only (Linux), and the processes it starts
        self.loop.run_forever()

    def run(self, work: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(work, self.loop).result()

    def update(self, handover: search.Handover) -> str:
        """Bring the index up to date with the pages of *handover*; say what was done."""
        files = handover.files()
        if self.index is None or handover.outdir != self.outdir or self.read.keys() - files.keys():
            self.start(handover)
            what = f"indexed {len(files)} pages afresh"
        else:
            changed = {page: path for page, path in files.items() if self.read.get(page) != mtime(path)}
            if not changed:
                return "search index is up to date"
            self.run(gathered([self.add(page, path) for page, path in changed.items()]))
            what = f"indexed {len(changed)} changed page{'s' * (len(changed) != 1)} again"
        bundle = handover.outdir / search.BUNDLE_DIR
        marker = bundle / search_parts.INDEXED_FILE
        keep_fragments = search_parts.indexed_posts(bundle) is not None
        marker.unlink(missing_ok=True)  # written last: without it the last index is not trusted
        count = pagefind_index.index_pages(bundle, self.write, keep_fragments=keep_fragments)
        marker.write_text(json.dumps(list(handover.indexed)), encoding="utf-8")
        return f"{what}; {count} pages in the index"

    def start(self, handover: search.Handover) -> None:
        """A new index of the pages of *handover* (Pagefind reads them all in one pass)."""
        from pagefind.service import PagefindService

        async def launch() -> PagefindService:  # in the loop that will serve it
            return await PagefindService().launch()

        self.close()
        self.service = self.run(launch())
        self.index = self.run(self.service.create_index({"exclude_selectors": list(pagefind_index.NOT_CONTENT)}))
        self.outdir = handover.outdir
        self.read = {page: mtime(path) for page, path in handover.files().items()}
        staged = Path(tempfile.mkdtemp(prefix="kb-search-", dir=handover.outdir.parent))
        try:
            pagefind_index.stage(handover.outdir, [Path(page) for page in handover.pages], staged)
            pagefind_index.stage(handover.terms, [Path(page) for page in handover.term_pages], staged)
            self.run(self.index.add_directory(str(staged)))
        finally:
            shutil.rmtree(staged, ignore_errors=True)

    async def add(self, page: str, path: Path) -> None:
        """Index *page* (read from *path*) again, in place of its last version (same address)."""
        assert self.index is not None
        self.read[page] = mtime(path)  # before reading: a later change is seen next time
        await self.index.add_html_file(content=path.read_text(encoding="utf-8"), url=f"/{page}")

    def write(self, bundle: Path) -> None:
        """Write the whole index into *bundle*, and wait until it is on the disk."""
        assert self.index is not None
        self.run(self.index.write_files(str(bundle)))
        deadline = time.monotonic() + WRITTEN_WITHIN_S
        while broken := unwritten(bundle):
            if time.monotonic() > deadline:
                raise RuntimeError(f"the index was not written whole: {broken[0]}")
            time.sleep(POLL_S)

    def close(self) -> None:
        """Stop Pagefind's process; the next update starts a new index."""
        if self.service is not None:
            with contextlib.suppress(Exception):  # it may have ended already
                self.run(self.service.close())
        self.service, self.index, self.outdir, self.read = None, None, None, {}


async def gathered(work: list[Coroutine[Any, Any, T]]) -> list[T]:
    return await asyncio.gather(*work)


def mtime(path: Path) -> int:
    return path.stat().st_mtime_ns


def index_next(indexer: Indexer, queue: Path) -> str | None:
    """Index the pages of the build waiting in *queue*; say how it went.

    None if no build is waiting.  A failure is reported, and the next build's
    pages are indexed afresh.
    """
    started = time.perf_counter()
    try:
        handover = search.Handover.take(queue)
        if handover is None:
            return None
        done = indexer.update(handover)
    except Exception as error:  # any failure of Pagefind or of the files, never a traceback
        indexer.close()
        return f"search index not updated: {error}"
    return f"search: {done} in {time.perf_counter() - started:.1f} s"


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
