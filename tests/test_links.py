"""Every internal link of the built site leads somewhere: a file, and the #anchor in it."""

from __future__ import annotations

import functools
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlsplit

from bs4 import BeautifulSoup

from .conftest import BuiltSite

#: Attributes that point at another file of the site.
LINK_ATTRIBUTES = {"a": "href", "link": "href", "img": "src", "script": "src", "source": "src", "form": "action"}


@functools.cache
def ids_of(path: Path) -> frozenset[str]:
    """Every id (and old-style a name) in the page at *path*."""
    soup = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")
    return frozenset(e["id"] for e in soup.find_all(id=True)) | frozenset(
        a["name"] for a in soup.find_all("a", attrs={"name": True})
    )


def broken_links(outdir: Path) -> list[str]:
    """``page: target (reason)`` for each internal link that does not resolve."""
    broken: list[str] = []
    for page in sorted(outdir.rglob("*.html")):
        if page.relative_to(outdir).parts[0] == "_static":
            continue  # the theme's template fragments, not pages
        soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
        for tag, attribute in LINK_ATTRIBUTES.items():
            for element in soup.find_all(tag, attrs={attribute: True}):
                target = element[attribute]
                parts = urlsplit(target)
                if parts.scheme or parts.netloc:
                    continue  # external, or mailto:
                url, fragment = urldefrag(target)
                path = unquote(urlsplit(url).path)
                # Root-relative links (the 404 page's, which works at any depth) start at the site's root.
                base = outdir if path.startswith("/") else page.parent
                file = (base / path.lstrip("/")).resolve() if url else page
                where = f"{page.relative_to(outdir)}: {target}"
                if outdir.resolve() not in file.parents and file != outdir.resolve():
                    broken.append(f"{where} (leaves the site)")
                elif file.is_dir():
                    if not (file / "index.html").is_file():
                        broken.append(f"{where} (a folder without index.html)")
                elif not file.is_file():
                    broken.append(f"{where} (no such file)")
                elif fragment and file.suffix == ".html" and unquote(fragment) not in ids_of(file):
                    broken.append(f"{where} (no id {fragment!r} in {file.name})")
    return broken


def test_every_internal_link_and_anchor_resolves(site: BuiltSite) -> None:
    assert site.returncode == 0, site.log[-3000:]
    assert broken_links(site.outdir) == []


def test_the_check_finds_a_broken_link_and_anchor(tmp_path: Path) -> None:
    (tmp_path / "a.html").write_text('<p id="here"><a href="b.html#nowhere">b</a><a href="#here">x</a></p>')
    (tmp_path / "b.html").write_text('<a href="missing.html">m</a><a href="a.html#here">a</a>')
    assert broken_links(tmp_path) == [
        "a.html: b.html#nowhere (no id 'nowhere' in b.html)",
        "b.html: missing.html (no such file)",
    ]
