"""Incremental builds give exactly the pages a clean build gives.

A small generated site (the real configuration, extensions and vocabulary, 12
posts, two to a page of a listing so that listings span several pages) is
built once; then, edit after edit, it is rebuilt incrementally into
the same folder and, separately, from scratch.  Every page and feed must be the
same in both, and no page of a removed post may be left behind.  This is the
safety net of every ``env-get-updated`` rule (``kb/listings.py``, ``kb/related.py``...) and of the
caches in ``kb/upstream/``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from typing import TYPE_CHECKING

import pytest

from kb import bench, model

from .conftest import build

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

POSTS = 12
#: Posts per page of a listing in the corpus: a few posts make listings of several pages.
PER_PAGE = 2


def front_matter(path: Path, key: str, value: str | None) -> None:
    """Set (or with ``None`` remove) one front-matter line of a post."""
    head, sep, rest = path.read_text(encoding="utf-8").partition("\n---\n")
    lines = [line for line in head.split("\n") if not line.startswith(f"{key}: ")]
    if value is not None:
        lines.append(f"{key}: {value}")
    path.write_text("\n".join(lines) + sep + rest, encoding="utf-8")


def edit_body(src: Path) -> None:
    path = src / "posts" / "post-00011.md"
    head, sep, rest = path.read_text(encoding="utf-8").partition("\n---\n\n")
    path.write_text(f"{head}{sep}A rewritten first paragraph, shown in every listing.\n\n{rest}", encoding="utf-8")


def retitle_part(src: Path) -> None:
    part = next(
        p for p in sorted((src / "posts").glob("*.md")) if "series: series-000" in p.read_text(encoding="utf-8")
    )
    front_matter(part, "title", '"A retitled part, listed under its new name"')


def retitle_series(src: Path) -> None:
    path = src / "series" / "series-000.md"
    path.write_text(path.read_text(encoding="utf-8").replace("title: Series 0", "title: A renamed series"), "utf-8")


def change_tags(src: Path) -> None:
    front_matter(src / "posts" / "post-00005.md", "tags", "[Auditing, Training]")


def change_author(src: Path) -> None:
    front_matter(src / "posts" / "post-00007.md", "author", "A19")


def third_post_of_an_author(src: Path) -> None:
    """The author's listing grows to a second page (``authors/A19/page/2.html``)."""
    front_matter(src / "posts" / "post-00009.md", "author", "[A19, A10]")


def add_backdated_post(src: Path) -> None:
    """A post dated among older ones: the pages of its listings shift from where it falls."""
    copy_post(src, "post-00003", "post-00102", "An older post: ", "2019-01-08")


def add_series_part(src: Path) -> None:
    parts = [p for p in (src / "posts").glob("*.md") if "series: series-000" in p.read_text(encoding="utf-8")]
    text = (src / "posts" / "post-00003.md").read_text(encoding="utf-8")
    new = src / "posts" / "post-00100.md"
    new.write_text(text.replace('title: "', 'title: "Another part: ', 1), encoding="utf-8")
    front_matter(new, "date", "2019-03-01")
    front_matter(new, "series", "series-000")
    front_matter(new, "part", str(len(parts) + 1))


def delete_post(src: Path) -> None:
    """Delete the newest post outside any series, and the links other posts had
    to it, as its author would (a link to a deleted post fails the build)."""
    posts = sorted((src / "posts").glob("*.md"), reverse=True)
    victim = next(p for p in posts if "series:" not in p.read_text(encoding="utf-8"))
    victim.unlink()
    link = re.compile(r"\{(?:doc|post)\}`" + re.escape(victim.stem) + "`")
    for path in posts:
        text = path.read_text(encoding="utf-8") if path != victim else ""
        if link.search(text):
            path.write_text(link.sub("another post", text), encoding="utf-8")


def git(src: Path, *args: str) -> None:
    """Run git in the corpus as one fixed person, at the real time (the clean copy shares the history)."""
    person = {"GIT_AUTHOR_NAME": "Ann Author", "GIT_AUTHOR_EMAIL": "a@example.com"}
    person |= {"GIT_COMMITTER_NAME": "Ann Author", "GIT_COMMITTER_EMAIL": "a@example.com"}
    subprocess.run(["git", "-C", str(src), *args], check=True, capture_output=True, env={**os.environ, **person})


def commit_all(src: Path, subject: str) -> None:
    git(src, "add", "-A")
    git(src, "commit", "-q", "-m", subject)


def commit_a_change(src: Path) -> None:
    """A new commit: the post's "last updated" and history change."""
    path = src / "posts" / "post-00004.md"
    path.write_text(path.read_text(encoding="utf-8") + "\nA sentence added later.\n", encoding="utf-8")
    commit_all(src, "Post 4: add a sentence")


def review_a_post(src: Path) -> None:
    """A new review: the post's byline and the review queue change."""
    path = src / "posts" / "post-00006.md"
    published = re.search(r"^date: (\S+)", path.read_text(encoding="utf-8"), re.M)
    assert published is not None
    front_matter(path, "reviewed", f"{{by: A01, on: {published.group(1)}}}")
    commit_all(src, "Post 6: reviewed")


def cite_a_regulation(src: Path) -> None:
    """A new citation: the post ends with it, and the regulations page lists the post."""
    path = src / "posts" / "post-00008.md"
    path.write_text(path.read_text(encoding="utf-8") + "\nSee {cfr}`21 CFR 211.192`.\n", encoding="utf-8")


def use_a_term(src: Path) -> None:
    """A new link to a glossary term: the glossary lists the post under it."""
    path = src / "posts" / "post-00009.md"
    path.write_text(path.read_text(encoding="utf-8") + "\nEvery {term}`CAPA` is checked.\n", encoding="utf-8")


def define_a_term(src: Path) -> None:
    """A glossary definition reworded: the glossary page, and the term's search result, follow."""
    path = src / "glossary.md"
    text = path.read_text(encoding="utf-8")
    assert "  A system that removes the causes" in text
    path.write_text(text.replace("  A system that removes the causes", "  A quality system that removes the causes"))


def copy_post(src: Path, source: str, name: str, prefix: str, date: str) -> None:
    """A new post *name*, outside any series: the text of *source*, its title prefixed, dated *date*."""
    text = (src / "posts" / f"{source}.md").read_text(encoding="utf-8")
    new = src / "posts" / f"{name}.md"
    new.write_text(text.replace('title: "', f'title: "{prefix}', 1), encoding="utf-8")
    front_matter(new, "date", date)
    front_matter(new, "series", None)
    front_matter(new, "part", None)


def add_post(src: Path) -> None:
    copy_post(src, "post-00002", "post-00101", "A new post: ", "2019-03-02")


EDITS: list[Callable[[Path], None]] = [
    edit_body,
    retitle_part,
    retitle_series,
    change_tags,
    change_author,
    third_post_of_an_author,
    add_series_part,
    delete_post,
    add_post,
    add_backdated_post,
    commit_a_change,
    review_a_post,
    cite_a_regulation,
    use_a_term,
    define_a_term,
]

#: Build-time noise: the moment a feed was generated.
NOISE = re.compile(r"(<feed[^>]*>.*?)<updated>[^<]*</updated>", re.S)


def search_index(text: str) -> str:
    """The index without the empty entries Sphinx leaves for terms of removed pages (they match nothing)."""
    data = json.loads(text[text.index("(") + 1 : text.rindex(")")])
    for key in ("terms", "titleterms"):
        data[key] = {term: where for term, where in data[key].items() if where != []}
    return json.dumps(data, sort_keys=True)


def pages(outdir: Path) -> dict[str, str]:
    """Every page and feed of a built site, and its search indexes, by path.

    Of Pagefind's bundle: every page's fragment and the word index, whose files
    are named after their content; its filter files are named after an encoding
    that differs from run to run (a hash map's order), so they are left out.
    """
    out = {}
    for path in sorted(outdir.rglob("*")):
        name = path.relative_to(outdir).as_posix()
        if (path.suffix in (".html", ".xml") or path.name == "searchindex.js") and ".doctrees" not in path.parts:
            text = path.read_text(encoding="utf-8")
            text = search_index(text) if path.name == "searchindex.js" else NOISE.sub(r"\1<updated/>", text)
            out[name] = text
        elif path.suffix in (".pf_fragment", ".pf_index"):
            out[name] = path.read_bytes().hex()
    return out


def differences(incremental: dict[str, str], clean: dict[str, str]) -> list[str]:
    out = [f"left over: {name}" for name in sorted(incremental.keys() - clean.keys())]
    out += [f"missing: {name}" for name in sorted(clean.keys() - incremental.keys())]
    shared = sorted(clean.keys() & incremental.keys())
    out += [f"differs: {name}" for name in shared if clean[name] != incremental[name]]
    return out


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    src = bench.generate(tmp_path_factory.mktemp("incremental"), POSTS).kb
    with (src / "conf.py").open("a", encoding="utf-8") as conf:
        conf.write(f"kb_posts_per_page = {PER_PAGE}\n")
    # A page with ABlog's own list of posts, which must follow every change too.
    (src / "recent.md").write_text(
        "---\norphan: true\n---\n\n# Recent\n\n```{postlist} 5\n:excerpts:\n```\n", encoding="utf-8"
    )
    # The review queue, which follows every post's review status.
    (src / "reviews.md").write_text("---\norphan: true\n---\n\n# Queue\n\n```{kb-review-queue}\n```\n")
    # A repository, so that pages show their history.
    (src / ".gitignore").write_text("_build/\n", encoding="utf-8")
    git(src, "init", "-q")
    commit_all(src, "The corpus")
    result = build(src, src / "_build" / "html")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return src


def test_every_kind_of_edit_rebuilds_like_a_clean_build(corpus: Path, tmp_path: Path) -> None:
    """Edits accumulate, as in real work; after each, compare with a clean build."""
    paged: set[str] = set()  # the listings seen with more than one page
    for number, edit in enumerate(EDITS):
        edit(corpus)
        result = build(corpus, corpus / "_build" / "html")
        assert result.returncode == 0, f"{edit.__name__}: {result.stderr[-3000:]}"
        clean = tmp_path / f"clean-{number}"
        shutil.copytree(corpus, clean, ignore=shutil.ignore_patterns("_build", "__pycache__"))
        reference = build(clean, clean / "_build" / "html")
        assert reference.returncode == 0, f"{edit.__name__}: {reference.stderr[-3000:]}"
        incremental = pages(corpus / "_build" / "html")
        found = differences(incremental, pages(clean / "_build" / "html"))
        assert found == [], f"after {edit.__name__}: {found}"
        paged.update(name.partition("/page/")[0] for name in incremental if "/page/" in name)
    # Every kind of listing spanned pages: a tag, a practice, an author and the archive.
    assert {name.rpartition("/")[0] for name in paged} >= {"blog/tag", "blog/category", "authors", "blog"}


def test_a_rebuild_without_changes_writes_nothing(corpus: Path) -> None:
    """No document is read and no post's page, ABlog collection page, feed or
    search index is written again (Sphinx still rewrites its index and search pages)."""
    outdir = corpus / "_build" / "html"
    entry = outdir / "pagefind" / "pagefind-entry.json"
    build(corpus, outdir)

    def written() -> dict[Path, int]:
        files = [*(outdir / "posts").glob("*.html"), outdir / "index.html", outdir / "searchindex.js", entry]
        files += [*(outdir / "blog" / "tag").glob("*.html"), outdir / "blog" / "archive.html"]
        files += [*(outdir / "feeds").glob("*/*.xml"), outdir / "blog" / "atom.xml"]
        return {p: p.stat().st_mtime_ns for p in files if p.is_file()}

    before = written()
    result = build(corpus, outdir)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "0 added, 0 changed, 0 removed" in result.stdout
    assert "search index is up to date" in result.stdout
    assert "Atom feeds are up to date" in result.stdout
    assert entry.is_file()
    assert written() == before
    # ...but a changed post is indexed again, and the listing pages that link to
    # it (its authors', its series') are rewritten, not the others.
    listing_pages = [*(outdir / "authors").glob("*.html"), *(outdir / "series").glob("*.html")]
    listed = {p: p.stat().st_mtime_ns for p in listing_pages}
    fragments = {p: p.stat().st_mtime_ns for p in (outdir / "pagefind" / "fragment").iterdir()}
    catalogs = {p: p.stat().st_mtime_ns for p in [outdir / "blog" / "archive.html"]}
    # The newest post outside any series: Sphinx also rewrites the series index,
    # whose table of contents holds a series page that a part's edit rewrites.
    posts = sorted((corpus / "posts").glob("post-000*.md"), reverse=True)
    path = next(p for p in posts if "series:" not in p.read_text(encoding="utf-8"))
    page = f"{path.stem}.html"
    head, sep, rest = path.read_text(encoding="utf-8").partition("\n---\n\n")
    path.write_text(f"{head}{sep}Another first paragraph for the excerpt.\n\n{rest}", encoding="utf-8")
    result = build(corpus, outdir)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "kb: indexed" in result.stdout
    assert entry.stat().st_mtime_ns != before[entry]
    # The list of every post by year shows titles and dates only: not rewritten.
    assert {p: p.stat().st_mtime_ns for p in catalogs} == catalogs
    # Pagefind wrote the edited post's fragment; the others were kept as they were.
    now = {p: p.stat().st_mtime_ns for p in (outdir / "pagefind" / "fragment").iterdir()}
    assert len(fragments.keys() - now.keys()) == len(now.keys() - fragments.keys()) == 1
    assert all(now[p] == fragments[p] for p in now.keys() & fragments.keys())
    linking = {p for p in listed if page in p.read_text(encoding="utf-8")}
    assert any("Another first paragraph" in p.read_text(encoding="utf-8") for p in linking)
    assert linking != set(listed)
    assert {p for p, mtime in listed.items() if p.stat().st_mtime_ns != mtime} == linking
    # The post's own page is written first (kb/upstream/sphinx.py), before the pages that list it.
    assert all((outdir / "posts" / page).stat().st_mtime_ns < p.stat().st_mtime_ns for p in linking)
    # A post given other tags is rewritten where it may be listed (its authors'
    # and series' pages, the indexes), not on other authors' or series' pages.
    listed = {p: p.stat().st_mtime_ns for p in listing_pages}
    front_matter(path, "tags", "[Auditing]")
    result = build(corpus, outdir)
    assert result.returncode == 0, result.stderr[-3000:]
    rewritten = {p for p, mtime in listed.items() if p.stat().st_mtime_ns != mtime}
    others = {p for p in listed if p.stem != "index" and page not in p.read_text(encoding="utf-8")}
    assert linking | {outdir / "authors" / "index.html", outdir / "series" / "index.html"} <= rewritten
    assert others and not rewritten & others


def test_a_new_post_rewrites_exactly_the_pages_of_listings_that_change(corpus: Path) -> None:
    """A post dated among older ones shifts the pages of its listings from where
    it falls; no other page of a listing is written again."""
    outdir = corpus / "_build" / "html"

    def listing_pages() -> dict[Path, tuple[int, str]]:
        files = [*(outdir / "blog" / "tag").rglob("*.html"), *(outdir / "blog" / "category").rglob("*.html")]
        files += (outdir / "authors").glob("*/page/*.html")
        return {p: (p.stat().st_mtime_ns, p.read_text(encoding="utf-8")) for p in files}

    assert build(corpus, outdir).returncode == 0
    before = listing_pages()
    copy_post(corpus, "post-00005", "post-00200", "Yet another older post: ", "2019-01-12")
    result = build(corpus, outdir)
    assert result.returncode == 0, result.stderr[-3000:]
    after = listing_pages()
    assert before.keys() <= after.keys()
    rewritten = {p for p in before if after[p][0] != before[p][0]}
    changed = {p for p in before if after[p][1] != before[p][1]}
    assert rewritten == changed
    site = model.load(corpus)
    own = {outdir / "blog" / "tag" / f"{site.tags[tag].slug}.html" for tag in site.posts["posts/post-00200"].tags}
    assert own <= changed
    assert any("/page/" in p.as_posix() for p in changed)
    assert set(before) - changed, "pages of other listings are left as they were"


def test_related_posts_are_rewritten_exactly_where_the_rule_gives_another_answer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The refresh of related posts is the rule run again: after an edit (or a
    new rule) exactly the posts whose answer differs are rewritten."""
    import types

    from kb import model, related

    src = bench.generate(tmp_path, 40).kb

    def environment(site: model.Site, kept: object = None) -> types.SimpleNamespace:
        domain = types.SimpleNamespace(per_build=lambda name, make: make(site))
        env = types.SimpleNamespace(kb_site=site, config=types.SimpleNamespace(kb_include_drafts=False))
        env.domains, env.all_docs = {"kb": domain}, set(site.posts)
        if kept is not None:
            env.kb_related = kept
        return env

    before = environment(model.load(src))
    assert related.on_env_get_updated(None, before) == []  # a first build writes every page
    kept = before.kb_related
    assert related.on_env_get_updated(None, environment(model.load(src), kept)) == []  # nothing changed

    post = src / "posts" / "post-00005.md"
    front_matter(post, "tags", "[Auditing, Training]")
    after = environment(model.load(src), kept)
    rewritten = related.on_env_get_updated(None, after)
    differ = sorted(d for d, shown in after.kb_related.shown.items() if kept.shown[d] != shown)
    assert rewritten == differ and rewritten
    sharing = {p.docname for p in after.kb_site.published if {"Auditing", "Training"} & set(p.tags)}
    assert sharing - set(rewritten)  # not every post sharing a tag

    original = related.related_posts

    def fewer(given: related.RelatedInput, limit: int = 2) -> dict[str, tuple[str, ...]]:
        """A new rule: two related posts, not five."""
        return {d: shown[:limit] for d, shown in original(given).items()}

    monkeypatch.setattr(related, "related_posts", fewer)
    newer = environment(model.load(src), after.kb_related)
    rewritten = related.on_env_get_updated(None, newer)
    assert rewritten == sorted(d for d, shown in after.kb_related.shown.items() if len(shown) > 2)
