"""What front matter may hold: keys, types, limits, and how a problem is told.

Every value of every front matter is checked here against :data:`FIELDS`
before any other part of the model reads it: a value of the wrong type, too
long, or holding markup where plain text is expected is reported and dropped,
so the rest of the model only ever sees text, lists and numbers it can trust.
"""

from __future__ import annotations

import datetime as dt
import difflib
import functools
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

#: Where each kind of content lives, relative to the site's root.
POSTS_DIR, AUTHORS_DIR, SERIES_DIR = "posts", "authors", "series"
VOCABULARY_FILE = "vocabulary.yaml"

#: Front-matter keys: name -> (required, what it holds).  The authoring guide
#: documents this table; ``make check`` and the build enforce it.
POST_KEYS: dict[str, tuple[bool, str]] = {
    "title": (True, "the post's title (plain text)"),
    "date": (True, "publication date, ISO 8601: 2023-05-08 or 2023-05-08T09:30+02:00"),
    "updated": (False, "date of the last substantial update, ISO 8601"),
    "author": (True, "author key(s) from authors/: MR, or [MR, CM], or 'MR, CM'"),
    "tags": (True, "tags from vocabulary.yaml, a list or a comma string"),
    "practice": (True, "the practice area, from vocabulary.yaml"),
    "series": (False, "series key from series/ (needs part)"),
    "part": (False, "part number in the series, 1, 2, 3... (needs series)"),
    "summary": (False, "one or two sentences for listings (default: first paragraph)"),
    "draft": (False, "true keeps the post out of the published site"),
    "reviewed": (False, "who reviewed the post and when: {by: BD, on: 2024-03-01}, or a list of them"),
    "review_every": (False, "how often the post is due for review: 12 months (default: its practice's, or the site's)"),
}
#: ABlog front matter the site refuses, and why (ABlog never sees a post's front matter).
UNSUPPORTED_POST_KEYS = {
    "redirect": "ABlog's redirect writes a page at any path it names (even over the home page or outside the "
    "output folder), so it is not supported: keep a moved post's file name instead",
    "external_link": "a post is published here, not linked elsewhere: put the link in the body",
    "canonical_link": "every page's canonical address derives from the site URL: remove the key",
    "blogpost": "every file in posts/ is a post: remove the key",
}
AUTHOR_KEYS: dict[str, tuple[bool, str]] = {
    "name": (True, "full name as it should be printed"),
    "role": (False, "job title, default 'Consultant'"),
    "practice": (False, "practice area from vocabulary.yaml"),
    "expertise": (False, "list of topics"),
    "photo": (False, "image file, relative to the profile file"),
    "links": (False, "mapping of label to https:// or mailto: URL"),
}
SERIES_KEYS: dict[str, tuple[bool, str]] = {
    "title": (True, "the series' title"),
    "summary": (True, "one sentence shown in listings"),
    "status": (True, "ongoing or complete"),
    "parts": (False, "planned number of parts (required when complete)"),
}
SERIES_STATUSES = ("ongoing", "complete")
#: The type of each key above, for the authoring guide's schema tables.
KEY_TYPES: dict[str, str] = {
    "title": "text",
    "date": "date",
    "updated": "date",
    "author": "author key, or list of keys",
    "tags": "list of tag names",
    "practice": "practice name",
    "series": "series key",
    "part": "whole number from 1",
    "summary": "text",
    "draft": "true or false",
    "name": "text",
    "role": "text",
    "expertise": "list of text",
    "photo": "file path",
    "links": "mapping of label to URL",
    "status": "ongoing or complete",
    "parts": "whole number from 1",
    "reviewed": "review, or list of reviews",
    "review_every": "interval",
    "description": "text",
    "aliases": "list of text",
}
#: One right way to write each key, for the fix of a value of the wrong type.
EXAMPLES: dict[str, str] = {
    "title": 'title: "Myth 3: Validation"',
    "date": "date: 2023-05-08",
    "updated": "updated: 2023-05-08",
    "author": "author: MR, or [MR, CM]",
    "tags": "tags: [GMP, Training]",
    "practice": "practice: Quality Systems",
    "series": "series: quality-myths",
    "part": "part: 3",
    "summary": 'summary: "One or two sentences."',
    "name": 'name: "Mark Roache"',
    "role": 'role: "VP, Quality"',
    "expertise": "expertise: [Cell and gene therapy, Quality culture]",
    "photo": "photo: mr.jpg",
    "links": "links: then one line per link, indented: LinkedIn: https://...",
    "status": "status: ongoing",
    "reviewed": "reviewed: {by: BD, on: 2024-03-01}",
    "review_every": "review_every: 12 months",
    "description": 'description: "One sentence."',
    "aliases": "aliases: [audit, audits]",
}

#: Bounds on one post, so that one file cannot multiply into huge pages and
#: feeds (each tag and the author get a page and a feed listing the post).
MAX_POST_BYTES = 200_000
MAX_TAGS = 8

#: Bounds on front matter, checked before it is parsed (size, depth) and before
#: anything reads a value (length, items).  A title is printed on every page
#: that lists the post, so 1 MB of title would become tens of MB of site.
MAX_FRONT_MATTER_BYTES = 20_000
#: Levels of lists and mappings, counting the front matter itself: the deepest
#: value the schema knows is a vocabulary entry's list of aliases (4).
MAX_DEPTH = 6
#: Items in one list or mapping (tags, authors, expertise, links, aliases).
MAX_ITEMS = 20
#: Characters of a short text (a title, a name); of a long one (a summary).
SHORT_TEXT, LONG_TEXT = 300, 3000


@dataclass(frozen=True)
class Field:
    """How one front-matter key is checked: its YAML shape, its length, and
    whether it is plain text (no Markdown or HTML: it is shown as written)."""

    shape: str  # text | date | whole | boolean | text-or-list | mapping | records
    limit: int = SHORT_TEXT
    #: Refuse markup (titles, see :data:`MARKUP`).  Every other text is shown
    #: as written, escaped, on every page, feed and search entry.
    plain: bool = False


#: Every key of every schema above, and the vocabulary's, by name.
FIELDS: dict[str, Field] = {
    "title": Field("text", plain=True),
    "date": Field("date", 40),
    "updated": Field("date", 40),
    "author": Field("text-or-list", 100),
    "tags": Field("text-or-list", 100),
    "practice": Field("text", 100),
    "series": Field("text", 100),
    "part": Field("whole"),
    "summary": Field("text", LONG_TEXT),
    "draft": Field("boolean"),
    "name": Field("text"),
    "role": Field("text"),
    "expertise": Field("text-or-list"),
    "photo": Field("text"),
    "links": Field("mapping", 2000),
    "status": Field("text", 40),
    "parts": Field("whole"),
    "reviewed": Field("records", 100),
    "review_every": Field("text", 40),
    "description": Field("text", 1000),
    "aliases": Field("text-or-list", 100),
}

#: Files that may sit in posts/ next to the posts: their figures and downloads.
#: Anything else there (a .rst, a .MD, a .txt) would silently not be published.
ASSET_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp", ".pdf", ".csv", ".xlsx", ".docx"})

#: Markup in a title: an HTML tag, a Markdown link or image, emphasis, code, a
#: MyST role or substitution.  A title is rendered as Markdown in its page's
#: heading but read as text in listings, feeds and search, so markup in it
#: would be live in one place and literal in another.  Character references
#: (``&lt;``) stay allowed: they are how a title shows ``<``, the same everywhere.
MARKUP = re.compile(
    r"<[A-Za-z!/?]"  # <b>, <!--, </i>, <https://...>
    r"|!?\[[^\]]*\]\("  # [text](url), ![alt](url)
    r"|\*\*|__"  # **bold**, __bold__
    r"|(?:^|\s)[*_][^\s*_]"  # *emphasis*, _emphasis_
    r"|`|\{\{"  # `code`, {role}`x`, {{ substitution }}
)

_ISO_DATE = re.compile(
    r"^\d{4}-\d{2}-\d{2}"
    r"(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$"
)


def printable(text: str) -> str:
    """*text* with every control character, surrogate and unassigned code point
    escaped, so that printing a problem never fails and never garbles a terminal."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() or c == " " else ascii(c)[1:-1] for c in text)


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with the content, as ``file:line: message (fix)``.

    Path, message and fix are made printable when the problem is made: they
    may quote a file name or a value holding any character.
    """

    path: str
    line: int
    message: str
    fix: str = ""
    kind: str = "content"

    def __post_init__(self) -> None:
        for name in ("path", "message", "fix"):
            object.__setattr__(self, name, printable(getattr(self, name)))

    def __str__(self) -> str:
        fix = f" Fix: {self.fix}" if self.fix else ""
        return f"{self.path}:{self.line}: {self.message}.{fix}"

    def as_warning(self) -> str:
        """The problem as a warning: worth a look, but not wrong."""
        fix = f" Fix: {self.fix}" if self.fix else ""
        return f"{self.path}:{self.line}: warning: {self.message}.{fix}"


# -- names -------------------------------------------------------------------


def slugify(text: str) -> str:
    """Page name of a tag or practice; the same rule ABlog applies to its pages
    (``ablog.blog.slugify``: tests/test_model.py checks that they agree)."""
    text = unicodedata.normalize("NFKD", str(text))
    text = re.sub(r"[^\w\s-]", "", text).strip().lower()
    return re.sub(r"[-\s]+", "-", text)


@functools.cache  # called for every author of every post: keep each name's form
def fold(text: str) -> str:
    """Case-, accent- and space-insensitive form of a name, for matching."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(text.casefold().split())


def did_you_mean(value: str, choices: list[str] | dict[str, Any] | tuple[str, ...]) -> str:
    """``did you mean 'X'?`` for the closest known names, or a list of them all."""
    names = list(choices)
    by_fold = {fold(n): n for n in names}
    close = difflib.get_close_matches(fold(value), list(by_fold), n=3, cutoff=0.6)
    if close:
        return "did you mean " + " or ".join(repr(by_fold[c]) for c in close) + "?"
    shown = ", ".join(repr(n) for n in sorted(names)[:12])
    return f"known values: {shown}" + (", ..." if len(names) > 12 else "") + "."


#: Keys that other blog engines use (and their typos), with the key that means the same here.
FOREIGN_KEYS = {
    "authors": "author",
    "category": "practice",
    "categories": "practice",
    "description": "summary",
    "excerpt": "summary",
    "modified": "updated",
    "published": "date",
    "tag": "tags",
}


def key_hint(key: str, schema: dict[str, tuple[bool, str]]) -> str:
    """Did-you-mean for an unknown key, knowing that ``category`` (or a typo of it) means ``practice`` here."""
    foreign = difflib.get_close_matches(fold(key), list(FOREIGN_KEYS), n=1, cutoff=0.8)
    if foreign and FOREIGN_KEYS[foreign[0]] in schema:
        return f"did you mean {FOREIGN_KEYS[foreign[0]]!r}?"
    return did_you_mean(key, schema)


# -- values --------------------------------------------------------------------


def parse_date(value: Any, tz: dt.tzinfo) -> dt.datetime | None:
    """Strict ISO 8601 date or date-time; naive values are in *tz*. None if invalid."""
    text = value.isoformat() if isinstance(value, dt.datetime | dt.date) else str(value).strip()
    if not _ISO_DATE.match(text):
        return None
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)


def split_list(value: Any) -> list[Any] | None:
    """A YAML list or a comma string as a list; None for anything else."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",")]
    if isinstance(value, list):
        return [v.strip() if isinstance(v, str) else v for v in value]
    return None


def is_text(value: Any) -> bool:
    """Text as front matter may write it: a string, or a number written bare (``title: 1984``)."""
    return isinstance(value, str | int | float) and not isinstance(value, bool)


def text_problem(key: str, value: Any, field: Field) -> tuple[str, str, str] | None:
    """(message, fix, kind) if *value* is not acceptable text for *key*, else None."""
    if not is_text(value):
        return (
            f"{key} must be text, not {describe(value)}",
            f"write it as {EXAMPLES.get(key, key + ': ...')}",
            "content",
        )
    text = str(value)
    if len(text) > field.limit:
        return (
            f"{key} is {len(text):,} characters long, over the limit of {field.limit:,}",
            "shorten it" + (": the body holds the details" if key == "summary" else ""),
            "content",
        )
    if not text.isprintable() and (bad := next((c for c in text if not c.isprintable() and c not in "\n\r\t"), None)):
        return (
            f"{key} {shorten(text)!r} holds the invisible or invalid character {bad!r}",
            "delete it; write an emoji or accent as the character itself, not as a \\u escape",
            "content",
        )
    if field.plain and (found := MARKUP.search(text)):
        mark = found.group().strip()
        language = "HTML" if mark[0] in "<&" else "Markdown"
        return (
            f"the {key} {shorten(text)!r} contains {language} ({mark!r})",
            "titles are plain text: remove the markup (formatting belongs in the body); write &lt; to show <",
            "policy",
        )
    return None


def shape_problem(key: str, value: Any, field: Field) -> tuple[str, str, str] | None:
    """(message, fix, kind) if *value* has the wrong type or size for *key*, else None."""
    if field.shape in ("text", "text-or-list") and is_text(value):
        return text_problem(key, value, field)
    many = (field.shape == "text-or-list" and isinstance(value, list)) or (
        field.shape == "mapping" and isinstance(value, dict)
    )
    if many and len(value) > MAX_ITEMS:
        return (
            f"{key} has {len(value)} entries, over the limit of {MAX_ITEMS}",
            "keep the ones that matter most",
            "content",
        )
    if many:
        texts = [t for pair in value.items() for t in pair] if isinstance(value, dict) else value
        return next((found for t in texts if t is not None and (found := text_problem(key, t, field))), None)
    if field.shape == "records" and isinstance(value, dict | list):
        return _records_problem(key, value, field)
    if field.shape == "date" and (is_text(value) or isinstance(value, dt.date)):
        return text_problem(key, value, field) if isinstance(value, str) else None  # parse_date tells a bad date
    if field.shape in ("whole", "boolean") and not isinstance(value, list | dict):
        return None  # the value's own check says which number or truth value it must be
    return (
        f"{key} must be {KEY_TYPES.get(key, 'text')}, not {describe(value)}",
        f"write it as {EXAMPLES.get(key, key + ': ...')}",
        "content",
    )


def _records_problem(key: str, value: dict | list, field: Field) -> tuple[str, str, str] | None:
    """Records (``reviewed:``) are bounded here; their own parser checks what they say."""
    records = value if isinstance(value, list) else [value]
    if len(records) > MAX_ITEMS:
        return f"{key} has {len(records)} entries, over the limit of {MAX_ITEMS}", "keep the latest ones", "content"
    for record in records:
        texts = [t for pair in record.items() for t in pair] if isinstance(record, dict) else [record]
        found = next((p for t in texts if isinstance(t, str) and (p := text_problem(key, t, field))), None)
        if found:
            return found
    return None


def describe(value: Any) -> str:
    """A short name for a YAML value's type, for messages."""
    if isinstance(value, bool):
        return f"{str(value).lower()} (true or false)"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if value is None:
        return "nothing"
    if isinstance(value, str):
        return repr(shorten(value))
    return repr(value)


def shorten(text: str, width: int = 60) -> str:
    """The start of *text*, for quoting a long value in a message."""
    return text if len(text) <= width else text[: width - 3] + "..."
