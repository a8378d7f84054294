"""The command line behind ``make post`` and ``make check``.

``python -m kb new`` starts a post with valid front matter; ``python -m kb
check`` checks every post, author, series and the vocabulary.  Both run the
content model (:mod:`kb.model`), the code the build runs, so a problem reads
the same here as in ``make html``; neither imports Sphinx, so both answer in
well under a second at a thousand posts.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import os
import runpy
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO
from zoneinfo import ZoneInfo

import yaml

from kb import model, reviews, rules
from kb.model.frontmatter import dates_as_text
from kb.rules.pages import PLACEHOLDER_INTRODUCTION, PLACEHOLDER_SECTION
from kb.rules.terms import Hint

if TYPE_CHECKING:
    from collections.abc import Sequence

#: Asks one question and returns the answer (``input`` in a terminal).
Ask = Callable[[str], str]

#: The body of a new post: MyST comments (``%``) are never shown to readers.
#: ``make check`` fails while the two placeholders are left in.
BODY_TEMPLATE = f"""\
% The title comes from 'title:' above: start the body with a paragraph, and
% sections with '##'. The first paragraph is the post's excerpt in listings.
% The authoring guide (guide.md) shows MyST examples: admonitions, cards,
% tabs, tables, figures and cross-references.
% `make check` checks the post; `make serve` previews it with its problems.

{PLACEHOLDER_INTRODUCTION}

## {PLACEHOLDER_SECTION}

"""

#: Front-matter keys in the order ``kb new`` writes them.
NEW_KEYS = ("title", "date", "author", "tags", "practice", "series", "part", "draft")
#: The questions asked in a terminal, for each value that is missing.
QUESTIONS = {
    "title": "Title",
    "author": "Author key(s), comma-separated",
    "tags": "Tags, comma-separated",
    "practice": "Practice",
    "series": "Series key (empty for none)",
    "part": "Part",
    "date": "Date, YYYY-MM-DD (empty for today)",
    "slug": "File name (posts/<name>.md)",
}
REQUIRED = ("title", "author", "tags", "practice")
FALSE_WORDS = ("", "0", "false", "no", "off")
#: How many times a wrong answer is asked for again before giving up.
ATTEMPTS = 5


# -- shared ------------------------------------------------------------------


@functools.cache
def conf_settings(root: Path) -> dict[str, Any]:
    """The settings of the site's ``conf.py``, so that checks read content as the build does."""
    conf = root / "conf.py"
    if not conf.is_file():
        return {}
    try:
        return runpy.run_path(str(conf))
    except Exception as exc:  # any error in conf.py: the build reports it in full
        print(f"{conf}: cannot be read ({exc}); using the default settings", file=sys.stderr)
        return {}


def site_timezone(root: Path) -> str:
    """``kb_timezone`` from the site's ``conf.py``, so dates mean what they mean in the build."""
    return str(conf_settings(root).get("kb_timezone") or "UTC")


def zone(name: str) -> dt.tzinfo:
    """The time zone *name*; UTC when it is not a known zone, as in the model."""
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError):
        return dt.UTC


class _Dumper(yaml.SafeDumper):
    """Safe YAML that writes dates as plain text, as the model reads them."""

    yaml_implicit_resolvers = dates_as_text(yaml.SafeDumper.yaml_implicit_resolvers)


def yaml_value(value: Any) -> str:
    """*value* as one line of YAML, quoted only where YAML needs it."""
    text = yaml.dump(value, Dumper=_Dumper, allow_unicode=True, width=1_000_000, default_flow_style=True)
    return text.removesuffix("\n").removesuffix("\n...")


# -- kb check ------------------------------------------------------------------


def counted(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def summary(site: model.Site, seconds: float, problems: list[model.Problem] | None = None, hints: int = 0) -> str:
    """One line: what was checked, how long it took, how many problems (and hints, when asked for)."""
    problems = site.problems if problems is None else problems
    statuses = [p.status for p in site.posts.values()]
    posts = (
        f"{counted(len(statuses), 'post')} ({statuses.count('published')} published, "
        f"{counted(statuses.count('draft'), 'draft')}, {statuses.count('scheduled')} scheduled)"
    )
    verdict = counted(len(problems), "problem") if problems else "no problems"
    if hints:
        verdict += f"; {counted(hints, 'hint')} (information, not problems)"
    return (
        f"checked {posts}, {counted(len(site.authors), 'author')}, {len(site.series)} series, "
        f"{counted(len(site.tags), 'tag')} and {counted(len(site.practices), 'practice')} in {seconds:.2f} s: {verdict}"
    )


def problems_of(
    root: Path, *, drafts: bool = False, hints: bool = False
) -> tuple[model.Site, list[model.Problem], list[Hint]]:
    """The content model of *root*, every problem in it (front matter and pages, as the build finds
    them) and, if asked for, the hints (:mod:`kb.rules.terms`)."""
    settings = conf_settings(root)
    every = str(settings.get("kb_review_every") or reviews.DEFAULT_INTERVAL)
    # What was parsed last time, by its exact text: a second check reads only what changed.
    cache = root / "_build" / "check"
    site = model.load(
        root,
        include_held=drafts,
        timezone=site_timezone(root),
        cache=cache / "front-matter.pickle",
        review_every=every,
    )
    checked = rules.Settings.of(settings)
    # Hints need the pages' text, which makes the cache far larger: a cache of its own.
    kept = cache / ("pages-prose.pickle" if hints else "pages.pickle")
    parsed = rules.read(site, checked, kept, prose=hints, workers=os.cpu_count() or 1)
    found = rules.check(site, checked, include_held=drafts, parsed=parsed)
    return site, sorted({*site.problems, *found}), rules.hints(site, parsed) if hints else []


def check(root: Path, *, drafts: bool = False, hints: bool = False, out: TextIO | None = None) -> int:
    """Print every problem as ``file:line: message``, then a summary; 1 if there are problems.

    With *hints*, also the glossary terms posts could link, marked ``hint:``;
    they never change the exit status.
    """
    out = out or sys.stdout
    start = time.perf_counter()
    site, problems, found = problems_of(root, drafts=drafts, hints=hints)
    for problem in problems:
        print(problem, file=out)
    for warning in site.warnings:
        print(warning.as_warning(), file=out)
    for hint in found:
        print(hint, file=out)
    print(summary(site, time.perf_counter() - start, problems, len(found)), file=out)
    return 1 if problems else 0


# -- kb due --------------------------------------------------------------------


def due(root: Path, *, out: TextIO | None = None, today: dt.date | None = None) -> int:
    """Print the review queue (as the site's review queue page shows it), by owner.

    Exits 0: the queue is information, not an error; unless ``conf.py`` sets
    ``kb_review_overdue_fails`` and a post is overdue.
    """
    from kb import control, history, reviews  # the history reads git: only this command needs it

    out = out or sys.stdout
    settings = conf_settings(root)
    timezone = site_timezone(root)
    every = str(settings.get("kb_review_every") or reviews.DEFAULT_INTERVAL)
    site = model.load(root, timezone=timezone, review_every=every)
    found = history.read_history(root)
    if found.missing:
        print(f"kb due: no history of the posts ({found.missing}): changes after review are not known", file=out)
    ignored = frozenset(settings.get("kb_history_ignore_commits") or ())

    def changes(post: model.Post) -> tuple[dt.date, ...]:
        return tuple(c.date.date() for c in found.of(post.path) if not history.is_ignored(c.commit, ignored))

    today = today or control.build_day(timezone)
    queue = reviews.queue(site.published, changes, today)
    names = {key: author.name for key, author in site.authors.items()}
    entries = [entry for owned in queue.values() for entry in owned]
    print(f"review queue on {today}: {reviews.counts(entries)} of {len(site.published)} published posts", file=out)
    for owner, owned in queue.items():
        print(f"{names.get(owner, owner)} ({reviews.counts(owned)})", file=out)
        for entry in owned:
            print(f"  {entry.path}: {reviews.describe(entry, names=names)}", file=out)
    if site.problems:
        print(f"{counted(len(site.problems), 'problem')} in the content: run make check", file=out)
    overdue = any(entry.status.state == "overdue" for entry in entries)
    return 1 if overdue and settings.get("kb_review_overdue_fails") else 0


# -- kb new --------------------------------------------------------------------


@dataclass
class Draft:
    """The values of a post being started; "" means not given."""

    values: dict[str, str] = field(default_factory=dict)

    def get(self, key: str) -> str:
        return self.values.get(key, "").strip()


def render(values: dict[str, Any]) -> tuple[str, dict[int, str]]:
    """The new file's text, and which key each front-matter line holds."""
    lines = ["---"]
    where: dict[int, str] = {}
    for key in NEW_KEYS:
        value = values.get(key)
        if value in (None, "", [], False):
            continue
        lines.append(f"{key}: {yaml_value(value)}")
        where[len(lines)] = key
    lines.append("---")
    return "\n".join(lines) + "\n\n" + BODY_TEMPLATE, where


def front_matter(draft: Draft, today: str) -> dict[str, Any]:
    """Front-matter values from what the author gave, in the shapes the schema documents."""
    authors = [a for a in model.split_list(draft.get("author")) or [] if a]
    tags = [t for t in model.split_list(draft.get("tags")) or [] if t]
    part = draft.get("part")
    return {
        "title": draft.get("title"),
        "date": draft.get("date") or today,
        "author": authors[0] if len(authors) == 1 else authors,
        "tags": tags,
        "practice": draft.get("practice"),
        "series": draft.get("series"),
        "part": int(part) if part.isdigit() else part,
        "draft": draft.get("draft").casefold() not in FALSE_WORDS,
    }


def fill_defaults(draft: Draft, site: model.Site) -> Draft:
    """The practice of the first author, and the next part of a series, when not given."""
    values = dict(draft.values)
    keys = model.split_list(draft.get("author")) or []
    if not draft.get("practice") and keys and keys[0] in site.authors:
        values["practice"] = site.authors[keys[0]].practice or ""
    series = draft.get("series")
    if series in site.series and not draft.get("part"):
        parts = [p.part or 0 for p in site.posts.values() if p.series == series]
        values["part"] = str(max(parts, default=0) + 1)
    if not draft.get("slug"):
        values["slug"] = model.slugify(draft.get("title"))
    return Draft(values)


def validate(root: Path, site: model.Site, draft: Draft, now: dt.datetime) -> tuple[str, list[tuple[str, str]]]:
    """The file's text and its problems as (key, problem), checked exactly as the build will."""
    tz = now.tzinfo or dt.UTC
    values = front_matter(draft, now.date().isoformat())
    text, where = render(values)
    missing = [key for key in REQUIRED if not draft.get(key)]
    found = [(key, f"missing --{key}: {model.POST_KEYS[key][1]}") for key in missing]
    slug = draft.get("slug")
    if draft.get("title") and not slug:
        found.append(("slug", "the title gives no file name. Fix: give one with --slug"))
    path = root / model.POSTS_DIR / f"{slug or 'new-post'}.md"
    scratch = model.Site(root, authors=site.authors, series=site.series, tags=site.tags, practices=site.practices)
    lookups = model.Lookup(site.tags), model.Lookup(site.practices)
    post = model.load_post(root, path, scratch, *lookups, tz, now, text=text)
    said = {f"missing {key!r}" for key in missing}
    found += [
        (where.get(p.line, "title"), p.message + (f". Fix: {p.fix}" if p.fix else ""))
        for p in scratch.problems
        if p.message not in said
    ]
    if post is not None and not scratch.problems:
        # Write names as the vocabulary spells them, keys as authors/ names them.
        authors = list(post.authors)
        values.update(author=authors[0] if len(authors) == 1 else authors, tags=list(post.tags), practice=post.practice)
        text, _ = render(values)
    if slug and path.exists():
        found.append(("slug", f"{path.relative_to(root).as_posix()} already exists. Fix: choose another --slug"))
    if post is not None and post.series and post.part:
        for other in site.posts.values():
            if other.series == post.series and other.part == post.part:
                message = f"part {post.part} of series {post.series!r} is also claimed by {other.path}"
                found.append(("part", f"{message}. Fix: give each part its own number"))
    return text, found


def ask_for(
    draft: Draft,
    keys: Sequence[str],
    site: model.Site,
    ask: Ask,
    check: Callable[[Draft], list[tuple[str, str]]],
    *,
    again: bool = False,
) -> Draft:
    """Ask for each of *keys* in turn, showing the known choices, until the answer is valid.

    A first pass skips what an earlier answer filled in (the practice of the
    author); asking *again* after a problem asks every key named.
    """
    choices = {
        "author": ", ".join(f"{a.key} ({a.name})" for a in site.authors.values()),
        "practice": ", ".join(site.practices),
        "series": ", ".join(site.series),
        "tags": ", ".join(site.tags),
    }
    for key in keys:
        draft = fill_defaults(draft, site)
        if draft.get(key) and not again:
            continue
        if choices.get(key):
            print(f"  known: {choices[key]}")
        for _attempt in range(ATTEMPTS):
            values = {**draft.values, key: ask(f"{QUESTIONS.get(key, key)}: ").strip()}
            if key == "title":
                values["slug"] = ""
            draft = fill_defaults(Draft(values), site)
            wrong = [message for about, message in check(draft) if about == key]
            if not wrong:
                break
            for message in wrong:
                print(f"  {message}")
    return draft


def new(root: Path, draft: Draft, *, ask: Ask | None = None, now: dt.datetime | None = None) -> int:
    """Write ``posts/<slug>.md`` and print its path; 1 (nothing written) if a value is wrong."""
    timezone = site_timezone(root)
    site = model.load(root, include_held=True, timezone=timezone)
    now = now or dt.datetime.now(zone(timezone))
    draft = fill_defaults(draft, site)
    missing = [key for key in REQUIRED if not draft.get(key)]

    def check(draft: Draft) -> list[tuple[str, str]]:
        return validate(root, site, draft, now)[1]

    if missing and ask is not None:
        # Started with nothing given: also offer to continue a series.
        optional = ["series"] if "title" in missing and not draft.get("series") else []
        draft = ask_for(draft, [*missing, *optional], site, ask, check)
    for _attempt in range(ATTEMPTS):
        text, found = validate(root, site, draft, now)
        if not found:
            break
        for _key, message in found:
            print(f"kb new: {message}", file=sys.stderr)
        if ask is None:
            print(
                'kb new: nothing written. Example: make post TITLE="..." AUTHOR=MR TAGS="GMP, Training"',
                file=sys.stderr,
            )
            return 1
        wrong = list(dict.fromkeys(key for key, _ in found))
        draft = ask_for(draft, wrong, site, ask, check, again=True)
    else:
        print("kb new: nothing written", file=sys.stderr)
        return 1
    path = root / model.POSTS_DIR / f"{draft.get('slug')}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with path.open("x", encoding="utf-8") as handle:
            handle.write(text)
    except FileExistsError:
        print(f"kb new: {path} appeared meanwhile; nothing written", file=sys.stderr)
        return 1
    print(path)
    post_date = model.parse_date(draft.get("date") or now.date().isoformat(), now.tzinfo or dt.UTC)
    if draft.get("draft").casefold() not in FALSE_WORDS:
        state = "a draft: set 'draft: false' (or remove the line) to publish it"
    elif post_date and post_date > now:
        state = f"scheduled: it is published by the first build on or after {post_date.date().isoformat()}"
    else:
        state = "published by the next build"
    print(
        f"Started a post, {state}. Next: replace the placeholder introduction and section with your text, "
        "run `make check`, preview it with `make serve`.",
        file=sys.stderr,
    )
    return 0


# -- the command line ----------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    cli = argparse.ArgumentParser(prog="python -m kb", description="Start and check knowledge-base posts.")
    cli.add_argument("--root", type=Path, default=Path(), help="the site's folder (default: the current one)")
    commands = cli.add_subparsers(dest="command", required=True)
    start = commands.add_parser(
        "new",
        help="start posts/<slug>.md with valid front matter",
        description="Start posts/<slug>.md with valid front matter, today's date and a body template. "
        "Missing values are asked for when run in a terminal; an existing file is never overwritten.",
    )
    start.add_argument("--title", default="", help="the post's title")
    start.add_argument("--author", default="", help="author key(s) from authors/, e.g. MR or 'MR, CM'")
    start.add_argument("--tags", default="", help="tags from vocabulary.yaml, e.g. 'GMP, Training'")
    start.add_argument("--practice", default="", help="practice area (default: the first author's)")
    start.add_argument("--series", default="", help="series key from series/")
    start.add_argument("--part", default="", help="part number in the series (default: the next one)")
    start.add_argument("--date", default="", help="ISO 8601 date (default: today); a future date schedules the post")
    start.add_argument("--draft", nargs="?", const="true", default="", help="keep the post out of the published site")
    start.add_argument("--slug", default="", help="file name without .md (default: from the title)")
    checker = commands.add_parser(
        "check",
        help="check every post, author, series and the vocabulary",
        description="Print every problem as file:line: message and exit 1 if there is any.",
    )
    checker.add_argument("--drafts", action="store_true", help="check series as the preview build does")
    checker.add_argument(
        "--hints",
        action="store_true",
        help="also list glossary terms that posts mention but never link (information: the exit status stays)",
    )
    commands.add_parser(
        "due",
        help="list the posts due for review, by owner",
        description="List every published post that is overdue for review, due within 30 days, or changed "
        "after its last review, by owner. Exits 0 unless conf.py sets kb_review_overdue_fails.",
    )
    return cli


def main(argv: Sequence[str] | None = None, *, ask: Ask | None = None) -> int:
    args = parser().parse_args(argv)
    if not (args.root / "conf.py").is_file() or not (args.root / model.POSTS_DIR).is_dir():
        where = args.root.resolve()
        print(
            f"kb: {where} is not the knowledge base's folder (no conf.py and posts/). Run from it, or give --root.",
            file=sys.stderr,
        )
        return 2
    if args.command == "check":
        return check(args.root, drafts=args.drafts, hints=args.hints)
    if args.command == "due":
        return due(args.root)
    if ask is None and sys.stdin.isatty():
        ask = input
    keys = ("title", "author", "tags", "practice", "series", "part", "date", "draft", "slug")
    try:
        return new(args.root, Draft({key: getattr(args, key) for key in keys}), ask=ask)
    except (EOFError, KeyboardInterrupt):
        print("\nkb new: stopped, nothing written", file=sys.stderr)
        return 1
