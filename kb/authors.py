"""Author profiles: ``authors/<key>.md`` is the one place an author is defined.

The profile's front matter gives the name (which becomes the page title), the
role, practice, expertise, an optional photo and links; its body is the bio.
The page then shows the author's avatar, the tags they write about most, a
link to their Atom feed and their posts, newest first.  ``{kb-authors}`` puts a
card for every author on a page (``authors/index.md``), sorted by name.

An author without a photo gets an avatar made of their initials: an SVG
written into ``_images/avatars/`` when the site is built, with no outside
service.  ABlog's own author pages are not written: its author collections
point at the profiles (:func:`kb.upstream.ablog.authors_are_profiles`).
"""

from __future__ import annotations

import shutil
import zlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar
from xml.sax.saxutils import escape, quoteattr

from docutils import nodes
from sphinx import addnodes
from sphinx.transforms import SphinxTransform
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective
from sphinx.util.osutil import relative_uri
from sphinx_design.shared import create_component

from kb import __version__, model, paging
from kb.content import site_of
from kb.domain import domain_of
from kb.feeds import feed_link
from kb.listings import select
from kb.render import link, practice_link, render_list, tag_page

if TYPE_CHECKING:
    from sphinx.application import Sphinx
    from sphinx.builders import Builder
    from sphinx.environment import BuildEnvironment
    from sphinx.writers.html5 import HTML5Translator

logger = logging.getLogger(__name__)

#: Where avatars (photos and generated initials) are written in the output.
AVATARS_DIR = "_images/avatars"
AVATAR_SIZE = 96
#: Background colours of generated avatars; white text on each passes WCAG AA.
AVATAR_COLOURS = (
    "#1f5f8b", "#2e6b3f", "#7a3b69", "#8a4b08", "#3d4f9f",
    "#5a5a5a", "#0f6e6e", "#a0302d", "#4b5e1f", "#6b4fa0",
)  # fmt: skip
TOP_TAGS = 5


def author_of(docname: str, site: model.Site) -> model.Author | None:
    folder, _, key = docname.partition("/")
    return site.authors.get(key) if folder == model.AUTHORS_DIR else None


# -- avatars ------------------------------------------------------------------


class avatar(nodes.General, nodes.Element):  # noqa: N801 - docutils node naming
    """An author's picture: ``<img>`` of their photo or generated initials."""


def avatar_file(author: model.Author) -> str:
    """The avatar's path in the output: the photo if there is one, else the initials."""
    suffix = Path(author.photo).suffix.lower() if author.photo else ".svg"
    return f"{AVATARS_DIR}/{author.key}{suffix}"


def avatar_node(author: model.Author) -> avatar:
    return avatar("", file=avatar_file(author), classes=["kb-avatar"])


def initials_svg(author: model.Author) -> str:
    """A round badge with the author's initials; the colour is fixed by the key."""
    colour = AVATAR_COLOURS[zlib.crc32(author.key.encode("utf-8")) % len(AVATAR_COLOURS)]
    half = AVATAR_SIZE // 2
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{AVATAR_SIZE}" height="{AVATAR_SIZE}" '
        f'viewBox="0 0 {AVATAR_SIZE} {AVATAR_SIZE}" role="img" aria-label={quoteattr(author.name)}>'
        f"<title>{escape(author.name)}</title>"
        f'<circle cx="{half}" cy="{half}" r="{half}" fill="{colour}"/>'
        f'<text x="{half}" y="{half}" dy=".35em" text-anchor="middle" fill="#ffffff" '
        f'font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif" font-size="{AVATAR_SIZE * 3 // 8}" '
        f'font-weight="600">{escape(author.initials)}</text></svg>\n'
    )


def visit_avatar_html(self: HTML5Translator, node: avatar) -> None:
    here = self.builder.get_target_uri(self.builder.current_docname)  # type: ignore[attr-defined]
    src = relative_uri(here, node["file"])
    # The name is written next to every avatar, so the image itself is decorative.
    self.body.append(self.emptytag(node, "img", "", src=src, alt="", width=AVATAR_SIZE, height=AVATAR_SIZE))
    raise nodes.SkipNode


def skip_node(self: Any, node: nodes.Element) -> None:
    raise nodes.SkipNode


def write_avatars(site: model.Site, srcdir: Path, outdir: Path) -> None:
    """Write every author's avatar, and remove those of authors who are gone."""
    folder = outdir / AVATARS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    wanted: set[Path] = set()
    for author in site.authors.values():
        target = outdir / avatar_file(author)
        wanted.add(target)
        if author.photo:
            shutil.copyfile(srcdir / model.AUTHORS_DIR / author.photo, target)
        else:
            svg = initials_svg(author)
            if not target.is_file() or target.read_text(encoding="utf-8") != svg:
                target.write_text(svg, encoding="utf-8")
    for stale in folder.iterdir():
        if stale not in wanted and stale.is_file():
            stale.unlink()


def on_html_collect_pages(app: Sphinx) -> list[tuple[str, dict[str, Any], str]]:
    """Avatars are written on every build: they are small and follow the profiles."""
    if app.builder.format == "html":
        write_avatars(site_of(app.env), Path(app.srcdir), Path(app.builder.outdir))
    return []


# -- the profile page ---------------------------------------------------------


class ProfileTitle(SphinxTransform):
    """Make the author's name the page title (the profile has no ``#`` heading)."""

    default_priority = 200

    def apply(self, **kwargs: Any) -> None:
        author = author_of(self.env.docname, site_of(self.env))
        if author is None:
            return
        # The page lists the author's posts: rewrite it when one of them changes.
        domain_of(self.env).lists(self.env.docname, f"author:{author.key}")
        if any(isinstance(c, nodes.section) for c in self.document.children):
            return
        section = nodes.section(
            ids=[nodes.make_id(author.key) or "profile"], names=[nodes.fully_normalize_name(author.name)]
        )
        section += nodes.title(author.name, author.name)
        section += nodes.paragraph(author.role, author.role, classes=["kb-author-role"])
        keep = [c for c in self.document.children if isinstance(c, nodes.docinfo | nodes.field_list)]
        for child in list(self.document.children):
            if child not in keep:
                self.document.remove(child)
                section += child
        self.document += section


class ProfilesByName(SphinxTransform):
    """Order profiles in every toctree by name, as the author cards are, not by key."""

    default_priority = 210

    def apply(self, **kwargs: Any) -> None:
        site = site_of(self.env)

        def order(entry: tuple[str | None, str]) -> tuple[int, str]:
            author = author_of(entry[1], site)
            return (0, model.fold(author.name)) if author else (1, "")

        for toctree in self.document.findall(addnodes.toctree):
            toctree["entries"] = sorted(toctree["entries"], key=order)
            toctree["includefiles"] = sorted(toctree["includefiles"], key=lambda d: order((None, d)))


def top_tags(posts: list[model.Post], count: int = TOP_TAGS) -> list[tuple[str, int]]:
    """The tags used most by *posts*, most used first, ties by name."""
    counts = Counter(tag for post in posts for tag in post.tags)
    return sorted(counts.items(), key=lambda item: (-item[1], item[0].casefold()))[:count]


def profile_head(builder: Builder, docname: str, site: model.Site, author: model.Author) -> nodes.container:
    """Avatar, role, practice, expertise and links, side by side."""
    head = nodes.container(classes=["kb-profile-head"])
    head += avatar_node(author)
    facts = nodes.container(classes=["kb-profile-facts"])
    facts += nodes.paragraph(author.role, author.role, classes=["kb-author-role"])
    if author.practice and author.practice in site.practices:
        para = nodes.paragraph(classes=["kb-author-practice"])
        para += nodes.Text("Practice: ")
        para += practice_link(builder, docname, site, author.practice)
        facts += para
    if author.expertise:
        text = "Expertise: " + ", ".join(author.expertise)
        facts += nodes.paragraph(text, text, classes=["kb-author-expertise"])
    if author.links:
        para = nodes.paragraph(classes=["kb-author-links"])
        for index, (label, url) in enumerate(author.links):
            if index:
                para += nodes.Text(" · ")
            para += nodes.reference(label, label, refuri=url, classes=["kb-author-link"])
        facts += para
    head += facts
    return head


def on_doctree_resolved(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """Complete the profile: head, the tags they write about, their feed and posts."""
    site = site_of(app.env)
    author = author_of(docname, site)
    if author is None:
        return
    builder = app.builder
    section = next(iter(doctree.findall(nodes.section)), doctree)
    role = next((p for p in section.children if "kb-author-role" in p.get("classes", ())), None)
    head = profile_head(builder, docname, site, author)
    if role is not None:
        role.parent.replace(role, head)
    else:
        section.insert(1 if section.children and isinstance(section[0], nodes.title) else 0, head)
    posts = select(site, {"author": author.key})
    tags = top_tags(posts)
    if tags:
        para = nodes.paragraph(classes=["kb-author-topics"])
        para += nodes.strong("Writes most about: ", "Writes most about: ")
        for index, (tag, count) in enumerate(tags):
            if index:
                para += nodes.Text(", ")
            para += link(builder, docname, tag_page(site, tag), tag, ["kb-tag"])
            para += nodes.Text(f" ({count})")
        section += para
    if builder.format == "html":
        para = nodes.paragraph(classes=["kb-author-feed"])
        para += feed_link(builder, docname, "author", author.key, f"Atom feed of {author.name}'s posts")
        section += para
    section += nodes.rubric("", f"Posts by {author.name} ({len(posts)})", classes=["kb-posts-heading"])
    page = first_page(app, author)
    section += render_list(app.env, builder, docname, page.of(posts))
    section += paging.pager_node(builder, page) or []


def first_page(app: Sphinx, author: model.Author) -> paging.Page:
    """The profile as page 1 of the author's posts (the further pages: :func:`kb.tags.every_listing_page`)."""
    total = len(select(site_of(app.env), {"author": author.key}))
    return paging.pages_of(author.docname, total, paging.per_page(app.config))[0]


def on_html_page_context(
    app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: nodes.document | None
) -> None:
    """Give a profile its place in the list of the author's posts (the head's link to page 2)."""
    author = author_of(pagename, site_of(app.env))
    if author is not None:
        context["kb_paging"] = first_page(app, author)


# -- the author index -----------------------------------------------------------


class author_grid(nodes.General, nodes.Element):  # noqa: N801 - docutils node naming
    """Placeholder for the card grid of all authors, filled in when the page is written."""


class AuthorGridDirective(SphinxDirective):
    """``{kb-authors}``: a card for every author, sorted by name."""

    option_spec: ClassVar[dict[str, Any]] = {}

    def run(self) -> list[nodes.Node]:
        node = author_grid()
        self.set_source_info(node)
        # Cards show post counts and latest posts: rewrite the page when posts change.
        domain_of(self.env).lists(self.env.docname)
        return [node]


def author_card(env: BuildEnvironment, builder: Builder, fromdoc: str, author: model.Author) -> nodes.container:
    site = site_of(env)
    posts = select(site, {"author": author.key})
    body = create_component("card-body", ["sd-card-body", "kb-author-card-body"])
    body += avatar_node(author)
    title = nodes.paragraph(classes=["sd-card-title", "sd-font-weight-bold", "kb-author-name"])
    title += link(builder, fromdoc, author.docname, author.name, ["kb-author"])
    body += title
    body += nodes.paragraph(author.role, author.role, classes=["sd-card-text", "kb-author-role"])
    count = f"{len(posts)} post" + ("" if len(posts) == 1 else "s")
    body += nodes.paragraph(count, count, classes=["sd-card-text", "kb-author-count"])
    if posts:
        latest = nodes.paragraph(classes=["sd-card-text", "kb-author-latest"])
        latest += nodes.Text("Latest: ")
        latest += link(builder, fromdoc, posts[0].docname, posts[0].title)
        body += latest
    card = create_component("card", ["sd-card", "sd-sphinx-override", "sd-w-100", "sd-shadow-sm", "kb-author-card"])
    card += body
    return create_component("grid-item", ["sd-col", "sd-d-flex-row"], children=[card])


def render_grid(env: BuildEnvironment, builder: Builder, fromdoc: str) -> nodes.container:
    """The sphinx-design grid ``1 2 3 4`` with gutter 3, built from nodes."""
    site = site_of(env)
    columns = ["sd-row-cols-1", "sd-row-cols-xs-1", "sd-row-cols-sm-2", "sd-row-cols-md-3", "sd-row-cols-lg-4"]
    gutter = ["sd-g-3", "sd-g-xs-3", "sd-g-sm-3", "sd-g-md-3", "sd-g-lg-3"]
    row = create_component("grid-row", ["sd-row", *columns, *gutter])
    for author in sorted(site.authors.values(), key=lambda a: (model.fold(a.name), a.key)):
        row += author_card(env, builder, fromdoc, author)
    return create_component(
        "grid-container", ["sd-container-fluid", "sd-sphinx-override", "sd-mb-4", "kb-author-grid"], children=[row]
    )


def on_doctree_resolved_grid(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """Fill each ``{kb-authors}`` placeholder."""
    for node in list(doctree.findall(author_grid)):
        node.replace_self(render_grid(app.env, app.builder, docname))


# -- incremental builds -----------------------------------------------------------


@dataclass(frozen=True)
class AuthorShown:
    """What other pages show of an author: bylines, listings, cards, the profile.
    Kept between builds (``env.kb_author_signatures``, by key); a record that
    differs (or was kept in another shape) rewrites the pages that show the author."""

    name: str
    role: str
    practice: str | None
    expertise: tuple[str, ...]
    photo: str | None
    links: tuple[tuple[str, str], ...]
    avatar: str


def author_signatures(site: model.Site) -> dict[str, AuthorShown]:
    """What other pages show of each author, by key."""
    return {
        a.key: AuthorShown(
            name=a.name,
            role=a.role,
            practice=a.practice,
            expertise=a.expertise,
            photo=a.photo,
            links=a.links,
            avatar=avatar_file(a),
        )
        for a in site.authors.values()
    }


def on_env_get_updated(app: Sphinx, env: BuildEnvironment) -> list[str]:
    """When a profile changes, rewrite the pages that show that author."""
    site = site_of(env)
    new = author_signatures(site)
    old: dict[str, AuthorShown] = getattr(env, "kb_author_signatures", {})
    env.kb_author_signatures = new  # type: ignore[attr-defined]
    changed = {k for k in new.keys() | old.keys() if new.get(k) != old.get(k)}
    if not changed or not old:
        return []
    pages = set(domain_of(env).listings)
    pages |= {p.docname for p in site.posts.values() if changed.intersection(p.authors)}
    pages |= {f"{model.AUTHORS_DIR}/{key}" for key in changed}
    pages = {p for p in pages if p in env.all_docs}
    logger.info("kb: %d author profiles changed; rewriting %d pages that show them", len(changed), len(pages))
    return sorted(pages)


def setup(app: Sphinx) -> dict[str, Any]:
    app.setup_extension("kb.feeds")
    app.add_node(
        avatar,
        html=(visit_avatar_html, None),
        latex=(skip_node, None),
        text=(skip_node, None),
        man=(skip_node, None),
        texinfo=(skip_node, None),
    )
    app.add_node(author_grid)
    app.add_directive("kb-authors", AuthorGridDirective)
    app.add_transform(ProfileTitle)
    app.add_transform(ProfilesByName)
    app.connect("doctree-resolved", on_doctree_resolved)
    app.connect("doctree-resolved", on_doctree_resolved_grid)
    app.connect("env-get-updated", on_env_get_updated)
    app.connect("html-collect-pages", on_html_collect_pages)
    app.connect("html-page-context", on_html_page_context)
    return {"version": __version__, "env_version": 2, "parallel_read_safe": True, "parallel_write_safe": True}
