"""Lists of posts, and keeping every page that shows a post up to date.

``{kb-posts}`` lists published posts, filtered by author, series, tag or
practice, newest first, each drawn by :func:`kb.render.listed`.  Reading a
post records its excerpt and length in the ``kb`` domain, so listing a post
never renders it again.

When what a listing shows of a post (:class:`Listed`) changes, ``env-get-updated``
asks Sphinx to rewrite (not re-read) the pages that show it: the listing pages
that may show it, the pages that linked to it when last written, and its
series' pages and parts.  (A post's related posts follow their own rule, in
:mod:`kb.related`.)
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import posixpath
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from ablog.post import PostList
from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

from kb import __version__, model
from kb.content import parts, post_of, site_of
from kb.domain import domain_of
from kb.render import ITEM, WITHOUT_EXCERPT, excerpt_of, listed_post, reading_minutes, render_list, words_of

if TYPE_CHECKING:
    from sphinx.application import Sphinx
    from sphinx.environment import BuildEnvironment

logger = logging.getLogger(__name__)


class post_list(nodes.General, nodes.Element):  # noqa: N801 - docutils node naming
    """Placeholder for a list of posts, filled in when the page is written."""


def select(site: model.Site, filters: dict[str, str]) -> list[model.Post]:
    """Published posts matching every filter, newest first (a series' in order of parts)."""
    posts = site.published
    if series := filters.get("series"):
        posts = [p for p in parts(site, series, previews=False) if p.date is not None]
    if author := filters.get("author"):
        posts = [p for p in posts if author in p.authors]
    if tag := filters.get("tag"):
        posts = [p for p in posts if tag in p.tags]
    if practice := filters.get("practice"):
        posts = [p for p in posts if p.practice == practice]
    return posts


class PostListDirective(SphinxDirective):
    """``{kb-posts}``: a list of posts, e.g. ``:author: MR`` ``:limit: 5`` ``:excerpts:``."""

    option_spec: ClassVar[dict[str, Any]] = {
        "author": directives.unchanged_required,
        "series": directives.unchanged_required,
        "tag": directives.unchanged_required,
        "practice": directives.unchanged_required,
        "limit": directives.positive_int,
        "excerpts": directives.flag,
    }

    def run(self) -> list[nodes.Node]:
        site = site_of(self.env)
        node = post_list()
        self.set_source_info(node)
        for key, known in (("author", site.authors), ("series", site.series)):
            value = self.options.get(key)
            if value is not None and value not in known:
                self.unknown(node, key, value, known)
        for key, terms in (("tag", site.tags), ("practice", site.practices)):
            value = self.options.get(key)
            if value is not None:
                canonical = model.Lookup(terms)(value)
                if canonical is None:
                    self.unknown(node, key, value, terms)
                self.options[key] = canonical or value
        node["filters"] = {k: self.options[k] for k in ("author", "series", "tag", "practice") if k in self.options}
        node["limit"] = self.options.get("limit")
        node["excerpts"] = "excerpts" in self.options
        # A post is listed only if it matches every filter: one of them is enough to tell.
        scopes = [f"{key}:{value}" for key, value in node["filters"].items()]
        scope = scopes[0] if scopes else "*"
        domain_of(self.env).lists(self.env.docname, scope)
        return [node]

    def unknown(self, node: nodes.Element, key: str, value: str, known: dict[str, Any]) -> None:
        message = model.did_you_mean(value, known)
        logger.warning("unknown %s %r: %s", key, value, message, location=node, type="kb", subtype=key)


def on_doctree_read(app: Sphinx, doctree: nodes.document) -> None:
    """Remember each post's excerpt (first paragraph) and length for the listings,
    and which pages hold ABlog's own ``{postlist}`` (rewritten whenever a post changes)."""
    env = app.env
    if any(doctree.findall(PostList)):
        domain_of(env).lists(env.docname)
    if post_of(env, env.docname) is None:
        return
    excerpt = ""
    for para in doctree.findall(nodes.paragraph):
        if isinstance(para.parent, nodes.section | nodes.document) and para.astext().strip():
            excerpt = " ".join(para.astext().split())
            break
    words = len(doctree.astext().split())
    domain_of(env).posts[env.docname] = {"excerpt": excerpt, "words": words}


def on_doctree_resolved(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """Fill each ``{kb-posts}`` placeholder with the posts it selects."""
    env = app.env
    for node in list(doctree.findall(post_list)):
        posts = select(site_of(env), node["filters"])
        if node["limit"]:
            posts = posts[: node["limit"]]
        node.replace_self(render_list(env, app.builder, docname, posts, ITEM if node["excerpts"] else WITHOUT_EXCERPT))


# -- incremental builds ------------------------------------------------------


@dataclass(frozen=True)
class Listed:
    """What the pages that show a post show of it: listings, series navigation,
    related posts.  Kept between builds (``env.kb_listed``, by docname); when it
    differs, the pages that show the post are rewritten."""

    #: Bump when the fields change: records of another version are not compared.
    VERSION: ClassVar[int] = 2
    #: Shown only beside a link to the post: a page that did not link to it does not show them.
    OWN: ClassVar[frozenset[str]] = frozenset({"title", "updated", "excerpt", "minutes"})
    #: Decide where the post is listed; the other fields only change how it looks there.
    PLACEMENT: ClassVar[tuple[str, ...]] = ("date", "tags", "practice", "series", "part", "authors")

    title: str
    date: dt.datetime | None
    updated: dt.datetime | None
    authors: tuple[str, ...]
    #: Their names, as listings print them.
    author_names: tuple[str, ...]
    tags: tuple[str, ...]
    practice: str | None
    series: str | None
    part: int | None
    series_title: str | None
    #: The series' status and planned parts, shown on every part's banner.
    series_shape: tuple[str, int | None] | None
    #: Shown only by listings with excerpts (author, series and listing pages), never on another post's page.
    excerpt: str
    minutes: int
    version: int = VERSION

    @property
    def placement(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self.PLACEMENT)

    def same_but(self, other: Listed, names: frozenset[str]) -> bool:
        """Whether the two records agree in every field but *names*."""
        return all(
            getattr(self, f.name) == getattr(other, f.name) for f in dataclasses.fields(self) if f.name not in names
        )


def listed_posts(env: BuildEnvironment) -> dict[str, Listed]:
    """What pages show of each published post, by docname."""
    site = site_of(env)
    out: dict[str, Listed] = {}
    for post in site.published:
        series = site.series.get(post.series) if post.series else None
        out[post.docname] = Listed(
            title=post.title,
            date=post.date,
            updated=post.updated,
            authors=post.authors,
            author_names=tuple(site.authors[a].name for a in post.authors if a in site.authors),
            tags=post.tags,
            practice=post.practice,
            series=post.series,
            part=post.part,
            series_title=series.title if series else None,
            series_shape=(series.status, series.parts) if series else None,
            excerpt=excerpt_of(env, post),
            minutes=reading_minutes(words_of(env, post)),
        )
    return out


def dependants(env: BuildEnvironment, moved: set[str], old: dict[str, Listed], links: dict[str, list[str]]) -> set[str]:
    """Pages that show one of the *moved* posts, other than the post itself: the
    profiles of its authors and the page and parts of its series (before and
    after), and the pages that linked to it (with no record of links: every post)."""
    site = site_of(env)
    series: set[str] = set()
    authors: set[str] = set()
    for docname in moved:
        for record in (site.posts.get(docname), old.get(docname)):
            if record is not None:
                series.update([record.series] if record.series else [])
                authors.update(record.authors)
    pages = {post.docname for post in site.published if post.series in series}
    pages |= linking_to(links, moved) if links else {post.docname for post in site.published}
    pages.update(site.authors[key].docname for key in authors if key in site.authors)
    pages.update(site.series[key].docname for key in series if key in site.series)
    return pages


#: Which posts each written page links to, kept beside the environment between builds.
LINKS_FILE = "kb-links.json"


def scopes_of(records: list[Listed]) -> set[str]:
    """The listings (see ``KBDomain.listings``) that may show posts with these records."""
    scopes = {"*"}
    for record in records:
        scopes.update(f"author:{key}" for key in record.authors)
        scopes.update(f"tag:{tag}" for tag in record.tags)
        scopes.update(
            f"{kind}:{value}" for kind, value in (("practice", record.practice), ("series", record.series)) if value
        )
    return scopes


def linking_to(links: dict[str, list[str]], posts: set[str]) -> set[str]:
    """Pages that, when last written, linked to one of *posts*."""
    return {page for page, linked in links.items() if posts.intersection(linked)}


def on_env_get_updated(app: Sphinx, env: BuildEnvironment) -> list[str]:
    """Rewrite pages whose listings or series navigation changed.

    A post that only looks different (title, excerpt, reading time) is
    rewritten where it is linked from; a post that moved (tags, authors, series,
    date), appeared or went also where it may now be listed: on the listing
    pages of its authors, tags, practice and series, before and after, and on
    those that list any post.  When the name of a post's series or author
    changed, every listing page is rewritten.
    """
    new = listed_posts(env)
    old: dict[str, Listed] = getattr(env, "kb_listed", {})
    env.kb_listed = new  # type: ignore[attr-defined]
    if not old:
        return []
    site = site_of(env)
    listings = domain_of(env).listings
    if any(getattr(record, "version", None) != Listed.VERSION for record in old.values()):
        # Kept by an older version of this module: whatever may show a post is rewritten.
        pages = set(listings) | {post.docname for post in site.published}
        return sorted(p for p in pages if p in env.all_docs)
    changed = {d for d in new.keys() | old.keys() if new.get(d) != old.get(d)}
    if not changed:
        return []
    # Links are recorded from .html URIs; other builders fall back to the wider rule.
    links: dict[str, list[str]] = getattr(app, "kb_links", {}) if app.builder.name == "html" else {}
    looks = {d for d in changed if links and d in old and d in new and old[d].placement == new[d].placement}
    excerpt = {d for d in looks if old[d].same_but(new[d], frozenset({"excerpt"}))}
    pages = dependants(env, changed - looks, old, links) | linking_to(links, looks - excerpt) | looks
    # Only listings show excerpts, not other posts' pages.
    pages |= {page for page in linking_to(links, excerpt) if page not in site.posts}
    if any(not old[d].same_but(new[d], Listed.OWN) for d in looks):
        pages |= set(listings)  # a series' or author's name changed: listings show it unlinked
    elif moved := changed - looks:
        scopes = scopes_of([record for d in moved for record in (old.get(d), new.get(d)) if record is not None])
        pages |= {page for page, shown in listings.items() if scopes.intersection(shown)}
    pages = {p for p in pages if p in env.all_docs}
    logger.info("kb: %d posts changed in listings; rewriting %d pages that show them", len(changed), len(pages))
    return sorted(pages)


def on_doctree_resolved_links(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """Remember which posts this page links to, once every listing on it is filled in."""
    if app.builder.name != "html":
        return
    posts = site_of(app.env).posts
    folder = posixpath.dirname(docname)
    linked = {node["post"] for node in doctree.findall(listed_post) if node["post"] != docname}
    for ref in doctree.findall(nodes.reference):
        uri = ref.get("refuri", "").partition("#")[0]
        if uri and "://" not in uri and uri.endswith(".html"):
            target = posixpath.normpath(posixpath.join(folder, uri[: -len(".html")]))
            if target in posts and target != docname:
                linked.add(target)
    app.kb_links[docname] = sorted(linked)  # type: ignore[attr-defined]


def on_builder_inited_links(app: Sphinx) -> None:
    """Read which posts each page linked to when it was last written."""
    try:
        links = json.loads((app.doctreedir / LINKS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        links = {}
    app.kb_links = links if isinstance(links, dict) else {}  # type: ignore[attr-defined]


def on_build_finished_links(app: Sphinx, exception: Exception | None) -> None:
    """Keep the links of the pages that still exist, for the next build."""
    if exception is not None or app.builder.name != "html":
        return
    links = {page: linked for page, linked in app.kb_links.items() if page in app.env.all_docs}  # type: ignore[attr-defined]
    (app.doctreedir / LINKS_FILE).write_text(json.dumps(links, sort_keys=True), encoding="utf-8")


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("builder-inited", on_builder_inited_links)
    app.connect("doctree-resolved", on_doctree_resolved_links, priority=900)
    app.connect("build-finished", on_build_finished_links)
    app.add_node(post_list)
    app.add_directive("kb-posts", PostListDirective)
    app.connect("doctree-read", on_doctree_read)
    app.connect("doctree-resolved", on_doctree_resolved)
    app.connect("env-get-updated", on_env_get_updated)
    return {"version": __version__, "env_version": 2, "parallel_read_safe": True, "parallel_write_safe": True}
