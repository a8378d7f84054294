"""Tags and practices: their pages and the tag index.

The vocabulary itself (names, slugs, descriptions, aliases) is read and checked
by :mod:`kb.model`; this module shows it to readers:

* ABlog's tag, practice and archive pages are rendered by our
  ``_templates/ablog/collection.html`` and ``catalog.html`` from values
  prepared here (``html-page-context``): each listed post as the HTML of
  :func:`kb.render.listed_html`, the one renderer of a listed post, and every
  other value as text for the template to escape.
* ``{kb-tags}`` lists every tag with its description and count, as a cloud
  sized by count; ``{kb-practices}`` lists the practice areas.
* A tag nobody uses any more leaves nothing behind: its page is removed with
  every page ABlog no longer writes (kb/upstream/ablog.py), its feed by
  kb/feeds.py.
"""

from __future__ import annotations

import html
from collections import Counter
from typing import TYPE_CHECKING, Any, ClassVar

from docutils import nodes
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective
from sphinx.util.osutil import relative_uri

from kb import __version__, model
from kb.content import domain_of, post_of, site_of
from kb.render import CATALOG_LINE, PRACTICE_PAGES, TAG_PAGES, link, listed_html

if TYPE_CHECKING:
    from collections.abc import Iterable

    from sphinx.application import Sphinx
    from sphinx.builders import Builder
    from sphinx.environment import BuildEnvironment

logger = logging.getLogger(__name__)

#: Tag cloud sizes run from 1 (fewest posts) to this (most posts).
CLOUD_SIZES = 5
#: Where each kind of term has its pages and its feeds (``feeds/tag/<slug>.xml``).
TERM_PAGES = {"tag": TAG_PAGES, "practice": PRACTICE_PAGES}
FEED_FOLDERS = {"tag": "feeds/tag", "practice": "feeds/practice"}


def feed_of(kind: str, term: model.Term) -> str:
    """Path of a tag's or practice's Atom feed in the output, by the site's feed convention."""
    return f"{FEED_FOLDERS[kind]}/{term.slug}.xml"


def terms_of(site: model.Site, kind: str) -> dict[str, model.Term]:
    return site.tags if kind == "tag" else site.practices


def counts(site: model.Site, kind: str) -> Counter[str]:
    """Published posts per tag (or per practice), counted once for a whole page."""
    found: Counter[str] = Counter()
    for post in site.published:
        found.update(post.tags if kind == "tag" else [post.practice] if post.practice else [])
    return found


def cloud_size(count: int, smallest: int, largest: int) -> int:
    """1..CLOUD_SIZES, linear in the number of posts; the middle size when all are equal."""
    if largest == smallest:
        return (CLOUD_SIZES + 1) // 2
    return 1 + round((count - smallest) * (CLOUD_SIZES - 1) / (largest - smallest))


def posts_label(count: int) -> str:
    return f"{count} post" if count == 1 else f"{count} posts"


def on_doctree_resolved(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """Fill the tag and practice indexes."""
    for node in list(doctree.findall(term_index)):
        node.replace_self(render_terms(app.env, app.builder, docname, node["kind"]))


# -- the tag index ---------------------------------------------------------------


class term_index(nodes.General, nodes.Element):  # noqa: N801 - docutils node naming
    """Placeholder for the list of tags or practices, filled in when the page is written."""


class TermIndexDirective(SphinxDirective):
    """``{kb-tags}`` (a cloud and a list of every tag) or ``{kb-practices}``."""

    kind: ClassVar[str] = "tag"
    option_spec: ClassVar[dict[str, Any]] = {}

    def run(self) -> list[nodes.Node]:
        node = term_index(kind=self.kind)
        self.set_source_info(node)
        # Counts change whenever a post's tags do: rewrite this page then (kb.listings).
        domain_of(self.env).lists(self.env.docname)
        return [node]


class PracticeIndexDirective(TermIndexDirective):
    kind: ClassVar[str] = "practice"


def term_page(kind: str, term: model.Term) -> str:
    return f"{TERM_PAGES[kind]}/{term.slug}"


def render_terms(env: BuildEnvironment, builder: Builder, fromdoc: str, kind: str) -> nodes.Node:
    """A cloud of the used terms (tags only), then every term with description and count."""
    site = site_of(env)
    terms = terms_of(site, kind)
    found = counts(site, kind)
    box = nodes.container(classes=[f"kb-{kind}-index"])
    used = sorted((name for name in terms if found[name]), key=str.casefold)
    if kind == "tag" and used:
        cloud = nodes.paragraph(classes=["kb-tag-cloud"])
        smallest, largest = min(found[n] for n in used), max(found[n] for n in used)
        for name in used:
            size = cloud_size(found[name], smallest, largest)
            ref = link(builder, fromdoc, term_page(kind, terms[name]), name, ["kb-tag", f"kb-cloud-{size}"])
            ref["reftitle"] = posts_label(found[name])
            cloud += ref
            cloud += nodes.Text(" ")
        box += cloud
    entries = nodes.definition_list(classes=["kb-term-list"])
    for name in sorted(terms, key=str.casefold):
        term = terms[name]
        item = nodes.definition_list_item()
        label = nodes.term()
        if found[name]:
            label += link(builder, fromdoc, term_page(kind, term), name, [f"kb-{kind}"])
        else:
            label += nodes.Text(name)
        count = posts_label(found[name]) if found[name] else "no posts yet"
        label += nodes.inline("", f" ({count})", classes=["kb-term-count"])
        item += label
        item += nodes.definition("", nodes.paragraph(term.description, term.description))
        entries += item
    box += entries
    return box


# -- ABlog's collection and catalog pages -----------------------------------------


def model_posts(env: BuildEnvironment, collection: Iterable[Any]) -> list[model.Post]:
    """The model's records of the posts ABlog put in *collection*, newest first."""
    found = [post_of(env, getattr(p, "docname", "")) for p in collection]
    posts = {p.docname: p for p in found if p is not None}
    return sorted(posts.values(), key=lambda p: (p.date, p.title), reverse=True)


def by_month(items: list[tuple[model.Post, dict[str, Any]]]) -> list[dict[str, Any]]:
    """``[{year, months: [{label, posts}]}]``, newest first, for the archive."""
    years: list[dict[str, Any]] = []
    for post, item in items:
        year = str(post.date.year) if post.date else "Undated"
        month = post.date.strftime("%B %Y") if post.date else "Undated"
        if not years or years[-1]["year"] != year:
            years.append({"year": year, "months": []})
        months = years[-1]["months"]
        if not months or months[-1]["label"] != month:
            months.append({"label": month, "posts": []})
        months[-1]["posts"].append(item)
    return years


def collection_page(app: Sphinx, pagename: str, collection: Any, header: str) -> dict[str, Any]:
    """Everything ``collection.html`` shows: title, description, count, feed, posts."""
    env, builder = app.env, app.builder
    site = site_of(env)
    posts = model_posts(env, collection)
    items = [(p, listed_html(env, builder, pagename, p)) for p in posts]
    catalog = getattr(getattr(collection, "catalog", None), "name", "")
    page: dict[str, Any] = {
        "kind": "collection",
        "label": "",
        "title": f"{header} {collection}".strip(),
        "description": "",
        "count": posts_label(len(posts)),
        "feed": None,
        "posts": [item for _, item in items],
        "years": None,
        "show_years": False,
    }
    kind = {"tags": "tag", "category": "practice"}.get(catalog)
    if kind:
        slug = pagename.rpartition("/")[2]
        term = next((t for t in terms_of(site, kind).values() if t.slug == slug), None)
        if term is not None:
            here = builder.get_target_uri(pagename)
            page.update(
                kind=kind,
                label="Tag" if kind == "tag" else "Practice",
                title=term.name,
                description=term.description,
                feed=relative_uri(here, feed_of(kind, term)),
            )
    elif catalog == "archive":
        page.update(kind="archive", title=f"Posts from {collection}", years=by_month(items))
    elif pagename == app.config.blog_path:
        page.update(kind="archive", title="All posts", years=by_month(items), show_years=True)
    return page


def catalog_page(app: Sphinx, pagename: str, catalog: Iterable[Any], header: str) -> list[dict[str, Any]]:
    """Each non-empty collection of a catalog page: name, link, count, posts."""
    out = []
    for collection in catalog:
        posts = model_posts(app.env, collection)
        if not posts:
            continue
        out.append(
            {
                "name": f"{header} {collection}".strip(),
                "url": app.builder.get_relative_uri(pagename, collection.docname),
                "count": posts_label(len(posts)),
                "posts": [listed_html(app.env, app.builder, pagename, p, CATALOG_LINE) for p in posts],
            }
        )
    return out


def on_html_page_context(
    app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: nodes.document | None
) -> None:
    """Give ABlog's collection and catalog pages plain values; note which term pages are written."""
    if templatename == "ablog/collection.html" and "collection" in context:
        context["kb_page"] = collection_page(app, pagename, context["collection"], context.get("header", ""))
    elif templatename == "ablog/catalog.html" and "catalog" in context:
        context["kb_catalog"] = catalog_page(app, pagename, context["catalog"], context.get("header", ""))
    if templatename in ("ablog/collection.html", "ablog/catalog.html"):
        # Themes print ``title`` as HTML (for documents Sphinx renders it); ABlog
        # passes a tag's raw name, so escape it once here.  (``feed_title`` is
        # escaped where it is printed, in _templates/page.html.)
        context["kb_title"] = context.get("title", "")
        if "title" in context:
            context["title"] = html.escape(str(context["title"]), quote=True)


# -- incremental builds --------------------------------------------------------------


def on_env_get_updated(app: Sphinx, env: BuildEnvironment) -> list[str]:
    """Rewrite the tag index when the vocabulary changes (a description, a new tag)."""
    site = site_of(env)
    new = (tuple(site.tags.values()), tuple(site.practices.values()))
    old = getattr(env, "kb_vocabulary", None)
    env.kb_vocabulary = new  # type: ignore[attr-defined]
    if old is None or old == new:
        return []
    return sorted(d for d in domain_of(env).listings if d in env.all_docs)


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_node(term_index)
    app.add_directive("kb-tags", TermIndexDirective)
    app.add_directive("kb-practices", PracticeIndexDirective)
    app.connect("doctree-resolved", on_doctree_resolved)
    app.connect("html-page-context", on_html_page_context)
    app.connect("env-get-updated", on_env_get_updated)
    return {"version": __version__, "env_version": 1, "parallel_read_safe": True, "parallel_write_safe": True}
