"""The preview's recent index: the pages saved since the main index was last written.

Pagefind writes an index whole (Pagefind issue 71): at 2,000 posts, about
2.5 s for one changed page, most of it compressing every chunk of the word
index again (a page edited near its start moves every word of it, so every
chunk changes).  So after a save the preview writes a small second index,
``pagefind-recent/``, of the pages saved since the main index was written
(:meth:`kb.preview.Indexer.write_recent`); once the author pauses, the main
index takes those pages in and is written again, and the recent index is
emptied.  The search page asks both and merges their answers
(``_static/kb-search.js``) as :func:`found` does here:

- The main index's answers for the pages the recent one holds are their old
  text: ``kb-recent.json`` lists them by Pagefind's id (the name of the page's
  fragment in the main index), with the filters they had there, so that they
  are left out of the results and out of the filter counts.
- Pagefind answers a word that no page of an index holds with the pages of the
  longest word that it begins with (see :mod:`kb.search_parts`).  A word new
  in a saved page is in no page of the main index, which would answer it with
  unrelated pages.  So the recent index also holds one hidden page of every
  word of the main index (:data:`~kb.search_parts.VOCABULARY_FILTER`): where
  that page does not answer a search, the main index holds no word the search
  asks for, and its answers are dropped.
- ``kb-recent.json`` names the main index it stands beside (its metadata
  file); beside any other, the recent index is not asked.

Sorted by date, each recent result goes where its date puts it among the main
index's (pages of the same date: after them): a preview build gives each post
its date as metadata too (:data:`kb.search.SORT_META`), which Pagefind returns
with a result, unlike its sort keys.  By best match, the answers are
merged by score, as for several indexes; the recent index weighs words by its
own few pages, so until the main index is written, a saved page may rank a
little higher or lower than it will then.  ``tests/test_preview.py`` compares
the merged answers with one index of all the pages.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kb import pagefind_index, search_parts

RECENT_DIR, RECENT_FILE = search_parts.RECENT_DIR, search_parts.RECENT_FILE
#: The hidden page of every word of the main index, in the recent one.
WORDS_PAGE = f"/{search_parts.VOCABULARY_PAGE}"

LANGUAGE = re.compile(r'<html[^>]*\blang="([^"]+)"')


@dataclass(frozen=True)
class Saved:
    """A page as the preview read it after a save."""

    mtime: int
    text: str

    @property
    def words(self) -> tuple[str, ...]:
        return words_of(self.text)


def words_of(text: str) -> tuple[str, ...]:
    """The words of the page *text*, each once; interned, as the same words recur on every page
    (kept for every page of the site: a tenth of the memory of a set of its own strings)."""
    return tuple({sys.intern(word) for word in search_parts.words_in(text)})


def language_of(text: str) -> str:
    """The language of the page *text* (its ``<html lang>``), which Pagefind indexes it in."""
    found = LANGUAGE.search(text)
    return found.group(1) if found else "en"


@dataclass
class Written:
    """The main index as last written: what the recent index stands beside."""

    #: Its metadata files' names, as its entry file gives them (the search page compares them).
    meta: str = ""
    #: Each page's words, by address, as the page holds them, and the pages' language.
    words: dict[str, tuple[str, ...]] = field(default_factory=dict)
    language: str = "en"
    #: Each page's address and filters, by its id (the name of its fragment), read once.
    fragments: dict[str, tuple[str, dict[str, list[str]]]] = field(default_factory=dict)

    def read(self, bundle: Path) -> None:
        """Take in the main index just written into *bundle*."""
        self.meta = meta_of(bundle)
        names = pagefind_index.fragments_of(bundle)
        self.fragments = {name: self.fragments.get(name) or address_and_filters(bundle, name) for name in names}


def meta_of(bundle: Path) -> str:
    """The names of the metadata files of the index in *bundle*, as the search page reads them."""
    entry = json.loads((bundle / "pagefind-entry.json").read_text(encoding="utf-8"))
    return ",".join(language["hash"] for language in entry["languages"].values())


def address_and_filters(bundle: Path, name: str) -> tuple[str, dict[str, list[str]]]:
    """The address and filters of the page whose fragment in *bundle* is *name*."""
    page = pagefind_index.fragment(bundle, name)
    return page["url"], page.get("filters", {})


def record(written: Written, saved: dict[str, Saved], recent: Path) -> dict[str, Any]:
    """What ``kb-recent.json`` says of the recent index in *recent*, which holds the *saved* pages."""
    replaced = {name: filters for name, (url, filters) in written.fragments.items() if url in saved}
    return {"main": written.meta, "meta": meta_of(recent), "replaced": replaced}


def remove(outdir: Path) -> None:
    """Take the recent index away: its record says it stands beside no index (the search page
    asks for the record before each search, so it is always there), then its files go."""
    folder = outdir / RECENT_DIR
    folder.mkdir(parents=True, exist_ok=True)
    write_record(folder, {"main": None})
    for path in folder.iterdir():
        if path.is_dir():
            shutil.rmtree(path)
        elif path.name != RECENT_FILE:
            path.unlink()


def write_record(folder: Path, data: dict[str, Any]) -> None:
    """Write ``kb-recent.json`` into *folder* in one step."""
    partial = folder / f"{RECENT_FILE}.part"
    partial.write_text(json.dumps(data), encoding="utf-8")
    partial.replace(folder / RECENT_FILE)


def words_page(written: Written) -> str:
    """The recent index's hidden page of every word of the main index."""
    return search_parts.vocabulary_page(set().union(*written.words.values()), written.language)


def current(outdir: Path) -> dict[str, Any] | None:
    """The recent index's record, if it stands beside the main index now written in *outdir*."""
    with contextlib.suppress(OSError, ValueError, KeyError):
        data = json.loads((outdir / RECENT_DIR / RECENT_FILE).read_text(encoding="utf-8"))
        if data["main"] == meta_of(outdir / search_parts.BUNDLE_DIR):
            return data
    return None


def found(outdir: Path, word: str) -> list[str]:
    """The addresses of the pages holding *word* (as indexed), as the preview's search page finds them."""
    main = outdir / search_parts.BUNDLE_DIR
    pages = pagefind_index.found(main, word)
    if (data := current(outdir)) is None:
        return pages
    fresh = pagefind_index.found(outdir / RECENT_DIR, word)
    if WORDS_PAGE not in fresh:  # no page of the main index holds the word
        pages = []
    old = {pagefind_index.fragment_url(main, name) for name in data["replaced"]}
    return sorted({page for page in pages if page not in old} | {page for page in fresh if page != WORDS_PAGE})
