"""Workarounds for upstream behaviour, each small, named and tested.

Every function here names the upstream problem it works around; delete it when
upstream fixes that problem.  Most of them keep the build fast as the number
of posts grows (``make bench`` measures them).
"""

from __future__ import annotations

import atexit
import functools
import gc
import hashlib
import json
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from docutils import frontend, utils

from kb import __version__
from kb.pages import leftover

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Set

    from docutils import nodes
    from sphinx.application import Sphinx
    from sphinx.config import Config
    from sphinx.environment import BuildEnvironment

#: Written into the doctree folder, so that ``make clean`` removes them with the rest.
ARCHIVE_STATE = "kb-archive-pages.json"
TEMPLATE_CACHE = "kb-templates"


def ablog_parallel_read(app: Sphinx) -> None:
    """ABlog declares ``parallel_read_safe: False`` although its only per-document
    state, ``env.ablog_posts``, is keyed by docname and purged by ABlog itself; it
    just lacks an ``env-merge-info`` handler (sunpy/ablog issue 297, pull
    request 330).  Sphinx then reads serially and prints an untyped warning
    that ``-W`` turns into an error.
    """
    app.extensions["ablog"].parallel_read_safe = True
    app.connect("env-merge-info", merge_ablog_posts)


def merge_ablog_posts(app: Sphinx, env: BuildEnvironment, docnames: Set[str], other: BuildEnvironment) -> None:
    """Bring the posts a parallel reader found into the main environment."""
    posts = getattr(other, "ablog_posts", {})
    mine = env.__dict__.setdefault("ablog_posts", {})
    for docname in docnames:
        if docname in posts:
            mine[docname] = posts[docname]


def fresh_ablog_state(app: Sphinx, config: Config) -> None:
    """ABlog keeps its posts and collections in state shared by every ``Blog``
    object of the process (``ablog.blog.Blog._dict``), filled by the first Sphinx
    application only; a second build in the same process (tests, a server that
    rebuilds in place) would list the first build's posts and skip its own
    tag pages.  Start each application with empty state.  (Same shared state as
    in sunpy/ablog issue 316, where a rebuild found it empty.)
    """
    from ablog.blog import Blog

    Blog._dict.clear()


# -- docutils settings -------------------------------------------------------


@functools.cache
def default_settings(*components: Any) -> Any:
    """docutils' default settings for *components*, built once: building them
    parses every option of every component."""
    return frontend.get_default_settings(*components)


# -- the environment ---------------------------------------------------------


def ablog_lean_environment(app: Sphinx) -> None:
    """ABlog keeps each post's excerpt nodes still attached to the post's doctree,
    and a deep copy of the whole doctree besides (``postinfo["excerpt"]`` and
    ``postinfo["doctree"]`` in ablog/post.py ``process_posts``), so pickling the
    environment pickles every post twice: 16 of 20 MB at 1,000 posts, loaded by
    every build and sent back by every parallel reader.  The excerpt is detached
    (a copy without parent), and the doctree copy, only read for full-text feeds,
    is dropped unless ABlog writes full-text feeds (``kb.feeds`` replaces them).
    """
    app.connect("doctree-read", lighten_post_records, priority=900)


def lighten_post_records(app: Sphinx, doctree: nodes.document) -> None:
    """Detach the excerpt ABlog just recorded; forget its copy of the post unless feeds carry full texts."""
    for info in getattr(app.env, "ablog_posts", {}).get(app.env.docname, []):
        info["excerpt"] = [node.deepcopy() for node in info["excerpt"]]
        if not (app.config.blog_feed_fulltext and ablog_writes_feeds(app)):
            info["doctree"] = None


def ablog_writes_feeds(app: Sphinx) -> bool:
    """Whether ABlog's own feeds are still connected (``kb.feeds`` replaces them)."""
    import ablog.post

    listeners = app.events.listeners.get("html-collect-pages", [])
    return any(listener.handler is ablog.post.generate_atom_feeds for listener in listeners)


def sphinx_serial_small_reads(app: Sphinx) -> None:
    """Sphinx 9 reads in parallel however few documents changed (the old
    threshold of five documents is gone from ``Builder.read``), and each reader
    sends the whole environment back pickled: editing one post of 1,000 cost
    seconds of pickling.  A handful of documents is read in this process.
    """
    app.connect("env-before-read-docs", read_few_serially)
    app.connect("env-updated", restore_parallel)


#: Below this many documents to read, one process reads them faster than several.
SERIAL_READS = 20


def read_few_serially(app: Sphinx, env: BuildEnvironment, docnames: list[str]) -> None:
    """Turn parallel reading off for this build's reading phase when there is little to read."""
    if app.parallel > 1 and len(docnames) < SERIAL_READS:
        app.kb_parallel = app.parallel  # type: ignore[attr-defined]
        app.parallel = 1


def restore_parallel(app: Sphinx, env: BuildEnvironment) -> list[str]:
    """Write in parallel again, as asked."""
    app.parallel = app.__dict__.pop("kb_parallel", app.parallel)
    return []


# -- collection pages and feeds -----------------------------------------------


def build_key(app: Sphinx) -> str:
    """The settings and templates every page depends on, worked out once per
    build (finding the newest template walks every template folder)."""
    known = app.builder.__dict__.get("kb_build_key")
    if known is None:
        info = getattr(app.builder, "build_info", None)
        templates = getattr(app.builder, "templates", None)
        newest = templates.newest_template_mtime() if templates is not None else 0
        parts = (__version__, getattr(info, "config_hash", ""), getattr(info, "tags_hash", ""), newest)
        known = app.builder.__dict__["kb_build_key"] = repr(parts)
    return known


def digest(value: Any) -> str:
    return hashlib.sha256(repr(value).encode("utf-8")).hexdigest()


def shared_key(app: Sphinx) -> str:
    """What every collection page may show besides its own posts: settings,
    templates, the pages that are not posts, the vocabulary, authors and series,
    and where each post is filed (so that counts and lists of other posts stay right)."""
    posts = getattr(app.env, "ablog_posts", {})
    pages = sorted((doc, when) for doc, when in app.env.all_docs.items() if doc not in posts)
    filed = sorted(
        (doc, [(i["date"], i["update"], i["title"], i["tags"], i["author"], i["category"]) for i in infos])
        for doc, infos in posts.items()
    )
    site = getattr(app.env, "kb_site", None)
    terms = (site.tags, site.practices, site.authors, site.series) if site is not None else ()
    return digest((build_key(app), pages, filed, terms))


def site_fingerprint(app: Sphinx, shared: str) -> str:
    """Changes whenever a document is read, added or removed, or settings or templates change."""
    posts = sorted((doc, app.env.all_docs.get(doc)) for doc in getattr(app.env, "ablog_posts", {}))
    return digest((shared, posts))


def posts_on(context: dict[str, Any]) -> list[Any] | None:
    """The posts a collection or catalog page shows, or None when it is not known."""
    import ablog.blog

    shown = context.get("collection", context.get("catalog"))
    if isinstance(shown, ablog.blog.Catalog):
        return [post for collection in shown for post in collection]
    if isinstance(shown, ablog.blog.Collection):
        return list(shown)
    return None


#: ABlog's pages that list every post of every tag, author or year by title and
#: date only (``_templates/ablog/catalog.html``): what they show is all shared.
TITLES_ONLY = "ablog/catalog.html"


def page_key(app: Sphinx, shared: str, pagename: str, context: dict[str, Any], template: str) -> str | None:
    """What one collection page is written from: its posts as last read, and everything shared."""
    posts = posts_on(context)
    if posts is None:
        return None
    scalars = sorted((k, v) for k, v in context.items() if isinstance(v, str | int | float | bool | type(None)))
    read = [] if template == TITLES_ONLY else [(post.docname, app.env.all_docs.get(post.docname)) for post in posts]
    return digest((shared, pagename, template, scalars, read))


def ablog_skip_unchanged_pages(app: Sphinx) -> None:
    """ABlog renders every archive, tag, author and category page and every feed on
    every build, even when nothing changed (``generate_archive_pages`` and
    ``generate_atom_feeds`` in ablog/post.py, connected to ``html-collect-pages``):
    at 500 posts a rebuild with no change took as long as writing every post
    (abakan-zz/ablog issue 24).  A collection page is rendered again only when
    one of its posts was read again or something every page shows changed (see
    :func:`shared_key`); feeds only when some document was read again.
    """
    import ablog.post

    wrapped = {ablog.post.generate_archive_pages, ablog.post.generate_atom_feeds}
    handlers = []
    for listener in list(app.events.listeners.get("html-collect-pages", [])):
        if listener.handler in wrapped:
            app.disconnect(listener.id)
            handlers.append(listener.handler)
    app.connect("html-collect-pages", functools.partial(collect_changed_pages, handlers=tuple(handlers)))
    app.connect("build-finished", save_archive_state)


def archive_state_path(app: Sphinx) -> Path:
    return app.doctreedir / ARCHIVE_STATE


def archive_state(app: Sphinx) -> dict[str, Any]:
    """What the last good build wrote its collection pages from."""
    try:
        state = json.loads(archive_state_path(app).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return state if isinstance(state, dict) else {}


def collect_changed_pages(
    app: Sphinx, handlers: tuple[Callable[..., Any], ...]
) -> Iterator[tuple[str, dict[str, Any], str]]:
    """ABlog's pages and feeds, except those the last build wrote from the same sources."""
    if app.builder.format != "html":
        return
    outdir = app.builder.outdir
    state = archive_state(app)
    before: dict[str, str | None] = state.get("pages", {})
    shared = shared_key(app)
    fingerprint = site_fingerprint(app, shared)
    app.kb_archive_state = {"fingerprint": fingerprint, "pages": {}}  # type: ignore[attr-defined]
    if state.get("fingerprint") == fingerprint and all((outdir / name).is_file() for name in before):
        app.kb_archive_state = None  # type: ignore[attr-defined]
        return
    pages = app.kb_archive_state["pages"]  # type: ignore[attr-defined]
    for handler in handlers:
        for pagename, context, template in handler(app) or ():
            if leftover(app.config.blog_path, pagename):  # never written, so gone from the sitemap too
                continue
            name = app.builder.get_outfilename(pagename).relative_to(outdir).as_posix()
            pages[name] = key = page_key(app, shared, pagename, context, template)
            if key is not None and before.get(name) == key and (outdir / name).is_file():
                continue
            yield pagename, context, template


def save_archive_state(app: Sphinx, exception: Exception | None) -> None:
    """Remember what the collection pages were written from, after a good build,
    and remove the pages of collections that no longer exist (a tag nobody uses)."""
    state = getattr(app, "kb_archive_state", None)
    if exception is not None or app.builder.format != "html" or state is None:
        return
    before = archive_state(app).get("pages", {})
    for name in set(before) - set(state["pages"]) - {f"{doc}.html" for doc in app.env.found_docs}:
        page = app.builder.outdir / name
        page.unlink(missing_ok=True)
        feeds = page.with_suffix("")  # ABlog writes a collection's feeds into a folder named like its page
        for root in app.config.blog_feed_templates:
            (feeds / f"{root}.xml").unlink(missing_ok=True)
        if feeds.is_dir() and not any(feeds.iterdir()):
            feeds.rmdir()
    archive_state_path(app).write_text(json.dumps(state), encoding="utf-8")


# -- the search index ----------------------------------------------------------


def sphinx_keep_unchanged_search_index(app: Sphinx) -> None:
    """Sphinx's HTML builder writes the whole search index at the end of every
    build, even when no page was read or written (``handle_finish`` in
    sphinx/builders/html/__init__.py): a sixth of a rebuild with nothing changed
    at 2,000 posts.  The index is built from the pages written, so when none
    was written or removed and the index is there, it is left as it is.
    """
    app.connect("builder-inited", watch_search_index)
    app.connect("env-get-outdated", note_read_or_removed)


def watch_search_index(app: Sphinx) -> None:
    """Dump the search index only when a page changed."""
    app.kb_index_changed = False  # type: ignore[attr-defined]
    builder = app.builder
    dump = getattr(builder, "dump_search_index", None)
    index_page = getattr(builder, "index_page", None)
    if dump is None or index_page is None:
        return

    def note_indexed(pagename: str, doctree: nodes.document, title: str) -> None:
        app.kb_index_changed = True  # type: ignore[attr-defined]
        index_page(pagename, doctree, title)

    def dump_if_changed() -> None:
        if app.kb_index_changed or not (builder.outdir / builder.searchindex_filename).is_file():  # type: ignore[attr-defined]
            dump()

    builder.index_page = note_indexed  # type: ignore[method-assign]
    builder.dump_search_index = dump_if_changed  # type: ignore[method-assign]


def note_read_or_removed(
    app: Sphinx, env: BuildEnvironment, added: Set[str], changed: Set[str], removed: Set[str]
) -> list[str]:
    """A document read or removed changes the index."""
    if added or changed or removed:
        app.kb_index_changed = True  # type: ignore[attr-defined]
    return []


# -- templates ---------------------------------------------------------------


def sphinx_template_bytecode_cache(app: Sphinx) -> None:
    """Sphinx compiles every Jinja template again in every build (its
    ``BuiltinTemplateLoader`` sets no bytecode cache): a tenth of a rebuild with
    nothing changed.  Compiled templates are kept beside the environment; Jinja
    checks each against its source once per build, not on every use (Jinja's
    ``auto_reload`` looks at the file each time a page includes a template:
    36,000 times for 1,000 posts).
    """
    app.connect("builder-inited", cache_compiled_templates)


def cache_compiled_templates(app: Sphinx) -> None:
    """Give the builder's Jinja environment a bytecode cache in the doctree folder."""
    environment = getattr(getattr(app.builder, "templates", None), "environment", None)
    if environment is None:
        return
    import jinja2

    folder = app.doctreedir / TEMPLATE_CACHE
    folder.mkdir(parents=True, exist_ok=True)
    environment.bytecode_cache = jinja2.FileSystemBytecodeCache(str(folder))
    environment.auto_reload = False  # templates do not change during a build


def sphinx_asset_checksums_once(app: Sphinx) -> None:
    """Sphinx adds a checksum to the address of every stylesheet and script of
    every page (``_file_checksum`` in sphinx/builders/html/_assets.py): it
    caches the checksum per file but resolves the file's path again, a system
    call per asset per page, each time.  The whole answer is kept per output
    folder and asset; like Sphinx's own cache, for the life of the process.
    """
    from sphinx.builders import html

    if not hasattr(html._file_checksum, "cache_info"):
        html._file_checksum = functools.cache(html._file_checksum)


#: Documents per parallel reader or writer grow as ``sqrt(N / processes * CHUNK_BATCH)``
#: (Sphinx's ``make_chunks`` uses 10).
CHUNK_BATCH = 40


def sphinx_fewer_longer_chunks(app: Sphinx) -> None:
    """Each parallel reader sends back the whole environment it forked with
    plus what it read, and the main process unpickles it (``read_process`` in
    sphinx/builders/__init__.py; sphinx-doc/sphinx issue 11448).  The
    environment grows with every chunk merged, so the cost grows with the
    square of the number of chunks: at 2,000 posts, 20 chunks.  Each writer
    is forked from the main process too, whose heap by then holds the
    environment and every page resolved so far.  Chunks four times as long
    make half as many: at 2,000 posts reading took 17 s instead of 21 to 25 s,
    writing 17.6 and 19.4 s instead of 19.1 and 21.0 s (``make bench`` corpus,
    two runs each).
    """
    app.connect("builder-inited", fewer_longer_chunks)


def fewer_longer_chunks(app: Sphinx) -> None:
    for name in ("_read_parallel", "_write_parallel"):
        method = getattr(app.builder, name, None)
        if method is not None:
            setattr(app.builder, name, with_longer_chunks(method))


def with_longer_chunks(method: Callable[..., None]) -> Callable[..., None]:
    from unittest import mock

    import sphinx.builders
    from sphinx.util.parallel import make_chunks

    def run(docnames: list[str], nproc: int) -> None:
        longer = functools.partial(make_chunks, maxbatch=CHUNK_BATCH)
        with mock.patch.object(sphinx.builders, "make_chunks", longer):
            method(docnames, nproc=nproc)

    return run


def sphinx_write_on_every_core(app: Sphinx) -> None:
    """With ``-j N`` Sphinx reads in N processes but writes in N - 1 while the
    main process resolves each page's references (``write_documents`` in
    sphinx/builders/__init__.py; sphinx-doc/sphinx issue 5953, pull request
    12433).  On two cores that is one writer, and writing pages is the slower
    half: the main process waits for it.  The writers get all N processes.
    """
    app.connect("builder-inited", write_on_every_core)


def write_on_every_core(app: Sphinx) -> None:
    builder = app.builder
    write_parallel = getattr(builder, "_write_parallel", None)
    if write_parallel is None or app.parallel < 2:
        return

    def every_core(docnames: Any, nproc: int) -> None:
        write_parallel(docnames, nproc=max(nproc, app.parallel))

    builder._write_parallel = every_core  # type: ignore[attr-defined]


# -- reading: docutils settings and front matter ------------------------------


def fresh_copy(settings: Any) -> Any:
    """A copy of docutils *settings* for one more document: the one value a
    document fills in (the files it depends on) starts empty."""
    copy = settings.copy()
    copy.record_dependencies = utils.DependencyList()
    return copy


def sphinx_docutils_settings_once() -> None:
    """Sphinx 9 builds docutils' option parser again for every document it
    reads, reading the ``docutils.conf`` files each time (``_get_settings`` in
    sphinx/util/docutils.py; Sphinx 5 had cached it per build, sphinx-doc/sphinx
    pull request 10337).  The parser only turns the same components and
    defaults into the same settings: they are built once per components and
    defaults, and each document gets its own copy.
    """
    from sphinx.util import docutils as sphinx_docutils

    build = sphinx_docutils._get_settings
    if hasattr(build, "kb_built"):
        return
    built: dict[Any, Any] = {}

    def get_settings(*components: Any, defaults: Any, read_config_files: bool = False) -> Any:
        # Components are classes or (the parser) a new object per document: what
        # counts is the class and its settings.
        specs = [value for c in components for value in (c.settings_spec, c.settings_defaults)]
        kinds = tuple(c if isinstance(c, type) else type(c) for c in components)
        key = (kinds, read_config_files, tuple(map(id, specs)), tuple((k, id(v)) for k, v in defaults.items()))
        if key not in built:
            settings = build(*components, defaults=defaults, read_config_files=read_config_files)
            # The entry keeps what the key names by id alive, so no id is reused.
            built[key] = (settings, specs, list(defaults.values()))
        return fresh_copy(built[key][0])

    get_settings.kb_built = built  # type: ignore[attr-defined]
    get_settings.kb_original = build  # type: ignore[attr-defined]
    sphinx_docutils._get_settings = get_settings


def myst_default_document_once() -> None:
    """MyST's renderer builds a default document (and with it docutils' option
    parser) for every document it renders, then throws it away when Sphinx
    passes its own: ``options.get("document", make_document())`` in
    ``setup_render`` (myst_parser/mdit_to_docutils/base.py) evaluates the
    default first.  The default settings are built once per parser class.
    """
    from myst_parser.mdit_to_docutils import base

    if getattr(base.make_document, "__module__", "") == __name__:
        return

    def make_document(source_path: str = "notset", parser_cls: Any = base.RSTParser) -> nodes.document:
        return utils.new_document(source_path, settings=fresh_copy(default_settings(parser_cls)))

    base.make_document = make_document


def myst_front_matter_with_libyaml() -> None:
    """MyST parses each document's front matter twice with PyYAML's pure-Python
    loader, ``yaml.safe_load`` (``read_topmatter`` in myst_parser/config/main.py
    for the ``myst:`` settings, ``render_front_matter`` for the metadata).
    libyaml's loader gives the same values five times faster; while MyST
    parses a document, ``yaml.safe_load`` uses it when PyYAML has it.
    """
    import yaml
    from myst_parser.parsers.sphinx_ import MystParser

    loader = getattr(yaml, "CSafeLoader", None)
    if loader is None or hasattr(MystParser.parse, "kb_libyaml"):
        return
    parse = MystParser.parse

    def with_libyaml(self: Any, inputstring: str, document: nodes.document) -> None:
        pure = yaml.safe_load
        yaml.safe_load = functools.partial(yaml.load, Loader=loader)
        try:
            parse(self, inputstring, document)
        finally:
            yaml.safe_load = pure

    with_libyaml.kb_libyaml = True  # type: ignore[attr-defined]
    MystParser.parse = with_libyaml


def opengraph_walks_only_undescribed_pages() -> None:
    """sphinxext-opengraph walks the whole doctree of every page to describe it
    (``get_description`` in sphinxext/opengraph/_description_parser.py), then
    lets an ``og:description`` in the page's metadata replace what it found;
    :mod:`kb.publishing` hands every post one.  Pages that have one are not
    walked (their ``og:description`` tag comes last among the og tags).
    """
    import sphinxext.opengraph as ogp

    tags = ogp.get_tags
    if hasattr(tags, "kb_walk"):
        return

    def get_tags(context: dict[str, Any], doctree: nodes.document, **kwargs: Any) -> str:
        walk = get_tags.kb_walk  # type: ignore[attr-defined]
        given = "og:description" in (context.get("meta") or {})
        ogp.get_description = (lambda *args: "") if given else walk
        try:
            return tags(context, doctree, **kwargs)
        finally:
            ogp.get_description = walk

    get_tags.kb_walk = ogp.get_description  # type: ignore[attr-defined]
    ogp.get_tags = get_tags


def opengraph_quiet_without_matplotlib() -> None:
    """sphinxext-opengraph prints "matplotlib is not installed, social cards will
    not be generated" when it is imported without matplotlib (a print, not a
    logged message, so it opens every build log).  ``conf.py`` turns social
    cards off; without matplotlib, the module that draws them is replaced by one
    that has none, before sphinxext-opengraph is first imported.
    """
    import importlib.util
    import types

    name = "sphinxext.opengraph._social_cards"
    if name in sys.modules or importlib.util.find_spec("matplotlib") is not None:
        return
    cards = types.ModuleType(name, "No social cards: matplotlib is not installed.")
    cards.DEFAULT_SOCIAL_CONFIG = {}  # type: ignore[attr-defined]
    cards.create_social_card = None  # type: ignore[attr-defined]
    sys.modules[name] = cards


# -- pydata-sphinx-theme ------------------------------------------------------

#: The only tags of Sphinx's table of contents of a page (the ``toc`` value of
#: a page's context) other than the links inside entries.
TOC_TAG = re.compile(r'<(/?)(ul|li)(?: class="([^"]*)")?>')
FIRST_LINK_CLASS = re.compile(r'<a class="([^"]*)"')


def pydata_page_toc_without_parsing(app: Sphinx) -> None:
    """pydata-sphinx-theme parses every page's table of contents with
    BeautifulSoup to add its classes (``generate_toc_html`` in its toctree.py)
    and renders the page-toc component twice, once to see whether it is
    empty (``set_secondary_sidebar_items``): a tenth of the time spent writing
    posts (BeautifulSoup's cost per page: pydata-sphinx-theme issues 381 and
    859).  ``_templates/page-toc.html`` replaces the component and prints
    ``kb_page_toc()``, the same markup built from Sphinx's list directly.
    """
    app.connect("html-page-context", add_page_toc)


def add_page_toc(app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any) -> None:
    @functools.cache
    def kb_page_toc() -> Any:
        toc = page_toc(context.get("toc", ""), int(context.get("theme_show_toc_level", 1)))
        return context["generate_toc_html"]() if toc is None else toc

    context["kb_page_toc"] = kb_page_toc


def page_toc(toc: str, show_level: int) -> str | None:
    """The in-page table of contents as pydata-sphinx-theme prints it, or None
    if *toc* is not the list Sphinx writes (the theme's own function then parses it).

    Each list gets the theme's classes (``pst-show_toc_level`` down to
    *show_level* + 1), each entry ``toc-h<level>``, each link ``nav-link``.  A
    page with a single top-level entry (its title) shows that entry's sections,
    or nothing when it has none.
    """
    from markupsafe import Markup

    tops: list[list[dict[str, Any]]] = []  # Sphinx writes one, around the title's entry
    lists: list[list[dict[str, Any]]] = []
    items: list[dict[str, Any]] = []
    start = 0
    for match in TOC_TAG.finditer(toc):
        if items and items[-1]["sub"] is None:
            items[-1]["head"] += toc[start : match.start()]
        start = match.end()
        closing, tag, classes = match.groups()
        if classes or (tag == "li" and not lists) or (closing and not (lists if tag == "ul" else items)):
            return None  # not a table of contents (an empty list has class="simple") or unbalanced
        if tag == "ul" and not closing:
            entries: list[dict[str, Any]] = []
            if items:
                items[-1]["sub"] = entries
            else:
                tops.append(entries)
            lists.append(entries)
        elif tag == "ul":
            lists.pop()
        elif not closing:
            items.append({"head": "", "sub": None})
            lists[-1].append(items[-1])
        else:
            items.pop()
    if lists or items:
        return None

    def render(entries: list[dict[str, Any]], level: int) -> str:
        shown = "pst-show_toc_level " if level <= show_level + 1 else ""
        out = [f'<ul class="{shown}nav section-nav flex-column">']
        for entry in entries:
            head = FIRST_LINK_CLASS.sub(r'<a class="\1 nav-link"', entry["head"].strip(), count=1)
            sub = "" if entry["sub"] is None else render(entry["sub"], level + 1)
            out.append(f'<li class="toc-h{level} nav-item toc-entry">{head}{sub}</li>')
        return "".join([*out, "</ul>"])

    if not tops:
        return Markup("")
    if len(tops[0]) == 1:  # the page's title: show its sections
        sections = tops[0][0]["sub"]
        return Markup(render(sections, 2) if sections else "")
    return Markup(render(tops[0], 1))


# -- the sitemap ---------------------------------------------------------------


def sphinx_sitemap_every_page(app: Sphinx) -> None:
    """sphinx-sitemap lists the pages it sees written (``add_html_link`` on
    ``html-page-context``), so after an incremental build the sitemap holds only
    the pages that build rewrote.  Before it writes the sitemap, every document
    is listed again, in a stable order (documents by name, then generated pages).

    sphinx-sitemap also collects the pages through a ``multiprocessing.Manager``
    queue, so that parallel writers can add theirs: a server process and a
    round trip per page.  Since every document is listed again here, in the
    main process, a queue of that process does.
    """
    app.connect("config-inited", sitemap_in_process_queue)
    app.connect("build-finished", complete_sitemap, priority=400)


def sitemap_in_process_queue(app: Sphinx, config: Config) -> None:
    """Replace sphinx-sitemap's ``record_builder_type`` with :func:`record_builder_type`."""
    sphinx_sitemap = sys.modules.get("sphinx_sitemap")
    for listener in list(app.events.listeners.get("builder-inited", ())):
        if sphinx_sitemap is not None and listener.handler is sphinx_sitemap.record_builder_type:
            app.disconnect(listener.id)
            app.connect("builder-inited", record_builder_type)


def record_builder_type(app: Sphinx) -> None:
    """sphinx-sitemap's own (sphinx_sitemap/__init__.py), with an in-process queue."""
    import queue

    app.env.is_directory_builder = type(app.builder).__name__ == "DirectoryHTMLBuilder"  # type: ignore[attr-defined]
    app.sitemap_links = queue.Queue()  # type: ignore[attr-defined]


def complete_sitemap(app: Sphinx, exception: Exception | None) -> None:
    """Put every document into sphinx-sitemap's list, not only those written now."""
    links = getattr(app, "sitemap_links", None)
    if exception is not None or links is None or app.builder.name != "html":
        return
    import queue

    import sphinx_sitemap

    seen = []
    while True:
        try:
            seen.append(links.get_nowait())
        except queue.Empty:
            break
    suffix = app.config.html_file_suffix or ".html"
    documents = {f"{docname}{suffix}" for docname in app.env.found_docs}
    # ABlog's pages left unchanged by this build (ablog_skip_unchanged_pages) are listed too.
    state = getattr(app, "kb_archive_state", None) or archive_state(app)
    listed = {entry[0] for entry in seen}
    for name in sorted(set(state.get("pages", {})) - listed - documents):
        if name.endswith(suffix) and (app.builder.outdir / name).is_file():
            sphinx_sitemap.add_html_link(app, name[: -len(suffix)], None, {}, None)
    while True:
        try:
            seen.append(links.get_nowait())
        except queue.Empty:
            break
    for docname in sorted(app.env.found_docs):
        sphinx_sitemap.add_html_link(app, docname, None, {}, None)
    for entry in sorted((e for e in seen if e[0] not in documents), key=lambda e: e[0]):
        links.put(entry)


# -- the garbage collector ---------------------------------------------------

#: Collect the youngest generation after 50,000 new objects instead of 700.
#: (mypy builds with 200,000, mypy/build.py; at 1,000 posts that was no faster
#: here and took a third more memory.)
GC_THRESHOLDS = (50_000, 10, 10)


def python_gc_for_large_builds(app: Sphinx) -> None:
    """CPython's cyclic garbage collector runs after every 700 new objects and
    then walks the young objects, and from time to time every object.  A build
    creates millions of docutils nodes, so with the default thresholds about a
    quarter of a full build's CPU time went to the collector (1,000 posts of
    the ``make bench`` corpus: 34 s of CPU, 25 s with the collector off).  On
    exit it walks the whole heap several times more: 0.8 s of a 2.4 s rebuild
    with nothing to do.

    The thresholds are raised for the build (forked readers and writers inherit
    them) and restored when it ends; at exit the heap is frozen, so the
    interpreter frees it by reference counts alone (``gc.freeze``).
    """
    previous = gc.get_threshold()
    gc.set_threshold(*GC_THRESHOLDS)
    app.connect("build-finished", lambda app, exception: gc.set_threshold(*previous), priority=900)
    atexit.unregister(gc.freeze)  # once per process, however many builds it runs
    atexit.register(gc.freeze)


# -- deleted documents -------------------------------------------------------


def sphinx_remove_deleted_pages(app: Sphinx) -> None:
    """Sphinx forgets a deleted document but leaves its page in the output
    folder (sphinx-doc/sphinx issue 5908), where it stays reachable with stale
    listings.  Its page is removed in the build that notices the deletion.
    """
    app.connect("env-get-outdated", remove_deleted_pages)


def remove_deleted_pages(
    app: Sphinx, env: BuildEnvironment, added: Set[str], changed: Set[str], removed: Set[str]
) -> list[str]:
    """Delete the written page of every removed document."""
    if app.builder.format == "html" and hasattr(app.builder, "get_outfilename"):
        for docname in removed:
            Path(app.builder.get_outfilename(docname)).unlink(missing_ok=True)
    return []


def setup(app: Sphinx) -> dict[str, Any]:
    app.setup_extension("ablog")
    ablog_parallel_read(app)
    app.connect("config-inited", fresh_ablog_state, priority=100)
    python_gc_for_large_builds(app)
    sphinx_docutils_settings_once()
    myst_default_document_once()
    myst_front_matter_with_libyaml()
    opengraph_quiet_without_matplotlib()  # before anything imports sphinxext.opengraph
    opengraph_walks_only_undescribed_pages()
    ablog_lean_environment(app)
    sphinx_serial_small_reads(app)
    ablog_skip_unchanged_pages(app)
    sphinx_remove_deleted_pages(app)
    sphinx_keep_unchanged_search_index(app)
    sphinx_template_bytecode_cache(app)
    sphinx_asset_checksums_once(app)
    sphinx_fewer_longer_chunks(app)
    sphinx_write_on_every_core(app)
    pydata_page_toc_without_parsing(app)
    sphinx_sitemap_every_page(app)
    return {"version": __version__, "env_version": 1, "parallel_read_safe": True, "parallel_write_safe": True}
