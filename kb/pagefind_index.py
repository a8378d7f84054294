"""The Pagefind index: written by Pagefind's command, read back, and kept between builds.

:mod:`kb.search` decides what is indexed and when; this module runs Pagefind
on the staged pages (:func:`write_index`), reads what it wrote
(:func:`read_pagefind`), and keeps the fragments of unchanged pages from one
build to the next (:func:`index_pages`); :func:`found` looks a word up in a
written index as search would.  The preview's index kept in memory
(:mod:`kb.preview`) writes through :func:`index_pages` too.
"""

from __future__ import annotations

import gzip
import itertools
import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cbor2

#: Parts of a post body that are not its text: the byline (already filters),
#: heading anchors, navigation blocks that repeat other posts' titles, and the
#: "due for review" banner (else it is the excerpt shown in search results);
#: in the preview, each page's problems and the link to all of them.
#: The title stays: Pagefind ranks a match in the h1 above one in the text.
NOT_CONTENT = (
    ".headerlink",
    ".kb-problems",
    ".kb-problems-all",
    ".kb-byline",
    ".kb-due",
    ".kb-held",
    ".kb-series-banner",
    ".kb-series-nav",
    ".kb-related",
    "[data-pagefind-ignore]",
)


def write_index(bundle: Path, site: Path) -> None:
    """Index the pages below *site* into *bundle* with Pagefind's command.

    Not with its Python API (``PagefindIndex``): that stops the Pagefind
    process as soon as it has answered that the files are written, while the
    last of them may still be on their way to the disk (Pagefind does not
    flush its asynchronous writes), so an index file could be cut short; under
    load, one run in a dozen left an empty ``pagefind-entry.json``.  The
    command exits only once every file is written.
    """
    from pagefind.service import get_executable

    if (executable := get_executable()) is None:
        raise FileNotFoundError("the pagefind executable is not installed")
    command = [str(executable), "--site", str(site), "--output-path", str(bundle)]
    for selector in NOT_CONTENT:
        command += ["--exclude-selectors", selector]
    # Run inside *site*, where no pagefind.yml of the project can change the index.
    done = subprocess.run(command, cwd=site, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        output = (done.stderr.strip() or done.stdout.strip()).splitlines()[-5:]
        raise RuntimeError(f"pagefind exited with status {done.returncode}: {' / '.join(output)}")


def stage(outdir: Path, pages: list[Path], folder: Path) -> None:
    """Link *pages* (relative to *outdir*) into *folder* at the same places.

    Pagefind then reads exactly this build's posts, at their own addresses,
    in one pass (handing it files one by one costs a tenth of a second each).
    """
    for page in pages:
        target = folder / page
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(outdir / page, target)
        except OSError:  # another file system, or no hard links
            shutil.copyfile(outdir / page, target)


#: What Pagefind writes at the start of each of its compressed files.
PAGEFIND_MARK = b"pagefind_dcd"
#: Pagefind names each fragment (a page's text and data, most of the bundle)
#: after the first 7 hex digits of its content's hash, more where two collide.
SHORT_HASH = 7


def read_pagefind(path: Path) -> Any:
    """The content of one of Pagefind's compressed files (``pf_meta``, ``pf_index``, ...)."""
    data = gzip.decompress(path.read_bytes())
    if not data.startswith(PAGEFIND_MARK):
        raise ValueError(f"{path}: not a Pagefind index file")
    return cbor2.loads(data[len(PAGEFIND_MARK) :])


def fragments_of(bundle: Path) -> set[str]:
    """The names of the page fragments that *bundle*'s index refers to.

    The entry file names each language's metadata file, whose second field
    lists the pages as ``[fragment, word count]`` (Pagefind's ``MetaIndex``).
    """
    entry = json.loads((bundle / "pagefind-entry.json").read_text(encoding="utf-8"))
    names = set()
    for language in entry["languages"].values():
        names.update(name for name, _ in read_pagefind(bundle / f"pagefind.{language['hash']}.pf_meta")[1])
    return names


def found(bundle: Path, word: str) -> list[str]:
    """The addresses of the pages holding *word* in the index in *bundle* (lower case and stemmed, as indexed)."""
    entry = json.loads((bundle / "pagefind-entry.json").read_text(encoding="utf-8"))
    addresses = set()
    for language in entry["languages"].values():
        _, pages, chunks, *_ = read_pagefind(bundle / f"pagefind.{language['hash']}.pf_meta")
        for first, last, name in chunks:  # each holds the words from *first* to words starting *last*
            if not first <= word or word[: len(last)] > last:
                continue
            for indexed, where, *_ in read_pagefind(bundle / "index" / f"{name}.pf_index")[0]:
                if indexed == word:  # each page's number is given as the step from the one before
                    numbers = itertools.accumulate(step for step, *_ in where)
                    addresses.update(fragment_url(bundle, pages[number][0]) for number in numbers)
    return sorted(addresses)


def fragment(bundle: Path, name: str) -> dict[str, Any]:
    """The page whose fragment in *bundle* is *name*: its address, text, filters and metadata
    (fragments are compressed JSON)."""
    data = gzip.decompress((bundle / "fragment" / f"{name}.pf_fragment").read_bytes())
    page: dict[str, Any] = json.loads(data[len(PAGEFIND_MARK) :])
    return page


def fragment_url(bundle: Path, name: str) -> str:
    """The address of the page whose fragment is *name*."""
    return str(fragment(bundle, name)["url"])


def pages_indexed(bundle: Path) -> int:
    """How many pages the written *bundle* holds (Pagefind's own count, every language)."""
    entry = json.loads((bundle / "pagefind-entry.json").read_text(encoding="utf-8"))
    return sum(language["page_count"] for language in entry["languages"].values())


def clear(bundle: Path, *, keep_fragments: bool) -> set[str]:
    """Empty *bundle* but (with *keep_fragments*) its page fragments; return those kept.

    Pagefind names its files after their content and does not write a file
    that is already there, so a fragment of a page that did not change is not
    compressed and written again (most of Pagefind's time on a rebuild).  The
    word index, filters and metadata are always written afresh: they change
    with any page, and a new file whose short name happens to match an old
    one's would otherwise be taken for it.
    """
    if not keep_fragments:
        shutil.rmtree(bundle, ignore_errors=True)
        return set()
    fragments = bundle / "fragment"
    for path in bundle.iterdir() if bundle.is_dir() else ():
        if path.is_dir() and path != fragments:
            shutil.rmtree(path)
        elif path.is_file():
            path.unlink()
    return {path.stem for path in fragments.glob("*.pf_fragment")}


def mistaken(kept: set[str], written: set[str]) -> set[str]:
    """Kept fragments that may now stand for another page.

    When two pages' hashes begin alike, the page Pagefind meets first gets the
    short name and the other a longer one (Pagefind's own "collision issues"
    note in ``index/mod.rs``).  If the page that changed is met first, it is
    given a short name already taken by a kept file holding the other page, and
    Pagefind keeps that file.  Such a group holds kept and newly written names
    at once; its kept files are written again.
    """
    groups: dict[str, set[str]] = {}
    for name in kept | written:
        language, _, digest = name.rpartition("_")
        groups.setdefault(f"{language}_{digest[:SHORT_HASH]}", set()).add(name)
    return {name for group in groups.values() if len(group) > 1 and group & written for name in group & kept}


def pagefind_version(bundle: Path) -> str | None:
    """The version of Pagefind that wrote *bundle*, if it holds an index."""
    try:
        return json.loads((bundle / "pagefind-entry.json").read_text(encoding="utf-8"))["version"]
    except (OSError, ValueError, KeyError):
        return None


def index_pages(bundle: Path, write: Callable[[Path], None], *, keep_fragments: bool = False) -> int:
    """Write an index into *bundle* with *write*; return how many pages it holds.

    *write* writes the whole index into the folder it is given: Pagefind's
    command on the staged pages, or the preview's index kept in memory.  With
    *keep_fragments*, the fragments of the bundle's last complete index that
    still hold a page are kept (see :func:`clear`), the others removed; all
    are written again if another version of Pagefind wrote them.
    """
    version = pagefind_version(bundle)
    kept = clear(bundle, keep_fragments=keep_fragments)
    write(bundle)
    if kept and pagefind_version(bundle) != version:
        kept = clear(bundle, keep_fragments=False)
        write(bundle)
    fragments = fragments_of(bundle)
    if suspects := mistaken(kept & fragments, fragments - kept):
        kept = clear(bundle, keep_fragments=True) - suspects
        for name in suspects:
            (bundle / "fragment" / f"{name}.pf_fragment").unlink()
        write(bundle)
        fragments = fragments_of(bundle)
    for name in kept - fragments:  # pages changed or gone
        (bundle / "fragment" / f"{name}.pf_fragment").unlink()
    return pages_indexed(bundle)


def index_all(work: list[tuple[Path, Path, bool]]) -> int:
    """:func:`index_pages` for each ``(bundle, staged pages, keep fragments)`` of *work*; the pages
    the bundles hold, summed.

    One bundle after the other: each run of Pagefind holds all its pages in memory.
    """
    return sum(
        index_pages(bundle, lambda into, site=staged: write_index(into, site), keep_fragments=keep)  # type: ignore[misc]
        for bundle, staged, keep in work
    )
