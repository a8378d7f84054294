"""What a reader sees on a post page besides the body: the byline.

Under the title: authors (linked to their profiles), date, when it was last
updated, reading time, practice and tags; in previews, a DRAFT or SCHEDULED
banner.  At the end, the post's history (:mod:`kb.history`).  Built as
docutils nodes when the page is written, so every value is escaped.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from docutils import nodes

from kb import __version__, control, history
from kb.content import post_of, site_of
from kb.render import DATE_FORMAT, author_links, practice_link, reading_minutes, tag_links, words_of

if TYPE_CHECKING:
    from sphinx.application import Sphinx
    from sphinx.builders import Builder
    from sphinx.environment import BuildEnvironment

    from kb.model import Post


def updated_on(page: history.PageHistory, post: Post) -> nodes.inline | None:
    """When the post last changed: from git, else from its front matter's ``updated:``."""
    shown = history.last_updated(page, DATE_FORMAT)
    if shown is None and post.updated:
        text = f"Last updated {post.updated.strftime(DATE_FORMAT)}"
        shown = nodes.inline("", text, classes=["kb-last-updated"])
    if shown is not None and post.date and shown.astext().endswith(post.date.strftime(DATE_FORMAT)):
        return None  # changed on the day it was published: the date says it
    return shown


def byline(env: BuildEnvironment, builder: Builder, post: Post) -> nodes.container:
    site = site_of(env)
    box = nodes.container(classes=["kb-byline"])
    para = nodes.paragraph(classes=["kb-post-meta"])
    if post.authors:
        para += nodes.Text("By ")
        para += author_links(builder, post.docname, site, post.authors)
        para += nodes.Text(" · ")
    date = post.date.strftime(DATE_FORMAT) if post.date else "undated"
    para += nodes.inline(date, date, classes=["kb-date"])
    updated = updated_on(history.page_history(env, post.docname), post)
    if updated is not None:
        para += nodes.Text(" · ")
        para += updated
    para += nodes.Text(" · ")
    minutes = reading_minutes(words_of(env, post))
    para += nodes.inline("", f"{minutes} min read", classes=["kb-reading-time"])
    box += para
    reviewed = control.reviewed_line(env, builder, post)
    if reviewed:
        box += nodes.paragraph("", "", *reviewed, classes=["kb-post-review"])
    terms = nodes.paragraph(classes=["kb-post-terms"])
    if post.practice:
        terms += nodes.Text("Practice: ")
        terms += practice_link(builder, post.docname, site, post.practice)
    if post.tags:
        terms += nodes.Text(" · Tags: " if post.practice else "Tags: ")
        terms += tag_links(builder, post.docname, site, post.tags)
    box += terms
    return box


def held_banner(post: Post) -> nodes.Node | None:
    """DRAFT / SCHEDULED warning for previews; such posts never reach `make html`."""
    if post.status == "draft":
        title, text = "Draft", "This post is not published: it appears only in previews."
    elif post.status == "scheduled" and post.date:
        title, text = "Scheduled", f"This post will be published on {post.date.strftime(DATE_FORMAT)}."
    else:
        return None
    note = nodes.admonition(classes=["kb-held", f"kb-{post.status}"])
    note += nodes.title(title, title)
    note += nodes.paragraph(text, text)
    return note


def on_doctree_resolved(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """Put the byline (and a preview banner) right under the post's title, its history at the end;
    on other pages, when they were last updated."""
    post = post_of(app.env, docname)
    section = next(iter(doctree.findall(nodes.section)), None)
    if section is None:
        return
    page = history.page_history(app.env, docname)
    suggest = control.suggest_change(app.env, docname)
    if post is None:
        shown = history.last_updated(page, DATE_FORMAT)
        if shown is not None and docname in app.env.found_docs:
            section += nodes.paragraph("", "", shown, classes=["kb-page-updated"])
        section += [suggest] if suggest is not None else []
        return
    changes = history.history_block(page, DATE_FORMAT)
    section += [node for node in (changes, suggest) if node is not None]
    index = section.first_child_matching_class(nodes.title)
    banners = (held_banner(post), control.due_banner(app.env, app.builder, post))
    extra = [*(banner for banner in banners if banner is not None), byline(app.env, app.builder, post)]
    position = (index or 0) + 1
    for offset, node in enumerate(extra):
        section.insert(position + offset, node)


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("doctree-resolved", on_doctree_resolved)
    return {"version": __version__, "env_version": 1, "parallel_read_safe": True, "parallel_write_safe": True}
