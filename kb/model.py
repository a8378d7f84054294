"""The content model: posts, authors, series and the vocabulary, read and checked.

Pure Python (no Sphinx import), so that ``make check`` and the Sphinx build run
exactly the same code.  Every problem becomes a :class:`Problem` naming the file,
the line where there is one, and the fix; nothing raises on bad input.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import difflib
import functools
import hashlib
import os
import pickle
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from kb import reviews

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
}

#: Bounds on one post, so that one file cannot multiply into huge pages and
#: feeds (each tag and the author get a page and a feed listing the post).
MAX_POST_BYTES = 200_000
MAX_TAGS = 8

#: Files that may sit in posts/ next to the posts: their figures and downloads.
#: Anything else there (a .rst, a .MD, a .txt) would silently not be published.
ASSET_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp", ".pdf", ".csv", ".xlsx", ".docx"})

#: A tag in a title: titles are Markdown, so it would become raw HTML.
_HTML_TAG = re.compile(r"<[A-Za-z!/?]")

_ISO_DATE = re.compile(
    r"^\d{4}-\d{2}-\d{2}"
    r"(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$"
)


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with the content, as ``file:line: message (fix)``."""

    path: str
    line: int
    message: str
    fix: str = ""
    kind: str = "content"

    def __str__(self) -> str:
        fix = f" Fix: {self.fix}" if self.fix else ""
        return f"{self.path}:{self.line}: {self.message}.{fix}"


@dataclass(frozen=True)
class Term:
    """A tag or a practice of the controlled vocabulary."""

    name: str
    slug: str
    description: str
    aliases: tuple[str, ...] = ()
    #: How often posts of this practice are due for review (practices only).
    review_every: reviews.Interval | None = None


@dataclass(frozen=True)
class Author:
    key: str
    name: str
    role: str
    path: str
    practice: str | None = None
    expertise: tuple[str, ...] = ()
    photo: str | None = None
    links: tuple[tuple[str, str], ...] = ()

    @property
    def docname(self) -> str:
        return f"{AUTHORS_DIR}/{self.key}"

    @property
    def initials(self) -> str:
        words = [w for w in re.split(r"[\s.,]+", self.name) if w and w[0].isupper()]
        return "".join(w[0] for w in words[:2]) or self.key[:2].upper()


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


@dataclass(frozen=True)
class Post:
    docname: str
    path: str
    title: str
    date: dt.datetime | None
    authors: tuple[str, ...]
    tags: tuple[str, ...]
    practice: str | None
    status: str = "published"  # published | draft | scheduled
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


@dataclass
class Site:
    """Everything the content declares, after validation and normalisation."""

    root: Path
    posts: dict[str, Post] = field(default_factory=dict)
    authors: dict[str, Author] = field(default_factory=dict)
    series: dict[str, Series] = field(default_factory=dict)
    tags: dict[str, Term] = field(default_factory=dict)
    practices: dict[str, Term] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    #: How often a post is due for review unless its practice or front matter says otherwise.
    review_every: reviews.Interval = reviews.DEFAULT_INTERVAL

    @property
    def published(self) -> list[Post]:
        """Published posts, newest first (ties broken by title, as ABlog does)."""
        # A post whose date is missing or invalid has been reported; it cannot be ordered.
        posts = [p for p in self.posts.values() if p.published and p.date is not None]
        return sorted(posts, key=lambda p: (p.date, p.title), reverse=True)

    @property
    def held(self) -> list[Post]:
        held = (p for p in self.posts.values() if p.status in ("draft", "scheduled"))
        return sorted(held, key=lambda p: p.path)

    def parts(self, key: str) -> list[Post]:
        """The published parts of series *key*, in order."""
        parts = [p for p in self.posts.values() if p.series == key and p.published]
        return sorted(parts, key=lambda p: p.part or 0)


# -- helpers -----------------------------------------------------------------


def slugify(text: str) -> str:
    """Page name of a tag or practice; the same rule ABlog applies to its pages."""
    text = unicodedata.normalize("NFKD", str(text))
    text = re.sub(r"[^\w\s-]", "", text).strip().lower()
    return re.sub(r"[-\s]+", "-", text)


@functools.cache  # called for every author of every post: keep each name's form
def fold(text: str) -> str:
    """Case-, accent- and space-insensitive form of a name, for matching."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(text.casefold().split())


def did_you_mean(value: str, choices: list[str] | dict[str, Any]) -> str:
    """``did you mean 'X'?`` for the closest known names, or a list of them all."""
    names = list(choices)
    by_fold = {fold(n): n for n in names}
    close = difflib.get_close_matches(fold(value), list(by_fold), n=3, cutoff=0.6)
    if close:
        return "did you mean " + " or ".join(repr(by_fold[c]) for c in close) + "?"
    shown = ", ".join(repr(n) for n in sorted(names)[:12])
    return f"known values: {shown}" + (", ..." if len(names) > 12 else "") + "."


class _Loader(yaml.SafeLoader):
    """Safe YAML that keeps dates as text, so that we parse them strictly."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class _FastLoader(getattr(yaml, "CSafeLoader", _Loader)):  # type: ignore[misc]
    """The same with libyaml's parser: five times faster on every post of every
    build; bad YAML is parsed again with :class:`_Loader` for its messages."""


_FastLoader.yaml_implicit_resolvers = _Loader.yaml_implicit_resolvers


NO_ALIASES = "YAML anchors and aliases (&, *) are not supported"


def _has_aliases(node: yaml.Node) -> bool:
    """True when a node is reached twice (``*alias``): a few lines could expand to gigabytes."""
    seen: set[int] = set()
    stack = [node]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            return True
        seen.add(id(current))
        if isinstance(current, yaml.SequenceNode):
            stack.extend(current.value)
        elif isinstance(current, yaml.MappingNode):
            stack.extend(item for pair in current.value for item in pair)
    return False


@dataclass
class FrontMatter:
    """Front matter of one file: values, the line of each key, and the body."""

    path: str
    values: dict[str, Any]
    lines: dict[str, int]
    body: str
    body_line: int

    def line(self, key: str) -> int:
        return self.lines.get(key, 1)


_ALIASED = object()


def _compose(loader_class: type[_Loader], source: str) -> tuple[Any, Any]:
    """The YAML node of *source* (it knows each key's line) and its value
    (``_ALIASED`` when a node is reached twice: see :func:`_has_aliases`)."""
    loader = loader_class(source)
    try:
        node = loader.get_single_node()
        if node is not None and _has_aliases(node):
            return node, _ALIASED
        return node, loader.construct_document(node) if node is not None else {}
    finally:
        loader.dispose()


class ParsedFrontMatter:
    """Front matter already parsed, by its exact text, kept in one file between builds.

    :func:`load` runs in every build, even one with nothing to do, and parsing
    YAML was a third of it (2,000 posts: 0.33 s, 0.20 to 0.23 s with this); a
    build parses only the front matter that changed.  An entry is the pure
    result of parsing its text (values and the line of each key); text that
    does not parse is never kept, so every problem is found again.  The file
    holds the entries used by the last load, and is ignored if written by
    other code.
    """

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.known: dict[str, tuple[dict[str, Any], dict[str, int]]] = {}
        self.used: dict[str, tuple[dict[str, Any], dict[str, int]]] = {}
        if path is None:
            return
        try:
            with path.open("rb") as file:
                stamp, known = pickle.load(file)
        except (OSError, EOFError, ValueError, TypeError, AttributeError, pickle.UnpicklingError):
            return
        if stamp == self.stamp():
            self.known = known

    @staticmethod
    def stamp() -> str:
        """What the entries depend on: this module's code and PyYAML's version."""
        return hashlib.sha256(Path(__file__).read_bytes() + yaml.__version__.encode()).hexdigest()

    def get(self, source: str) -> tuple[dict[str, Any], dict[str, int]] | None:
        found = self.known.get(source)
        if found is not None:
            self.used[source] = found
        return found

    def add(self, source: str, values: dict[str, Any], lines: dict[str, int]) -> None:
        self.used[source] = (values, lines)

    def save(self) -> None:
        """Write the entries used by this load, unless they are the ones read."""
        if self.path is None or self.used.keys() == self.known.keys():
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_name(f"{self.path.name}.{os.getpid()}")
        with partial.open("wb") as file:
            pickle.dump((self.stamp(), self.used), file, protocol=pickle.HIGHEST_PROTOCOL)
        partial.replace(self.path)


def read_front_matter(
    root: Path,
    path: Path,
    problems: list[Problem],
    text: str | None = None,
    parsed: ParsedFrontMatter | None = None,
) -> FrontMatter | None:
    """Parse the YAML front matter of *path*; report a problem and return None if bad.

    *text*, when given, is checked as if it were the file's content: ``kb new``
    checks a post before it writes it.  *parsed* holds front matter parsed before.
    """
    rel = path.relative_to(root).as_posix()
    try:
        text = path.read_text(encoding="utf-8") if text is None else text
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(Problem(rel, 1, f"cannot read file: {exc}", "save it as UTF-8 text"))
        return None
    if not text.strip():
        problems.append(Problem(rel, 1, "file is empty", "add front matter and a body, or delete it"))
        return None
    lines = text.splitlines(keepends=True)
    if lines[0].strip() != "---":
        where = next((i for i, ln in enumerate(lines, 1) if ln.strip() == "---"), None)
        hint = f" (it starts on line {where})" if where else ""
        problems.append(
            Problem(rel, 1, f"front matter must start on line 1 with '---'{hint}", "move the '---' block to the top")
        )
        return None
    end = next((i for i in range(1, len(lines)) if lines[i].rstrip() in ("---", "...")), None)
    if end is None:
        problems.append(Problem(rel, 1, "front matter is not closed", "end it with a line holding only '---'"))
        return None
    source = "".join(lines[1:end])
    if parsed is not None and (known := parsed.get(source)) is not None:
        return FrontMatter(rel, *known, "".join(lines[end + 1 :]), end + 2)
    try:
        try:
            node, data = _compose(_FastLoader, source)
        except yaml.YAMLError:
            node, data = _compose(_Loader, source)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 2 if mark else 1
        col = f", column {mark.column + 1}" if mark else ""
        reason = getattr(exc, "problem", None) or str(exc)
        fix = "fix the YAML syntax"
        if "mapping values are not allowed" in reason:
            fix = 'a value holding ": " needs quotes: title: "Myth 3: Validation"'
        problems.append(Problem(rel, line, f"malformed YAML{col}: {reason}", fix))
        return None
    if data is _ALIASED:
        problems.append(Problem(rel, 2, NO_ALIASES, "write each value out"))
        return None
    if not isinstance(data, dict) or not isinstance(node, yaml.MappingNode):
        problems.append(Problem(rel, 2, "front matter must be a mapping of 'key: value' lines", "write key: value"))
        return None
    key_lines = {str(k.value): k.start_mark.line + 2 for k, _ in node.value if isinstance(k, yaml.ScalarNode)}
    values = {str(k): v for k, v in data.items()}
    if parsed is not None:
        parsed.add(source, values, key_lines)
    return FrontMatter(rel, values, key_lines, "".join(lines[end + 1 :]), end + 2)


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


def check_plain_title(fm: FrontMatter, title: str, problems: list[Problem]) -> None:
    """Titles are plain text: an HTML tag in one would become raw HTML on every page."""
    if _HTML_TAG.search(title):
        problems.append(
            Problem(
                fm.path,
                fm.line("title"),
                f"the title {title!r} contains HTML",
                "titles are plain text: remove the tag, or put it in backticks to show it as code",
                "policy",
            )
        )


def check_keys(fm: FrontMatter, schema: dict[str, tuple[bool, str]], problems: list[Problem]) -> bool:
    """Report unknown and missing keys; return True when all required keys are there."""
    ok = True
    for key in fm.values:
        if key not in schema and schema is POST_KEYS and key in UNSUPPORTED_POST_KEYS:
            problems.append(
                Problem(fm.path, fm.line(key), f"key {key!r} is not supported", UNSUPPORTED_POST_KEYS[key], "policy")
            )
        elif key not in schema:
            problems.append(Problem(fm.path, fm.line(key), f"unknown front-matter key {key!r}", key_hint(key, schema)))
    for key, (required, meaning) in schema.items():
        value = fm.values.get(key)
        if required and (value is None or (isinstance(value, str) and not value.strip())):
            line = fm.line(key)
            problems.append(Problem(fm.path, line, f"missing {key!r}", f"add '{key}: ...' ({meaning})"))
            ok = False
    return ok


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


# -- the vocabulary ----------------------------------------------------------


def _load_terms(root: Path, section: str, data: Any, lines: dict[str, int], problems: list[Problem]) -> dict[str, Term]:
    terms: dict[str, Term] = {}
    slugs: dict[str, str] = {}
    folded: dict[str, str] = {}
    if not isinstance(data, dict):
        problems.append(Problem(VOCABULARY_FILE, lines.get(section, 1), f"'{section}' must be a mapping", ""))
        return terms
    for name, spec in data.items():
        name = str(name).strip()
        line = lines.get(f"{section}.{name}", 1)
        spec = spec or {}
        if not isinstance(spec, dict):
            problems.append(
                Problem(VOCABULARY_FILE, line, f"{section} entry {name!r} must be a mapping", "give description:")
            )
            continue
        allowed = ["description", "aliases", *(["review_every"] if section == "practices" else [])]
        for key in sorted({str(k) for k in spec} - set(allowed)):
            problems.append(
                Problem(VOCABULARY_FILE, line, f"unknown key {key!r} in {name!r}", did_you_mean(key, allowed))
            )
        every = reviews.parse_interval(spec["review_every"]) if "review_every" in spec else None
        if "review_every" in spec and every is None:
            problems.append(
                Problem(
                    VOCABULARY_FILE,
                    line,
                    f"review_every {spec['review_every']!r} is not an interval",
                    reviews.INTERVAL_FIX,
                )
            )
        description = str(spec.get("description") or "").strip()
        if not description:
            problems.append(
                Problem(VOCABULARY_FILE, line, f"{section} entry {name!r} has no description", "add description: ...")
            )
        aliases = spec.get("aliases") or []
        if not isinstance(aliases, list):
            aliases = split_list(aliases) or []
        if any(a is None or not str(a).strip() for a in aliases):
            problems.append(Problem(VOCABULARY_FILE, line, f"empty alias in {name!r}", "remove it from aliases"))
        aliases = [str(a).strip() for a in aliases if a is not None and str(a).strip()]
        slug = slugify(name)
        if not slug:
            problems.append(
                Problem(
                    VOCABULARY_FILE,
                    line,
                    f"{section} entry {name!r} has an empty page name",
                    "use letters or digits in the name",
                )
            )
            continue
        if slug in slugs:
            problems.append(
                Problem(
                    VOCABULARY_FILE,
                    line,
                    f"{name!r} and {slugs[slug]!r} would share the page '{slug}'",
                    "merge them, or make one an alias of the other",
                )
            )
            continue
        for spelling in [name, *aliases]:
            key = fold(spelling)
            if key in folded and folded[key] != name:
                what = f"{name!r}" if spelling == name else f"alias {spelling!r} of {name!r}"
                problems.append(
                    Problem(
                        VOCABULARY_FILE,
                        line,
                        f"{what} already names {folded[key]!r}",
                        "keep each spelling under one entry",
                    )
                )
            folded.setdefault(key, name)
        slugs[slug] = name
        terms[name] = Term(name, slug, description, tuple(str(a) for a in aliases), every)
    return terms


def _mapping_lines(source: str) -> dict[str, int]:
    """Line of each top-level section and of each entry below it (``tags.GMP``)."""
    lines: dict[str, int] = {}
    try:
        node = yaml.compose(source, Loader=_Loader)
    except yaml.YAMLError:
        return lines
    if not isinstance(node, yaml.MappingNode):
        return lines
    for key, value in node.value:
        lines[str(key.value)] = key.start_mark.line + 1
        if isinstance(value, yaml.MappingNode):
            for sub, _ in value.value:
                lines[f"{key.value}.{sub.value}"] = sub.start_mark.line + 1
    return lines


def load_vocabulary(root: Path, problems: list[Problem]) -> tuple[dict[str, Term], dict[str, Term]]:
    """Tags and practices from ``vocabulary.yaml``."""
    path = root / VOCABULARY_FILE
    if not path.exists():
        problems.append(Problem(VOCABULARY_FILE, 1, "the vocabulary file is missing", "create vocabulary.yaml"))
        return {}, {}
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(Problem(VOCABULARY_FILE, 1, f"cannot read file: {exc}", "save it as UTF-8 text"))
        return {}, {}
    try:
        node = yaml.compose(source, Loader=_Loader)
        if node is not None and _has_aliases(node):
            problems.append(Problem(VOCABULARY_FILE, 1, NO_ALIASES, "write each value out"))
            return {}, {}
        data = yaml.load(source, Loader=_Loader) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problems.append(
            Problem(VOCABULARY_FILE, mark.line + 1 if mark else 1, f"malformed YAML: {exc}", "fix the YAML syntax")
        )
        return {}, {}
    lines = _mapping_lines(source)
    if not isinstance(data, dict):
        problems.append(Problem(VOCABULARY_FILE, 1, "must hold 'tags:' and 'practices:'", ""))
        return {}, {}
    for key in sorted({str(k) for k in data} - {"tags", "practices"}):
        problems.append(
            Problem(
                VOCABULARY_FILE, lines.get(key, 1), f"unknown section {key!r}", did_you_mean(key, ["tags", "practices"])
            )
        )
    tags = _load_terms(root, "tags", data.get("tags") or {}, lines, problems)
    practices = _load_terms(root, "practices", data.get("practices") or {}, lines, problems)
    return tags, practices


class Lookup:
    """Maps any accepted spelling (case, accents, aliases) to the canonical term."""

    def __init__(self, terms: dict[str, Term]) -> None:
        self.terms = terms
        self._index: dict[str, str] = {}
        for term in terms.values():
            for spelling in (term.name, *term.aliases):
                self._index.setdefault(fold(spelling), term.name)

    def __call__(self, value: str) -> str | None:
        return self._index.get(fold(value))

    def suggest(self, value: str) -> str:
        """``did you mean 'X'?`` naming canonical terms whose name or alias is close to *value*."""
        close = difflib.get_close_matches(fold(value), list(self._index), n=6, cutoff=0.6)
        names = list(dict.fromkeys(self._index[c] for c in close))[:3]
        if names:
            return "did you mean " + " or ".join(repr(n) for n in names) + "?"
        return did_you_mean(value, self.terms)


# -- authors and series ------------------------------------------------------


def _profile_files(root: Path, folder: str) -> list[Path]:
    return sorted(p for p in (root / folder).glob("*.md") if p.name != "index.md")


def load_authors(root: Path, practices: Lookup, problems: list[Problem]) -> dict[str, Author]:
    authors: dict[str, Author] = {}
    seen: dict[str, str] = {}
    for path in _profile_files(root, AUTHORS_DIR):
        fm = read_front_matter(root, path, problems)
        if fm is None:
            continue
        key = path.stem
        # MR.md and mr.md are one file on case-insensitive disks, and two keys
        # with one slug would share an ABlog page: keep the first, report the rest.
        clash = seen.get(fold(key)) or seen.get(slugify(key))
        if clash:
            problems.append(
                Problem(
                    fm.path,
                    1,
                    f"author key {key!r} clashes with {clash!r}: keys must differ in more than case or punctuation",
                    "rename one of the two files, or merge them",
                )
            )
            continue
        seen[fold(key)] = seen[slugify(key)] = fm.path
        if not check_keys(fm, AUTHOR_KEYS, problems):
            continue
        values = fm.values
        name = str(values["name"]).strip()
        practice = values.get("practice")
        if practice is not None:
            canonical = practices(str(practice))
            if canonical is None:
                problems.append(
                    Problem(
                        fm.path,
                        fm.line("practice"),
                        f"unknown practice {practice!r}",
                        did_you_mean(str(practice), practices.terms),
                    )
                )
            practice = canonical
        photo = values.get("photo")
        if photo is not None:
            photo_path = (path.parent / str(photo)).resolve()
            if not photo_path.is_file() or root.resolve() not in photo_path.parents:
                problems.append(
                    Problem(
                        fm.path, fm.line("photo"), f"photo {photo!r} is not a file in the repository", "fix the path"
                    )
                )
                photo = None
        links: list[tuple[str, str]] = []
        raw_links = values.get("links") or {}
        if not isinstance(raw_links, dict):
            problems.append(Problem(fm.path, fm.line("links"), "links must be a mapping of label: URL", ""))
            raw_links = {}
        for label, url in raw_links.items():
            if not re.match(r"^(https://|http://|mailto:)", str(url)):
                problems.append(
                    Problem(fm.path, fm.line("links"), f"link {label!r} must be an http(s) or mailto URL", "")
                )
                continue
            links.append((str(label), str(url)))
        expertise = split_list(values.get("expertise") or []) or []
        authors[key] = Author(
            key=key,
            name=name,
            role=str(values.get("role") or "Consultant").strip(),
            path=fm.path,
            practice=practice,
            expertise=tuple(str(e) for e in expertise if e),
            photo=str(photo) if photo else None,
            links=tuple(links),
        )
    names: dict[str, str] = {}
    pages: dict[str, str] = {}
    for author in authors.values():
        other = names.setdefault(fold(author.name), author.key)
        if other != author.key:
            problems.append(
                Problem(author.path, 2, f"name {author.name!r} is also used by {other!r}", "give each author one file")
            )
            continue
        # ABlog names each author's page after the name: blog/author/<slug>.
        page = slugify(author.name)
        other = pages.setdefault(page, author.key)
        if not page:
            problems.append(
                Problem(
                    author.path, 2, f"name {author.name!r} has no letters or digits", "spell it in letters", "policy"
                )
            )
        elif other != author.key:
            problems.append(
                Problem(
                    author.path,
                    2,
                    f"name {author.name!r} and the name of {other!r} would share the page blog/author/{page}",
                    "spell the names so that they differ in letters or digits",
                    "policy",
                )
            )
    return authors


def load_series(root: Path, problems: list[Problem]) -> dict[str, Series]:
    series: dict[str, Series] = {}
    pages: dict[str, str] = {}
    for path in _profile_files(root, SERIES_DIR):
        fm = read_front_matter(root, path, problems)
        if fm is None or not check_keys(fm, SERIES_KEYS, problems):
            continue
        other = pages.setdefault(fold(path.stem), fm.path)
        if other != fm.path:
            problems.append(
                Problem(fm.path, 1, f"series key {path.stem!r} clashes with {other}", "rename one file", "policy")
            )
            continue
        check_plain_title(fm, str(fm.values["title"]).strip(), problems)
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
            continue
        parts = fm.values.get("parts")
        if parts is not None and (isinstance(parts, bool) or not isinstance(parts, int) or parts < 1):
            problems.append(Problem(fm.path, fm.line("parts"), f"parts {parts!r} is not a positive whole number", ""))
            parts = None
        if status == "complete" and parts is None:
            problems.append(
                Problem(fm.path, fm.line("status"), "a complete series must say how many parts it has", "add parts: N")
            )
        series[path.stem] = Series(
            path.stem,
            str(fm.values["title"]).strip(),
            str(fm.values["summary"]).strip(),
            status,
            fm.path,
            parts,
            lines=dict(fm.lines),
        )
    return series


# -- posts --------------------------------------------------------------------


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
    keys: list[str] = []
    by_name = {fold(a.name): a.key for a in authors.values()}
    by_key = {fold(k): k for k in authors}
    for value in values:
        if value is None or (isinstance(value, str) and not value):
            problems.append(Problem(fm.path, line, "empty author in the list", "remove it or write an author key"))
            continue
        value = str(value)
        if value in authors:
            key = value
        elif fold(value) in by_name:
            key = by_name[fold(value)]
            problems.append(Problem(fm.path, line, f"{value!r} is a name, not an author key", f"write {key!r}"))
            continue
        elif fold(value) in by_key:
            problems.append(
                Problem(
                    fm.path,
                    line,
                    f"unknown author {value!r}",
                    f"did you mean {by_key[fold(value)]!r}? Keys are case-sensitive",
                )
            )
            continue
        elif root is not None and value in {p.stem for p in _profile_files(root, AUTHORS_DIR)}:
            problems.append(
                Problem(
                    fm.path,
                    line,
                    f"author {value!r} has no valid profile",
                    f"fix the problems reported for {AUTHORS_DIR}/{value}.md",
                )
            )
            continue
        else:
            hint = did_you_mean(value, authors)
            problems.append(
                Problem(
                    fm.path,
                    line,
                    f"unknown author {value!r}",
                    f"{hint}{'' if hint.endswith(('?', '.')) else '.'} Or add {AUTHORS_DIR}/{value}.md",
                )
            )
            continue
        if key not in keys:
            keys.append(key)
    return keys


def _post_terms(
    fm: FrontMatter, key: str, lookup: Lookup, problems: list[Problem], *, single: bool = False
) -> list[str]:
    raw = fm.values.get(key)
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
            problems.append(
                Problem(
                    fm.path,
                    line,
                    f"unknown {what} {value!r}",
                    f"{lookup.suggest(str(value))} Or add it to {VOCABULARY_FILE}",
                )
            )
        elif canonical not in found:
            found.append(canonical)
    return found


def _post_reviews(
    fm: FrontMatter, site: Site, practice: str | None, date: dt.datetime | None, today: dt.date
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
            problems.append(
                Problem(
                    fm.path,
                    fm.line("review_every"),
                    f"review_every {bad!r} is not an interval",
                    reviews.INTERVAL_FIX,
                    "review",
                )
            )
        every = own or every
    return found, every


def load_post(
    root: Path,
    path: Path,
    site: Site,
    tags: Lookup,
    practices: Lookup,
    tz: dt.tzinfo,
    now: dt.datetime,
    text: str | None = None,
    parsed: ParsedFrontMatter | None = None,
) -> Post | None:
    problems = site.problems
    fm = read_front_matter(root, path, problems, text, parsed)
    if fm is None:
        return None
    before = len(problems)
    check_keys(fm, POST_KEYS, problems)
    values = fm.values
    draft = values.get("draft", False)
    if not isinstance(draft, bool):
        problems.append(Problem(fm.path, fm.line("draft"), f"draft must be true or false, not {draft!r}", ""))
        draft = True
    title = str(values.get("title") or "").strip()
    if values.get("title") is not None and not isinstance(values.get("title"), str | int | float):
        problems.append(Problem(fm.path, fm.line("title"), "title must be text", 'title: "..."'))
    check_plain_title(fm, title, problems)
    size = len(fm.body.encode("utf-8"))
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
    dates: dict[str, dt.datetime | None] = {}
    for key in ("date", "updated"):
        raw = values.get(key)
        if raw is None:
            dates[key] = None
            continue
        parsed = parse_date(raw, tz)
        if parsed is None:
            problems.append(
                Problem(
                    fm.path,
                    fm.line(key),
                    f"{key} {str(raw)!r} is not an ISO 8601 date",
                    "write YYYY-MM-DD, e.g. 2023-05-08, optionally with a time: 2023-05-08T09:30+02:00",
                )
            )
        dates[key] = parsed
    date, updated = dates["date"], dates["updated"]
    if date and updated and updated < date:
        problems.append(Problem(fm.path, fm.line("updated"), "updated is before date", "correct one of them"))
    authors = _post_authors(fm, site.authors, problems, root) if values.get("author") is not None else []
    post_tags = _post_terms(fm, "tags", tags, problems) if values.get("tags") is not None else []
    if len(post_tags) > MAX_TAGS:
        problems.append(
            Problem(
                fm.path,
                fm.line("tags"),
                f"{len(post_tags)} tags, over the limit of {MAX_TAGS}",
                f"keep the {MAX_TAGS} that describe the post best",
                "policy",
            )
        )
    practice = (
        _post_terms(fm, "practice", practices, problems, single=True) if values.get("practice") is not None else []
    )
    series, part = values.get("series"), values.get("part")
    if series is not None:
        series = str(series).strip()
        if series not in site.series:
            problems.append(
                Problem(
                    fm.path,
                    fm.line("series"),
                    f"unknown series {series!r}",
                    f"{did_you_mean(series, site.series)} Or add {SERIES_DIR}/{series}.md",
                    kind="series",
                )
            )
            series = None
        elif part is None:
            problems.append(
                Problem(
                    fm.path,
                    fm.line("series"),
                    f"series {series!r} without a part",
                    "add 'part: N' with this post's place in the series",
                    kind="series",
                )
            )
    if part is not None:
        if isinstance(part, bool) or not isinstance(part, int) or part < 1:
            problems.append(
                Problem(
                    fm.path,
                    fm.line("part"),
                    f"part {part!r} is not a positive whole number",
                    "write the part's place in the series as 1, 2, 3...",
                    kind="series",
                )
            )
            part = None
        elif values.get("series") is None:
            problems.append(
                Problem(
                    fm.path,
                    fm.line("part"),
                    f"part {part} without a series",
                    f"add 'series: <key>' naming a file in {SERIES_DIR}/, or remove 'part'",
                    kind="series",
                )
            )
    summary = values.get("summary")
    post_reviews, review_every = _post_reviews(fm, site, practice[0] if practice else None, date, now.date())
    if draft:
        status = "draft"
    elif date is not None and date > now:
        status = "scheduled"
    else:
        status = "published"
    if len(problems) > before and status == "published":
        # Bad posts still take part in the build (the build fails on the reported problems).
        pass
    rel = path.relative_to(root).with_suffix("")
    return Post(
        docname=rel.as_posix(),
        path=fm.path,
        title=title,
        date=date,
        authors=tuple(authors),
        tags=tuple(post_tags),
        practice=practice[0] if practice else None,
        status=status,
        updated=updated,
        series=series if part else None,
        part=part if series else None,
        summary=str(summary).strip() if summary else None,
        reviews=post_reviews,
        review_every=review_every,
        lines=dict(fm.lines),
    )


def _check_strays(root: Path, problems: list[Problem]) -> None:
    """A file in posts/ that is neither a post nor a figure would silently go unpublished."""
    folder = root / POSTS_DIR
    for path in sorted(folder.rglob("*")) if folder.is_dir() else []:
        rel = path.relative_to(root)
        if path.is_dir() or path.suffix == ".md" or any(p.startswith(".") for p in rel.parts):
            continue
        if path.suffix.lower() in ASSET_SUFFIXES:
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


def _check_collisions(site: Site) -> None:
    """Two posts must not share an output file or ABlog's label (one would replace the other)."""
    pages: dict[str, str] = {}
    labels: dict[str, str] = {}
    for post in sorted(site.posts.values(), key=lambda p: p.path):
        for seen, key, what in (
            (pages, fold(post.docname), "output page (file names differ only in case)"),
            (labels, post_label(post.docname), f"label {post_label(post.docname)!r} (the same file name)"),
        ):
            other = seen.setdefault(key, post.path)
            if other != post.path:
                site.problems.append(
                    Problem(post.path, 1, f"this post and {other} share the {what}", "rename one of them", "policy")
                )


def _check_series(site: Site, include_held: bool) -> None:
    """Problems only the whole series shows: a part claimed twice, a gap, a missing last part."""
    for key, series in site.series.items():
        members = [p for p in site.posts.values() if p.series == key and (p.published or include_held)]
        by_part: dict[int, Post] = {}
        for post in sorted(members, key=lambda p: p.path):
            number = post.part or 0
            if number in by_part:
                site.problems.append(
                    Problem(
                        post.path,
                        post.line("part"),
                        f"part {number} of series {key!r} is also claimed by {by_part[number].path}",
                        "give each part its own number",
                        kind="series",
                    )
                )
            else:
                by_part[number] = post
        if not by_part:
            continue
        last = max(by_part)
        missing = [n for n in range(1, last) if n not in by_part]
        if missing:
            after = min(n for n in by_part if n > missing[0])
            gap = " and ".join(", ".join(map(str, missing)).rsplit(", ", 1))
            site.problems.append(
                Problem(
                    by_part[after].path,
                    by_part[after].line("part"),
                    f"series {key!r} jumps to part {after}: part{'s' if len(missing) > 1 else ''} {gap} "
                    f"{'are' if len(missing) > 1 else 'is'} missing",
                    f"renumber the parts 1, 2, 3... or publish part {missing[0]}",
                    kind="series",
                )
            )
        if series.status == "complete" and series.parts:
            if series.parts not in by_part:
                site.problems.append(
                    Problem(
                        series.path,
                        series.line("parts"),
                        f"complete series {key!r} has no published part {series.parts} (its last part)",
                        "publish the last part, or set 'status: ongoing'",
                        kind="series",
                    )
                )
            for number in sorted(n for n in by_part if n > series.parts):
                site.problems.append(
                    Problem(
                        by_part[number].path,
                        by_part[number].line("part"),
                        f"part {number} is beyond the {series.parts} parts of complete series {key!r}",
                        f"set 'parts: {last}' in {series.path}, or renumber this post",
                        kind="series",
                    )
                )


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
    root = Path(root)
    try:
        tz: dt.tzinfo = ZoneInfo(timezone)
    except (KeyError, ValueError):
        tz = dt.UTC
    now = now or dt.datetime.now(tz)
    site = Site(root)
    every = reviews.parse_interval(review_every)
    if every is None:
        site.problems.append(
            Problem(
                "conf.py", 1, f"kb_review_every {review_every!r} is not an interval", reviews.INTERVAL_FIX, "review"
            )
        )
    site.review_every = every or reviews.DEFAULT_INTERVAL
    site.tags, site.practices = load_vocabulary(root, site.problems)
    tag_lookup, practice_lookup = Lookup(site.tags), Lookup(site.practices)
    site.authors = load_authors(root, practice_lookup, site.problems)
    site.series = load_series(root, site.problems)
    parsed = ParsedFrontMatter(cache)
    for path in sorted((root / POSTS_DIR).rglob("*.md")):
        post = load_post(root, path, site, tag_lookup, practice_lookup, tz, now, parsed=parsed)
        if post is not None:
            site.posts[post.docname] = post
        else:
            docname = path.relative_to(root).with_suffix("").as_posix()
            site.posts[docname] = Post(docname, path.relative_to(root).as_posix(), "", None, (), (), None, "invalid")
    _check_strays(root, site.problems)
    _check_collisions(site)
    _check_series(site, include_held)
    site.problems.sort()
    with contextlib.suppress(OSError):  # a cache that cannot be written only costs time in the next build
        parsed.save()
    return site
