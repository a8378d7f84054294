"""The rules for what a page's body holds: raw HTML, directives, links and roles.

Each directive or role with a rule of its own has one function, found by its
name in :data:`DIRECTIVE_RULES` or :data:`ROLE_RULES`; any other name need only
be one the site knows (:mod:`kb.rules.names`).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from kb import model
from kb.rules import names
from kb.rules.markdown import Item, role_target
from kb.rules.pages import (
    BROWSE_KINDS,
    COPY_IN,
    KB_ROLES,
    NO_HTML,
    SCHEMA_NAMES,
    Page,
    close_to,
    image,
    scheme_of,
    target_of,
    unknown_name,
    unsafe_link,
    update_date,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from kb.rules import Settings

    RoleRule = Callable[[Page, Item, str], Iterator[model.Problem]]

_OPENING_TAG = re.compile(r"^<([A-Za-z][\w-]*)")
_CLOSING_TAG = re.compile(r"^</([A-Za-z][\w-]*)\s*>$")


def html(page: Page, items: tuple[Item, ...]) -> Iterator[model.Problem]:
    """No raw HTML, block or inline; a closing tag of one reported is the same problem."""
    opened: set[tuple[int, str]] = set()
    for item in items:
        if item.kind != "html":
            continue
        text = item.value.strip()
        closing = _CLOSING_TAG.match(text)
        if closing and (item.line, closing.group(1).lower()) in opened:
            continue
        opening = _OPENING_TAG.match(text)
        if opening:
            opened.add((item.line, opening.group(1).lower()))
        block = "\n" in item.value.rstrip("\n") or item.value.endswith("\n")
        kind = "an HTML block" if block else "inline HTML"
        yield page.problem(item.line, f"raw HTML is not allowed ({kind}: {text[:60]!r})", NO_HTML)


def refused(message: str, fix: str) -> Callable[[Page, Item], Iterator[model.Problem]]:
    """A rule for a directive the site refuses whatever it holds."""

    def rule(page: Page, item: Item) -> Iterator[model.Problem]:
        yield page.problem(item.line, message, fix)

    return rule


def included(page: Page, item: Item) -> Iterator[model.Problem]:
    """``{include}`` and ``{literalinclude}`` (and its ``:diff:``): files of the repository that exist."""
    for value in (item.value, item.option("diff")):
        if value and not page.inside(value):
            yield page.problem(
                item.line,
                f"{{{item.name}}} of {value!r}: the file is outside the repository (or in a hidden folder)",
                COPY_IN,
            )
        elif value and not page.is_file(value):
            yield page.problem(item.line, f"{{{item.name}}} of {value!r}: there is no such file", COPY_IN, "content")


def csv_table(page: Page, item: Item) -> Iterator[model.Problem]:
    """A CSV table reads a file of the repository, never a URL."""
    if item.option("url") is not None:
        yield page.problem(
            item.line, "{csv-table} with :url: is not allowed", "save the CSV file next to the post, use :file:"
        )
    path = item.option("file")
    if path and not page.inside(path):
        yield page.problem(
            item.line,
            f"{{csv-table}} :file: {path!r} is outside the repository (or in a hidden folder)",
            "copy the CSV into the repository next to the post",
        )


def figure(page: Page, item: Item) -> Iterator[model.Problem]:
    """``{image}`` and ``{figure}``: an image the site may show, and a safe ``:target:``."""
    yield from image(page, item.line, item.value)
    yield from unsafe_link(page, item.line, item.option("target"))


def card(page: Page, item: Item) -> Iterator[model.Problem]:
    """A card that links by URL (the default link type) links safely."""
    if item.option("link-type") in (None, "url"):
        yield from unsafe_link(page, item.line, item.option("link"))


def series_parts(page: Page, item: Item) -> Iterator[model.Problem]:
    if (key := item.value.strip()) not in page.site.series:
        message = f"unknown series {key!r} in kb-series-parts: {model.did_you_mean(key, page.site.series)}"
        yield page.problem(item.line, message, "", "series")


def post_list(page: Page, item: Item) -> Iterator[model.Problem]:
    for key in ("author", "series", "tag", "practice"):
        value = item.option(key)
        if value is not None and len(found := target_of(page.site, key, value.strip())) == 2:
            yield page.problem(item.line, f"{{kb-posts}} :{key}: {found[0]}", found[1], key)


def browse(page: Page, item: Item) -> Iterator[model.Problem]:
    if (kind := item.value.strip()) not in BROWSE_KINDS:
        message = f"unknown list {kind!r} for kb-browse: choose one of {', '.join(BROWSE_KINDS)}"
        yield page.problem(item.line, message, "", "browse")


def schema(page: Page, item: Item) -> Iterator[model.Problem]:
    if (name := item.value.strip()) not in SCHEMA_NAMES:
        yield page.problem(item.line, f"unknown schema {name!r}", model.did_you_mean(name, SCHEMA_NAMES), "schema")


def update(page: Page, item: Item) -> Iterator[model.Problem]:
    if update_date(item.value.strip(), page.settings.post_date_format) is None:
        yield page.problem(
            item.line,
            f"{{update}} date {item.value.strip()!r} is not a date",
            "write it as YYYY-MM-DD, e.g. ```{update} 2023-05-08",
        )


#: What each directive with a rule of its own must respect; the others need only be known.
DIRECTIVE_RULES: dict[str, Callable[[Page, Item], Iterator[model.Problem]]] = {
    "raw": refused(
        "the {raw} directive is not allowed: raw HTML is published unchecked into pages and feeds",
        "write Markdown; for a table, an image or a box use Markdown or a {grid}/{card} directive",
    ),
    "eval-rst": refused(
        "{eval-rst} blocks are not allowed: reStructuredText can carry raw HTML", "write the content in Markdown"
    ),
    "post": refused(
        "the {post} directive is not allowed: a post is a file in posts/ with front matter, "
        "and ABlog's redirect and external links are not supported",
        "remove the directive; describe the post in its front matter (title, date, author, tags, practice)",
    ),
    "include": included,
    "literalinclude": included,
    "csv-table": csv_table,
    "image": figure,
    "figure": figure,
    "button-link": lambda page, item: unsafe_link(page, item.line, item.value),
    "card": card,
    "grid-item-card": card,
    "kb-series-parts": series_parts,
    "kb-posts": post_list,
    "kb-browse": browse,
    "kb-schema": schema,
    "update": update,
}


def directives(page: Page, items: tuple[Item, ...]) -> Iterator[model.Problem]:
    """Directives the site refuses, unknown ones, and the files and URLs directives take."""
    for item in items:
        if item.kind != "directive":
            continue
        rule = DIRECTIVE_RULES.get(item.name)
        if rule is not None:
            yield from rule(page, item)
        elif item.name not in names.DIRECTIVES:
            yield unknown_name(page, item, "directive", names.DIRECTIVES)


def links(page: Page, items: tuple[Item, ...]) -> Iterator[model.Problem]:
    """Markdown links and images: safe schemes, and relative targets that exist."""
    for item in items:
        if item.kind == "image":
            yield from image(page, item.line, item.value)
            continue
        if item.kind != "link":
            continue
        uri = item.value
        scheme = scheme_of(uri)
        if scheme:
            yield from unsafe_link(page, item.line, uri)
            continue
        path, _, anchor = uri.partition("#")
        docname = page.docname_of(path) if path else page.docname
        if docname in page.built:
            if anchor and anchor not in page.anchors(docname):
                known = sorted(page.anchors(docname))
                yield page.problem(
                    item.line,
                    f"the link {uri!r} names no section or label of {docname}.md",
                    f"{close_to(anchor, known)} A section's anchor is its heading in lower case, "
                    "words joined by '-'; or put a label (name)= above the heading".lstrip(),
                    "link",
                )
            continue
        if page.is_file(path) or path.lower() in page.labels:
            continue
        yield page.problem(
            item.line,
            f"the link target {path!r} is neither a page nor a file",
            f"{close_to(page.docname_of(path), sorted(page.built))} "
            "Link a page by its file, relative to this one: [text](other-post.md)".lstrip(),
            "link",
        )


def post_role(page: Page, item: Item, target: str) -> Iterator[model.Problem]:
    if target not in page.posts:
        yield page.problem(item.line, f"unknown post {target!r}", model.did_you_mean(target, page.posts), "post")


def term_role(page: Page, item: Item, target: str) -> Iterator[model.Problem]:
    if target.lower() not in page.terms:
        message = f"unknown term {target!r}: {model.did_you_mean(target, sorted(page.terms.values()))}"
        yield page.problem(item.line, message, "", "term")


def name_role(page: Page, item: Item, target: str) -> Iterator[model.Problem]:
    """``{author}``, ``{series}``, ``{part}``, ``{tag}``, ``{practice}``: a name the content defines."""
    kind = item.name.removeprefix("kb:")
    found = target_of(page.site, kind, target)
    if len(found) == 2:
        yield page.problem(item.line, found[0], found[1], kind)


def doc_role(page: Page, item: Item, target: str) -> Iterator[model.Problem]:
    if page.docname_of(target) not in page.built:
        yield page.problem(
            item.line,
            f"{{doc}} names {target!r}, which is not a page",
            f"{close_to(page.docname_of(target), sorted(page.built))} "
            "Name a page by its file, relative to this one, without .md".lstrip(),
            "link",
        )


def ref_role(page: Page, item: Item, target: str) -> Iterator[model.Problem]:
    if target.lower() not in page.labels:
        yield page.problem(
            item.line,
            f"{{ref}} names the label {target!r}, which is not defined",
            f"{close_to(target.lower(), sorted(page.labels))} "
            "Define a label with (name)= above a heading; a post's label is its file name".lstrip(),
            "link",
        )


def download_role(page: Page, item: Item, target: str) -> Iterator[model.Problem]:
    if scheme_of(target):
        return
    if not page.inside(target):
        yield page.problem(
            item.line,
            f"download {target!r} is outside the repository (or in a hidden folder)",
            "copy the file into the repository next to the post",
        )
    elif not page.is_file(target):
        yield page.problem(
            item.line,
            f"download {target!r}: there is no such file",
            "check the file name, relative to this page",
            "link",
        )


def with_domain(domain: str, rules: dict[str, RoleRule]) -> dict[str, RoleRule]:
    """*rules* under their short names and under ``domain:name``."""
    return {**rules, **{f"{domain}:{name}": rule for name, rule in rules.items()}}


#: What each role with a rule of its own must name; the others need only be known.
ROLE_RULES = {
    **with_domain("std", {"doc": doc_role, "ref": ref_role, "term": term_role}),
    **with_domain("kb", {"post": post_role, **dict.fromkeys(KB_ROLES, name_role)}),
    "download": download_role,
}


def roles(page: Page, items: tuple[Item, ...]) -> Iterator[model.Problem]:
    """Roles: known names, and references to things that exist."""
    sources = citation_sources(page.settings)
    for item in items:
        if item.kind != "role":
            continue
        rule = ROLE_RULES.get(item.name)
        if item.name in sources:
            from kb.citations import Finding, parse

            found = parse(item.name, item.value, sources)
            if isinstance(found, Finding):
                yield page.problem(item.line, found.message, found.fix, "citation")
        elif rule is not None:
            yield from rule(page, item, role_target(item.value))
        elif item.name not in names.ROLES:
            yield unknown_name(page, item, "role", names.ROLES)


def citation_sources(settings: Settings) -> dict[str, dict[str, object]]:
    """The citation roles and what they accept: ``kb_citations``, or kb.citations' defaults."""
    if settings.citations:
        return settings.citations  # type: ignore[no-any-return]
    from kb.citations import DEFAULT_CITATIONS  # the forms and documents live with the citations

    return DEFAULT_CITATIONS
