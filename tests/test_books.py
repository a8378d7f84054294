"""A series as a book: PDF and EPUB made from the built pages, linked from the site only when built."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from kb import books, model

ROOT = Path(__file__).resolve().parent.parent

TABS = """
````{tab-set}
```{tab-item} Before the inspection
Readiness work in the weeks before.
```
```{tab-item} After the inspection
The response to each observation.
```
````

```{card} A card
Text inside a card.
```

See the first part, {part}`myths/1`, and the [tags](../tags.md).
"""


def build(src: Path, *, books_too: bool = False) -> subprocess.CompletedProcess[str]:
    """Build *src* into its _build/html as make html does (``make publish``'s last step with *books_too*)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "KB_BOOKS": "1" if books_too else ""}
    out = src / "_build"
    command = [sys.executable, "-m", "sphinx", "-W", "-n", "--keep-going", "-b", "html"]
    command += ["-d", str(out / "doctrees"), str(src), str(out / "html")]
    return subprocess.run(command, capture_output=True, text=True, check=False, env=env)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The series test site, its second part holding tabs, a card and links, built."""
    src = tmp_path_factory.mktemp("books") / "site"
    shutil.copytree(ROOT / "tests" / "roots" / "test-series", src)
    part = src / "posts" / "myths-2.md"
    part.write_text(part.read_text(encoding="utf-8") + TABS, encoding="utf-8")
    (src / "tags.md").write_text("---\norphan: true\n---\n# Tags\n\nEvery tag.\n", encoding="utf-8")
    result = build(src)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return src


def pdf_text(path: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout


def test_the_pdf_has_a_cover_contents_introduction_and_every_published_part(site: Path) -> None:
    (path,) = books.make("pdf", site, site / "_build" / "html", site / "_build" / "pdf", "myths")
    text = pdf_text(path)
    pages = text.split("\f")
    assert "Myths" in pages[0] and "One myth per post." in pages[0] and "Ann Archer, " in pages[0]
    assert "2 parts, 10 January 2023 to 10 February 2023" in pages[0]
    assert "Contents" in pages[1] and "Myth one" in pages[1] and "Myth two" in pages[1]
    assert "The introduction of the myths." in text
    assert text.index("Myth one") < text.index("Myth two") and "Myth three" not in text, "no draft"
    assert "Part 2 · By Ann Archer" in text
    # Tabs follow each other; the card is a box with its text.
    assert "Readiness work in the weeks before." in text and "The response to each observation." in text
    assert "Text inside a card." in text
    # Running headers name the series and the part; pages are numbered.
    last = pages[-2] if not pages[-1].strip() else pages[-1]
    assert "Myths" in last and "Myth two" in last
    assert re.search(rf"\b{len(pages) - 1}\s*/\s*{len(pages) - 1}\b", last), "the last page is numbered"


def test_links_stay_in_the_book_between_parts_and_lead_to_the_site_otherwise(site: Path) -> None:
    settings = {"kb_site_url": "https://kb.example.com/", "project": "Test"}
    book = books.collect(site, site / "_build" / "html", model.load(site), "myths", settings)
    document = BeautifulSoup(books.book_document(book, site / "_build" / "html", target="pdf"), "html.parser")
    part_two = document.select_one("#part-2")
    hrefs = [a["href"] for a in part_two.select("a[href]")]
    assert "#part-1" in hrefs, "a link to another part stays in the book"
    assert "https://kb.example.com/tags.html" in hrefs, "a link to another page leads to the site"
    assert all(document.select_one(f"#{h[1:]}") is not None for h in hrefs if h.startswith("#")), "no dead anchor"


def test_the_epub_holds_one_file_per_part_linked_to_each_other(site: Path) -> None:
    (path,) = books.make("epub", site, site / "_build" / "html", site / "_build" / "epub", "myths")
    with zipfile.ZipFile(path) as epub:
        names = epub.namelist()
        assert {"EPUB/part-1.xhtml", "EPUB/part-2.xhtml", "EPUB/introduction.xhtml", "EPUB/nav.xhtml"} <= set(names)
        assert epub.read("mimetype") == b"application/epub+zip"
        part_two = epub.read("EPUB/part-2.xhtml").decode()
        assert 'href="part-1.xhtml#part-1"' in part_two
        assert "Myth three" not in "".join(epub.read(n).decode(errors="ignore") for n in names if n.endswith("xhtml"))


def test_an_unknown_series_or_an_unbuilt_site_is_a_clear_error(site: Path, tmp_path: Path) -> None:
    with pytest.raises(books.BookError, match=r"unknown series 'myth'.*did you mean 'myths'"):
        books.make("pdf", site, site / "_build" / "html", tmp_path, "myth")
    with pytest.raises(books.BookError, match="no built site: run make html first"):
        books.make("pdf", site, tmp_path / "nothing", tmp_path, None)


def test_the_site_links_books_only_in_a_build_that_has_them(site: Path) -> None:
    html = site / "_build" / "html"

    def links(page: str) -> list[str]:
        soup = BeautifulSoup((html / page).read_text(encoding="utf-8"), "html.parser")
        return [a["href"] for a in soup.select("a.kb-book-link")]

    assert links("series/myths.html") == []
    books.make("pdf", site, html, site / "_build" / "pdf", "myths")
    books.make("epub", site, html, site / "_build" / "epub", "myths")
    assert build(site, books_too=True).returncode == 0
    assert links("series/myths.html") == ["../books/myths.pdf", "../books/myths.epub"]
    assert links("posts/myths-1.html") == ["../books/myths.pdf", "../books/myths.epub"]
    assert links("series/guide.html") == [], "a series without books links none"
    assert all((html / "series" / href).resolve().is_file() for href in links("series/myths.html"))
    assert build(site).returncode == 0
    assert links("series/myths.html") == links("posts/myths-1.html") == []
    assert not (html / books.BOOKS_DIR).exists()
