"""Document control on the page: who reviewed a post, when it is next due, the queue.

A post's byline says who last reviewed it and when; a post past its due date
carries a banner naming its owner (its first author); ``{kb-review-queue}``
lists every post that is overdue, due within 30 days or changed (in git) after
its last review, by owner.  ``make check --due`` prints the same queue
(:func:`kb.reviews.queue` computes both).  With ``kb_review_overdue_fails``
an overdue post fails the strict build.

Each post may also link to its source in the repository's web editor
("Suggest a change") when ``kb_repository_url`` is set.

A post's review status depends on the day of the build: each build compares
every status with the last build's and writes again the posts whose status
changed and the queue pages (``env-get-updated``), so the passing of a due
date shows without a clean build.
"""

from __future__ import annotations

import datetime as dt
import os
from typing import TYPE_CHECKING, Any, ClassVar
from zoneinfo import ZoneInfo

from docutils import nodes
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

from kb import __version__, history, reviews
from kb.content import post_of, site_of
from kb.domain import pages_marked
from kb.render import DATE_FORMAT, link

if TYPE_CHECKING:
    from sphinx.application import Sphinx
    from sphinx.builders import Builder
    from sphinx.environment import BuildEnvironment

    from kb.model import Post

logger = logging.getLogger(__name__)

#: The metadata flag of a page that shows the review queue.
QUEUE_PAGE = "kb-review-queue"


def today(env: BuildEnvironment) -> dt.date:
    """The day of this build, in the site's time zone (worked out once per build)."""
    return env.kb_today  # type: ignore[attr-defined,no-any-return]


def change_days(env: BuildEnvironment, post: Post) -> tuple[dt.date, ...]:
    """The days the post's file changed in git (ignored commits aside), newest first."""
    ignored = frozenset(env.config.kb_history_ignore_commits)
    changes = history.history_of(env).of(history.source_path(env, post.docname))
    return tuple(change.date.date() for change in changes if not history.is_ignored(change.commit, ignored))


def status_of(env: BuildEnvironment, post: Post) -> reviews.Status | None:
    if post.date is None or post.review_every is None:
        return None
    return reviews.status(post.reviews, post.review_every, post.date.date(), today(env), change_days(env, post))


def review_queue(env: BuildEnvironment) -> dict[str, list[reviews.Entry]]:
    site = site_of(env)
    return reviews.queue(site.published, lambda post: change_days(env, post), today(env))


# -- the byline and the banner -------------------------------------------------


def reviewed_line(env: BuildEnvironment, builder: Builder, post: Post) -> list[nodes.Node]:
    """``Reviewed by <name> on <date>`` (and whether the post changed since), for the byline."""
    status = status_of(env, post)
    if status is None or status.last is None:
        return []
    author = site_of(env).authors[status.last.by]
    out: list[nodes.Node] = [nodes.Text("Reviewed by ")]
    out.append(link(builder, post.docname, author.docname, author.name, ["kb-author"]))
    out.append(nodes.Text(f" on {status.last.on.strftime(DATE_FORMAT)}"))
    if status.changed_after_review:
        out.append(nodes.inline("", " (changed after review)", classes=["kb-changed-after-review"]))
    return [nodes.inline("", "", *out, classes=["kb-reviewed"])]


def due_banner(env: BuildEnvironment, builder: Builder, post: Post) -> nodes.Node | None:
    """A banner on a published post past its review date, naming its owner."""
    status = status_of(env, post) if post.published else None
    if status is None or status.state != "overdue":
        return None
    note = nodes.admonition(classes=["kb-due", "warning"])
    note += nodes.title("", "Due for review")
    para = nodes.paragraph()
    para += nodes.Text(f"This post has been due for review since {status.due.strftime(DATE_FORMAT)}.")
    if post.authors:  # a post whose author is unknown has been reported
        owner = site_of(env).authors[post.authors[0]]
        para += nodes.Text(" Owner: ")
        para += link(builder, post.docname, owner.docname, owner.name, ["kb-author"])
        para += nodes.Text(".")
    note += para
    return note


def suggest_change(env: BuildEnvironment, docname: str) -> nodes.paragraph | None:
    """A link to the page's source in the repository's web editor, when the repository is set."""
    url = env.config.kb_repository_url.rstrip("/")
    if not url:
        return None
    path = history.source_path(env, docname)
    target = f"{url}/edit/{env.config.kb_repository_branch}/{path}"
    ref = nodes.reference("", "Suggest a change", refuri=target, classes=["kb-suggest-change"])
    return nodes.paragraph("", "", ref, classes=["kb-suggest"])


# -- the queue -----------------------------------------------------------------


class review_queue_list(nodes.General, nodes.Element):  # noqa: N801 - docutils node naming
    """Placeholder for the review queue, filled in when the page is written."""


class ReviewQueueDirective(SphinxDirective):
    """``{kb-review-queue}``: every post that needs a review, by owner."""

    option_spec: ClassVar[dict[str, Any]] = {}

    def run(self) -> list[nodes.Node]:
        self.env.metadata[self.env.docname][QUEUE_PAGE] = True
        node = review_queue_list()
        self.set_source_info(node)
        return [node]


def queue_nodes(env: BuildEnvironment, builder: Builder, docname: str) -> list[nodes.Node]:
    """The queue as a summary line and one section per owner."""
    queue = review_queue(env)
    entries = [entry for owned in queue.values() for entry in owned]
    site = site_of(env)
    total = len(site.published)
    day = today(env).strftime(DATE_FORMAT)
    summary = f"As of {day}, {len(entries)} of {total} published posts need attention: {reviews.counts(entries)}."
    if not entries:
        summary = f"As of {day}, all {total} published posts are reviewed and current."
    out: list[nodes.Node] = [nodes.paragraph("", summary, classes=["kb-queue-summary"])]
    for owner_key, owned in queue.items():
        owner = site.authors[owner_key]
        box = nodes.container(classes=["kb-queue-owner"])
        heading = nodes.paragraph(classes=["kb-queue-owner-name"])
        heading += link(builder, docname, owner.docname, owner.name, ["kb-author"])
        heading += nodes.Text(f" · {reviews.counts(owned)}")
        box += heading
        items = nodes.bullet_list(classes=["kb-queue-posts"])
        for entry in owned:
            para = nodes.paragraph()
            para += link(builder, docname, entry.docname, entry.title)
            para += nodes.inline("", f" {state_words(entry, site)}", classes=[f"kb-queue-{entry.status.state}"])
            items += nodes.list_item("", para)
        box += items
        out.append(box)
    return out


def state_words(entry: reviews.Entry, site: Any) -> str:
    """``overdue since 3 May 2025, last reviewed by ...``, with names for keys."""
    names = {key: author.name for key, author in site.authors.items()}
    return "— " + reviews.describe(entry, DATE_FORMAT, names)


# -- events ----------------------------------------------------------------------


#: Builds the site as on another day (``KB_TODAY=2027-01-31 make html``): to see
#: what will fall due, and for tests.
TODAY_VARIABLE = "KB_TODAY"


def build_day(timezone: str) -> dt.date:
    """Today in the site's time zone, or the day ``KB_TODAY`` names."""
    given = os.environ.get(TODAY_VARIABLE, "")
    if given:
        try:
            return dt.date.fromisoformat(given)
        except ValueError:
            logger.warning("%s=%r is not a date (write YYYY-MM-DD)", TODAY_VARIABLE, given, type="kb", subtype="review")
    try:
        zone: dt.tzinfo = ZoneInfo(timezone)
    except (KeyError, ValueError):
        zone = dt.UTC
    return dt.datetime.now(zone).date()


def on_builder_inited(app: Sphinx) -> None:
    """Fix the day of this build, so every page and process agrees on it."""
    app.env.kb_today = build_day(app.config.kb_timezone)  # type: ignore[attr-defined]


def shown_state(env: BuildEnvironment, post: Post) -> tuple[Any, ...]:
    """What a post's page shows of its review: the status, the owner's and the reviewer's names."""
    status = status_of(env, post)
    authors = site_of(env).authors
    owner = authors[post.authors[0]].name if post.authors else None
    reviewer = authors[status.last.by].name if status is not None and status.last is not None else None
    return (status, owner, reviewer)


def on_env_get_updated(app: Sphinx, env: BuildEnvironment) -> list[str]:
    """Write again the posts whose review status changed, and the queue pages when the queue did."""
    site = site_of(env)
    known: dict[str, Any] = env.__dict__.setdefault("kb_review_shown", {})
    now = {post.docname: shown_state(env, post) for post in site.published if post.docname in env.found_docs}
    queue = [(e.docname, e.title, site.authors[e.owner].name, e.status) for q in review_queue(env).values() for e in q]
    now[QUEUE_PAGE] = (queue, len(site.published))
    changed = sorted(doc for doc in now.keys() | known.keys() if now.get(doc) != known.get(doc))
    env.kb_review_shown = now  # type: ignore[attr-defined]
    queues = pages_marked(env, QUEUE_PAGE)
    return [doc for doc in changed if doc in env.found_docs] + (queues if QUEUE_PAGE in changed else [])


def on_doctree_resolved(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """Fill in the queue; warn about overdue posts when the site makes them errors."""
    for node in list(doctree.findall(review_queue_list)):
        node.replace_self(queue_nodes(app.env, app.builder, docname))
    post = post_of(app.env, docname)
    if post is None or not app.config.kb_review_overdue_fails:
        return
    status = status_of(app.env, post)
    if status is not None and status.state == "overdue" and post.published:
        logger.warning(
            "overdue for review since %s (review it and add it to 'reviewed:', or set a longer 'review_every:')",
            status.due.isoformat(),
            location=(docname, post.line("reviewed") if post.reviews else 1),
            type="kb",
            subtype="review",
        )


def on_html_page_context(
    app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: nodes.document | None
) -> None:
    """Every page's footer links the review queue, where the site has one."""
    queues = pages_marked(app.env, QUEUE_PAGE)
    context["kb_review_queue"] = queues[0] if queues else None


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_config_value("kb_review_every", str(reviews.DEFAULT_INTERVAL), "env", types=frozenset({str}))
    app.add_config_value("kb_review_overdue_fails", False, "env", types=frozenset({bool}))
    app.add_config_value("kb_repository_url", "", "html", types=frozenset({str}))
    app.add_config_value("kb_repository_branch", "main", "html", types=frozenset({str}))
    app.add_directive("kb-review-queue", ReviewQueueDirective)
    app.add_node(review_queue_list)
    app.connect("builder-inited", on_builder_inited)
    app.connect("env-get-updated", on_env_get_updated)
    app.connect("doctree-resolved", on_doctree_resolved)
    app.connect("html-page-context", on_html_page_context)
    return {"version": __version__, "env_version": 1, "parallel_read_safe": True, "parallel_write_safe": True}
