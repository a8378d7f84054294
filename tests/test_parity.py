"""One truth for authors: ``make check`` and ``make html`` report the same problems.

A catalogue of bad inputs, one for each rule of the README's content rules and
of the front-matter reference, plus a post with several different problems, is
written into one copy of ``tests/roots/test-parity`` (whose own posts are good,
with code blocks that look like titles, HTML and roles).  Then ``make check``
(``python -m kb check``) and a strict build each run once, and each must fail
and report exactly the same set of ``file:line: message`` problems, every one
of them exactly once, and nothing else.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from kb import model

from .conftest import ROOT, build

ROOTS = Path(__file__).parent / "roots"
OUTSIDE = "../../../../../../../../../../etc/passwd"
FRONT = {"title": '"A post"', "date": "2023-05-01", "author": "AA", "tags": "[GMP]", "practice": "Quality Systems"}


def post(body: str = "", **changes: str | None) -> str:
    """A post: valid front matter with *changes* (None drops a key), an introduction, then *body*."""
    values = {**FRONT, **changes}
    front = "\n".join(f"{key}: {value}" for key, value in values.items() if value is not None)
    return f"---\n{front}\n---\n\nThe introduction of the post.\n\n{body}\n"


@dataclass(frozen=True)
class Case:
    """A bad input: the file it is in, the text of the line the problem is on, and words of the message."""

    path: str
    text: str | None  # None: the file is written by another case
    marker: str | None  # a piece of the line the problem is on; None: line 1
    words: str


CASES: dict[str, Case] = {
    # -- the front-matter reference ------------------------------------------
    "missing title": Case("posts/no-title.md", post(title=None), None, "missing 'title'"),
    "title with HTML": Case("posts/title-html.md", post(title='"<b>Bold</b> claims"'), "title:", "contains HTML"),
    "date out of range": Case("posts/bad-month.md", post(date="2023-13-01"), "date:", "'2023-13-01' is not an ISO"),
    "date in words": Case("posts/date-words.md", post(date="May 8, 2023"), "date:", "'May 8, 2023' is not an ISO"),
    "updated before date": Case("posts/updated.md", post(updated="2023-01-01"), "updated:", "updated is before date"),
    "unknown author": Case("posts/author.md", post(author="MRR"), "author:", "unknown author 'MRR'"),
    "unknown tag": Case("posts/tag.md", post(tags="[GMP, Trayning]"), "tags:", "unknown tag 'Trayning'"),
    "unknown practice": Case(
        "posts/practice.md", post(practice="Quality System"), "practice:", "unknown practice 'Quality System'"
    ),
    "too many tags": Case(
        "posts/many-tags.md",
        post(tags="[GMP, Training, Audits, T4, T5, T6, T7, T8, T9]"),
        "tags:",
        "9 tags, over the limit of 8",
    ),
    "unknown series": Case("posts/series.md", post(series="stepz", part="1"), "series:", "unknown series 'stepz'"),
    "series without part": Case("posts/no-part.md", post(series="steps"), "series:", "without a part"),
    "part without series": Case("posts/no-series.md", post(part="2"), "part:", "part 2 without a series"),
    "part not a number": Case("posts/part-word.md", post(series="steps", part="two"), "part:", "not a positive"),
    "part claimed twice": Case("posts/part-again.md", post(series="steps", part="1"), "part:", "also claimed by"),
    "gap in a series": Case("posts/part-gap.md", post(series="steps", part="3"), "part:", "jumps to part 3"),
    "draft not true or false": Case("posts/draft.md", post(draft="maybe"), "draft:", "draft must be true or false"),
    "unknown key": Case("posts/key.md", post(tag="GMP"), "tag:", "unknown front-matter key 'tag'"),
    "ABlog redirect": Case("posts/redirect.md", post(redirect="index"), "redirect:", "key 'redirect' is not supported"),
    "malformed YAML": Case("posts/yaml.md", post(title="Myth 3: Validation"), "title:", "YAML"),
    "no front matter": Case("posts/no-front.md", "Just text.\n", None, "front matter must start on line 1"),
    "empty file": Case("posts/empty.md", "", None, "file is empty"),
    # -- the content rules -------------------------------------------------------
    "HTML block": Case("posts/html-block.md", post('<div onclick="alert(1)">block</div>'), "<div", "an HTML block"),
    "inline HTML": Case("posts/html-inline.md", post("Some <b>bold</b> words."), "<b>", "inline HTML: '<b>'"),
    "raw directive": Case(
        "posts/raw.md", post("```{raw} html\n<script>alert(1)</script>\n```"), "{raw}", "{raw} directive"
    ),
    "eval-rst": Case(
        "posts/eval-rst.md", post("```{eval-rst}\n.. raw:: html\n\n   <b>x</b>\n```"), "{eval-rst}", "{eval-rst}"
    ),
    "javascript link": Case(
        "posts/js-link.md", post("```{button-link} javascript:alert(1)\nClick\n```"), "button-link", "javascript:"
    ),
    "data image": Case(
        "posts/data-image.md", post("![x](data:image/png;base64,iVBORw0KGgo=)"), "data:", "image 'data:image"
    ),
    "vbscript image target": Case(
        "posts/image-target.md", post("```{image} figure.png\n:target: vbscript:msgbox(1)\n```"), "{image}", "vbscript"
    ),
    "include from outside": Case(
        "posts/include.md", post(f"```{{include}} {OUTSIDE}\n```"), "{include}", "outside the repository"
    ),
    "literalinclude from outside": Case(
        "posts/literalinclude.md", post(f"```{{literalinclude}} {OUTSIDE}\n```"), "{literalinclude}", "outside"
    ),
    "csv-table from a URL": Case(
        "posts/csv-url.md", post("```{csv-table}\n:url: https://example.com/a.csv\n```"), "{csv-table}", ":url:"
    ),
    "csv-table from outside": Case(
        "posts/csv-file.md", post(f"```{{csv-table}}\n:file: {OUTSIDE}\n```"), "{csv-table}", "outside"
    ),
    "download from outside": Case(
        "posts/download.md", post(f"{{download}}`{OUTSIDE}`"), "{download}", "outside the repository"
    ),
    "image from outside": Case("posts/image.md", post(f"![x]({OUTSIDE})"), "![x]", "is not allowed"),
    "post directive": Case("posts/post-directive.md", post("```{post} 2023-01-01\n```"), "{post}", "{post} directive"),
    "update with a bad date": Case(
        "posts/update.md", post("```{update} 2023-02-30\nFixed.\n```"), "{update}", "'2023-02-30' is not a date"
    ),
    "a second title": Case("posts/second-title.md", post("# A second title"), "# A second", "repeats a '# ' title"),
    "make post's placeholder": Case(
        "posts/placeholder.md",
        post().replace("The introduction of the post.", "Introduce the post in one or two sentences."),
        "Introduce the post",
        "write the introduction",
    ),
    "unknown tag in the text": Case("posts/tag-role.md", post("About {tag}`GMPP`."), "{tag}", "did you mean 'GMP'?"),
    "unknown author in the text": Case(
        "posts/author-role.md", post("By {author}`AB`."), "{author}", "unknown author 'AB'"
    ),
    "unknown series in the text": Case(
        "posts/series-role.md", post("See {series}`step`."), "{series}", "did you mean 'steps'?"
    ),
    "unknown part in the text": Case(
        "posts/part-role.md", post("See {part}`steps/9`."), "{part}", "has no published part '9'"
    ),
    "link to a missing post": Case(
        "posts/missing-link.md", post("See [this](no-such-post.md)."), "no-such-post", "neither a page nor a file"
    ),
    "doc to a missing post": Case(
        "posts/missing-doc.md", post("See {doc}`good-post`."), "{doc}", "'good-post', which is not a page"
    ),
    "link to a missing section": Case(
        "posts/missing-anchor.md", post("See [this](good.md#no-section)."), "no-section", "names no section"
    ),
    "ref to a missing label": Case(
        "posts/missing-ref.md", post("See {ref}`good-lable`."), "{ref}", "did you mean 'good-label'?"
    ),
    "label defined twice": Case("posts/label.md", post("(good-label)=\n## Again"), "(good-label)=", "also defined"),
    "unknown directive": Case("posts/directive.md", post("```{notee}\nText.\n```"), "{notee}", "did you mean 'note'"),
    "unknown role": Case("posts/role.md", post("A {strog}`word`."), "{strog}", "unknown role {strog}"),
    "unknown series in a listing": Case(
        "posts/parts.md", post("```{kb-series-parts} stpes\n```"), "kb-series-parts", "did you mean 'steps'?"
    ),
    "unknown tag in a listing": Case(
        "posts/listing.md", post("```{kb-posts}\n:tag: GMPX\n```"), "kb-posts", "did you mean 'GMP'?"
    ),
    "unknown post in the text": Case("posts/post-role.md", post("See {post}`godo`."), "{post}", "did you mean 'good'?"),
    "term not in the glossary": Case(
        "posts/term.md", post("A {term}`CAPAA` process."), "{term}", "did you mean 'CAPA'?"
    ),
    "citation of an unknown regulation": Case(
        "posts/citation.md", post("See {cfr}`21 CFR Part 999`."), "{cfr}", "21 CFR Part 999"
    ),
    "meta http-equiv": Case(
        "meta.md",
        '---\ntitle: Meta\nmyst:\n  html_meta:\n    "http-equiv=refresh": "0; url=https://evil.example/"\n---\n\nText.\n',
        "http-equiv",
        "meta http-equiv 'refresh' is not allowed",
    ),
    # -- where files live ---------------------------------------------------------
    "not a post in posts/": Case("posts/notes.txt", "notes\n", None, "'notes.txt' is not a post"),
    "post front matter outside posts/": Case(
        "about.md", "---\ntitle: About\ndate: 2023-01-01\n---\n\nAbout us.\n", "date:", "post front matter (date)"
    ),
    "a page's malformed front matter": Case(
        "notes.md", "---\ntitle: Notes: and more\n---\n\nText.\n", "title:", "malformed YAML"
    ),
    "a generated page's name": Case(
        "search.md", "---\ntitle: Search\n---\n\nText.\n", None, "belongs to a page the build generates"
    ),
    "a page where an author's further posts go": Case(
        "authors/AA/page/2.md", "---\ntitle: More\n---\n\nText.\n", None, "belongs to a page the build generates"
    ),
    "post left out by exclude_patterns": Case("posts/left-out.md", post(), None, "left out of the build"),
    "two posts with one file name": Case("posts/sub/good.md", post(), None, "share the label 'good'"),
    "post over the size limit": Case("posts/too-big.md", None, None, "over the limit of 200 KB"),
    # -- one post, several different problems -------------------------------------
    "several: bad date": Case(
        "posts/several.md",
        post(
            "Some <i>styled</i> text about {tag}`Auditts`.\n\n## A section\n\nSee [the other](missing.md).",
            date="2023-02-30",
        ),
        "date:",
        "'2023-02-30' is not an ISO",
    ),
    "several: inline HTML": Case("posts/several.md", None, "<i>", "inline HTML: '<i>'"),
    "several: unknown tag in the text": Case("posts/several.md", None, "Auditts", "did you mean 'Audits'?"),
    "several: missing link": Case("posts/several.md", None, "missing.md", "neither a page nor a file"),
}


def write_catalogue(srcdir: Path) -> None:
    for case in CASES.values():
        if case.text is not None:
            path = srcdir / case.path
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(case.text, encoding="utf-8")
    big = ("A sentence that repeats to make a long post. " * 20 + "\n\n") * (model.MAX_POST_BYTES // 900 + 1)
    (srcdir / "posts" / "too-big.md").write_text(post(big), encoding="utf-8")


def line_of(srcdir: Path, case: Case) -> int:
    if case.marker is None:
        return 1
    lines = (srcdir / case.path).read_text(encoding="utf-8").splitlines()
    return next(number for number, line in enumerate(lines, 1) if case.marker in line)


def check_problems(srcdir: Path) -> tuple[int, list[str]]:
    """``make check``'s problems as ``file:line: message (fix)``, the build's spelling."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-m", "kb", "check"], cwd=srcdir, env=env, capture_output=True, text=True, check=False
    )
    assert "Traceback" not in result.stderr, result.stderr
    found = []
    for line in result.stdout.splitlines()[:-1]:  # the last line is the summary
        if ": warning: " in line:
            continue  # a warning (two posts with one title) is not a problem: the build logs it as information
        where, fix = re.fullmatch(r"(.*?)(?:\. Fix: (.*))?", line).groups()
        message = where.removesuffix(".")
        found.append(f"{message} ({fix})" if fix else message)
    return result.returncode, found


def build_problems(srcdir: Path, outdir: Path) -> tuple[int, list[str], str]:
    """The strict build's warnings as ``file:line: message (fix)``, and its whole log."""
    result = build(srcdir, outdir)
    log = result.stdout + result.stderr
    assert "Traceback" not in log, log
    found = []
    for line in re.sub(r"\x1b\[[0-9;]*m", "", result.stderr).splitlines():
        match = re.fullmatch(r"(?:(.*?): )?(?:WARNING|ERROR|CRITICAL): (.*?)(?: \[[\w.-]+\])?", line)
        if match:
            where = (match.group(1) or "").replace(f"{srcdir}/", "")
            found.append(f"{where}: {match.group(2)}")
    return result.returncode, found, log


@dataclass(frozen=True)
class Runs:
    srcdir: Path
    check_status: int
    check: list[str]
    build_status: int
    build: list[str]
    log: str


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    srcdir = tmp_path_factory.mktemp("parity") / "site"
    shutil.copytree(ROOTS / "test-parity", srcdir)
    write_catalogue(srcdir)
    check_status, checked = check_problems(srcdir)
    build_status, built, log = build_problems(srcdir, srcdir.parent / "html")
    return Runs(srcdir, check_status, checked, build_status, built, log)


def test_the_catalogue_covers_every_rule() -> None:
    assert len(CASES) >= 40
    assert len({case.path for case in CASES.values()}) >= 40


def test_the_base_site_has_no_problems(tmp_path: Path) -> None:
    """The good posts (code that looks like titles, HTML and roles) pass both."""
    srcdir = tmp_path / "site"
    shutil.copytree(ROOTS / "test-parity", srcdir)
    draft = post(draft="true").replace("The introduction of the post.", "Introduce the post in one or two sentences.")
    (srcdir / "posts" / "draft.md").write_text(draft, encoding="utf-8")  # a draft may keep the placeholder
    assert check_problems(srcdir) == (0, [])
    status, found, log = build_problems(srcdir, tmp_path / "html")
    assert (status, found) == (0, []), log


def test_check_and_build_both_fail(runs: Runs) -> None:
    assert runs.check_status == 1
    assert runs.build_status != 0


def test_check_and_build_report_the_same_problems(runs: Runs) -> None:
    only_check = sorted(set(runs.check) - set(runs.build))
    only_build = sorted(set(runs.build) - set(runs.check))
    assert (only_check, only_build) == ([], []), runs.log


@pytest.mark.parametrize("who", ["check", "build"])
def test_every_problem_is_reported_once(runs: Runs, who: str) -> None:
    found = getattr(runs, who)
    assert [line for line, count in Counter(found).items() if count > 1] == []


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_each_bad_input_is_reported_at_its_line(runs: Runs, case: Case) -> None:
    where = f"{case.path}:{line_of(runs.srcdir, case)}: "
    for who in ("check", "build"):
        found = [line for line in getattr(runs, who) if line.startswith(where)]
        assert any(case.words in line for line in found), (who, where, case.words, getattr(runs, who))


def test_no_follow_on_noise_from_upstream(runs: Runs) -> None:
    for noise in ("Malformed YAML", "Document headings start at", "myst.xref_missing", "cross-reference target"):
        assert noise not in runs.log
