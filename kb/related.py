"""Related posts: the rule that picks them, and the rule that keeps them fresh.

Each post ends with up to five related posts: the other published posts that
share the most tags with it, then the newest, never another part of its own
series (the series navigation lists those).

:func:`related_posts` is the whole rule, a function of :class:`RelatedInput`
alone (what it reads of every post).  Its answer for every post is kept between
builds (``env.kb_related``); whenever that input or the rule's code changed,
the rule runs again and every post whose answer differs is rewritten.  So the
refresh follows the rule by construction: change the rule, or what it reads,
and the pages follow.
How a related post looks (its title, tags...) is :mod:`kb.listings`' concern:
it rewrites the pages that link to a post that changed.
"""

from __future__ import annotations

import hashlib
import heapq
import inspect
import itertools
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from docutils import nodes
from sphinx.util import logging

from kb import __version__, model
from kb.content import post_of, site_of
from kb.domain import domain_of
from kb.render import WITHOUT_EXCERPT, render_list

if TYPE_CHECKING:
    from collections.abc import Iterable

    from sphinx.application import Sphinx
    from sphinx.environment import BuildEnvironment

logger = logging.getLogger(__name__)

RELATED_LIMIT = 5

#: What the rule reads of one post: its docname, tags and series.
Entry = tuple[str, tuple[str, ...], str | None]


def entry(post: model.Post) -> Entry:
    return (post.docname, post.tags, post.series)


@dataclass(frozen=True)
class RelatedInput:
    """Everything :func:`related_posts` reads, and the rule itself."""

    #: A fingerprint of the rule's code and defaults: a new rule is a new input.
    rule: str
    #: The posts that may be shown: every published post, newest first.
    candidates: tuple[Entry, ...]
    #: The posts that show related posts: every post with a page in this build
    #: (in previews, drafts and scheduled posts too).
    subjects: tuple[Entry, ...]


def related_input(env: BuildEnvironment) -> RelatedInput:
    site = site_of(env)
    return input_of(site, (p for p in site.posts.values() if post_of(env, p.docname) is not None))


def input_of(site: model.Site, subjects: Iterable[model.Post]) -> RelatedInput:
    """The rule's input for the related posts of *subjects*."""
    return RelatedInput(
        rule=rule_fingerprint(),
        candidates=tuple(entry(p) for p in site.published),
        subjects=tuple(entry(p) for p in sorted(subjects, key=lambda p: p.docname)),
    )


def rule_fingerprint() -> str:
    """The rule's source and defaults, hashed (its source, not its bytecode, which
    Python may write differently from one process to the next)."""
    rule = inspect.getsource(related_posts) + repr(related_posts.__defaults__)
    return hashlib.sha256(rule.encode("utf-8")).hexdigest()


def related_posts(given: RelatedInput, limit: int = RELATED_LIMIT) -> dict[str, tuple[str, ...]]:
    """Each subject's related posts (docnames): other published posts sharing a
    tag with it, most shared tags first, then newest; never a post of its own series.

    Counting the shared tags of every post that shares one would make the rule
    quadratic in posts (a second at 2,000 posts, half a minute at 10,000).  So
    posts sharing two tags or more are counted by the pairs of tags they share
    (n shared tags are n(n-1)/2 shared pairs: the same order), and only if
    fewer than *limit* of them may be shown are the newest posts sharing one
    tag taken, from the start of each tag's list, newest first.
    """
    names = [docname for docname, _, _ in given.candidates]
    series = [key for _, _, key in given.candidates]
    rank = {docname: position for position, docname in enumerate(names)}
    by_tag: dict[str, list[int]] = defaultdict(list)
    by_pair: dict[tuple[str, str], list[int]] = defaultdict(list)
    for position, (_, tags, _) in enumerate(given.candidates):
        for tag in set(tags):
            by_tag[tag].append(position)
        for pair in itertools.combinations(sorted(set(tags)), 2):
            by_pair[pair].append(position)
    out: dict[str, tuple[str, ...]] = {}
    for docname, tags, key in given.subjects:
        own = rank.get(docname)
        shared: Counter[int] = Counter()
        for pair in itertools.combinations(sorted(set(tags)), 2):
            shared.update(by_pair.get(pair, ()))
        # Most shared pairs first, then newest (both sorts are stable); then, read
        # only as far as needed, the posts sharing one tag, newest first.
        pairs = sorted(sorted(shared), key=shared.__getitem__, reverse=True)
        one = (p for p in heapq.merge(*(by_tag.get(tag, ()) for tag in set(tags))) if p not in shared)
        chosen: list[int] = []
        for position in itertools.chain(pairs, one):
            if position != own and (key is None or series[position] != key) and position not in chosen:
                chosen.append(position)
                if len(chosen) == limit:
                    break
        out[docname] = tuple(names[position] for position in chosen)
    return out


@dataclass(frozen=True)
class Related:
    """The rule's input and its answer, kept between builds as ``env.kb_related``."""

    #: Bump when the fields change (a new rule is told by its fingerprint): then every post is rewritten.
    VERSION: ClassVar[int] = 1

    given: RelatedInput
    shown: dict[str, tuple[str, ...]]
    version: int = VERSION


def related_of(env: BuildEnvironment) -> Related:
    """This build's related posts: those kept from the last build if the rule's
    input is the same, else the rule's new answer (now kept instead)."""

    def work_out(site: model.Site) -> Related:
        kept: Related | None = getattr(env, "kb_related", None)
        given = related_input(env)
        if kept is None or getattr(kept, "version", None) != Related.VERSION or kept.given != given:
            kept = env.kb_related = Related(given, related_posts(given))  # type: ignore[attr-defined]
        return kept

    return domain_of(env).per_build("related posts", work_out)


def on_env_get_updated(app: Sphinx, env: BuildEnvironment) -> list[str]:
    """Rewrite the posts whose related posts are no longer those on their page."""
    old: Related | None = getattr(env, "kb_related", None)
    new = related_of(env)
    if old is None or old is new:
        return []  # a first build writes every page; or nothing the rule reads changed
    if getattr(old, "version", None) != Related.VERSION:
        pages = set(new.shown)
    else:
        pages = {docname for docname, shown in new.shown.items() if old.shown.get(docname) != shown}
    pages = {p for p in pages if p in env.all_docs}
    logger.info("kb: related posts changed on %d pages", len(pages))
    return sorted(pages)


def on_doctree_resolved(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """End each post with its related posts."""
    env = app.env
    shown = related_of(env).shown.get(docname)
    section = next(iter(doctree.findall(nodes.section)), None)
    if section is None or not shown:
        return
    site = site_of(env)
    box = nodes.container(classes=["kb-related"])
    box += nodes.rubric("", "Related posts", classes=["kb-posts-heading"])
    box += render_list(env, app.builder, docname, [site.posts[d] for d in shown], WITHOUT_EXCERPT)
    section += box


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("env-get-updated", on_env_get_updated)
    app.connect("doctree-resolved", on_doctree_resolved)
    return {"version": __version__, "env_version": 1, "parallel_read_safe": True, "parallel_write_safe": True}
