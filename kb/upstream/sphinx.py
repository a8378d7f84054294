"""Workarounds for Sphinx, written for Sphinx 9.0."""

from __future__ import annotations

import copyreg
import multiprocessing
import os
import pickle
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

import sphinx.builders
import sphinx.util.parallel
from sphinx.application import ENV_PICKLE_FILENAME
from sphinx.builders import Builder
from sphinx.builders.html import StandaloneHTMLBuilder
from sphinx.environment import BuildEnvironment
from sphinx.util import logging

from kb import standby
from kb.builder import READ_PAGES_WRITTEN, WRITTEN_VARIABLE, say_written
from kb.upstream import require

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence, Set

    from docutils import nodes
    from sphinx.application import Sphinx

logger = logging.getLogger(__name__)

#: The releases these workarounds were written for (and tested with).
SPHINX = "Sphinx>=9.0,<9.1"


# -- the search index ----------------------------------------------------------


def pagefind_replaces_search(app: Sphinx) -> None:
    """Leave out Sphinx's own search index and search page: Pagefind
    (``kb/search.py``) indexes the published posts and writes the search page.

    Sphinx has no setting for this (sphinx-doc/sphinx issue 14308); the HTML
    builder's ``search`` attribute, meant for the help builders, is the switch.
    Without it every build would also write ``searchindex.js`` (a sixth of a
    rebuild with nothing changed, at 2,000 posts) and a search page of its own.
    """
    if require(StandaloneHTMLBuilder, "search", versions=SPHINX) is not None:
        app.connect("builder-inited", leave_out_sphinx_search)


def leave_out_sphinx_search(app: Sphinx) -> None:
    """Switch Sphinx's index off for the builders Pagefind serves."""
    if app.builder.name in ("html", "dirhtml"):
        app.builder.search = False  # type: ignore[attr-defined]


# -- reading and writing in parallel ---------------------------------------------

#: Below this many documents to read, one process reads them faster than several.
SERIAL_READS = 20


def read_few_documents_serially(app: Sphinx) -> None:
    """Read a handful of changed documents in the main process.

    Sphinx 9 reads in parallel however few documents changed (the threshold of
    five documents of earlier releases is gone from ``Builder.read``), and each
    reader sends the whole environment back pickled: editing one post of 1,000
    cost seconds of pickling.  Upstream should bring back a threshold (no issue
    is open for it).
    """
    if require(app, "parallel", versions=SPHINX) is None:
        return
    app.connect("env-before-read-docs", on_env_before_read_docs)
    app.connect("env-updated", on_env_updated)


def on_env_before_read_docs(app: Sphinx, env: BuildEnvironment, docnames: list[str]) -> None:
    """Turn parallel reading off for this build's reading phase when there is little to read."""
    if app.parallel > 1 and len(docnames) < SERIAL_READS:
        app.kb_parallel = app.parallel  # type: ignore[attr-defined]
        app.parallel = 1


def on_env_updated(app: Sphinx, env: BuildEnvironment) -> list[str]:
    """Write in parallel again, as asked."""
    app.parallel = app.__dict__.pop("kb_parallel", app.parallel)
    return []


#: Documents per parallel reader or writer grow as ``sqrt(N / processes * CHUNK_BATCH)``
#: (Sphinx's ``make_chunks`` uses 10).
CHUNK_BATCH = 40
#: The parameters of Sphinx's ``make_chunks``, which :func:`longer_chunks` keeps.
CHUNK_PARAMETERS = ("arguments", "nproc", "maxbatch")


def longer_chunks(arguments: Sequence[str], nproc: int, maxbatch: int = CHUNK_BATCH) -> list[Any]:
    """Sphinx's ``make_chunks``, with chunks at least twice as long."""
    return sphinx.util.parallel.make_chunks(arguments, nproc, max(maxbatch, CHUNK_BATCH))


def parallel_work_in_fewer_chunks(app: Sphinx) -> None:
    """Write pages in every process, in chunks twice as long.

    With ``-j N`` Sphinx reads in N processes but writes in N - 1 while the
    main process resolves each page's references (``write_documents`` in
    sphinx/builders/__init__.py; sphinx-doc/sphinx issue 5953, pull request
    12433): on two cores, one writer, while the main process waits for it.
    The writers get all N processes.

    Each parallel reader sends back the whole environment it forked with plus
    what it read, and the main process unpickles it (``read_process``;
    sphinx-doc/sphinx issue 11448): the cost grows with the square of the
    number of chunks, 20 at 2,000 posts.  Half as many chunks: at 2,000 posts
    reading took 17 s instead of 21 to 25 s, writing 17.6 and 19.4 s instead
    of 19.1 and 21.0 s (``make bench`` corpus, two runs each).  Upstream
    should size chunks by what a chunk costs to send back, or make ``maxbatch``
    a setting.
    """
    make_chunks = require(sphinx.util.parallel, "make_chunks", versions=SPHINX, parameters=CHUNK_PARAMETERS)
    used = require(sphinx.builders, "make_chunks", versions=SPHINX, parameters=CHUNK_PARAMETERS)
    if make_chunks is not None and used is not None:
        sphinx.builders.make_chunks = longer_chunks  # type: ignore[attr-defined]
    if require(Builder, "_write_parallel", versions=SPHINX, parameters=("self", "docnames", "nproc")) is not None:
        app.connect("builder-inited", write_on_every_core)


def write_on_every_core(app: Sphinx) -> None:
    """Give the builder's parallel writing as many processes as ``-j`` asks for."""
    write_parallel: Callable[..., None] = app.builder._write_parallel  # type: ignore[attr-defined]

    def every_core(docnames: Sequence[str], nproc: int) -> None:
        write_parallel(docnames, nproc=max(nproc, app.parallel))

    app.builder._write_parallel = every_core  # type: ignore[attr-defined]


class ReadersForkedAtOnce(sphinx.util.parallel.ParallelTasks):
    """Sphinx's ``ParallelTasks``, forking each task's process as it is added; *nproc* of them work at once."""

    def __init__(self, nproc: int) -> None:
        super().__init__(nproc)
        self.gate = multiprocessing.get_context("fork").Semaphore(nproc)
        self.nproc = sys.maxsize  # every process starts when its task is added, then waits at the gate

    def add_task(
        self, task_func: Callable[..., Any], arg: Any = None, result_func: Callable[[Any, Any], Any] | None = None
    ) -> None:
        def gated(*args: Any) -> Any:
            with self.gate:
                return task_func(*args)

        super().add_task(gated, arg, result_func)


def readers_fork_before_any_merge(app: Sphinx) -> None:
    """Fork every parallel reader before the main process merges what the first one read.

    Each reader pickles the whole environment back when its chunk is read, and
    Sphinx forks a reader only when a process is free, after merging what the
    earlier ones sent (``_read_parallel`` in sphinx/builders/__init__.py;
    sphinx-doc/sphinx issues 11448 and 10967): the later readers send back
    everything read before them, so reading grows faster than the number of
    documents.  Plain Sphinx with the basic theme took 201 of a full build's
    304 s to read 10,000 posts of the ``make bench`` corpus, against 11 of 21 s
    at 1,000.  Forked when its chunk is added, every reader starts from the
    environment as it was before reading, and a gate lets *nproc* of them work
    at once: this site read the 10,000 posts in 100 to 123 s (three full
    builds) instead of 162 s.  Upstream should fork the readers first, or send
    back only what a reader read.
    """
    read_parallel = require(Builder, "_read_parallel", versions=SPHINX, parameters=("self", "docnames", "nproc"))
    tasks = require(sphinx.builders, "ParallelTasks", versions=SPHINX, parameters=("nproc",))
    add_task = require(
        sphinx.util.parallel.ParallelTasks,
        "add_task",
        versions=SPHINX,
        parameters=("self", "task_func", "arg", "result_func"),
    )
    if read_parallel is not None and tasks is not None and add_task is not None:
        app.connect("builder-inited", fork_readers_at_once)


def fork_readers_at_once(app: Sphinx) -> None:
    """Have the builder's parallel reading fork every reader at once."""
    read_parallel: Callable[..., None] = app.builder._read_parallel  # type: ignore[attr-defined]

    def at_once(docnames: list[str], nproc: int) -> None:
        tasks = sphinx.builders.ParallelTasks  # type: ignore[attr-defined]
        sphinx.builders.ParallelTasks = ReadersForkedAtOnce  # type: ignore[attr-defined]
        try:
            read_parallel(docnames, nproc)
        finally:
            sphinx.builders.ParallelTasks = tasks  # type: ignore[attr-defined]

    app.builder._read_parallel = at_once  # type: ignore[attr-defined]


# -- deleted documents -------------------------------------------------------


def remove_pages_of_deleted_documents(app: Sphinx) -> None:
    """Remove the page of a deleted document in the build that notices the deletion.

    Sphinx forgets a deleted document but leaves its page in the output folder
    (sphinx-doc/sphinx issue 5908), where it stays reachable with stale listings.
    """
    if require(StandaloneHTMLBuilder, "get_outfilename", versions=SPHINX, parameters=("self", "pagename")) is not None:
        app.connect("env-get-outdated", remove_deleted_pages)


def remove_deleted_pages(
    app: Sphinx, env: BuildEnvironment, added: Set[str], changed: Set[str], removed: Set[str]
) -> list[str]:
    """Delete the written page of every removed document."""
    if isinstance(app.builder, StandaloneHTMLBuilder):
        for docname in removed:
            Path(app.builder.get_outfilename(docname)).unlink(missing_ok=True)
    return []


# -- the saved post's page first, in the preview ---------------------------------


def read_pages_written_first(app: Sphinx) -> None:
    """Write the pages of the documents read in this build before the others.

    Sphinx writes a build's pages in alphabetical order.  After a consultant
    saves a post, that puts the pages that merely list it (``authors/...``,
    ``glossary``, ``index``) before the post's own page, which the preview
    shows first (about a third of a second at 2,000 posts, PERFORMANCE.md).
    The ``html`` builder is replaced by :class:`ReadFirstHTMLBuilder`, whose
    ``write_documents`` (the builder's documented point to override) writes
    the documents read first, then the others, each group by Sphinx's own
    ``write_documents``; a full build reads every document, so its order is
    Sphinx's.  Once the first group is written, a build forked by the preview
    says so (:func:`kb.builder.say_written`), and the builder emits
    :data:`kb.builder.READ_PAGES_WRITTEN`.  None open: Sphinx could write
    what it has just read first.
    """
    if require(StandaloneHTMLBuilder, "write_documents", versions=SPHINX, parameters=("self", "docnames")) is None:
        return
    app.add_builder(ReadFirstHTMLBuilder, override=True)
    app.connect("env-before-read-docs", note_read_now, priority=900)  # after any handler adds some


class ReadFirstHTMLBuilder(StandaloneHTMLBuilder):
    """Sphinx's ``html`` builder; the pages of the documents read in this build come first."""

    #: The documents read in this build (set on ``env-before-read-docs``).
    read_now: frozenset[str] = frozenset()

    def write_documents(self, docnames: Set[str]) -> None:
        first = docnames & self.read_now
        if first:
            super().write_documents(first)
            say_written()
            self.events.emit(READ_PAGES_WRITTEN)
        if rest := docnames - first:
            super().write_documents(rest)


def note_read_now(app: Sphinx, env: BuildEnvironment, docnames: list[str]) -> None:
    if isinstance(app.builder, ReadFirstHTMLBuilder):
        app.builder.read_now = frozenset(docnames)


# -- the environment's pickle in the preview -----------------------------------

#: The copies of the process writing the environment's pickle, waited for when the build ends.
PICKLING: list[int] = []


def environment_pickled_aside(app: Sphinx) -> None:
    """In a preview build set up before the save (:func:`kb.standby.asked`), let a forked copy
    of the process write the environment's pickle while the build writes its pages.

    ``Builder.build`` pickles the environment after reading and before
    writing, so the saved post's page waited for it: 0.25 s at 2,000 posts, a
    third of a preview build after a save (PERFORMANCE.md, *The build set up
    before the save*).  From the last ``env-get-updated`` handler to the first
    ``env-check-consistency`` handler, between which Sphinx pickles it, the
    environment pickles as an empty stand-in, and a copy forked at that moment
    writes the real pickle over it; the build waits for the copy at its end
    (if the copy failed, the pickle is removed and the next build reads every
    page).  None open: Sphinx could write the pickle in the background, or
    after the pages.
    """
    build = require(Builder, "build", versions=SPHINX, parameters=("self", "docnames", "summary", "method"))
    if build is None or require(BuildEnvironment, "__getstate__", versions=SPHINX, parameters=("self",)) is None:
        return
    app.connect("env-get-updated", pickle_aside, priority=1000)  # the last handler before the pickle
    app.connect("env-check-consistency", lambda app, env: pickle_in_place(), priority=0)  # the first after
    app.connect("build-finished", wait_for_pickle)


def pickle_aside(app: Sphinx, env: BuildEnvironment) -> list[str]:
    if standby.asked(app):
        copyreg.pickle(BuildEnvironment, pickled_by_a_copy)
    return []


def pickle_in_place() -> None:
    copyreg.dispatch_table.pop(BuildEnvironment, None)


def pickled_by_a_copy(env: BuildEnvironment) -> tuple[type[dict[str, Any]], tuple[()]]:
    """Fork a copy of this process that writes *env*'s pickle; the stand-in Sphinx writes (``{}``)."""
    pickle_in_place()
    target = Path(env.doctreedir, ENV_PICKLE_FILENAME)
    pid = os.fork()
    if pid == 0:  # the copy: the environment as it is now, whatever the build does next
        status = 1
        try:
            if descriptor := os.environ.get(WRITTEN_VARIABLE, ""):
                os.close(int(descriptor))  # the preview hears of the pages from the build only
            part = target.with_name(f"{target.name}.part")
            with part.open("wb") as out:
                pickle.dump(env, out, pickle.HIGHEST_PROTOCOL)
            part.replace(target)
            status = 0
        finally:
            os._exit(status)
    PICKLING.append(pid)
    return dict, ()


def wait_for_pickle(app: Sphinx, exception: Exception | None) -> None:
    """Wait for the copies writing the pickle; if one failed, the next build starts afresh."""
    pickle_in_place()
    while PICKLING:
        if os.waitstatus_to_exitcode(os.waitpid(PICKLING.pop(), 0)[1]):
            Path(app.doctreedir, ENV_PICKLE_FILENAME).unlink(missing_ok=True)
            logger.warning("kb: the environment could not be saved; the next build reads every page")


# -- a page's body for a feed ------------------------------------------------------

#: What the HTML builder sets before writing a page, and its translator reads.
PAGE_STATE = ("secnumbers", "fignumbers", "imgpath", "dlpath", "current_docname", "add_permalinks")


def feed_fragments_written_as_pages(app: Sphinx) -> None:
    """Check at start-up what :func:`write_fragment` changes, for ``kb/feeds.py``.

    A full-text feed entry is the post's body written as on its page, but with
    images and downloads at their published address and without permalinks.
    Sphinx offers no way to write a fragment for a given document
    (``render_partial`` writes it for whichever page was written last); upstream
    should accept the document and base address there.  ABlog does the same
    (``html_builder_write_doc`` in ablog/blog.py).
    """
    require(StandaloneHTMLBuilder, "write_doc", versions=SPHINX, parameters=("self", "docname", "doctree"))
    require(StandaloneHTMLBuilder, "create_translator", versions=SPHINX, parameters=("self", "args"))


def write_fragment(builder: Builder, fragment: nodes.document, docname: str, site_url: str) -> str:
    """*fragment* of document *docname* as HTML, its sections starting at ``<h2>``."""
    fragment.settings = builder.docsettings  # type: ignore[attr-defined]
    state = {
        "secnumbers": {},
        "fignumbers": {},
        "imgpath": urljoin(site_url, "_images"),
        "dlpath": urljoin(site_url, "_downloads"),
        "current_docname": docname,
        "add_permalinks": False,
    }
    saved = {name: getattr(builder, name, None) for name in PAGE_STATE}
    try:
        for name in PAGE_STATE:
            setattr(builder, name, state[name])
        translator = builder.create_translator(fragment, builder)
        translator.section_level = 1  # type: ignore[attr-defined]
        fragment.walkabout(translator)
    finally:
        for name, value in saved.items():
            setattr(builder, name, value)
    return "".join(translator.fragment)  # type: ignore[attr-defined]
