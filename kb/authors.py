"""Author profiles: ``authors/<key>.md`` is the one place an author is defined.

The profile's front matter gives the name (which becomes the page title); its
body is the bio; the extension adds the author's posts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from docutils import nodes
from sphinx.transforms import SphinxTransform

from kb import __version__, model
from kb.content import site_of
from kb.listings import render_list, select

if TYPE_CHECKING:
    from sphinx.application import Sphinx


def author_of(docname: str, site: model.Site) -> model.Author | None:
    folder, _, key = docname.partition("/")
    return site.authors.get(key) if folder == model.AUTHORS_DIR else None


class ProfileTitle(SphinxTransform):
    """Make the author's name the page title (the profile has no ``#`` heading)."""

    default_priority = 200

    def apply(self, **kwargs: Any) -> None:
        author = author_of(self.env.docname, site_of(self.env))
        if author is None or any(isinstance(c, nodes.section) for c in self.document.children):
            return
        section = nodes.section(ids=[nodes.make_id(author.key) or "profile"], names=[nodes.fully_normalize_name(author.name)])
        section += nodes.title(author.name, author.name)
        section += nodes.paragraph(author.role, author.role, classes=["kb-author-role"])
        keep = [c for c in self.document.children if isinstance(c, nodes.docinfo | nodes.field_list)]
        for child in list(self.document.children):
            if child not in keep:
                self.document.remove(child)
                section += child
        self.document += section


def on_doctree_resolved(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """Append the author's posts, newest first."""
    site = site_of(app.env)
    author = author_of(docname, site)
    if author is None:
        return
    section = next(iter(doctree.findall(nodes.section)), doctree)
    posts = select(site, {"author": author.key})
    heading = nodes.rubric("", f"Posts by {author.name} ({len(posts)})", classes=["kb-posts-heading"])
    section += heading
    section += render_list(app.env, app.builder, docname, posts, excerpts=True)


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_transform(ProfileTitle)
    app.connect("doctree-resolved", on_doctree_resolved)
    return {"version": __version__, "env_version": 1, "parallel_read_safe": True, "parallel_write_safe": True}
