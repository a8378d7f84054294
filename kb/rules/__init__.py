"""Every rule on what a page may hold, run by ``make check`` and by the build.

The content model (:mod:`kb.model`) checks front matter; these rules check the
pages themselves: the content policy (no raw HTML, no ``{raw}``/``{eval-rst}``,
safe link, image and file targets), links and cross-references (to posts,
authors, series, parts, tags, practices, labels and files), titles in the body,
``make post``'s placeholder text, and where pages live.  ``make check`` prints
what they find; the build reports the same problems once, at start-up, before
any page is read (:mod:`kb.content`), and only adds what needs Sphinx.
``make check HINTS=1`` also prints hints (:mod:`kb.rules.terms`), which are
information, never problems: the build does not report them.

The rules read pages parsed by MyST's own parser (:mod:`kb.rules.markdown`),
never raw lines, and import nothing from Sphinx.  :mod:`kb.rules.pages` holds
the page being checked and the rules on a whole page (where it lives, its front
matter, its title, its labels); :mod:`kb.rules.body` the rules on what its body
holds (raw HTML, directives, links, roles); :func:`check_site` runs them all.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kb import model
from kb.rules import body, markdown, pages, terms

#: What ``conf.py`` sets when it does not say (Sphinx's and the site's defaults).
DEFAULTS: dict[str, Any] = {
    "exclude_patterns": [],
    "templates_path": [],
    "html_static_path": [],
    "html_extra_path": [],
    "myst_enable_extensions": [],
    "blog_path": "blog",
    "post_date_format": "%d %B %Y",
    "kb_timezone": "UTC",
    "myst_heading_anchors": 0,
    "kb_citations": {},
    "kb_posts_per_page": 50,
    "kb_posts_per_entry": 10,
    "kb_search_pages_per_bundle": 5000,
}
#: How many posts each page of a listing shows unless ``conf.py`` says otherwise (``kb_posts_per_page``).
POSTS_PER_PAGE = DEFAULTS["kb_posts_per_page"]
#: How many posts a glossary entry or a cited regulation lists unless ``conf.py``
#: says otherwise (``kb_posts_per_entry``): the newest; the others are counted.
POSTS_PER_ENTRY = DEFAULTS["kb_posts_per_entry"]
#: The most pages one search index holds unless ``conf.py`` says otherwise
#: (``kb_search_pages_per_bundle``; :mod:`kb.search_parts` says why).
PAGES_PER_BUNDLE = DEFAULTS["kb_search_pages_per_bundle"]
#: What each count setting counts, for its message.
COUNTED = {"kb_posts_per_page": "posts", "kb_posts_per_entry": "posts", "kb_search_pages_per_bundle": "pages"}
#: Sphinx leaves these out of every build, whatever ``exclude_patterns`` says.
ALWAYS_EXCLUDED = ("**/_sources", ".#*", "**/.#*", "*.lproj/**")


@dataclass(frozen=True)
class Settings:
    """What the rules need from ``conf.py``."""

    exclude_patterns: tuple[str, ...] = ()
    extensions: tuple[str, ...] = ()
    blog_path: str = "blog"
    post_date_format: str = "%d %B %Y"
    heading_anchors: int = 0
    #: ``kb_citations``: the citation roles and what they accept (empty: kb.citations' defaults).
    citations: Any = None
    #: The count settings (:data:`COUNTED`) as written, by name: checked by :func:`check_settings`.
    counts: tuple[tuple[str, Any], ...] = tuple((name, DEFAULTS[name]) for name in COUNTED)

    @classmethod
    def of(cls, values: dict[str, Any]) -> Settings:
        """From ``conf.py``'s values (or Sphinx's ``Config``, read as a mapping)."""
        get = {**DEFAULTS, **values}.get
        excluded = [
            *get("exclude_patterns"),
            *get("templates_path"),
            *get("html_static_path"),
            *get("html_extra_path"),
            *ALWAYS_EXCLUDED,
        ]
        return cls(
            exclude_patterns=tuple(str(p) for p in excluded),
            extensions=tuple(sorted(str(e) for e in get("myst_enable_extensions") or ())),
            blog_path=str(get("blog_path")).strip("/"),
            post_date_format=str(get("post_date_format")),
            heading_anchors=int(get("myst_heading_anchors") or 0),
            citations=get("kb_citations") or None,
            counts=tuple((name, get(name)) for name in COUNTED),
        )


def _translate(pattern: str) -> re.Pattern[str]:
    """A Sphinx exclude pattern as a regular expression (``**`` crosses folders, ``*`` does not)."""
    out, index = [], 0
    while index < len(pattern):
        char = pattern[index]
        if pattern.startswith("**", index):
            out.append(".*")
            index += 2
            continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end = pattern.find("]", index)
            if end < 0:
                out.append(re.escape(char))
            else:
                body = pattern[index + 1 : end]
                out.append("[" + ("^/" + body[1:] if body.startswith("!") else body) + "]")
                index = end
        else:
            out.append(re.escape(char))
        index += 1
    return re.compile("".join(out) + r"\Z")


def documents(root: Path, settings: Settings) -> list[str]:
    """The Markdown pages Sphinx will find below *root*, as relative paths, sorted."""
    matchers = [_translate(p) for p in settings.exclude_patterns]

    def excluded(rel: str) -> bool:
        return any(m.match(rel) for m in matchers)

    found = []
    for folder, dirs, files in os.walk(root, followlinks=True):
        base = Path(folder).relative_to(root).as_posix()
        prefix = "" if base == "." else f"{base}/"
        dirs[:] = sorted(d for d in dirs if not excluded(prefix + d))
        found += [prefix + name for name in files if name.endswith(".md") and not excluded(prefix + name)]
    return sorted(found)


def check_site(
    site: model.Site,
    settings: Settings,
    found: list[str],
    texts: dict[str, str],
    items: dict[str, tuple[markdown.Item, ...]],
    *,
    include_held: bool,
    previous: Seen | None = None,
) -> tuple[list[model.Problem], Seen]:
    """Every rule on every page of *found* (their *texts* and parsed *items*), and what they saw.

    A page's problems as a *previous* check found them are taken over when
    the page, what it asked the disk and all it knows of the other pages
    (:meth:`Seen.unchanged_for`) are as they were.
    """

    def in_build(docname: str) -> bool:
        post = site.posts.get(docname)
        return post is None or (post.status != "invalid" and (post.published or include_held))

    built = frozenset(rel.removesuffix(".md") for rel in found if in_build(rel.removesuffix(".md")))
    owners = pages.labels_of(site, built, items)
    labels = frozenset(owners) | {"genindex", "modindex", "search", "py-modindex"} | pages.ABLOG_LABELS
    problems: list[model.Problem] = [
        *pages.duplicate_labels(site, owners),
        *pages.excluded_posts(site, found, include_held),
    ]

    @functools.cache  # only pages that a link names a section of
    def anchors(docname: str) -> frozenset[str]:
        return pages.anchors_of(items.get(f"{docname}.md", ()), settings.heading_anchors)

    glossary = {
        i.value.lower(): i.value
        for rel, its in items.items()
        if rel.removesuffix(".md") in built
        for i in its
        if i.kind == "term"
    }
    posts = {model.post_label(docname): docname for docname in built if docname in site.posts}
    seen = Seen(site, settings, include_held, built, labels, glossary, posts, texts, items)
    known = seen.unchanged_for(previous)
    for rel, page_items in items.items():
        kept = known.get(rel)
        if kept is None or kept.text != texts[rel] or not kept.holds(site.root, rel):
            page = pages.Page(rel, site, settings, built, labels, anchors, glossary, posts)
            found = [*pages.placement(page), *pages.front_matter(page, texts[rel])]
            for rule in (body.html, body.directives, body.links, body.roles, pages.post_body):
                found += rule(page, page_items)
            kept = Checked(texts[rel], tuple(found), page.disk)
        seen.checked[rel] = kept
        problems += kept.problems
    return problems, seen


@dataclass(frozen=True)
class Checked:
    """One page's problems as :func:`check_site` found them, and what they depend on in the page."""

    text: str
    problems: tuple[model.Problem, ...]
    #: What the disk answered about the files the page names (:attr:`kb.rules.pages.Page.disk`).
    disk: dict[tuple[str, str], bool]

    def holds(self, root: Path, rel: str) -> bool:
        """Whether the disk still answers as it did."""
        return all(pages.on_disk(root, rel, *asked) == answer for asked, answer in self.disk.items())


@dataclass
class Seen:
    """What the rules knew of the whole site when they checked each page, and each page's problems."""

    site: model.Site
    settings: Settings
    include_held: bool
    built: frozenset[str]
    labels: frozenset[str]
    glossary: dict[str, str]
    posts: dict[str, str]
    texts: dict[str, str]
    items: dict[str, tuple[markdown.Item, ...]]
    checked: dict[str, Checked] = field(default_factory=dict)

    def unchanged_for(self, previous: Seen | None) -> dict[str, Checked]:
        """The pages whose problems *previous* may lend: all of them if everything a page's rules
        read beyond the page itself is as it was then, else none.

        That is the content model, the settings, the pages built, the labels,
        terms and posts a page may name, and the anchors of every page (a
        link may name a section of any page): only a page whose items changed
        can have changed its anchors.
        """
        if previous is None or self.texts.keys() != previous.texts.keys():
            return {}
        mine = (self.settings, self.include_held, self.built, self.labels, self.glossary, self.posts)
        theirs = (previous.settings, previous.include_held, previous.built, previous.labels, previous.glossary)
        if mine != (*theirs, previous.posts) or not same_model(self.site, previous.site):
            return {}
        heading = self.settings.heading_anchors
        for rel, items in self.items.items():
            before = previous.items[rel]
            if items is not before and pages.anchors_of(items, heading) != pages.anchors_of(before, heading):
                return {}
        return previous.checked


def same_model(site: model.Site, other: model.Site) -> bool:
    """Whether the rules see the same content model in both (the model's own problems aside)."""
    facts = ("root", "posts", "authors", "series", "tags", "practices", "refused", "unreadable")
    return all(getattr(site, name) == getattr(other, name) for name in facts)


@dataclass
class Pages:
    """The Markdown pages the build finds (:func:`documents`), with their texts and items."""

    found: list[str]
    texts: dict[str, str]
    items: dict[str, tuple[markdown.Item, ...]]
    #: Each page's file as read, once it had settled (:data:`kb.model.SETTLED_S`):
    #: a later :func:`read` in this process takes over its text and items.
    stamps: dict[str, tuple[int, int, int]] = field(default_factory=dict, repr=False, compare=False)
    #: What the rules saw when they last checked these pages (:func:`check`).
    seen: Seen | None = field(default=None, repr=False, compare=False)


def read(
    site: model.Site,
    settings: Settings,
    cache: Path | None = None,
    *,
    prose: bool = False,
    workers: int = 1,
    previous: Pages | None = None,
) -> Pages:
    """Every page of *site*, parsed (with *prose*, their text too, for :func:`hints`); *cache* keeps
    parsed pages between runs; pages not kept are parsed by up to *workers* processes.

    *previous*, the pages as an earlier read in this process found them (with
    the same settings), lends each page whose file has not changed since.
    """
    root = site.root
    found = documents(root, settings)
    settled = time.time_ns() - int(model.SETTLED_S * 1e9)
    texts: dict[str, str] = {}
    items: dict[str, tuple[markdown.Item, ...]] = {}
    stamps: dict[str, tuple[int, int, int]] = {}
    for rel in found:
        stamp = model.stamp_of(root / rel)
        if previous is not None and stamp is not None and previous.stamps.get(rel) == stamp:
            texts[rel], items[rel] = previous.texts[rel], previous.items[rel]
        else:
            try:
                texts[rel] = (root / rel).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                continue  # the model reports an unreadable post; other pages fail in the build
        if stamp is not None and stamp[0] < settled:
            stamps[rel] = stamp
    unread = [rel for rel in texts if rel not in items]
    if unread:
        # A read that takes over parses few pages: reading the cache would cost more (and saving it lose the rest).
        reader = markdown.Cache(cache if previous is None else None, settings.extensions, prose=prose)
        items.update(zip(unread, reader.read([texts[rel] for rel in unread], workers), strict=True))
        reader.save()
    return Pages(found, texts, {rel: items[rel] for rel in texts}, stamps)


def check(
    site: model.Site,
    settings: Settings,
    *,
    include_held: bool = False,
    cache: Path | None = None,
    parsed: Pages | None = None,
    workers: int = 1,
    previous: Pages | None = None,
) -> list[model.Problem]:
    """Every problem the rules find in the pages of *site* (its model already loaded).

    *include_held* checks links as the preview build resolves them (drafts and
    scheduled posts are pages); *cache* keeps parsed pages between runs (or
    *parsed* holds the pages already read); up to *workers* processes parse
    the pages not kept.  *previous*, the pages an earlier check in this
    process read (the same settings), lends what has not changed since
    (:func:`read`, :func:`check_site`); the problems are the same.
    """
    found = parsed or read(site, settings, cache, workers=workers, previous=previous)
    before = previous.seen if previous is not None else None
    problems, seen = check_site(
        site, settings, found.found, found.texts, found.items, include_held=include_held, previous=before
    )
    found.seen = seen
    return sorted({*problems, *check_settings(site.root, settings)})


def hints(site: model.Site, parsed: Pages) -> list[terms.Hint]:
    """Glossary terms the posts mention without linking them (:mod:`kb.rules.terms`): information only.

    *parsed* holds the pages' prose (:func:`read` with *prose*).
    """
    return terms.hints(site, parsed.items)


def a_count(value: Any) -> int | None:
    """*value* as a count setting's value (posts per page of a listing or per entry, pages per
    search index), or None when it is not one."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 1 else None


def count_setting(config: Any, name: str) -> int:
    """Count setting *name* (:data:`COUNTED`) of a build's *config*; a wrong
    value is a problem :func:`check_settings` reports, meanwhile the default."""
    return a_count(getattr(config, name)) or DEFAULTS[name]


def check_settings(root: Path, settings: Settings) -> list[model.Problem]:
    """Settings of ``conf.py`` that no page can be built with, at the line that sets them."""
    wrong = {name: value for name, value in settings.counts if a_count(value) is None}
    if not wrong:
        return []
    lines: list[str] = []
    with contextlib.suppress(OSError, UnicodeDecodeError):
        lines = (root / "conf.py").read_text(encoding="utf-8").splitlines()
    problems = []
    for name, value in wrong.items():
        line = next((n for n, text in enumerate(lines, 1) if text.startswith(name)), 1)
        fix = f"set it to a whole number of at least 1, such as {DEFAULTS[name]} (the default)"
        message = f"{name} = {value!r} is not a number of {COUNTED[name]}"
        problems.append(model.Problem("conf.py", line, message, fix, "paging"))
    return problems
