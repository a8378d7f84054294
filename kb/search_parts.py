"""The site's search indexes: what each holds, when each is made again, and how several answer as one.

Each index records the documents it holds (:data:`INDEXED_FILE`, written
last); it is made again when that list or one of their pages is newer
(:func:`newer_pages`), by :func:`index_parts` in a thread of its own
(:mod:`kb.search` starts it and waits for it).

Pagefind holds every page it indexes in memory until it has written the
index, about a third of a megabyte a page whatever the markup (measured with
Pagefind 1.5.2: 3 GB for 10,000 pages; Pagefind issue 842 collects sites that
ran out of memory).  So a site of more than ``kb_search_pages_per_bundle``
pages (posts and glossary entries; 5,000 unless ``conf.py`` says otherwise) is
indexed as several indexes ("bundles", Pagefind's word), one Pagefind run
after the other, in ``pagefind/``, ``pagefind-2/``, ...; the search page asks
each and merges their answers (``_static/kb-search.js``).  A smaller site has
one index, as it always had.

The posts are split by date, newest first, so that a search sorted by date
reads the indexes in turn; by best match, the answers are merged by
Pagefind's score (as Pagefind's own ``mergeIndex`` does), each index weighing
words by its own pages.  Each index holds an equal share of the posts and of
the glossary's entries.

Pagefind finds the pages holding any word that begins with the word searched
for; where its index holds no such word, it takes the longest indexed word
that the searched word begins with instead ("audit" becomes "a";
``find_word_extensions`` in Pagefind's ``pagefind_web/src/search.rs``).  One
index of the whole site does that only for a word no page holds; an index of
part of the site would do it for every word that part lacks, and answer rare
words with unrelated pages.  So each index also holds one hidden page of every
word of the site (:func:`words_of`, :func:`vocabulary_page`), marked with the
filter :data:`VOCABULARY_FILTER` that the search page always excludes: every
index then knows the same words, and answers exactly the pages of its part
that one index would.  A build indexes again a part whose pages changed, and
a part whose hidden page lacks a word the site now has.
"""

from __future__ import annotations

import html
import json
import re
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from kb import pagefind_index
from kb.glossary import Entry

T = TypeVar("T")

#: Where a site with one index has it; further ones are ``pagefind-2``, ...
BUNDLE_DIR = "pagefind"
#: The filter that marks each index's page of every word; the search page leaves it out.
VOCABULARY_FILTER = "kb-vocabulary"
#: That page's path in each index.
VOCABULARY_PAGE = "kb-vocabulary.html"
#: Where ``make serve`` writes its recent index beside the main one, and what it stands beside
#: (:mod:`kb.preview.recent`).
RECENT_DIR = "pagefind-recent"
RECENT_FILE = "kb-recent.json"


@dataclass(frozen=True)
class Bundle:
    """One of the site's search indexes: a span of posts by date, and a share of the glossary's entries."""

    #: Its folder in the output folder.
    folder: str
    #: Its posts, newest first.
    posts: tuple[str, ...]
    terms: tuple[Entry, ...]

    @property
    def documents(self) -> list[str]:
        return documents_indexed(list(self.posts), list(self.terms))


#: Beside each index: the documents it holds, to tell whether the next build may keep it.
INDEXED_FILE = "kb-indexed.json"


def indexed_posts(bundle: Path) -> list[str] | None:
    """The documents the index in the folder *bundle* was built from, or None if unknown."""
    try:
        return json.loads((bundle / INDEXED_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def newer_pages(bundle: Path, pages: list[Path]) -> list[Path] | None:
    """The *pages* written (or removed) since the index in *bundle* was made; None if it has no trusted index.

    Page files are the one trustworthy record of what a build wrote: pages are
    rendered in worker processes, and feeds resolve posts without writing them.
    """
    try:
        indexed_at = (bundle / INDEXED_FILE).stat().st_mtime_ns
    except OSError:
        return None
    return [page for page in pages if not page.is_file() or page.stat().st_mtime_ns > indexed_at]


def documents_indexed(posts: list[str], terms: list[Entry]) -> list[str]:
    """The documents an index of *posts* and glossary *terms* holds: a glossary page written again is indexed again."""
    return posts + sorted({entry.docname for entry in terms})


def bundle_folder(number: int) -> str:
    """The folder of the *number*-th index (from 1)."""
    return BUNDLE_DIR if number == 1 else f"{BUNDLE_DIR}-{number}"


def bundles(posts: list[str], terms: list[Entry], limit: int) -> list[Bundle]:
    """*posts* (newest first) and glossary *terms* in as few indexes of at most *limit* pages as hold them.

    Each index takes an equal share of the posts, in turn, and of the terms:
    an index of terms only would answer a search sorted by date with every
    term (Pagefind leaves out what has no date only where some pages have one).
    """
    count = max(1, -(-(len(posts) + len(terms)) // limit))
    while True:
        shares = [(share(posts, part, count), share(terms, part, count)) for part in range(count)]
        if all(len(mine) + len(theirs) <= limit for mine, theirs in shares):
            break
        count += 1
    return [Bundle(bundle_folder(number), tuple(p), tuple(t)) for number, (p, t) in enumerate(shares, 1)]


def share(items: list[T], part: int, count: int) -> list[T]:
    """The *part*-th of *count* near-equal spans of *items*."""
    return items[len(items) * part // count : len(items) * (part + 1) // count]


def remove_other_bundles(outdir: Path, kept: list[Bundle]) -> None:
    """Remove the indexes of an earlier build that this one does not have (the site had more pages)."""
    folders = {bundle.folder for bundle in kept}
    for path in outdir.glob(f"{BUNDLE_DIR}-*"):
        if path.name not in folders and path.name.removeprefix(f"{BUNDLE_DIR}-").isdigit():
            shutil.rmtree(path)


# -- every word of the site, in each index ----------------------------------------

TAG = re.compile(r"<[^>]*>")
#: Where the indexed part of a page begins, and a point after its end.
BODY_MARK = "data-pagefind-body"
AFTER_BODY = "</article>"


def words_of(pages: Iterable[Path]) -> set[str]:
    """Every word of the indexed part of *pages*, as written (Pagefind makes its index words of them).

    From the start of each page's indexed part to the end of its article: a
    few words of what follows it (the related posts' titles) are harmless, as
    a word that no indexed page holds adds no result.
    """
    words: set[str] = set()
    for page in pages:
        words.update(words_in(page.read_text(encoding="utf-8")))
    return words


def words_in(text: str) -> list[str]:
    """Every word of the indexed part of the page *text* (see :func:`words_of`)."""
    start = text.find(BODY_MARK)
    if start < 0:
        return []
    end = text.find(AFTER_BODY, start)
    return html.unescape(TAG.sub(" ", text[start : end if end >= 0 else len(text)])).split()


def vocabulary_page(words: set[str], language: str) -> str:
    """The hidden page of every word of the site that each index holds (see the module's docstring)."""
    return (
        f'<!DOCTYPE html><html lang="{html.escape(language)}"><head><meta charset="utf-8"></head>'
        f"<body><main data-pagefind-body><p>{html.escape(' '.join(sorted(words)))}</p>"
        f'<span data-pagefind-filter="{VOCABULARY_FILTER}" hidden>yes</span></main></body></html>'
    )


def words_file(folder: Path, bundle: Bundle) -> Path:
    """Where a build keeps the words an index's hidden page holds (in *folder*, outside the site)."""
    return folder / f"{bundle.folder}.words"


def known_words(folder: Path, bundle: Bundle) -> set[str]:
    """The words *bundle*'s hidden page held when it was last indexed (none if unknown)."""
    try:
        return set(words_file(folder, bundle).read_text(encoding="utf-8").split("\n"))
    except OSError:
        return set()


# -- making the indexes again ------------------------------------------------------


@dataclass(frozen=True)
class Indexed:
    """What the indexer did: the indexes it made again, the pages they hold, and how many they must hold."""

    bundles: list[Bundle]
    pages: int
    expected: int
    #: Every word of the site, which each index's hidden page holds (several indexes only).
    words: set[str] | None


@dataclass(frozen=True)
class Reading:
    """What a site with several indexes reads to learn its words (:mod:`kb.search_parts`)."""

    #: Where the words each index knows are kept.
    folder: Path
    #: The pages written since their index was made (None: every page is read).
    newer: list[Path] | None
    #: The glossary's entries as pages, staged (always read: they are few).
    terms: list[Path]
    language: str

    def site_words(self, staged: Path, parts: list[Bundle]) -> set[str]:
        """Every word of the site: those the indexes knew and those of the pages written since."""
        if self.newer is None:
            return words_of(staged.rglob("*.html"))
        known = set().union(*(known_words(self.folder, part) for part in parts))
        return known | words_of([*self.newer, *self.terms])


def index_parts(outdir: Path, staged: Path, parts: list[Bundle], stale: set[str], reading: Reading) -> Indexed:
    """Index again the *stale* of *parts* (their pages staged in *staged*), and with several indexes
    each one whose hidden page lacks a word of the site, one after the other."""
    todo = [part for part in parts if part.folder in stale]
    site_words = None
    if len(parts) > 1:
        site_words = reading.site_words(staged, parts)
        todo = [part for part in parts if part.folder in stale or not site_words <= known_words(reading.folder, part)]
        for part in todo:
            page = vocabulary_page(site_words, reading.language)
            (staged / part.folder / VOCABULARY_PAGE).write_text(page, encoding="utf-8")
    work = []
    for part in todo:
        bundle = outdir / part.folder
        keep_fragments = indexed_posts(bundle) is not None
        (bundle / INDEXED_FILE).unlink(missing_ok=True)  # written last: without it the index is not trusted
        work.append((bundle, staged / part.folder, keep_fragments))
    pages = pagefind_index.index_all(work)
    expected = sum(len(part.posts) + len(part.terms) + (site_words is not None) for part in todo)
    return Indexed(todo, pages, expected, site_words)
