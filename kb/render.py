"""The one renderer of a listed post, and the links every listing is made of.

A post is listed on many pages: ``{kb-posts}`` lists, author profiles, series
pages, the related posts at the end of a post, and ABlog's tag, practice and
archive pages.  Each shows it with :func:`post_item` (linked title, meta line,
excerpt, tags), built from docutils nodes out of the content model plus what
reading the post found (excerpt, length), so every value is escaped by the
writer and listing a post never renders it again.  ABlog's pages get the same
item as HTML (:func:`listed_html`), for ``_templates/ablog/collection.html``;
their catalogs (every post by tag, practice or year) the brief form of it,
:func:`post_line` (date and linked title), for ``catalog.html``.
"""

from __future__ import annotations

import math
import posixpath
from typing import TYPE_CHECKING, Any

from docutils import nodes, utils

from kb import __version__, model
from kb.content import domain_of, site_of

if TYPE_CHECKING:
    from collections.abc import Iterable

    from sphinx.application import Sphinx
    from sphinx.builders import Builder
    from sphinx.environment import BuildEnvironment

#: Where ABlog writes the pages of tags and of categories (our practices).
TAG_PAGES, PRACTICE_PAGES = "blog/tag", "blog/category"
WORDS_PER_MINUTE = 230
DATE_FORMAT = "%d %B %Y"


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


def series_badge(builder: Builder, fromdoc: str, site: model.Site, post: model.Post) -> nodes.Node | None:
    if not post.series:
        return None
    series = site.series[post.series]
    text = f"{series.title} · Part {post.part}"
    return link(builder, fromdoc, series.docname, text, ["kb-series-badge"])


def excerpt_of(env: BuildEnvironment, post: model.Post) -> str:
    if post.summary:
        return post.summary
    return domain_of(env).posts.get(post.docname, {}).get("excerpt", "")


def words_of(env: BuildEnvironment, post: model.Post) -> int:
    return domain_of(env).posts.get(post.docname, {}).get("words", 0)


def meta_line(
    env: BuildEnvironment, builder: Builder, fromdoc: str, post: model.Post, *, badge: bool = True
) -> nodes.paragraph:
    """``8 May 2023 · Mark Roache · 3 min read · Series, Part 1`` (the last without *badge*)."""
    site = site_of(env)
    para = nodes.paragraph(classes=["kb-post-meta"])
    date = date_text(post)
    para += nodes.inline(date, date, classes=["kb-date"])
    if post.authors:
        para += nodes.Text(" · ")
        para += author_links(builder, fromdoc, site, post.authors)
    minutes = reading_minutes(words_of(env, post))
    para += nodes.Text(" · ")
    para += nodes.inline("", f"{minutes} min read", classes=["kb-reading-time"])
    shown = series_badge(builder, fromdoc, site, post) if badge else None
    if shown is not None:
        para += nodes.Text(" · ")
        para += shown
    return para


def post_item(
    env: BuildEnvironment, builder: Builder, fromdoc: str, post: model.Post, *, excerpt: bool = True, badge: bool = True
) -> nodes.container:
    """One post in a listing: linked title, meta line, excerpt and tags.

    Without *excerpt*, the first paragraph is left out (related posts); without
    *badge*, the series badge (on its own series' page, which numbers the parts).
    """
    site = site_of(env)
    item = nodes.container(classes=["kb-post-item"])
    title = nodes.paragraph(classes=["kb-post-title"])
    title += link(builder, fromdoc, post.docname, post.title)
    item += title
    item += meta_line(env, builder, fromdoc, post, badge=badge)
    text = excerpt_of(env, post) if excerpt else ""
    if text:
        item += nodes.paragraph(text, text, classes=["kb-post-excerpt"])
    if post.tags:
        tags = nodes.paragraph(classes=["kb-post-tags"])
        tags += tag_links(builder, fromdoc, site, post.tags)
        item += tags
    return item


def render_list(
    env: BuildEnvironment, builder: Builder, fromdoc: str, posts: list[model.Post], *, excerpts: bool
) -> nodes.Node:
    if not posts:
        return nodes.paragraph("No posts yet.", "No posts yet.", classes=["kb-empty"])
    container = nodes.container(classes=["kb-post-list"])
    for post in posts:
        container += listed(env, builder, fromdoc, post, excerpt=excerpts)
    return container


class listed_post(nodes.raw):  # noqa: N801 - docutils node naming
    """A post in a list, as the HTML of its :func:`post_item`; ``post`` names it."""


def listed(env: BuildEnvironment, builder: Builder, fromdoc: str, post: model.Post, *, excerpt: bool) -> nodes.Node:
    """:func:`post_item`, which the html builder renders once per folder.

    A post is listed on many pages (the related posts of every post sharing a
    tag, its authors' and series' pages), and its item differs only by the
    folder its links are relative to (see :func:`relative`).
    """
    if builder.name != "html":
        return post_item(env, builder, fromdoc, post, excerpt=excerpt)
    return listed_post("", listed_html(env, builder, fromdoc, post, excerpt=excerpt), format="html", post=post.docname)


def listed_html(
    env: BuildEnvironment,
    builder: Builder,
    fromdoc: str,
    post: model.Post,
    *,
    excerpt: bool = True,
    brief: bool = False,
) -> str:
    """The HTML of *post* listed on page *fromdoc*: its :func:`post_item` (or,
    *brief*, its :func:`post_line`), rendered once per folder."""

    def draw() -> nodes.Element:
        return post_line(builder, fromdoc, post) if brief else post_item(env, builder, fromdoc, post, excerpt=excerpt)

    if builder.name != "html":
        return as_html(builder, draw())
    rendered: dict[tuple[Any, ...], str] = builder.__dict__.setdefault("kb_listed", {})
    # A link to the page itself is written differently ("#").
    itself = fromdoc if fromdoc in item_targets(site_of(env), post) else None
    key = (posixpath.dirname(fromdoc), itself, post.docname, excerpt, brief)
    if key not in rendered:
        rendered[key] = as_html(builder, draw())
    return rendered[key]


def post_line(builder: Builder, fromdoc: str, post: model.Post) -> nodes.list_item:
    """A post in an index of every post (ABlog's catalogs): its date and linked title."""
    date = date_text(post)
    # In a ``generated`` node (written without a tag of its own): a <p> would space the lines apart.
    line = nodes.generated()
    line += nodes.inline(date, date, classes=["kb-date"])
    line += nodes.Text(" · ")
    line += link(builder, fromdoc, post.docname, post.title)
    return nodes.list_item("", line)


def item_targets(site: model.Site, post: model.Post) -> set[str]:
    """The pages a post's :func:`post_item` links to."""
    targets = {post.docname, *(site.authors[key].docname for key in post.authors if key in site.authors)}
    targets.update(tag_page(site, tag) for tag in post.tags if tag in site.tags)
    if post.series in site.series:
        targets.add(site.series[post.series].docname)
    return targets


def as_html(builder: Builder, node: nodes.Element) -> str:
    """*node* as the builder's translator writes it on a page (one translator
    serves every item: an item leaves no state behind in it)."""
    translator = builder.__dict__.get("kb_translator")
    if translator is None:
        document = utils.new_document("", builder.docsettings)  # type: ignore[attr-defined]
        translator = builder.kb_translator = builder.create_translator(document, builder)  # type: ignore[attr-defined]
    translator.body = []
    node.walkabout(translator)
    return "".join(translator.body)


def visit_listed_post(self: Any, node: listed_post) -> None:
    self.body.append(node.astext())
    raise nodes.SkipNode


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_node(listed_post, html=(visit_listed_post, None))
    return {"version": __version__, "env_version": 1, "parallel_read_safe": True, "parallel_write_safe": True}
