"""What a Markdown page contains, read with MyST's own parser.

The rules never read raw lines: a page is parsed by the markdown-it parser that
MyST builds (the same plugins and extensions as the build), and what the rules
need is taken from its tokens: HTML, directives with their options, roles,
links, images, headings and labels, each with its line in the file.  Text in a
code fence or in inline code is code, so it is never taken for any of these.
Directive bodies that hold Markdown (admonitions, cards, tabs, ``{update}``...)
are parsed in turn, at their own lines.

Reading a page depends only on its text, so the result is kept between runs
(:class:`Cache`), by the text itself: a build reads again only what changed.
Many pages to read (a first build, a new clone) are read by several
processes, as Sphinx reads them with ``-j``.
"""

from __future__ import annotations

import functools
import hashlib
import multiprocessing
import re
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from kb import stamped

if TYPE_CHECKING:
    from collections.abc import Sequence

    from markdown_it import MarkdownIt
    from markdown_it.token import Token

#: Fewer pages to read than this are read in this process: starting others costs more.
PARALLEL_FROM = 200

#: Version of :class:`Item` and of what :func:`read` records; part of the cache's key.
FACTS_VERSION = 4

#: Directives whose body is not Markdown: code, data, other markup, file lists.
NOT_MARKDOWN = frozenset(
    {
        "code", "code-block", "sourcecode", "literalinclude", "include", "raw", "eval-rst", "csv-table",
        "math", "toctree", "parsed-literal", "productionlist", "highlight", "kb-schema", "only", "tab-set-code",
    }
)  # fmt: skip

#: Paragraphs up to this length are kept (a placeholder sentence is short); longer
#: ones are only searched for HTML, links and roles, which keeps the cache small.
SHORT_PARAGRAPH = 200

#: What stands in a ``text`` item for code, a role, a link, an image or HTML:
#: no word runs across it, so no term is found inside them.
NOT_TEXT = "\x00"

#: MyST's directive options: ``:name: value`` lines at the top of the body.
_OPTION = re.compile(r"^:([\w-]+):(?:\s+(.*))?$")
#: The start of a directive fence's info string: ``{name} argument``.
_DIRECTIVE = re.compile(r"^\{([^}\s]+)\}\s*(.*)$")
#: A role's target: ``text <target>`` or ``target``.
_EXPLICIT = re.compile(r"^(.*?)\s*<([^<>]+)>$", re.DOTALL)


@dataclass(frozen=True)
class Item:
    """One thing in a page that a rule may judge.

    *kind* is ``html``, ``directive``, ``role``, ``link``, ``image``,
    ``heading``, ``target``, ``term`` (of a glossary), ``paragraph`` or
    ``text``; *name* is the directive or role name (or ``h1``..``h6``, or a
    term's entry: its first term); *value* the argument, role content, URL,
    heading text, label or term; *options* a directive's options.

    A ``text`` item is the plain text of a paragraph or a table cell, its line
    breaks kept: code, roles, links, images and HTML are each :data:`NOT_TEXT`.
    """

    kind: str
    line: int
    name: str = ""
    value: str = ""
    options: tuple[tuple[str, str], ...] = ()

    def option(self, key: str) -> str | None:
        return next((value for name, value in self.options if name == key), None)


def role_target(content: str) -> str:
    """The target of a role written ``text <target>`` or ``target``."""
    found = _EXPLICIT.match(content.strip())
    return (found.group(2) if found else content).strip()


@functools.cache
def parser(extensions: tuple[str, ...]) -> MarkdownIt:
    """MyST's markdown-it parser with the site's syntax extensions (``myst_enable_extensions``)."""
    from markdown_it.renderer import RendererHTML
    from myst_parser.config.main import MdParserConfig
    from myst_parser.parsers.mdit import create_md_parser

    md = create_md_parser(MdParserConfig(enable_extensions=set(extensions)), RendererHTML)
    # Counting words (for MyST's reading time) is no rule's business, and took a tenth
    # of the parse: every directive's body is parsed, and counted, again.
    return md.disable("wordcount")


def split_options(body: str) -> tuple[list[tuple[str, str]], str, int]:
    """A directive body's options, the rest of the body, and how many lines the options took."""
    lines = body.splitlines(keepends=True)
    options: list[tuple[str, str]] = []
    if lines and lines[0].strip() == "---":
        end = next((i for i in range(1, len(lines)) if lines[i].strip() == "---"), None)
        if end is not None:
            for line in lines[1:end]:
                key, colon, value = line.partition(":")
                if colon and key.strip() and not key.startswith((" ", "\t")):
                    options.append((key.strip(), value.strip().strip("\"'")))
            return options, "".join(lines[end + 1 :]), end + 1
    taken = 0
    for line in lines:
        found = _OPTION.match(line.rstrip("\n"))
        if not found:
            break
        options.append((found.group(1), (found.group(2) or "").strip()))
        taken += 1
    return options, "".join(lines[taken:]), taken


def _inline(token: Token, line: int, items: list[Item], *, prose: bool) -> None:
    """HTML, links, images and roles of one paragraph (or heading), at their own line; and,
    in *prose*, the paragraph's plain text."""
    if prose and (text := _prose(token)).replace(NOT_TEXT, "").strip():
        items.append(Item("text", line, value=text))
    for child in token.children or ():
        kind = child.type
        if kind in ("softbreak", "hardbreak"):
            line += 1
        elif kind == "html_inline":
            items.append(Item("html", line, value=child.content))
        elif kind == "link_open":
            items.append(Item("link", line, value=str(child.attrGet("href") or "")))
        elif kind == "image":
            items.append(Item("image", line, value=str(child.attrGet("src") or "")))
        elif kind == "myst_role":
            items.append(Item("role", line, name=str(child.meta.get("name", "")), value=child.content))
        if kind in ("text", "code_inline") and "\n" in child.content:
            line += child.content.count("\n")


def _prose(token: Token) -> str:
    """The plain text of a paragraph, its line breaks kept: emphasis keeps its words; code, roles,
    links, images and HTML are each :data:`NOT_TEXT` (and the line breaks they hold)."""
    text, in_link = [], 0
    for child in token.children or ():
        kind = child.type
        in_link += (kind == "link_open") - (kind == "link_close")
        if kind in ("softbreak", "hardbreak"):
            text.append("\n")
        elif kind == "text" and not in_link:
            text.append(child.content)
        elif not kind.endswith(("_open", "_close")) or kind == "link_open":
            breaks = child.content.count("\n") if kind in ("text", "code_inline") else 0
            text.append(NOT_TEXT + "\n" * breaks)
    return "".join(text)


def _terms(body: str, first_line: int, items: list[Item]) -> None:
    """The terms of a glossary: unindented lines, each run of them one entry, its definition indented below."""
    entry = ""
    for number, text in enumerate(body.splitlines(), first_line):
        if text.strip() and not text[0].isspace():
            entry = entry or text.strip()
            items.append(Item("term", number, name=entry, value=text.strip()))
        else:
            entry = ""


def _walk(md: MarkdownIt, text: str, first_line: int, items: list[Item], *, prose: bool, depth: int = 0) -> None:
    """Record the items of *text*, whose first line is line *first_line* of the file (with *prose*,
    ``text`` items too)."""
    tokens = md.parse(text)
    for index, token in enumerate(tokens):
        line = first_line + (token.map[0] if token.map else 0)
        kind = token.type
        if kind == "html_block":
            items.append(Item("html", line, value=token.content))
        elif kind in ("fence", "colon_fence"):
            found = _DIRECTIVE.match(token.info.strip())
            if not found:
                continue  # a code block
            name, argument = found.group(1), found.group(2).strip()
            options, body, taken = split_options(token.content)
            items.append(Item("directive", line, name=name, value=argument, options=tuple(options)))
            if name == "glossary":
                _terms(body, line + 1 + taken, items)
            if name not in NOT_MARKDOWN and body.strip() and depth < 20:
                _walk(md, body, line + 1 + taken, items, prose=prose, depth=depth + 1)
        elif kind == "heading_open":
            title = tokens[index + 1].content if index + 1 < len(tokens) else ""
            items.append(Item("heading", line, name=token.tag, value=title))
            _inline(tokens[index + 1], line, items, prose=False)
        elif kind == "myst_target":
            items.append(Item("target", line, value=token.content))
        elif kind == "paragraph_open" and index + 1 < len(tokens):
            inline = tokens[index + 1]
            if len(inline.content) <= SHORT_PARAGRAPH:
                items.append(Item("paragraph", line, value=" ".join(inline.content.split())))
            _inline(inline, line, items, prose=prose)
        elif kind == "inline" and tokens[index - 1].type not in ("heading_open", "paragraph_open"):
            _inline(token, line, items, prose=prose)


def read(text: str, extensions: tuple[str, ...], *, prose: bool = False) -> tuple[Item, ...]:
    """Every item of a page's text (front matter included, so lines are the file's)."""
    items: list[Item] = []
    _walk(parser(extensions), text, 1, items, prose=prose)
    return tuple(items)


class Cache:
    """Pages already read, by the hash of their text, kept in one file between runs.

    The file holds the entries used by the last run; it is ignored when written
    by another version of this module or of MyST's parser, or with or without
    *prose* (``text`` items, which only hints need: they make the file twenty
    times larger, so the build and a plain ``make check`` keep a file without).
    """

    def __init__(self, path: Path | None, extensions: tuple[str, ...], *, prose: bool = False) -> None:
        self.path = path
        self.extensions = extensions
        self.prose = prose
        self.known: dict[bytes, tuple[Item, ...]] = {}
        self.used: dict[bytes, tuple[Item, ...]] = {}
        self.known = stamped.load(path, self.stamp()) or {}

    def stamp(self) -> str:
        from myst_parser import __version__ as myst_version

        code = Path(__file__).read_bytes()
        facts = f"{FACTS_VERSION} {myst_version} {self.extensions} {self.prose}"
        return hashlib.sha256(code + facts.encode()).hexdigest()

    def read(self, texts: Sequence[str], workers: int = 1) -> list[tuple[Item, ...]]:
        """The items of each of *texts*, reading those not kept with up to *workers* processes."""
        keys = [hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest() for text in texts]
        new = {key: text for key, text in zip(keys, texts, strict=True) if key not in self.known}
        read_new = functools.partial(read, extensions=self.extensions, prose=self.prose)
        if workers > 1 and len(new) >= PARALLEL_FROM and "fork" in multiprocessing.get_all_start_methods():
            # Forked, as Sphinx's parallel readers are: the parser and its plugins come loaded.
            context = multiprocessing.get_context("fork")
            with ProcessPoolExecutor(workers, mp_context=context) as pool:
                items = pool.map(read_new, new.values(), chunksize=max(1, len(new) // (4 * workers)))
                found = dict(zip(new, items, strict=True))
        else:
            found = {key: read_new(text) for key, text in new.items()}
        self.used.update((key, found[key] if key in found else self.known[key]) for key in keys)
        return [self.used[key] for key in keys]

    def save(self) -> None:
        if self.path is not None and self.used.keys() != self.known.keys():
            stamped.save(self.path, self.stamp(), self.used)
