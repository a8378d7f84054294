"""Listings in pages: at most ``kb_posts_per_page`` posts on each page of a
listing (tag, practice, author and archive pages), with a pager.

Page 1 of a listing keeps the address it always had (``blog/tag/gmp.html``,
``authors/MR.html``); page *n* is below it, ``<page 1>/page/<n>.html``
(``blog/tag/gmp/page/2.html``).  One scheme for every listing, chosen because
no other page can take such an address: tag and practice slugs and author
keys hold no ``/`` (``blog/tag/gmp-2.html`` would be the page of a tag named
"GMP 2"), and the further pages of a listing sit in a folder of their own.

A :class:`Page` says which of a listing's posts (newest first) a page shows;
:func:`pager` what its pager shows, drawn by the one template
``kb/pager.html``, which every listing page includes.  A page's neighbours in
its listing become its ``prev`` and ``next``, which Sphinx's layout links in
the head (``rel="prev"``, ``rel="next"``).  Which pages a listing has is
decided where its pages are made: ABlog's pages, and the further pages of
author profiles, by :func:`kb.tags.every_listing_page`; page 1 of a profile
by :mod:`kb.authors`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from docutils import nodes

from kb import __version__
from kb.render import relative
from kb.rules import POSTS_PER_PAGE, count_setting
from kb.rules.pages import PAGE_FOLDER

if TYPE_CHECKING:
    from sphinx.application import Sphinx
    from sphinx.builders import Builder
    from sphinx.config import Config

#: The one template of a pager (in ``_templates/``).
PAGER_TEMPLATE = "kb/pager.html"
#: Page numbers the pager shows on each side of the current one (besides the first and last).
AROUND = 2


def page_name(first: str, number: int) -> str:
    """The page name of page *number* of the listing whose first page is *first*."""
    return first if number == 1 else f"{first}/{PAGE_FOLDER}/{number}"


@dataclass(frozen=True)
class Page:
    """One page of a listing: which of its posts (newest first) it shows."""

    #: The listing's first page, at the address the listing always had.
    first: str
    number: int
    #: How many pages the listing has, and posts.
    count: int
    total: int
    start: int
    stop: int

    @property
    def name(self) -> str:
        return page_name(self.first, self.number)

    def of(self, posts: list[Any]) -> list[Any]:
        """The posts this page shows, of the listing's *posts*."""
        return posts[self.start : self.stop]


def pages_of(first: str, total: int, per_page: int) -> list[Page]:
    """Every page of a listing of *total* posts (one page, maybe empty, when there are none)."""
    count = max(1, math.ceil(total / per_page))
    return [Page(first, n, count, total, (n - 1) * per_page, min(total, n * per_page)) for n in range(1, count + 1)]


def per_page(config: Config) -> int:
    """``kb_posts_per_page`` (:func:`kb.rules.count_setting`)."""
    return count_setting(config, "kb_posts_per_page")


def shown_numbers(current: int, count: int) -> list[int | None]:
    """The page numbers the pager shows: the first, the last and those near
    *current*, with ``None`` for each gap of more than one page."""
    keep = {1, count, *range(current - AROUND, current + AROUND + 1)}
    out: list[int | None] = []
    for number in range(1, count + 1):
        if number in keep or {number - 1, number + 1} <= keep:
            out.append(number)
        elif out[-1] is not None:
            out.append(None)
    return out


def pager(builder: Builder, page: Page) -> dict[str, Any] | None:
    """What *page*'s pager and head links show, as plain values; None for a listing of one page."""
    if page.count == 1:
        return None

    def url(number: int) -> str:
        return relative(builder, page.name, page_name(page.first, number)) or "#"

    return {
        "number": page.number,
        "count": page.count,
        "prev": url(page.number - 1) if page.number > 1 else None,
        "next": url(page.number + 1) if page.number < page.count else None,
        "numbers": [
            {"number": n, "url": url(n), "current": n == page.number} if n else {"number": None}
            for n in shown_numbers(page.number, page.count)
        ],
    }


def pager_node(builder: Builder, page: Page) -> nodes.Node | None:
    """*page*'s pager for a document's body (an author's profile), by the one template of a pager."""
    values = pager(builder, page)
    if values is None or builder.format != "html":
        return None
    html = builder.templates.render(PAGER_TEMPLATE, {"kb_pager": values})  # type: ignore[attr-defined]
    return nodes.raw("", html, format="html")


def on_html_page_context(
    app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: nodes.document | None
) -> None:
    """Give every page of a listing its pager; its neighbours are the page's
    ``prev`` and ``next``, which the layout links in the head (``rel="prev"``,
    ``rel="next"``) instead of the neighbours in the table of contents."""
    page = context.get("kb_paging")
    if not isinstance(page, Page):
        return
    context["kb_pager"] = shown = pager(app.builder, page)
    if shown is not None:
        for key, number in (("prev", page.number - 1), ("next", page.number + 1)):
            context[key] = {"link": shown[key], "title": f"Page {number}"} if shown[key] else None


def setup(app: Sphinx) -> dict[str, Any]:
    # "html": the pages are written again, with their new share of the posts, when it changes.
    app.add_config_value("kb_posts_per_page", POSTS_PER_PAGE, "html", types=frozenset({int}))
    # After kb.authors and kb.tags have given each page of a listing its place.
    app.connect("html-page-context", on_html_page_context, priority=700)
    return {"version": __version__, "env_version": 1, "parallel_read_safe": True, "parallel_write_safe": True}
