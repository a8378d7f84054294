"""Posts: one Markdown file each in ``posts/``, its front matter checked and normalised.

A post's record (:class:`Post`) holds what every page that shows the post
needs: canonical author keys, tags and practice, the (series, part) it
belongs to, a timezone-aware date, and whether it is published, a draft or
scheduled.  Checks that need every post (two posts with one page or one title)
are here too.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from kb import reviews
from kb.model.authors import Author, profile_files
from kb.model.files import files_below
from kb.model.frontmatter import FrontMatter, ParsedFrontMatter, check_keys, check_values, read_front_matter
from kb.model.schema import (
    ASSET_SUFFIXES,
    AUTHORS_DIR,
    MAX_POST_BYTES,
    MAX_TAGS,
    POST_KEYS,
    POSTS_DIR,
    SERIES_DIR,
    VOCABULARY_FILE,
    Problem,
    did_you_mean,
    fold,
    parse_date,
    split_list,
)
from kb.model.vocabulary import Lookup, Term


class Declared(Protocol):
    """What a post is read against (the site, :class:`kb.model.Site`): its authors, series and
    practices, its review interval, and the list its problems go to."""

    @property
    def authors(self) -> dict[str, Author]: ...
    @property
    def series(self) -> dict[str, Any]: ...
    @property
    def practices(self) -> dict[str, Term]: ...
    @property
    def review_every(self) -> reviews.Interval: ...
    @property
    def problems(self) -> list[Problem]: ...


@dataclass(frozen=True)
class Post:
    docname: str
    path: str
    title: str
    date: dt.datetime | None
    authors: tuple[str, ...]
    tags: tuple[str, ...]
    practice: str | None
    status: str = "published"  # published | draft | scheduled | invalid (left out of the build)
    updated: dt.datetime | None = None
    series: str | None = None
    part: int | None = None
    summary: str | None = None
    #: Reviews, oldest first, and how often the post is due for one.
    reviews: tuple[reviews.Review, ...] = ()
    review_every: reviews.Interval | None = None
    #: Line of each front-matter key, for problems found after loading
    #: (two posts claiming one part, a gap in a series).
    lines: dict[str, int] = field(default_factory=dict, compare=False, hash=False)

    @property
    def published(self) -> bool:
        return self.status == "published"

    def line(self, key: str) -> int:
        return self.lines.get(key, 1)


def invalid_post(root: Path, path: Path) -> Post:
    """The record of a post whose front matter cannot be read: the build leaves it out."""
    rel = path.relative_to(root)
    return Post(rel.with_suffix("").as_posix(), rel.as_posix(), "", None, (), (), None, "invalid")


# -- one post's values -------------------------------------------------------------


class _Authors:
    """Author keys, with the spellings a post might use instead (names, another case)."""

    def __init__(self, authors: dict[str, Author], root: Path | None) -> None:
        self.authors = authors
        self.by_name = {fold(a.name): a.key for a in authors.values()}
        self.by_key = {fold(k): k for k in authors}
        self.root = root

    def problem(self, value: str) -> tuple[str, str] | None:
        """(message, fix) if *value* is not an author key, else None."""
        if value in self.authors:
            return None
        if fold(value) in self.by_name:
            return f"{value!r} is a name, not an author key", f"write {self.by_name[fold(value)]!r}"
        if fold(value) in self.by_key:
            return f"unknown author {value!r}", f"did you mean {self.by_key[fold(value)]!r}? Keys are case-sensitive"
        if self.root is not None and value in {p.stem for p in profile_files(self.root, AUTHORS_DIR)}:
            return f"author {value!r} has no valid profile", f"fix the problems reported for {AUTHORS_DIR}/{value}.md"
        hint = did_you_mean(value, self.authors)
        return (
            f"unknown author {value!r}",
            f"{hint}{'' if hint.endswith(('?', '.')) else '.'} Or add {AUTHORS_DIR}/{value}.md",
        )


def _post_authors(
    fm: FrontMatter, authors: dict[str, Author], problems: list[Problem], root: Path | None = None
) -> list[str]:
    raw = fm.values.get("author")
    line = fm.line("author")
    if isinstance(raw, str) and not raw.strip():
        return []  # check_keys has reported it as missing
    values = split_list(raw)
    if values is None:
        problems.append(Problem(fm.path, line, f"author must be a key or a list of keys, not {raw!r}", "author: MR"))
        return []
    if not values:
        problems.append(Problem(fm.path, line, "the post has no author: the list is empty", "author: MR, or [MR, CM]"))
        return []
    known = _Authors(authors, root)
    keys: list[str] = []
    for value in values:
        if value is None or (isinstance(value, str) and not value):
            problems.append(Problem(fm.path, line, "empty author in the list", "remove it or write an author key"))
        elif found := known.problem(str(value)):
            problems.append(Problem(fm.path, line, *found))
        elif str(value) not in keys:
            keys.append(str(value))
    return keys


def _post_terms(
    fm: FrontMatter, key: str, lookup: Lookup, problems: list[Problem], *, single: bool = False
) -> list[str]:
    raw = fm.values.get(key)
    if raw is None:
        return []
    line = fm.line(key)
    values = [raw] if single and isinstance(raw, str) else split_list(raw)
    if values is None or (single and len(values) != 1):
        shape = "one name" if single else "a list or a comma string"
        problems.append(Problem(fm.path, line, f"{key} must be {shape}, not {raw!r}", ""))
        return []
    found: list[str] = []
    for value in values:
        if value is None or not str(value).strip():
            problems.append(Problem(fm.path, line, f"empty entry in {key}", "remove it"))
            continue
        canonical = lookup(str(value))
        if canonical is None:
            what = "practice" if key == "practice" else "tag"
            hint = f"{lookup.suggest(str(value))} Or add it to {VOCABULARY_FILE}"
            problems.append(Problem(fm.path, line, f"unknown {what} {value!r}", hint))
        elif canonical not in found:
            found.append(canonical)
    if len(found) > MAX_TAGS and key == "tags":
        problems.append(
            Problem(
                fm.path,
                line,
                f"{len(found)} tags, over the limit of {MAX_TAGS}",
                f"keep the {MAX_TAGS} that describe the post best",
                "policy",
            )
        )
    return found


def _dates(fm: FrontMatter, tz: dt.tzinfo, problems: list[Problem]) -> tuple[dt.datetime | None, dt.datetime | None]:
    """The post's date and date of update, strictly ISO 8601."""
    dates: dict[str, dt.datetime | None] = {"date": None, "updated": None}
    for key in dates:
        raw = fm.values.get(key)
        if raw is None:
            continue
        dates[key] = parse_date(raw, tz)
        if dates[key] is None:
            problems.append(
                Problem(
                    fm.path,
                    fm.line(key),
                    f"{key} {str(raw)!r} is not an ISO 8601 date",
                    "write YYYY-MM-DD, e.g. 2023-05-08, optionally with a time: 2023-05-08T09:30+02:00",
                )
            )
    date, updated = dates["date"], dates["updated"]
    if date and updated and updated < date:
        problems.append(Problem(fm.path, fm.line("updated"), "updated is before date", "correct one of them"))
    return date, updated


def _series_and_part(fm: FrontMatter, known: dict[str, Any], problems: list[Problem]) -> tuple[str | None, int | None]:
    """The (series, part) the post belongs to, or (None, None); each mismatch reported."""
    raw, part = fm.values.get("series"), fm.values.get("part")
    series = str(raw).strip() if raw is not None else None
    found: list[tuple[str, str, str]] = []
    if series is not None and series not in known:
        found.append(
            ("series", f"unknown series {series!r}", f"{did_you_mean(series, known)} Or add {SERIES_DIR}/{series}.md")
        )
        series = None
    elif series is not None and part is None:
        found.append(
            ("series", f"series {series!r} without a part", "add 'part: N' with this post's place in the series")
        )
    if part is not None and (isinstance(part, bool) or not isinstance(part, int) or part < 1):
        found.append(
            (
                "part",
                f"part {part!r} is not a positive whole number",
                "write the part's place in the series as 1, 2, 3...",
            )
        )
        part = None
    elif part is not None and raw is None:
        found.append(
            (
                "part",
                f"part {part} without a series",
                f"add 'series: <key>' naming a file in {SERIES_DIR}/, or remove 'part'",
            )
        )
    for key, message, fix in found:
        problems.append(Problem(fm.path, fm.line(key), message, fix, kind="series"))
    return (series, part) if series and part else (None, None)


def _post_reviews(
    fm: FrontMatter, site: Declared, practice: str | None, date: dt.datetime | None, today: dt.date
) -> tuple[tuple[reviews.Review, ...], reviews.Interval]:
    """The post's reviews and review interval (its own, else its practice's, else the site's)."""
    problems = site.problems
    found: tuple[reviews.Review, ...] = ()
    if fm.values.get("reviewed") is not None:
        published = date.date() if date else None
        suggest = functools.partial(did_you_mean, choices=site.authors)
        found, findings = reviews.parse_reviews(fm.values["reviewed"], site.authors, suggest, published, today)
        problems += [Problem(fm.path, fm.line("reviewed"), f.message, f.fix, "review") for f in findings]
    term = site.practices.get(practice) if practice else None
    every = (term.review_every if term else None) or site.review_every
    if fm.values.get("review_every") is not None:
        own = reviews.parse_interval(fm.values["review_every"])
        if own is None:
            bad = fm.values["review_every"]
            message = f"review_every {bad!r} is not an interval"
            problems.append(Problem(fm.path, fm.line("review_every"), message, reviews.INTERVAL_FIX, "review"))
        every = own or every
    return found, every


def _status(draft: bool, date: dt.datetime | None, now: dt.datetime) -> str:
    if draft:
        return "draft"
    return "scheduled" if date is not None and date > now else "published"


def _draft(fm: FrontMatter, problems: list[Problem]) -> bool:
    draft = fm.values.get("draft", False)
    if isinstance(draft, bool):
        return draft
    problems.append(Problem(fm.path, fm.line("draft"), f"draft must be true or false, not {draft!r}", ""))
    return True


# -- one post's body ---------------------------------------------------------------


def check_size(fm: FrontMatter, problems: list[Problem]) -> None:
    size = len(fm.body.encode("utf-8", "surrogatepass"))
    if size > MAX_POST_BYTES:
        problems.append(
            Problem(
                fm.path,
                1,
                f"the post is {size // 1000} KB, over the limit of {MAX_POST_BYTES // 1000} KB",
                "split it into a series of shorter posts, or move large tables and data into linked files",
                "policy",
            )
        )


def load_post(
    root: Path,
    path: Path,
    site: Declared,
    tags: Lookup,
    practices: Lookup,
    tz: dt.tzinfo,
    now: dt.datetime,
    text: str | None = None,
    parsed: ParsedFrontMatter | None = None,
) -> Post | None:
    """The record of one post, its problems added to *site*'s; None if its front matter cannot be read.

    A post whose front matter holds a value of the wrong type or size, or
    markup in plain text, is recorded as ``invalid``: the build leaves it out.
    """
    problems = site.problems
    fm = read_front_matter(root, path, problems, text, parsed)
    if fm is None:
        return None
    check_keys(fm, POST_KEYS, problems)
    sound = check_values(fm, POST_KEYS, problems)
    check_size(fm, problems)
    date, updated = _dates(fm, tz, problems)
    series, part = _series_and_part(fm, site.series, problems)
    summary = fm.values.get("summary")
    practice = next(iter(_post_terms(fm, "practice", practices, problems, single=True)), None)
    post_reviews, review_every = _post_reviews(fm, site, practice, date, now.date())
    return Post(
        docname=path.relative_to(root).with_suffix("").as_posix(),
        path=fm.path,
        title=str(fm.values.get("title") or "").strip(),
        date=date,
        authors=tuple(_post_authors(fm, site.authors, problems, root) if fm.values.get("author") is not None else ()),
        tags=tuple(_post_terms(fm, "tags", tags, problems)),
        practice=practice,
        status=_status(_draft(fm, problems), date, now) if sound else "invalid",
        updated=updated,
        series=series,
        part=part,
        summary=str(summary).strip() if summary else None,
        reviews=post_reviews,
        review_every=review_every,
        lines=dict(fm.lines),
    )


# -- checks across posts -----------------------------------------------------------


def posts_folder(root: Path, refused: set[str]) -> list[Path]:
    """Every file below ``posts/``, without refused links and what lies in refused folders."""
    return files_below(root, POSTS_DIR, refused)


def check_strays(root: Path, files: list[Path], problems: list[Problem]) -> None:
    """A file in posts/ that is neither a post nor a figure would silently go unpublished."""
    for path in files:
        if path.suffix == ".md":
            continue
        rel = path.relative_to(root)
        if path.suffix.lower() in ASSET_SUFFIXES or any(p.startswith(".") for p in rel.parts):
            continue
        problems.append(
            Problem(
                rel.as_posix(),
                1,
                f"{path.name!r} is not a post: only .md files in {POSTS_DIR}/ are published",
                f"rename it to {path.stem}.md if it is a post, or move it out of {POSTS_DIR}/",
                "policy",
            )
        )


def post_label(docname: str) -> str:
    """The label ABlog gives a post: its file name, or its folder's name for index.md."""
    folder, _, name = docname.rpartition("/")
    return folder.rpartition("/")[2] if name == "index" else name


def check_collisions(posts: dict[str, Post], problems: list[Problem]) -> None:
    """Two posts must not share an output file or ABlog's label (one would replace the other)."""
    pages: dict[str, str] = {}
    labels: dict[str, str] = {}
    for post in sorted(posts.values(), key=lambda p: p.path):
        for seen, key, what in (
            (pages, fold(post.docname), "output page (file names differ only in case)"),
            (labels, post_label(post.docname), f"label {post_label(post.docname)!r} (the same file name)"),
        ):
            other = seen.setdefault(key, post.path)
            if other != post.path:
                problems.append(
                    Problem(post.path, 1, f"this post and {other} share the {what}", "rename one of them", "policy")
                )


def check_titles(posts: dict[str, Post], warnings: list[Problem]) -> None:
    """Two posts with one title are listed side by side and cannot be told apart: a warning."""
    seen: dict[str, Post] = {}
    for post in sorted(posts.values(), key=lambda p: p.path):
        if not post.title or post.status == "invalid":
            continue
        other = seen.setdefault(fold(post.title), post)
        if other is not post:
            warnings.append(
                Problem(
                    post.path,
                    post.line("title"),
                    f"this post has the same title as {other.path} ({post.title!r})",
                    "give each post a title of its own, e.g. with the part or the year",
                    "title",
                )
            )
