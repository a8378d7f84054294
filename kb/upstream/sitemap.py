"""Workarounds for sphinx-sitemap, written for sphinx-sitemap 2.9."""

from __future__ import annotations

import queue
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from kb.upstream import ablog, require

if TYPE_CHECKING:
    from sphinx.application import Sphinx
    from sphinx.config import Config
    from sphinx.environment import BuildEnvironment

#: The releases this workaround was written for (and tested with).
SITEMAP = "sphinx-sitemap>=2.9,<2.10"


def every_page_encoded(app: Sphinx) -> None:
    """List every page in the sitemap after any build, each address percent-encoded.

    sphinx-sitemap lists the pages it sees written (``add_html_link`` on
    ``html-page-context``), so after an incremental build the sitemap holds only
    the pages that build rewrote (jdillard/sphinx-sitemap issue 13).  Before it
    writes the sitemap, every document is listed again, in a stable order
    (documents by name, then generated pages), with the ABlog pages this build
    left as they were (:func:`kb.upstream.ablog.collection_pages_when_changed`).

    sphinx-sitemap also writes each page's name into ``<loc>`` as it is: a file
    name with a space or an accent gives an address no crawler accepts.  Each
    is percent-encoded here, like every other link of the site; upstream
    should quote the link it formats into ``sitemap_url_scheme``.

    sphinx-sitemap collects the pages through a ``multiprocessing.Manager``
    queue, so that parallel writers can add theirs: a server process and a
    round trip per page.  Since every page is listed again here, in the main
    process, a queue of that process does.

    Each page also gets its ``<lastmod>``: sphinx-sitemap reads it from
    ``env.git_last_updated`` (the record sphinx-last-updated-by-git keeps, page
    -> (timestamp, show source link)) when ``sitemap_show_lastmod`` is on, and
    would load that extension to fill it; :mod:`kb.history` knows the dates
    (a post's last update, another page's last commit), so they are filled
    from there.  Upstream should let another extension give the dates.
    """
    app.connect("config-inited", on_config_inited)


def on_config_inited(app: Sphinx, config: Config) -> None:
    """Once every extension is loaded: take over sphinx-sitemap's list, if it is loaded."""
    if "sphinx_sitemap" not in app.extensions:
        return
    import sphinx_sitemap

    record = require(sphinx_sitemap, "record_builder_type", versions=SITEMAP, parameters=("app",))
    add = require(sphinx_sitemap, "add_html_link", versions=SITEMAP, parameters=LINK_PARAMETERS)
    if record is None or add is None:
        return
    for listener in list(app.events.listeners.get("builder-inited", ())):
        if listener.handler is record:
            app.disconnect(listener.id)
    app.connect("builder-inited", record_builder_type)
    app.connect("env-updated", record_last_updates)
    app.connect("build-finished", complete_sitemap, priority=400)


LINK_PARAMETERS = ("app", "pagename", "templatename", "context", "doctree")


def record_builder_type(app: Sphinx) -> None:
    """sphinx-sitemap's own (sphinx_sitemap/__init__.py), with an in-process queue."""
    app.env.is_directory_builder = type(app.builder).__name__ == "DirectoryHTMLBuilder"  # type: ignore[attr-defined]
    app.sitemap_links = queue.Queue()  # type: ignore[attr-defined]


def drain(links: queue.Queue[Any]) -> list[tuple[str, Any]]:
    """Everything in sphinx-sitemap's queue, which is left empty."""
    found = []
    while True:
        try:
            found.append(links.get_nowait())
        except queue.Empty:
            return found


def complete_sitemap(app: Sphinx, exception: Exception | None) -> None:
    """Put every page into sphinx-sitemap's list, not only those written now, each address encoded."""
    import sphinx_sitemap

    links = getattr(app, "sitemap_links", None)
    if exception is not None or links is None or app.builder.name != "html":
        return
    seen = drain(links)
    suffix = app.config.html_file_suffix or ".html"
    documents = {f"{docname}{suffix}" for docname in app.env.found_docs}
    state = getattr(app, "kb_archive_state", None) or ablog.archive_state(app)
    listed = {entry[0] for entry in seen}
    for name in sorted(set(state.get("pages", {})) - listed - documents):
        if name.endswith(suffix) and (app.builder.outdir / name).is_file():
            sphinx_sitemap.add_html_link(app, name[: -len(suffix)], None, {}, None)
    seen += drain(links)
    for docname in sorted(app.env.found_docs):
        sphinx_sitemap.add_html_link(app, docname, None, {}, None)
    everything = drain(links) + sorted((e for e in seen if e[0] not in documents), key=lambda e: e[0])
    for link, *rest in everything:
        links.put((quote(link, safe="/"), *rest))


def record_last_updates(app: Sphinx, env: BuildEnvironment) -> list[str]:
    """Give sphinx-sitemap each page's last update, as sphinx-last-updated-by-git would
    (``env.git_last_updated``: page -> (timestamp, show source link)), so that
    ``sitemap.xml`` carries ``<lastmod>``: a post's last update, another page's last commit."""
    from kb.content import post_of
    from kb.history import last_update_of, page_history

    dates: dict[str, tuple[int | None, bool]] = {}
    for docname in env.found_docs:
        post = post_of(env, docname)
        page = page_history(env, docname)
        moment = last_update_of(env, post) if post is not None else (page.updated.date if page.updated else None)
        if moment is not None:
            dates[docname] = (int(moment.timestamp()), False)
    env.git_last_updated = dates  # type: ignore[attr-defined]
    app.config.sitemap_show_lastmod = True
    return []
