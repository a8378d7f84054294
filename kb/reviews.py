"""Periodic review of posts: who checked a post, when, and when it is next due.

Pure Python (no Sphinx), so that ``make check`` and the build read reviews the
same way.  A post records its reviews in front matter::

    reviewed:
      - {by: BD, on: 2024-03-01}
      - {by: ML, on: 2025-02-10}
    review_every: 12 months     # optional; default from its practice or conf.py

A post is due for review one interval after its last review (or after its
publication, when it has none).  :func:`status` says whether it is current,
due soon, or overdue, and whether it changed after its last review: the first
commit on or after the review's day is taken as the one that records it, so a
post changed after review has a second commit since that day.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Callable, Container
from dataclasses import dataclass
from typing import Any

#: How long before its due date a post counts as "due soon".
DUE_SOON = dt.timedelta(days=30)
#: Units of a review interval, by the forms authors write.
UNITS = {"day": "days", "days": "days", "week": "weeks", "weeks": "weeks", "month": "months", "months": "months"}
UNITS |= {"year": "years", "years": "years"}
_INTERVAL = re.compile(r"^\s*(\d{1,3})\s+([a-z]+)\s*$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
INTERVAL_FIX = "write a whole number and a unit: 6 months, 1 year, 18 months, 26 weeks"


@dataclass(frozen=True)
class Interval:
    """A review interval such as ``12 months``."""

    count: int
    unit: str  # days | weeks | months | years

    def __str__(self) -> str:
        unit = self.unit if self.count != 1 else self.unit[:-1]
        return f"{self.count} {unit}"

    def after(self, day: dt.date) -> dt.date:
        """*day* plus this interval (the 31st plus a month is the month's last day)."""
        if self.unit in ("days", "weeks"):
            return day + dt.timedelta(**{self.unit: self.count})
        months = self.count * (12 if self.unit == "years" else 1)
        year, month = divmod(day.month - 1 + months, 12)
        year += day.year
        return dt.date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


#: The review interval of a site that sets none.
DEFAULT_INTERVAL = Interval(12, "months")


def parse_interval(value: Any) -> Interval | None:
    """``"12 months"`` as an :class:`Interval`; None when it is not one."""
    found = _INTERVAL.match(str(value).lower()) if isinstance(value, str) else None
    if found is None or found.group(2) not in UNITS or int(found.group(1)) < 1:
        return None
    return Interval(int(found.group(1)), UNITS[found.group(2)])


@dataclass(frozen=True)
class Review:
    """One review of a post: who (an author key) and on which day."""

    by: str
    on: dt.date


@dataclass(frozen=True)
class Finding:
    """A problem with a post's reviews: what, and how to fix it (located by the caller)."""

    message: str
    fix: str


#: Says which known names are close to an unknown one ("did you mean 'BD'?").
Suggest = Callable[[str], str]


def parse_reviews(
    value: Any, authors: Container[str], suggest: Suggest, published: dt.date | None, today: dt.date
) -> tuple[tuple[Review, ...], list[Finding]]:
    """The reviews ``reviewed:`` records, oldest first, and what is wrong with them.

    *value* is one ``{by: KEY, on: DATE}`` mapping or a list of them; *authors*
    are the known author keys."""
    entries = value if isinstance(value, list) else [value]
    reviews: list[Review] = []
    findings: list[Finding] = []
    for entry in entries:
        review = parse_review(entry, authors, suggest, published, today, findings)
        if review is not None:
            reviews.append(review)
    return tuple(sorted(reviews, key=lambda r: r.on)), findings


def parse_review(
    entry: Any,
    authors: Container[str],
    suggest: Suggest,
    published: dt.date | None,
    today: dt.date,
    findings: list[Finding],
) -> Review | None:
    """One review, or None with a finding that says why it is not one."""
    shape = "write each review as {by: AUTHOR_KEY, on: YYYY-MM-DD}"
    if isinstance(entry, dict):
        # YAML 1.1 reads a bare ``on`` key as true: take it for the word it is.
        entry = {("on" if key is True else str(key)): value for key, value in entry.items()}
    if not isinstance(entry, dict) or set(entry) != {"by", "on"}:
        findings.append(Finding(f"a review must name who and when, not {entry!r}", shape))
        return None
    by, on = str(entry["by"]).strip(), str(entry["on"]).strip()
    if by not in authors:
        findings.append(Finding(f"unknown reviewer {by!r}", f"{suggest(by)} Reviewers are author keys"))
        return None
    try:
        day = dt.date.fromisoformat(on) if _DATE.match(on) else None
    except ValueError:
        day = None
    if day is None:
        findings.append(Finding(f"review date {on!r} is not a date", "write YYYY-MM-DD, e.g. 2024-03-01"))
        return None
    if day > today:
        findings.append(Finding(f"review date {on} is in the future", "write the day the review was done"))
        return None
    if published is not None and day < published:
        findings.append(
            Finding(f"review date {on} is before the post's date", "a post is reviewed after it is written")
        )
        return None
    return Review(by, day)


@dataclass(frozen=True)
class Status:
    """Where a post stands in its review cycle on a given day."""

    due: dt.date
    state: str  # current | due-soon | overdue
    last: Review | None = None
    #: The post changed (in git) after its last review.
    changed_after_review: bool = False

    @property
    def needs_attention(self) -> bool:
        return self.state != "current" or self.changed_after_review


def status(
    reviews: tuple[Review, ...], every: Interval, published: dt.date, today: dt.date, changes: tuple[dt.date, ...]
) -> Status:
    """The review status of a post published on *published*, whose file changed on the days *changes*."""
    last = reviews[-1] if reviews else None
    due = every.after(last.on if last else published)
    state = "overdue" if due <= today else "due-soon" if due - today <= DUE_SOON else "current"
    since = sum(day >= last.on for day in changes) if last else 0
    return Status(due, state, last, since >= 2)


#: The order of the queue: what needs attention most comes first.
STATE_ORDER = {"overdue": 0, "due-soon": 1, "current": 2}


@dataclass(frozen=True)
class Entry:
    """A post in the review queue."""

    docname: str
    path: str
    title: str
    owner: str  # the key of the post's first author
    status: Status


def queue(posts: list[Any], changes: Callable[[Any], tuple[dt.date, ...]], today: dt.date) -> dict[str, list[Entry]]:
    """Published posts that need attention (overdue, due soon, changed after review), by owner.

    *posts* are the content model's posts; *changes* gives the days a post's
    file changed, when known.  Owners and entries come most urgent first."""
    by_owner: dict[str, list[Entry]] = {}
    for post in posts:
        if post.date is None or not post.authors or post.review_every is None:
            continue
        found = status(post.reviews, post.review_every, post.date.date(), today, changes(post))
        if found.needs_attention:
            entry = Entry(post.docname, post.path, post.title, post.authors[0], found)
            by_owner.setdefault(entry.owner, []).append(entry)
    for entries in by_owner.values():
        entries.sort(key=lambda e: (STATE_ORDER[e.status.state], e.status.due, e.title))
    return dict(sorted(by_owner.items(), key=lambda item: (-len(item[1]), item[0])))


def counts(entries: list[Entry]) -> str:
    """``2 overdue, 1 due within 30 days, 1 changed after review`` (only the non-zero parts)."""
    overdue = sum(e.status.state == "overdue" for e in entries)
    soon = sum(e.status.state == "due-soon" for e in entries)
    changed = sum(e.status.changed_after_review for e in entries)
    parts = [(overdue, "overdue"), (soon, f"due within {DUE_SOON.days} days"), (changed, "changed after review")]
    return ", ".join(f"{n} {what}" for n, what in parts if n) or "nothing due"


def describe(entry: Entry, date_format: str = "%Y-%m-%d", names: dict[str, str] | None = None) -> str:
    """What is due about one post, in words (*names* gives reviewers' names for their keys)."""
    due = entry.status.due.strftime(date_format)
    state = {"overdue": f"overdue since {due}", "due-soon": f"due on {due}", "current": f"next due {due}"}
    text = state[entry.status.state]
    last = entry.status.last
    if last is not None:
        text += f"; last reviewed on {last.on.strftime(date_format)} by {(names or {}).get(last.by, last.by)}"
    else:
        text += "; never reviewed"
    return text + ("; changed after that review" if entry.status.changed_after_review else "")
