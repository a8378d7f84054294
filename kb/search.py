"""Full-text search with filters, built by Pagefind once the HTML is written.

Sphinx's own search loads one index for the whole site, ranks with fixed
weights and cannot filter.  Pagefind indexes the written pages instead and
loads only the index fragments a query needs.  Only the body of each post is
indexed (``data-pagefind-body``), never the navigation; each post carries its
authors, tags, practice, series and year as filters and its date as a sort key.

Each glossary entry is a result of its own, of the kind "Glossary term" (posts
are of the kind "Post", a filter like the others): Pagefind indexes one record
per page, so each entry is given to it as a small page of its own, in the
folder staged for the indexer only, holding the entry's terms (a search for
any of them finds it) and definition, and its address on the glossary page as
the ``url`` metadata, which Pagefind's own interface also follows.

``search.html`` (``_templates/search.html``) asks Pagefind's API and shows the
results as the site's listings (``_static/kb-search.js``); the
header's search box and Ctrl+K lead there, as does ``{kb-search-box}``
(:mod:`kb.search_box`).  Sphinx's own index is then not built
(kb/upstream/sphinx.py), and pages do not load it (``_templates/layout.html``):
the theme would otherwise make every page download the index of the whole site.

Pagefind has no incremental mode (Pagefind issue 71): every build that
changes a post indexes all of them again.  It does not write a file whose
content-named file is already there, so the fragments of unchanged posts (most
of the bundle) are kept from the last complete index (:func:`kb.pagefind_index.index_pages`).

A site of more than ``kb_search_pages_per_bundle`` pages is indexed as
several indexes, which the search page asks as one (:mod:`kb.search_parts`).

In ``make serve`` the build does not index at all: with ``KB_SEARCH_QUEUE``
set, as soon as the saved pages are written (``kb-read-pages-written``), and
again once every page is, it writes the list of its post pages and of its
glossary entries (as pages, in a folder beside the output) into that file, and
the preview's own indexer (kb/preview/), which keeps Pagefind's index in
memory between builds, makes them searchable while the build writes its feeds
and listing pages.
"""

from __future__ import annotations

import html
import json
import math
import os
import shutil
import tempfile
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from docutils import nodes
from sphinx.util import logging

from kb import __version__, citations, model, pagefind_index
from kb.builder import READ_PAGES_WRITTEN
from kb.content import post_of, site_of
from kb.glossary import Entry, entries
from kb.render import DATE_FORMAT, SEARCH_PAGE
from kb.rules import PAGES_PER_BUNDLE, count_setting
from kb.search_parts import (
    BUNDLE_DIR,
    INDEXED_FILE,
    RECENT_DIR,
    VOCABULARY_FILTER,
    Bundle,
    Indexed,
    Reading,
    bundles,
    documents_indexed,
    index_parts,
    indexed_posts,
    newer_pages,
    remove_other_bundles,
    words_file,
)

if TYPE_CHECKING:
    from collections.abc import Iterable

    from sphinx.application import Sphinx

logger = logging.getLogger(__name__)


#: The kinds of result, a filter of their own.
POST_KIND = "Post"
TERM_KIND = "Glossary term"


def facets(site: model.Site, post: model.Post, regulations: Iterable[str] = ()) -> list[tuple[str, str]]:
    """``(filter, value)`` pairs a reader can narrow search results by; *regulations*: the documents the post cites."""
    out = [("kind", POST_KIND)]
    out += [("author", site.authors[key].name) for key in post.authors if key in site.authors]
    out += [("tag", tag) for tag in post.tags]
    if post.practice:
        out.append(("practice", post.practice))
    if post.series and post.series in site.series:
        out.append(("series", site.series[post.series].title))
    if post.date:
        out.append(("year", str(post.date.year)))
    out += [("regulation", document) for document in regulations]
    return out


#: Look-alikes for the two characters that make markup.
NOT_MARKUP = str.maketrans({"<": "\uff1c", ">": "\uff1e"})


def filter_value(value: str) -> str:
    """*value* as a filter that Pagefind's interface can show.

    Pagefind's Default UI (1.5.2) escapes titles and metadata (Pagefind PR 415)
    but writes filter values into the page as HTML, and Pagefind decodes every
    character reference in them when indexing.  So a tag such as
    ``Fish & <Chips>`` would show as ``Fish &`` (and a name holding an
    ``<img onerror=...>`` would run).  The value is decoded here as far as it
    goes, then the two characters that open and close markup become their
    full-width look-alikes.
    """
    while (plain := html.unescape(value)) != value:
        value = plain
    return value.translate(NOT_MARKUP)


#: The metadata that gives the preview's search page each post's sort key (kb-search.js
#: merges answers sorted by date with it; Pagefind's own sort keys are not in its results).
SORT_META = "sort_date"


def pagefind_markup(
    site: model.Site, post: model.Post, regulations: Iterable[str] = (), *, preview: bool = False
) -> str:
    """Hidden elements that give Pagefind the post's filters, sort key, date and series part
    (and in the preview, where the search page merges two indexes, its sort key as metadata).

    ``data-pagefind-ignore`` keeps their text out of the indexed content while
    Pagefind still records the filters, metadata and sort keys inside.
    """
    spans = [f'<span data-pagefind-meta="title">{escape(post.title)}</span>']
    spans += [
        f'<span data-pagefind-filter="{key}">{escape(filter_value(value))}</span>'
        for key, value in facets(site, post, regulations)
    ]
    if post.date:
        day = post.date.date().isoformat()
        spans.append(f'<span data-pagefind-sort="date">{day}</span>')
        spans.append(f'<span data-pagefind-meta="date">{post.date.strftime(DATE_FORMAT)}</span>')
        if preview:
            spans.append(f'<span data-pagefind-meta="{SORT_META}">{day}</span>')
    if post.series and post.series in site.series and post.part:
        part = f"{site.series[post.series].title} · Part {post.part}"  # as listings badge it
        spans.append(f'<span data-pagefind-meta="part">{escape(part)}</span>')
    return f'<div class="kb-search-data" data-pagefind-ignore hidden>{"".join(spans)}</div>'


def on_html_page_context(
    app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: nodes.document | None
) -> None:
    """Mark a post's body as the one part of its page that search indexes."""
    post = post_of(app.env, pagename)
    if post is None or "body" not in context:
        return
    cited = citations.documents_cited(app.env, pagename)
    markup = pagefind_markup(site_of(app.env), post, cited, preview=queue_file() is not None)
    context["body"] = f'<div class="kb-search-body" data-pagefind-body>{context["body"]}{markup}</div>'


def term_record(entry: Entry, url: str, language: str) -> str:
    """A glossary entry as a page for the indexer: its terms as its heading, its definition, its address.

    The heading joins the terms with commas, which stay with the words, so an
    excerpt that starts at a term starts with it; the title shown joins them
    with a middle dot.
    """
    title = escape(" · ".join(entry.terms))
    return (
        f'<!DOCTYPE html><html lang="{escape(language)}"><head><meta charset="utf-8"><title>{title}</title></head>'
        f"<body><main data-pagefind-body><h1>{escape(', '.join(entry.terms))}</h1><p>{escape(entry.definition)}</p>"
        f'<div data-pagefind-ignore hidden><span data-pagefind-meta="title">{title}</span>'
        f'<a data-pagefind-meta="url[href]" href="{escape(url)}"></a>'
        f'<span data-pagefind-meta="kind">{TERM_KIND}</span><span data-pagefind-filter="kind">{TERM_KIND}</span>'
        "</div></main></body></html>"
    )


def stage_terms(app: Sphinx, glossary: list[Entry], folder: Path) -> list[str]:
    """Write each entry of the *glossary* into *folder* as a page of its own (see :func:`term_record`).

    Returns their paths in *folder*.  A page already there as it would be
    written is left as it is, so that its time says when it last changed.
    """
    language = app.config.language or "en"
    pages = []
    for entry in glossary:
        page = f"{entry.docname}/{entry.anchor}.html"
        text = term_record(entry, f"{app.builder.get_target_uri(entry.docname)}#{entry.anchor}", language)
        target = folder / page
        if not target.is_file() or target.read_text(encoding="utf-8") != text:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        pages.append(page)
    return pages


def searching(app: Sphinx) -> bool:
    """Whether this build makes the Pagefind index (HTML builders only)."""
    return app.builder.name in ("html", "dirhtml")


def on_html_collect_pages(app: Sphinx) -> list[tuple[str, dict[str, Any], str]]:
    """Start indexing (every post page is written by now), or hand the pages to the preview;
    add the search page.

    Sphinx writes the search page only with its own index.  Indexing runs in
    the background while Sphinx writes the remaining pages and feeds.
    """
    if not searching(app):
        return []
    if (queue := queue_file()) is not None:  # the preview indexes them, as one index
        hand_over(app, queue)
        return [(SEARCH_PAGE, search_page([(BUNDLE_DIR, True)], recent=RECENT_DIR), "search.html")]
    parts = site_bundles(app)
    try:
        app.kb_search_job = start_index(app, parts)  # type: ignore[attr-defined]
    except OSError as error:  # the pages could not be staged for the indexer
        not_built(Path(app.outdir), error)
    return [(SEARCH_PAGE, search_page([(part.folder, bool(part.posts)) for part in parts]), "search.html")]


def on_read_pages_written(app: Sphinx) -> None:
    """In the preview, hand the pages over as soon as the saved pages are written: the preview
    indexes them while the build writes the pages that list them (and hands over again then)."""
    if searching(app) and (queue := queue_file()) is not None:
        hand_over(app, queue)


def search_page(indexes: list[tuple[str, bool]], recent: str = "") -> dict[str, Any]:
    """What the search page needs to know of the *indexes* (folder, whether it holds posts: only
    those answer a search sorted by date), the filter of their hidden pages, and in the preview
    the folder of its recent index (:mod:`kb.preview.recent`)."""
    bundles = [{"folder": folder, "posts": holds} for folder, holds in indexes]
    context = {"kb_search_bundles": bundles, "kb_search_hidden": VOCABULARY_FILTER, "kb_search_recent": recent}
    return {**context, "kb_search_sort_meta": SORT_META}


#: Set by ``make serve`` (kb/preview/): the file into which a build writes its
#: post pages for the preview's indexer, instead of indexing them itself.
QUEUE_VARIABLE = "KB_SEARCH_QUEUE"


def queue_file() -> Path | None:
    """Where this build hands its pages to the preview's indexer, if it does."""
    value = os.environ.get(QUEUE_VARIABLE, "")
    return Path(value) if value else None


def build_posts(app: Sphinx) -> list[str]:
    """The posts of this build, sorted.

    Only these: the output folder may still hold pages of posts that have
    since become drafts, which must not be found.
    """
    return sorted(docname for docname in app.env.found_docs if post_of(app.env, docname) is not None)


def page_of(app: Sphinx, docname: str) -> Path:
    """The page of *docname*, relative to the output folder."""
    return Path(app.builder.get_outfilename(docname)).relative_to(app.outdir)


@dataclass(frozen=True)
class Handover:
    """A build's pages for search, handed over to the preview's indexer (kb/preview/)."""

    VERSION: ClassVar[int] = 3

    outdir: Path
    #: The post pages, relative to *outdir*.
    pages: tuple[str, ...]
    #: The folder of the glossary's entries as pages (:func:`stage_terms`), and those pages.
    terms: Path
    term_pages: tuple[str, ...]
    #: The documents the index holds (:data:`INDEXED_FILE`).
    indexed: tuple[str, ...]

    def files(self) -> dict[str, Path]:
        """Every page to index, by its path in the index (which gives its address)."""
        return {**{page: self.terms / page for page in self.term_pages}, **{p: self.outdir / p for p in self.pages}}

    def write(self, queue: Path) -> None:
        """Put this hand-over into *queue* in one step, in place of any not yet taken."""
        data = {"outdir": str(self.outdir), "pages": self.pages, "terms": str(self.terms)}
        data |= {"term_pages": self.term_pages, "indexed": self.indexed}
        partial = queue.with_name(f"{queue.name}.part")
        partial.write_text(json.dumps({"version": self.VERSION, **data}), encoding="utf-8")
        partial.replace(queue)

    @classmethod
    def take(cls, queue: Path) -> Handover | None:
        """The hand-over waiting in *queue*, removed from it; None if there is none."""
        taken = queue.with_name(f"{queue.name}.taken")
        try:
            queue.replace(taken)
        except FileNotFoundError:
            return None
        data = json.loads(taken.read_text(encoding="utf-8"))
        taken.unlink()
        if data.pop("version", None) != cls.VERSION:
            raise ValueError(f"{queue}: a hand-over of another version, expected {cls.VERSION}")
        pages, terms, indexed = (tuple(data[key]) for key in ("pages", "term_pages", "indexed"))
        return cls(Path(data["outdir"]), pages, Path(data["terms"]), terms, indexed)


def terms_folder(app: Sphinx) -> Path:
    """Where a preview build keeps the glossary's entries as pages, beside its output folder."""
    outdir = Path(app.outdir).resolve()
    return outdir.parent / f"{outdir.name}-glossary-entries"


def hand_over(app: Sphinx, queue: Path) -> None:
    """Hand this build's post pages and glossary entries over to the preview's indexer."""
    posts = build_posts(app)
    terms = entries(app.env)
    folder = terms_folder(app)
    term_pages = stage_terms(app, terms, folder)
    for path in folder.rglob("*.html"):  # entries gone
        if path.relative_to(folder).as_posix() not in term_pages:
            path.unlink()
    pages = tuple(page_of(app, docname).as_posix() for docname in posts)
    indexed = tuple(documents_indexed(posts, terms))
    Handover(Path(app.outdir).resolve(), pages, folder, tuple(term_pages), indexed).write(queue)


def site_bundles(app: Sphinx) -> list[Bundle]:
    """This build's search indexes (:mod:`kb.search_parts`): its posts newest first, and the glossary's entries."""
    site = site_of(app.env)

    def newest_first(docname: str) -> tuple[float, str]:
        date = site.posts[docname].date
        return (-date.timestamp() if date else math.inf, docname)

    posts = sorted(build_posts(app), key=newest_first)
    return bundles(posts, entries(app.env), count_setting(app.config, "kb_search_pages_per_bundle"))


def words_folder(app: Sphinx) -> Path:
    """Where a build keeps the words each index's hidden page holds (beside Sphinx's read pages)."""
    return Path(app.doctreedir) / "kb-search-words"


@dataclass
class IndexJob:
    """Pagefind indexing this build's changed indexes in a thread of its own."""

    staged: Path
    started: float
    future: Future[Indexed]


def start_index(app: Sphinx, parts: list[Bundle]) -> IndexJob | None:
    """Index, in the background, the post pages and glossary entries of each of *parts* not current.

    With several indexes, every index's pages are staged: the site's words
    are read from them all, and an index whose hidden page of words lacks one
    is indexed again too (:mod:`kb.search_parts`).
    """
    outdir = Path(app.outdir)
    remove_other_bundles(outdir, parts)
    total = sum(len(part.posts) + len(part.terms) for part in parts)
    newer = {
        part.folder: newer_pages(outdir / part.folder, [outdir / app.builder.get_target_uri(d) for d in part.documents])
        for part in parts
    }
    stale = {
        part.folder
        for part in parts
        if newer[part.folder] != [] or indexed_posts(outdir / part.folder) != part.documents
    }
    if not stale:
        logger.info("kb: search index is up to date (%d pages)", total)
        return None
    several = len(parts) > 1
    changed = sum(len(part.posts) + len(part.terms) for part in parts if part.folder in stale)
    among = f" ({len(stale)} of {len(parts)} indexes, and any that lacks a new word)" if several else ""
    logger.info("kb: indexing %d pages for search%s", changed, among)
    staged = Path(tempfile.mkdtemp(prefix="kb-search-", dir=outdir.parent))
    term_pages = []
    try:
        for part in parts:
            if several or part.folder in stale:
                pagefind_index.stage(outdir, [page_of(app, docname) for docname in part.posts], staged / part.folder)
                term_pages += [
                    staged / part.folder / page for page in stage_terms(app, list(part.terms), staged / part.folder)
                ]
    except OSError:
        shutil.rmtree(staged, ignore_errors=True)
        for part in parts:
            if part.folder in stale:
                shutil.rmtree(outdir / part.folder, ignore_errors=True)
        raise
    # The site's new words are in the pages written since each index was made, if
    # every index says which words it knows; otherwise every page is read.
    words = words_folder(app)
    known = all(newer[part.folder] is not None and words_file(words, part).is_file() for part in parts)
    read = [page for part in parts for page in newer[part.folder] or () if page.is_file()] if known else None
    language = app.config.language or "en"
    pool = ThreadPoolExecutor(max_workers=1)
    future = pool.submit(index_parts, outdir, staged, parts, stale, Reading(words, read, term_pages, language))
    pool.shutdown(wait=False)
    return IndexJob(staged, time.perf_counter(), future)


def not_built(outdir: Path, error: Exception) -> None:
    logger.warning(
        "search index not built: %s (check that 'pagefind[bin]' from requirements.txt is installed)",
        error,
        location=f"{outdir / BUNDLE_DIR}:",
        type="kb",
        subtype="search",
    )


def on_build_finished(app: Sphinx, exception: Exception | None) -> None:
    """Wait for the search index and check that it holds every post."""
    job: IndexJob | None = app.__dict__.pop("kb_search_job", None)
    if job is None:
        return
    outdir = Path(app.outdir)
    try:
        done = job.future.result()
    except Exception as error:  # any failure of the indexer is reported, never a traceback
        not_built(outdir, error)
        return
    finally:
        shutil.rmtree(job.staged, ignore_errors=True)
    if exception is not None:
        return
    logger.info("kb: indexed %d pages for search in %.1f s", done.pages, time.perf_counter() - job.started)
    for part in done.bundles:
        (outdir / part.folder / INDEXED_FILE).write_text(json.dumps(part.documents), encoding="utf-8")
    if done.words is not None:  # several indexes: the words each one's hidden page now holds
        words, known = words_folder(app), "\n".join(sorted(done.words))
        words.mkdir(parents=True, exist_ok=True)
        for part in done.bundles:
            words_file(words, part).write_text(known, encoding="utf-8")
    if done.pages != done.expected:
        logger.warning(
            "search indexed %d pages but the site has %d posts and glossary entries "
            "(is data-pagefind-body on every post?)",
            done.pages,
            done.expected,
            location=f"{outdir / BUNDLE_DIR}:",
            type="kb",
            subtype="search",
        )


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("html-collect-pages", on_html_collect_pages, priority=100)  # first: indexing runs meanwhile
    app.add_event(READ_PAGES_WRITTEN)
    app.connect(READ_PAGES_WRITTEN, on_read_pages_written)
    app.connect("html-page-context", on_html_page_context)
    app.connect("build-finished", on_build_finished)
    app.add_config_value("kb_search_pages_per_bundle", PAGES_PER_BUNDLE, "html", types=frozenset({int}))
    return {"version": __version__, "env_version": 1, "parallel_read_safe": True, "parallel_write_safe": True}
