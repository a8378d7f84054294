"""Atom feeds: the whole blog, and one per author, series, tag and practice.

The main feed, ``blog/atom.xml``, carries the newest ``blog_feed_length``
posts, in full text when ``blog_feed_fulltext`` is set.  Every author, series, tag and practice has a
summary-only feed at ``feeds/<kind>/<key>.xml`` (:func:`feed_uri`); its entries
carry the plain-text excerpt that the listings show.  Every entry credits every
author of the post, in the order the post names them.

This replaces ABlog's feed writer (kb/upstream/ablog.py disconnects it), which
credits only the last author of a post and writes a feed per ABlog collection
at ABlog's own paths.  Pages announce their feeds with
``<link rel="alternate" type="application/atom+xml">``.  feedgen escapes every
value it writes.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

from docutils import nodes
from feedgen.feed import FeedGenerator
from sphinx.util import logging
from sphinx.util.docutils import new_document
from sphinx.util.osutil import relative_uri

from kb import __version__, history, keys, listings, model
from kb.content import site_of
from kb.domain import PRACTICE_PAGES, TAG_PAGES
from kb.render import excerpt_of
from kb.upstream.sphinx import write_fragment

if TYPE_CHECKING:
    from collections.abc import Container, Iterator

    from sphinx.application import Sphinx
    from sphinx.builders import Builder

logger = logging.getLogger(__name__)

#: The kinds of feed besides the main one, each at ``feeds/<kind>/<key>.xml``.
FEED_KINDS = ("author", "series", "tag", "practice")
MAIN_FEED = "blog/atom.xml"
FEEDS_DIR = "feeds"

_URL_ATTRIBUTE = re.compile(r'(\s(?:href|src)=")([^"]*)(")')


def feed_uri(kind: str, key: str = "") -> str:
    """Where a feed lives, relative to the site root: ``feed_uri("tag", "GMP")`` is
    ``feeds/tag/gmp.xml``; ``feed_uri("main")`` is the blog's feed.

    Tags and practices are named by their page name (slug); their canonical
    name is accepted too.  Author and series keys are used as they are.
    """
    if kind == "main":
        return MAIN_FEED
    if kind not in FEED_KINDS:
        raise ValueError(f"unknown feed kind {kind!r}: use 'main' or one of {', '.join(FEED_KINDS)}")
    if kind in ("tag", "practice"):
        key = model.slugify(key)
    return f"{FEEDS_DIR}/{kind}/{key}.xml"


@dataclass(frozen=True)
class Feed:
    """One feed: what it is about, the page it mirrors and its posts, newest first."""

    kind: str
    key: str
    title: str
    subtitle: str
    page: str
    posts: tuple[model.Post, ...]

    @property
    def uri(self) -> str:
        return feed_uri(self.kind, self.key)


def feeds_of(site: model.Site, title: str, root_doc: str, built: Container[str]) -> Iterator[Feed]:
    """Every feed of the site, the main one first, listing only posts that have a page (*built*)."""

    def select(filters: dict[str, str]) -> list[model.Post]:
        return [p for p in listings.select(site, filters) if p.docname in built]

    yield Feed("main", "", title, "", root_doc, tuple(select({})))
    for author in site.authors.values():
        posts = select({"author": author.key})
        yield Feed("author", author.key, f"{title}: posts by {author.name}", author.role, author.docname, tuple(posts))
    for series in site.series.values():
        posts = sorted(select({"series": series.key}), key=lambda p: (p.date, p.title), reverse=True)
        yield Feed("series", series.key, f"{title}: {series.title}", series.summary, series.docname, tuple(posts))
    # A tag or practice has a page (ABlog's) only while posts use it; so has its feed.
    for tag in site.tags.values():
        posts = select({"tag": tag.name})
        page = f"{TAG_PAGES}/{tag.slug}"
        if posts:
            yield Feed("tag", tag.slug, f"{title}: posts tagged {tag.name}", tag.description, page, tuple(posts))
    for practice in site.practices.values():
        posts = select({"practice": practice.name})
        page = f"{PRACTICE_PAGES}/{practice.slug}"
        if posts:
            yield Feed("practice", practice.slug, f"{title}: {practice.name}", practice.description, page, tuple(posts))


def page_feeds(site: model.Site, title: str, pagename: str) -> list[tuple[str, str]]:
    """``(title, uri)`` of the feeds a page announces: the main feed, then its own."""
    found = [(title, MAIN_FEED)]
    folder, _, key = pagename.rpartition("/")
    post = site.posts.get(pagename)
    authors: list[str] = []
    if folder == model.AUTHORS_DIR and key in site.authors:
        authors = [key]
    elif post is not None and post.published:
        authors = list(post.authors)
        if post.series in site.series:
            found.append((f"{title}: {site.series[post.series].title}", feed_uri("series", post.series)))
    elif folder == model.SERIES_DIR and key in site.series:
        found.append((f"{title}: {site.series[key].title}", feed_uri("series", key)))
    else:
        for pages, kind, terms in ((TAG_PAGES, "tag", site.tags), (PRACTICE_PAGES, "practice", site.practices)):
            term = next((t for t in terms.values() if folder == pages and t.slug == key), None)
            if term is not None:
                what = f"posts tagged {term.name}" if kind == "tag" else term.name
                found.append((f"{title}: {what}", feed_uri(kind, term.slug)))
    for key in authors:
        found.append((f"{title}: posts by {site.authors[key].name}", feed_uri("author", key)))
    return found


# -- writing -------------------------------------------------------------------


def absolute_urls(html: str, page_url: str) -> str:
    """Make every link and image of *html* absolute: a feed reader has no page to resolve them against."""
    return _URL_ATTRIBUTE.sub(lambda m: m[1] + urljoin(page_url, m[2]) + m[3], html)


def full_text(app: Sphinx, post: model.Post, page_url: str) -> str:
    """The post's body as HTML, without its title and byline (the entry carries those).

    Only what the author wrote is kept: the read doctree's blocks are marked
    before references are resolved, so that what handlers add to the page when
    it is written (byline, navigation, related posts) stays out of the feed.
    """
    env, builder = app.env, app.builder
    doctree = env.get_doctree(post.docname)
    section = next(iter(doctree.findall(nodes.section)), None)
    if section is None:
        return ""
    for child in section.children:
        if isinstance(child, nodes.Element) and not isinstance(child, nodes.title):
            child["kb_feed_body"] = True
    env.resolve_references(doctree, post.docname, builder)
    body = [c for c in section.children if isinstance(c, nodes.Element) and c.get("kb_feed_body")]
    fragment = new_document(post.path, doctree.settings)
    fragment.extend(body)
    builder.post_process_images(fragment)  # type: ignore[attr-defined]
    return absolute_urls(write_fragment(builder, fragment, post.docname, app.config.kb_site_url), page_url)


def title_of(app: Sphinx, post: model.Post) -> str:
    """The title as the post's page shows it (front-matter titles are Markdown, so
    ``&lt;`` there reads ``<``); a post without a usable title has been reported,
    but Atom still needs one."""
    node = app.env.titles.get(post.docname)
    return (node.astext() if node is not None else "") or post.title or Path(post.path).stem


def page_url(app: Sphinx, docname: str) -> str:
    return urljoin(app.config.kb_site_url, app.builder.get_target_uri(docname))


def build_feed(app: Sphinx, site: model.Site, feed: Feed) -> FeedGenerator:
    """The Atom document of *feed*; entries credit every author, in order."""
    length = app.config.blog_feed_length
    posts = feed.posts[:length] if length else feed.posts
    url = urljoin(app.config.kb_site_url, feed.uri)
    generator = FeedGenerator()
    generator.id(url)
    generator.title(feed.title)
    if feed.subtitle:
        generator.subtitle(feed.subtitle)
    generator.link(href=page_url(app, feed.page), rel="alternate")
    generator.link(href=url, rel="self")
    generator.language(app.config.language or "en")
    # A fixed 'updated' keeps the file unchanged until the content changes.
    moments = [history.last_update_of(app.env, p) for p in posts or site.published[:1]]
    moments = [moment for moment in moments if moment is not None]
    if moments:
        generator.updated(max(moments))
    for post in posts:
        link = page_url(app, post.docname)
        entry = generator.add_entry(order="append")
        entry.id(link)
        entry.link(href=link)
        entry.title(title_of(app, post))
        credits = [site.authors[key] for key in post.authors]
        entry.author([{"name": a.name, "uri": page_url(app, a.docname)} for a in credits])
        entry.published(post.date)
        entry.updated(history.last_update_of(app.env, post))
        for tag in post.tags:
            entry.category(term=tag, label=tag)
        summary = excerpt_of(app.env, post)
        if summary:
            entry.summary(summary)
        if feed.kind == "main" and app.config.blog_feed_fulltext:
            entry.content(full_text(app, post, link), type="html")
    return generator


#: Beside the environment: what each feed was last written from, and (under
#: the key ``ALL_FEEDS``) what the whole site was when they were.
FEEDS_STATE = "kb-feeds.json"
ALL_FEEDS = ""


def feed_key(app: Sphinx, site: model.Site, feed: Feed) -> str:
    """What *feed* is written from: settings and templates, the feed itself, and
    its entries' posts and authors as last read."""
    length = app.config.blog_feed_length
    posts = feed.posts[:length] if length else feed.posts
    read = [app.env.all_docs.get(post.docname) for post in posts]
    credits = sorted({key for post in posts for key in post.authors})
    authors = [(site.authors[key], app.env.all_docs.get(site.authors[key].docname)) for key in credits]
    about = (feed.kind, feed.key, feed.title, feed.subtitle)
    updated = [history.last_update_of(app.env, post) for post in posts]
    linked = linked_titles(app) if feed.kind == "main" and app.config.blog_feed_fulltext else []
    return keys.digest((keys.build_key(app), about, posts, read, authors, updated, linked))


def linked_titles(app: Sphinx) -> list[tuple[str, str]]:
    """Every page's title: a full-text entry shows the title of each page its post
    links to ({doc}, {series}, {part}...), which may change while the post does not."""
    return sorted((docname, title.astext()) for docname, title in app.env.titles.items())


def on_html_collect_pages(app: Sphinx) -> list[tuple[str, dict[str, Any], str]]:
    """Write the feeds whose posts changed since they were last written; remove feeds left from older builds."""
    if app.builder.format != "html":
        return []
    start = time.perf_counter()
    site = site_of(app.env)
    outdir = Path(app.builder.outdir)
    state_path = Path(app.doctreedir) / FEEDS_STATE
    try:
        before = json.loads(state_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        before = {}
    # Nothing read, removed or reconfigured since the feeds were written: all are current.
    terms = (site.tags, site.practices, site.authors, site.series)
    head = history.history_of(app.env).head  # a new commit may change when posts were last updated
    everything = keys.digest((keys.build_key(app), terms, sorted(app.env.all_docs.items()), head))
    feeds = [uri for uri in before if uri != ALL_FEEDS]
    if before.get(ALL_FEEDS) == everything and all((outdir / uri).is_file() for uri in feeds):
        logger.info("kb: %d Atom feeds are up to date", len(feeds))
        return []
    after: dict[str, str] = {ALL_FEEDS: everything}
    written = 0
    title = app.config.blog_title or app.config.project
    for feed in feeds_of(site, title, app.config.root_doc, app.env.all_docs):
        path = outdir / feed.uri
        after[feed.uri] = key = feed_key(app, site, feed)
        if before.get(feed.uri) == key and path.is_file():
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        build_feed(app, site, feed).atom_file(str(path), pretty=True)
        written += 1
    for stale in (outdir / FEEDS_DIR).glob("*/*.xml"):
        if stale.relative_to(outdir).as_posix() not in after:
            stale.unlink()
    state_path.write_text(json.dumps(after), encoding="utf-8")
    logger.info("kb: wrote %d of %d Atom feeds in %.2f s", written, len(after) - 1, time.perf_counter() - start)
    return []


def on_html_page_context(
    app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: nodes.document | None
) -> None:
    """Announce the page's feeds in its head, instead of ABlog's links to feeds it no longer writes."""
    context["feed_path"] = None
    context["archive_feed"] = False
    site = site_of(app.env)
    here = app.builder.get_target_uri(pagename)
    # Every page of a listing announces the feeds of its first page (kb.paging).
    first = getattr(context.get("kb_paging"), "first", pagename)
    links = [
        f'<link rel="alternate" type="application/atom+xml" title="{escape(title)}" '
        f'href="{escape(relative_uri(here, uri))}" />'
        for title, uri in page_feeds(site, app.config.blog_title or app.config.project, first)
    ]
    context["metatags"] = context.get("metatags", "") + "\n" + "\n".join(links)


def feed_link(builder: Builder, fromdoc: str, kind: str, key: str, text: str) -> nodes.reference:
    """A link from page *fromdoc* to a feed, for the pages that offer one."""
    uri = relative_uri(builder.get_target_uri(fromdoc), feed_uri(kind, key))
    return nodes.reference(text, text, refuri=uri, classes=["kb-feed-link"])


def setup(app: Sphinx) -> dict[str, Any]:
    app.setup_extension("ablog")
    app.connect("html-collect-pages", on_html_collect_pages)
    # After ABlog's handler, which sets the feed links this one replaces.
    app.connect("html-page-context", on_html_page_context, priority=900)
    return {"version": __version__, "env_version": 1, "parallel_read_safe": True, "parallel_write_safe": True}
