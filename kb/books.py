"""A series as a book: one PDF and one EPUB per series, made from the published pages.

``make pdf`` and ``make epub`` (``python -m kb.books pdf|epub``) read the site
that ``make html`` built and put each series together: a cover (title,
summary, authors with their roles, the dates of the parts, the practice's
name), a table of contents, the series' introduction, then every published
part in order, each with its own byline.  Nothing is rendered twice: a part
is its page's article, as readers see it on the site, without the site's
navigation.  Links between parts lead inside the book; links to other pages
lead to the published site (``kb_site_url``).  Drafts and scheduled parts are
never in the published site, so never in a book.

The PDF is laid out by WeasyPrint (CSS paged media: page numbers, running
headers with the series and the part, a table of contents with page numbers);
the EPUB is written with EbookLib.  Both are optional dependencies
(``requirements-books.txt``): ``make html`` never needs them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

from bs4 import BeautifulSoup, Tag
from docutils import nodes

from kb import __version__, model
from kb.content import parts as series_parts
from kb.content import post_of, series_of, site_of

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sphinx.application import Sphinx
    from sphinx.config import Config

ROOT = Path(__file__).resolve().parent.parent
STYLESHEET = Path(__file__).with_name("book.css")
#: Where the published site keeps its books (``make publish``), relative to its root.
BOOKS_DIR = "books"
#: What a page shows that a book does not: navigation, search data, site furniture.
NOT_IN_BOOKS = (
    ".kb-byline", ".kb-series-banner", ".kb-series-nav", ".kb-related", "details.kb-history", ".kb-suggest",
    ".kb-page-updated", ".kb-held", ".kb-due", ".kb-search-data", ".kb-books", ".kb-series-status",
    ".kb-posts-heading", ".kb-series-part-list", "a.headerlink", "button.copybtn", ".ablog__blog_comments",
)  # fmt: skip
DATE_FORMAT = "%-d %B %Y"


@dataclass
class Chapter:
    """One part of the book: where it comes from, its anchor and its content."""

    ident: str  # the anchor (PDF) and file name (EPUB) of the chapter
    title: str
    byline: str
    page: str  # the site page it is made from, e.g. posts/x.html
    body: Tag


@dataclass
class Book:
    key: str
    title: str
    summary: str
    cover: list[str]  # lines of the cover under the title
    introduction: Tag
    chapters: list[Chapter]
    site_url: str
    publisher: str
    language: str = "en"


def article(site: Path, page: str) -> Tag:
    """The article of a built page, without what a book does not show."""
    soup = BeautifulSoup((site / page).read_text(encoding="utf-8"), "html.parser")
    found = soup.select_one("article.bd-article") or soup.select_one("[role=main]")
    if found is None:
        raise BookError(f"{site / page}: no article found: is it a page of this site?")
    for selector in NOT_IN_BOOKS:
        for node in found.select(selector):
            node.decompose()
    return found


class BookError(Exception):
    """A book cannot be made: the message says why and what to do."""


def authors_line(site: model.Site, keys: Sequence[str]) -> str:
    names = [site.authors[key].name for key in keys if key in site.authors]
    return " and ".join(", ".join(names).rsplit(", ", 1)) if names else ""


def byline(site: model.Site, post: model.Post, updated: dt.datetime | None) -> str:
    """``Part 2 · By A and B · 20 April 2023 · last updated 3 May 2024``."""
    parts = [f"Part {post.part}", f"By {authors_line(site, post.authors)}"]
    if post.date:
        parts.append(post.date.strftime(DATE_FORMAT))
    if updated and post.date and updated.date() > post.date.date():
        parts.append(f"last updated {updated.strftime(DATE_FORMAT)}")
    return " · ".join(parts)


def last_updates(root: Path, settings: dict[str, Any]) -> dict[str, dt.datetime]:
    """When each file last changed in git (ignored commits aside), where the history is known."""
    from kb import history

    found = history.read_history(root)
    ignored = frozenset(settings.get("kb_history_ignore_commits") or ())
    dates = {}
    for path in found.changes:
        change = found.last_update(path, ignored)
        if change is not None:
            dates[path] = change.date
    return dates


def collect(root: Path, site_dir: Path, site: model.Site, key: str, settings: dict[str, Any]) -> Book:
    """Everything a book of series *key* holds, from the content model and the built pages."""
    series = site.series[key]
    parts = series_parts(site, key, previews=False)
    if not parts:
        raise BookError(f"series {key!r} has no published part yet: there is nothing to put in a book")
    updates = last_updates(root, settings)
    chapters = [
        Chapter(
            f"part-{post.part}",
            post.title,
            byline(site, post, updates.get(post.path)),
            f"{post.docname}.html",
            article(site_dir, f"{post.docname}.html"),
        )
        for post in parts
    ]
    keys = list(dict.fromkeys(k for post in parts for k in post.authors if k in site.authors))
    people = [f"{site.authors[k].name}, {site.authors[k].role}" for k in keys]
    dates = [post.date for post in parts if post.date]
    span = dates[0].strftime(DATE_FORMAT) if dates else ""
    if dates and dates[-1].date() != dates[0].date():
        span = f"{span} to {dates[-1].strftime(DATE_FORMAT)}"
    count = f"{len(parts)} part{'s' if len(parts) != 1 else ''}"
    status = "complete" if series.status == "complete" else "ongoing: more parts are coming"
    publisher = str(settings.get("copyright") or settings.get("author") or settings.get("project") or "")
    return Book(
        key=key,
        title=series.title,
        summary=series.summary,
        cover=[*people, f"{count}, {span} ({status})"],
        introduction=article(site_dir, f"{series.docname}.html"),
        chapters=chapters,
        site_url=str(settings.get("kb_site_url") or "").rstrip("/") + "/",
        publisher=publisher,
    )


# -- links -----------------------------------------------------------------------


def relink(book: Book, body: Tag, page: str, *, target: str) -> None:
    """Links between parts lead inside the book (``target`` "pdf": anchors; "epub": files);
    links to other pages of the site lead to the published site.  Ids get the chapter's
    prefix, so two parts may have sections of the same name."""
    chapters = {chapter.page: chapter for chapter in book.chapters}
    prefix = chapters[page].ident + "--" if page in chapters else "intro--"
    for node in body.select("[id]"):
        node["id"] = prefix + str(node["id"])
    base = urljoin(book.site_url, page)
    for link in body.select("a[href]"):
        href = str(link["href"])
        if href.startswith("#"):
            link["href"] = f"#{prefix}{href[1:]}" if len(href) > 1 else f"#{prefix.removesuffix('--')}"
            continue
        absolute = urljoin(base, href)
        if not absolute.startswith(book.site_url):
            continue  # another site: as it is
        path = urlsplit(absolute).path.removeprefix(urlsplit(book.site_url).path)
        fragment = urlsplit(absolute).fragment
        chapter = chapters.get(path)
        if chapter is None:
            link["href"] = absolute
            continue
        anchor = f"{chapter.ident}--{fragment}" if fragment else chapter.ident
        link["href"] = f"#{anchor}" if target == "pdf" else f"{chapter.ident}.xhtml#{anchor}"


def images(body: Tag, site_dir: Path, page: str) -> list[Path]:
    """The image files a part shows, with their sources made absolute file addresses."""
    found = []
    for image in body.select("img[src]"):
        src = str(image["src"])
        if urlsplit(src).scheme:
            continue
        path = (site_dir / page).parent.joinpath(src).resolve()
        image["src"] = path.as_uri()
        found.append(path)
    return found


# -- the PDF -----------------------------------------------------------------------


def cover_html(book: Book) -> str:
    lines = "".join(f'<p class="kb-book-line">{escape(line)}</p>' for line in book.cover)
    return (
        f'<section class="kb-book-cover"><p class="kb-book-kind">A series from the {escape(book.publisher)} '
        f'knowledge base</p><h1 class="kb-book-title">{escape(book.title)}</h1>'
        f'<p class="kb-book-summary">{escape(book.summary)}</p>{lines}'
        f'<p class="kb-book-source">{escape(urljoin(book.site_url, f"series/{book.key}.html"))}</p></section>'
    )


def escape(text: str) -> str:
    from html import escape as html_escape

    return html_escape(text, quote=True)


def contents_html(book: Book) -> str:
    entries = "".join(f'<li><a href="#{c.ident}">{escape(c.title)}</a></li>' for c in book.chapters)
    return f'<nav class="kb-book-contents"><h2>Contents</h2><ol>{entries}</ol></nav>'


def chapter_html(chapter: Chapter) -> str:
    body = chapter.body
    heading = body.find("h1")
    if heading is not None:
        heading.decompose()
    return (
        f'<section class="kb-book-part" id="{chapter.ident}"><h1 class="kb-book-part-title">{escape(chapter.title)}'
        f'</h1><p class="kb-book-byline">{escape(chapter.byline)}</p>{body.decode_contents()}</section>'
    )


def book_document(book: Book, site_dir: Path, *, target: str) -> str:
    """The whole book as one HTML document (the PDF), with links and images resolved."""
    intro = book.introduction
    relink(book, intro, f"series/{book.key}.html", target=target)
    title = intro.find("h1")
    if title is not None:
        title.decompose()
    for chapter in book.chapters:
        relink(book, chapter.body, chapter.page, target=target)
        images(chapter.body, site_dir, chapter.page)
    parts = "".join(chapter_html(chapter) for chapter in book.chapters)
    return (
        f'<!DOCTYPE html><html lang="{book.language}"><head><meta charset="utf-8">'
        f"<title>{escape(book.title)}</title></head>"
        f'<body data-series="{escape(book.title)}">{cover_html(book)}{contents_html(book)}'
        f'<section class="kb-book-intro"><h1 class="kb-book-part-title">Introduction</h1>'
        f"{intro.decode_contents()}</section>{parts}</body></html>"
    )


def write_pdf(book: Book, site_dir: Path, path: Path) -> None:
    from weasyprint import CSS, HTML

    document = book_document(book, site_dir, target="pdf")
    css = CSS(string=stylesheet(book))
    path.parent.mkdir(parents=True, exist_ok=True)
    HTML(string=document, base_url=str(site_dir) + "/").write_pdf(path, stylesheets=[css])


def stylesheet(book: Book) -> str:
    """The book's stylesheet, its running header naming the series."""
    title = book.title.replace("\\", "\\\\").replace('"', '\\"')
    return STYLESHEET.read_text(encoding="utf-8").replace("SERIES-TITLE", title)


# -- the EPUB ------------------------------------------------------------------------


def write_epub(book: Book, site_dir: Path, path: Path) -> None:
    from ebooklib import epub

    out = epub.EpubBook()
    out.set_identifier(urljoin(book.site_url, f"series/{book.key}.html"))
    out.set_title(book.title)
    out.set_language(book.language)
    for line in book.cover[:-1]:
        out.add_author(line.split(", ")[0])
    css = stylesheet(book)
    style = epub.EpubItem(uid="style", file_name="book.css", media_type="text/css", content=css.encode())
    out.add_item(style)
    cover = epub.EpubHtml(title=book.title, file_name="cover.xhtml", lang=book.language)
    cover.content = cover_html(book)
    intro_body = book.introduction
    relink(book, intro_body, f"series/{book.key}.html", target="epub")
    title = intro_body.find("h1")
    if title is not None:
        title.decompose()
    intro = epub.EpubHtml(title="Introduction", file_name="introduction.xhtml", lang=book.language)
    intro.content = f"<h1>Introduction</h1>{intro_body.decode_contents()}"
    pages = [cover, intro]
    seen: dict[Path, str] = {}
    for chapter in book.chapters:
        relink(book, chapter.body, chapter.page, target="epub")
        for image in chapter.body.select("img[src]"):
            src = str(image["src"])
            if urlsplit(src).scheme:
                continue
            file = (site_dir / chapter.page).parent.joinpath(src).resolve()
            name = seen.setdefault(file, f"images/{len(seen)}{file.suffix}")
            image["src"] = name
        item = epub.EpubHtml(title=chapter.title, file_name=f"{chapter.ident}.xhtml", lang=book.language)
        item.content = chapter_html(chapter)
        pages.append(item)
    for file, name in seen.items():
        out.add_item(epub.EpubImage(uid=name, file_name=name, content=file.read_bytes()))
    for page in pages:
        page.add_item(style)
        out.add_item(page)
    out.toc = pages[1:]
    out.spine = ["nav", *pages]
    out.add_item(epub.EpubNcx())
    out.add_item(epub.EpubNav())
    path.parent.mkdir(parents=True, exist_ok=True)
    epub.write_epub(str(path), out)


# -- the command -----------------------------------------------------------------------

WRITERS = {"pdf": write_pdf, "epub": write_epub}


def make(kind: str, root: Path, site_dir: Path, out: Path, only: str | None = None) -> list[Path]:
    """Write the books of every series (or of *only*) into *out*; the paths written."""
    from kb.cli import conf_settings

    settings = conf_settings(root)
    site = model.load(root, timezone=str(settings.get("kb_timezone") or "UTC"))
    if not (site_dir / "index.html").is_file():
        raise BookError(f"{site_dir} holds no built site: run make html first")
    keys = [only] if only else [key for key in site.series if series_parts(site, key, previews=False)]
    if only and only not in site.series:
        raise BookError(f"unknown series {only!r}: {model.did_you_mean(only, site.series)}")
    written = []
    for key in keys:
        start = time.perf_counter()
        book = collect(root, site_dir, site, key, settings)
        path = out / f"{key}.{kind}"
        WRITERS[kind](book, site_dir, path)
        size = path.stat().st_size / 1000
        print(f"kb books: {path} ({len(book.chapters)} parts, {size:.0f} KB, {time.perf_counter() - start:.1f} s)")
        written.append(path)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kb.books", description="One PDF or EPUB per series.")
    parser.add_argument("kind", choices=sorted(WRITERS))
    parser.add_argument("--series", default="", help="only this series (its key)")
    parser.add_argument("--root", type=Path, default=ROOT, help="the site's folder")
    parser.add_argument("--site", type=Path, default=None, help="the built site (default: _build/html)")
    parser.add_argument("--out", type=Path, default=None, help="where to write (default: _build/<kind>)")
    args = parser.parse_args(argv)
    site_dir = args.site or args.root / "_build" / "html"
    out = args.out or args.root / "_build" / args.kind
    try:
        make(args.kind, args.root, site_dir, out, args.series or None)
    except BookError as exc:
        print(f"kb books: {exc}", file=sys.stderr)
        return 1
    except ImportError as exc:
        print(f"kb books: {exc.name} is missing: make {args.kind} installs requirements-books.txt", file=sys.stderr)
        return 1
    return 0


# -- the site links its books ------------------------------------------------------------

#: ``KB_BOOKS=1 make html`` (``make publish``) links and copies the books built before.
BOOKS_VARIABLE = "KB_BOOKS"


def built_books(app: Sphinx) -> dict[str, list[tuple[str, Path]]]:
    """For each series, the books ``make pdf`` and ``make epub`` wrote: ``[("PDF", path), ...]``."""
    build = Path(app.outdir).parent
    found: dict[str, list[tuple[str, Path]]] = {}
    for key in site_of(app.env).series:
        for kind in ("pdf", "epub"):
            path = build / kind / f"{key}.{kind}"
            if path.is_file():
                found.setdefault(key, []).append((kind.upper(), path))
    return found


def on_config_inited(app: Sphinx, config: Config) -> None:
    """``KB_BOOKS=1`` sets ``kb_books``: a change of setting, so every page is written again."""
    config.kb_books = config.kb_books or os.environ.get(BOOKS_VARIABLE, "") not in ("", "0")


def on_builder_inited(app: Sphinx) -> None:
    """Find the books this build links (none unless asked for)."""
    app.env.kb_books = built_books(app) if app.config.kb_books else {}  # type: ignore[attr-defined]


def download_links(app: Sphinx, docname: str, key: str) -> nodes.paragraph | None:
    """``Download this series as a book: PDF · EPUB``, linking the copies in the site's books folder."""
    books = app.env.kb_books.get(key)  # type: ignore[attr-defined]
    if not books:
        return None
    para = nodes.paragraph(classes=["kb-books"])
    para += nodes.Text("Download this series as a book: ")
    prefix = "../" * docname.count("/")
    for index, (kind, path) in enumerate(books):
        if index:
            para += nodes.Text(" · ")
        para += nodes.reference("", kind, refuri=f"{prefix}{BOOKS_DIR}/{path.name}", classes=["kb-book-link"])
    return para


def on_doctree_resolved(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """The series page and every part's series box link the series' books."""
    site = site_of(app.env)
    series = series_of(docname, site)
    post = post_of(app.env, docname)
    if series is not None:
        links = download_links(app, docname, series.key)
        section = next(iter(doctree.findall(nodes.section)), None)
        if links is not None and section is not None:
            section.insert(section.first_child_matching_class(nodes.title) + 1, links)
    elif post is not None and post.series:
        for box in doctree.findall(lambda n: isinstance(n, nodes.container) and "kb-series-banner" in n["classes"]):
            links = download_links(app, docname, post.series)
            if links is not None:
                box += links


def on_build_finished(app: Sphinx, exception: Exception | None) -> None:
    """Copy the linked books into the site; a site without books keeps none."""
    if exception is not None or app.builder.format != "html":
        return
    folder = Path(app.outdir) / BOOKS_DIR
    shutil.rmtree(folder, ignore_errors=True)
    for books in app.env.kb_books.values():  # type: ignore[attr-defined]
        for _kind, path in books:
            folder.mkdir(exist_ok=True)
            shutil.copy2(path, folder / path.name)


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_config_value("kb_books", False, "html", types=frozenset({bool}))
    app.connect("config-inited", on_config_inited)
    app.connect("builder-inited", on_builder_inited)
    app.connect("doctree-resolved", on_doctree_resolved)
    app.connect("build-finished", on_build_finished)
    return {"version": __version__, "env_version": 1, "parallel_read_safe": True, "parallel_write_safe": True}


if __name__ == "__main__":
    sys.exit(main())
