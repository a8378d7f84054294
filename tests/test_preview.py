"""The preview's search index (kb/preview/): kept in memory, the same as Pagefind's command gives."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kb import pagefind_index, preview, search
from kb.bench.corpus import Corpus
from kb.glossary import Entry
from kb.preview import recent

PAGE = """<!DOCTYPE html>
<html lang="en"><head><title>{title}</title></head>
<body><nav>Navigation is never indexed</nav>
<div data-pagefind-body><h1>{title}</h1><p>{text}</p>
<div class="kb-related">Related titles are not this page's text</div>
<div data-pagefind-ignore hidden><span data-pagefind-filter="tag">{tag}</span>
<span data-pagefind-sort="date">{date}</span></div></div></body></html>
"""

#: The posts of the first build: (text, tag) by page.
FIRST = {
    "posts/deviation.html": ("Deviation handling starts with a record of the batch.", "GMP"),
    "posts/capa.html": ("Corrective actions follow the investigation of each deviation.", "GMP"),
    "posts/training.html": ("Training records show that the procedure was read.", "Training"),
    "posts/audit.html": ("An audit checks the records against the procedure.", "Audits"),
    "posts/risk.html": ("Risk assessment ranks each failure by its severity.", "Risk"),
}
#: Words searched for in both indexes: some in every version, some in one only.
QUERIES = ("record", "procedur", "deviat", "batch", "zanzibar", "kestrel", "sever", "navig", "relat")


#: The glossary's entries: definition by term.
TERMS = {"CAPA": "Corrective and preventive action: what is done about a deviation."}


def write_pages(outdir: Path, posts: dict[str, tuple[str, str]], terms: dict[str, str] = TERMS) -> search.Handover:
    """Write *posts* and glossary *terms* as a build would (only those that changed), and its hand-over."""
    for number, (page, (text, tag)) in enumerate(sorted(posts.items())):
        html = PAGE.format(title=Path(page).stem.title(), text=text, tag=tag, date=f"2024-01-{number + 1:02d}")
        path = outdir / page
        if not path.is_file() or path.read_text(encoding="utf-8") != html:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(html, encoding="utf-8")
    for path in (outdir / "posts").glob("*.html"):
        if f"posts/{path.name}" not in posts:
            path.unlink()
    folder = outdir.parent / "terms"
    term_pages = []
    for term, definition in terms.items():
        entry = Entry("glossary", term.lower(), (term,), definition)
        term_pages.append(f"glossary/{entry.anchor}.html")
        html = search.term_record(entry, f"glossary.html#{entry.anchor}", "en")
        if not (folder / term_pages[-1]).is_file() or (folder / term_pages[-1]).read_text(encoding="utf-8") != html:
            (folder / "glossary").mkdir(parents=True, exist_ok=True)
            (folder / term_pages[-1]).write_text(html, encoding="utf-8")
    pages = tuple(sorted(posts))
    indexed = (*(page.removesuffix(".html") for page in pages), "glossary")
    return search.Handover(outdir, pages, folder, tuple(term_pages), indexed)


def indexed_by_command(folder: Path, posts: dict[str, tuple[str, str]], terms: dict[str, str] = TERMS) -> Path:
    """The bundle that Pagefind's command (as ``make html`` runs it) makes of *posts* and *terms*."""
    handover = write_pages(folder / "site", posts, terms)
    pagefind_index.stage(handover.terms, [Path(page) for page in handover.term_pages], folder / "site")
    bundle = folder / "bundle"
    pagefind_index.index_pages(bundle, lambda into: pagefind_index.write_index(into, folder / "site"))
    return bundle


def decoded(bundle: Path) -> dict[str, object]:
    """Everything a search can return from *bundle*, by page address rather than by file name."""
    entry = json.loads((bundle / "pagefind-entry.json").read_text(encoding="utf-8"))
    (language,) = entry["languages"].values()
    _, pages, chunks, filters, sorts, *_ = pagefind_index.read_pagefind(bundle / f"pagefind.{language['hash']}.pf_meta")
    urls = [pagefind_index.fragment_url(bundle, name) for name, _ in pages]
    fragments = {
        url: json.loads(gzip.decompress((bundle / "fragment" / f"{name}.pf_fragment").read_bytes())[12:])
        for url, (name, _) in zip(urls, pages, strict=True)
    }
    words = {}
    for *_, name in chunks:
        for word, where, *rest in pagefind_index.read_pagefind(bundle / "index" / f"{name}.pf_index")[0]:
            words[word] = (sorted(json.dumps([urls[page], *data]) for page, *data in absolute(where)), rest)
    facets = {}
    for _, name in filters:
        facet, values = pagefind_index.read_pagefind(bundle / "filter" / f"{name}.pf_filter")
        facets[facet] = {value: sorted(urls[page] for page in numbers) for value, numbers in values}
    return {
        "fragments": fragments,
        "words": words,
        "filters": facets,
        "sorts": {key: [urls[page] for page in order] for key, order in sorts},
    }


def absolute(where: list[list[object]]) -> list[list[object]]:
    """Pagefind's list of pages for a word, with page numbers instead of steps between them."""
    number, out = 0, []
    for step, *data in where:
        number += step
        out.append([number, *data])
    return out


CHANGES = {
    "one page changed, one added": {
        **FIRST,
        "posts/capa.html": ("Corrective actions follow a kestrel sighting near zanzibar.", "CAPA"),
        "posts/zanzibar.html": ("A new post about zanzibar batch records.", "GMP"),
    },
    "one page gone": {page: value for page, value in FIRST.items() if page != "posts/risk.html"},
}


#: The glossary after a change of one definition.
NEW_TERMS = {"CAPA": "Corrective and preventive action, after a kestrel sighting."}


@pytest.mark.parametrize("change", [*CHANGES, "one glossary entry changed"])
def test_the_index_kept_in_memory_finds_what_pagefinds_command_finds(change: str, tmp_path: Path) -> None:
    outdir = tmp_path / "serve"
    posts, terms = CHANGES.get(change, FIRST), NEW_TERMS if "glossary" in change else TERMS
    indexer = preview.Indexer()
    try:
        assert indexer.update(write_pages(outdir, FIRST)).startswith("indexed 6 pages afresh")
        assert pagefind_index.found(outdir / search.BUNDLE_DIR, "deviat") == [
            "/glossary/capa.html",
            "/posts/capa.html",
            "/posts/deviation.html",
        ]
        done = indexer.update(write_pages(outdir, posts, terms))
        reference = indexed_by_command(tmp_path / "reference", posts, terms)
        # Before the main index takes them in, the saved pages are found in the recent index.
        for word in (*QUERIES, "investig", "zanzibar", "kestrel"):
            assert recent.found(outdir, word) == pagefind_index.found(reference, word), word
        assert (recent.current(outdir) is None) == ("gone" in change)
        indexer.settle()
    finally:
        indexer.close()
    # Only changed and new pages are indexed again; a page gone needs a new index.
    expected = {
        "one page changed, one added": "indexed 2 changed pages again; 2 in the recent index",
        "one page gone": "indexed 5 pages afresh",
    }
    assert done.startswith(expected.get(change, "indexed 1 changed page again; 1 in the recent index"))
    assert recent.current(outdir) is None  # the main index holds every page now
    bundle = outdir / search.BUNDLE_DIR
    for word in QUERIES:
        assert pagefind_index.found(bundle, word) == pagefind_index.found(reference, word), word
    assert decoded(bundle) == decoded(reference)
    if "added" in change:
        assert pagefind_index.found(bundle, "zanzibar") == ["/posts/capa.html", "/posts/zanzibar.html"]
        assert pagefind_index.found(bundle, "investig") == []  # the old text of the changed page is gone
    elif "gone" in change:
        assert pagefind_index.found(bundle, "sever") == []
    else:
        assert pagefind_index.found(bundle, "kestrel") == ["/glossary/capa.html"]
        assert pagefind_index.found(bundle, "deviat") == ["/posts/capa.html", "/posts/deviation.html"]
    assert pagefind_index.found(bundle, "navig") == pagefind_index.found(bundle, "relat") == []
    # The bundle holds only the fragments its index uses.
    assert {p.stem for p in (bundle / "fragment").iterdir()} == pagefind_index.fragments_of(bundle)
    assert json.loads((bundle / search.INDEXED_FILE).read_text()) == [*sorted(p[:-5] for p in posts), "glossary"]


def test_a_page_saved_while_the_main_index_is_written_stays_in_the_recent_index(tmp_path: Path) -> None:
    outdir = tmp_path / "serve"
    second = {**FIRST, "posts/audit.html": ("An audit after a kestrel sighting.", "Audits")}
    third = {**second, "posts/risk.html": ("Risk of zanzibar floods.", "Risk")}
    indexer = preview.Indexer()
    try:
        indexer.update(write_pages(outdir, FIRST))
        assert indexer.update(write_pages(outdir, second)).endswith("1 in the recent index")
        assert indexer.catch_up() is None  # not yet due: a save was just taken
        indexer.start_main()  # as once due: in a thread
        assert indexer.update(write_pages(outdir, third)).endswith("2 in the recent index")
        assert indexer.catch_up(wait=True).startswith("main index written; 6 pages in the index")
        assert list(indexer.saved) == ["/posts/risk.html"]  # saved after the main index began
        assert recent.found(outdir, "zanzibar") == ["/posts/risk.html"]
        assert recent.found(outdir, "sever") == []
        indexer.settle()
    finally:
        indexer.close()
    assert recent.current(outdir) is None
    reference = indexed_by_command(tmp_path / "reference", third)
    assert decoded(outdir / search.BUNDLE_DIR) == decoded(reference)


def test_an_index_not_yet_on_the_disk_is_waited_for(tmp_path: Path) -> None:
    """Pagefind's service answers before its last files are written: each file is checked whole."""
    bundle = indexed_by_command(tmp_path, FIRST)
    assert preview.unwritten(bundle) == []
    chunk = next((bundle / "index").iterdir())
    whole = chunk.read_bytes()
    chunk.write_bytes(whole[: len(whole) // 2])
    assert [line.split(":")[0] for line in preview.unwritten(bundle)] == [str(chunk)]
    (bundle / "pagefind-entry.json").write_text('{"version": "1.5.2", "langu', encoding="utf-8")
    assert len(preview.unwritten(bundle)) == 1


def test_a_hand_over_is_taken_once_and_only_in_its_own_format(tmp_path: Path) -> None:
    queue = tmp_path / "request.json"
    assert search.Handover.take(queue) is None
    handover = search.Handover(tmp_path, ("posts/a.html",), tmp_path / "terms", ("glossary/capa.html",), ("posts/a",))
    handover.write(queue)
    handover.write(queue)  # a newer build's hand-over replaces one not yet taken
    assert search.Handover.take(queue) == handover
    assert search.Handover.take(queue) is None
    queue.write_text(json.dumps({"version": 0, "pages": []}), encoding="utf-8")
    with pytest.raises(ValueError, match="a hand-over of another version, expected 3"):
        search.Handover.take(queue)


def test_a_failed_update_is_reported_and_the_next_starts_afresh(tmp_path: Path) -> None:
    outdir = tmp_path / "serve"
    queue = tmp_path / "request.json"
    indexer = preview.Indexer()
    try:
        write_pages(outdir, FIRST).write(queue)
        assert preview.index_next(indexer, queue).startswith("search: indexed 6 pages afresh")
        assert preview.index_next(indexer, queue) is None  # nothing waiting
        handover = write_pages(outdir, FIRST)
        (outdir / "posts" / "audit.html").unlink()  # gone before it could be read again
        (outdir / "posts" / "risk.html").write_text("<html><body>changed</body></html>", encoding="utf-8")
        handover.write(queue)
        done = preview.index_next(indexer, queue)
        assert done.startswith("search index not updated: [Errno 2] No such file or directory")
        assert "posts/audit.html" in done
        assert indexer.index is None
        write_pages(outdir, FIRST).write(queue)
        assert preview.index_next(indexer, queue).startswith("search: indexed 6 pages afresh")
    finally:
        indexer.close()


def preview_build(site: Path, event: str, handler: Callable[..., Any]) -> Path:
    """Build *site* as the preview does (``KB_SEARCH_QUEUE`` set), *handler* connected to *event*;
    return the output folder."""
    from sphinx.testing.util import SphinxTestApp

    app = SphinxTestApp("html", srcdir=site, builddir=site / "_build")  # type: ignore[arg-type]
    app.connect(event, handler)
    try:
        app.build()
    finally:
        app.cleanup()
    return Path(app.outdir)


@pytest.fixture
def queued(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Corpus, Path]:
    """A generated site of three posts, and the queue into which its builds hand their pages over."""
    from kb import bench

    queue = tmp_path / "request.json"
    monkeypatch.setenv(search.QUEUE_VARIABLE, str(queue))
    return bench.generate(tmp_path / "corpus", 3), queue


def test_a_preview_build_hands_its_pages_over_once_they_are_written(queued: tuple[Corpus, Path]) -> None:
    """Search is brought up to date while the build writes its feeds and listing pages, not after them."""
    corpus, queue = queued
    taken: list[search.Handover | None] = []
    # Run after the search module's handler, before the feeds and listing pages are written.
    outdir = preview_build(corpus.kb, "html-collect-pages", lambda app: taken.append(search.Handover.take(queue)) or [])
    (handover,) = taken
    assert handover is not None
    assert sorted(handover.pages) == sorted(f"{post.removesuffix('.md')}.html" for post in corpus.posts)
    assert all((handover.outdir / page).is_file() for page in handover.pages)
    assert handover.term_pages
    assert all((handover.terms / page).is_file() for page in handover.term_pages)
    assert search.Handover.take(queue) is None  # nothing more once the feeds and listings are written
    assert not (outdir / search.BUNDLE_DIR).exists()  # the preview indexes, not the build


def test_a_preview_rebuild_hands_the_saved_page_over_before_the_pages_that_list_it(
    queued: tuple[Corpus, Path],
) -> None:
    """After a save, search takes the saved post's page while the build writes the listings."""
    from kb.builder import READ_PAGES_WRITTEN

    corpus, queue = queued
    outdir = preview_build(corpus.kb, READ_PAGES_WRITTEN, lambda app: None)
    search.Handover.take(queue)
    post = corpus.kb / corpus.posts[-1]
    head, _, body = post.read_text(encoding="utf-8").partition("\n---\n\n")
    post.write_text(f"{head}\n---\n\nKestrelwing sightings. {body}", encoding="utf-8")  # its excerpt too
    home = outdir / "index.html"  # lists the newest post
    seen: list[tuple[search.Handover | None, int]] = []
    # After the search module's handler: what it handed over, and the listing as it then was.
    preview_build(
        corpus.kb, READ_PAGES_WRITTEN, lambda app: seen.append((search.Handover.take(queue), home.stat().st_mtime_ns))
    )
    ((handover, listed),) = seen
    assert handover is not None
    page = f"{corpus.posts[-1].removesuffix('.md')}.html"
    assert "Kestrelwing" in (handover.outdir / page).read_text(encoding="utf-8")
    assert home.stat().st_mtime_ns > listed  # the listing was written after
    assert search.Handover.take(queue) is not None  # and handed over again once every page was
