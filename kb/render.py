"""The one renderer of a listed post, and the links every listing is made of.

A post is listed on many pages: ``{kb-posts}`` lists, author profiles, series
pages, the related posts at the end of a post, and ABlog's tag, practice and
archive pages and catalogs.  Each shows it through one template,
``_templates/kb/listed-post.html`` (:func:`listed_html`): linked title, meta
line, excerpt and tags, or a catalog's brief line, from plain values out of
the content model plus what reading the post found (excerpt, length), so
every value is escaped by the template and listing a post never renders the
post again.  Docutils pages hold it as a :class:`listed_post` node
(:func:`listed`); ABlog's pages print it from ``collection.html`` and
``catalog.html``.
"""

from __future__ import annotations

import math
import posixpath
import urllib.parse
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from docutils import nodes

from kb import __version__, model
from kb.content import site_of
from kb.domain import PRACTICE_PAGES, TAG_PAGES, domain_of
from kb.rules import POSTS_PER_ENTRY, count_setting

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from sphinx.application import Sphinx
    from sphinx.builders import Builder
    from sphinx.environment import BuildEnvironment

WORDS_PER_MINUTE = 230
#: The one template of a listed post (in ``_templates/``).
LISTED_TEMPLATE = "kb/listed-post.html"
T = TypeVar("T")
DATE_FORMAT = "%-d %B %Y"  # 8 May 2023: no leading zero (glibc and BSD strftime)
#: The page that shows the search interface (Sphinx's own name for it; :mod:`kb.search`
#: writes it), which bounded lists point to for the rest.
SEARCH_PAGE = "search"
#: Where the links of a listed post begin before a page puts its own way up to the site's root there
#: (:func:`listed_html`); no page's text holds it.
ROOT = "\x00kb-root/"


def reading_minutes(words: int) -> int:
    return max(1, math.ceil(words / WORDS_PER_MINUTE))


def date_text(post: model.Post) -> str:
    return post.date.strftime(DATE_FORMAT) if post.date else "undated"


def link(builder: Builder, fromdoc: str, todoc: str, text: str, classes: Iterable[str] = ()) -> nodes.reference:
    """A reference from *fromdoc* to the page *todoc* (a document or a generated page)."""
    return nodes.reference(text, text, internal=True, refuri=relative(builder, fromdoc, todoc), classes=list(classes))


def relative(builder: Builder, fromdoc: str, todoc: str) -> str:
    """``builder.get_relative_uri``, worked out once per folder and target: a
    listing page links to hundreds of posts, tags and authors, and every post in
    ``posts/`` to the same tags and authors.  (Only where a page is a file in its
    document's folder: with ``dirhtml`` every document is a folder of its own.)"""
    if fromdoc == todoc or builder.name != "html":
        return builder.get_relative_uri(fromdoc, todoc)
    known: dict[tuple[str, str], str] = builder.__dict__.setdefault("kb_relative_uris", {})
    key = (posixpath.dirname(fromdoc), todoc)
    if key not in known:
        known[key] = builder.get_relative_uri(fromdoc, todoc)
    return known[key]


def author_links(builder: Builder, fromdoc: str, site: model.Site, keys: Iterable[str]) -> list[nodes.Node]:
    """Author names, each linked to the profile, joined with commas and 'and'."""
    keys = list(keys)
    out: list[nodes.Node] = []
    for index, key in enumerate(keys):
        if index:
            out.append(nodes.Text(" and " if index == len(keys) - 1 else ", "))
        author = site.authors[key]
        out.append(link(builder, fromdoc, author.docname, author.name, ["kb-author"]))
    return out


def tag_page(site: model.Site, tag: str) -> str:
    return f"{TAG_PAGES}/{site.tags[tag].slug}"


def tag_links(builder: Builder, fromdoc: str, site: model.Site, tags: Iterable[str]) -> list[nodes.Node]:
    out: list[nodes.Node] = []
    for tag in tags:
        out.append(link(builder, fromdoc, tag_page(site, tag), tag, ["kb-tag"]))
        out.append(nodes.Text(" "))
    return out[:-1]


def practice_link(builder: Builder, fromdoc: str, site: model.Site, practice: str) -> nodes.reference:
    page = f"{PRACTICE_PAGES}/{site.practices[practice].slug}"
    return link(builder, fromdoc, page, practice, ["kb-practice"])


def excerpt_of(env: BuildEnvironment, post: model.Post) -> str:
    if post.summary:
        return post.summary
    return domain_of(env).posts.get(post.docname, {}).get("excerpt", "")


def words_of(env: BuildEnvironment, post: model.Post) -> int:
    return domain_of(env).posts.get(post.docname, {}).get("words", 0)


@dataclass(frozen=True)
class Form:
    """How a list shows a post: the whole item, or parts of it."""

    #: The post's first paragraph (listing pages; related posts leave it out).
    excerpt: bool = True
    #: The series badge (a series' own page leaves it out and numbers the parts instead).
    badge: bool = True
    numbered: bool = False
    #: Only the date and linked title, as a line of ABlog's catalogs.
    brief: bool = False


ITEM = Form()
WITHOUT_EXCERPT = Form(excerpt=False)
NUMBERED_PART = Form(badge=False, numbered=True)
CATALOG_LINE = Form(brief=True)


def render_list(
    env: BuildEnvironment, builder: Builder, fromdoc: str, posts: list[model.Post], form: Form = ITEM
) -> nodes.Node:
    if not posts:
        return nodes.paragraph("No posts yet.", "No posts yet.", classes=["kb-empty"])
    container = nodes.container(classes=["kb-post-list"])
    for post in posts:
        container += listed(env, builder, fromdoc, post, form)
    return container


class listed_post(nodes.raw):  # noqa: N801 - docutils node naming
    """A post in a list, as the HTML of ``kb/listed-post.html``; ``post`` names it."""


def listed(env: BuildEnvironment, builder: Builder, fromdoc: str, post: model.Post, form: Form = ITEM) -> nodes.Node:
    """*post* in a list on page *fromdoc* (see :func:`listed_html`).

    The site is HTML; other formats get the linked title.
    """
    if builder.format != "html":
        return nodes.paragraph("", "", link(builder, fromdoc, post.docname, post.title), classes=["kb-post-title"])
    return listed_post("", listed_html(env, builder, fromdoc, post, form), format="html", post=post.docname)


def listed_html(env: BuildEnvironment, builder: Builder, fromdoc: str, post: model.Post, form: Form = ITEM) -> str:
    """*post* listed on page *fromdoc* in *form*, by the template ``kb/listed-post.html``.

    A post is listed on many pages (the related posts of every post sharing a
    tag, its authors', series' and tags' pages, each page of a listing), so the
    html builder renders it once per form, its links written from the site's
    root after a mark (:data:`ROOT`); each page puts its own way up to the root
    in place of the mark.
    """
    if builder.name != "html":
        return render_item(builder, post, form, lambda docname: relative(builder, fromdoc, docname) or "#")
    rendered: dict[tuple[str, Form], str] = builder.__dict__.setdefault("kb_listed_html", {})
    key = (post.docname, form)
    if key not in rendered:
        rendered[key] = render_item(builder, post, form, lambda docname: ROOT + builder.get_target_uri(docname))
    return rendered[key].replace(ROOT, "../" * fromdoc.count("/"))


def render_item(builder: Builder, post: model.Post, form: Form, uri: Callable[[str], str]) -> str:
    """The template ``kb/listed-post.html`` for *post* in *form*, linking each page by its *uri*."""
    values = item_values(builder.env, post, uri, excerpt=form.excerpt, badge=form.badge)
    values["part"] = post.part if form.numbered else None
    return builder.templates.render(LISTED_TEMPLATE, {"p": values, "brief": form.brief})  # type: ignore[attr-defined]


def item_values(
    env: BuildEnvironment, post: model.Post, uri: Callable[[str], str], *, excerpt: bool, badge: bool
) -> dict[str, Any]:
    """What a list shows of *post*, as plain values for the template to escape; *uri* gives a page's address."""
    site = site_of(env)
    authors = []
    for index, key in enumerate(post.authors):
        before = "" if index == 0 else " and " if index == len(post.authors) - 1 else ", "
        authors.append({"before": before, "name": site.authors[key].name, "url": uri(site.authors[key].docname)})
    series = None
    if badge and post.series:
        found = site.series[post.series]
        series = {"text": f"{found.title} · Part {post.part}", "url": uri(found.docname)}
    return {
        "title": post.title,
        "url": uri(post.docname),
        "date": date_text(post),
        "authors": authors,
        "minutes": reading_minutes(words_of(env, post)),
        "series": series,
        "excerpt": excerpt_of(env, post) if excerpt else "",
        "tags": [{"name": tag, "url": uri(tag_page(site, tag))} for tag in post.tags],
    }


def visit_listed_post(self: Any, node: listed_post) -> None:
    self.body.append(node.astext())
    raise nodes.SkipNode


def newest(
    builder: Builder, fromdoc: str, posts: list[T], search: tuple[str, str], text: str
) -> tuple[list[T], nodes.Node | None]:
    """The first ``kb_posts_per_entry`` of *posts* (newest first), and what stands for the rest:
    ``and 12 more: <text>``, linking the search page asked *search* (a parameter of its
    address and its value: ``("q", "CAPA")``); None when none are left.

    A glossary entry or a regulation used by hundreds of posts would otherwise
    list them all on one page, which grows with the site.
    """
    shown = count_setting(builder.config, "kb_posts_per_entry")
    if len(posts) <= shown:
        return posts, None
    more = nodes.inline(classes=["kb-more-posts"])
    more += nodes.Text(f"and {len(posts) - shown} more: ")
    uri = relative(builder, fromdoc, SEARCH_PAGE) + "?" + urllib.parse.urlencode([search], quote_via=urllib.parse.quote)
    more += nodes.reference("", text, refuri=uri, internal=True)
    return posts[:shown], more


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_node(listed_post, html=(visit_listed_post, None))
    app.add_config_value("kb_posts_per_entry", POSTS_PER_ENTRY, "html", types=frozenset({int}))
    return {"version": __version__, "env_version": 1, "parallel_read_safe": True, "parallel_write_safe": True}
