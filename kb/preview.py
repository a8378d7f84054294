"""``make serve``: the live preview, with search brought up to date after each reload.

sphinx-autobuild runs Sphinx in a new process for every save and reloads the
browser once that process has ended.  If the build indexed search itself, the
reload would wait for Pagefind, which reads and indexes every post again
(Pagefind issue 71: no incremental mode).  So ``python -m kb.preview
[--first-build COMMAND] sphinx-autobuild ...`` runs the first build, then
sphinx-autobuild, as its children with ``KB_SEARCH_QUEUE`` set: each build
then ends by handing over the list of its post pages and of its glossary's
entries, written as pages of their own beside the output folder
(:func:`kb.search.hand_over`), instead of indexing them.  This process, at a
lower priority, waits for the build's process to end (the browser is reloaded
then), and brings the index up to date.  (The first build is its own command
so that it can read on all cores while the rebuilds do not: PERFORMANCE.md.)

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
import itertools
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from kb import pagefind_index, search

if TYPE_CHECKING:
    from collections.abc import Coroutine, Sequence

    from pagefind.index import PagefindIndex
    from pagefind.service import PagefindService

T = TypeVar("T")

#: How often the queue is looked at, in seconds.
POLL_S = 0.05
#: How much lower the indexer's priority is than the build's (and the browser's).
NICENESS = 10
#: The most a written index may take to reach the disk (Pagefind answers first).
WRITTEN_WITHIN_S = 30.0


def running(pid: int) -> bool:
    """Whether process *pid* still runs."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


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


def found(bundle: Path, word: str) -> list[str]:
    """The addresses of the pages holding *word* in the index in *bundle* (lower case and stemmed, as indexed)."""
    entry = json.loads((bundle / "pagefind-entry.json").read_text(encoding="utf-8"))
    addresses = set()
    for language in entry["languages"].values():
        _, pages, chunks, *_ = pagefind_index.read_pagefind(bundle / f"pagefind.{language['hash']}.pf_meta")
        for first, last, name in chunks:  # each holds the words from *first* to words starting *last*
            if not first <= word or word[: len(last)] > last:
                continue
            for indexed, where, *_ in pagefind_index.read_pagefind(bundle / "index" / f"{name}.pf_index")[0]:
                if indexed == word:  # each page's number is given as the step from the one before
                    numbers = itertools.accumulate(step for step, *_ in where)
                    addresses.update(fragment_url(bundle, pages[number][0]) for number in numbers)
    return sorted(addresses)


def fragment_url(bundle: Path, name: str) -> str:
    """The address of the page whose fragment is *name* (fragments are compressed JSON)."""
    data = gzip.decompress((bundle / "fragment" / f"{name}.pf_fragment").read_bytes())
    return json.loads(data[len(pagefind_index.PAGEFIND_MARK) :])["url"]


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
        threading.Thread(target=self.loop.run_forever, name="pagefind", daemon=True).start()

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
        marker = bundle / search.INDEXED_FILE
        keep_fragments = search.indexed_posts(handover.outdir) is not None
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
    """Index the pages of the build waiting in *queue* once its process has ended; say how it went.

    None if no build is waiting.  A failure is reported, and the next build's
    pages are indexed afresh.
    """
    started = time.perf_counter()
    try:
        handover = search.Handover.take(queue)
        if handover is None:
            return None
        while running(handover.pid):
            time.sleep(POLL_S / 5)
        started = time.perf_counter()
        done = indexer.update(handover)
    except Exception as error:  # any failure of Pagefind or of the files, never a traceback
        indexer.close()
        return f"search index not updated: {error}"
    return f"search: {done} in {time.perf_counter() - started:.1f} s"


def serve(indexer: Indexer, queue: Path, child: subprocess.Popen[bytes]) -> None:
    """Index each build's pages after it, for as long as *child* (sphinx-autobuild) runs."""
    while child.poll() is None:
        if (done := index_next(indexer, queue)) is None:
            time.sleep(POLL_S)
        else:
            print(f"kb: {done}", flush=True)


def stop(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)


def main(argv: Sequence[str] | None = None) -> int:
    """Run sphinx-autobuild with its builds' search indexed here; see the module's docstring."""
    parser = argparse.ArgumentParser(prog="python -m kb.preview", description=__doc__.split("\n\n")[0])
    parser.add_argument("--first-build", metavar="COMMAND", help="a build to run first (then: --no-initial)")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="sphinx-autobuild and its options")
    args = parser.parse_args(argv)
    if not args.command:
        parser.error("the command to run (sphinx-autobuild and its options) is missing")
    folder = Path(tempfile.mkdtemp(prefix="kb-preview-"))
    env = {**os.environ, search.QUEUE_VARIABLE: str(folder / "request.json")}
    signal.signal(signal.SIGTERM, stop)
    indexer = Indexer()
    child = None
    try:
        if args.first_build:
            subprocess.run(shlex.split(args.first_build), env=env, check=False)  # a failure shows in its log
        child = subprocess.Popen(args.command, env=env)
        os.nice(NICENESS)  # once the builds are started; Pagefind's process inherits it
        serve(indexer, folder / "request.json", child)
    except KeyboardInterrupt:
        pass
    finally:
        if child is not None and child.poll() is None:
            child.terminate()
        if child is not None:
            child.wait()
        indexer.close()
        shutil.rmtree(folder, ignore_errors=True)
    return 130 if child is None else child.returncode


if __name__ == "__main__":
    sys.exit(main())
