"""One page being checked, and the rules on a whole page: where it lives, its front matter, its labels.

Each rule yields :class:`kb.model.Problem` records: the file, the line, what
is wrong (with the bad value) and the fix.  Messages are written for a
consultant, not for a developer: they name the Markdown, not the parser.
"""

from __future__ import annotations

import datetime as dt
import os
import posixpath
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from kb import model
from kb.rules.markdown import Item

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
#: The folder of a listing's further pages, below its first page.
PAGE_FOLDER = "page"

_SCHEME = re.compile(r"^([a-z][a-z0-9+.\-]*):")

NO_HTML = "write Markdown instead; to show a tag as text, put it in backticks"
COPY_IN = "copy the file into the repository next to the post and include that copy"
SAFE_LINKS = "links may only be http://, https://, mailto: or relative"
IMAGE_FIX = "images must be files inside the repository, or http(s) URLs"


def scheme_of(uri: str) -> str:
    """The scheme a browser would see in *uri* ('' for a relative target).

    Browsers drop ASCII whitespace and control characters inside a URL before
    reading its scheme, so ``java\\tscript:`` is ``javascript:``; so do we.
    """
    cleaned = "".join(ch for ch in uri if ch > " " and ch != "\x7f").lower()
    found = _SCHEME.match(cleaned)
    return found.group(1) if found else ""


def file_of(root: Path, rel: str, target: str) -> str:
    """Where *target*, written in page *rel*, points: relative to it, or to the root with '/'.

    As text (``os.path``): the rules and each load that takes over ask it for
    every file a page names, and ``pathlib`` took a tenth of a second of it at
    2,000 posts.
    """
    if target.startswith("/"):
        return os.path.join(root, target.lstrip("/"))  # noqa: PTH118 - text, see above
    return os.path.join(root, posixpath.dirname(rel), target)  # noqa: PTH118 - text, see above


def on_disk(root: Path, rel: str, question: str, target: str) -> bool:
    """Whether *target*, written in page *rel*, is a file (*question* ``is_file``) or lies
    inside the repository (``inside``)."""
    path = file_of(root, rel, target)
    return os.path.isfile(path) if question == "is_file" else inside(path, root)  # noqa: PTH113 - text


def inside(path: str | Path, root: str | Path) -> bool:
    """True when *path* (symlinks resolved) is a file of *root*, outside hidden folders."""
    resolved, base = os.path.realpath(path), os.path.realpath(root)
    if resolved == base:
        return True
    if not resolved.startswith(base.rstrip(os.sep) + os.sep):
        return False
    return not any(part.startswith(".") for part in resolved[len(base) :].split(os.sep))  # noqa: PTH206


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
    if typ in ("author", "series"):
        known: dict[str, model.Author] | dict[str, model.Series] = site.authors if typ == "author" else site.series
        found = known.get(target)
        if found is not None:
            return found.docname, "", found.title
        whose, folder = ("An author's", model.AUTHORS_DIR) if typ == "author" else ("A series'", model.SERIES_DIR)
        return f"unknown {typ} {target!r}", f"{model.did_you_mean(target, known)} {whose} key names a file in {folder}/"
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
    #: What the disk answered about the files this page names, by (question, target): the
    #: page's problems hold while the answers do (:func:`kb.rules.check_site`).
    disk: dict[tuple[str, str], bool] = field(default_factory=dict, compare=False)

    @property
    def docname(self) -> str:
        return self.rel.removesuffix(".md")

    @property
    def is_post(self) -> bool:
        return self.rel.startswith(f"{model.POSTS_DIR}/")

    def problem(self, line: int, message: str, fix: str, kind: str = "policy") -> model.Problem:
        return model.Problem(self.rel, line, message, fix, kind)

    def is_file(self, target: str) -> bool:
        """Whether *target*, written in this page, is a file (noted in :attr:`disk`)."""
        return self.ask("is_file", target)

    def inside(self, target: str) -> bool:
        """Whether *target*, written in this page, lies inside the repository (:func:`inside`; noted)."""
        return self.ask("inside", target)

    def ask(self, question: str, target: str) -> bool:
        answer = self.disk[question, target] = on_disk(self.site.root, self.rel, question, target)
        return answer

    def docname_of(self, target: str) -> str:
        """The document a ``{doc}`` or a Markdown link names, as a docname."""
        name = target.removesuffix(".md")
        joined = name.lstrip("/") if name.startswith("/") else posixpath.join(posixpath.dirname(self.rel), name)
        docname = posixpath.normpath(joined)  # in words, not on the disk: asked thousands of times a build
        return target if docname == ".." or docname.startswith("../") else docname


# -- one rule per concern ------------------------------------------------------


def unsafe_link(page: Page, line: int, target: str | None) -> Iterator[model.Problem]:
    """A link target with a scheme other than http(s) or mailto (``javascript:``...)."""
    if target and scheme_of(target) and scheme_of(target) not in ALLOWED_SCHEMES:
        yield page.problem(line, f"link target {target!r} is not allowed", SAFE_LINKS)


def unknown_name(page: Page, item: Item, kind: str, known: frozenset[str]) -> model.Problem:
    """An unknown directive or role, with the nearest known name."""
    fix = f"{close_to(item.name, sorted(known))} guide.md shows the {kind}s".lstrip()
    return page.problem(item.line, f"unknown {kind} {{{item.name}}}", fix, "content")


def image(page: Page, line: int, uri: str) -> Iterator[model.Problem]:
    """An image is an http(s) URL or a file inside the repository that exists."""
    scheme = scheme_of(uri)
    if scheme:
        if scheme not in IMAGE_SCHEMES:
            yield page.problem(line, f"image {uri!r} is not allowed", IMAGE_FIX)
    elif not page.inside(uri.replace("*", "x")):
        yield page.problem(line, f"image {uri!r} is not allowed", IMAGE_FIX)
    elif "*" not in uri and not page.is_file(uri):
        yield page.problem(
            line, f"image {uri!r}: there is no such file", "check the file name, relative to this page", "content"
        )


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
    # authors/<key>/page/<n> holds the further pages of an author's posts (kb.paging).
    paged = page.docname.startswith(f"{model.AUTHORS_DIR}/") and f"/{PAGE_FOLDER}/" in page.docname
    if page.docname in reserved or page.docname.startswith(f"{blog}/") or paged:
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
