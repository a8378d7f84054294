"""Hints: glossary terms that a post mentions in its text but never links.

A hint is information, never a problem: ``make check HINTS=1`` prints it and
the exit status stays the same; the build never reports it.  For each
glossary entry a post mentions without linking any of its terms, the first
mention gets one hint, with the ``{term}`` markup to write there.

Only the plain text of paragraphs, lists and tables counts (``text`` items of
:mod:`kb.rules.markdown`): never code, links, roles (a term already linked),
headings and their anchors, directive options or front matter.  A term that is
an abbreviation (a capital after its first letter: CAPA, GMP, GxP, rFC) is
matched as written; any other term, and every phrase, in any case.  A plural
in ``s`` counts as a mention.
"""

from __future__ import annotations

import bisect
import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kb import model
from kb.rules.markdown import NOT_TEXT, role_target

if TYPE_CHECKING:
    from collections.abc import Iterator

    from kb.rules.markdown import Item

#: The roles that link a glossary term.
TERM_ROLES = frozenset({"term", "std:term", "kb:term"})


@dataclass(frozen=True, order=True)
class Hint:
    """A glossary term mentioned in a post's text, unlinked: where, as written, and the term it matches."""

    path: str
    line: int
    written: str
    term: str

    @property
    def markup(self) -> str:
        """The ``{term}`` role to write instead of the mention, showing the same words."""
        if self.written.lower() == self.term.lower():
            return f"{{term}}`{self.written}`"
        return f"{{term}}`{self.written} <{self.term}>`"

    def __str__(self) -> str:
        term = "a glossary term" if self.written.lower() == self.term.lower() else f"glossary term {self.term!r}"
        return (
            f"{self.path}:{self.line}: hint: {self.written!r} ({term}) is never linked in this post. "
            f"To link this first mention, write {self.markup}"
        )


def is_abbreviation(term: str) -> bool:
    """CAPA, GMP, GxP, rFC: one word with a capital after its first letter."""
    return " " not in term and any(char.isupper() for char in term[1:])


def lowered(text: str) -> str:
    """*text* in lower case with line breaks as spaces, each character where it was (offsets stay)."""
    low = text.lower()
    if len(low) != len(text):  # a letter whose lower case is two (İ): it stays as it is
        low = "".join(char.lower() if len(char.lower()) == 1 else char for char in text)
    return low.replace("\n", " ")


def is_word(char: str) -> bool:
    return char.isalnum() or char == "_"


class Glossary:
    """The glossary's terms, each with its entry, ready to be found in text.

    Terms are found with ``str.find`` in the lowered text, not with one
    regular expression of every term: at 2,000 posts, 0.4 s of CPU where the
    expression took over 2 s.
    """

    def __init__(self, entries: dict[str, str]) -> None:
        #: Every term as the glossary writes it -> its entry (the entry's first term).
        self.entries = entries
        self.lower = {term: " ".join(term.lower().split()) for term in entries}
        self.abbreviations = frozenset(term for term in entries if is_abbreviation(term))
        #: For each term, the longer terms holding it ("Qualification" in "Supplier qualification"), and where.
        self.inside: dict[str, list[tuple[str, int]]] = {term: [] for term in entries}
        for term, words in self.lower.items():
            for longer, text in self.lower.items():
                if longer != term and (at := text.find(words)) >= 0:
                    self.inside[term].append((longer, at))

    def first(self, term: str, text: str, low: str) -> tuple[int, int] | None:
        """Where *term* is first mentioned in *text* (*low* lowered): a word or phrase of its own, an
        abbreviation as written, not part of a longer term; a plural in ``s`` counts."""
        needle, written = self.lower[term], text if term in self.abbreviations else low
        start = low.find(needle)
        while start >= 0:
            end = start + len(needle)
            end += written.startswith("s", end)
            if (
                not (start and is_word(low[start - 1]))
                and not (end < len(low) and is_word(low[end]))
                and written.startswith(term if written is text else needle, start)
                and not any(low.startswith(self.lower[longer], start - at) for longer, at in self.inside[term])
            ):
                return start, end
            start = low.find(needle, start + 1)
        return None


def post_hints(path: str, items: tuple[Item, ...], glossary: Glossary) -> Iterator[Hint]:
    """The first unlinked mention of each glossary entry that *path* never links."""
    entries = glossary.entries
    by_lower = {term.lower(): entry for term, entry in entries.items()}
    linked = {by_lower.get(role_target(i.value).lower()) for i in items if i.kind == "role" and i.name in TERM_ROLES}
    texts = [item for item in items if item.kind == "text"]
    text = NOT_TEXT.join(item.value for item in texts)  # no mention runs from one paragraph into the next
    low = lowered(text)
    first: dict[str, tuple[int, int, str]] = {}
    for term, entry in entries.items():
        found = None if entry in linked else glossary.first(term, text, low)
        if found is not None and (entry not in first or found < first[entry][:2]):
            first[entry] = (*found, term)
    starts = list(itertools.accumulate((len(item.value) + len(NOT_TEXT) for item in texts), initial=0))
    for start, end, term in first.values():
        index = bisect.bisect_right(starts, start) - 1
        line = texts[index].line + text.count("\n", starts[index], start)
        yield Hint(path, line, " ".join(text[start:end].split()), term)


def entries_of(items: dict[str, tuple[Item, ...]]) -> dict[str, str]:
    """Every glossary term as written -> its entry (the entry's first term)."""
    return {item.value: item.name for page in items.values() for item in page if item.kind == "term"}


def hints(site: model.Site, items: dict[str, tuple[Item, ...]]) -> list[Hint]:
    """Every hint for the posts of *site*, by file and line."""
    glossary = Glossary(entries_of(items))
    found: list[Hint] = []
    for rel, page in items.items():
        if rel.removesuffix(".md") in site.posts:
            found += post_hints(rel, page, glossary)
    return sorted(found)
