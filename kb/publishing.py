"""What a published page tells other tools: link previews and the description.

``sphinxext-opengraph`` describes a page by its first paragraph, which on a
post is the byline (authors, date, tags).  A post is better described by its
summary or first paragraph of text, so those are handed over here as the
page's ``og:description`` and ``<meta name="description">``; a post is an
``article``.  The sitemap, 404 page and copy buttons need no code: ``conf.py``
loads them and :mod:`kb.content` gives them the one site URL.
"""

from __future__ import annotations

import textwrap
from html import escape
from typing import TYPE_CHECKING, Any

from kb import __version__
from kb.content import post_of
from kb.render import excerpt_of

if TYPE_CHECKING:
    from docutils import nodes
    from sphinx.application import Sphinx

#: Longest description, as sphinxext-opengraph cuts its own (ogp_description_length).
DESCRIPTION_LENGTH = 200


def shorten(text: str, length: int = DESCRIPTION_LENGTH) -> str:
    """*text* on one line, cut after the last whole word that fits in *length* with "..."."""
    short = textwrap.shorten(text, length, placeholder="...")
    if short == "...":  # the first word alone is too long (a URL): cut it instead
        short = " ".join(text.split())[: length - 3] + "..."
    return short


def on_html_page_context(
    app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: nodes.document | None
) -> None:
    """Describe a post by its summary or first paragraph, not by its byline."""
    post = post_of(app.env, pagename)
    if post is None:
        return
    description = shorten(excerpt_of(app.env, post))
    if not description:
        return
    meta = context.get("meta")
    if meta is None:
        meta = context["meta"] = {}
    # sphinxext-opengraph escapes only quotes in what it is handed.
    meta["og:description"] = escape(description, quote=False)
    meta["og:type"] = "article"
    context["metatags"] = context.get("metatags", "") + f'\n<meta name="description" content="{escape(description)}" />'


def setup(app: Sphinx) -> dict[str, Any]:
    # Before sphinxext-opengraph (priority 500) reads the page's metadata.
    app.connect("html-page-context", on_html_page_context, priority=450)
    return {"version": __version__, "env_version": 1, "parallel_read_safe": True, "parallel_write_safe": True}
