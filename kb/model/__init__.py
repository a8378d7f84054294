"""The content model: posts, authors, series and the vocabulary, read and checked.

Pure Python (no Sphinx import), so that ``make check`` and the Sphinx build run
exactly the same code.  Every problem becomes a :class:`Problem` naming the file,
the line where there is one, and the fix; nothing raises on bad input.

One module per concern: :mod:`~kb.model.schema` (keys, types, limits,
messages), :mod:`~kb.model.frontmatter` (YAML, bounded, with line numbers),
:mod:`~kb.model.files` (only files inside the repository),
:mod:`~kb.model.vocabulary`, :mod:`~kb.model.authors`,
:mod:`~kb.model.series` and :mod:`~kb.model.posts`; :func:`load` puts them together.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar
from zoneinfo import ZoneInfo

from kb import reviews
from kb.model.authors import Author, load_authors
from kb.model.files import outside_links
from kb.model.frontmatter import FrontMatter, ParsedFrontMatter, read_front_matter
from kb.model.posts import (
    Post,
    check_collisions,
    check_strays,
    check_titles,
    invalid_post,
    load_post,
    post_label,
    posts_folder,
)
from kb.model.schema import (
    AUTHOR_KEYS,
    AUTHORS_DIR,
    FIELDS,
    KEY_TYPES,
    LONG_TEXT,
    MAX_DEPTH,
    MAX_FRONT_MATTER_BYTES,
    MAX_ITEMS,
    MAX_POST_BYTES,
    MAX_TAGS,
    POST_KEYS,
    POSTS_DIR,
    SERIES_DIR,
    SERIES_KEYS,
    SHORT_TEXT,
    VOCABULARY_FILE,
    Problem,
    did_you_mean,
    fold,
    parse_date,
    slugify,
    split_list,
)
from kb.model.series import Series, check_series, load_series
from kb.model.vocabulary import Lookup, Term, load_vocabulary

__all__ = [
    "AUTHORS_DIR",
    "AUTHOR_KEYS",
    "FIELDS",
    "KEY_TYPES",
    "LONG_TEXT",
    "MAX_DEPTH",
    "MAX_FRONT_MATTER_BYTES",
    "MAX_ITEMS",
    "MAX_POST_BYTES",
    "MAX_TAGS",
    "POSTS_DIR",
    "POST_KEYS",
    "SERIES_DIR",
    "SERIES_KEYS",
    "SHORT_TEXT",
    "VOCABULARY_FILE",
    "Author",
    "FrontMatter",
    "Lookup",
    "ParsedFrontMatter",
    "Post",
    "Problem",
    "Series",
    "Site",
    "Term",
    "did_you_mean",
    "fold",
    "load",
    "load_post",
    "parse_date",
    "post_label",
    "read_front_matter",
    "slugify",
    "split_list",
]

if TYPE_CHECKING:
    from collections.abc import Callable

T = TypeVar("T")


@dataclass
class Site:
    """Everything the content declares, after validation and normalisation."""

    root: Path
    posts: dict[str, Post] = field(default_factory=dict)
    authors: dict[str, Author] = field(default_factory=dict)
    series: dict[str, Series] = field(default_factory=dict)
    tags: dict[str, Term] = field(default_factory=dict)
    practices: dict[str, Term] = field(default_factory=dict)
    #: Errors: ``make check`` and a strict build fail on them.
    problems: list[Problem] = field(default_factory=list)
    #: Worth a look, but not wrong (two posts with one title): reported, never failing.
    warnings: list[Problem] = field(default_factory=list)
    #: Paths (files or folders) the build must leave out: links that lead outside the repository.
    refused: set[str] = field(default_factory=set)
    #: How often a post is due for review unless its practice or front matter says otherwise.
    review_every: reviews.Interval = reviews.DEFAULT_INTERVAL
    #: Profiles and series pages whose front matter cannot be read: the build leaves them out
    #: too (Sphinx would only repeat the problem in its own words).
    unreadable: set[str] = field(default_factory=set)
    #: What :meth:`memo` worked out from the posts, by name.
    _memo: dict[object, object] = field(default_factory=dict, repr=False, compare=False)

    def memo(self, name: object, make: Callable[[], T]) -> T:
        """``make()``, worked out once for this content: an answer read from every
        post (a series' parts...) and asked for per page must not cost a pass over
        the posts each time.  :func:`load` has read every post before anything asks."""
        if name not in self._memo:
            self._memo[name] = make()
        return self._memo[name]  # type: ignore[return-value]

    @property
    def published(self) -> list[Post]:
        """Published posts, newest first (ties broken by title, as ABlog does)."""

        def newest_first() -> list[Post]:
            # A post whose date is missing or invalid has been reported; it cannot be ordered.
            posts = [p for p in self.posts.values() if p.published and p.date is not None]
            return sorted(posts, key=lambda p: (p.date, p.title), reverse=True)

        return self.memo("published", newest_first)

    @property
    def held(self) -> list[Post]:
        held = (p for p in self.posts.values() if p.status in ("draft", "scheduled"))
        return sorted(held, key=lambda p: p.path)

    def parts(self, key: str) -> list[Post]:
        """The published parts of series *key*, in order."""

        def by_series() -> dict[str | None, list[Post]]:
            found: dict[str | None, list[Post]] = {}
            for post in sorted(self.posts.values(), key=lambda p: p.part or 0):
                if post.published:
                    found.setdefault(post.series, []).append(post)
            return found

        return list(self.memo("published parts", by_series).get(key, ()))


def _zone(name: str) -> dt.tzinfo:
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError):
        return dt.UTC


def _load_posts(site: Site, files: list[Path], tz: dt.tzinfo, now: dt.datetime, parsed: ParsedFrontMatter) -> None:
    tags, practices = Lookup(site.tags), Lookup(site.practices)
    for path in (f for f in files if f.suffix == ".md"):
        post = load_post(site.root, path, site, tags, practices, tz, now, parsed=parsed)
        post = post or invalid_post(site.root, path)
        site.posts[post.docname] = post


def load(
    root: Path | str,
    *,
    include_held: bool = False,
    now: dt.datetime | None = None,
    timezone: str = "UTC",
    cache: Path | None = None,
    review_every: str = str(reviews.DEFAULT_INTERVAL),
) -> Site:
    """Read and check all content below *root*.

    *include_held* checks series as if drafts and scheduled posts were
    published (preview builds); *now* fixes the moment that decides what is
    scheduled, for tests; *cache* is a file that keeps the posts' parsed front
    matter for the next load (:class:`ParsedFrontMatter`); *review_every* is
    the site's review interval (``kb_review_every`` in ``conf.py``).
    """
    site = Site(Path(root))
    tz = _zone(timezone)
    every = reviews.parse_interval(review_every)
    if every is None:
        message = f"kb_review_every {review_every!r} is not an interval"
        site.problems.append(Problem("conf.py", 1, message, reviews.INTERVAL_FIX, "review"))
    site.review_every = every or reviews.DEFAULT_INTERVAL
    site.refused = outside_links(site.root, site.problems)
    if VOCABULARY_FILE not in site.refused:
        site.tags, site.practices = load_vocabulary(site.root, site.problems)
    site.authors = load_authors(site.root, Lookup(site.practices), site.problems, site.refused, site.unreadable)
    site.series = load_series(site.root, site.problems, site.refused, site.unreadable)
    parsed = ParsedFrontMatter(cache)
    files = posts_folder(site.root, site.refused)
    _load_posts(site, files, tz, now or dt.datetime.now(tz), parsed)
    check_strays(site.root, files, site.problems)
    check_collisions(site.posts, site.problems)
    check_series(site.series, site.posts, site.problems, include_held)
    check_titles(site.posts, site.warnings)
    site.problems.sort()
    site.warnings.sort()
    with contextlib.suppress(OSError):  # a cache that cannot be written only costs time in the next build
        parsed.save()
    return site
