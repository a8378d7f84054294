"""Only the pages a reader needs, each placed in the site's navigation.

ABlog writes a page for every catalog and collection it keeps, whether or not
the site shows them: a list of every post ("All Posts", ``blog.html``), one per
year (``blog/2023.html``), an empty "Drafts" page, and indexes of all tags and
categories that repeat ``tags.md``.  The archive (``blog/archive.html``) is the
one page of every post; tag, practice (ABlog's categories) and author pages
stay.  The pages named by :func:`leftover` are dropped from ABlog's pages
before they are rendered (``collect_changed_pages`` in :mod:`kb.upstream`,
which also removes those an older build wrote), so that the sitemap lists
exactly what the navigation reaches (``tests/test_reader.py``).

The 404 page (sphinx-notfound-page) is served at any address, so its links
start from the site's root (``notfound_urls_prefix``, from the site URL).

Every page then gets one breadcrumb rule: home, the index page it belongs to,
itself.  A tag or practice page belongs to the tag index, a post to the
archive; documents take theirs from the table of contents.
"""

from __future__ import annotations

import posixpath
from html import escape
from typing import TYPE_CHECKING, Any

from kb import __version__
from kb.content import post_of
from kb.domain import PRACTICE_PAGES, TAG_PAGES

if TYPE_CHECKING:
    from docutils import nodes
    from sphinx.application import Sphinx
    from sphinx.config import Config

#: The one page of every post, by date (ABlog's archive catalog).
ARCHIVE = "blog/archive"
#: The index of every tag and practice (``tags.md``).
TAG_INDEX = "tags"


def not_found_body(root: str) -> str:
    """The 404 page's text, its links absolute from the site's *root* path."""
    root = escape(root, quote=True)
    return (
        "<h1>Page not found</h1>"
        "<p>There is no page at this address: it may have moved, or the link may be mistyped.</p>"
        f'<p>Start again from <a href="{root}index.html">the home page</a>, look through '
        f'<a href="{root}{ARCHIVE}.html">every post by date</a>, or search with the box at the top.</p>'
    )


def leftover(blog_path: str, pagename: str) -> bool:
    """Whether *pagename* is one of ABlog's pages that the site does not publish."""
    if pagename in {blog_path, f"{blog_path}/drafts", TAG_PAGES, PRACTICE_PAGES, f"{blog_path}/author"}:
        return True
    # A year of the archive (blog/2023): the archive itself shows every year.
    folder, _, name = pagename.rpartition("/")
    return folder == blog_path and name.isdigit()


def parents_of(app: Sphinx, pagename: str, pathto: Any) -> list[dict[str, str]] | None:
    """The breadcrumb trail above *pagename*, when the table of contents does not give one."""
    if pagename.startswith((f"{TAG_PAGES}/", f"{PRACTICE_PAGES}/")):
        return [{"link": pathto(TAG_INDEX), "title": "Tags"}]
    if post_of(app.env, pagename) is not None:
        return [{"link": pathto(ARCHIVE), "title": "Archive"}]
    return None


def on_config_inited(app: Sphinx, config: Config) -> None:
    """Write the 404 page's text once the site's root path is known (kb.content)."""
    if "notfound_context" not in config:  # sphinx-notfound-page is not loaded (test sites)
        return
    config.notfound_context = {**config.notfound_context, "title": "Page not found"}
    config.notfound_context["body"] = not_found_body(config.notfound_urls_prefix or "/")


def unlink_leftovers(blog_path: str, pagename: str, context: dict[str, Any]) -> None:
    """A group of a catalog page (a year of the archive) whose own page is not
    published becomes a plain heading: its year, not a link to "Posted in 2023"."""
    for group in context.get("kb_catalog", ()):
        target = posixpath.normpath(posixpath.join(posixpath.dirname(pagename), group["url"] or ""))
        if group["url"] and leftover(blog_path, target.removesuffix(".html")):
            group["url"] = None
            group["name"] = group["name"].removeprefix(context.get("header", "")).strip()


def on_html_page_context(
    app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: nodes.document | None
) -> None:
    """Link no leftover page; give tag, practice and post pages the level above them in their breadcrumbs."""
    unlink_leftovers(app.config.blog_path, pagename, context)
    parents = parents_of(app, pagename, context["pathto"])
    if parents is not None:
        context["parents"] = parents


def on_build_finished(app: Sphinx, exception: Exception | None) -> None:
    """Remove the general index a build from before ``html_use_index = False`` left behind."""
    if exception is None and app.builder.format == "html" and not app.config.html_use_index:
        (app.builder.outdir / f"genindex{app.builder.out_suffix}").unlink(missing_ok=True)


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("config-inited", on_config_inited, priority=450)  # after kb.content sets the root
    app.connect("html-page-context", on_html_page_context, priority=600)  # after kb.tags fills kb_catalog
    app.connect("build-finished", on_build_finished)
    return {"version": __version__, "env_version": 1, "parallel_read_safe": True, "parallel_write_safe": True}
