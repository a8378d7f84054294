"""Lists of posts, and keeping every page that lists a post up to date.

``{kb-posts}`` lists published posts, filtered by author, series, tag or
practice, newest first.  Items are built from docutils nodes (escaped by the
writer) out of the content model plus what reading each post found (excerpt,
length), so listing a post never renders it again.

When a post's listing data changes, ``env-get-updated`` asks Sphinx to rewrite
(not re-read) the pages that show it: the listing pages, the other parts of its
series and the posts that share a tag with it (their related posts).
"""

from __future__ import annotations

import json
import math
import posixpath
from typing import TYPE_CHECKING, Any, ClassVar

from ablog.post import PostList
from docutils import nodes, utils
from docutils.parsers.rst import directives
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

from kb import __version__, model
from kb.content import post_of, site_of
from kb.domain import PRACTICE_PAGES, TAG_PAGES

if TYPE_CHECKING:
    from collections.abc import Iterable

    from sphinx.application import Sphinx
    from sphinx.builders import Builder
    from sphinx.environment import BuildEnvironment

    from kb.domain import KBDomain

logger = logging.getLogger(__name__)

WORDS_PER_MINUTE = 230
DATE_FORMAT = "%-d %B %Y"  # 8 May 2023: no leading zero (glibc and BSD strftime)


class post_list(nodes.General, nodes.Element):  # noqa: N801 - docutils node naming
    """Placeholder for a list of posts, filled in when the page is written."""


def domain_of(env: BuildEnvironment) -> KBDomain:
    return env.domains["kb"]  # type: ignore[return-value]


def reading_minutes(words: int) -> int:
    return max(1, math.ceil(words / WORDS_PER_MINUTE))


def select(site: model.Site, filters: dict[str, str]) -> list[model.Post]:
    """Published posts matching every filter, newest first."""
    posts = site.published
    if author := filters.get("author"):
        posts = [p for p in posts if author in p.authors]
    if series := filters.get("series"):
        posts = sorted((p for p in posts if p.series == series), key=lambda p: p.part or 0)
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
                logger.warning(
                    "unknown %s %r: %s",
                    key,
                    value,
                    model.did_you_mean(value, known),
                    location=node,
                    type="kb",
                    subtype=key,
                )
        for key, terms in (("tag", site.tags), ("practice", site.practices)):
            value = self.options.get(key)
            if value is not None:
                canonical = model.Lookup(terms)(value)
                if canonical is None:
                    logger.warning(
                        "unknown %s %r: %s",
                        key,
                        value,
                        model.did_you_mean(value, terms),
                        location=node,
                        type="kb",
                        subtype=key,
                    )
                self.options[key] = canonical or value
        node["filters"] = {k: self.options[k] for k in ("author", "series", "tag", "practice") if k in self.options}
        node["limit"] = self.options.get("limit")
        node["excerpts"] = "excerpts" in self.options
        # A post is listed only if it matches every filter: one of them is enough to tell.
        scopes = [f"{key}:{value}" for key, value in node["filters"].items()]
        scope = scopes[0] if scopes else "*"
        domain_of(self.env).lists(self.env.docname, scope)
        return [node]


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


def tag_links(builder: Builder, fromdoc: str, site: model.Site, tags: Iterable[str]) -> list[nodes.Node]:
    out: list[nodes.Node] = []
    for tag in tags:
        out.append(link(builder, fromdoc, f"{TAG_PAGES}/{site.tags[tag].slug}", tag, ["kb-tag"]))
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


def meta_line(env: BuildEnvironment, builder: Builder, fromdoc: str, post: model.Post) -> nodes.paragraph:
    """``8 May 2023 · Mark Roache · 3 min read · Series, Part 1``"""
    site = site_of(env)
    para = nodes.paragraph(classes=["kb-post-meta"])
    date = post.date.strftime(DATE_FORMAT) if post.date else "undated"
    para += nodes.inline(date, date, classes=["kb-date"])
    if post.authors:
        para += nodes.Text(" · ")
        para += author_links(builder, fromdoc, site, post.authors)
    minutes = reading_minutes(words_of(env, post))
    para += nodes.Text(" · ")
    para += nodes.inline("", f"{minutes} min read", classes=["kb-reading-time"])
    badge = series_badge(builder, fromdoc, site, post)
    if badge is not None:
        para += nodes.Text(" · ")
        para += badge
    return para


def post_item(
    env: BuildEnvironment, builder: Builder, fromdoc: str, post: model.Post, *, excerpt: bool = True
) -> nodes.container:
    """One post in a listing: linked title, meta line, excerpt and tags."""
    site = site_of(env)
    item = nodes.container(classes=["kb-post-item"])
    title = nodes.paragraph(classes=["kb-post-title"])
    title += link(builder, fromdoc, post.docname, post.title)
    item += title
    item += meta_line(env, builder, fromdoc, post)
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
    rendered: dict[tuple[Any, ...], str] = builder.__dict__.setdefault("kb_listed", {})
    # A link to the page itself is written differently ("#").
    itself = fromdoc if fromdoc in item_targets(site_of(env), post) else None
    key = (posixpath.dirname(fromdoc), itself, post.docname, excerpt)
    if key not in rendered:
        rendered[key] = as_html(builder, post_item(env, builder, fromdoc, post, excerpt=excerpt))
    return listed_post("", rendered[key], format="html", post=post.docname)


def item_targets(site: model.Site, post: model.Post) -> set[str]:
    """The pages a post's :func:`post_item` links to."""
    targets = {post.docname, *(site.authors[key].docname for key in post.authors if key in site.authors)}
    targets.update(f"{TAG_PAGES}/{site.tags[tag].slug}" for tag in post.tags if tag in site.tags)
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
        node.replace_self(render_list(env, app.builder, docname, posts, excerpts=node["excerpts"]))


# -- incremental builds ------------------------------------------------------


def signatures(env: BuildEnvironment) -> dict[str, tuple[Any, ...]]:
    """What a listing shows of each published post; a change means a rewrite."""
    site = site_of(env)
    out: dict[str, tuple[Any, ...]] = {}
    for post in site.published:
        names = tuple(site.authors[a].name for a in post.authors if a in site.authors)
        series = site.series[post.series].title if post.series else None
        # A series' status and size show on every part's banner.
        shape = (site.series[post.series].status, site.series[post.series].parts) if post.series else None
        out[post.docname] = (
            post.title,
            post.date,
            post.updated,
            names,
            post.tags,
            post.practice,
            post.series,
            post.part,
            series,
            excerpt_of(env, post),
            reading_minutes(words_of(env, post)),
            shape,
            post.authors,
        )
    return out


def dependants(
    env: BuildEnvironment, changed: set[str], old: dict[str, tuple[Any, ...]], links: dict[str, list[str]]
) -> set[str]:
    """Pages that show one of the *changed* posts, other than the post itself:
    its authors' profiles, its series' page and parts, and the posts sharing a
    tag whose related posts may differ (see :func:`related_may_differ`)."""
    site = site_of(env)
    pages: set[str] = set()
    tags: set[str] = set()
    series: set[str] = set()
    authors: set[str] = set()
    for docname in changed:
        post = site.posts.get(docname)
        if post is not None:
            tags.update(post.tags)
            series.update([post.series] if post.series else [])
            authors.update(post.authors)
        if docname in old:
            tags.update(old[docname][4])
            series.update([old[docname][6]] if old[docname][6] else [])
            authors.update(a.key for a in site.authors.values() if a.name in old[docname][3])
            authors.update(old[docname][12] if len(old[docname]) > 12 else ())
    for post in site.published:
        if (series and post.series in series) or (
            tags.intersection(post.tags) and related_may_differ(env, post, changed, links)
        ):
            pages.add(post.docname)
    # The profiles that list the post (its authors, before and after the change), and its series' pages.
    pages.update(site.authors[key].docname for key in authors if key in site.authors)
    pages.update(site.series[key].docname for key in series if key in site.series)
    return pages


def related_may_differ(env: BuildEnvironment, post: model.Post, changed: set[str], links: dict[str, list[str]]) -> bool:
    """Whether *post*'s related posts may have changed now that the *changed* posts moved.

    Its page linked to the posts in *links* when last written.  A changed post
    can only enter its related posts (then it is new among the links) or leave
    them, or show differently there (then the page linked to it).  Without a
    record of the page's links, it may always have changed.
    """
    shown = links.get(post.docname)
    if shown is None or changed.intersection(shown):
        return True
    from kb.tags import related  # kb.tags builds on this module

    index = getattr(env, "kb_tag_index", None)
    return any(other.docname not in shown for other in related(site_of(env), post, index=index))


#: The field of a signature that only listings with excerpts show: author,
#: series and listing pages, never another post's page (related posts, series
#: navigation and links show titles).
EXCERPT = 9


def without_excerpt(signature: tuple[Any, ...]) -> tuple[Any, ...]:
    return signature[:EXCERPT] + signature[EXCERPT + 1 :]


#: Fields of a signature shown only beside a link to the post (title, updated,
#: excerpt, reading time): a page that did not link to the post does not show them.
OWN = (0, 2, EXCERPT, 10)


def only_own(old: tuple[Any, ...], new: tuple[Any, ...]) -> bool:
    """Whether the two signatures differ in :data:`OWN` fields only."""
    return len(old) == len(new) and all(old[i] == new[i] for i in range(len(new)) if i not in OWN)


#: Fields of a signature that decide where a post is listed (date, tags, practice,
#: series, part, authors); the others only change how it looks where it is listed.
PLACEMENT = (1, 4, 5, 6, 7, 12)
#: Which posts each written page links to, kept beside the environment between builds.
LINKS_FILE = "kb-links.json"


def placement(signature: tuple[Any, ...] | None) -> tuple[Any, ...] | None:
    return None if signature is None else tuple(signature[i] for i in PLACEMENT if i < len(signature))


def scopes_of(signatures: list[tuple[Any, ...]]) -> set[str]:
    """The listings (see ``KBDomain.listings``) that may show posts with these signatures."""
    scopes = {"*"}
    for signature in signatures:
        scopes.update(f"author:{key}" for key in signature[12])
        scopes.update(f"tag:{tag}" for tag in signature[4])
        scopes.update(f"{kind}:{signature[i]}" for kind, i in (("practice", 5), ("series", 6)) if signature[i])
    return scopes


def linking_to(links: dict[str, list[str]], posts: set[str]) -> set[str]:
    """Pages that, when last written, linked to one of *posts*."""
    return {page for page, linked in links.items() if posts.intersection(linked)}


def on_env_get_updated(app: Sphinx, env: BuildEnvironment) -> list[str]:
    """Rewrite pages whose listings, series navigation or related posts changed.

    A post that only looks different (title, excerpt, reading time) is
    rewritten where it is linked from; a post that moved (tags, authors, series,
    date), appeared or went also where it may now be listed: on the listing
    pages of its authors, tags, practice and series, before and after, and on
    those that list any post.  When the name of a post's series or author
    changed, every listing page is rewritten.
    """
    new = signatures(env)
    old: dict[str, tuple[Any, ...]] = getattr(env, "kb_signatures", {})
    env.kb_signatures = new  # type: ignore[attr-defined]
    changed = {d for d in new.keys() | old.keys() if new.get(d) != old.get(d)}
    if not changed or not old:
        return []
    # Links are recorded from .html URIs; other builders fall back to the wider rule.
    links: dict[str, list[str]] = getattr(app, "kb_links", {}) if app.builder.name == "html" else {}
    looks = {d for d in changed if links and d in old and d in new and placement(old[d]) == placement(new[d])}
    excerpt = {d for d in looks if without_excerpt(old[d]) == without_excerpt(new[d])}
    posts = site_of(env).posts
    pages = dependants(env, changed - looks, old, links) | linking_to(links, looks - excerpt) | looks
    pages |= {page for page in linking_to(links, excerpt) if page not in posts}
    listings = domain_of(env).listings
    if looks - {d for d in looks if only_own(old[d], new[d])}:
        pages |= set(listings)  # a series' or author's name changed: listings show it unlinked
    elif moved := changed - looks:
        scopes = scopes_of([sig for d in moved for sig in (old.get(d), new.get(d)) if sig is not None])
        pages |= {page for page, shown in listings.items() if scopes.intersection(shown)}
    pages = {p for p in pages if p in env.all_docs}
    logger.info("kb: %d posts changed in listings; rewriting %d pages that show them", len(changed), len(pages))
    return sorted(pages)


def visit_listed_post(self: Any, node: listed_post) -> None:
    self.body.append(node.astext())
    raise nodes.SkipNode


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
    app.add_node(listed_post, html=(visit_listed_post, None))
    app.add_directive("kb-posts", PostListDirective)
    app.connect("doctree-read", on_doctree_read)
    app.connect("doctree-resolved", on_doctree_resolved)
    app.connect("env-get-updated", on_env_get_updated)
    return {"version": __version__, "env_version": 1, "parallel_read_safe": True, "parallel_write_safe": True}
