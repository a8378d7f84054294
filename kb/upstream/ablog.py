"""Workarounds for ABlog, written for ABlog 0.11."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ablog
import ablog.blog
import ablog.post
from sphinx.util import logging

from kb import keys, model, tags
from kb.pages import leftover
from kb.upstream import require

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Set

    from docutils import nodes
    from sphinx.application import Sphinx
    from sphinx.config import Config
    from sphinx.environment import BuildEnvironment

logger = logging.getLogger(__name__)

#: The releases these workarounds were written for (and tested with).
ABLOG = "ablog>=0.11.13,<0.12"


# -- reading -------------------------------------------------------------------


def read_in_parallel(app: Sphinx) -> None:
    """Let Sphinx read in parallel although ABlog is loaded.

    ABlog declares ``parallel_read_safe: False`` although its only per-document
    state, ``env.ablog_posts``, is keyed by docname and purged by ABlog itself;
    it just lacks an ``env-merge-info`` handler (sunpy/ablog issue 297, pull
    request 330).  Sphinx would read serially, half the speed on two cores,
    and print an untyped warning that ``-W`` turns into an error.
    """
    if require(app.extensions["ablog"], "parallel_read_safe", versions=ABLOG) is None:
        return
    app.extensions["ablog"].parallel_read_safe = True
    app.connect("env-merge-info", on_env_merge_info)


def on_env_merge_info(app: Sphinx, env: BuildEnvironment, docnames: Set[str], other: BuildEnvironment) -> None:
    """Bring the posts a parallel reader found into the main environment."""
    posts = getattr(other, "ablog_posts", {})
    mine = env.__dict__.setdefault("ablog_posts", {})
    for docname in docnames:
        if docname in posts:
            mine[docname] = posts[docname]


def fresh_state_per_build(app: Sphinx) -> None:
    """Start each Sphinx application with an empty ABlog.

    ABlog keeps its posts and collections in state shared by every ``Blog``
    object of the process (``ablog.blog.Blog._dict``), filled by the first
    application only; a second build in the same process (tests, a server that
    rebuilds in place) would list the first build's posts and skip its own tag
    pages.  Same shared state as in sunpy/ablog issue 316; upstream should keep
    the state on the application or its environment.
    """
    if require(ablog.blog.Blog, "_dict", versions=ABLOG) is not None:
        app.connect("config-inited", on_config_inited, priority=100)


def on_config_inited(app: Sphinx, config: Config) -> None:
    """Empty ABlog's process-wide state before ABlog fills it for this build."""
    ablog.blog.Blog._dict.clear()


def lean_post_records(app: Sphinx) -> None:
    """Keep ABlog's records of posts small.

    ABlog keeps each post's excerpt nodes still attached to the post's doctree,
    and a deep copy of the whole doctree besides (``postinfo["excerpt"]`` and
    ``postinfo["doctree"]`` in ``process_posts``, ablog/post.py), so pickling the
    environment pickles every post twice: 16 of 20 MB at 1,000 posts, loaded
    by every build and sent back by every parallel reader.  The excerpt is
    detached (a copy without parent); the doctree copy is read only by ABlog's
    full-text feeds, which are never written here
    (:func:`collection_pages_when_changed`), so it is dropped.  Upstream should
    keep neither (no issue is open for it).
    """
    if require(ablog.post, "process_posts", versions=ABLOG, parameters=("app", "doctree")) is not None:
        app.connect("doctree-read", on_doctree_read, priority=900)


def on_doctree_read(app: Sphinx, doctree: nodes.document) -> None:
    """Detach the excerpt ABlog just recorded; forget its copy of the post."""
    for info in getattr(app.env, "ablog_posts", {}).get(app.env.docname, []):
        info["excerpt"] = [node.deepcopy() for node in info["excerpt"]]
        info["doctree"] = None


# -- collection pages and feeds -------------------------------------------------

#: Written into the doctree folder, so that ``make clean`` removes it with the rest.
ARCHIVE_STATE = "kb-archive-pages.json"

#: ABlog's pages that list every post of every tag, author or year by title and
#: date only (``_templates/ablog/catalog.html``): what they show is all shared.
TITLES_ONLY = "ablog/catalog.html"


def collection_pages_when_changed(app: Sphinx) -> None:
    """Write ABlog's archive, tag and category pages only when what they show
    changed, remove those ABlog no longer writes, and leave feeds to ``kb/feeds.py``.

    ABlog renders every one of those pages on every build, even when nothing
    changed (``generate_archive_pages``, connected to ``html-collect-pages``):
    at 500 posts a rebuild with no change took as long as writing every post
    (abakan-zz/ablog issue 24).  A page is rendered again only when the posts
    it shows were read again, its place in its listing changed (listings come
    in pages, :mod:`kb.paging`), or something every page shows changed (see
    :func:`page_key`).  ABlog never deletes the page of a tag nobody uses any
    more; this is the one place that does.

    ABlog's ``generate_atom_feeds`` credits only the last author of each post
    (``{"name": author.name for author in post.author}`` is a set
    comprehension, so feedgen receives one dict) and writes a feed per ABlog
    collection with rendered excerpts; ``kb/feeds.py`` writes the feeds instead.
    """
    pages = require(ablog.post, "generate_archive_pages", versions=ABLOG, parameters=("app",))
    feeds = require(ablog.post, "generate_atom_feeds", versions=ABLOG, parameters=("app",))
    if pages is None or feeds is None:
        return
    for listener in list(app.events.listeners.get("html-collect-pages", [])):
        if listener.handler in (pages, feeds):
            app.disconnect(listener.id)
    app.connect("html-collect-pages", functools.partial(collect_changed_pages, generate=pages))
    app.connect("build-finished", on_build_finished)


def shared_key(app: Sphinx) -> str:
    """What every collection page may show besides its own posts: settings,
    templates, the pages that are not posts (the navigation), the vocabulary,
    authors and series.

    The pages as written and what their tables of contents include, not when
    they were read: Sphinx reads every page with a ``:glob:`` table of contents
    again whenever a post is added (the author and series indexes), which
    changes nothing these pages show."""
    posts = getattr(app.env, "ablog_posts", {})
    pages = sorted(
        (doc, written(app.env.doc2path(doc)), app.env.toctree_includes.get(doc, []))
        for doc in app.env.all_docs
        if doc not in posts
    )
    site = getattr(app.env, "kb_site", None)
    terms = (site.tags, site.practices, site.authors, site.series) if site is not None else ()
    return keys.digest((keys.build_key(app), pages, terms))


def written(path: Path) -> str | None:
    """A digest of the file at *path* as it is now."""
    try:
        return keys.digest(path.read_bytes())
    except OSError:
        return None


def filed_key(app: Sphinx) -> str:
    """Where every post is filed (date, title, tags, authors, practice): all that
    a page of titles and dates shows of its posts."""
    filed = sorted(
        (doc, [(i["date"], i["update"], i["title"], i["tags"], i["author"], i["category"]) for i in infos])
        for doc, infos in getattr(app.env, "ablog_posts", {}).items()
    )
    return keys.digest(filed)


def site_fingerprint(app: Sphinx, shared: str) -> str:
    """Changes whenever a document is read, added or removed, or settings or templates change."""
    posts = sorted((doc, app.env.all_docs.get(doc)) for doc in getattr(app.env, "ablog_posts", {}))
    return keys.digest((shared, posts))


def page_key(app: Sphinx, shared: str, filed: str, pagename: str, context: dict[str, Any], template: str) -> str | None:
    """What one page of a listing is written from: its place in the listing and
    the posts it shows (``kb_paging`` and ``kb_shown``, see
    :func:`kb.tags.every_listing_page`) as last read, or, for a page of titles
    and dates, where every post is filed; and everything shared.  So a post
    filed elsewhere, or read again, rewrites only the pages that show it."""
    shown = context.get("kb_shown")
    if shown is None:
        return None
    scalars = sorted((k, v) for k, v in context.items() if isinstance(v, str | int | float | bool | type(None)))
    read = filed if template == TITLES_ONLY else [(docname, app.env.all_docs.get(docname)) for docname in shown]
    return keys.digest((shared, pagename, template, scalars, repr(context.get("kb_paging")), read))


def archive_state_path(app: Sphinx) -> Path:
    return app.doctreedir / ARCHIVE_STATE


def archive_state(app: Sphinx) -> dict[str, Any]:
    """What the last good build wrote its collection pages from."""
    try:
        state = json.loads(archive_state_path(app).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return state if isinstance(state, dict) else {}


def collect_changed_pages(app: Sphinx, generate: Callable[[Sphinx], Any]) -> Iterator[tuple[str, dict[str, Any], str]]:
    """ABlog's pages, except those the last build wrote from the same sources."""
    if app.builder.format != "html":
        return
    outdir = app.builder.outdir
    state = archive_state(app)
    before: dict[str, str | None] = state.get("pages", {})
    shared, filed = shared_key(app), filed_key(app)
    fingerprint = site_fingerprint(app, shared)
    if state.get("fingerprint") == fingerprint and all((outdir / name).is_file() for name in before):
        app.kb_archive_state = None  # type: ignore[attr-defined]
        return
    pages: dict[str, str | None] = {}
    app.kb_archive_state = {"fingerprint": fingerprint, "pages": pages}  # type: ignore[attr-defined]
    # A page never written is gone from the sitemap too.
    published = (page for page in generate(app) or () if not leftover(app.config.blog_path, page[0]))
    for pagename, context, template in tags.every_listing_page(app, published):
        name = app.builder.get_outfilename(pagename).relative_to(outdir).as_posix()  # type: ignore[attr-defined]
        pages[name] = key = page_key(app, shared, filed, pagename, context, template)
        if key is not None and before.get(name) == key and (outdir / name).is_file():
            continue
        yield pagename, context, template


def on_build_finished(app: Sphinx, exception: Exception | None) -> None:
    """After a good build, remember what ABlog's pages were written from, and
    remove the pages ABlog wrote last time and no longer writes (a tag nobody uses)."""
    state = getattr(app, "kb_archive_state", None)
    if exception is not None or app.builder.format != "html" or state is None:
        return
    before = archive_state(app).get("pages", {})
    documents = {f"{doc}.html" for doc in app.env.found_docs}
    for name in sorted(set(before) - set(state["pages"]) - documents):
        logger.info("kb: removing %s (ABlog no longer writes it)", name)
        (app.builder.outdir / name).unlink(missing_ok=True)
    archive_state_path(app).write_text(json.dumps(state), encoding="utf-8")


# -- authors ---------------------------------------------------------------------


def authors_are_profiles(app: Sphinx) -> None:
    """Point ABlog's author pages at the authors' profiles (``kb/authors.py``).

    ABlog writes a page and a feed per author under ``blog/author/``, which
    would duplicate the profiles, and has no setting for where an author's
    page is.  Pointing its author collections (and its author catalogue) at
    the profile pages makes ABlog link there from its own pages and skip
    writing them, because it never writes a page that exists.  Upstream should
    accept a page per author in ``blog_authors`` (no issue is open for it).
    """
    made = require(ablog.blog.Blog, "_init", versions=ABLOG, parameters=("self", "app"))
    collection = require(
        ablog.blog.Collection,
        "__init__",
        versions=ABLOG,
        parameters=("self", "catalog", "label", "name", "href", "path", "page"),
    )
    if made is not None and collection is not None:
        app.connect("builder-inited", on_builder_inited)


def on_builder_inited(app: Sphinx) -> None:
    """Once ABlog has made its collections, point its author pages at the profiles."""
    if app.builder.format != "html":
        return
    blog = ablog.blog.Blog(app)
    index = f"{model.AUTHORS_DIR}/index"
    blog.author.docname = blog.author.path = index
    blog.references["blog-authors"] = (index, "Authors")
    for key, collection in blog.author.collections.items():
        collection._path = f"{model.AUTHORS_DIR}/{key}"
        blog.references[collection.xref] = (collection._path, collection.name)
