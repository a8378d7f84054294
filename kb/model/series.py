"""Series: one page per series in ``series/``, and the checks only a whole series shows."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from kb.model.authors import read_profiles
from kb.model.frontmatter import FrontMatter, check_keys, check_values
from kb.model.schema import (
    SERIES_DIR,
    SERIES_KEYS,
    SERIES_STATUSES,
    Problem,
    did_you_mean,
    fold,
)

if TYPE_CHECKING:
    from kb.model.posts import Post


@dataclass(frozen=True)
class Series:
    key: str
    title: str
    summary: str
    status: str
    path: str
    parts: int | None = None
    #: Line of each front-matter key, for problems found after loading.
    lines: dict[str, int] = field(default_factory=dict, compare=False, hash=False)

    @property
    def docname(self) -> str:
        return f"{SERIES_DIR}/{self.key}"

    def line(self, key: str) -> int:
        return self.lines.get(key, 1)


def _status_and_parts(fm: FrontMatter, problems: list[Problem]) -> tuple[str, int | None] | None:
    """The series' status and planned parts; None (reported) if the status is wrong."""
    status = str(fm.values["status"]).strip()
    if status not in SERIES_STATUSES:
        problems.append(
            Problem(
                fm.path,
                fm.line("status"),
                f"status {status!r} is not ongoing or complete",
                did_you_mean(status, SERIES_STATUSES),
            )
        )
        return None
    parts = fm.values.get("parts")
    if parts is not None and (isinstance(parts, bool) or not isinstance(parts, int) or parts < 1):
        problems.append(Problem(fm.path, fm.line("parts"), f"parts {parts!r} is not a positive whole number", ""))
        parts = None
    if status == "complete" and parts is None:
        problems.append(
            Problem(fm.path, fm.line("status"), "a complete series must say how many parts it has", "add parts: N")
        )
    return status, parts


def load_series(
    root: Path, problems: list[Problem], refused: set[str] | None = None, unreadable: set[str] | None = None
) -> dict[str, Series]:
    """Every sound series page in ``series/``, by key; a problem for each one that is not.

    Pages whose front matter cannot be read are added to *unreadable*: the build leaves them out.
    """
    series: dict[str, Series] = {}
    pages: dict[str, str] = {}
    for path, fm in read_profiles(root, SERIES_DIR, problems, refused, unreadable):
        if not check_keys(fm, SERIES_KEYS, problems):
            continue
        other = pages.setdefault(fold(path.stem), fm.path)
        if other != fm.path:
            problems.append(
                Problem(fm.path, 1, f"series key {path.stem!r} clashes with {other}", "rename one file", "policy")
            )
            continue
        check_values(fm, SERIES_KEYS, problems)  # drops each bad value, reported
        found = _status_and_parts(fm, problems) if {"title", "summary", "status"} <= fm.values.keys() else None
        if found is None:
            continue
        status, parts = found
        title, summary = str(fm.values["title"]).strip(), str(fm.values["summary"]).strip()
        series[path.stem] = Series(path.stem, title, summary, status, fm.path, parts, lines=dict(fm.lines))
    return series


def _check_parts(key: str, members: list[Post], problems: list[Problem]) -> dict[int, Post]:
    """Each part claimed once: the members by part number."""
    by_part: dict[int, Post] = {}
    for post in sorted(members, key=lambda p: p.path):
        number = post.part or 0
        if number not in by_part:
            by_part[number] = post
            continue
        problems.append(
            Problem(
                post.path,
                post.line("part"),
                f"part {number} of series {key!r} is also claimed by {by_part[number].path}",
                "give each part its own number",
                kind="series",
            )
        )
    return by_part


def _at_part(post: Post, message: str, fix: str) -> Problem:
    """A series problem reported at a post's ``part:`` line."""
    return Problem(post.path, post.line("part"), message, fix, kind="series")


def _check_gaps(key: str, by_part: dict[int, Post], problems: list[Problem]) -> None:
    missing = [n for n in range(1, max(by_part)) if n not in by_part]
    if not missing:
        return
    after = min(n for n in by_part if n > missing[0])
    gap = " and ".join(", ".join(map(str, missing)).rsplit(", ", 1))
    many = len(missing) > 1
    problems.append(
        _at_part(
            by_part[after],
            f"series {key!r} jumps to part {after}: part{'s' if many else ''} {gap} {'are' if many else 'is'} missing",
            f"renumber the parts 1, 2, 3... or publish part {missing[0]}",
        )
    )


def _check_complete(key: str, series: Series, by_part: dict[int, Post], problems: list[Problem]) -> None:
    """A complete series has its last part, and none beyond it."""
    if series.status != "complete" or not series.parts:
        return
    if series.parts not in by_part:
        problems.append(
            Problem(
                series.path,
                series.line("parts"),
                f"complete series {key!r} has no published part {series.parts} (its last part)",
                "publish the last part, or set 'status: ongoing'",
                kind="series",
            )
        )
    for number in sorted(n for n in by_part if n > series.parts):
        problems.append(
            _at_part(
                by_part[number],
                f"part {number} is beyond the {series.parts} parts of complete series {key!r}",
                f"set 'parts: {max(by_part)}' in {series.path}, or renumber this post",
            )
        )


def check_series(
    series: dict[str, Series], posts: dict[str, Post], problems: list[Problem], include_held: bool
) -> None:
    """Problems only the whole series shows: a part claimed twice, a gap, a missing last part."""
    members: dict[str, list[Post]] = {}
    for post in posts.values():
        if post.series and (post.published or include_held):
            members.setdefault(post.series, []).append(post)
    for key, one in series.items():
        by_part = _check_parts(key, members.get(key, []), problems)
        if by_part:
            _check_gaps(key, by_part, problems)
            _check_complete(key, one, by_part, problems)
