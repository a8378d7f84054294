"""Ways into the knowledge base other than search: series, practices, tags, authors.

``{kb-browse} series`` (or ``practices``, ``tags``, ``authors``) lists every
entry with how many published posts it has, linked to its page.  The home page
uses them so that a reader can start from a topic or a person.  Lists are
built when the page is written, from the content model, so they are never
stale; the page is rewritten whenever a listed post changes (it registers as a
listing page, see :mod:`kb.listings`).
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any, ClassVar

from docutils import nodes
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

from kb import __version__, model
from kb.content import parts_of, site_of
from kb.domain import PRACTICE_PAGES, TAG_PAGES, domain_of
from kb.render import link

if TYPE_CHECKING:
    from sphinx.application import Sphinx
    from sphinx.builders import Builder
    from sphinx.environment import BuildEnvironment

logger = logging.getLogger(__name__)

KINDS = ("series", "practices", "tags", "authors")


class browse_list(nodes.General, nodes.Element):  # noqa: N801 - docutils node naming
    """Placeholder for a list of series, practices, tags or authors."""


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def series_cards(env: BuildEnvironment, builder: Builder, fromdoc: str, site: model.Site) -> nodes.Node:
    box = nodes.container(classes=["kb-browse-series"])
    for series in sorted(site.series.values(), key=lambda s: s.title):
        parts = parts_of(env, series.key)
        if not parts:
            continue
        card = nodes.container(classes=["kb-browse-card"])
        title = nodes.paragraph(classes=["kb-browse-card-title"])
        title += link(builder, fromdoc, series.docname, series.title)
        card += title
        card += nodes.paragraph(series.summary, series.summary, classes=["kb-browse-card-text"])
        state = "complete" if series.status == "complete" else "ongoing"
        meta = f"{plural(len(parts), 'part')} · {state}"
        card += nodes.paragraph(meta, meta, classes=["kb-post-meta"])
        box += card
    return box


def term_list(
    builder: Builder, fromdoc: str, terms: dict[str, model.Term], counts: Counter[str], pages: str, *, describe: bool
) -> nodes.Node:
    box = nodes.bullet_list(classes=["kb-browse-terms", "kb-browse-described" if describe else "kb-browse-cloud"])
    for name, term in sorted(terms.items(), key=lambda item: item[0].casefold()):
        if not counts[name]:
            continue
        item = nodes.list_item()
        para = nodes.paragraph()
        para += link(builder, fromdoc, f"{pages}/{term.slug}", name)
        para += nodes.inline("", f" {counts[name]}", classes=["kb-browse-count"])
        item += para
        if describe and term.description:
            item += nodes.paragraph(term.description, term.description, classes=["kb-browse-card-text"])
        box += item
    return box


def author_list(builder: Builder, fromdoc: str, site: model.Site, counts: Counter[str]) -> nodes.Node:
    box = nodes.bullet_list(classes=["kb-browse-terms", "kb-browse-authors"])
    for author in sorted(site.authors.values(), key=lambda a: a.name):
        if not counts[author.key]:
            continue
        item = nodes.list_item()
        para = nodes.paragraph()
        para += link(builder, fromdoc, author.docname, author.name)
        para += nodes.inline("", f" {counts[author.key]}", classes=["kb-browse-count"])
        item += para
        item += nodes.paragraph(author.role, author.role, classes=["kb-browse-card-text"])
        box += item
    return box


def render(env: BuildEnvironment, builder: Builder, fromdoc: str, kind: str) -> nodes.Node:
    site = site_of(env)
    posts = site.published
    if kind == "series":
        return series_cards(env, builder, fromdoc, site)
    if kind == "practices":
        counts = Counter(p.practice for p in posts if p.practice)
        return term_list(builder, fromdoc, site.practices, counts, PRACTICE_PAGES, describe=True)
    if kind == "tags":
        counts = Counter(tag for p in posts for tag in p.tags)
        return term_list(builder, fromdoc, site.tags, counts, TAG_PAGES, describe=False)
    counts = Counter(key for p in posts for key in p.authors)
    return author_list(builder, fromdoc, site, counts)


class BrowseDirective(SphinxDirective):
    """``{kb-browse} tags``: every series, practice, tag or author, with post counts."""

    required_arguments = 1
    option_spec: ClassVar[dict[str, Any]] = {}

    def run(self) -> list[nodes.Node]:
        node = browse_list(kind=self.arguments[0].strip())
        self.set_source_info(node)
        if node["kind"] not in KINDS:
            logger.warning(
                "unknown list %r for kb-browse: choose one of %s",
                node["kind"],
                ", ".join(KINDS),
                location=node,
                type="kb",
                subtype="browse",
            )
            return []
        domain_of(self.env).lists(self.env.docname)
        return [node]


def on_doctree_resolved(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """Fill each ``{kb-browse}`` placeholder from the content model."""
    for node in list(doctree.findall(browse_list)):
        node.replace_self(render(app.env, app.builder, docname, node["kind"]))


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_node(browse_list)
    app.add_directive("kb-browse", BrowseDirective)
    app.connect("doctree-resolved", on_doctree_resolved)
    return {"version": __version__, "env_version": 1, "parallel_read_safe": True, "parallel_write_safe": True}
