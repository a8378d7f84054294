"""The content model enters Sphinx here, once per build.

``config-inited`` loads and checks every post, author, series and the
vocabulary (:mod:`kb.model`) and every page (:mod:`kb.rules`), exactly as
``make check`` does, reports each problem once as a located warning (so a
strict build fails and lists them all: :mod:`kb.problems`), derives ABlog's
settings, and leaves
drafts and scheduled posts out of the build entirely.  A transform then hands
ABlog each post's normalised metadata, so ABlog never parses front matter.

Which posts take part in a build is decided here, for every module: a post
(:func:`post_of`) and the parts of a series (:func:`parts_by_series`), drafts
and scheduled posts counting only in previews.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ablog.post import PostNode
from docutils import nodes
from sphinx.transforms import SphinxTransform
from sphinx.util import logging

from kb import __version__, model, problems, rules

if TYPE_CHECKING:
    from sphinx.application import Sphinx
    from sphinx.config import Config
    from sphinx.environment import BuildEnvironment


logger = logging.getLogger(__name__)

#: Environment variables that override settings, for CI and previews.
SITE_URL_VARIABLE = "KB_SITE_URL"
DRAFTS_VARIABLE = "KB_DRAFTS"


def site_of(env: BuildEnvironment) -> model.Site:
    """The content model of this build."""
    return env.kb_site  # type: ignore[attr-defined]


def derive_settings(config: Config, site: model.Site) -> None:
    """Settings that follow from the content and the one site URL."""
    url = os.environ.get(SITE_URL_VARIABLE) or config.kb_site_url
    url = url.rstrip("/") + "/"
    config.kb_site_url = url
    config.blog_baseurl = url
    config.html_baseurl = url
    config.ogp_site_url = url
    config.notfound_urls_prefix = urlsplit(url).path or "/"
    authors, left_out = from_content(config, site)
    config.blog_authors = authors
    config.exclude_patterns = [*config.exclude_patterns, *left_out]


def from_content(config: Config, site: model.Site) -> tuple[dict[str, tuple[str, None]], list[str]]:
    """The settings the content decides: ABlog's authors, and the files the build leaves out."""
    left_out = [
        post.path
        for post in site.posts.values()
        if post.status == "invalid" or (not post.published and not config.kb_include_drafts)
    ]
    # Links that lead outside the repository: a folder is left out with all it holds.
    refused = [pattern for path in sorted(site.refused) for pattern in (path, f"{path}/**")]
    authors = {a.key: (a.name, None) for a in site.authors.values()}
    return authors, [*left_out, *refused, *sorted(site.unreadable)]


#: The content as this process last loaded it, and what it was loaded with: the
#: next load takes over what has not changed since.  The preview forks each
#: build from a process that has loaded the site (:mod:`kb.warm`), so a build
#: after a save reads again only the files saved since.
LAST_LOADED: dict[tuple[object, ...], tuple[model.Site, rules.Pages]] = {}


def load_content(app: Sphinx, config: Config, settings: rules.Settings) -> tuple[model.Site, list[model.Problem]]:
    """The content model of *app*'s site, and every problem of the model and the rules (*settings*) in it."""
    include_held = config.kb_include_drafts
    key = (str(app.srcdir), include_held, config.kb_timezone, config.kb_review_every, settings)
    site_before, pages_before = LAST_LOADED.get(key, (None, None))
    site = model.load(
        app.srcdir,
        include_held=include_held,
        timezone=config.kb_timezone,
        cache=Path(app.doctreedir) / "kb-front-matter.pickle",
        review_every=config.kb_review_every,
        previous=site_before,
    )
    cache = Path(app.doctreedir) / "kb-pages.pickle"
    pages = rules.read(site, settings, cache, workers=app.parallel, previous=pages_before)
    found = rules.check(site, settings, include_held=include_held, parsed=pages, previous=pages_before)
    LAST_LOADED.clear()
    LAST_LOADED[key] = (site, pages)
    return site, sorted({*site.problems, *found})


def on_config_inited(app: Sphinx, config: Config) -> None:
    """Load and check the content; derive settings; hold back drafts and scheduled posts."""
    config.kb_include_drafts = config.kb_include_drafts or os.environ.get(DRAFTS_VARIABLE, "") not in ("", "0")
    # As conf.py has them: the settings derived from the content (below) are not the rules' business.
    settings = rules.Settings.of({name: getattr(config, name) for name in rules.DEFAULTS if hasattr(config, name)})
    app.kb_rules_settings = settings  # type: ignore[attr-defined]
    site, found = load_content(app, config, settings)
    derive_settings(config, site)
    take(app, site, found)


def take(app: Sphinx, site: model.Site, found: list[model.Problem]) -> None:
    """Make *site* the content of *app*'s build; report its *found* problems and its warnings."""
    problems.install(app, found, site.warnings)
    app.kb_pending_site = site  # type: ignore[attr-defined]


def reload(app: Sphinx) -> bool:
    """Load the content again into *app*, set up before it changed (:mod:`kb.standby`).

    False, and *app* left as it is, if the settings the content decides
    (:func:`from_content`) are no longer those *app* was set up with: Sphinx
    has compared them with the last build's already.
    """
    site, found = load_content(app, app.config, app.kb_rules_settings)  # type: ignore[attr-defined]
    if from_content(app.config, site) != from_content(app.config, app.kb_pending_site):  # type: ignore[attr-defined]
        return False
    take(app, site, found)
    return True


def counted(count: int, noun: str, verb: str = "") -> str:
    """``1 draft``, ``2 drafts``, ``16 posts published``: a count that reads right."""
    words = f"{count} {noun}{'' if count == 1 else 's'}"
    return f"{words} {verb}" if verb else words


def on_builder_inited(app: Sphinx) -> None:
    """Make the content model available to every part of the build."""
    site = app.kb_pending_site  # type: ignore[attr-defined]
    app.env.kb_site = site  # type: ignore[attr-defined]
    drafts = [p.path for p in site.held if p.status == "draft"]
    scheduled = [p for p in site.held if p.status == "scheduled"]
    action = "previewed" if app.config.kb_include_drafts else "held back"
    logger.info(
        "kb: %s; %s and %s %s",
        counted(len(site.published), "post", "published"),
        counted(len(drafts), "draft"),
        counted(len(scheduled), "scheduled post"),
        action,
    )
    for path in drafts:
        logger.info("kb:   draft     %s", path)
    for post in scheduled:
        logger.info("kb:   scheduled %s (%s)", post.path, post.date.date().isoformat() if post.date else "?")


def post_of(env: BuildEnvironment, docname: str) -> model.Post | None:
    """The model's record of *docname* if it is a post taking part in this build."""
    post = site_of(env).posts.get(docname)
    if post is None or post.status == "invalid":
        return None
    if post.published or env.config.kb_include_drafts:
        return post
    return None


def series_of(docname: str, site: model.Site) -> model.Series | None:
    """The series whose page is *docname*, if it is one."""
    folder, _, key = docname.partition("/")
    return site.series.get(key) if folder == model.SERIES_DIR else None


def parts_by_series(site: model.Site, *, previews: bool) -> dict[str, list[model.Post]]:
    """Every series' parts in order: the posts that name it and have a page.

    The one rule of what a series holds.  In a published build that is its
    published parts; in previews (``make html-drafts``, *previews*) its draft
    and scheduled parts too, so that banners, navigation and the series page
    count them.  A post whose front matter is invalid is never a part.
    """
    found: dict[str, list[model.Post]] = {}
    for post in site.posts.values():
        if post.series and (post.published or (previews and post.status != "invalid")):
            found.setdefault(post.series, []).append(post)
    for parts in found.values():
        parts.sort(key=lambda p: (p.part or 0, p.path))
    return found


def parts(site: model.Site, key: str, *, previews: bool) -> list[model.Post]:
    """The parts of series *key*, by :func:`parts_by_series` (worked out once per content model)."""
    every = site.memo(("series parts", previews), lambda: parts_by_series(site, previews=previews))
    return list(every.get(key, ()))


def parts_of(env: BuildEnvironment, key: str) -> list[model.Post]:
    """The parts of series *key* in this build (a preview or not), worked out once per build."""
    return parts(site_of(env), key, previews=env.config.kb_include_drafts)


def ablog_date(moment: dt.datetime | None, timezone: str) -> str | None:
    """ABlog compares naive local dates: hand it wall-clock time in the site's zone."""
    if moment is None:
        return None
    try:
        from zoneinfo import ZoneInfo

        zone: dt.tzinfo = ZoneInfo(timezone)
    except (KeyError, ValueError):
        zone = dt.UTC
    return moment.astimezone(zone).replace(tzinfo=None).isoformat()


class PostMetadata(SphinxTransform):
    """Give ABlog the post's normalised metadata as a ``PostNode``.

    Runs just before ABlog's own front-matter check (priority 800), which then
    finds nothing to do because no ``blogpost`` key and no post pattern is set.
    """

    default_priority = 799

    def apply(self, **kwargs: Any) -> None:
        post = post_of(self.env, self.env.docname)
        if post is None:
            return
        sections = list(self.document.findall(nodes.section))
        if not sections:
            return  # the title is missing; the model has already said so
        node = PostNode()
        node.document = self.document
        node["date"] = ablog_date(post.date, self.config.kb_timezone)
        node["tags"] = list(post.tags)
        node["author"] = list(post.authors)
        node["category"] = [post.practice] if post.practice else []
        for key in ("location", "language", "redirect", "canonical_link", "external_link"):
            node[key] = []
        node["title"] = None
        node["image"] = None
        node["excerpt"] = 1
        node["exclude"] = False
        node["nocomments"] = True
        sections[0].append(node)


def setup(app: Sphinx) -> dict[str, Any]:
    app.setup_extension("ablog")
    app.setup_extension("kb.problems")
    app.add_config_value("kb_site_url", "https://kb.example.com/", "env", types=frozenset({str}))
    app.add_config_value("kb_timezone", "UTC", "env", types=frozenset({str}))
    app.add_config_value("kb_include_drafts", False, "env", types=frozenset({bool}))
    app.connect("config-inited", on_config_inited, priority=400)
    app.connect("builder-inited", on_builder_inited)
    app.add_transform(PostMetadata)
    return {"version": __version__, "env_version": 1, "parallel_read_safe": True, "parallel_write_safe": True}
