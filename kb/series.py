"""Series: multi-part articles, defined once in ``series/<key>.md``.

A post joins a series with ``series: <key>`` and ``part: N`` in its front
matter (checked in :mod:`kb.model`).  This module shows the series wherever a
reader meets it:

- on each part, a banner under the byline ("Part 2 of 3 in <series>") and, at
  the end, the previous and next part *in the series* and the full list of
  parts with the current one marked;
- on the series page, its introduction (the page body), its status, its Atom
  feed and its parts in order with date, authors and excerpt;
- ``{kb-series-index}`` lists every series (status, parts, authors, dates);
- ``{kb-series-parts}`` embeds one series' list of parts in any page.

What a series holds is decided in one place, :func:`kb.content.parts_by_series`
(draft parts count only in previews), for every page above, the ``{part}`` role,
``{kb-posts}`` and the feeds.  Everything is built when the page is written,
from the content model (the parts on the series page by the one template of a
listed post, :mod:`kb.render`), so a page shows the series as it is in this
build.  Series pages and pages with either directive are registered as
listings, so ``kb.listings`` rewrites them when a part is added, renumbered or
retitled.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from docutils import nodes
from sphinx import addnodes
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective
from sphinx.util.osutil import relative_uri

from kb import __version__, model
from kb.content import parts_of, post_of, series_of, site_of
from kb.domain import domain_of
from kb.render import DATE_FORMAT, NUMBERED_PART, author_links, link, listed

if TYPE_CHECKING:
    from sphinx.application import Sphinx
    from sphinx.builders import Builder
    from sphinx.environment import BuildEnvironment

logger = logging.getLogger(__name__)

#: Where each series' Atom feed is published (written by the feeds module):
#: ``feeds/series/<key>.xml``, relative to the site's root.
FEED_DIR = "feeds/series"


class series_parts(nodes.General, nodes.Element):  # noqa: N801 - docutils node naming
    """Placeholder for ``{kb-series-parts}``, filled in when the page is written."""


class series_index(nodes.General, nodes.Element):  # noqa: N801 - docutils node naming
    """Placeholder for ``{kb-series-index}``, filled in when the page is written."""


def total_parts(series: model.Series, parts: list[model.Post]) -> int:
    """The Y of "Part X of Y": the planned number of parts, or the parts so far."""
    return max(series.parts or 0, len(parts), max((p.part or 0 for p in parts), default=0))


def feed_uri(builder: Builder, fromdoc: str, key: str) -> str:
    """Relative address of the Atom feed of series *key*, seen from *fromdoc*."""
    return relative_uri(builder.get_target_uri(fromdoc), f"{FEED_DIR}/{key}.xml")


def status_text(series: model.Series, parts: list[model.Post]) -> str:
    count = len(parts)
    if not parts:
        return "Announced: no parts published yet, the first is coming."
    if series.status == "complete":
        return f"Complete in {count} part{'s' if count != 1 else ''}."
    planned = f" of {series.parts} planned" if series.parts and series.parts > count else ""
    return f"Ongoing: {count}{planned} part{'s' if count != 1 else ''} so far, more parts are coming."


def date_range(parts: list[model.Post]) -> str:
    dates = sorted(p.date for p in parts if p.date)
    if not dates:
        return ""
    first, last = dates[0].strftime(DATE_FORMAT), dates[-1].strftime(DATE_FORMAT)
    return first if first == last else f"{first} to {last}"


# -- on each part -------------------------------------------------------------


def banner(env: BuildEnvironment, builder: Builder, post: model.Post) -> nodes.container:
    """The banner under the byline: "Part 2 of 3 in <series>", linked to the series page."""
    series = site_of(env).series[post.series or ""]
    parts = parts_of(env, series.key)
    box = nodes.container(classes=["kb-series-banner"])
    para = nodes.paragraph()
    para += nodes.Text(f"Part {post.part} of {total_parts(series, parts)} in ")
    para += link(builder, post.docname, series.docname, series.title, ["kb-series"])
    if series.status == "ongoing":
        para += nodes.Text(" · ")
        para += nodes.inline("", "an ongoing series: more parts are coming", classes=["kb-series-ongoing"])
    box += para
    return box


def parts_list(builder: Builder, fromdoc: str, parts: list[model.Post], current: str | None = None) -> nodes.Node:
    """The parts in order; the one on this page (*current*) is marked, not linked."""
    if not parts:
        return nodes.paragraph("No parts published yet.", "No parts published yet.", classes=["kb-empty"])
    listing = nodes.enumerated_list(enumtype="arabic", prefix="", suffix=".", classes=["kb-series-parts"])
    for post in parts:
        item = nodes.list_item()
        para = nodes.paragraph()
        if post.docname == current:
            item["classes"].append("kb-current")
            para += nodes.strong(post.title, post.title)
            para += nodes.Text(" ")
            para += nodes.inline("", "(you are here)", classes=["kb-you-are-here"])
        else:
            para += link(builder, fromdoc, post.docname, post.title)
        item += para
        listing += item
    return listing


def navigation(env: BuildEnvironment, builder: Builder, post: model.Post) -> nodes.container:
    """Previous and next in the series, then every part, at the end of a part."""
    series = site_of(env).series[post.series or ""]
    parts = parts_of(env, series.key)
    index = next(i for i, p in enumerate(parts) if p.docname == post.docname)
    nav = nodes.container(classes=["kb-series-nav"])
    heading = nodes.paragraph(classes=["kb-series-nav-heading"])
    heading += nodes.Text("This post is part of the series ")
    heading += link(builder, post.docname, series.docname, series.title, ["kb-series"])
    nav += heading
    steps = nodes.container(classes=["kb-series-steps"])
    if index > 0:
        para = nodes.paragraph(classes=["kb-series-prev"])
        para += nodes.Text("Previous in this series: ")
        para += link(builder, post.docname, parts[index - 1].docname, parts[index - 1].title)
        steps += para
    if index + 1 < len(parts):
        para = nodes.paragraph(classes=["kb-series-next"])
        para += nodes.Text("Next in this series: ")
        para += link(builder, post.docname, parts[index + 1].docname, parts[index + 1].title)
        steps += para
    else:
        text = (
            "This is the latest part; more parts are coming."
            if series.status == "ongoing"
            else "This is the last part of the series."
        )
        steps += nodes.paragraph(text, text, classes=["kb-series-end"])
    nav += steps
    nav += parts_list(builder, post.docname, parts, current=post.docname)
    return nav


def decorate_part(app: Sphinx, doctree: nodes.document, post: model.Post) -> None:
    section = next(iter(doctree.findall(nodes.section)), None)
    if section is None:
        return
    # kb.posts has put the byline right under the title; the banner follows it.
    position = next(
        (i for i, child in enumerate(section.children) if "kb-byline" in child.get("classes", [])),
        section.first_child_matching_class(nodes.title),
    )
    section.insert((position if position is not None else -1) + 1, banner(app.env, app.builder, post))
    section += navigation(app.env, app.builder, post)


# -- on the series page -------------------------------------------------------


def decorate_series_page(app: Sphinx, doctree: nodes.document, docname: str, series: model.Series) -> None:
    """After the introduction: status, feed, and the parts with their excerpts."""
    env, builder = app.env, app.builder
    section = next(iter(doctree.findall(nodes.section)), doctree)
    parts = parts_of(env, series.key)
    status = nodes.paragraph(classes=["kb-series-status", f"kb-{series.status}"])
    status += nodes.Text(status_text(series, parts))
    if builder.format == "html":
        status += nodes.Text(" ")
        uri = feed_uri(builder, docname, series.key)
        status += nodes.reference("", "Atom feed of this series", refuri=uri, classes=["kb-feed"])
    section += status
    section += nodes.rubric("The parts", "The parts", classes=["kb-posts-heading"])
    if not parts:
        section += parts_list(builder, docname, parts)
        return
    container = nodes.container(classes=["kb-post-list", "kb-series-part-list"])
    for post in parts:
        # On its own series' page a part's badge would only repeat the page; "Part N" says it.
        container += listed(env, builder, docname, post, NUMBERED_PART)
    section += container


# -- directives ---------------------------------------------------------------


class SeriesPartsDirective(SphinxDirective):
    """``{kb-series-parts} quality-myths``: the parts of a series, in order, in any page."""

    required_arguments = 1
    option_spec: ClassVar[dict[str, Any]] = {}

    def run(self) -> list[nodes.Node]:
        key = self.arguments[0].strip()
        site = site_of(self.env)
        node = series_parts(key=key)
        self.set_source_info(node)
        if key not in site.series:
            logger.warning(
                "unknown series %r in kb-series-parts: %s",
                key,
                model.did_you_mean(key, site.series),
                location=node,
                type="kb",
                subtype="series",
            )
            return []
        domain_of(self.env).lists(self.env.docname, f"series:{key}")
        return [node]


class SeriesIndexDirective(SphinxDirective):
    """``{kb-series-index}``: every series with status, parts, authors and dates."""

    option_spec: ClassVar[dict[str, Any]] = {}

    def run(self) -> list[nodes.Node]:
        node = series_index()
        self.set_source_info(node)
        domain_of(self.env).lists(self.env.docname)
        return [node]


def series_entry(env: BuildEnvironment, builder: Builder, fromdoc: str, series: model.Series) -> nodes.container:
    """One series in the index: linked title, facts line and summary."""
    site = site_of(env)
    parts = parts_of(env, series.key)
    item = nodes.container(classes=["kb-series-item", f"kb-{series.status}"])
    title = nodes.paragraph(classes=["kb-post-title"])
    title += link(builder, fromdoc, series.docname, series.title)
    item += title
    meta = nodes.paragraph(classes=["kb-post-meta"])
    status = "Complete" if series.status == "complete" else "Ongoing"
    meta += nodes.inline(status, status, classes=["kb-series-state"])
    count = len(parts)
    planned = f" of {series.parts}" if series.parts and series.parts > count else ""
    counted = f"{count}{planned} part{'' if count == 1 and not planned else 's'}"
    meta += nodes.Text(" · ")
    meta += nodes.inline(counted, counted, classes=["kb-series-count"])
    authors = list(dict.fromkeys(a for p in parts for a in p.authors if a in site.authors))
    if authors:
        meta += nodes.Text(" · ")
        meta += author_links(builder, fromdoc, site, authors)
    dates = date_range(parts)
    if dates:
        meta += nodes.Text(" · ")
        meta += nodes.inline(dates, dates, classes=["kb-date"])
    item += meta
    item += nodes.paragraph(series.summary, series.summary, classes=["kb-post-excerpt"])
    return item


# -- events -------------------------------------------------------------------


def on_doctree_read(app: Sphinx, doctree: nodes.document) -> None:
    """Register series pages, and pages linking a series or a part, as listings of that series.

    Both show what the series holds (a {part}`key/2` link shows that part's
    title), so they are rewritten when a part of it is added, renumbered or
    retitled; not when a post of another series, or of none, moves (a page
    registered for any post would be rewritten after every change of tags).
    """
    env = app.env
    linked = {
        ref["reftarget"].rpartition("/")[0] if ref["reftype"] == "part" else ref["reftarget"]
        for ref in doctree.findall(addnodes.pending_xref)
        if ref.get("refdomain") == "kb" and ref.get("reftype") in ("series", "part")
    }
    series = series_of(env.docname, site_of(env))
    if series is not None:
        linked.add(series.key)
    for key in sorted(linked):
        domain_of(env).lists(env.docname, f"series:{key.strip()}")


def on_doctree_resolved(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """Banner and navigation on parts; parts on series pages; fill the directives."""
    env, builder = app.env, app.builder
    site = site_of(env)
    post = post_of(env, docname)
    if post is not None and post.series in site.series and post.part:
        decorate_part(app, doctree, post)
    series = series_of(docname, site)
    if series is not None:
        decorate_series_page(app, doctree, docname, series)
    for node in list(doctree.findall(series_parts)):
        parts = parts_of(env, node["key"])
        node.replace_self(parts_list(builder, docname, parts, current=docname))
    for node in list(doctree.findall(series_index)):
        entries = nodes.container(classes=["kb-series-index"])
        for entry in sorted(site.series.values(), key=lambda s: model.fold(s.title)):
            entries += series_entry(env, builder, docname, entry)
        node.replace_self(entries)


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_node(series_parts)
    app.add_node(series_index)
    app.add_directive("kb-series-parts", SeriesPartsDirective)
    app.add_directive("kb-series-index", SeriesIndexDirective)
    app.connect("doctree-read", on_doctree_read)
    app.connect("doctree-resolved", on_doctree_resolved)
    return {"version": __version__, "env_version": 1, "parallel_read_safe": True, "parallel_write_safe": True}
