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
import time
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
    #: Each post file as read (:class:`Read`), the moment and what its records depend on
    #: beyond their files: the next load may take them over (:func:`load`, *previous*).
    _read: dict[Path, Read] = field(default_factory=dict, repr=False, compare=False)
    _now: dt.datetime | None = field(default=None, repr=False, compare=False)
    _context: tuple[object, ...] = field(default=(), repr=False, compare=False)

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


#: A file changed less than this many seconds before it is read may change again
#: within the resolution of its timestamp, unseen: no later load takes it over.
SETTLED_S = 2.0


@dataclass(frozen=True)
class Read:
    """One post file as a load read it: what identifies its state, its record, its problems."""

    stamp: tuple[int, int, int]
    post: Post
    problems: tuple[Problem, ...]


def stamp_of(path: Path) -> tuple[int, int, int] | None:
    """The file's modification time, size and inode; None if it cannot be read."""
    try:
        status = path.stat()
    except OSError:
        return None
    return status.st_mtime_ns, status.st_size, status.st_ino


def _reusable(previous: Site | None, site: Site, now: dt.datetime) -> dict[Path, Read]:
    """The posts *previous* read that *site*'s load may take over, by path.

    A post's record depends on its file and on the context :func:`_load_posts`
    gives it: the vocabulary, authors and series, the review interval, the time
    zone, today's date, and whether its date has passed.  None is taken over
    when any of these changed, or when a post's date passed since.
    """
    if previous is None or previous.root != site.root or previous._context != site._context:
        return {}
    then = previous._now
    if then is None or then > now or any(then < p.date <= now for p in previous.posts.values() if p.date):
        return {}
    return previous._read


def _zone(name: str) -> dt.tzinfo:
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError):
        return dt.UTC


def _load_posts(
    site: Site, files: list[Path], tz: dt.tzinfo, now: dt.datetime, parsed: ParsedFrontMatter, previous: Site | None
) -> None:
    """Load every post of *files* into *site*, taking over from *previous* each whose file has not
    changed (:func:`_reusable`)."""
    tags, practices = Lookup(site.tags), Lookup(site.practices)
    site._now = now
    site._context = (tz, now.date(), site.review_every, site.tags, site.practices, site.authors, site.series)
    known = _reusable(previous, site, now)
    settled = time.time_ns() - int(SETTLED_S * 1e9)
    for path in (f for f in files if f.suffix == ".md"):
        stamp = stamp_of(path)
        read = known.get(path)
        if read is not None and read.stamp == stamp:
            site.problems += read.problems
        else:
            before = len(site.problems)
            post = load_post(site.root, path, site, tags, practices, tz, now, parsed=parsed)
            read = Read(stamp or (0, 0, 0), post or invalid_post(site.root, path), tuple(site.problems[before:]))
        if stamp is not None and stamp[0] < settled:
            site._read[path] = read
        site.posts[read.post.docname] = read.post


def load(
    root: Path | str,
    *,
    include_held: bool = False,
    now: dt.datetime | None = None,
    timezone: str = "UTC",
    cache: Path | None = None,
    review_every: str = str(reviews.DEFAULT_INTERVAL),
    previous: Site | None = None,
) -> Site:
    """Read and check all content below *root*.

    *include_held* checks series as if drafts and scheduled posts were
    published (preview builds); *now* fixes the moment that decides what is
    scheduled, for tests; *cache* is a file that keeps the posts' parsed front
    matter for the next load (:class:`ParsedFrontMatter`); *review_every* is
    the site's review interval (``kb_review_every`` in ``conf.py``).

    *previous*, the content as an earlier load in this process found it,
    lends its record of each post whose file has not changed since (nor what
    the record depends on): the preview's builds, one after each save, read
    again only the posts saved (:mod:`kb.warm`).  The result is the same.
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
    # A load that takes over reads few posts: reading the cache would cost more (and saving it lose the rest).
    parsed = ParsedFrontMatter(cache if previous is None else None)
    files = posts_folder(site.root, site.refused)
    _load_posts(site, files, tz, now or dt.datetime.now(tz), parsed, previous)
    check_strays(site.root, files, site.problems)
    check_collisions(site.posts, site.problems)
    check_series(site.series, site.posts, site.problems, include_held)
    check_titles(site.posts, site.warnings)
    site.problems.sort()
    site.warnings.sort()
    with contextlib.suppress(OSError):  # a cache that cannot be written only costs time in the next build
        parsed.save()
    return site
