"""Tags and practices: their pages and the tag index.

The vocabulary itself (names, slugs, descriptions, aliases) is read and checked
by :mod:`kb.model`; this module shows it to readers:

* ABlog's tag, practice and archive pages are rendered by our
  ``_templates/ablog/collection.html`` and ``catalog.html`` from values
  prepared here (``html-page-context``): each listed post as the HTML of
  :func:`kb.render.listed_html`, the one renderer of a listed post, and every
  other value as text for the template to escape.  Each listing comes in
  pages of ``kb_posts_per_page`` posts (:mod:`kb.paging`): ABlog's pages, and
  the further pages of authors' profiles, are made by
  :func:`every_listing_page`.
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

from kb import __version__, model, paging
from kb.content import post_of, site_of
from kb.domain import PRACTICE_PAGES, TAG_PAGES, domain_of
from kb.feeds import feed_uri
from kb.listings import select
from kb.render import CATALOG_LINE, link, listed_html

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from sphinx.application import Sphinx
    from sphinx.builders import Builder
    from sphinx.environment import BuildEnvironment

logger = logging.getLogger(__name__)

#: Tag cloud sizes run from 1 (fewest posts) to this (most posts).
CLOUD_SIZES = 5
#: Where each kind of term has its pages and its feeds (``feeds/tag/<slug>.xml``).
TERM_PAGES = {"tag": TAG_PAGES, "practice": PRACTICE_PAGES}
FEED_FOLDERS = {"tag": "feeds/tag", "practice": "feeds/practice"}
#: ABlog's templates of a page of one tag, practice or year (and of an author's further pages), and of a catalog.
COLLECTION, CATALOG = "ablog/collection.html", "ablog/catalog.html"


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


def listing_posts(env: BuildEnvironment, context: dict[str, Any]) -> list[model.Post] | None:
    """The posts a listing page lists, newest first (a catalog's group after group); None for another page."""
    if "kb_author" in context:
        return select(site_of(env), {"author": context["kb_author"]})
    if "collection" in context:
        return model_posts(env, context["collection"])
    if "catalog" in context:
        return [post for _, posts in catalog_groups(env, context["catalog"]) for post in posts]
    return None


def catalog_groups(env: BuildEnvironment, catalog: Any) -> list[tuple[Any, list[model.Post]]]:
    """Each collection of ABlog's *catalog* with its posts (:func:`model_posts`), worked out once per build:
    every page of the catalog shows its share of them."""
    return site_of(env).memo(("catalog", catalog.name), lambda: [(c, model_posts(env, c)) for c in catalog])


def every_listing_page(
    app: Sphinx, pages: Iterable[tuple[str, dict[str, Any], str]]
) -> Iterator[tuple[str, dict[str, Any], str]]:
    """ABlog's pages, each listing as pages of at most ``kb_posts_per_page`` posts,
    then the further pages of each author's profile (page 1 is the profile)."""
    size = paging.per_page(app.config)
    for pagename, context, template in pages:
        posts = listing_posts(app.env, context)
        if posts is None:
            yield pagename, context, template
        else:
            yield from pages_of_listing(pagename, context, template, posts, size)
    site = site_of(app.env)
    for author in sorted(site.authors.values(), key=lambda a: a.key):
        context = {"title": f"Posts by {author.name}", "kb_author": author.key}
        posts = select(site, {"author": author.key})
        yield from pages_of_listing(author.docname, context, COLLECTION, posts, size)[1:]


def pages_of_listing(
    first: str, context: dict[str, Any], template: str, posts: list[model.Post], size: int
) -> list[tuple[str, dict[str, Any], str]]:
    """Every page of the listing of *posts* whose first page is *first*.  Each knows
    its place (``kb_paging``, a :class:`kb.paging.Page`) and the posts it shows
    (``kb_shown``), which decide when it is written again (:func:`kb.upstream.ablog.page_key`)."""
    return [
        (page.name, {**context, "kb_paging": page, "kb_shown": [post.docname for post in page.of(posts)]}, template)
        for page in paging.pages_of(first, len(posts), size)
    ]


def collection_page(app: Sphinx, pagename: str, context: dict[str, Any]) -> dict[str, Any]:
    """Everything ``collection.html`` shows: title, description, count, feed, this page's posts (``kb_shown``)."""
    env, builder = app.env, app.builder
    page: paging.Page = context["kb_paging"]
    posts = [site_of(env).posts[docname] for docname in context["kb_shown"]]
    items = [(p, listed_html(env, builder, pagename, p)) for p in posts]
    shown: dict[str, Any] = {
        "kind": "collection",
        "label": "",
        "title": f"{context.get('header', '')} {context.get('collection', '')}".strip(),
        "description": "",
        "count": posts_label(page.total),
        "page": f"page {page.number} of {page.count}" if page.count > 1 else "",
        "feed": None,
        "posts": [item for _, item in items],
        "years": None,
        "show_years": False,
    }
    here = builder.get_target_uri(pagename)
    catalog = getattr(getattr(context.get("collection"), "catalog", None), "name", "")
    kind = {"tags": "tag", "category": "practice"}.get(catalog)
    if kind:
        slug = page.first.rpartition("/")[2]
        term = next((t for t in terms_of(site_of(env), kind).values() if t.slug == slug), None)
        if term is not None:
            label = "Tag" if kind == "tag" else "Practice"
            feed = relative_uri(here, feed_of(kind, term))
            shown.update(kind=kind, label=label, title=term.name, description=term.description, feed=feed)
    elif "kb_author" in context:
        author = site_of(env).authors[context["kb_author"]]
        feed = relative_uri(here, feed_uri("author", author.key))
        shown.update(kind="author", label="Author", title=f"Posts by {author.name}", feed=feed)
    elif catalog == "archive":
        shown.update(kind="archive", title=f"Posts from {context['collection']}", years=by_month(items))
    elif page.first == app.config.blog_path:
        shown.update(kind="archive", title="All posts", years=by_month(items), show_years=True)
    return shown


def catalog_page(app: Sphinx, pagename: str, context: dict[str, Any]) -> list[dict[str, Any]]:
    """This page's share of a catalog's posts, in the catalog's groups (the archive's
    years): each group's name, link, count and the posts of it on this page."""
    header = context.get("header", "")
    page: paging.Page = context["kb_paging"]
    out = []
    before = 0  # the catalog's posts in the groups before this one
    for collection, posts in catalog_groups(app.env, context["catalog"]):
        here = posts[max(page.start - before, 0) : max(page.stop - before, 0)]
        before += len(posts)
        if not here:
            continue
        out.append(
            {
                "name": f"{header} {collection}".strip(),
                "url": app.builder.get_relative_uri(pagename, collection.docname),
                "count": posts_label(len(posts)),
                "posts": [listed_html(app.env, app.builder, pagename, p, CATALOG_LINE) for p in here],
            }
        )
    return out


def on_html_page_context(
    app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: nodes.document | None
) -> None:
    """Give each page of ABlog's listings (and of authors' further pages) plain values for its share of the posts."""
    if "kb_paging" not in context or templatename not in (COLLECTION, CATALOG):
        return
    if templatename == COLLECTION:
        context["kb_page"] = collection_page(app, pagename, context)
    else:
        context["kb_catalog"] = catalog_page(app, pagename, context)
    page: paging.Page = context["kb_paging"]
    if page.number > 1:
        context["title"] = f"{context.get('title', '')}, page {page.number} of {page.count}"
    if "kb_author" in context:  # an author's further page: in the breadcrumbs below the authors, as the profile
        context["parents"] = [{"link": context["pathto"](f"{model.AUTHORS_DIR}/index"), "title": "Authors"}]
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
