"""The rules, applied to the items of every page (:mod:`kb.rules.markdown`).

Each rule yields :class:`kb.model.Problem` records: the file, the line, what
is wrong (with the bad value) and the fix.  Messages are written for a
consultant, not for a developer: they name the Markdown, not the parser.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from kb import model
from kb.rules import names
from kb.rules.markdown import Item, role_target

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from kb.rules import Settings

#: The only URL schemes a link may use; anything else must be relative.
ALLOWED_SCHEMES = frozenset({"http", "https", "mailto"})
#: ... and an image.
IMAGE_SCHEMES = frozenset({"http", "https"})
#: Folders whose Markdown files are content with their own front matter.
CONTENT_DIRS = (model.POSTS_DIR, model.AUTHORS_DIR, model.SERIES_DIR)
#: Front-matter keys that make ABlog treat a page as a post, or that ABlog
#: turns into redirects and foreign links.  Only posts/ holds posts.
POST_KEYS_ELSEWHERE = frozenset(
    {*model.POST_KEYS, "blogpost", "category", "redirect", "external_link", "canonical_link", "location", "language"}
) - {"title", "summary"}

#: The sentences ``make post`` writes into a new post, for the author to replace.
PLACEHOLDER_INTRODUCTION = "Introduce the post in one or two sentences."
PLACEHOLDER_SECTION = "First section"

#: Roles of the ``kb`` domain: a name of each kind, checked against the content.
KB_ROLES = ("author", "series", "part", "tag", "practice")
#: What ``{kb-browse}`` and ``{kb-schema}`` take (kb.browse.KINDS, kb.schema.SCHEMAS; a test keeps them equal).
BROWSE_KINDS = ("series", "practices", "tags", "authors")
SCHEMA_NAMES = ("post", "author", "series")

_SCHEME = re.compile(r"^([a-z][a-z0-9+.\-]*):")
_OPENING_TAG = re.compile(r"^<([A-Za-z][\w-]*)")
_CLOSING_TAG = re.compile(r"^</([A-Za-z][\w-]*)\s*>$")

NO_HTML = "write Markdown instead; to show a tag as text, put it in backticks"
COPY_IN = "copy the file into the repository next to the post and include that copy"


def scheme_of(uri: str) -> str:
    """The scheme a browser would see in *uri* ('' for a relative target).

    Browsers drop ASCII whitespace and control characters inside a URL before
    reading its scheme, so ``java\\tscript:`` is ``javascript:``; so do we.
    """
    cleaned = "".join(ch for ch in uri if ch > " " and ch != "\x7f").lower()
    found = _SCHEME.match(cleaned)
    return found.group(1) if found else ""


def inside(path: str | Path, root: str | Path) -> bool:
    """True when *path* (symlinks resolved) is a file of *root*, outside hidden folders."""
    resolved, base = Path(path).resolve(), Path(root).resolve()
    if resolved != base and base not in resolved.parents:
        return False
    return not any(part.startswith(".") for part in resolved.relative_to(base).parts)


def update_date(text: str, date_format: str) -> dt.datetime | None:
    """The date of an ``{update}`` as ABlog will read it: the post date format, or ISO without a zone."""
    try:
        return dt.datetime.strptime(text, date_format)
    except ValueError:
        pass
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2})?)?", text):
        try:
            return dt.datetime.fromisoformat(text)
        except ValueError:
            return None
    return None


def close_to(value: str, choices: list[str] | dict[str, object]) -> str:
    """``did you mean 'X'?`` when a known name is close to *value*, else ''."""
    suggestion = model.did_you_mean(value, choices)
    return suggestion if suggestion.startswith("did you mean") else ""


def target_of(site: model.Site, typ: str, target: str) -> tuple[str, str, str] | tuple[str, str]:
    """``(docname, anchor, title)`` for a ``kb`` reference, or ``(what is wrong, fix)``."""
    if typ == "author":
        author = site.authors.get(target)
        if author:
            return author.docname, "", author.name
        return (
            f"unknown author {target!r}",
            f"{model.did_you_mean(target, site.authors)} An author's key names a file in {model.AUTHORS_DIR}/",
        )
    if typ == "series":
        series = site.series.get(target)
        if series:
            return series.docname, "", series.title
        return (
            f"unknown series {target!r}",
            f"{model.did_you_mean(target, site.series)} A series' key names a file in {model.SERIES_DIR}/",
        )
    if typ == "part":
        key, _, number = target.rpartition("/")
        if key not in site.series:
            return f"unknown series {key!r} in {target!r}", model.did_you_mean(key, site.series)
        for post in site.parts(key):
            if str(post.part) == number.strip():
                return post.docname, "", post.title
        known = ", ".join(str(p.part) for p in site.parts(key)) or "none"
        return f"series {key!r} has no published part {number!r} (parts: {known})", f"write {{part}}`{key}/N`"
    terms, pages = (site.tags, "blog/tag") if typ == "tag" else (site.practices, "blog/category")
    canonical = model.Lookup(terms)(target)
    if canonical:
        return f"{pages}/{terms[canonical].slug}", "", canonical
    return (
        f"unknown {typ} {target!r}",
        f"{model.Lookup(terms).suggest(target)} Or add it to {model.VOCABULARY_FILE}",
    )


@dataclass(frozen=True)
class Page:
    """One page being checked, and what it needs to know about the others."""

    rel: str
    site: model.Site
    settings: Settings
    built: frozenset[str]  # docnames the build reads
    labels: frozenset[str]  # every label a {ref} may name (lower case)
    anchors: Callable[[str], frozenset[str]]  # docname -> the anchors a link may name in it
    terms: dict[str, str]  # every glossary term: lower case -> as the glossary writes it
    posts: dict[str, str]  # every post the build reads: its label -> its docname

    @property
    def docname(self) -> str:
        return self.rel.removesuffix(".md")

    @property
    def is_post(self) -> bool:
        return self.rel.startswith(f"{model.POSTS_DIR}/")

    def problem(self, line: int, message: str, fix: str, kind: str = "policy") -> model.Problem:
        return model.Problem(self.rel, line, message, fix, kind)

    def file(self, target: str) -> Path:
        """Where *target*, written in this page, points: relative to it, or to the root with '/'."""
        root = self.site.root
        if target.startswith("/"):
            return root / target.lstrip("/")
        return root / Path(self.rel).parent / target

    def docname_of(self, target: str) -> str:
        """The document a ``{doc}`` or a Markdown link names, as a docname."""
        path = self.file(target.removesuffix(".md"))
        try:
            return path.resolve().relative_to(self.site.root.resolve()).as_posix()
        except ValueError:
            return target


# -- one rule per concern ------------------------------------------------------


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


def directives(page: Page, items: tuple[Item, ...]) -> Iterator[model.Problem]:
    """Directives the site refuses, unknown ones, and the files and URLs directives take."""
    for item in items:
        if item.kind != "directive":
            continue
        name, line = item.name, item.line
        if name == "raw":
            yield page.problem(
                line,
                "the {raw} directive is not allowed: raw HTML is published unchecked into pages and feeds",
                "write Markdown; for a table, an image or a box use Markdown or a {grid}/{card} directive",
            )
        elif name == "eval-rst":
            yield page.problem(
                line,
                "{eval-rst} blocks are not allowed: reStructuredText can carry raw HTML",
                "write the content in Markdown",
            )
        elif name == "post":
            yield page.problem(
                line,
                "the {post} directive is not allowed: a post is a file in posts/ with front matter, "
                "and ABlog's redirect and external links are not supported",
                "remove the directive; describe the post in its front matter (title, date, author, tags, practice)",
            )
        elif name not in names.DIRECTIVES:
            yield page.problem(
                line,
                f"unknown directive {{{name}}}",
                f"{close_to(name, sorted(names.DIRECTIVES))} guide.md shows the directives".lstrip(),
                "content",
            )
        elif name in ("include", "literalinclude"):
            for value in (item.value, item.option("diff")):
                if value and not inside(page.file(value), page.site.root):
                    yield page.problem(
                        line,
                        f"{{{name}}} of {value!r}: the file is outside the repository (or in a hidden folder)",
                        COPY_IN,
                    )
                elif value and not page.file(value).is_file():
                    yield page.problem(line, f"{{{name}}} of {value!r}: there is no such file", COPY_IN, "content")
        elif name == "csv-table":
            if item.option("url") is not None:
                yield page.problem(
                    line, "{csv-table} with :url: is not allowed", "save the CSV file next to the post, use :file:"
                )
            path = item.option("file")
            if path and not inside(page.file(path), page.site.root):
                yield page.problem(
                    line,
                    f"{{csv-table}} :file: {path!r} is outside the repository (or in a hidden folder)",
                    "copy the CSV into the repository next to the post",
                )
        elif name in ("image", "figure"):
            yield from image(page, line, item.value)
            target = item.option("target")
            if target and scheme_of(target) and scheme_of(target) not in ALLOWED_SCHEMES:
                yield page.problem(
                    line,
                    f"link target {target!r} is not allowed",
                    "links may only be http://, https://, mailto: or relative",
                )
        elif name == "button-link" or (
            name in ("card", "grid-item-card") and item.option("link-type") in (None, "url")
        ):
            target = item.value if name == "button-link" else item.option("link")
            if target and scheme_of(target) and scheme_of(target) not in ALLOWED_SCHEMES:
                yield page.problem(
                    line,
                    f"link target {target!r} is not allowed",
                    "links may only be http://, https://, mailto: or relative",
                )
        elif name == "kb-series-parts" and (key := item.value.strip()) not in page.site.series:
            message = f"unknown series {key!r} in kb-series-parts: {model.did_you_mean(key, page.site.series)}"
            yield page.problem(line, message, "", "series")
        elif name == "kb-posts":
            for key in ("author", "series", "tag", "practice"):
                value = item.option(key)
                if value is not None and len(found := target_of(page.site, key, value.strip())) == 2:
                    yield page.problem(line, f"{{kb-posts}} :{key}: {found[0]}", found[1], key)
        elif name == "kb-browse" and (kind := item.value.strip()) not in BROWSE_KINDS:
            message = f"unknown list {kind!r} for kb-browse: choose one of {', '.join(BROWSE_KINDS)}"
            yield page.problem(line, message, "", "browse")
        elif name == "kb-schema" and (schema := item.value.strip()) not in SCHEMA_NAMES:
            yield page.problem(line, f"unknown schema {schema!r}", model.did_you_mean(schema, SCHEMA_NAMES), "schema")
        elif name == "update" and update_date(item.value.strip(), page.settings.post_date_format) is None:
            yield page.problem(
                line,
                f"{{update}} date {item.value.strip()!r} is not a date",
                "write it as YYYY-MM-DD, e.g. ```{update} 2023-05-08",
            )


def image(page: Page, line: int, uri: str) -> Iterator[model.Problem]:
    """An image is an http(s) URL or a file inside the repository that exists."""
    scheme = scheme_of(uri)
    fix = "images must be files inside the repository, or http(s) URLs"
    if scheme:
        if scheme not in IMAGE_SCHEMES:
            yield page.problem(line, f"image {uri!r} is not allowed", fix)
    elif not inside(page.file(uri.replace("*", "x")), page.site.root):
        yield page.problem(line, f"image {uri!r} is not allowed", fix)
    elif "*" not in uri and not page.file(uri).is_file():
        yield page.problem(
            line, f"image {uri!r}: there is no such file", "check the file name, relative to this page", "content"
        )


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
            if scheme not in ALLOWED_SCHEMES:
                yield page.problem(
                    item.line,
                    f"link target {uri!r} is not allowed",
                    "links may only be http://, https://, mailto: or relative",
                )
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
        if page.file(path).is_file() or path.lower() in page.labels:
            continue
        yield page.problem(
            item.line,
            f"the link target {path!r} is neither a page nor a file",
            f"{close_to(page.docname_of(path), sorted(page.built))} "
            "Link a page by its file, relative to this one: [text](other-post.md)".lstrip(),
            "link",
        )


def roles(page: Page, items: tuple[Item, ...]) -> Iterator[model.Problem]:
    """Roles: known names, and references to things that exist."""
    site = page.site
    for item in items:
        if item.kind != "role":
            continue
        name = item.name
        target = role_target(item.value)
        short = name.removeprefix("kb:")
        sources = citation_sources(page.settings)
        if name in sources:
            from kb.citations import Finding, parse

            found = parse(name, item.value, sources)
            if isinstance(found, Finding):
                yield page.problem(item.line, found.message, found.fix, "citation")
        elif short == "post" and target not in page.posts:
            yield page.problem(item.line, f"unknown post {target!r}", model.did_you_mean(target, page.posts), "post")
        elif name in ("term", "std:term"):
            if target.lower() not in page.terms:
                message = f"unknown term {target!r}: {model.did_you_mean(target, sorted(page.terms.values()))}"
                yield page.problem(item.line, message, "", "term")
        elif short in KB_ROLES:
            found = target_of(site, short, target)
            if len(found) == 2:
                yield page.problem(item.line, found[0], found[1], short)
        elif name in ("doc", "std:doc"):
            if page.docname_of(target) not in page.built:
                yield page.problem(
                    item.line,
                    f"{{doc}} names {target!r}, which is not a page",
                    f"{close_to(page.docname_of(target), sorted(page.built))} "
                    "Name a page by its file, relative to this one, without .md".lstrip(),
                    "link",
                )
        elif name in ("ref", "std:ref"):
            if target.lower() not in page.labels:
                yield page.problem(
                    item.line,
                    f"{{ref}} names the label {target!r}, which is not defined",
                    f"{close_to(target.lower(), sorted(page.labels))} "
                    "Define a label with (name)= above a heading; a post's label is its file name".lstrip(),
                    "link",
                )
        elif name == "download":
            if scheme_of(target):
                continue
            if not inside(page.file(target), site.root):
                yield page.problem(
                    item.line,
                    f"download {target!r} is outside the repository (or in a hidden folder)",
                    "copy the file into the repository next to the post",
                )
            elif not page.file(target).is_file():
                yield page.problem(
                    item.line,
                    f"download {target!r}: there is no such file",
                    "check the file name, relative to this page",
                    "link",
                )
        elif name not in names.ROLES and name not in sources:
            yield page.problem(
                item.line,
                f"unknown role {{{name}}}",
                f"{close_to(name, sorted(names.ROLES))} guide.md shows the roles".lstrip(),
                "content",
            )


def citation_sources(settings: Settings) -> dict[str, dict[str, object]]:
    """The citation roles and what they accept: ``kb_citations``, or kb.citations' defaults."""
    if settings.citations:
        return settings.citations  # type: ignore[no-any-return]
    from kb.citations import DEFAULT_CITATIONS  # the forms and documents live with the citations

    return DEFAULT_CITATIONS


def post_body(page: Page, items: tuple[Item, ...]) -> Iterator[model.Problem]:
    """A post's body: no second title, no placeholder left by ``make post`` once it is to be published.

    A draft is work in progress; a scheduled post is published by a later
    build with no one looking, so it must be finished already.
    """
    if not page.is_post:
        return
    for item in items:
        if item.kind == "heading" and item.name == "h1":
            yield page.problem(
                item.line, "the body repeats a '# ' title", "remove it: the title comes from 'title:'", "content"
            )
            break
    post = page.site.posts.get(page.docname)
    if post is not None and post.status == "draft":
        return
    for item in items:
        if item.kind == "paragraph" and item.value == PLACEHOLDER_INTRODUCTION:
            yield page.problem(
                item.line,
                f"the introduction is still make post's placeholder ({PLACEHOLDER_INTRODUCTION!r})",
                "write the introduction: one or two sentences that say what the post is about",
                "content",
            )
        if item.kind == "heading" and item.value.strip() == PLACEHOLDER_SECTION:
            yield page.problem(
                item.line,
                f"the section heading is still make post's placeholder ({PLACEHOLDER_SECTION!r})",
                "give the section its own heading",
                "content",
            )


def front_matter(page: Page, text: str) -> Iterator[model.Problem]:
    """Front matter of any page: no ``<meta http-equiv>``; post keys only on posts."""
    needs_meta = "http-equiv" in text.partition("\n---")[0]
    needs_keys = page.rel.split("/", 1)[0] not in CONTENT_DIRS and text.startswith("---")
    if not (needs_meta or needs_keys):
        return
    unreadable: list[model.Problem] = []
    fm = model.read_front_matter(page.site.root, page.site.root / page.rel, unreadable, text)
    if fm is None:
        # A post's, an author's or a series' front matter is the model's to report.
        if needs_keys:
            yield from unreadable
        return
    meta = (fm.values.get("myst") or {}).get("html_meta") if isinstance(fm.values.get("myst"), dict) else None
    for key in meta or {}:
        if isinstance(key, str) and key.startswith("http-equiv="):
            yield page.problem(
                fm.line("myst") + 1 + list(meta).index(key) + 1,
                f"meta http-equiv {key.split('=', 1)[1]!r} is not allowed (it can redirect or reload the page)",
                "remove it from html_meta or the {meta} directive; name=description and keywords are fine",
            )
    keys = sorted(POST_KEYS_ELSEWHERE.intersection(fm.values)) if needs_keys else []
    if keys:
        yield page.problem(
            fm.line(keys[0]),
            f"post front matter ({', '.join(keys)}) outside {model.POSTS_DIR}/",
            f"move the post into {model.POSTS_DIR}/, or remove those keys from this page",
        )


def placement(page: Page) -> Iterator[model.Problem]:
    """No page takes the name of a page the build generates."""
    blog = page.settings.blog_path
    reserved = (blog, "genindex", "search", "py-modindex")
    if page.docname in reserved or page.docname.startswith(f"{blog}/"):
        yield page.problem(
            1, f"the page name {page.docname!r} belongs to a page the build generates", "rename or move the file"
        )


# -- the whole site -------------------------------------------------------------


def anchors_of(items: tuple[Item, ...], heading_anchors: int) -> frozenset[str]:
    """The anchors a Markdown link may name in a page: MyST's heading slugs, section ids, labels."""
    from docutils.nodes import make_id
    from myst_parser.slugs import github_slugify

    found: set[str] = set()
    for item in items:
        if item.kind == "heading" and int(item.name[1:]) <= heading_anchors:
            found.update((github_slugify(item.value), make_id(item.value)))
        elif item.kind == "target":
            found.update((item.value, item.value.lower(), make_id(item.value)))
    return frozenset(found)


#: The labels ABlog gives its generated pages (ablog/blog.py), which a page may name with {ref}.
ABLOG_LABELS = frozenset({"blog-posts", "blog-archives", "blog-tags", "blog-categories", "blog-authors"})


def labels_of(
    site: model.Site, built: set[str], items: dict[str, tuple[Item, ...]]
) -> dict[str, list[tuple[str, int]]]:
    """Every label -> where it is defined ``(file, line)``: ``(name)=`` targets and posts' file names."""
    owners: dict[str, list[tuple[str, int]]] = {}
    for rel in sorted(items):
        docname = rel.removesuffix(".md")
        if docname not in built:
            continue
        defined: dict[str, int] = {}
        for item in items[rel]:
            if item.kind == "target":
                defined.setdefault(item.value.lower(), item.line)
        if docname in site.posts:
            defined.setdefault(model.post_label(docname).lower(), 1)
        for label, line in defined.items():
            owners.setdefault(label, []).append((rel, line))
    return owners


def duplicate_labels(site: model.Site, owners: dict[str, list[tuple[str, int]]]) -> Iterator[model.Problem]:
    """A label defined twice links to one of them at random, so each label has one page."""
    for label, places in sorted(owners.items()):
        if len(places) < 2:
            continue
        docnames = [rel.removesuffix(".md") for rel, _ in places]
        if all(d in site.posts and model.post_label(d).lower() == label for d in docnames):
            continue  # two posts with one file name: the content model has said so
        others = ", ".join(rel for rel, _ in places[:-1])
        rel, line = places[-1]
        yield model.Problem(
            rel,
            line,
            f"the label {label!r} is also defined in {others}; links to it would reach only one",
            "rename one of the labels (a post's label is its file name)",
            "policy",
        )


def excluded_posts(site: model.Site, found: list[str], include_held: bool) -> Iterator[model.Problem]:
    """A post that ``exclude_patterns`` leaves out would silently go unpublished."""
    present = set(found)
    for post in site.posts.values():
        wanted = post.published or (include_held and post.status != "invalid")
        if wanted and post.path not in present:
            yield model.Problem(
                post.path,
                1,
                "this post is left out of the build by exclude_patterns",
                "remove the pattern from conf.py, or set 'draft: true' to hold the post back",
                "policy",
            )


def check_site(
    site: model.Site,
    settings: Settings,
    found: list[str],
    texts: dict[str, str],
    items: dict[str, tuple[Item, ...]],
    *,
    include_held: bool,
) -> list[model.Problem]:
    """Every rule on every page of *found* (their *texts* and parsed *items*)."""

    def in_build(docname: str) -> bool:
        post = site.posts.get(docname)
        return post is None or (post.status != "invalid" and (post.published or include_held))

    built = frozenset(rel.removesuffix(".md") for rel in found if in_build(rel.removesuffix(".md")))
    owners = labels_of(site, built, items)
    labels = frozenset(owners) | {"genindex", "modindex", "search", "py-modindex"} | ABLOG_LABELS
    problems: list[model.Problem] = [*duplicate_labels(site, owners), *excluded_posts(site, found, include_held)]

    @functools.cache  # only pages that a link names a section of
    def anchors(docname: str) -> frozenset[str]:
        return anchors_of(items.get(f"{docname}.md", ()), settings.heading_anchors)

    terms = {
        i.value.lower(): i.value
        for rel, its in items.items()
        if rel.removesuffix(".md") in built
        for i in its
        if i.kind == "term"
    }
    posts = {model.post_label(docname): docname for docname in built if docname in site.posts}
    for rel, page_items in items.items():
        page = Page(rel, site, settings, built, labels, anchors, terms, posts)
        problems += placement(page)
        problems += front_matter(page, texts[rel])
        for rule in (html, directives, links, roles, post_body):
            problems += rule(page, page_items)
    return problems
