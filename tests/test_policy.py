"""The content policy: hostile content is refused, and names carrying markup stay text.

``test-hostile`` holds one violation per file and must fail with a located
``kb.policy`` (or ``kb.content``) error for each; ``test-hostile-escape`` is
valid content whose titles, tags, practices, author names, series titles and
excerpts carry HTML and script payloads, and every file it produces is parsed
to check that no payload became markup.
"""

from __future__ import annotations

import gzip
import html
import json
import re
import shutil
from dataclasses import dataclass
from io import StringIO
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from bs4 import BeautifulSoup
from sphinx.testing.util import SphinxTestApp

from kb import model
from kb.rules.pages import inside, scheme_of

from .conftest import ROOT, build

ROOTS = Path(__file__).parent / "roots"
PASSWD = "../../../../../../../../../../etc/passwd"
PAYLOADS = ("<script>alert(1)</script>", '"><img src=x onerror=alert(1)>')


@dataclass
class Built:
    srcdir: Path
    outdir: Path
    warnings: str

    def files(self, *suffixes: str) -> list[Path]:
        return sorted(p for p in self.outdir.rglob("*") if p.suffix in suffixes and ".doctrees" not in p.parts)


def build_root(name: str, tmp: Path, prepare=None) -> Built:
    """Copy ``tests/roots/test-<name>`` to *tmp* and build it once, warnings collected."""
    srcdir = tmp / name
    shutil.copytree(ROOTS / f"test-{name}", srcdir)
    if prepare:
        prepare(srcdir)
    warning = StringIO()
    app = SphinxTestApp("html", srcdir=srcdir, status=StringIO(), warning=warning, freshenv=True)
    try:
        app.build()
    finally:
        app.cleanup()
    text = re.sub(r"\x1b\[[0-9;]*m", "", warning.getvalue())
    return Built(srcdir, Path(app.outdir), text.replace(f"{srcdir}/", ""))


def add_oversized_post(srcdir: Path) -> None:
    """A post over the size limit (made here, so the repository does not carry it)."""
    body = ("A sentence that repeats to make a long post. " * 20 + "\n\n") * (model.MAX_POST_BYTES // 900 + 1)
    front = "---\ntitle: Too big\ndate: 2023-05-01\nauthor: AA\ntags: GMP\npractice: Quality Systems\n---\n\n"
    (srcdir / "posts" / "too-big.md").write_text(front + body, encoding="utf-8")


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Built:
    return build_root("hostile", tmp_path_factory.mktemp("hostile"), add_oversized_post)


@pytest.fixture(scope="module")
def escaped(tmp_path_factory: pytest.TempPathFactory) -> Built:
    return build_root("hostile-escape", tmp_path_factory.mktemp("escape"))


# -- every violation is a located error ---------------------------------------

#: (file:line, words of the message): each must be reported.
VIOLATIONS = {
    "html block": ("posts/html-block.md:11", "raw HTML is not allowed (an HTML block"),
    "inline html": ("posts/html-block.md:13", "raw HTML is not allowed (inline HTML: '<b onmouseover"),
    "raw directive": ("posts/raw-directive.md:11", "the {raw} directive is not allowed"),
    "eval-rst": ("posts/eval-rst.md:11", "{eval-rst} blocks are not allowed"),
    "javascript button": ("posts/links.md:11", "link target 'javascript:alert(1)' is not allowed"),
    "vbscript image target": ("posts/links.md:15", "link target 'vbscript:msgbox(1)' is not allowed"),
    "data image": ("posts/links.md:19", "image 'data:image/png;base64,iVBORw0KGgo=' is not allowed"),
    "literalinclude outside": ("posts/includes.md:11", f"{{literalinclude}} of '{PASSWD}'"),
    "include outside": ("posts/includes.md:1", "{include} of '"),
    "download outside": ("posts/includes.md:17", f"download '{PASSWD}' is outside"),
    "image outside": ("posts/includes.md:19", f"image '{PASSWD}' is not allowed"),
    "csv file outside": ("posts/csv.md:11", f"{{csv-table}} :file: '{PASSWD}' is outside"),
    "csv url": ("posts/csv.md:15", "{csv-table} with :url: is not allowed"),
    "meta refresh": ("meta-refresh.md:5", "meta http-equiv 'refresh' is not allowed"),
    "post directive": ("posts/post-directive.md:11", "the {post} directive is not allowed"),
    "redirect key": ("posts/ablog-keys.md:7", "key 'redirect' is not supported (ABlog's redirect writes"),
    "external_link key": ("posts/ablog-keys.md:8", "key 'external_link' is not supported"),
    "canonical_link key": ("posts/ablog-keys.md:9", "key 'canonical_link' is not supported"),
    "post keys outside posts/": ("about.md:3", "post front matter (blogpost, date, redirect) outside posts/"),
    "generated page name": ("blog/tag/gmp.md:1", "the page name 'blog/tag/gmp' belongs to a page the build generates"),
    "title with html": ("posts/title-html.md:2", "the title '<img src=x onerror=alert(1)>' contains HTML"),
    "too many tags": ("posts/too-many-tags.md:5", "9 tags, over the limit of 8"),
    "too big": ("posts/too-big.md:1", f"over the limit of {model.MAX_POST_BYTES // 1000} KB"),
    "unparsable": ("posts/unparsable.md:2", 'malformed YAML: the quote " opened here is never closed'),
    "no title": ("posts/no-title.md:1", "missing 'title'"),
    "empty": ("posts/empty.md:1", "file is empty"),
    "rst file": ("posts/notes.rst:1", "'notes.rst' is not a post: only .md files in posts/ are published"),
    "upper-case suffix": ("posts/Shouting.MD:1", "'Shouting.MD' is not a post"),
    "excluded post": ("posts/left-out.md:1", "this post is left out of the build by exclude_patterns"),
    "same label": ("posts/sub/same.md:1", "this post and posts/same.md share the label 'same'"),
    "folder/index.md and folder.md": ("posts/folder/index.md:1", "this post and posts/folder.md share the label"),
    "names differing in case": ("posts/case.md:1", "this post and posts/Case.md share the output page"),
    "same author page": ("authors/aa.md:1", "author key 'aa' clashes with 'authors/AA.md'"),
    "same author page by name": ("authors/AB.md:2", "would share the page blog/author/ann-author"),
    "author name without a page": ("authors/NN.md:2", "name '!!!' has no letters or digits"),
    "same practice page": ("vocabulary.yaml:15", "'Quality-Systems' and 'Quality Systems' would share the page"),
    "same tag page": ("vocabulary.yaml:12", "'C++' and 'C' would share the page 'c'"),
    "update with a zone": ("posts/bad-update.md:11", "{update} date '2023-05-08T10:00+02:00' is not a date"),
    "update without a date": ("posts/bad-update.md:15", "{update} date 'not-a-date' is not a date"),
    "label taken by a post": ("posts/ok.md:1", "the label 'ok' is also defined in about.md"),
    "same label twice": ("posts/links.md:25", "the label 'intro' is also defined in posts/csv.md"),
    "page outside every toctree": ("orphan-page.md", "document isn't included in any toctree"),
}


@pytest.mark.parametrize("where, words", VIOLATIONS.values(), ids=VIOLATIONS.keys())
def test_violation_is_a_located_error(hostile: Built, where: str, words: str) -> None:
    lines = [line for line in hostile.warnings.splitlines() if line.startswith(f"{where}:") or line.startswith(where)]
    assert any(words in line for line in lines), f"{where}: {words}\n---\n{hostile.warnings}"


def test_policy_warnings_name_the_fix_and_can_be_selected(hostile: Built) -> None:
    policy = [line for line in hostile.warnings.splitlines() if line.endswith("[kb.policy]")]
    assert len(policy) >= 25
    assert all(re.search(r"\(.+\) \[kb\.policy\]$", line) for line in policy), policy


def test_a_strict_build_of_hostile_content_fails(tmp_path: Path) -> None:
    srcdir = tmp_path / "src"
    shutil.copytree(ROOTS / "test-hostile", srcdir)
    add_oversized_post(srcdir)
    result = build(srcdir, tmp_path / "out")  # -W, reading in parallel
    assert result.returncode != 0
    log = result.stderr.replace(f"{srcdir}/", "")
    for where, words in VIOLATIONS.values():
        assert where in log and words in log, (where, words)


def test_invalid_posts_do_not_become_ordinary_pages(hostile: Built) -> None:
    for name in ("unparsable", "empty", "left-out"):
        assert not (hostile.outdir / "posts" / f"{name}.html").exists(), name


def test_an_update_with_a_bad_date_stays_a_note(hostile: Built) -> None:
    page = BeautifulSoup((hostile.outdir / "posts" / "bad-update.html").read_text(encoding="utf-8"), "html.parser")
    notes = [note.get_text() for note in page.select(".admonition.update")]
    assert len(notes) == 2
    assert "Still shown as a note." in notes[1]


def test_no_refused_content_reaches_the_output(hostile: Built) -> None:
    assert not (hostile.outdir / "_downloads").exists()
    # Besides the figure, only the generated author avatars (kb/authors.py).
    assert sorted(p.name for p in (hostile.outdir / "_images").iterdir()) == ["avatars", "figure.png"]
    for path in hostile.files(".html", ".xml", ".js", ".txt", ".csv"):
        text = path.read_text(encoding="utf-8")
        assert "root:x:0:0" not in text, path
    assert leaks(hostile, skip_ablog_lists=True) == []


def test_redirect_pages_are_never_written(hostile: Built) -> None:
    index = BeautifulSoup((hostile.outdir / "index.html").read_text(encoding="utf-8"), "html.parser")
    assert index.select_one('meta[http-equiv="refresh"]') is None
    meta = BeautifulSoup((hostile.outdir / "meta-refresh.html").read_text(encoding="utf-8"), "html.parser")
    assert meta.select_one('meta[http-equiv="refresh"]') is None
    assert meta.select_one('meta[name="description"]')["content"] == "A description is fine."
    assert not list(hostile.outdir.rglob("*.html")) or all(
        "You are being redirected" not in p.read_text(encoding="utf-8") for p in hostile.files(".html")
    )


def test_warning_text_never_becomes_an_excerpt(hostile: Built) -> None:
    listing = (hostile.outdir / "index.html").read_text(encoding="utf-8")
    feed = (hostile.outdir / "blog" / "atom.xml").read_text(encoding="utf-8")
    assert "A good post whose first paragraph has a" in listing
    for text in (listing, feed):
        assert "nosuchrole" not in text
        assert "INFO/1" not in text


# -- names and titles that carry markup stay text ------------------------------


def html_leaks(text: str, where: str, *, skip_ablog_lists: bool = False) -> list[str]:
    """Every element or attribute that a payload turned into markup."""
    soup = BeautifulSoup(text, "html.parser")
    if skip_ablog_lists:
        for node in soup.select(".ablog__collection, .ablog__catalog_header"):
            node.decompose()
    found = []
    for element in soup.find_all(True):
        if element.name == "script" and "alert(" in (element.string or ""):
            found.append(f"{where}: <script>{element.string[:40]}")
        if element.name == "img" and element.get("src") == "x":
            found.append(f"{where}: <img src=x>")
        for attribute, value in element.attrs.items():
            if attribute.lower().startswith("on"):
                found.append(f"{where}: <{element.name} {attribute}>")
            url = attribute in ("href", "src", "action", "formaction") and isinstance(value, str)
            if url and scheme_of(value) not in ("", "http", "https", "mailto"):
                found.append(f"{where}: <{element.name} {attribute}={value!r}>")
    return found


def leaks(built: Built, *, skip_ablog_lists: bool = False) -> list[str]:
    """Payloads turned into markup anywhere in the output: pages, feeds (their HTML too), scripts."""
    found: list[str] = []
    for path in built.files(".html", ".xml", ".js"):
        where = path.relative_to(built.outdir).as_posix()
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".html":
            found += html_leaks(text, where, skip_ablog_lists=skip_ablog_lists)
        elif path.suffix == ".xml":
            for element in ET.fromstring(text).iter():
                if element.tag.rsplit("}", 1)[-1] in ("script", "img"):
                    found.append(f"{where}: <{element.tag}>")
                if element.get("type") in ("html", "xhtml") and element.text:
                    found += html_leaks(element.text, f"{where} {element.tag}")
        elif path.name != "searchindex.js" and any(p in text for p in PAYLOADS):
            found.append(f"{where}: payload in a script")
    return found


def test_escape_root_builds_without_warnings(escaped: Built) -> None:
    assert escaped.warnings == ""


def test_no_payload_becomes_markup_in_pages_sidebars_or_feeds(escaped: Built) -> None:
    assert leaks(escaped, skip_ablog_lists=True) == []


@pytest.mark.xfail(
    not (ROOT / "_templates" / "ablog" / "collection.html").exists(),
    reason="ABlog's collection and catalog pages are escaped by the tag pages' own templates",
    strict=True,
)
def test_no_payload_becomes_markup_in_ablog_lists(escaped: Built) -> None:
    assert leaks(escaped) == []


def test_payloads_are_shown_as_text(escaped: Built) -> None:
    home = BeautifulSoup((escaped.outdir / "index.html").read_text(encoding="utf-8"), "html.parser")
    listing = home.select_one(".kb-post-list").get_text(" ")
    assert "<script>alert(1)</script>" in listing
    assert 'The excerpt: <script>alert(1)</script> and "><img src=x onerror=alert(1)>' in listing
    post = BeautifulSoup((escaped.outdir / "posts" / "first.html").read_text(encoding="utf-8"), "html.parser")
    assert post.select_one("h1").get_text().startswith('<script>alert(1)</script> "><img src=x onerror=alert(1)>')
    assert '"><img src=x onerror=alert(1)>' in post.select_one(".kb-byline").get_text()
    assert "<script>alert(2)</script>" in post.select_one(".kb-byline").get_text()
    tag_page = escaped.outdir / "blog" / "tag" / "scriptalert1script.html"
    tag = BeautifulSoup(tag_page.read_text(encoding="utf-8"), "html.parser")
    assert tag.title.get_text().startswith("Posts tagged <script>alert(1)</script>")


def test_feeds_carry_payloads_as_text(escaped: Built) -> None:
    atom = "{http://www.w3.org/2005/Atom}"
    feed = ET.parse(escaped.outdir / "blog" / "atom.xml").getroot()
    titles = {entry.findtext(f"{atom}title") for entry in feed.iter(f"{atom}entry")}
    assert '<script>alert(1)</script> "><img src=x onerror=alert(1)>' in titles


def test_search_index_holds_titles_as_data_and_search_escapes_them(escaped: Built) -> None:
    # Pagefind's index (kb/search.py); tests/test_browser.py shows such names as text on the search page.
    bundle = escaped.outdir / "pagefind"
    fragments = [gzip.decompress(p.read_bytes()).removeprefix(b"pagefind_dcd") for p in (bundle / "fragment").iterdir()]
    titles = [json.loads(fragment)["meta"]["title"] for fragment in fragments]
    assert not any("<" in title for title in titles)  # stored escaped, as data
    assert any("<script>alert(1)</script>" in html.unescape(title) for title in titles)
    # Pagefind's interface writes filter values as HTML: they hold no markup characters.
    for path in (bundle / "filter").iterdir():
        assert b"<" not in gzip.decompress(path.read_bytes())


# -- the helpers ------------------------------------------------------------------


@pytest.mark.parametrize(
    "uri, scheme",
    [
        ("https://example.com", "https"),
        ("mailto:a@example.com", "mailto"),
        ("../posts/a.html#x", ""),
        ("#top", ""),
        ("javascript:alert(1)", "javascript"),
        (" JaVa\tScRiPt:alert(1)", "javascript"),
        ("java\nscript:alert(1)", "javascript"),
        ("\x01vbscript:x", "vbscript"),
        ("DATA:text/html,x", "data"),
    ],
)
def test_scheme_is_read_as_a_browser_reads_it(uri: str, scheme: str) -> None:
    assert scheme_of(uri) == scheme


def test_inside_refuses_parents_symlinks_and_hidden_folders(tmp_path: Path) -> None:
    (tmp_path / "repo" / "posts").mkdir(parents=True)
    (tmp_path / "repo" / ".git").mkdir()
    (tmp_path / "secret.txt").write_text("x")
    (tmp_path / "repo" / "posts" / "link.txt").symlink_to(tmp_path / "secret.txt")
    repo = tmp_path / "repo"
    assert inside(repo / "posts" / "a.md", repo)
    assert not inside(repo / "posts" / ".." / ".." / "secret.txt", repo)
    assert not inside(repo / "posts" / "link.txt", repo)
    assert not inside(repo / ".git" / "config", repo)


def test_an_include_from_inside_the_repository_still_works(tmp_path: Path) -> None:
    """The include guard checks the path first, then lets MyST read the file as usual."""
    src = tmp_path / "site"
    shutil.copytree(Path(__file__).parent / "roots" / "test-hostile-escape", src)
    (src / "snippets").mkdir()
    (src / "snippets" / "note.md").write_text("Words from a shared snippet.\n", encoding="utf-8")
    post = src / "posts" / "first.md"
    post.write_text(post.read_text(encoding="utf-8") + "\n```{include} ../snippets/note.md\n```\n", encoding="utf-8")
    result = build(src, src / "_build" / "html", "-D", "exclude_patterns=_build,snippets")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    page = (src / "_build" / "html" / "posts" / "first.html").read_text(encoding="utf-8")
    assert "Words from a shared snippet." in page
