"""Drafts and scheduled posts: absent from the published site, bannered in previews."""

from __future__ import annotations

import gzip
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from kb import cli
from kb.rules.pages import PLACEHOLDER_INTRODUCTION, PLACEHOLDER_SECTION

from .conftest import ROOT

# sphinx-sitemap 2.9 uses env.app, which Sphinx 11 will remove; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore::PendingDeprecationWarning:sphinx_sitemap")

#: What would betray each held post: its title, its file name, its body text.
TRACES = {
    "draft": ("Unfinished Kestrel Draft", "held-draft-kestrel", "kestrel"),
    "scheduled": ("Embargoed Osprey Announcement", "held-embargo-osprey", "osprey"),
}


def contents(path: Path) -> bytes:
    """A file's bytes; Pagefind's search index files are gzip-compressed, so read them unpacked."""
    data = path.read_bytes()
    return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data


def files_mentioning(folder: Path, word: str) -> list[str]:
    """Every file below *folder* (HTML, search index, feeds, sitemap, sources...) holding *word*."""
    needle = word.lower().encode()
    return sorted(
        path.relative_to(folder).as_posix()
        for path in folder.rglob("*")
        if path.is_file() and needle in contents(path).lower()
    )


def page(app, name: str) -> BeautifulSoup:
    return BeautifulSoup((Path(app.outdir) / name).read_text(encoding="utf-8"), "html.parser")


@pytest.mark.sphinx("html", testroot="drafts", freshenv=True)
def test_held_posts_leave_no_trace_in_the_published_site(app) -> None:
    app.build()
    outdir = Path(app.outdir)
    assert app.statuscode == 0
    assert app.warning.getvalue() == ""
    # The places where a leak would show exist, and carry the published post.
    assert any(path.startswith("pagefind/fragment/") for path in files_mentioning(outdir, "A Published Post"))
    assert "A Published Post" in (outdir / "blog" / "atom.xml").read_text(encoding="utf-8")
    assert "posts/published-post.html" in (outdir / "sitemap.xml").read_text(encoding="utf-8")
    assert (outdir / "_sources" / "posts" / "published-post.md.txt").is_file()
    for status, traces in TRACES.items():
        for trace in traces:
            assert files_mentioning(outdir, trace) == [], f"{status} post leaks {trace!r}"


@pytest.mark.sphinx("html", testroot="drafts", freshenv=True)
def test_build_counts_and_names_held_posts(app) -> None:
    app.build()
    log = app.status.getvalue()
    assert "kb: 1 post published; 1 draft and 1 scheduled post held back" in log
    assert re.search(r"kb:\s+draft\s+posts/held-draft-kestrel\.md", log)
    assert re.search(r"kb:\s+scheduled posts/held-embargo-osprey\.md \(2999-01-01\)", log)


@pytest.mark.sphinx("html", testroot="drafts", freshenv=True, confoverrides={"kb_include_drafts": True})
def test_preview_shows_held_posts_under_a_banner(app) -> None:
    app.build()
    assert app.statuscode == 0
    assert app.warning.getvalue() == ""
    assert "1 draft and 1 scheduled post previewed" in app.status.getvalue()
    draft = page(app, "posts/held-draft-kestrel.html").select_one("article")
    assert draft.select_one("h1").get_text(strip=True).rstrip("#") == "Unfinished Kestrel Draft"
    banner = draft.select_one(".kb-held.kb-draft")
    assert banner.select_one(".admonition-title").get_text(strip=True) == "Draft"
    assert "not published" in banner.get_text()
    assert banner.get_text().lower().count("draft") == 1  # the title says it; the text need not
    scheduled = page(app, "posts/held-embargo-osprey.html").select_one(".kb-held.kb-scheduled")
    assert scheduled.select_one(".admonition-title").get_text(strip=True) == "Scheduled"
    assert "1 January 2999" in scheduled.get_text()
    assert page(app, "posts/published-post.html").select_one(".kb-held") is None
    # The search for traces finds them when they are there.
    assert any(path.startswith("pagefind/fragment/") for path in files_mentioning(Path(app.outdir), "kestrel"))


def test_preview_is_switched_on_by_the_environment(
    monkeypatch: pytest.MonkeyPatch, make_app, rootdir, tmp_path
) -> None:
    """``make html-drafts`` and ``make serve`` set KB_DRAFTS=1 rather than a setting."""
    srcdir = tmp_path / "drafts"
    shutil.copytree(rootdir / "test-drafts", srcdir)
    monkeypatch.setenv("KB_DRAFTS", "1")
    app = make_app("html", srcdir=srcdir)
    app.build()
    assert (Path(app.outdir) / "posts" / "held-draft-kestrel.html").is_file()
    assert (Path(app.outdir) / "posts" / "held-embargo-osprey.html").is_file()


def test_real_site_publishes_nothing_of_held_posts(tmp_path: Path) -> None:
    """The whole site, every template and listing, plus a draft and a scheduled post started by ``kb new``."""
    srcdir = tmp_path / "site"
    shutil.copytree(ROOT, srcdir, ignore=shutil.ignore_patterns(".*", "_build", "tests", "__pycache__"))
    common = ["--root", str(srcdir), "new", "--author", "MR, BD", "--tags", "GMP, Inspections"]
    assert cli.main([*common, "--title", "Unfinished Kestrel Draft", "--series", "quality-myths", "--draft"]) == 0
    assert cli.main([*common, "--title", "Embargoed Osprey Announcement", "--date", "2999-01-01"]) == 0
    for name, word in (("unfinished-kestrel-draft", "Kestrel"), ("embargoed-osprey-announcement", "Osprey")):
        post = srcdir / "posts" / f"{name}.md"
        text = post.read_text(encoding="utf-8").replace(PLACEHOLDER_INTRODUCTION, f"{word} body text.")
        post.write_text(text.replace(f"## {PLACEHOLDER_SECTION}", f"## {word} details"), encoding="utf-8")
    outdir = tmp_path / "html"
    command = [sys.executable, "-m", "sphinx", "-W", "-n", "--keep-going", "-j", "auto", "-b", "html"]
    command += ["-d", str(tmp_path / "doctrees"), str(srcdir), str(outdir)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "1 draft and 1 scheduled post held back" in result.stdout
    assert "index.html" in files_mentioning(outdir, "Newest posts")  # the search finds what is there
    for trace in ("unfinished-kestrel-draft", "embargoed-osprey-announcement", "kestrel", "osprey"):
        assert files_mentioning(outdir, trace) == [], f"a held post leaks {trace!r}"
